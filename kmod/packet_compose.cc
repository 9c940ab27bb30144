// Frame composition from a FlowKey (see packet_compose.h for why).
#include "kmod/packet_compose.h"

#include <arpa/inet.h>
#include <endian.h>

#include <cstring>
#include <vector>

#include "kmod/checksum.h"

namespace flowlift {
namespace {

constexpr uint16_t kEthIp = 0x0800, kEthArp = 0x0806, kEthRarp = 0x8035, kEthIpv6 = 0x86dd;
constexpr uint16_t kEthMpls = 0x8847, kEthMplsMulticast = 0x8848, kEth8022 = 0x05ff;
constexpr uint8_t kIpTcp = 6, kIpUdp = 17, kIpSctp = 132, kIpIcmp = 1, kIpIcmpv6 = 58;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kNdSolicit = 135, kNdAdvert = 136;

// Appends big-endian fields to a byte vector; "raw" values are already in
// network order (the FlowKey's Be* fields) and are copied as they are.
class FrameWriter {
 public:
  size_t size() const { return bytes_.size(); }
  std::vector<uint8_t>& bytes() { return bytes_; }

  void u8(uint8_t v) { bytes_.push_back(v); }
  void u16(uint16_t host) { raw16(htons(host)); }
  void u32(uint32_t host) { raw32(htonl(host)); }
  void raw16(Be16 v) { raw(&v, 2); }
  void raw32(Be32 v) { raw(&v, 4); }
  void raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
  }
  void zeros(size_t n) { bytes_.insert(bytes_.end(), n, 0); }
  void put16_at(size_t offset, uint16_t host) {
    Be16 v = htons(host);
    std::memcpy(&bytes_[offset], &v, 2);
  }
  void put32_at(size_t offset, uint32_t host) {
    Be32 v = htonl(host);
    std::memcpy(&bytes_[offset], &v, 4);
  }

 private:
  std::vector<uint8_t> bytes_;
};

bool is_zero(const EthAddr& a) {
  for (uint8_t b : a)
    if (b) return false;
  return true;
}

void write_l4(FrameWriter& w, const FlowKey& key, size_t payload_len) {
  switch (key.ip_proto) {
    case kIpTcp: {
      w.raw16(key.tp_src);
      w.raw16(key.tp_dst);
      w.u32(1);  // seq
      w.u32(0);  // ack
      // data offset 5 words, then the 12 flag bits the key carries
      w.u16(static_cast<uint16_t>(5u << 12 | (ntohs(key.tcp_flags) & 0x0fff)));
      w.u16(65535);  // window
      w.u16(0);      // checksum, filled in later
      w.u16(0);      // urgent pointer
      break;
    }
    case kIpUdp:
      w.raw16(key.tp_src);
      w.raw16(key.tp_dst);
      w.u16(static_cast<uint16_t>(8 + payload_len));
      w.u16(0);
      break;
    case kIpSctp:
      w.raw16(key.tp_src);
      w.raw16(key.tp_dst);
      w.u32(0x12345678);  // verification tag
      w.u32(0);           // CRC32c, filled in later
      break;
    case kIpIcmp:
      w.u8(static_cast<uint8_t>(ntohs(key.tp_src)));
      w.u8(static_cast<uint8_t>(ntohs(key.tp_dst)));
      w.u16(0);
      w.u32(0);  // identifier + sequence, or unused
      break;
    case kIpIcmpv6: {
      uint8_t type = static_cast<uint8_t>(ntohs(key.tp_src));
      uint8_t code = static_cast<uint8_t>(ntohs(key.tp_dst));
      w.u8(type);
      w.u8(code);
      w.u16(0);
      if ((type == kNdSolicit || type == kNdAdvert) && code == 0) {
        w.u32(type == kNdAdvert ? 0x60000000u : 0);  // NA: solicited + override
        w.raw(key.nd_target.data(), 16);
        if (!is_zero(key.nd_sll)) {
          w.u8(1);  // source link-layer address option, 1 unit of 8 bytes
          w.u8(1);
          w.raw(key.nd_sll.data(), 6);
        }
        if (!is_zero(key.nd_tll)) {
          w.u8(2);
          w.u8(1);
          w.raw(key.nd_tll.data(), 6);
        }
      } else {
        w.u32(0);
      }
      break;
    }
    default:
      break;
  }
}

// Fills the L4 checksum of the header at l4 (TCP/UDP/ICMP/ICMPv6/SCTP).
void finish_l4(FrameWriter& w, const FlowKey& key, size_t l4, bool ipv6) {
  std::span<const uint8_t> segment(w.bytes().data() + l4, w.size() - l4);
  switch (key.ip_proto) {
    case kIpTcp:
    case kIpUdp:
    case kIpIcmpv6: {
      if (key.ip_proto == kIpIcmpv6 && !ipv6) return;
      uint32_t sum =
          ipv6 ? ipv6_pseudo_header_sum(key.ipv6_src, key.ipv6_dst, key.ip_proto, static_cast<uint32_t>(segment.size()))
               : ipv4_pseudo_header_sum(key.ipv4_src, key.ipv4_dst, key.ip_proto, static_cast<uint16_t>(segment.size()));
      uint16_t csum = checksum_finish(checksum_accumulate(segment, sum));
      if (key.ip_proto == kIpUdp && csum == 0) csum = kUdpChecksumZeroReplacement;
      size_t at = l4 + (key.ip_proto == kIpTcp ? 16 : key.ip_proto == kIpUdp ? 6 : 2);
      w.put16_at(at, csum);
      break;
    }
    case kIpIcmp: {
      w.put16_at(l4 + 2, checksum_finish(checksum_accumulate(segment)));
      break;
    }
    case kIpSctp: {
      uint32_t crc = htole32(sctp_checksum(segment));  // SCTP stores it least significant byte first
      std::memcpy(&w.bytes()[l4 + 8], &crc, 4);
      break;
    }
    default:
      break;
  }
}

bool carries_l4(const FlowKey& key) {
  if (key.ip_frag == kFragLater) return false;
  switch (key.ip_proto) {
    case kIpTcp:
    case kIpUdp:
    case kIpSctp:
    case kIpIcmp:
    case kIpIcmpv6:
      return true;
    default:
      return false;
  }
}

void write_ipv4(FrameWriter& w, const FlowKey& key, size_t payload_len) {
  size_t l3 = w.size();
  w.u8(0x45);
  w.u8(key.ip_tos);
  w.u16(0);  // total length, filled in below
  w.u16(0x1234);
  uint16_t frag = 0;
  if (key.ip_frag == kFragFirst) frag = 0x2000;               // MF, offset 0
  if (key.ip_frag == kFragLater) frag = 0x2000 | (1480 / 8);  // MF, second fragment
  w.u16(frag);
  w.u8(key.ip_ttl);
  w.u8(key.ip_proto);
  w.u16(0);
  w.raw32(key.ipv4_src);
  w.raw32(key.ipv4_dst);
  size_t l4 = w.size();
  if (carries_l4(key)) write_l4(w, key, payload_len);
  w.zeros(payload_len);
  w.put16_at(l3 + 2, static_cast<uint16_t>(w.size() - l3));
  w.put16_at(l3 + 10, checksum_finish(checksum_accumulate(std::span<const uint8_t>(w.bytes().data() + l3, 20))));
  if (carries_l4(key)) finish_l4(w, key, l4, false);
}

void write_ipv6(FrameWriter& w, const FlowKey& key, size_t payload_len) {
  size_t l3 = w.size();
  w.u32(6u << 28 | uint32_t{key.ip_tos} << 20 | (ntohl(key.ipv6_label) & 0xfffff));
  w.u16(0);  // payload length, filled in below
  bool fragment = key.ip_frag != kFragNone;
  w.u8(fragment ? kIpv6Fragment : key.ip_proto);
  w.u8(key.ip_ttl);
  w.raw(key.ipv6_src.data(), 16);
  w.raw(key.ipv6_dst.data(), 16);
  if (fragment) {
    w.u8(key.ip_proto);
    w.u8(0);
    // offset in 8-byte units in the top 13 bits, M flag in bit 0
    w.u16(key.ip_frag == kFragLater ? static_cast<uint16_t>((1448 / 8) << 3 | 1) : 1);
    w.u32(0xabcd);  // identification
  }
  size_t l4 = w.size();
  if (carries_l4(key)) write_l4(w, key, payload_len);
  w.zeros(payload_len);
  w.put16_at(l3 + 4, static_cast<uint16_t>(w.size() - l3 - 40));
  if (carries_l4(key)) finish_l4(w, key, l4, true);
}

void write_arp(FrameWriter& w, const FlowKey& key) {
  w.u16(1);  // Ethernet
  w.u16(kEthIp);
  w.u8(6);
  w.u8(4);
  w.raw16(key.arp_op);
  w.raw(key.arp_sha.data(), 6);
  w.raw32(key.arp_sip);
  w.raw(key.arp_tha.data(), 6);
  w.raw32(key.arp_tip);
}

}  // namespace

Packet compose_packet(const FlowKey& key, size_t payload_len) {
  FrameWriter w;
  w.raw(key.eth_dst.data(), 6);
  w.raw(key.eth_src.data(), 6);
  for (const VlanHead* tag : {&key.vlan, &key.cvlan}) {
    if (tag->tpid == 0) break;
    w.raw16(tag->tpid);
    w.u16(ntohs(tag->tci) & ~kVlanCfi);
  }
  uint16_t eth_type = ntohs(key.eth_type);
  if (eth_type == kEth8022) {
    // 802.3 length field and an LLC header that is not SNAP.
    w.u16(static_cast<uint16_t>(3 + payload_len));
    w.u8(0x42);
    w.u8(0x42);
    w.u8(0x03);
    w.zeros(payload_len);
  } else {
    w.u16(eth_type);
    switch (eth_type) {
      case kEthIp:
        write_ipv4(w, key, payload_len);
        break;
      case kEthIpv6:
        write_ipv6(w, key, payload_len);
        break;
      case kEthArp:
      case kEthRarp:
        write_arp(w, key);
        break;
      case kEthMpls:
      case kEthMplsMulticast:
        for (int i = 0; i < key.mpls_depth && i < kMaxMplsLabels; ++i) w.raw32(key.mpls_lse[i]);
        w.zeros(payload_len);
        break;
      default:
        w.zeros(payload_len);
        break;
    }
  }
  // Ethernet minimum frame size (without FCS), as a NIC would pad.
  if (w.size() < 60) w.zeros(60 - w.size());

  Packet packet(w.bytes());
  packet.md.in_port = key.in_port;
  packet.md.recirc_id = key.recirc_id;
  packet.md.dp_hash = key.dp_hash;
  packet.md.priority = key.priority;
  packet.md.skb_mark = key.skb_mark;
  packet.md.tunnel = key.tunnel;
  packet.md.has_tunnel = key.tunnel.ipv4_dst != 0 || key.tunnel.is_ipv6();
  return packet;
}

}  // namespace flowlift
