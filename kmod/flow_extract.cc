// Key extraction from raw frames, layer by layer, with the kernel's rules for
// what a truncated or malformed header leaves in the key
// (net/openvswitch/flow.c: key_extract, parse_vlan, parse_ethertype,
// key_extract_l3l4, parse_ipv6hdr, parse_icmpv6; net/ipv6/exthdrs_core.c:
// ipv6_find_hdr).
#include "kmod/flow_extract.h"

#include <arpa/inet.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace flowlift {
namespace {

constexpr size_t kNotSet = SIZE_MAX;

// Header sizes the kernel checks before it reads a header.
constexpr size_t kVlanTagAndTypeLength = 6;  // struct vlan_head + the type after it
constexpr size_t kLlcSnapLength = 8;
constexpr size_t kArpEthIpv4Length = 28;  // struct arp_eth_header
constexpr size_t kIpv4MinHeaderLength = 20;
constexpr size_t kIpv6HeaderLength = 40;
constexpr size_t kMplsLseLength = 4;
constexpr size_t kTcpMinHeaderLength = 20;
constexpr size_t kUdpHeaderLength = 8;
constexpr size_t kSctpHeaderLength = 12;
constexpr size_t kIcmpHeaderLength = 8;    // struct icmphdr
constexpr size_t kIcmpv6HeaderLength = 8;  // struct icmp6hdr
constexpr size_t kNdMessageLength = 24;    // struct nd_msg: icmp6hdr + target
constexpr size_t kNdLinkLayerOptionLength = 8;

constexpr uint16_t kIpv4FragmentOffsetMask = 0x1fff;
constexpr uint16_t kIpv4MoreFragments = 0x2000;
constexpr uint32_t kMplsBottomOfStack = 0x100;
constexpr uint16_t kTcpFlagsMask = 0x0fff;
constexpr uint32_t kIpv6FlowLabelMask = 0x000fffff;

// Bounds-checked, alignment-safe reads from the frame. Every read outside the
// frame yields zero, so no parsing slip can read past the buffer; the parsers
// still check `fits` first, because a missing header has its own meaning.
class FrameBytes {
 public:
  explicit FrameBytes(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  size_t size() const { return bytes_.size(); }
  bool fits(size_t offset, size_t length) const {
    return offset <= bytes_.size() && length <= bytes_.size() - offset;
  }

  uint8_t u8(size_t offset) const { return fits(offset, 1) ? bytes_[offset] : 0; }
  // Network byte order, as FlowKey's Be16/Be32 fields hold it.
  Be16 be16(size_t offset) const { return load<Be16>(offset); }
  Be32 be32(size_t offset) const { return load<Be32>(offset); }
  uint16_t host16(size_t offset) const { return ntohs(be16(offset)); }
  uint32_t host32(size_t offset) const { return ntohl(be32(offset)); }

  template <size_t N>
  void copy(size_t offset, std::array<uint8_t, N>& out) const {
    if (fits(offset, N)) std::memcpy(out.data(), bytes_.data() + offset, N);
  }

 private:
  template <typename T>
  T load(size_t offset) const {
    T value{};
    if (fits(offset, sizeof value)) std::memcpy(&value, bytes_.data() + offset, sizeof value);
    return value;
  }

  std::span<const uint8_t> bytes_;
};

// Where the headers start, as the kernel's skb header offsets; kNotSet when
// the kernel does not set that header.
struct LayerOffsets {
  size_t l2_5 = kNotSet;
  size_t l3 = kNotSet;
  size_t l4 = kNotSet;
};

bool is_vlan_tpid(uint16_t type) { return type == ETH_P_8021Q || type == ETH_P_8021AD; }

// One 802.1Q/802.1ad tag at `at`. The kernel takes a tag only when the tag and
// the type field after it are all there; a shorter frame keeps the TPID as its
// ethertype.
bool read_vlan_tag(const FrameBytes& frame, size_t& at, VlanHead& tag) {
  if (!is_vlan_tpid(frame.host16(at)) || !frame.fits(at, kVlanTagAndTypeLength)) return false;
  tag.tpid = frame.be16(at);
  tag.tci = frame.be16(at + 2) | htons(kVlanCfi);
  at += 4;
  return true;
}

// The type field at `at` and, for an 802.3 length field, the LLC/SNAP header
// after it. Advances `at` to the L2 payload.
Be16 read_ethertype(const FrameBytes& frame, size_t& at) {
  uint16_t type = frame.host16(at);
  at += 2;
  if (type >= ETH_P_802_3_MIN) return htons(type);

  // 802.3: the field was a length. Only SNAP with a zero OUI names an
  // Ethernet II type; everything else is plain 802.2 LLC.
  if (!frame.fits(at, kLlcSnapLength)) return htons(kEthType802_2);
  constexpr uint8_t kLlcSapSnap = 0xaa;
  bool zero_oui = (frame.u8(at + 3) | frame.u8(at + 4) | frame.u8(at + 5)) == 0;
  if (frame.u8(at) != kLlcSapSnap || frame.u8(at + 1) != kLlcSapSnap || !zero_oui) {
    return htons(kEthType802_2);
  }
  uint16_t snap_type = frame.host16(at + 6);
  at += kLlcSnapLength;
  return htons(snap_type >= ETH_P_802_3_MIN ? snap_type : kEthType802_2);
}

// Ethernet addresses, up to two VLAN tags (outer into vlan, inner into
// cvlan, as the kernel's parse_vlan) and the type. Returns the offset of the L2
// payload, or nothing for a frame too short for an Ethernet header.
std::optional<size_t> extract_ethernet(const FrameBytes& frame, FlowKey& key) {
  if (!frame.fits(0, ETH_HLEN)) return std::nullopt;
  frame.copy(0, key.eth_dst);
  frame.copy(ETH_ALEN, key.eth_src);
  size_t at = 2 * ETH_ALEN;
  if (read_vlan_tag(frame, at, key.vlan)) read_vlan_tag(frame, at, key.cvlan);
  key.eth_type = read_ethertype(frame, at);
  return at;
}

// TCP, UDP, SCTP ports and TCP flags at `l4`; shared by IPv4 and IPv6. A
// header that does not fit leaves the transport fields zero, as the kernel's
// *hdr_ok checks do.
void extract_ports(const FrameBytes& frame, size_t l4, FlowKey& key) {
  switch (key.ip_proto) {
    case IPPROTO_TCP: {
      if (!frame.fits(l4, kTcpMinHeaderLength)) return;
      size_t header_length = (size_t{frame.u8(l4 + 12)} >> 4) * 4;  // data offset, in 32-bit words
      if (header_length < kTcpMinHeaderLength || !frame.fits(l4, header_length)) return;
      key.tp_src = frame.be16(l4);
      key.tp_dst = frame.be16(l4 + 2);
      key.tcp_flags = frame.be16(l4 + 12) & htons(kTcpFlagsMask);
      return;
    }
    case IPPROTO_UDP:
      if (!frame.fits(l4, kUdpHeaderLength)) return;
      key.tp_src = frame.be16(l4);
      key.tp_dst = frame.be16(l4 + 2);
      return;
    case IPPROTO_SCTP:
      if (!frame.fits(l4, kSctpHeaderLength)) return;
      key.tp_src = frame.be16(l4);
      key.tp_dst = frame.be16(l4 + 2);
      return;
    default:
      return;
  }
}

void extract_ipv4(const FrameBytes& frame, size_t l3, FlowKey& key, LayerOffsets& layers) {
  // A short or inconsistent header leaves every IP field zero and the
  // transport header at the network header (check_iphdr's -EINVAL path).
  // The total length field is not consulted, as in the kernel.
  layers.l4 = l3;
  if (!frame.fits(l3, kIpv4MinHeaderLength)) return;
  size_t header_length = (size_t{frame.u8(l3)} & 0x0f) * 4;
  if (header_length < kIpv4MinHeaderLength || !frame.fits(l3, header_length)) return;

  size_t l4 = l3 + header_length;
  layers.l4 = l4;
  key.ip_tos = frame.u8(l3 + 1);
  key.ip_ttl = frame.u8(l3 + 8);
  key.ip_proto = frame.u8(l3 + 9);
  key.ipv4_src = frame.be32(l3 + 12);
  key.ipv4_dst = frame.be32(l3 + 16);

  uint16_t fragment = frame.host16(l3 + 6);
  if (fragment & kIpv4FragmentOffsetMask) {
    key.ip_frag = kFragLater;  // no transport header in this fragment
    return;
  }
  key.ip_frag = (fragment & kIpv4MoreFragments) ? kFragFirst : kFragNone;

  if (key.ip_proto == IPPROTO_ICMP) {
    if (!frame.fits(l4, kIcmpHeaderLength)) return;
    key.tp_src = htons(frame.u8(l4));
    key.tp_dst = htons(frame.u8(l4 + 1));
    return;
  }
  extract_ports(frame, l4, key);
}

// Extension headers ipv6_find_hdr walks; NONE (59) ends the walk as if it were
// an upper-layer protocol.
bool is_ipv6_extension(uint8_t next_header) {
  switch (next_header) {
    case IPPROTO_HOPOPTS:
    case IPPROTO_ROUTING:
    case IPPROTO_FRAGMENT:
    case IPPROTO_AH:
    case IPPROTO_DSTOPTS:
      return true;
    default:
      return false;
  }
}

// What ipv6_find_hdr(skb, &offset, -1, &frag_off, &flags) reports.
struct Ipv6ChainEnd {
  // False where ipv6_find_hdr fails: a header of the chain is cut short
  // (-EBADMSG), or a later fragment is followed by another extension header
  // (-ENOENT).
  bool found = false;
  uint8_t next_header = 0;  // the upper-layer protocol (or NONE)
  size_t offset = 0;        // of the upper-layer header; may lie past the frame
  bool fragment = false;    // a fragment header was reached (IP6_FH_F_FRAG)
  bool later_fragment = false;
};

Ipv6ChainEnd walk_ipv6_extensions(const FrameBytes& frame, size_t l3) {
  Ipv6ChainEnd end;
  uint8_t next = frame.u8(l3 + 6);
  size_t at = l3 + kIpv6HeaderLength;
  // Each header moves `at` on by at least 8 bytes and must start inside the
  // frame, so the walk ends within size/8 steps.
  while (is_ipv6_extension(next)) {
    if (!frame.fits(at, 2)) return end;
    uint8_t following = frame.u8(at);
    size_t length_field = frame.u8(at + 1);
    size_t length;
    if (next == IPPROTO_ROUTING) {
      if (!frame.fits(at, 4)) return end;  // the kernel reads struct ipv6_rt_hdr
      length = (length_field + 1) * 8;
    } else if (next == IPPROTO_FRAGMENT) {
      end.fragment = true;
      if (!frame.fits(at + 2, 2)) return end;
      uint16_t offset = frame.host16(at + 2) & ~0x7u;
      if (offset != 0) {
        // A later fragment: its next header names the protocol, unless it is
        // another extension header, which ipv6_find_hdr treats as not found.
        if (is_ipv6_extension(following)) return end;
        end.found = true;
        end.later_fragment = true;
        end.next_header = following;
        return end;
      }
      length = 8;
    } else if (next == IPPROTO_AH) {
      length = (length_field + 2) * 4;
    } else {
      length = (length_field + 1) * 8;
    }
    next = following;
    at += length;
  }
  end.found = true;
  end.next_header = next;
  end.offset = at;
  return end;
}

// Neighbour discovery target and link-layer options of an NS/NA message at
// `l4`, as parse_icmpv6 reads them. The kernel reads to the end of the frame
// (not the IPv6 payload length). A malformed option (length 0 or running past
// the end) stops option parsing but keeps what was read so far; only a
// repeated source/target link-layer option invalidates all ND fields.
void extract_neighbor_discovery(const FrameBytes& frame, size_t l4, FlowKey& key) {
  if (!frame.fits(l4, kNdMessageLength)) return;
  frame.copy(l4 + 8, key.nd_target);

  size_t option = l4 + kNdMessageLength;
  size_t remaining = frame.size() - option;
  const EthAddr kZeroMac{};
  while (remaining >= 8) {
    uint8_t type = frame.u8(option);
    size_t option_length = size_t{frame.u8(option + 1)} * 8;
    if (option_length == 0 || option_length > remaining) return;
    EthAddr* address = nullptr;
    if (option_length == kNdLinkLayerOptionLength) {
      if (type == ND_OPT_SOURCE_LINKADDR) address = &key.nd_sll;
      if (type == ND_OPT_TARGET_LINKADDR) address = &key.nd_tll;
    }
    if (address != nullptr) {
      if (*address != kZeroMac) {
        key.nd_target = {};
        key.nd_sll = {};
        key.nd_tll = {};
        return;
      }
      frame.copy(option + 2, *address);
    }
    remaining -= option_length;
    option += option_length;
  }
}

void extract_ipv6(const FrameBytes& frame, size_t l3, FlowKey& key, LayerOffsets& layers) {
  if (!frame.fits(l3, kIpv6HeaderLength)) {
    layers.l4 = l3;  // every IPv6 field stays zero (parse_ipv6hdr's -EINVAL)
    return;
  }
  uint32_t version_class_label = frame.host32(l3);
  key.ip_tos = static_cast<uint8_t>(version_class_label >> 20);
  key.ipv6_label = htonl(version_class_label & kIpv6FlowLabelMask);
  key.ip_ttl = frame.u8(l3 + 7);
  frame.copy(l3 + 8, key.ipv6_src);
  frame.copy(l3 + 24, key.ipv6_dst);
  key.ip_proto = IPPROTO_NONE;  // what a failed walk leaves

  Ipv6ChainEnd end = walk_ipv6_extensions(frame, l3);
  if (end.later_fragment) {
    key.ip_frag = kFragLater;
    key.ip_proto = IPPROTO_FRAGMENT;  // the kernel reports 44, not the payload's protocol
    return;
  }
  // A fragment header reached but not read through still marks the first
  // fragment: the kernel looks at the fragment flag before the error.
  key.ip_frag = end.fragment ? kFragFirst : kFragNone;
  if (!end.found) {
    layers.l4 = l3;  // -EPROTO: addresses kept, protocol NONE
    return;
  }

  size_t l4 = end.offset;
  layers.l4 = l4;
  key.ip_proto = end.next_header;
  if (key.ip_proto == IPPROTO_ICMPV6) {
    if (!frame.fits(l4, kIcmpv6HeaderLength)) return;
    uint8_t type = frame.u8(l4);
    uint8_t code = frame.u8(l4 + 1);
    key.tp_src = htons(type);
    key.tp_dst = htons(code);
    if (code == 0 && (type == ND_NEIGHBOR_SOLICIT || type == ND_NEIGHBOR_ADVERT)) {
      extract_neighbor_discovery(frame, l4, key);
    }
    return;
  }
  extract_ports(frame, l4, key);
}

// Ethernet/IPv4 ARP and RARP only; anything else leaves the ARP fields zero.
void extract_arp(const FrameBytes& frame, size_t l3, FlowKey& key) {
  if (!frame.fits(l3, kArpEthIpv4Length)) return;
  if (frame.host16(l3) != ARPHRD_ETHER || frame.host16(l3 + 2) != ETH_P_IP || frame.u8(l3 + 4) != ETH_ALEN ||
      frame.u8(l3 + 5) != 4) {
    return;
  }
  // The kernel keeps the opcode in its 8-bit ip.proto, so opcodes above 0xff
  // become 0; OVS_KEY_ATTR_ARP reports htons(ip.proto). arp_op holds that.
  uint16_t op = frame.host16(l3 + 6);
  key.arp_op = htons(op <= 0xff ? op : 0);
  frame.copy(l3 + 8, key.arp_sha);
  key.arp_sip = frame.be32(l3 + 14);
  frame.copy(l3 + 18, key.arp_tha);
  key.arp_tip = frame.be32(l3 + 24);
}

// The label stack at `l2_5`, outermost first, up to the bottom-of-stack entry.
// Labels past kMaxMplsLabels are walked but not kept. A stack cut short before
// its bottom entry keeps the entries read but reports depth 0, as the kernel
// returns before it sets num_labels_mask.
void extract_mpls(const FrameBytes& frame, size_t l2_5, FlowKey& key, LayerOffsets& layers) {
  layers.l2_5 = l2_5;
  size_t at = l2_5;
  size_t count = 0;
  while (true) {
    if (!frame.fits(at, kMplsLseLength)) {
      layers.l3 = at;
      return;
    }
    Be32 lse = frame.be32(at);
    if (count < kMaxMplsLabels) key.mpls_lse[count] = lse;
    ++count;
    at += kMplsLseLength;
    if (lse & htonl(kMplsBottomOfStack)) break;
  }
  layers.l3 = at;
  key.mpls_depth = static_cast<uint8_t>(std::min<size_t>(count, kMaxMplsLabels));
}

uint16_t to_packet_offset(size_t offset, size_t frame_size) {
  if (offset == kNotSet || offset > frame_size || offset >= Packet::kNoOffset) return Packet::kNoOffset;
  return static_cast<uint16_t>(offset);
}

}  // namespace

FlowKey flow_key_extract(Packet& packet) {
  FlowKey key{};
  const PacketMetadata& md = packet.md;
  if (md.has_tunnel) {
    key.tunnel = md.tunnel;
    std::memset(key.tunnel.pad, 0, sizeof key.tunnel.pad);  // masked compare reads every byte
  }
  key.priority = md.priority;
  key.skb_mark = md.skb_mark;
  key.in_port = md.in_port;
  key.recirc_id = md.recirc_id;
  key.dp_hash = md.dp_hash;

  packet.l2_5_ofs = Packet::kNoOffset;
  packet.l3_ofs = Packet::kNoOffset;
  packet.l4_ofs = Packet::kNoOffset;

  FrameBytes frame(packet.bytes());
  std::optional<size_t> payload = extract_ethernet(frame, key);
  if (!payload) return key;

  LayerOffsets layers;
  layers.l3 = *payload;
  switch (ntohs(key.eth_type)) {
    case ETH_P_IP:
      extract_ipv4(frame, layers.l3, key, layers);
      break;
    case ETH_P_IPV6:
      extract_ipv6(frame, layers.l3, key, layers);
      break;
    case ETH_P_ARP:
    case ETH_P_RARP:
      extract_arp(frame, layers.l3, key);
      break;
    case ETH_P_MPLS_UC:
    case ETH_P_MPLS_MC:
      extract_mpls(frame, layers.l3, key, layers);
      break;
    default:
      break;  // NSH and others: no fields in FlowKey beyond L2
  }

  packet.l2_5_ofs = to_packet_offset(layers.l2_5, frame.size());
  packet.l3_ofs = to_packet_offset(layers.l3, frame.size());
  packet.l4_ofs = to_packet_offset(layers.l4, frame.size());
  return key;
}

}  // namespace flowlift
