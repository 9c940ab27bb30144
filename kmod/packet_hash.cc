// Flow hash of a packet and the Jenkins hash behind it (see packet_hash.h).
#include "kmod/packet_hash.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "kmod/packet_bytes.h"

namespace flowlift {
namespace {

constexpr uint32_t kJhashInitval = 0xdeadbeef;
// Stands in for the kernel's per-boot hashrnd.
constexpr uint32_t kFlowHashSeed = 0x6f766e73;

void jhash_mix(uint32_t& a, uint32_t& b, uint32_t& c) {
  a -= c;
  a ^= std::rotl(c, 4);
  c += b;
  b -= a;
  b ^= std::rotl(a, 6);
  a += c;
  c -= b;
  c ^= std::rotl(b, 8);
  b += a;
  a -= c;
  a ^= std::rotl(c, 16);
  c += b;
  b -= a;
  b ^= std::rotl(a, 19);
  a += c;
  c -= b;
  c ^= std::rotl(b, 4);
  b += a;
}

void jhash_final(uint32_t& a, uint32_t& b, uint32_t& c) {
  c ^= b;
  c -= std::rotl(b, 14);
  a ^= c;
  a -= std::rotl(c, 11);
  b ^= a;
  b -= std::rotl(a, 25);
  c ^= b;
  c -= std::rotl(b, 16);
  a ^= c;
  a -= std::rotl(c, 4);
  b ^= a;
  b -= std::rotl(a, 14);
  c ^= b;
  c -= std::rotl(b, 24);
}

constexpr uint16_t kEthTypeIpv4 = 0x0800;
constexpr uint16_t kEthTypeIpv6 = 0x86dd;

bool is_vlan_tpid(uint16_t type) { return type == 0x8100 || type == 0x88a8; }

bool has_ports(uint8_t ip_proto) {
  switch (ip_proto) {
    case 6:    // TCP
    case 17:   // UDP
    case 33:   // DCCP
    case 132:  // SCTP
    case 136:  // UDP-Lite
      return true;
    default:
      return false;
  }
}

// What the flow dissector extracts for hashing (struct flow_keys, reduced).
struct DissectedFlow {
  uint16_t n_proto = 0;
  uint8_t ip_proto = 0;
  uint32_t vlan = 0;  // outer tag: tpid << 16 | tci
  uint32_t flow_label = 0;
  uint8_t ports[4] = {};  // source, destination as on the wire
  size_t address_length = 0;
  uint8_t src[16] = {};
  uint8_t dst[16] = {};
};

// Walks IPv6 extension headers from `offset` as the dissector does. Returns
// where the upper-layer header starts, or 0 when there are no ports to read.
size_t skip_ipv6_extensions(std::span<const uint8_t> frame, size_t offset, uint8_t& next_header) {
  for (int hops = 0; hops < 8; ++hops) {
    switch (next_header) {
      case 0:     // hop-by-hop
      case 43:    // routing
      case 60: {  // destination options
        if (offset + 2 > frame.size()) return 0;
        next_header = frame[offset];
        offset += (size_t{frame[offset + 1]} + 1) * 8;
        break;
      }
      case 44: {  // fragment: no ports, first fragment or not
        if (offset + 8 > frame.size()) return 0;
        next_header = frame[offset];
        return 0;
      }
      default:
        return offset;
    }
  }
  return 0;
}

DissectedFlow dissect(std::span<const uint8_t> frame, bool stop_at_flow_label) {
  DissectedFlow flow;
  if (frame.size() < 14) return flow;
  size_t offset = 12;
  uint16_t type = load_be16(&frame[offset]);
  bool outer_tag = true;
  while (is_vlan_tpid(type) && offset + 6 <= frame.size()) {
    if (outer_tag) flow.vlan = uint32_t{type} << 16 | load_be16(&frame[offset + 2]);
    outer_tag = false;
    offset += 4;
    type = load_be16(&frame[offset]);
  }
  offset += 2;
  flow.n_proto = type;

  size_t l4 = 0;
  if (type == kEthTypeIpv4) {
    if (offset + 20 > frame.size()) return flow;
    size_t header_length = size_t{frame[offset] & 0x0fu} * 4;
    if (header_length < 20 || offset + header_length > frame.size()) return flow;
    flow.ip_proto = frame[offset + 9];
    flow.address_length = 4;
    std::memcpy(flow.src, &frame[offset + 12], 4);
    std::memcpy(flow.dst, &frame[offset + 16], 4);
    bool fragment = (load_be16(&frame[offset + 6]) & 0x3fff) != 0;
    if (!fragment) l4 = offset + header_length;
  } else if (type == kEthTypeIpv6) {
    if (offset + 40 > frame.size()) return flow;
    uint8_t next_header = frame[offset + 6];
    flow.address_length = 16;
    std::memcpy(flow.src, &frame[offset + 8], 16);
    std::memcpy(flow.dst, &frame[offset + 24], 16);
    uint32_t label = load_be32(&frame[offset]) & 0xfffff;
    flow.ip_proto = next_header;
    if (label != 0 && stop_at_flow_label) {
      flow.flow_label = label;
      return flow;
    }
    l4 = skip_ipv6_extensions(frame, offset + 40, next_header);
    flow.ip_proto = next_header;
  }
  if (l4 != 0 && has_ports(flow.ip_proto) && l4 + 4 <= frame.size()) std::memcpy(flow.ports, &frame[l4], 4);
  return flow;
}

uint32_t hash_dissected(const DissectedFlow& flow, bool include_tags) {
  uint8_t buffer[2 + 1 + 1 + 4 + 4 + 4 + 32] = {};
  size_t n = 0;
  store_be16(buffer + n, flow.n_proto);
  n += 2;
  buffer[n++] = flow.ip_proto;
  buffer[n++] = 0;
  if (include_tags) {
    store_be32(buffer + n, flow.vlan);
    n += 4;
    store_be32(buffer + n, flow.flow_label);
    n += 4;
  }
  std::memcpy(buffer + n, flow.ports, 4);
  n += 4;
  std::memcpy(buffer + n, flow.src, flow.address_length);
  n += flow.address_length;
  std::memcpy(buffer + n, flow.dst, flow.address_length);
  n += flow.address_length;
  uint32_t hash = jhash_bytes({buffer, n}, kFlowHashSeed);
  return hash ? hash : 1;
}

}  // namespace

uint32_t jhash_bytes(std::span<const uint8_t> key, uint32_t initval) {
  size_t length = key.size();
  uint32_t a, b, c;
  a = b = c = kJhashInitval + static_cast<uint32_t>(length) + initval;
  const uint8_t* k = key.data();
  while (length > 12) {
    a += load_le32(k);
    b += load_le32(k + 4);
    c += load_le32(k + 8);
    jhash_mix(a, b, c);
    length -= 12;
    k += 12;
  }
  if (length == 0) return c;
  uint8_t tail[12] = {};
  std::memcpy(tail, k, length);
  a += load_le32(tail);
  b += load_le32(tail + 4);
  c += load_le32(tail + 8);
  jhash_final(a, b, c);
  return c;
}

uint32_t jhash_1word(uint32_t word, uint32_t initval) {
  uint32_t start = initval + kJhashInitval + (1u << 2);
  uint32_t a = word + start, b = start, c = start;
  jhash_final(a, b, c);
  return c;
}

uint32_t packet_flow_hash(std::span<const uint8_t> frame) {
  return hash_dissected(dissect(frame, /*stop_at_flow_label=*/true), /*include_tags=*/true);
}

uint32_t packet_symmetric_flow_hash(std::span<const uint8_t> frame) {
  DissectedFlow flow = dissect(frame, /*stop_at_flow_label=*/false);
  if (std::memcmp(flow.dst, flow.src, flow.address_length) < 0) std::swap(flow.src, flow.dst);
  if (load_be16(flow.ports + 2) < load_be16(flow.ports)) {
    std::swap(flow.ports[0], flow.ports[2]);
    std::swap(flow.ports[1], flow.ports[3]);
  }
  return hash_dissected(flow, /*include_tags=*/false);
}

uint32_t mask_cache_packet_hash(std::span<const uint8_t> frame, uint32_t recirc_id) {
  uint32_t hash = packet_flow_hash(frame);
  if (recirc_id) hash = jhash_1word(hash, recirc_id);
  return hash ? hash : 1;
}

}  // namespace flowlift
