// test_attribute_bytes: hand-built netlink attribute streams for the codec
// tests. Deliberately independent of AttributeWriter/libmnl: each attribute
// is written as the uapi defines it (u16 nla_len, u16 nla_type, payload,
// zero padding to 4 bytes), so the tests compare the codec against the wire
// format rather than against itself.
#pragma once

#include <arpa/inet.h>
#include <linux/openvswitch.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <vector>

namespace flowlift::testing {

class AttrBytes {
 public:
  AttrBytes& put(uint16_t type, const void* data, size_t length) {
    uint16_t nla_len = static_cast<uint16_t>(4 + length);
    append(&nla_len, 2);
    append(&type, 2);
    if (length) append(data, length);
    while (bytes.size() % 4) bytes.push_back(0);
    return *this;
  }
  template <typename T>
  AttrBytes& put(uint16_t type, const T& value) {
    return put(type, &value, sizeof value);
  }
  AttrBytes& u8(uint16_t type, uint8_t v) { return put(type, v); }
  AttrBytes& u16(uint16_t type, uint16_t v) { return put(type, v); }
  AttrBytes& u32(uint16_t type, uint32_t v) { return put(type, v); }
  AttrBytes& u64(uint16_t type, uint64_t v) { return put(type, v); }
  AttrBytes& flag(uint16_t type) { return put(type, nullptr, 0); }
  AttrBytes& raw(std::initializer_list<uint8_t> b) {
    bytes.insert(bytes.end(), b);
    return *this;
  }
  AttrBytes& nest(uint16_t type, const AttrBytes& inner) {
    return put(type, inner.bytes.data(), inner.bytes.size());
  }
  AttrBytes& append_stream(const AttrBytes& other) {
    bytes.insert(bytes.end(), other.bytes.begin(), other.bytes.end());
    return *this;
  }

  std::span<const uint8_t> span() const { return bytes; }
  std::vector<uint8_t> bytes;

 private:
  void append(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes.insert(bytes.end(), b, b + n);
  }
};

// Zero-fills a uapi struct in place, padding included, before its fields are
// set. (Returning a zeroed struct by value would not do: a copy need not
// preserve padding bytes.)
template <typename T>
void zero(T& value) {
  std::memset(&value, 0, sizeof value);
}

// A zero-filled struct without padding (ovs_key_tcp, ovs_key_nd, ...).
template <typename T>
T zeroed_struct() {
  T value;
  zero(value);
  return value;
}

inline std::array<uint8_t, 6> mac(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e, uint8_t f) {
  return {a, b, c, d, e, f};
}

inline uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return htonl(uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d);
}

inline std::array<uint8_t, 16> ip6(std::initializer_list<uint16_t> groups) {
  std::array<uint8_t, 16> out{};
  size_t i = 0;
  for (uint16_t g : groups) {
    out[i++] = static_cast<uint8_t>(g >> 8);
    out[i++] = static_cast<uint8_t>(g);
  }
  return out;
}

// An ovs_key_ipv4 filled field by field (frag: OVS_FRAG_TYPE_*).
inline ovs_key_ipv4 ipv4_struct(uint32_t src, uint32_t dst, uint8_t proto, uint8_t tos, uint8_t ttl,
                                uint8_t frag = OVS_FRAG_TYPE_NONE) {
  ovs_key_ipv4 ipv4;
  zero(ipv4);
  ipv4.ipv4_src = src;
  ipv4.ipv4_dst = dst;
  ipv4.ipv4_proto = proto;
  ipv4.ipv4_tos = tos;
  ipv4.ipv4_ttl = ttl;
  ipv4.ipv4_frag = frag;
  return ipv4;
}

}  // namespace flowlift::testing
