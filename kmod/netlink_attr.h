// netlink_attr: the attribute mechanics shared by the OVS netlink codecs --
// a growable writer on top of libmnl, a strict reader that walks an attribute
// stream the way the kernel's nla_for_each_nested does, and the names of the
// <linux/openvswitch.h> attribute types used in error messages.
//
// Why a writer of our own around libmnl: mnl_attr_put appends behind a
// struct nlmsghdr in a caller-sized buffer and never checks the room left.
// The writer keeps that header at the front of a std::vector, grows it before
// every append, and remembers nests by offset so that growth never leaves a
// dangling nlattr pointer.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/openvswitch.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "flowlift/masked_words.h"
#include "flowlift/status.h"

namespace flowlift {

// Attribute types newer than the <linux/openvswitch.h> installed here
// (Linux 6.1 uapi); the values are fixed by the kernel's enum order.
inline constexpr uint16_t kActionAttrDrop = OVS_ACTION_ATTR_DEC_TTL + 1;     // Linux 6.4
inline constexpr uint16_t kActionAttrPsample = OVS_ACTION_ATTR_DEC_TTL + 2;  // Linux 6.11
inline constexpr uint16_t kActionAttrMax = kActionAttrPsample;
inline constexpr uint32_t kHashAlgSymL4 = OVS_HASH_ALG_L4 + 1;  // OVS_HASH_ALG_SYM_L4, Linux 6.2

// The largest nla_len a single attribute can carry (a u16).
inline constexpr size_t kMaxAttributeLength = 0xffff;

class AttributeWriter {
 public:
  AttributeWriter();

  void put(uint16_t type, const void* data, size_t length);
  void put_flag(uint16_t type) { put(type, &type, 0); }
  void put_u8(uint16_t type, uint8_t value) { put(type, &value, sizeof value); }
  void put_u16(uint16_t type, uint16_t value) { put(type, &value, sizeof value); }
  void put_u32(uint16_t type, uint32_t value) { put(type, &value, sizeof value); }
  void put_u64(uint16_t type, uint64_t value) { put(type, &value, sizeof value); }
  // A uapi struct (ovs_key_ipv4, ...) written as its raw bytes.
  template <typename T>
  void put_struct(uint16_t type, const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    put(type, &value, sizeof value);
  }

  // Opens a nested attribute; pass the returned token to end_nested.
  size_t begin_nested(uint16_t type);
  void end_nested(size_t token);

  // The attribute stream written so far (without the netlink message header).
  std::span<const uint8_t> bytes() const;
  std::vector<uint8_t> to_vector() const;
  // Set when an attribute or nest grew past the 64 KiB a nla_len can express;
  // the stream is then unusable.
  bool overflowed() const { return overflowed_; }

 private:
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buffer_.data()); }
  const nlmsghdr* header() const { return reinterpret_cast<const nlmsghdr*>(buffer_.data()); }
  void make_room(size_t payload_length);

  std::vector<uint8_t> buffer_;
  bool overflowed_ = false;
};

// Payload lengths in the kernel's tables (ovs_key_lens, ovs_tunnel_key_lens)
// that stand for "any length".
inline constexpr int kNestedLength = -1;
inline constexpr int kVariableLength = -2;

// A T filled from the start of `payload`; bytes the payload lacks stay zero.
template <typename T>
T read_payload(std::span<const uint8_t> payload) {
  static_assert(std::is_trivially_copyable_v<T>);
  T value;
  std::memset(&value, 0, sizeof value);
  std::memcpy(&value, payload.data(), sizeof value < payload.size() ? sizeof value : payload.size());
  return value;
}

inline bool is_all_zero(std::span<const uint8_t> bytes) {
  for (uint8_t b : bytes)
    if (b) return false;
  return true;
}

// One attribute of a stream being read. `raw` points into the caller's
// buffer, which must be 4-byte aligned (see AlignedBytes).
struct Attribute {
  const nlattr* raw = nullptr;
  uint16_t type = 0;
  size_t offset = 0;  // of the attribute header within its stream
  std::span<const uint8_t> payload;

  size_t length() const { return payload.size(); }
  // Reads a fixed-size payload; the caller has checked the length.
  template <typename T>
  T as() const {
    return read_payload<T>(payload);
  }
};

// A private, 4-byte aligned copy of bytes received from outside, so that the
// nlattr headers inside can be read through libmnl without misaligned loads.
class AlignedBytes {
 public:
  explicit AlignedBytes(std::span<const uint8_t> bytes);
  std::span<const uint8_t> span() const { return {reinterpret_cast<const uint8_t*>(words_.data()), size_}; }
  std::span<uint8_t> mutable_span() { return {reinterpret_cast<uint8_t*>(words_.data()), size_}; }

 private:
  std::vector<uint32_t> words_;
  size_t size_;
};

// Walks `bytes` attribute by attribute, as nla_for_each_nested does, calling
// visit(const Attribute&) -> Status for each; stops at the first error. A
// truncated header, a nla_len below the header size or past the end of the
// stream, or bytes left after the last attribute are errors naming `where`
// and the byte offset. Like the kernel, the last attribute may omit its
// alignment padding.
template <typename Visit>
Status for_each_attribute(std::span<const uint8_t> bytes, std::string_view where, Visit&& visit);

// check_attr_len: the payload must be exactly `expected` bytes, unless
// `expected` is kNestedLength or kVariableLength. The error names `name`:
// "OVS_KEY_ATTR_IPV4: length 10, expected 12".
Status check_payload_length(const Attribute& attribute, int expected, const std::string& name);

// "OVS_KEY_ATTR_IPV4", or "OVS_KEY_ATTR type 40" for a type with no name.
std::string key_attr_name(uint16_t type);
std::string tunnel_attr_name(uint16_t type);
std::string action_attr_name(uint16_t type);

// "0x0800": ethertypes and other be16 values in messages, in host order.
std::string hex16(uint16_t host_value);

// Detail of for_each_attribute; checks the attribute at `offset`.
Status check_attribute_header(std::span<const uint8_t> bytes, size_t offset, std::string_view where);

template <typename Visit>
Status for_each_attribute(std::span<const uint8_t> bytes, std::string_view where, Visit&& visit) {
  size_t offset = 0;
  while (offset < bytes.size()) {
    if (Status s = check_attribute_header(bytes, offset, where); !s) return s;
    const auto* raw = reinterpret_cast<const nlattr*>(bytes.data() + offset);
    Attribute attribute;
    attribute.raw = raw;
    attribute.type = mnl_attr_get_type(raw);
    attribute.offset = offset;
    attribute.payload = bytes.subspan(offset + MNL_ATTR_HDRLEN, mnl_attr_get_payload_len(raw));
    if (Status s = visit(static_cast<const Attribute&>(attribute)); !s) return s;
    offset += MNL_ALIGN(mnl_attr_get_len(raw));
  }
  return Status::ok();
}

}  // namespace flowlift
