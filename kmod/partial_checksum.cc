// Finishing CHECKSUM_PARTIAL TCP/UDP checksums in software (see partial_checksum.h).
#include "kmod/partial_checksum.h"

#include <cstring>

#include "kmod/checksum.h"

namespace flowlift {

namespace {

constexpr uint8_t kProtocolTcp = 6;
constexpr uint8_t kProtocolUdp = 17;

uint16_t load_be16_from(const uint8_t* at) { return static_cast<uint16_t>(at[0] << 8 | at[1]); }

void store_be16_to(uint8_t* at, uint16_t value) {
  at[0] = static_cast<uint8_t>(value >> 8);
  at[1] = static_cast<uint8_t>(value);
}

// Writes the checksum of the L4 segment [l4, l4 + length) with pseudo-header sum `pseudo`.
bool write_l4_checksum(uint8_t* l4, size_t length, uint8_t protocol, uint32_t pseudo) {
  size_t field = protocol == kProtocolTcp ? 16 : 6;
  size_t header = protocol == kProtocolTcp ? 20 : 8;
  if (length < header) return false;
  store_be16_to(l4 + field, 0);
  uint16_t checksum = checksum_finish(checksum_accumulate({l4, length}, pseudo));
  if (protocol == kProtocolUdp && checksum == 0) checksum = kUdpChecksumZeroReplacement;
  store_be16_to(l4 + field, checksum);
  return true;
}

}  // namespace

bool complete_partial_checksum(Packet& packet) {
  uint8_t* frame = packet.data();
  size_t size = packet.size();
  size_t offset = 12;
  if (size < offset + 2) return false;
  uint16_t type = load_be16_from(frame + offset);
  while ((type == 0x8100 || type == 0x88a8) && size >= offset + 6) {
    offset += 4;
    type = load_be16_from(frame + offset);
  }
  offset += 2;  // the L3 header
  if (type == 0x0800) {
    if (size < offset + 20) return false;
    const uint8_t* ip = frame + offset;
    size_t header_length = size_t{ip[0] & 0x0fu} * 4;
    size_t total_length = load_be16_from(ip + 2);
    bool fragment = (load_be16_from(ip + 6) & 0x3fff) != 0;  // MF or an offset
    uint8_t protocol = ip[9];
    if (fragment || (protocol != kProtocolTcp && protocol != kProtocolUdp)) return false;
    if (header_length < 20 || total_length < header_length || offset + total_length > size) return false;
    Be32 source, destination;
    std::memcpy(&source, ip + 12, 4);
    std::memcpy(&destination, ip + 16, 4);
    size_t l4_length = total_length - header_length;
    uint32_t pseudo = ipv4_pseudo_header_sum(source, destination, protocol, static_cast<uint16_t>(l4_length));
    return write_l4_checksum(frame + offset + header_length, l4_length, protocol, pseudo);
  }
  if (type == 0x86dd) {
    if (size < offset + 40) return false;
    const uint8_t* ip = frame + offset;
    size_t payload_length = load_be16_from(ip + 4);
    uint8_t next_header = ip[6];
    if (next_header != kProtocolTcp && next_header != kProtocolUdp) return false;
    if (offset + 40 + payload_length > size) return false;
    Ipv6Addr source, destination;
    std::memcpy(source.data(), ip + 8, 16);
    std::memcpy(destination.data(), ip + 24, 16);
    uint32_t pseudo =
        ipv6_pseudo_header_sum(source, destination, next_header, static_cast<uint32_t>(payload_length));
    return write_l4_checksum(frame + offset + 40, payload_length, next_header, pseudo);
  }
  return false;
}

}  // namespace flowlift
