// TcFlowerRule: one cls_flower filter as flowlift means it, before it is
// encoded as an RTM_NEWTFILTER request and after a dump is parsed back: the
// filter's place (device, chain, priority, protocol, handle), its flags
// (skip_hw / skip_sw), its match as flower keys and masks, its TC actions and
// the cookie naming the megaflow it carries (the UFID).
//
// Why a model between the megaflow and the netlink bytes: three parties read
// the same filter. The translation (megaflow_to_tc) writes it, the capability
// profiles judge it (which keys, which masks, how many actions), and the
// netlink codec (tc_filter_codec) turns it into bytes and back. A dump parsed
// into the same model lets tests compare what we meant with what the kernel
// kept, field by field.
//
// Match keys are a list of TcFlowerField entries, each holding the value and
// mask exactly as the TCA_FLOWER_KEY_* attributes carry them (network order,
// wire width), with inline storage so that building a rule allocates once for
// the list, not per key. Fields whose flower attribute has no mask (vlan_id,
// vlan_prio, ip_proto, enc_key_id, mpls_*) are exact: their mask is all ones
// of the field's width, and the translation refuses a partial mask for them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "flowlift/flow_key.h"
#include "flowlift/megaflow.h"

namespace flowlift {

// Every flower key flowlift writes, in the order the encoder emits them.
enum class TcFlowerField : uint8_t {
  kEthDst,
  kEthSrc,
  kEthType,   // TCA_FLOWER_KEY_ETH_TYPE: the ethertype, or the outer TPID of a VLAN rule (megaflow_to_tc.h)
  kVlanId,    // outer tag (exact only)
  kVlanPrio,  // outer tag (exact only)
  kVlanEthType,  // what follows the outer tag: 0x8100 for QinQ, else the inner ethertype
  kCvlanId,
  kCvlanPrio,
  kCvlanEthType,
  kMplsLabel,  // outermost LSE (exact only)
  kMplsTc,
  kMplsBos,
  kMplsTtl,
  kIpProto,  // exact only
  kIpTos,
  kIpTtl,
  kIpFlags,  // TCA_FLOWER_KEY_FLAGS: is_fragment, frag_is_first (be32 bits)
  kIpv4Src,
  kIpv4Dst,
  kIpv6Src,
  kIpv6Dst,
  kTcpSrc,
  kTcpDst,
  kUdpSrc,
  kUdpDst,
  kSctpSrc,
  kSctpDst,
  kTcpFlags,
  kIcmpv4Type,
  kIcmpv4Code,
  kIcmpv6Type,
  kIcmpv6Code,
  kArpSip,
  kArpTip,
  kArpOp,
  kArpSha,
  kArpTha,
  kEncKeyId,  // VNI, be32 (exact only)
  kEncIpv4Src,
  kEncIpv4Dst,
  kEncIpv6Src,
  kEncIpv6Dst,
  kEncIpTos,
  kEncIpTtl,
  kEncUdpSrcPort,
  kEncUdpDstPort,  // mlx5 requires it exact
  kCount,
};

// Static facts about one field: flowlift's unique name for it (what
// capability profiles and refusal reasons say), its name in `tc -j filter
// show` output (iproute2's, shared by the IPv4/IPv6 and TCP/UDP/SCTP
// variants), its TCA_FLOWER_KEY_* attribute and mask attribute (0 when flower
// has none and the key is exact), and its width on the wire.
struct TcFlowerFieldInfo {
  TcFlowerField field;
  std::string_view name;     // "eth_dst", "ipv4_dst", "tcp_dst", "enc_key_id", ...
  std::string_view tc_name;  // "dst_mac", "dst_ip", "dst_port", "enc_key_id", ...
  uint16_t key_attribute;
  uint16_t mask_attribute;  // 0: exact-only
  uint8_t width;            // bytes: 1, 2, 4, 6 or 16
};

// The table, indexed by TcFlowerField (tc_flower_fields.cc).
const TcFlowerFieldInfo& tc_flower_field_info(TcFlowerField field);
// kCount when no field has that iproute2 name.
TcFlowerField tc_flower_field_by_name(std::string_view name);

// One key: value and mask as the attributes carry them (first `width` bytes
// used). The value is already masked.
struct TcFlowerKey {
  TcFlowerField field = TcFlowerField::kCount;
  std::array<uint8_t, 16> value{};
  std::array<uint8_t, 16> mask{};

  uint8_t width() const { return tc_flower_field_info(field).width; }
  bool exact() const;  // every bit of the field's width set in the mask
  bool operator==(const TcFlowerKey&) const = default;
};

// TCA_FLOWER_KEY_FLAGS bits (host order here; be32 on the wire).
inline constexpr uint32_t kTcFlowerIsFragment = 1u << 0;   // TCA_FLOWER_KEY_FLAGS_IS_FRAGMENT
inline constexpr uint32_t kTcFlowerFragIsFirst = 1u << 1;  // TCA_FLOWER_KEY_FLAGS_FRAG_IS_FIRST

struct TcFlowerMatch {
  // Keys sorted by field, each field at most once.
  std::vector<TcFlowerKey> keys;

  const TcFlowerKey* find(TcFlowerField field) const;
  // Adds or replaces the key for key.field, keeping the list sorted.
  void set(const TcFlowerKey& key);
  bool operator==(const TcFlowerMatch&) const = default;
};

// ---- Actions (act_* modules), in the order the filter runs them ----

// act_mirred: egress redirect (the last output) or egress mirror (any other).
struct TcMirredAction {
  uint32_t ifindex = 0;
  std::string device;  // for text and reasons; the kernel needs only ifindex
  bool redirect = true;
  bool operator==(const TcMirredAction&) const = default;
};

// act_vlan. vid and prio in host order.
struct TcVlanPushAction {
  Be16 tpid = 0;  // 0x8100 or 0x88a8, network order
  uint16_t vid = 0;
  uint8_t prio = 0;
  bool operator==(const TcVlanPushAction&) const = default;
};
struct TcVlanPopAction {
  bool operator==(const TcVlanPopAction&) const = default;
};
struct TcVlanModifyAction {
  Be16 tpid = 0;
  uint16_t vid = 0;
  uint8_t prio = 0;
  bool operator==(const TcVlanModifyAction&) const = default;
};

// act_mpls. Label/tc/ttl/bos in host order; ethertype network order.
struct TcMplsPushAction {
  Be16 ethertype = 0;  // 0x8847 or 0x8848
  uint32_t label = 0;
  uint8_t tc = 0;
  uint8_t ttl = 0;
  uint8_t bos = 0;
  bool operator==(const TcMplsPushAction&) const = default;
};
struct TcMplsPopAction {
  Be16 ethertype = 0;  // the protocol of what the stack carried
  bool operator==(const TcMplsPopAction&) const = default;
};
// Rewrites the outermost LSE as a whole (OVS's set(mpls(...))).
struct TcMplsModifyAction {
  uint32_t label = 0;
  uint8_t tc = 0;
  uint8_t ttl = 0;
  uint8_t bos = 0;
  bool operator==(const TcMplsModifyAction&) const = default;
};

// act_pedit with extended keys: one 32-bit word each. The kernel's
// semantics: new = (old & mask) ^ value, so `mask` holds the bits KEPT, as
// struct tc_pedit_key does. header is TCA_PEDIT_KEY_EX_HDR_TYPE_*; offset is
// from that header's start, 4-byte aligned.
struct TcPeditKey {
  uint16_t header = 0;
  uint32_t offset = 0;
  uint32_t value = 0;  // network order, as the wire word
  uint32_t mask = 0;   // network order, bits kept
  bool operator==(const TcPeditKey&) const = default;
};
struct TcPeditAction {
  std::vector<TcPeditKey> keys;
  bool operator==(const TcPeditAction&) const = default;
};

// act_csum: TCA_CSUM_UPDATE_FLAG_* the pedit before it needs.
struct TcCsumAction {
  uint32_t update_flags = 0;
  bool operator==(const TcCsumAction&) const = default;
};

// act_tunnel_key set: the metadata the VXLAN netdev encapsulates with.
struct TcTunnelKeySetAction {
  Be32 key_id = 0;  // VNI in the low 24 bits, network order (TCA_TUNNEL_KEY_ENC_KEY_ID)
  Be32 ipv4_src = 0;
  Be32 ipv4_dst = 0;
  Ipv6Addr ipv6_src{};
  Ipv6Addr ipv6_dst{};
  Be16 dst_port = 0;
  uint8_t tos = 0;
  uint8_t ttl = 0;
  bool checksum = false;       // false: TCA_TUNNEL_KEY_NO_CSUM = 1
  bool dont_fragment = false;  // TCA_TUNNEL_KEY_NO_FRAG
  bool operator==(const TcTunnelKeySetAction&) const = default;
};
struct TcTunnelKeyUnsetAction {
  bool operator==(const TcTunnelKeyUnsetAction&) const = default;
};

// act_gact shot.
struct TcDropAction {
  bool operator==(const TcDropAction&) const = default;
};
// act_gact goto chain (a datapath recirculation: the chain is the recirc_id).
struct TcGotoChainAction {
  uint32_t chain = 0;
  bool operator==(const TcGotoChainAction&) const = default;
};

using TcAction =
    std::variant<TcMirredAction, TcVlanPushAction, TcVlanPopAction, TcVlanModifyAction, TcMplsPushAction,
                 TcMplsPopAction, TcMplsModifyAction, TcPeditAction, TcCsumAction, TcTunnelKeySetAction,
                 TcTunnelKeyUnsetAction, TcDropAction, TcGotoChainAction>;

// The act_* kind as `tc` names it: "mirred", "vlan", "mpls", "pedit",
// "csum", "tunnel_key", "gact".
std::string_view tc_action_kind(const TcAction& action);

// TCA_CLS_FLAGS_* the filter is installed with (the port's tc-policy).
enum class TcPolicy : uint8_t {
  kNone,    // no flag: the kernel tries hardware and keeps software
  kSkipSw,  // TCA_CLS_FLAGS_SKIP_SW: hardware or nothing
  kSkipHw,  // TCA_CLS_FLAGS_SKIP_HW: software flower only
};
std::string_view tc_policy_name(TcPolicy policy);  // "none", "skip_sw", "skip_hw"

// TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS): the clsact qdisc's ingress hook.
inline constexpr uint32_t kTcIngressParent = 0xfffffff2u;

struct TcFlowerRule {
  uint32_t ifindex = 0;  // the ingress device (the megaflow's in_port)
  std::string device;    // its name, for text and reasons
  uint32_t parent = kTcIngressParent;
  uint32_t chain = 0;     // the megaflow's recirc_id
  uint16_t priority = 0;  // 0 until the priority allocator picks one
  Be16 protocol = 0;      // tcm_info's protocol: ETH_P_ALL (htons(3)) when eth_type is unmatched
  uint32_t handle = 0;    // 0 until the kernel echoes it back
  TcPolicy policy = TcPolicy::kNone;
  TcFlowerMatch match;
  std::vector<TcAction> actions;
  Ufid cookie;  // the megaflow's UFID, as every action's TCA_ACT_COOKIE
  // TCA_ACT_FLAGS_NO_PERCPU_STATS on every action (Linux 5.5+): the kernel
  // then gives each action one spinlocked counter instead of per-CPU ones,
  // which makes creating the action cheaper (no per-CPU allocation under the
  // action table's mutex) and counting in TC's software path costlier (one
  // contended lock per packet). Meant for filters whose traffic hardware
  // counts; the provider decides (TcActionCounters).
  bool actions_without_percpu_stats = false;

  bool operator==(const TcFlowerRule&) const = default;
};

// A cookie as iproute2 prints it (`tc -j filter show`: "cookie") and reads it
// (`action ... cookie HEX`): its bytes in order, two lowercase hex digits each.
inline std::string tc_cookie_text(const Ufid& cookie) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(2 * cookie.bytes.size());
  for (uint8_t byte : cookie.bytes) {
    text += kDigits[byte >> 4];
    text += kDigits[byte & 0xf];
  }
  return text;
}

}  // namespace flowlift
