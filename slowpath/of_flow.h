// OfFlow: every field an OpenFlow rule can match in flowlift, as one flat,
// padding-free value (Open vSwitch's struct flow, trimmed to what flowlift
// supports), plus OfMask (an OfFlow whose set bits matter) and OfMatch.
//
// Why this layout: the slowpath classifier does a staged lookup (OVS's
// classifier.c): it hashes and compares the metadata stage first, then L2,
// L3, L4, and stops at the first stage that rules out a subtable, so that the
// megaflow only unwildcards the stages it looked at. Each stage is therefore
// one contiguous, 8-byte aligned byte range of OfFlow (OfStages below), and
// every byte belongs to a named field, so masked compare/hash can walk a
// stage one 64-bit word at a time.
//
// Where fields live follows OVS's struct flow so that wildcard and megaflow
// behaviour matches OVS: the ARP opcode is stored in nw_proto and the ARP
// sender/target IPv4 addresses in nw_src/nw_dst; the IPv6 ND source/target
// link-layer addresses share arp_sha/arp_tha; ICMP type/code sit in
// tp_src/tp_dst as htons(type)/htons(code); the DSCP and ECN bits share
// nw_tos. vlan_tci follows OVS's model: one 802.1Q TCI whose CFI bit
// (kVlanCfi) means "a tag is present".
//
// Byte order as in FlowKey: packet and tunnel header fields (Be16/Be32/Be64,
// addresses) hold network byte order; switch metadata (in_port, registers,
// metadata, conj_id, pkt_mark, skb_priority, recirc_id, tun_flags) is host
// order, as OVS keeps it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "flowlift/flow_key.h"
#include "flowlift/masked_words.h"

namespace flowlift {

inline constexpr int kOfRegisterCount = 16;

// nw_frag bits, OVS's FLOW_NW_FRAG_ANY / FLOW_NW_FRAG_LATER.
enum OfFragBits : uint8_t {
  kOfFragAny = 1 << 0,    // any fragment, the first one included
  kOfFragLater = 1 << 1,  // a fragment with offset > 0
  kOfFragMask = kOfFragAny | kOfFragLater,
};

struct alignas(8) OfFlow {
  // ---- stage 1: metadata [0, 152) ----
  uint32_t recirc_id;
  // OpenFlow port number in OVS's 16-bit numbering (LOCAL = 0xfffe), so the
  // high half is always zero; rules match it through the 16-bit in_port
  // field (NXM_OF_IN_PORT), i.e. with mask 0x0000ffff.
  uint32_t in_port;
  uint32_t regs[kOfRegisterCount];
  uint64_t metadata;
  uint32_t conj_id;
  uint32_t pkt_mark;
  uint32_t skb_priority;
  uint16_t tun_flags;  // TunnelFlags (flow_key.h)
  uint8_t tun_tos;
  uint8_t tun_ttl;
  Be64 tun_id;
  Be32 tun_src;
  Be32 tun_dst;
  Ipv6Addr tun_ipv6_src;
  Ipv6Addr tun_ipv6_dst;
  Be16 tun_tp_src;  // outer UDP ports: carried for xlate, not matchable (as in OVS)
  Be16 tun_tp_dst;
  uint8_t pad_metadata[4];

  // ---- stage 2: L2 [152, 176) ----
  EthAddr dl_dst;
  EthAddr dl_src;
  Be16 dl_type;    // after VLAN tags
  Be16 vlan_tci;   // includes kVlanCfi when a tag is present; 0 when untagged
  Be16 vlan_tpid;  // 0x8100 or 0x88a8 when tagged (not matchable from OpenFlow)
  uint8_t pad_l2[2];
  Be32 mpls_lse;  // outermost label stack entry

  // ---- stage 3: L3 [176, 224) ----
  Be32 nw_src;  // IPv4 source; ARP sender protocol address
  Be32 nw_dst;  // IPv4 destination; ARP target protocol address
  Ipv6Addr ipv6_src;
  Ipv6Addr ipv6_dst;
  Be32 ipv6_label;  // low 20 bits
  uint8_t nw_frag;  // OfFragBits
  uint8_t nw_tos;   // DSCP (high 6 bits) and ECN (low 2 bits)
  uint8_t nw_ttl;
  uint8_t nw_proto;  // IP protocol; ARP opcode (low 8 bits) for ARP/RARP

  // ---- stage 4: L4 [224, 264), from nd_target on as in OVS's struct flow ----
  Ipv6Addr nd_target;
  EthAddr arp_sha;  // ARP sender hardware address; ND source link-layer address
  EthAddr arp_tha;  // ARP target hardware address; ND target link-layer address
  uint8_t pad_l3[4];
  Be16 tp_src;     // TCP/UDP/SCTP source port; ICMP type (htons(type))
  Be16 tp_dst;     // TCP/UDP/SCTP destination port; ICMP code (htons(code))
  Be16 tcp_flags;  // low 12 bits
  uint8_t pad_l4[2];

  bool operator==(const OfFlow& other) const { return std::memcmp(this, &other, sizeof *this) == 0; }
};

static_assert(std::has_unique_object_representations_v<OfFlow>,
              "OfFlow must have no implicit padding: masked compare and hash read every byte");
static_assert(std::is_trivially_copyable_v<OfFlow>);
static_assert(sizeof(OfFlow) % 8 == 0);

// A byte range [start, end) of OfFlow, 8-byte aligned at both ends.
using OfRange = WordRange;

// The four lookup stages, in lookup order. Together they cover OfFlow. The
// boundaries are OVS's flow_segment_u64s (FLOW_SEGMENT_{1,2,3}_ENDS_AT): the
// last stage starts at nd_target, so ND and ARP hardware addresses are looked
// at together with the ports, as OVS's staged lookup does.
struct OfStages {
  static constexpr OfRange kMetadata{0, offsetof(OfFlow, dl_dst)};
  static constexpr OfRange kL2{offsetof(OfFlow, dl_dst), offsetof(OfFlow, nw_src)};
  static constexpr OfRange kL3{offsetof(OfFlow, nw_src), offsetof(OfFlow, nd_target)};
  static constexpr OfRange kL4{offsetof(OfFlow, nd_target), sizeof(OfFlow)};
  static constexpr int kCount = 4;
  static constexpr std::array<OfRange, kCount> kAll{kMetadata, kL2, kL3, kL4};
};

static_assert(OfStages::kMetadata.end % 8 == 0 && OfStages::kL2.end % 8 == 0 && OfStages::kL3.end % 8 == 0,
              "each stage starts on an 8-byte boundary");
static_assert(OfStages::kL2.start == OfStages::kMetadata.end && OfStages::kL3.start == OfStages::kL2.end &&
              OfStages::kL4.start == OfStages::kL3.end);

// An OfMask is an OfFlow whose set bits say "this bit matters". It caches the
// word-rounded range of its non-zero bytes, like FlowMask.
class OfMask {
 public:
  OfMask() : bits_{} {}
  explicit OfMask(const OfFlow& bits) : bits_(bits) { recompute_range(); }

  static OfMask exact() {
    OfFlow all;
    std::memset(&all, 0xff, sizeof all);
    return OfMask(all);
  }

  const OfFlow& bits() const { return bits_; }
  // Edits go through here; call recompute_range() after.
  OfFlow& mutable_bits() { return bits_; }
  void recompute_range();
  // After bits were only added, and only inside `range`, whose first and last
  // words are now non-zero: grows the range to cover it without rescanning
  // the whole mask (the classifier knows which words a lookup touched).
  void widen_range(const OfRange& range);

  // Word-rounded range of all non-zero mask bytes; empty for a catch-all.
  const OfRange& range() const { return range_; }
  bool is_catchall() const { return range_.empty(); }
  // The part of `stage` where this mask has any bit, word-rounded (may be empty).
  OfRange range_in(const OfRange& stage) const;
  // True if any mask bit is set in `range`.
  bool any_bit_in(const OfRange& range) const;

  bool operator==(const OfMask& other) const { return bits_ == other.bits_; }

 private:
  OfFlow bits_;
  OfRange range_;
};

inline void OfMask::recompute_range() {
  range_ = nonzero_word_range(bits_);
  if (range_.empty()) range_ = OfRange{0, 0};
}

inline void OfMask::widen_range(const OfRange& range) {
  if (range.empty()) return;
  if (range_.empty()) {
    range_ = range;
    return;
  }
  if (range.start < range_.start) range_.start = range.start;
  if (range.end > range_.end) range_.end = range.end;
}

inline OfRange OfMask::range_in(const OfRange& stage) const { return nonzero_word_range(bits_, stage); }

inline bool OfMask::any_bit_in(const OfRange& range) const { return flowlift::any_bit_in(bits_, range); }

// flow & mask over every byte.
inline OfFlow apply_mask(const OfFlow& flow, const OfMask& mask) {
  return apply_mask_words(flow, mask.bits(), mask.range());
}

// (flow & mask) == masked_flow over `range` (8-byte aligned); masked_flow must
// already be masked. The classifier calls it per stage.
inline bool masked_equal_in(const OfFlow& flow, const OfFlow& masked_flow, const OfMask& mask,
                            const OfRange& range) {
  return masked_words_equal(flow, masked_flow, mask.bits(), range);
}

inline bool masked_equal(const OfFlow& flow, const OfFlow& masked_flow, const OfMask& mask) {
  return masked_equal_in(flow, masked_flow, mask, mask.range());
}

// Hash of flow & mask over `range`, continuing from `basis` so that a staged
// lookup can extend the hash of the previous stages.
inline uint64_t masked_hash_in(const OfFlow& flow, const OfMask& mask, const OfRange& range, uint64_t basis) {
  return masked_words_hash(flow, mask.bits(), range, basis);
}

// An OpenFlow rule's match: the flow (already masked) and its mask.
struct OfMatch {
  OfFlow flow{};
  OfMask mask;

  OfMatch() = default;
  OfMatch(const OfFlow& f, const OfMask& m) : flow(apply_mask(f, m)), mask(m) {}
  bool matches(const OfFlow& packet) const { return masked_equal(packet, flow, mask); }
  bool operator==(const OfMatch& other) const { return flow == other.flow && mask == other.mask; }
};

}  // namespace flowlift
