// FlowKey: every field the Linux datapath matches on (struct sw_flow_key in
// net/openvswitch/flow.h), as one flat, padding-free value type.
//
// Why flat and padding-free: a megaflow mask covers a contiguous byte range of
// the key (FlowMask::range), and masked compare and hash walk that range one
// 64-bit word at a time, exactly as the kernel's sw_flow_key_range does. That
// only works if every byte of the key is a named field (static_assert below).
//
// Why this order: fields a mask rarely covers sit at the ends. Tunnel metadata
// comes first so that flows from non-tunnel ports start their range at the
// metadata; conntrack comes last so that flows without ct matches end early.
// A plain IPv4/TCP megaflow on in_port spans bytes [72, 128): 7 words,
// mac_proto included, which every megaflow matches exactly (the kernel's
// "always exact match mac_proto") and which therefore sits right after the
// IPv4 addresses.
//
// Byte order: fields named Be* hold network byte order, as on the wire and in
// the OVS_KEY_ATTR_* attributes, so a mask applies to them bitwise unchanged.
// ICMP and ICMPv6 type/code live in tp_src/tp_dst as htons(type)/htons(code),
// as the kernel stores them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "flowlift/masked_words.h"

namespace flowlift {

using Be16 = uint16_t;
using Be32 = uint32_t;
using Be64 = uint64_t;
using EthAddr = std::array<uint8_t, 6>;
using Ipv6Addr = std::array<uint8_t, 16>;

// Tunnel flags, same bits as Open vSwitch's FLOW_TNL_F_*.
enum TunnelFlags : uint16_t {
  kTunnelDontFragment = 1 << 0,
  kTunnelCsum = 1 << 1,
  kTunnelKey = 1 << 2,
  kTunnelOam = 1 << 3,
  kTunnelAllFlags = kTunnelDontFragment | kTunnelCsum | kTunnelKey | kTunnelOam,
};

// ip_frag values: OVS_FRAG_TYPE_* from <linux/openvswitch.h>.
enum FragType : uint8_t {
  kFragNone = 0,   // not a fragment
  kFragFirst = 1,  // offset 0, more fragments follow: L4 fields present
  kFragLater = 2,  // offset > 0: no L4 fields
};

// ct_state bits: OVS_CS_F_* from <linux/openvswitch.h>.
enum CtStateBits : uint32_t {
  kCtNew = 0x01,
  kCtEstablished = 0x02,
  kCtRelated = 0x04,
  kCtReplyDir = 0x08,
  kCtInvalid = 0x10,
  kCtTracked = 0x20,
  kCtSrcNat = 0x40,
  kCtDstNat = 0x80,
};

inline constexpr int kMaxMplsLabels = 3;  // MPLS_LABEL_DEPTH in the kernel

// mac_proto values: what precedes the packet's network header. The kernel
// numbers them the other way round (MAC_PROTO_NONE 0, MAC_PROTO_ETHERNET 1);
// here Ethernet is 0 so that every zero-initialised FlowKey, and every key
// extracted from a frame, is an Ethernet key without anyone setting it.
// Values travel only inside FlowKey, never on the wire: netlink says
// "Ethernet" by the presence of OVS_KEY_ATTR_ETHERNET.
enum MacProto : uint8_t {
  kMacProtoEthernet = 0,  // an Ethernet frame (MAC_PROTO_ETHERNET)
  kMacProtoNone = 1,      // a layer-3 packet, e.g. from an L3 tunnel: eth_type names it (MAC_PROTO_NONE)
};

struct TunnelKey {
  Be64 tun_id;
  Be32 ipv4_src;
  Be32 ipv4_dst;
  Ipv6Addr ipv6_src;  // IPv6 underlay; all zero for an IPv4 tunnel
  Ipv6Addr ipv6_dst;
  Be16 tp_src;
  Be16 tp_dst;
  uint16_t flags;  // TunnelFlags
  uint8_t tos;
  uint8_t ttl;
  uint32_t vxlan_gbp;  // OVS_VXLAN_EXT_GBP, host order: flags << 16 | policy id
  uint8_t pad[4];

  bool is_ipv6() const { return !all_bytes_zero(ipv6_dst); }
};

struct VlanHead {
  Be16 tpid;  // 0x8100 or 0x88a8; zero when there is no tag
  Be16 tci;   // includes VLAN_CFI_MASK (0x1000) when a tag is present, as the kernel does
};

inline constexpr uint16_t kVlanCfi = 0x1000;  // "tag present" bit in tci (host order)

struct alignas(8) FlowKey {
  TunnelKey tunnel;  // [0, 64)

  // Metadata
  uint32_t priority;  // skb->priority
  uint32_t skb_mark;
  uint32_t in_port;  // datapath port number
  uint32_t recirc_id;
  uint32_t dp_hash;

  // Ethernet
  EthAddr eth_src;
  EthAddr eth_dst;
  VlanHead vlan;   // outer tag
  VlanHead cvlan;  // inner tag of QinQ
  Be16 eth_type;   // after VLAN tags; 0x05ff (ETH_P_802_2) for 802.3 frames without SNAP

  // IP (also IPv6); for ARP, ip_proto is left zero (op lives in arp.op)
  uint8_t ip_proto;
  uint8_t ip_tos;
  uint8_t ip_ttl;
  uint8_t ip_frag;  // FragType

  // L4 (TCP/UDP/SCTP ports; ICMP/ICMPv6 type and code)
  Be16 tp_src;
  Be16 tp_dst;
  Be16 tcp_flags;  // low 12 bits of the TCP header's flags

  Be32 ipv4_src;
  Be32 ipv4_dst;

  // ARP/RARP (eth_type 0x0806/0x8035), with two bytes of other fields:
  // mac_proto is matched by every megaflow (the kernel always matches it
  // exactly), so it sits right after the IPv4 addresses: an IPv4 megaflow's
  // range then still ends at byte 128 (7 words from in_port).
  Be16 arp_op;
  uint8_t mpls_depth;  // number of label stack entries in mpls_lse (0..3)
  uint8_t mac_proto;   // MacProto; eth_src/eth_dst/vlan/cvlan are zero for kMacProtoNone
  Be32 arp_sip;
  Be32 arp_tip;
  EthAddr arp_sha;
  EthAddr arp_tha;

  Ipv6Addr ipv6_src;
  Ipv6Addr ipv6_dst;
  Be32 ipv6_label;  // low 20 bits

  // IPv6 neighbour discovery
  Ipv6Addr nd_target;
  EthAddr nd_sll;
  EthAddr nd_tll;

  Be32 mpls_lse[kMaxMplsLabels];  // outermost first

  // Conntrack
  uint32_t ct_state;  // CtStateBits
  uint16_t ct_zone;
  uint8_t ct_orig_proto;
  uint8_t pad1;
  uint32_t ct_mark;
  std::array<uint8_t, 16> ct_labels;
  Be32 ct_orig_ipv4_src;
  Be32 ct_orig_ipv4_dst;
  Ipv6Addr ct_orig_ipv6_src;
  Ipv6Addr ct_orig_ipv6_dst;
  Be16 ct_orig_tp_src;
  Be16 ct_orig_tp_dst;

  bool operator==(const FlowKey& other) const { return std::memcmp(this, &other, sizeof *this) == 0; }
};

static_assert(std::has_unique_object_representations_v<FlowKey>,
              "FlowKey must have no implicit padding: masked compare reads every byte");
static_assert(sizeof(FlowKey) % 8 == 0, "FlowKey is compared one 64-bit word at a time");
static_assert(std::is_trivially_copyable_v<FlowKey>);
static_assert(offsetof(FlowKey, priority) == 64, "tunnel block is one 64-byte prefix");

// The byte range [start, end) of a mask that has any bit set, rounded out to
// whole 64-bit words (sw_flow_key_range).
using KeyRange = WordRange;

// A FlowMask is a FlowKey whose set bits say "this bit matters".
class FlowMask {
 public:
  FlowMask() : key_{} {}
  explicit FlowMask(const FlowKey& bits) : key_(bits) { recompute_range(); }

  // Every bit significant.
  static FlowMask exact() {
    FlowKey all;
    std::memset(&all, 0xff, sizeof all);
    return FlowMask(all);
  }

  const FlowKey& bits() const { return key_; }
  // Edits go through here; call recompute_range() after.
  FlowKey& mutable_bits() { return key_; }
  void recompute_range() {
    range_ = nonzero_word_range(key_);
    if (range_.empty()) range_ = KeyRange{0, 0};
  }

  const KeyRange& range() const { return range_; }
  bool operator==(const FlowMask& other) const { return key_ == other.key_; }

 private:
  FlowKey key_;
  KeyRange range_;
};

// key & mask, for every byte of the key.
inline FlowKey apply_mask(const FlowKey& key, const FlowMask& mask) {
  return apply_mask_words(key, mask.bits(), mask.range());
}

// (key & mask) == masked_key over the mask's range. masked_key must already be
// masked (as a Match's key always is).
inline bool masked_equal(const FlowKey& key, const FlowKey& masked_key, const FlowMask& mask) {
  return masked_words_equal(key, masked_key, mask.bits(), mask.range());
}

// Hash of key & mask over the mask's range. Equal masked keys hash equal.
inline uint64_t masked_hash(const FlowKey& key, const FlowMask& mask, uint64_t basis = 0) {
  return masked_words_hash(key, mask.bits(), mask.range(), basis ^ mask.range().start);
}

// A megaflow's match: a key (already masked) and its mask.
struct Match {
  FlowKey key{};
  FlowMask mask;

  Match() = default;
  Match(const FlowKey& k, const FlowMask& m) : key(apply_mask(k, m)), mask(m) {}
  bool matches(const FlowKey& packet_key) const { return masked_equal(packet_key, key, mask); }
  bool operator==(const Match& other) const { return key == other.key && mask == other.mask; }
};

}  // namespace flowlift
