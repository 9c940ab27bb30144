// set/set_masked execution (see actions_set.h).
#include "kmod/actions_set.h"

#include <cstdio>
#include <cstring>
#include <string>

#include "kmod/checksum.h"
#include "kmod/packet_bytes.h"

namespace flowlift {
namespace {

constexpr uint8_t kIpProtoTcp = 6;
constexpr uint8_t kIpProtoUdp = 17;
constexpr uint8_t kIpProtoIcmpv6 = 58;
constexpr uint8_t kIpProtoSctp = 132;
constexpr size_t kIpv4HeaderLength = 20;
constexpr size_t kIpv6HeaderLength = 40;
constexpr size_t kTcpHeaderLength = 20;
constexpr size_t kUdpHeaderLength = 8;
constexpr size_t kSctpHeaderLength = 12;
constexpr size_t kIcmpv6HeaderLength = 8;
constexpr uint32_t kIpv6FlowLabelMask = 0x000fffff;

template <typename T>
T masked(T old_value, T value, T mask) {
  return static_cast<T>(value | (old_value & ~mask));
}

std::string hex16(uint16_t value) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "0x%04x", value);
  return buffer;
}

uint32_t host32(Be32 value) {
  uint8_t bytes[4];
  store_raw(bytes, value);
  return load_be32(bytes);
}

Be32 network32(uint32_t value) {
  uint8_t bytes[4];
  store_be32(bytes, value);
  return load_raw<Be32>(bytes);
}

// Field setters: one per attribute, each with the packet, its key and the attribute's context for errors.
class FieldWriter {
 public:
  FieldWriter(const SetAction& set, KeyedPacket& skb)
      : set_(set),
        value_(set.value),
        mask_(set.mask),
        skb_(skb),
        name_("set(" + set_attribute_name(set.attr) + ")") {}

  Status run();

 private:
  Status fail(int code, const std::string& why) const { return Status(code, name_ + ": " + why); }
  uint8_t* data() { return skb_.packet.data(); }
  size_t size() const { return skb_.packet.size(); }

  // The header at `offset` of `length` bytes, or an error naming what is missing.
  Status require_header(uint16_t offset, size_t length, const char* header);
  Status require_eth_type(uint16_t eth_type, const char* what);
  Status require_ip_proto(uint8_t ip_proto, const char* what);

  Status set_ethernet();
  Status set_ipv4();
  Status set_ipv6();
  Status set_tcp();
  Status set_udp();
  Status set_sctp();
  Status set_mpls();
  Status set_tunnel();

  void set_ipv4_address(uint8_t* nh, size_t address_offset, Be32 new_address);
  void update_ipv6_l4_checksum(const Ipv6Addr& old_address, const Ipv6Addr& new_address);
  bool routing_header_has_segments_left() const;

  const SetAction& set_;
  const FlowKey& value_;
  const FlowKey& mask_;
  KeyedPacket& skb_;
  std::string name_;
};

Status FieldWriter::require_header(uint16_t offset, size_t length, const char* header) {
  if (offset == Packet::kNoOffset)
    return fail(EINVAL, std::string("packet has no ") + header +
                            " header offset (headers changed since key extraction)");
  if (size_t{offset} + length > size())
    return fail(ENOMEM, "packet of " + std::to_string(size()) + " bytes ends inside the " + header +
                            " header at offset " + std::to_string(offset));
  return Status::ok();
}

Status FieldWriter::require_eth_type(uint16_t eth_type, const char* what) {
  if (host16(skb_.key.eth_type) != eth_type)
    return fail(EINVAL, std::string("packet is not ") + what + " (eth_type " +
                            hex16(host16(skb_.key.eth_type)) + ")");
  return Status::ok();
}

Status FieldWriter::require_ip_proto(uint8_t ip_proto, const char* what) {
  if (skb_.key.ip_proto != ip_proto)
    return fail(EINVAL, std::string("packet is not ") + what + " (ip_proto " +
                            std::to_string(skb_.key.ip_proto) + ")");
  return Status::ok();
}

Status FieldWriter::run() {
  switch (set_.attr) {
    case OVS_KEY_ATTR_PRIORITY:
      skb_.packet.md.priority = masked(skb_.packet.md.priority, value_.priority, mask_.priority);
      skb_.key.priority = skb_.packet.md.priority;
      return Status::ok();
    case OVS_KEY_ATTR_SKB_MARK:
      skb_.packet.md.skb_mark = masked(skb_.packet.md.skb_mark, value_.skb_mark, mask_.skb_mark);
      skb_.key.skb_mark = skb_.packet.md.skb_mark;
      return Status::ok();
    case OVS_KEY_ATTR_TUNNEL:
      return set_tunnel();
    case OVS_KEY_ATTR_ETHERNET:
      return set_ethernet();
    case OVS_KEY_ATTR_IPV4:
      return set_ipv4();
    case OVS_KEY_ATTR_IPV6:
      return set_ipv6();
    case OVS_KEY_ATTR_TCP:
      return set_tcp();
    case OVS_KEY_ATTR_UDP:
      return set_udp();
    case OVS_KEY_ATTR_SCTP:
      return set_sctp();
    case OVS_KEY_ATTR_MPLS:
      return set_mpls();
    default:
      return fail(EINVAL, "the datapath cannot set this attribute");
  }
}

Status FieldWriter::set_tunnel() {
  // The kernel attaches the tunnel info as the skb's dst; the flow key's tunnel
  // fields describe where the packet came from and stay as they are.
  if (set_.masked) return fail(EINVAL, "a masked tunnel set is not supported by the datapath");
  skb_.packet.md.tunnel = value_.tunnel;
  skb_.packet.md.has_tunnel = true;
  return Status::ok();
}

Status FieldWriter::set_ethernet() {
  if (size() < kEthernetHeaderLength)
    return fail(ENOMEM, "frame of " + std::to_string(size()) + " bytes is shorter than an Ethernet header");
  uint8_t* eth = data();
  for (int i = 0; i < 6; ++i) {
    eth[i] = masked(eth[i], value_.eth_dst[i], mask_.eth_dst[i]);
    eth[6 + i] = masked(eth[6 + i], value_.eth_src[i], mask_.eth_src[i]);
  }
  std::memcpy(skb_.key.eth_dst.data(), eth, 6);
  std::memcpy(skb_.key.eth_src.data(), eth + 6, 6);
  return Status::ok();
}

void FieldWriter::set_ipv4_address(uint8_t* nh, size_t address_offset, Be32 new_address) {
  const Be32 old_address = load_raw<Be32>(nh + address_offset);
  const bool later_fragment = (load_be16(nh + 6) & 0x1fff) != 0;
  const uint16_t l4 = skb_.packet.l4_ofs;
  if (!later_fragment && l4 != Packet::kNoOffset && l4 <= size()) {
    const size_t transport_length = size() - l4;
    uint8_t* th = data() + l4;
    if (nh[9] == kIpProtoTcp && transport_length >= kTcpHeaderLength) {
      store_raw(th + 16, checksum_replace32(load_raw<Be16>(th + 16), old_address, new_address));
    } else if (nh[9] == kIpProtoUdp && transport_length >= kUdpHeaderLength) {
      const Be16 check = load_raw<Be16>(th + 6);
      if (check != 0) {  // zero: the sender computed no checksum, and none is added
        Be16 updated = checksum_replace32(check, old_address, new_address);
        if (updated == 0) updated = kUdpChecksumZeroReplacement;
        store_raw(th + 6, updated);
      }
    }
  }
  store_raw(nh + 10, checksum_replace32(load_raw<Be16>(nh + 10), old_address, new_address));
  store_raw(nh + address_offset, new_address);
}

Status FieldWriter::set_ipv4() {
  if (Status s = require_eth_type(0x0800, "IPv4"); !s) return s;
  if (Status s = require_header(skb_.packet.l3_ofs, kIpv4HeaderLength, "IPv4"); !s) return s;
  uint8_t* nh = data() + skb_.packet.l3_ofs;
  FlowKey& key = skb_.key;

  // Addresses are usually set only as a side effect of matching on them, so
  // unchanged ones are left alone, checksums included.
  if (mask_.ipv4_src) {
    const Be32 address = masked(load_raw<Be32>(nh + 12), value_.ipv4_src, mask_.ipv4_src);
    if (address != load_raw<Be32>(nh + 12)) {
      set_ipv4_address(nh, 12, address);
      key.ipv4_src = address;
    }
  }
  if (mask_.ipv4_dst) {
    const Be32 address = masked(load_raw<Be32>(nh + 16), value_.ipv4_dst, mask_.ipv4_dst);
    if (address != load_raw<Be32>(nh + 16)) {
      set_ipv4_address(nh, 16, address);
      key.ipv4_dst = address;
    }
  }
  if (mask_.ip_tos) {
    const Be16 old_word = load_raw<Be16>(nh);
    nh[1] = masked(nh[1], value_.ip_tos, mask_.ip_tos);
    store_raw(nh + 10, checksum_replace16(load_raw<Be16>(nh + 10), old_word, load_raw<Be16>(nh)));
    key.ip_tos = nh[1];
  }
  if (mask_.ip_ttl) {
    // As csum_replace2(htons(ttl << 8), ...): the TTL byte of the TTL/protocol word.
    const uint8_t old_ttl_word[2] = {nh[8], 0};
    nh[8] = masked(nh[8], value_.ip_ttl, mask_.ip_ttl);
    const uint8_t new_ttl_word[2] = {nh[8], 0};
    store_raw(nh + 10, checksum_replace16(load_raw<Be16>(nh + 10), load_raw<Be16>(old_ttl_word),
                                          load_raw<Be16>(new_ttl_word)));
    key.ip_ttl = nh[8];
  }
  return Status::ok();
}

// The kernel leaves L4 checksums alone when a routing header still has
// segments to visit: the pseudo-header then uses the final destination, which
// is in the routing header, not in the destination field being changed.
bool FieldWriter::routing_header_has_segments_left() const {
  const uint8_t* bytes = skb_.packet.data();
  size_t offset = size_t{skb_.packet.l3_ofs} + kIpv6HeaderLength;
  uint8_t next_header = bytes[skb_.packet.l3_ofs + 6];
  for (int hops = 0; hops < 16; ++hops) {
    switch (next_header) {
      case 0:     // hop-by-hop options
      case 60:    // destination options
      case 43: {  // routing
        if (offset + 4 > size()) return false;
        if (next_header == 43 && bytes[offset + 3] != 0) return true;
        next_header = bytes[offset];
        offset += (size_t{bytes[offset + 1]} + 1) * 8;
        break;
      }
      case 44: {  // fragment: a later fragment carries no more headers to look at
        if (offset + 8 > size()) return false;
        if (load_be16(bytes + offset + 2) & 0xfff8) return false;
        next_header = bytes[offset];
        offset += 8;
        break;
      }
      case 51: {  // authentication header
        if (offset + 2 > size()) return false;
        next_header = bytes[offset];
        offset += (size_t{bytes[offset + 1]} + 2) * 4;
        break;
      }
      default:
        return false;
    }
  }
  return false;
}

void FieldWriter::update_ipv6_l4_checksum(const Ipv6Addr& old_address, const Ipv6Addr& new_address) {
  const uint16_t l4 = skb_.packet.l4_ofs;
  if (l4 == Packet::kNoOffset || l4 > size() || skb_.key.ip_frag == kFragLater) return;
  const size_t transport_length = size() - l4;
  uint8_t* th = data() + l4;
  switch (skb_.key.ip_proto) {
    case kIpProtoTcp:
      if (transport_length >= kTcpHeaderLength)
        store_raw(th + 16, checksum_replace_ipv6(load_raw<Be16>(th + 16), old_address, new_address));
      break;
    case kIpProtoUdp:
      if (transport_length >= kUdpHeaderLength && load_raw<Be16>(th + 6) != 0) {
        Be16 updated = checksum_replace_ipv6(load_raw<Be16>(th + 6), old_address, new_address);
        store_raw<Be16>(th + 6, updated ? updated : kUdpChecksumZeroReplacement);
      }
      break;
    case kIpProtoIcmpv6:
      if (transport_length >= kIcmpv6HeaderLength)
        store_raw(th + 2, checksum_replace_ipv6(load_raw<Be16>(th + 2), old_address, new_address));
      break;
    default:
      break;
  }
}

Status FieldWriter::set_ipv6() {
  if (Status s = require_eth_type(0x86dd, "IPv6"); !s) return s;
  if (Status s = require_header(skb_.packet.l3_ofs, kIpv6HeaderLength, "IPv6"); !s) return s;
  uint8_t* nh = data() + skb_.packet.l3_ofs;
  FlowKey& key = skb_.key;
  static constexpr Ipv6Addr kZero{};

  for (bool source : {true, false}) {
    const Ipv6Addr& mask = source ? mask_.ipv6_src : mask_.ipv6_dst;
    const Ipv6Addr& value = source ? value_.ipv6_src : value_.ipv6_dst;
    if (mask == kZero) continue;
    uint8_t* field = nh + (source ? 8 : 24);
    Ipv6Addr old_address, new_address;
    std::memcpy(old_address.data(), field, 16);
    for (int i = 0; i < 16; ++i) new_address[i] = masked(old_address[i], value[i], mask[i]);
    if (new_address == old_address) continue;
    if (source || !routing_header_has_segments_left()) update_ipv6_l4_checksum(old_address, new_address);
    std::memcpy(field, new_address.data(), 16);
    (source ? key.ipv6_src : key.ipv6_dst) = new_address;
  }
  if (mask_.ip_tos) {
    const uint8_t old_class = static_cast<uint8_t>(load_be16(nh) >> 4);
    const uint8_t new_class = masked(old_class, value_.ip_tos, mask_.ip_tos);
    nh[0] = static_cast<uint8_t>((nh[0] & 0xf0) | new_class >> 4);
    nh[1] = static_cast<uint8_t>((nh[1] & 0x0f) | (new_class & 0x0f) << 4);
    key.ip_tos = new_class;
  }
  const uint32_t label_mask = host32(mask_.ipv6_label) & kIpv6FlowLabelMask;
  if (label_mask) {
    const uint32_t old_label = load_be32(nh) & kIpv6FlowLabelMask;
    const uint32_t new_label = masked(old_label, host32(value_.ipv6_label) & kIpv6FlowLabelMask, label_mask);
    store_be32(nh, (load_be32(nh) & ~kIpv6FlowLabelMask) | new_label);
    key.ipv6_label = network32(new_label);
  }
  if (mask_.ip_ttl) {
    nh[7] = masked(nh[7], value_.ip_ttl, mask_.ip_ttl);
    key.ip_ttl = nh[7];
  }
  return Status::ok();
}

Status FieldWriter::set_tcp() {
  if (Status s = require_ip_proto(kIpProtoTcp, "TCP"); !s) return s;
  if (Status s = require_header(skb_.packet.l4_ofs, kTcpHeaderLength, "TCP"); !s) return s;
  uint8_t* th = data() + skb_.packet.l4_ofs;
  const Be16 src = masked(load_raw<Be16>(th), value_.tp_src, mask_.tp_src);
  if (src != load_raw<Be16>(th)) {
    store_raw(th + 16, checksum_replace16(load_raw<Be16>(th + 16), load_raw<Be16>(th), src));
    store_raw(th, src);
    skb_.key.tp_src = src;
  }
  const Be16 dst = masked(load_raw<Be16>(th + 2), value_.tp_dst, mask_.tp_dst);
  if (dst != load_raw<Be16>(th + 2)) {
    store_raw(th + 16, checksum_replace16(load_raw<Be16>(th + 16), load_raw<Be16>(th + 2), dst));
    store_raw(th + 2, dst);
    skb_.key.tp_dst = dst;
  }
  return Status::ok();
}

Status FieldWriter::set_udp() {
  if (Status s = require_ip_proto(kIpProtoUdp, "UDP"); !s) return s;
  if (Status s = require_header(skb_.packet.l4_ofs, kUdpHeaderLength, "UDP"); !s) return s;
  uint8_t* uh = data() + skb_.packet.l4_ofs;
  const Be16 src = masked(load_raw<Be16>(uh), value_.tp_src, mask_.tp_src);
  const Be16 dst = masked(load_raw<Be16>(uh + 2), value_.tp_dst, mask_.tp_dst);
  Be16 check = load_raw<Be16>(uh + 6);
  if (check != 0) {
    if (src != load_raw<Be16>(uh)) {
      check = checksum_replace16(check, load_raw<Be16>(uh), src);
      store_raw(uh, src);
      skb_.key.tp_src = src;
    }
    if (dst != load_raw<Be16>(uh + 2)) {
      check = checksum_replace16(check, load_raw<Be16>(uh + 2), dst);
      store_raw(uh + 2, dst);
      skb_.key.tp_dst = dst;
    }
    store_raw<Be16>(uh + 6, check ? check : kUdpChecksumZeroReplacement);
  } else {
    store_raw(uh, src);
    store_raw(uh + 2, dst);
    skb_.key.tp_src = src;
    skb_.key.tp_dst = dst;
  }
  return Status::ok();
}

Status FieldWriter::set_sctp() {
  if (Status s = require_ip_proto(kIpProtoSctp, "SCTP"); !s) return s;
  if (Status s = require_header(skb_.packet.l4_ofs, kSctpHeaderLength, "SCTP"); !s) return s;
  std::span<uint8_t> sctp = skb_.packet.bytes().subspan(skb_.packet.l4_ofs);
  uint8_t* sh = sctp.data();
  const uint32_t old_checksum = load_le32(sh + 8);
  const uint32_t old_correct_checksum = sctp_checksum(sctp);
  store_raw(sh, masked(load_raw<Be16>(sh), value_.tp_src, mask_.tp_src));
  store_raw(sh + 2, masked(load_raw<Be16>(sh + 2), value_.tp_dst, mask_.tp_dst));
  // A checksum that was wrong before stays wrong by the same bits: the datapath
  // must not make a corrupted packet look intact.
  store_le32(sh + 8, old_checksum ^ old_correct_checksum ^ sctp_checksum(sctp));
  skb_.key.tp_src = load_raw<Be16>(sh);
  skb_.key.tp_dst = load_raw<Be16>(sh + 2);
  return Status::ok();
}

Status FieldWriter::set_mpls() {
  const L2Layout l2 = l2_layout(skb_.packet);
  if (!is_mpls_ethertype(be16(l2.ethertype)))
    return fail(EINVAL, "packet is not MPLS (ethertype " + hex16(l2.ethertype) + ")");
  if (l2.mac_length + kMplsHeaderLength > size())
    return fail(ENOMEM, "packet of " + std::to_string(size()) +
                            " bytes ends inside the MPLS label stack entry at offset " +
                            std::to_string(l2.mac_length));
  uint8_t* lse = data() + l2.mac_length;
  const Be32 entry = masked(load_raw<Be32>(lse), value_.mpls_lse[0], mask_.mpls_lse[0]);
  store_raw(lse, entry);
  skb_.key.mpls_lse[0] = entry;
  return Status::ok();
}

}  // namespace

Status execute_set(const SetAction& set, KeyedPacket& skb) { return FieldWriter(set, skb).run(); }

}  // namespace flowlift
