// tc_filter_codec: a TcFlowerRule as rtnetlink bytes and back. It owns the
// RTM_NEWTFILTER / RTM_DELTFILTER / RTM_GETTFILTER requests flowlift sends
// for cls_flower filters, and the parsing of what the kernel answers (the
// NLM_F_ECHO of a new filter, a GET reply, the parts of a dump).
//
// Why one file for both directions: the parser must accept exactly what the
// encoder writes (tests prove parse(encode(rule)) == rule for every key and
// action kind) and also the kernel's own dump form, which differs in a few
// places (the kernel adds flags, counters, action times, and reports
// TCA_FLOWER_KEY_ETH_TYPE as the innermost ethertype of a VLAN rule), so the
// two shapes are best kept side by side.
//
// Conventions of the model on the wire (the translation writes them so):
// - Every key value and mask is in network order, `width` bytes. Three flower
//   attributes are host-order integers in the kernel (TCA_FLOWER_KEY_VLAN_ID,
//   TCA_FLOWER_KEY_CVLAN_ID: u16; TCA_FLOWER_KEY_MPLS_LABEL: u32); the codec
//   converts those, so vlan_id 10 is the key {0x00, 0x0a}.
// - A VLAN rule: rule.protocol is the outer TPID (0x8100/0x88a8), kEthType
//   the innermost ethertype, kVlanEthType what follows the outer tag,
//   kCvlanEthType what follows the inner tag (QinQ). On the wire
//   TCA_FLOWER_KEY_ETH_TYPE is then the outer TPID (that is what makes the
//   kernel read the VLAN keys); the kernel dumps it back as the innermost
//   ethertype; both forms parse to the same rule.
// - Device names are not on the wire (the kernel needs ifindexes only):
//   parsing leaves rule.device and TcMirredAction::device empty.
// - Tunnel keys: TCA_TUNNEL_KEY_ENC_KEY_ID and TCA_TUNNEL_KEY_NO_CSUM are
//   always sent; the IPv4 pair unless both IPv4 addresses are zero and an
//   IPv6 address is set; tos, ttl and dst_port only when non-zero (as the
//   kernel dumps them). dont_fragment is TCA_TUNNEL_KEY_NO_FRAG, which
//   kernels before 6.3 ignore.
// - Limits are the kernel's and the translation keeps within them: at most
//   TCA_ACT_MAX_PRIO (32) actions, 255 keys per pedit action.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "flowlift/status.h"
#include "offload/tc_flower_rule.h"

namespace flowlift {

enum class TcFilterWrite : uint8_t {
  kCreate,   // NLM_F_CREATE | NLM_F_EXCL: fails with EEXIST when the handle is taken
  kReplace,  // NLM_F_CREATE | NLM_F_REPLACE: rewrites the filter rule.handle names (with
             // handle 0 the kernel would create a new filter instead)
};

// One whole RTM_NEWTFILTER message (nlmsghdr included), flags
// NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO so that the kernel echoes the
// filter with the handle it chose, then acknowledges.
std::vector<uint8_t> encode_tc_filter_new(const TcFlowerRule& rule, TcFilterWrite write, uint32_t seq);
// RTM_DELTFILTER for the filter at (ifindex, parent, chain, priority,
// protocol, handle), with TCA_KIND so the kernel refuses to delete a filter
// of another kind there. NLM_F_ACK.
std::vector<uint8_t> encode_tc_filter_delete(const TcFlowerRule& rule, uint32_t seq);
// RTM_GETTFILTER for one filter by handle: the kernel answers with one
// RTM_NEWTFILTER carrying the filter and its actions' counters (or an
// NLMSG_ERROR). No NLM_F_ACK: the reply is the answer.
std::vector<uint8_t> encode_tc_filter_get(const TcFlowerRule& rule, uint32_t seq);
// RTM_GETTFILTER NLM_F_DUMP of every filter under `parent` on `ifindex`, in
// every chain (no TCA_CHAIN).
std::vector<uint8_t> encode_tc_filter_dump(uint32_t ifindex, uint32_t parent, uint32_t seq);

struct TcFilterStats {
  uint64_t packets = 0, bytes = 0;
  bool operator==(const TcFilterStats&) const = default;
};

struct TcParsedFilter {
  TcFlowerRule rule;                         // place, policy (from skip flags), match, actions, cookie
  bool has_flags = false;                    // TCA_FLOWER_FLAGS present
  bool in_hw = false, not_in_hw = false;     // TCA_CLS_FLAGS_IN_HW / NOT_IN_HW
  std::optional<uint32_t> in_hw_count;       // TCA_FLOWER_IN_HW_COUNT
  TcFilterStats total, hardware;             // TCA_STATS_BASIC (PKT64 when present) and TCA_STATS_BASIC_HW
  std::optional<uint64_t> last_used_ms_ago;  // the most recent action's TCA_*_TM lastuse, in ms
  bool has_cookie = false;                   // an action carried a 16-byte TCA_ACT_COOKIE
};

// Error codes of parse_tc_filter_message that are not malformed input, so
// that a dump reader can skip such messages and report the rest:
// - EPROTONOSUPPORT: a filter of another classifier kind (u32, bpf, ...);
// - ENODATA: a message without TCA_OPTIONS (the kernel's dump sends one per
//   priority before its filters, with handle 0).
// Every other error is EINVAL (or EOPNOTSUPP for a flower key or action
// flowlift does not model) and names the attribute that was wrong.
Result<TcParsedFilter> parse_tc_filter_message(std::span<const uint8_t> message);

}  // namespace flowlift
