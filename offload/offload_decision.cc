// decide_offload: a TcFlowerRule judged against a CapabilityProfile (see
// offload_decision.h). Each judge returns the first thing the target cannot
// take, phrased for the user; the order is match, actions, place (chain,
// priority), then the rule counts.
#include "offload/offload_decision.h"

#include <arpa/inet.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <optional>

namespace flowlift {
namespace {

using Refusal = std::optional<std::string>;

bool mask_is_zero(const TcFlowerKey& key) {
  for (uint8_t i = 0; i < key.width(); ++i)
    if (key.mask[i] != 0) return false;
  return true;
}

// Leading one bits when the mask is a prefix (ones then zeros), else nullopt.
std::optional<int> prefix_length(const TcFlowerKey& key) {
  int ones = 0;
  bool in_zeros = false;
  for (uint8_t i = 0; i < key.width(); ++i) {
    for (int bit = 7; bit >= 0; --bit) {
      const bool set = (key.mask[i] >> bit) & 1;
      if (set && in_zeros) return std::nullopt;
      if (set) {
        ++ones;
      } else {
        in_zeros = true;
      }
    }
  }
  return ones;
}

bool is_address(TcFlowerField field) {
  switch (field) {
    case TcFlowerField::kIpv4Src:
    case TcFlowerField::kIpv4Dst:
    case TcFlowerField::kIpv6Src:
    case TcFlowerField::kIpv6Dst:
    case TcFlowerField::kArpSip:
    case TcFlowerField::kArpTip:
    case TcFlowerField::kEncIpv4Src:
    case TcFlowerField::kEncIpv4Dst:
    case TcFlowerField::kEncIpv6Src:
    case TcFlowerField::kEncIpv6Dst:
      return true;
    default:
      return false;
  }
}

std::string hex_bytes(const uint8_t* bytes, size_t count) {
  std::string text = "0x";
  char digits[3];
  for (size_t i = 0; i < count; ++i) {
    std::snprintf(digits, sizeof(digits), "%02x", bytes[i]);
    text += digits;
  }
  return text;
}

// "/24" for an address prefix, "mask 255.0.255.0", "mask ff:ff:ff:00:00:00"
// or "mask 0x0ff0" otherwise: the form a user writes the field in.
std::string describe_mask(const TcFlowerKey& key) {
  const uint8_t width = key.width();
  const std::optional<int> prefix = prefix_length(key);
  if (is_address(key.field) && prefix) return "/" + std::to_string(*prefix);
  char text[64];
  if (is_address(key.field) && width == 4) {
    std::snprintf(text, sizeof(text), "mask %u.%u.%u.%u", key.mask[0], key.mask[1], key.mask[2], key.mask[3]);
    return text;
  }
  if (width == 6) {
    std::snprintf(text, sizeof(text), "mask %02x:%02x:%02x:%02x:%02x:%02x", key.mask[0], key.mask[1],
                  key.mask[2], key.mask[3], key.mask[4], key.mask[5]);
    return text;
  }
  return "mask " + hex_bytes(key.mask.data(), width);
}

Refusal judge_match(const TcFlowerRule& rule, const CapabilityProfile& profile) {
  bool matches_tunnel = false;
  for (const TcFlowerKey& key : rule.match.keys) {
    if (key.field >= TcFlowerField::kCount) return "match holds an unknown flower field";
    if (mask_is_zero(key)) continue;  // a wildcarded key matches nothing
    const CapabilityFieldSupport& support = profile.field(key.field);
    const std::string name(tc_flower_field_info(key.field).name);
    switch (support.mask) {
      case TcMaskCapability::kUnsupported:
        return "match on " + name + " not supported";
      case TcMaskCapability::kExact:
        if (!key.exact()) return name + " needs an exact mask, flow has " + describe_mask(key);
        break;
      case TcMaskCapability::kPrefix:
        if (!prefix_length(key)) return name + " needs a prefix mask, flow has " + describe_mask(key);
        break;
      case TcMaskCapability::kAny:
        break;
    }
    for (uint8_t i = 0; i < key.width(); ++i) {
      if (key.mask[i] & ~support.mask_within[i])
        return name + " " + describe_mask(key) + " has bits outside the supported " +
               hex_bytes(support.mask_within.data(), key.width());
    }
    if (key.field >= TcFlowerField::kEncKeyId) matches_tunnel = true;
  }
  if (matches_tunnel) {
    for (TcFlowerField required : profile.tunnel_requires) {
      const TcFlowerKey* key = rule.match.find(required);
      if (key == nullptr || mask_is_zero(*key))
        return "a tunnel match needs " + std::string(tc_flower_field_info(required).name) + ", flow has none";
    }
  }
  return std::nullopt;
}

std::string kind_display_name(TcActionKind kind) {
  switch (kind) {
    case TcActionKind::kVlan:
      return "VLAN";
    case TcActionKind::kMpls:
      return "MPLS";
    default:
      return std::string(tc_action_kind_name(kind));
  }
}

std::string action_name(TcActionVariant variant) {
  std::string name(tc_action_kind_name(tc_action_variant_kind(variant)));
  if (!tc_action_variant_name(variant).empty()) name += " " + std::string(tc_action_variant_name(variant));
  return name;
}

std::string ethertype_text(Be16 ethertype) {
  char text[8];
  std::snprintf(text, sizeof(text), "0x%04x", ntohs(ethertype));
  return text;
}

bool ethertype_allowed(const CapabilityActionVariantSupport& support, Be16 ethertype) {
  if (support.ethertypes.empty()) return true;
  for (Be16 allowed : support.ethertypes)
    if (allowed == ethertype) return true;
  return false;
}

Refusal judge_pedit_key(const TcPeditKey& key, const CapabilityProfile& profile) {
  const std::string_view header_name = tc_pedit_header_name(key.header);
  if (header_name.empty()) return "pedit header type " + std::to_string(key.header) + " not supported";
  const CapabilityPeditHeaderSupport& header = profile.pedit.headers[key.header];
  if (!header.supported) return "pedit of " + std::string(header_name) + " headers not supported";
  if (header.any_field) return std::nullopt;
  uint8_t kept[4];
  std::memcpy(kept, &key.mask, sizeof(kept));  // the wire word's bytes, in order
  for (uint32_t i = 0; i < 4; ++i) {
    const uint8_t rewritten = static_cast<uint8_t>(~kept[i]);
    for (int bit = 7; bit >= 0; --bit) {
      const uint8_t bit_mask = static_cast<uint8_t>(1u << bit);
      if (!(rewritten & bit_mask)) continue;
      const TcPeditFieldInfo* field = tc_pedit_field_at(key.header, key.offset + i, bit_mask);
      if (field == nullptr)
        return "pedit of " + std::string(header_name) + " byte " + std::to_string(key.offset + i) +
               " not supported (no rewritable field there)";
      bool allowed = false;
      for (std::string_view name : header.fields) allowed = allowed || name == field->name;
      if (!allowed) return "pedit of " + std::string(field->name) + " not supported";
    }
  }
  return std::nullopt;
}

Refusal judge_actions(const TcFlowerRule& rule, const CapabilityProfile& profile) {
  const size_t count = rule.actions.size();
  if (profile.max_actions_per_rule.value && count > *profile.max_actions_per_rule.value) {
    if (*profile.max_actions_per_rule.value == 1)
      return "one action per rule, flow has " + std::to_string(count);
    return "at most " + std::to_string(*profile.max_actions_per_rule.value) + " actions per rule, flow has " +
           std::to_string(count);
  }
  if (profile.min_actions_per_rule.value && count < *profile.min_actions_per_rule.value)
    return "a rule needs at least " + std::to_string(*profile.min_actions_per_rule.value) +
           " action(s), flow has " + (count == 0 ? std::string("none") : std::to_string(count));

  bool has_pedit = false;
  for (const TcAction& action : rule.actions)
    has_pedit = has_pedit || std::holds_alternative<TcPeditAction>(action);

  std::array<uint64_t, static_cast<size_t>(TcActionVariant::kCount)> counts{};
  uint64_t pedit_keys = 0;
  for (const TcAction& action : rule.actions) {
    const TcActionVariant variant = tc_action_variant(action);
    const TcActionKind kind = tc_action_variant_kind(variant);
    const CapabilityActionVariantSupport& support = profile.variant(variant);
    if (!support.supported) {
      bool kind_supported = false;
      for (size_t v = 0; v < counts.size(); ++v) {
        const auto other = static_cast<TcActionVariant>(v);
        kind_supported =
            kind_supported || (tc_action_variant_kind(other) == kind && profile.variant(other).supported);
      }
      if (!kind_supported) return "action " + std::string(tc_action_kind_name(kind)) + " not supported";
      return "action " + action_name(variant) + " not supported";
    }
    ++counts[static_cast<size_t>(variant)];
    if (const auto* push = std::get_if<TcVlanPushAction>(&action)) {
      if (!ethertype_allowed(support, push->tpid))
        return "vlan push with TPID " + ethertype_text(push->tpid) + " not supported";
    } else if (const auto* modify = std::get_if<TcVlanModifyAction>(&action)) {
      if (!ethertype_allowed(support, modify->tpid))
        return "vlan modify with TPID " + ethertype_text(modify->tpid) + " not supported";
      if (!support.modify_prio && modify->prio != 0)
        return "vlan modify of the priority not supported (flow sets priority " +
               std::to_string(modify->prio) + ")";
    } else if (const auto* mpls_push = std::get_if<TcMplsPushAction>(&action)) {
      if (!ethertype_allowed(support, mpls_push->ethertype))
        return "mpls push of ethertype " + ethertype_text(mpls_push->ethertype) + " not supported";
    } else if (const auto* pedit = std::get_if<TcPeditAction>(&action)) {
      pedit_keys += pedit->keys.size();
      for (const TcPeditKey& key : pedit->keys)
        if (Refusal refusal = judge_pedit_key(key, profile)) return refusal;
    } else if (const auto* csum = std::get_if<TcCsumAction>(&action)) {
      for (uint32_t bit = 1; bit != 0; bit <<= 1) {
        if (!(csum->update_flags & bit) || (profile.csum.update_flags & bit)) continue;
        const std::string_view name = tc_csum_flag_name(bit);
        return "csum of " + (name.empty() ? "flag " + std::to_string(bit) : std::string(name)) +
               " not supported";
      }
      if (profile.csum.requires_pedit && !has_pedit) return "csum needs a pedit in the same rule";
    } else if (const auto* go = std::get_if<TcGotoChainAction>(&action)) {
      if (!profile.chains.supported)
        return "chains not supported (goto chain " + std::to_string(go->chain) + ")";
      if (go->chain > profile.chains.max_chain)
        return "goto chain " + std::to_string(go->chain) + " above the chain limit " +
               std::to_string(profile.chains.max_chain);
    }
  }

  for (size_t v = 0; v < counts.size(); ++v) {
    const CapabilityLimit& limit = profile.variants[v].max_per_rule;
    if (limit.value && counts[v] > *limit.value)
      return "at most " + std::to_string(*limit.value) + " " + action_name(static_cast<TcActionVariant>(v)) +
             " actions per rule, flow has " + std::to_string(counts[v]);
  }
  for (size_t k = 0; k < profile.kinds.size(); ++k) {
    const CapabilityActionKindSupport& kind = profile.kinds[k];
    if (!kind.max_per_rule.value) continue;
    uint64_t total = 0;
    std::string forms;
    for (TcActionVariant variant : kind.counted) {
      total += counts[static_cast<size_t>(variant)];
      if (!forms.empty()) forms += "/";
      forms += tc_action_variant_name(variant);
    }
    if (total > *kind.max_per_rule.value)
      return "at most " + std::to_string(*kind.max_per_rule.value) + " " +
             kind_display_name(static_cast<TcActionKind>(k)) + (forms.empty() ? "" : " " + forms) +
             " actions per rule, flow has " + std::to_string(total);
  }
  if (profile.pedit.max_keys.value && pedit_keys > *profile.pedit.max_keys.value)
    return "at most " + std::to_string(*profile.pedit.max_keys.value) + " pedit keys per rule, flow has " +
           std::to_string(pedit_keys);
  return std::nullopt;
}

Refusal judge_place(const TcFlowerRule& rule, const CapabilityProfile& profile) {
  if (rule.chain != 0) {
    if (!profile.chains.supported)
      return "chains not supported, flow is in chain " + std::to_string(rule.chain);
    if (rule.chain > profile.chains.max_chain)
      return "chain " + std::to_string(rule.chain) + " above the chain limit " +
             std::to_string(profile.chains.max_chain);
  }
  if (profile.max_priority.value && rule.priority > *profile.max_priority.value)
    return "priority " + std::to_string(rule.priority) + " above the limit " +
           std::to_string(*profile.max_priority.value);
  return std::nullopt;
}

Refusal judge_counts(const TcFlowerRule& rule, const CapabilityProfile& profile, const OffloadUsage& usage) {
  const std::string device = rule.device.empty() ? "ifindex " + std::to_string(rule.ifindex) : rule.device;
  if (profile.rules_per_device.value && usage.rules_on_device >= *profile.rules_per_device.value)
    return "rule limit " + std::to_string(*profile.rules_per_device.value) + " reached on " + device;
  if (profile.rules_per_port.value && usage.rules_on_port >= *profile.rules_per_port.value)
    return "per-port rule limit " + std::to_string(*profile.rules_per_port.value) + " reached on " + device;
  return std::nullopt;
}

}  // namespace

OffloadDecision decide_offload(const TcFlowerRule& rule, const CapabilityProfile& profile,
                               const OffloadUsage& usage) {
  Refusal refusal = judge_match(rule, profile);
  if (!refusal) refusal = judge_actions(rule, profile);
  if (!refusal) refusal = judge_place(rule, profile);
  if (!refusal) refusal = judge_counts(rule, profile, usage);
  if (!refusal) return OffloadDecision{true, {}};
  return OffloadDecision{false, "refused by profile " + profile.name + ": " + *refusal};
}

}  // namespace flowlift
