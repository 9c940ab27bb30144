// The scalar vocabulary of the `ovs-dpctl dump-flows` text (Open vSwitch's
// lib/odp-util.c): a bounds-checked cursor over the text, integers as odp-util
// scans ("%i") and prints ("%u", "%#x") them, MAC/IPv4/IPv6 addresses, 128-bit
// labels and flag sets. The key, action and dumped-flow codecs build on it.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "flowlift/flow_key.h"
#include "flowlift/status.h"

namespace flowlift::odp_text {

// Reads text left to right; every accessor stays inside the text.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }
  std::string_view rest() const { return text_.substr(pos_); }
  size_t position() const { return pos_; }
  std::string_view text_since(size_t start) const { return text_.substr(start, pos_ - start); }
  // Goes back to a position returned by position().
  void rewind(size_t position) { pos_ = position < pos_ ? position : pos_; }

  bool consume(char c);
  bool consume(std::string_view prefix);
  // Identifier characters as odp-util names use them: [A-Za-z0-9_].
  std::string_view take_name();
  // Everything up to (not including) the first character of `stops`, or the end.
  std::string_view take_until(std::string_view stops);
  // Skips odp-util's separators between attributes and actions (", \t\r\n").
  void skip_separators();

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// An unsigned integer as odp-util's "%i" scans it (0x.. hex, 0.. octal, else
// decimal), occupying all of `token` and not above `max`.
Result<uint64_t> parse_number(std::string_view token, uint64_t max);

// printf "%#x": "0" for zero, "0x.." otherwise (odp-util prints most hex this way).
std::string hex(uint64_t value);
std::string decimal(uint64_t value);
// printf "0x%04x".
std::string hex4(uint16_t value);

Result<EthAddr> parse_eth(std::string_view token);
std::string format_eth(const EthAddr& addr);
// Dotted quad; the result is in network byte order.
Result<Be32> parse_ipv4(std::string_view token);
std::string format_ipv4(Be32 addr);
Result<Ipv6Addr> parse_ipv6(std::string_view token);
std::string format_ipv6(const Ipv6Addr& addr);

// A 128-bit value (ct_label) as big-endian bytes: "0x" + up to 32 hex digits,
// or a decimal/octal number up to 64 bits.
Result<std::array<uint8_t, 16>> parse_u128(std::string_view token);
// odp-util's ds_put_hex: "0x" then the bytes from the first non-zero one, or "0".
std::string format_u128(const std::array<uint8_t, 16>& big_endian);

struct FlagName {
  uint32_t bit;
  const char* name;
};

// odp-util's format_flags(): names lowest bit first joined by `separator`,
// unnamed bits as one trailing hex number, "0" when no bit is set.
std::string format_flags(std::span<const FlagName> names, uint32_t flags, char separator);
// odp-util's format_flags_masked(): "+name"/"-name" for each bit of `mask`,
// the plain form when mask == max_mask, "0/0" for an empty mask.
std::string format_flags_masked(std::span<const FlagName> names, uint32_t flags, uint32_t mask,
                                uint32_t max_mask);

struct MaskedFlags {
  uint32_t flags = 0;
  uint32_t mask = 0;
};
// odp-util's parse_flags() over one token: "N/M", "+a-b", or "a|b|N" (the
// last meaning every bit significant: mask UINT32_MAX). `what` names the flag
// set in errors. Masked forms are refused unless `allow_mask`.
Result<MaskedFlags> parse_flags(std::span<const FlagName> names, std::string_view token, uint32_t allowed,
                                bool allow_mask, std::string_view what);

// "name(" + inner + "): " + message, the shape every parse error takes.
Status field_error(std::string_view attribute, std::string_view inner, std::string_view message);

}  // namespace flowlift::odp_text
