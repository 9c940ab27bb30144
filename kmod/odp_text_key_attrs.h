// The text of single OVS_KEY_ATTR_* attributes, value and mask, as odp-util's
// format_odp_key_attr() prints them and parse_odp_key_mask_attr() reads them.
// A match (odp_text_key) strings several together; a set(...) action
// (odp_text_actions) carries exactly one. Values land at their FlowKey places.
#pragma once

#include <linux/openvswitch.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "flowlift/flow_key.h"
#include "flowlift/status.h"
#include "kmod/odp_text_fields.h"

namespace flowlift::odp_text {

// How one field prints: the odp-util helper it mirrors is named beside each.
enum class FieldKind : uint8_t {
  kIpv4,         // format_ipv4: dotted quad, "/dotted" mask
  kIpv6,         // format_in6_addr
  kEth,          // format_eth
  kU8,           // format_u8u: "%u", mask "/%#x"
  kU8Hex,        // format_u8x: "%#x", mask "/%#x"
  kBe16,         // format_be16: "%u", mask "/%#x"
  kBe16LowByte,  // an 8-bit ICMP type/code stored as htons(value) in tp_src/tp_dst
  kFrag,         // format_frag: no/first/later, never masked
  kIpv6Label,    // format_ipv6_label: 20 bits, "%#x"
};

struct FieldSpec {
  const char* name;
  FieldKind kind;
  uint16_t offset;              // in FlowKey
  const char* alias = nullptr;  // another name accepted when parsing
};

// An attribute whose text is a plain "field=value[/mask],..." list.
struct FieldListSpec {
  const char* name;
  ovs_key_attr attr;
  std::span<const FieldSpec> fields;
};

const FieldListSpec* find_field_list(std::string_view name);
const FieldListSpec* find_field_list(ovs_key_attr attr);

// Parses "field=value[/mask],...)" (the cursor is past "name("). Fields not
// named keep a zero mask; a value without "/mask" is exact.
Status parse_field_list(Cursor& c, const FieldListSpec& spec, FlowKey& value, FlowKey& mask);
// With a mask: the fields whose mask is non-zero, "/mask" where partial (a
// match, or a masked set). Without: every field, no masks (a plain set).
std::string format_field_list(const FieldListSpec& spec, const FlowKey& value, const FlowKey* mask);
bool field_list_mask_is_zero(const FieldListSpec& spec, const FlowKey& mask);
// Every byte of every field all-ones: the test odp-util uses to turn set(...)
// into OVS_ACTION_ATTR_SET rather than SET_MASKED.
bool field_list_mask_is_full(const FieldListSpec& spec, const FlowKey& mask);
void set_field_list_mask_full(const FieldListSpec& spec, FlowKey& mask);

// tunnel(...). `allow_masks` is false for set(tunnel(...)): the kernel has no
// masked tunnel set.
Status parse_tunnel(Cursor& c, TunnelKey& value, TunnelKey& mask, bool allow_masks);
// A matched tunnel as the kernel dumps it: zero-valued addresses, tos and
// ports are absent from the dumped key, so they do not print even when masked.
std::string format_tunnel_match(const TunnelKey& key, const TunnelKey& mask);
// set(tunnel(...)): every attribute the kernel's tunnel key would carry.
std::string format_tunnel_set(const TunnelKey& value);

// vlan(vid=..,pcp=..[,cfi=0]) over a TCI that carries kVlanCfi when a tag is present.
Status parse_vlan_tci(Cursor& c, Be16& tci, Be16& mask);
std::string format_vlan_tci(Be16 tci, Be16 mask);

// mpls(label=..,tc=..,ttl=..,bos=..[,label=..]) for up to kMaxMplsLabels entries.
Status parse_mpls(Cursor& c, Be32 (&lse)[kMaxMplsLabels], Be32 (&mask)[kMaxMplsLabels], int* count);
// `mask` null or all-ones prints plain "label=..,tc=..,ttl=..,bos=..".
std::string format_mpls(const Be32* lse, const Be32* mask, int count);
Be32 make_mpls_lse(uint32_t label, uint32_t tc, uint32_t ttl, uint32_t bos);
std::string format_mpls_lse(Be32 lse);

// "value[/mask])" for the one-number attributes (recirc_id(...), ct_zone(...), ...).
struct MaskedNumber {
  uint64_t value = 0;
  uint64_t mask = 0;
};
Status parse_masked_number(Cursor& c, std::string_view attribute, uint64_t max, bool allow_mask,
                           MaskedNumber* out);

std::span<const FlagName> tcp_flag_names();
std::span<const FlagName> ct_state_names();

// FlowKey field access by byte offset (memcpy: no aliasing or alignment games).
template <typename T>
T read_at(const FlowKey& key, size_t offset) {
  T v;
  std::memcpy(&v, reinterpret_cast<const uint8_t*>(&key) + offset, sizeof v);
  return v;
}
template <typename T>
void write_at(FlowKey& key, size_t offset, const T& v) {
  std::memcpy(reinterpret_cast<uint8_t*>(&key) + offset, &v, sizeof v);
}

}  // namespace flowlift::odp_text
