// Receiver-side checksum verification (see checksum_verify.h).
#include "kmod/checksum_verify.h"

#include <arpa/inet.h>
#include <endian.h>

#include <cstring>

#include "kmod/checksum.h"
#include "kmod/flow_extract.h"

namespace flowlift {
namespace {

uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

Status check_l4(const FlowKey& key, std::span<const uint8_t> segment, uint32_t pseudo_sum) {
  const char* name = key.ip_proto == 6 ? "TCP" : key.ip_proto == 17 ? "UDP" : "ICMPv6";
  size_t at = key.ip_proto == 6 ? 16 : key.ip_proto == 17 ? 6 : 2;
  if (segment.size() < at + 2) return invalid_argument(std::string(name) + " header truncated");
  if (key.ip_proto == 17 && load16(segment.data() + 6) == 0 && key.eth_type == htons(0x0800))
    return Status::ok();  // no UDP checksum over IPv4
  if (checksum_finish(checksum_accumulate(segment, pseudo_sum)) != 0)
    return invalid_argument(std::string(name) + " checksum 0x" + [&] {
      char buf[8];
      snprintf(buf, sizeof buf, "%04x", load16(segment.data() + at));
      return std::string(buf);
    }() + " is wrong");
  return Status::ok();
}

}  // namespace

Status verify_frame_checksums(const Packet& original) {
  Packet frame = original;
  FlowKey key = flow_key_extract(frame);
  if (frame.l3_ofs == Packet::kNoOffset) return Status::ok();
  const uint8_t* l3 = frame.data() + frame.l3_ofs;
  size_t l3_room = frame.size() - frame.l3_ofs;

  if (key.eth_type == htons(0x0800)) {
    if (l3_room < 20) return invalid_argument("IPv4 header truncated");
    size_t header_length = size_t{l3[0] & 0x0fu} * 4;
    size_t total_length = load16(l3 + 2);
    if (header_length < 20 || header_length > l3_room) return invalid_argument("IPv4 header length is wrong");
    if (checksum_finish(checksum_accumulate({l3, header_length})) != 0)
      return invalid_argument("IPv4 header checksum is wrong");
    if (total_length < header_length || total_length > l3_room) return invalid_argument("IPv4 total length is wrong");
    if (key.ip_frag != kFragNone || frame.l4_ofs == Packet::kNoOffset) return Status::ok();
    std::span<const uint8_t> segment(l3 + header_length, total_length - header_length);
    switch (key.ip_proto) {
      case 1:
        if (checksum_finish(checksum_accumulate(segment)) != 0) return invalid_argument("ICMP checksum is wrong");
        return Status::ok();
      case 6:
      case 17:
        return check_l4(key, segment,
                        ipv4_pseudo_header_sum(key.ipv4_src, key.ipv4_dst, key.ip_proto,
                                               static_cast<uint16_t>(segment.size())));
      case 132: {
        if (segment.size() < 12) return invalid_argument("SCTP header truncated");
        uint32_t stored;
        std::memcpy(&stored, segment.data() + 8, 4);
        if (le32toh(stored) != sctp_checksum(segment)) return invalid_argument("SCTP checksum is wrong");
        return Status::ok();
      }
      default:
        return Status::ok();
    }
  }
  if (key.eth_type == htons(0x86dd)) {
    if (l3_room < 40) return invalid_argument("IPv6 header truncated");
    size_t payload_length = load16(l3 + 4);
    if (40 + payload_length > l3_room) return invalid_argument("IPv6 payload length is wrong");
    if (key.ip_frag != kFragNone || frame.l4_ofs == Packet::kNoOffset) return Status::ok();
    if (key.ip_proto != 6 && key.ip_proto != 17 && key.ip_proto != 58) return Status::ok();
    size_t l4_from_l3 = frame.l4_ofs - frame.l3_ofs;
    if (l4_from_l3 > 40 + payload_length) return invalid_argument("IPv6 extension headers overrun the payload");
    std::span<const uint8_t> segment(frame.data() + frame.l4_ofs, 40 + payload_length - l4_from_l3);
    return check_l4(key, segment,
                    ipv6_pseudo_header_sum(key.ipv6_src, key.ipv6_dst, key.ip_proto,
                                           static_cast<uint32_t>(segment.size())));
  }
  return Status::ok();
}

}  // namespace flowlift
