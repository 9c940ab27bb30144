// Field values in ovs-ofctl text, both ways.
#include "slowpath/of_field_text.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>

#include "kmod/odp_text_fields.h"

namespace flowlift {

namespace {

constexpr std::array<odp_text::FlagName, 9> kTcpFlagNames{{
    {0x001, "fin"},
    {0x002, "syn"},
    {0x004, "rst"},
    {0x008, "psh"},
    {0x010, "ack"},
    {0x020, "urg"},
    {0x040, "ece"},
    {0x080, "cwr"},
    {0x100, "ns"},
}};
constexpr uint16_t kTcpFlagBits = 0x0fff;

constexpr std::array<odp_text::FlagName, 4> kTunnelFlagNames{{
    {kTunnelDontFragment, "df"},
    {kTunnelCsum, "csum"},
    {kTunnelKey, "key"},
    {kTunnelOam, "oam"},
}};

struct FragKeyword {
  std::string_view name;
  uint8_t value;
  uint8_t mask;
};
// OVS's frag table; parsing takes the first row with the name.
constexpr std::array<FragKeyword, 7> kFragKeywords{{
    {"no", 0, kOfFragMask},
    {"first", kOfFragAny, kOfFragMask},
    {"later", kOfFragMask, kOfFragMask},
    {"no", 0, kOfFragAny},
    {"yes", kOfFragAny, kOfFragAny},
    {"not_later", 0, kOfFragLater},
    {"later", kOfFragLater, kOfFragLater},
}};

Uint128 bits_mask(int n_bits) { return n_bits >= 128 ? ~Uint128{0} : (Uint128{1} << n_bits) - 1; }

bool is_prefix_mask(Uint128 mask, int width, int* prefix) {
  Uint128 all = bits_mask(width);
  for (int len = 0; len <= width; ++len) {
    Uint128 m = len == 0 ? 0 : (all << (width - len)) & all;
    if (m == mask) {
      *prefix = len;
      return true;
    }
  }
  return false;
}

Result<int> parse_prefix_length(std::string_view text, int width) {
  if (text.empty() || text.size() > 3)
    return invalid_argument("invalid prefix length \"" + std::string(text) + "\"");
  int len = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return invalid_argument("invalid prefix length \"" + std::string(text) + "\"");
    len = len * 10 + (c - '0');
  }
  if (len > width)
    return invalid_argument("prefix length " + std::string(text) + " is longer than " +
                            std::to_string(width) + " bits");
  return len;
}

Result<Uint128> parse_ipv4_value(std::string_view text) {
  Result<Be32> a = odp_text::parse_ipv4(text);
  if (!a) return invalid_argument("invalid IPv4 address");
  return Uint128{ntohl(*a)};
}

Result<Uint128> parse_ipv6_value(std::string_view text) {
  Result<Ipv6Addr> a = odp_text::parse_ipv6(text);
  if (!a) return invalid_argument("invalid IPv6 address");
  return from_big_endian(*a);
}

Result<Uint128> parse_eth_value(std::string_view text) {
  Result<EthAddr> a = odp_text::parse_eth(text);
  if (!a) return invalid_argument("invalid Ethernet address");
  return from_big_endian(*a);
}

Result<OfMaskedValue> parse_address(std::string_view text, OfFieldFormat format, int width) {
  size_t slash = text.find('/');
  std::string_view value_text = text.substr(0, slash);
  auto parse_one = [&](std::string_view t) -> Result<Uint128> {
    switch (format) {
      case OfFieldFormat::kIpv4:
        return parse_ipv4_value(t);
      case OfFieldFormat::kIpv6:
        return parse_ipv6_value(t);
      default:
        return parse_eth_value(t);
    }
  };
  Result<Uint128> value = parse_one(value_text);
  if (!value) return value.status();
  OfMaskedValue out{*value, bits_mask(width)};
  if (slash == std::string_view::npos) return out;
  out.mask_was_written = true;
  std::string_view mask_text = text.substr(slash + 1);
  bool is_length =
      format != OfFieldFormat::kEthernet && !mask_text.empty() &&
      mask_text.find_first_of(format == OfFieldFormat::kIpv4 ? "." : ":") == std::string_view::npos;
  if (is_length) {
    Result<int> len = parse_prefix_length(mask_text, width);
    if (!len) return len.status();
    out.mask = *len == 0 ? 0 : (bits_mask(width) << (width - *len)) & bits_mask(width);
    return out;
  }
  Result<Uint128> mask = parse_one(mask_text);
  if (!mask) return invalid_argument("invalid mask: " + mask.status().message());
  out.mask = *mask;
  return out;
}

// Formats a flag set; falls back to numbers when a bit has no name, so the
// text always reads back as the same value and mask.
std::string format_named_flags(std::span<const odp_text::FlagName> names, uint32_t flags, uint32_t mask,
                               uint32_t all) {
  uint32_t named = 0;
  for (const odp_text::FlagName& n : names) named |= n.bit;
  // With a full mask only set bits print ("syn|ack"); otherwise every masked bit does ("+syn-ack").
  uint32_t printed = mask == all ? flags : flags | mask;
  if ((printed & ~named & all) != 0 || (flags & ~mask) != 0) {
    if (mask == all) return format_hex(flags);
    return format_hex(flags) + "/" + format_hex(mask);
  }
  return odp_text::format_flags_masked(names, flags, mask, all);
}

Result<OfMaskedValue> parse_named_flags(std::span<const odp_text::FlagName> names, std::string_view text,
                                        uint32_t all, std::string_view what) {
  Result<odp_text::MaskedFlags> parsed = odp_text::parse_flags(names, text, all, true, what);
  if (!parsed) return parsed.status();
  return OfMaskedValue{parsed->flags, parsed->mask & all, true};
}

}  // namespace

std::string format_hex(Uint128 value) { return odp_text::format_u128(to_big_endian(value)); }

std::string format_decimal(Uint128 value) {
  if (value == 0) return "0";
  std::string digits;
  while (value) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  }
  return digits;
}

Result<Uint128> parse_integer(std::string_view text, int n_bits) {
  if (text.empty()) return invalid_argument("missing value");
  Uint128 value;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    Result<std::array<uint8_t, 16>> bytes = odp_text::parse_u128(text);
    if (!bytes) return invalid_argument("invalid number \"" + std::string(text) + "\"");
    value = from_big_endian(*bytes);
  } else {
    Result<uint64_t> v = odp_text::parse_number(text, UINT64_MAX);
    if (!v) return invalid_argument("invalid number \"" + std::string(text) + "\"");
    value = *v;
  }
  if (n_bits < 128 && (value >> n_bits) != 0)
    return invalid_argument("value " + std::string(text) + " does not fit in " + std::to_string(n_bits) +
                            " bits");
  return value;
}

Result<OfMaskedValue> parse_field_value(const OfField& field, std::string_view text, const PortNames& ports) {
  if (text.empty()) return invalid_argument("missing value");
  size_t slash = text.find('/');
  bool has_mask = slash != std::string_view::npos;
  bool flag_syntax =
      (field.format == OfFieldFormat::kTcpFlags || field.format == OfFieldFormat::kTunnelFlags) &&
      (text[0] == '+' || text[0] == '-');
  if ((has_mask || flag_syntax) && !field.maskable)
    return invalid_argument(std::string(field.name) + " cannot be masked");

  OfMaskedValue out;
  switch (field.format) {
    case OfFieldFormat::kDecimal:
    case OfFieldFormat::kHex: {
      Result<Uint128> value = parse_integer(text.substr(0, slash), field.n_bits);
      if (!value) return value.status();
      out = {*value, field.value_mask()};
      if (has_mask) {
        Result<Uint128> mask = parse_integer(text.substr(slash + 1), field.n_bits);
        if (!mask) return invalid_argument("invalid mask: " + mask.status().message());
        out.mask = *mask;
        out.mask_was_written = true;
      }
      break;
    }
    case OfFieldFormat::kEthernet:
    case OfFieldFormat::kIpv4:
    case OfFieldFormat::kIpv6: {
      Result<OfMaskedValue> v = parse_address(text, field.format, field.n_bits);
      if (!v) return v.status();
      out = *v;
      break;
    }
    case OfFieldFormat::kPort: {
      Result<uint32_t> port = parse_of_port(text, ports);
      if (!port) return port.status();
      out = {*port, field.value_mask()};
      break;
    }
    case OfFieldFormat::kFrag: {
      for (const FragKeyword& k : kFragKeywords) {
        if (k.name == text) return OfMaskedValue{k.value, k.mask, true};
      }
      return invalid_argument("invalid fragment keyword \"" + std::string(text) +
                              "\" (expected no, yes, first, later or not_later)");
    }
    case OfFieldFormat::kTcpFlags: {
      Result<OfMaskedValue> v = parse_named_flags(kTcpFlagNames, text, kTcpFlagBits, "TCP");
      if (!v) return v.status();
      out = *v;
      break;
    }
    case OfFieldFormat::kTunnelFlags: {
      Result<OfMaskedValue> v = parse_named_flags(kTunnelFlagNames, text, kTunnelAllFlags, "tunnel");
      if (!v) return v.status();
      out = *v;
      break;
    }
  }
  if (field.id == OfFieldId::kIpTos && (out.value & 0x03) != 0)
    return invalid_argument(
        "nw_tos takes the DSCP bits in place: the low 2 (ECN) bits must be zero (use nw_ecn)");
  return out;
}

std::string format_ipv4_masked(Be32 address, Be32 mask) {
  std::string out = odp_text::format_ipv4(address);
  if (mask == 0xffffffffu) return out;
  int prefix = 0;
  if (is_prefix_mask(ntohl(mask), 32, &prefix)) return out + "/" + std::to_string(prefix);
  return out + "/" + odp_text::format_ipv4(mask);
}

std::string format_ipv6_masked(const Ipv6Addr& address, const Ipv6Addr& mask) {
  std::string out = odp_text::format_ipv6(address);
  Uint128 m = from_big_endian(mask);
  if (m == ~Uint128{0}) return out;
  int prefix = 0;
  if (is_prefix_mask(m, 128, &prefix)) return out + "/" + std::to_string(prefix);
  return out + "/" + odp_text::format_ipv6(mask);
}

std::string format_eth_masked(const EthAddr& address, const EthAddr& mask) {
  std::string out = odp_text::format_eth(address);
  for (uint8_t b : mask)
    if (b != 0xff) return out + "/" + odp_text::format_eth(mask);
  return out;
}

std::string format_tcp_flags(uint16_t flags, uint16_t mask) {
  return format_named_flags(kTcpFlagNames, flags, mask, kTcpFlagBits);
}

std::string format_tunnel_flags(uint16_t flags, uint16_t mask) {
  return format_named_flags(kTunnelFlagNames, flags, mask, kTunnelAllFlags);
}

std::string format_frag(uint8_t value, uint8_t mask) {
  // OVS looks the pair up from the most specific mask; "no" under a mask of
  // ANY alone prints like the full-mask "no".
  for (size_t i = kFragKeywords.size(); i-- > 0;) {
    const FragKeyword& k = kFragKeywords[i];
    if (k.value == value && k.mask == mask) return std::string(k.name);
  }
  return format_hex(value) + "/" + format_hex(mask);
}

std::string format_field_value(const OfField& field, Uint128 value, Uint128 mask, const PortNames* ports) {
  mask &= field.value_mask();
  bool exact = mask == field.value_mask();
  switch (field.format) {
    case OfFieldFormat::kDecimal:
      return exact ? format_decimal(value) : format_decimal(value) + "/" + format_hex(mask);
    case OfFieldFormat::kHex:
      return exact ? format_hex(value) : format_hex(value) + "/" + format_hex(mask);
    case OfFieldFormat::kEthernet: {
      std::array<uint8_t, 16> v = to_big_endian(value), m = to_big_endian(mask);
      EthAddr a, b;
      std::memcpy(a.data(), v.data() + 10, 6);
      std::memcpy(b.data(), m.data() + 10, 6);
      return format_eth_masked(a, b);
    }
    case OfFieldFormat::kIpv4:
      return format_ipv4_masked(htonl(static_cast<uint32_t>(value)), htonl(static_cast<uint32_t>(mask)));
    case OfFieldFormat::kIpv6:
      return format_ipv6_masked(to_big_endian(value), to_big_endian(mask));
    case OfFieldFormat::kPort:
      return format_of_port(static_cast<uint32_t>(value), ports);
    case OfFieldFormat::kFrag:
      return format_frag(static_cast<uint8_t>(value), static_cast<uint8_t>(mask));
    case OfFieldFormat::kTcpFlags:
      return format_tcp_flags(static_cast<uint16_t>(value), static_cast<uint16_t>(mask));
    case OfFieldFormat::kTunnelFlags:
      return format_tunnel_flags(static_cast<uint16_t>(value), static_cast<uint16_t>(mask));
  }
  return {};
}

}  // namespace flowlift
