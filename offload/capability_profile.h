// CapabilityProfile: what one offload target can take, as data. A target is
// the kernel's own flower (tc-software) or a NIC in switchdev mode
// (mlx5-connectx6dx, ice-e810): which flower fields it matches and with which
// masks, which TC actions (by kind and variant) and how many, and its limits
// (rules per device and port, chains, priorities). The decision
// (offload_decision.h) judges a TcFlowerRule against one.
//
// Why data and not code: NIC capabilities change with firmware and driver
// versions, and users deploy NICs flowlift's authors never saw. A profile is
// a JSON file (offload/profiles/*.json shows the format) in which every limit
// names its source (a kernel file and function, a vendor document section)
// and says when a figure is a conservative assumption rather than a
// documented number, so that a user can check it and write their own. The
// built-in profiles are embedded in the library at build time; a path loads
// a user's file at run time.
//
// Parsing is strict: an unknown key, a field name flower does not have or a
// limit without a source is an error naming the key's path
// ("actions.vlan.psuh: unknown key"), because a typo in a capability file
// would otherwise silently offload (or refuse) the wrong flows.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/status.h"
#include "offload/tc_flower_rule.h"
#include "offload/tc_pedit_fields.h"

namespace flowlift {

// Which masks a target accepts for one field.
enum class TcMaskCapability : uint8_t {
  kUnsupported,  // the field cannot be matched at all
  kExact,        // every bit of the field
  kPrefix,       // leading ones then zeros (address prefixes); exact included
  kAny,          // any mask
};
std::string_view tc_mask_capability_name(TcMaskCapability capability);  // "unsupported", "exact", ...

// A bound with its provenance. `value` absent: no bound.
struct CapabilityLimit {
  std::optional<uint64_t> value;
  std::string source;      // where the figure comes from
  std::string assumption;  // non-empty when the figure is flowlift's conservative choice, and why
};

struct CapabilityFieldSupport {
  TcMaskCapability mask = TcMaskCapability::kUnsupported;
  // Bits a mask may set, as the attribute carries them (network order, the
  // field's width); all ones when the profile does not restrict them.
  std::array<uint8_t, 16> mask_within{};
  std::string source;      // for an unsupported field: why, when the profile says
  std::string assumption;  // non-empty when the capability is flowlift's conservative reading
};

// Every TcAction alternative, named by tc's kind and a variant word.
enum class TcActionVariant : uint8_t {
  kMirredRedirect,
  kMirredMirror,
  kVlanPush,
  kVlanPop,
  kVlanModify,
  kMplsPush,
  kMplsPop,
  kMplsModify,
  kPedit,
  kCsum,
  kTunnelKeySet,
  kTunnelKeyUnset,
  kGactDrop,
  kGactGotoChain,
  kCount,
};
enum class TcActionKind : uint8_t { kMirred, kVlan, kMpls, kPedit, kCsum, kTunnelKey, kGact, kCount };

TcActionVariant tc_action_variant(const TcAction& action);
TcActionKind tc_action_variant_kind(TcActionVariant variant);
// "redirect", "mirror", "push", "pop", "modify", "set", "unset", "drop",
// "goto_chain"; "" for pedit and csum, which have one form.
std::string_view tc_action_variant_name(TcActionVariant variant);
// tc's kind: "mirred", "vlan", "mpls", "pedit", "csum", "tunnel_key", "gact".
std::string_view tc_action_kind_name(TcActionKind kind);

struct CapabilityActionVariantSupport {
  bool supported = false;
  CapabilityLimit max_per_rule;
  // vlan push/modify: the TPIDs accepted; mpls push: the ethertypes.
  // Network order. Empty: any.
  std::vector<Be16> ethertypes;
  bool modify_prio = true;  // vlan modify may set a non-zero priority
  std::string source;
};

struct CapabilityActionKindSupport {
  // How many actions of this kind one rule may carry, counting the variants
  // in `counted` (mlx5 counts VLAN push and pop against one depth of 2).
  CapabilityLimit max_per_rule;
  std::vector<TcActionVariant> counted;
  std::string source;  // why the kind is unsupported, when it is
};

struct CapabilityPeditHeaderSupport {
  bool supported = false;
  bool any_field = false;                // every bit of the header
  std::vector<std::string_view> fields;  // tc_pedit_fields() names otherwise
};

struct CapabilityPeditSupport {
  std::array<CapabilityPeditHeaderSupport, kTcPeditHeaderCount> headers;
  CapabilityLimit max_keys;  // 32-bit keys over all pedit actions of a rule
};

struct CapabilityCsumSupport {
  uint32_t update_flags = 0;    // TCA_CSUM_UPDATE_FLAG_* the target recomputes
  bool requires_pedit = false;  // only together with a pedit (mlx5)
};

struct CapabilityChainSupport {
  bool supported = false;  // chains other than 0, and goto chain
  uint32_t max_chain = 0;
  std::string source;
};

struct CapabilityProfile {
  std::string name;
  std::string description;
  std::vector<std::string> notes;
  // The drivers (the name `ethtool -i DEV` prints, ETHTOOL_GDRVINFO) whose
  // devices this profile describes, with where the names come from: the
  // provider picks a device's profile by its driver (tc_profile_book.h).
  // Empty: the profile is chosen only by name.
  std::vector<std::string> drivers;
  std::string drivers_source;

  std::array<CapabilityFieldSupport, static_cast<size_t>(TcFlowerField::kCount)> fields;
  // When a rule matches any enc_* field it must also match these (mlx5:
  // enc_dst_port), with the mask the field allows.
  std::vector<TcFlowerField> tunnel_requires;
  std::string tunnel_requires_source;

  CapabilityLimit max_actions_per_rule;
  CapabilityLimit min_actions_per_rule;
  std::array<CapabilityActionKindSupport, static_cast<size_t>(TcActionKind::kCount)> kinds;
  std::array<CapabilityActionVariantSupport, static_cast<size_t>(TcActionVariant::kCount)> variants;
  CapabilityPeditSupport pedit;
  CapabilityCsumSupport csum;

  CapabilityLimit rules_per_device;
  CapabilityLimit rules_per_port;
  CapabilityChainSupport chains;
  CapabilityLimit max_priority;

  const CapabilityFieldSupport& field(TcFlowerField f) const { return fields[static_cast<size_t>(f)]; }
  const CapabilityActionVariantSupport& variant(TcActionVariant v) const {
    return variants[static_cast<size_t>(v)];
  }
  const CapabilityActionKindSupport& kind(TcActionKind k) const { return kinds[static_cast<size_t>(k)]; }
};

// Parses a profile in the JSON format of offload/profiles/. Errors name the
// key path that was wrong.
Result<CapabilityProfile> parse_capability_profile(std::string_view json_text);
// A built-in profile by name ("ice-e810"), else a file path (a name holding
// a '/' or ending in ".json" is always a path). Errors name the file.
Result<CapabilityProfile> load_capability_profile(std::string_view name_or_path);
std::vector<std::string> builtin_capability_profile_names();

// tc's csum word for one TCA_CSUM_UPDATE_FLAG_* bit: "iph", "icmp", "igmp",
// "tcp", "udp", "udplite", "sctp"; "" for anything else.
std::string_view tc_csum_flag_name(uint32_t flag);

}  // namespace flowlift
