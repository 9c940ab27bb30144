// A field's value in ovs-ofctl text, by the field's format (OVS's mf_parse()
// and mf_format()): numbers in decimal, 0x-hex or 0-octal, Ethernet and IP
// addresses with bitwise or prefix masks, port names, fragment keywords and
// TCP/tunnel flag sets.
#pragma once

#include <string>
#include <string_view>

#include "flowlift/status.h"
#include "slowpath/of_fields.h"
#include "slowpath/of_ports.h"

namespace flowlift {

struct OfMaskedValue {
  Uint128 value = 0;
  Uint128 mask = 0;  // the field's value_mask() when no mask was written
  bool mask_was_written = false;
  bool operator==(const OfMaskedValue&) const = default;
};

// "VALUE" or, for maskable fields, "VALUE/MASK" (IPv4/IPv6 also "ADDR/LEN").
// The value is returned unmasked; errors say what is wrong with the text
// ("invalid IPv4 address", "value 300 does not fit in 8 bits") and leave
// naming the token to the caller.
Result<OfMaskedValue> parse_field_value(const OfField& field, std::string_view text, const PortNames& ports);

// OVS's mf_format(): the value alone when `mask` covers the whole field,
// "value/mask" otherwise (decimal values get a hex mask, as OVS prints them).
std::string format_field_value(const OfField& field, Uint128 value, Uint128 mask, const PortNames* ports);

// Text pieces shared with the match and action printers.
std::string format_hex(Uint128 value);  // "0" or "0x1f40", as OVS's ds_put_hex
std::string format_decimal(Uint128 value);
std::string format_ipv4_masked(Be32 address, Be32 mask);  // "10.0.0.0/8", "10.0.0.1/255.0.0.255"
std::string format_ipv6_masked(const Ipv6Addr& address, const Ipv6Addr& mask);
std::string format_eth_masked(const EthAddr& address, const EthAddr& mask);
// "+syn-ack", "syn|ack" (full mask) or "0x200/0xe00" when a bit has no name.
std::string format_tcp_flags(uint16_t flags, uint16_t mask);
std::string format_tunnel_flags(uint16_t flags, uint16_t mask);
// OVS's nw_frag keywords for a (value, mask) pair.
std::string format_frag(uint8_t value, uint8_t mask);

// Parses an unsigned integer of at most `n_bits` bits ("%i" style).
Result<Uint128> parse_integer(std::string_view text, int n_bits);

}  // namespace flowlift
