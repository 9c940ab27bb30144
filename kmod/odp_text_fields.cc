// Scalar pieces of the ovs-dpctl flow text: numbers, addresses, flag sets.
#include "kmod/odp_text_fields.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace flowlift::odp_text {

bool Cursor::consume(char c) {
  if (peek() != c) return false;
  ++pos_;
  return true;
}

bool Cursor::consume(std::string_view prefix) {
  if (rest().substr(0, prefix.size()) != prefix) return false;
  pos_ += prefix.size();
  return true;
}

std::string_view Cursor::take_name() {
  size_t start = pos_;
  while (!at_end()) {
    char c = text_[pos_];
    bool name_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!name_char) break;
    ++pos_;
  }
  return text_.substr(start, pos_ - start);
}

std::string_view Cursor::take_until(std::string_view stops) {
  size_t start = pos_;
  while (!at_end() && stops.find(text_[pos_]) == std::string_view::npos) ++pos_;
  return text_.substr(start, pos_ - start);
}

void Cursor::skip_separators() {
  while (!at_end() && std::string_view(", \t\r\n").find(text_[pos_]) != std::string_view::npos) ++pos_;
}

namespace {

int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string quoted(std::string_view token) { return "\"" + std::string(token) + "\""; }

}  // namespace

Result<uint64_t> parse_number(std::string_view token, uint64_t max) {
  std::string_view digits = token;
  unsigned base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  } else if (digits.size() > 1 && digits[0] == '0') {
    base = 8;
    digits.remove_prefix(1);
  }
  if (digits.empty()) return invalid_argument("invalid number " + quoted(token));
  uint64_t value = 0;
  bool overflow = false;
  for (char c : digits) {
    int d = digit_value(c);
    if (d < 0 || static_cast<unsigned>(d) >= base) return invalid_argument("invalid number " + quoted(token));
    if (value > (UINT64_MAX - static_cast<uint64_t>(d)) / base) overflow = true;
    value = value * base + static_cast<uint64_t>(d);
  }
  if (overflow || value > max) return invalid_argument("value out of range");
  return value;
}

std::string hex(uint64_t value) {
  if (value == 0) return "0";
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

std::string decimal(uint64_t value) { return std::to_string(value); }

std::string hex4(uint16_t value) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", static_cast<unsigned>(value));
  return buf;
}

Result<EthAddr> parse_eth(std::string_view token) {
  EthAddr addr{};
  Cursor c(token);
  for (size_t i = 0; i < addr.size(); ++i) {
    if (i > 0 && !c.consume(':')) return invalid_argument("invalid Ethernet address " + quoted(token));
    std::string_view part = c.take_until(":");
    if (part.empty() || part.size() > 2) return invalid_argument("invalid Ethernet address " + quoted(token));
    int value = 0;
    for (char ch : part) {
      int d = digit_value(ch);
      if (d < 0) return invalid_argument("invalid Ethernet address " + quoted(token));
      value = value * 16 + d;
    }
    addr[i] = static_cast<uint8_t>(value);
  }
  if (!c.at_end()) return invalid_argument("invalid Ethernet address " + quoted(token));
  return addr;
}

std::string format_eth(const EthAddr& addr) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", addr[0], addr[1], addr[2], addr[3], addr[4],
                addr[5]);
  return buf;
}

Result<Be32> parse_ipv4(std::string_view token) {
  uint8_t bytes[4];
  Cursor c(token);
  for (int i = 0; i < 4; ++i) {
    if (i > 0 && !c.consume('.')) return invalid_argument("invalid IPv4 address " + quoted(token));
    std::string_view part = c.take_until(".");
    if (part.empty() || part.size() > 3) return invalid_argument("invalid IPv4 address " + quoted(token));
    unsigned value = 0;
    for (char ch : part) {
      if (ch < '0' || ch > '9') return invalid_argument("invalid IPv4 address " + quoted(token));
      value = value * 10 + static_cast<unsigned>(ch - '0');
    }
    if (value > 255) return invalid_argument("invalid IPv4 address " + quoted(token));
    bytes[i] = static_cast<uint8_t>(value);
  }
  if (!c.at_end()) return invalid_argument("invalid IPv4 address " + quoted(token));
  Be32 addr;
  std::memcpy(&addr, bytes, sizeof addr);
  return addr;
}

std::string format_ipv4(Be32 addr) {
  uint8_t b[4];
  std::memcpy(b, &addr, sizeof b);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
  return buf;
}

Result<Ipv6Addr> parse_ipv6(std::string_view token) {
  // inet_pton needs a NUL-terminated copy; anything longer than the longest
  // textual IPv6 address cannot be one.
  char buf[INET6_ADDRSTRLEN];
  if (token.empty() || token.size() >= sizeof buf)
    return invalid_argument("invalid IPv6 address " + quoted(token));
  std::memcpy(buf, token.data(), token.size());
  buf[token.size()] = '\0';
  Ipv6Addr addr{};
  if (inet_pton(AF_INET6, buf, addr.data()) != 1)
    return invalid_argument("invalid IPv6 address " + quoted(token));
  return addr;
}

std::string format_ipv6(const Ipv6Addr& addr) {
  char buf[INET6_ADDRSTRLEN];
  if (!inet_ntop(AF_INET6, addr.data(), buf, sizeof buf)) return "?";
  return buf;
}

Result<std::array<uint8_t, 16>> parse_u128(std::string_view token) {
  std::array<uint8_t, 16> bytes{};
  if (token.size() > 2 && token[0] == '0' && (token[1] == 'x' || token[1] == 'X')) {
    std::string_view digits = token.substr(2);
    while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
    if (digits.size() > 32) return invalid_argument("value out of range");
    // Fill from the least significant nibble.
    size_t nibble = 0;
    for (size_t i = digits.size(); i-- > 0; ++nibble) {
      int d = digit_value(digits[i]);
      if (d < 0) return invalid_argument("invalid number " + quoted(token));
      size_t byte = 15 - nibble / 2;
      bytes[byte] = static_cast<uint8_t>(bytes[byte] | (nibble % 2 ? d << 4 : d));
    }
    return bytes;
  }
  Result<uint64_t> value = parse_number(token, UINT64_MAX);
  if (!value) return value.status();
  for (int i = 0; i < 8; ++i) bytes[15 - i] = static_cast<uint8_t>(*value >> (8 * i));
  return bytes;
}

std::string format_u128(const std::array<uint8_t, 16>& big_endian) {
  std::string out;
  char buf[8];
  for (uint8_t b : big_endian) {
    if (out.empty()) {
      if (b == 0) continue;
      std::snprintf(buf, sizeof buf, "0x%x", b);
    } else {
      std::snprintf(buf, sizeof buf, "%02x", b);
    }
    out += buf;
  }
  return out.empty() ? "0" : out;
}

namespace {

const char* flag_name(std::span<const FlagName> names, uint32_t bit) {
  for (const FlagName& n : names)
    if (n.bit == bit) return n.name;
  return nullptr;
}

// The named bit whose name starts `text` and is followed by one of `followers`
// (or the end); 0 when none.
uint32_t match_flag(std::span<const FlagName> names, std::string_view text, std::string_view followers,
                    size_t* length) {
  for (const FlagName& n : names) {
    std::string_view name(n.name);
    if (text.substr(0, name.size()) != name) continue;
    if (text.size() > name.size() && followers.find(text[name.size()]) == std::string_view::npos) continue;
    *length = name.size();
    return n.bit;
  }
  return 0;
}

}  // namespace

std::string format_flags(std::span<const FlagName> names, uint32_t flags, char separator) {
  if (flags == 0) return "0";
  std::string out;
  uint32_t unnamed = 0;
  for (uint32_t rest = flags; rest;) {
    uint32_t bit = rest & (~rest + 1);
    rest &= ~bit;
    if (const char* name = flag_name(names, bit)) {
      if (!out.empty()) out += separator;
      out += name;
    } else {
      unnamed |= bit;
    }
  }
  if (unnamed) {
    if (!out.empty()) out += separator;
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%x", unnamed);
    out += buf;
  }
  return out;
}

std::string format_flags_masked(std::span<const FlagName> names, uint32_t flags, uint32_t mask,
                                uint32_t max_mask) {
  if (mask == max_mask) return format_flags(names, flags, '|');
  if (mask == 0) return "0/0";
  std::string out;
  for (uint32_t rest = mask; rest;) {
    uint32_t bit = rest & (~rest + 1);
    rest &= ~bit;
    const char* name = flag_name(names, bit);
    out += (flags & bit) ? '+' : '-';
    out += name ? name : "[Unknown]";
  }
  return out;
}

Result<MaskedFlags> parse_flags(std::span<const FlagName> names, std::string_view token, uint32_t allowed,
                                bool allow_mask, std::string_view what) {
  MaskedFlags result;
  size_t slash = token.find('/');
  if (allow_mask && slash != std::string_view::npos && !token.empty() && token[0] >= '0' && token[0] <= '9') {
    Result<uint64_t> flags = parse_number(token.substr(0, slash), UINT32_MAX);
    if (!flags) return flags.status();
    Result<uint64_t> mask = parse_number(token.substr(slash + 1), UINT32_MAX);
    if (!mask) return mask.status();
    if ((*flags | *mask) & ~static_cast<uint64_t>(allowed))
      return invalid_argument("unknown " + std::string(what) + " flag(s) in \"" + std::string(token) + "\"");
    result.flags = static_cast<uint32_t>(*flags);
    result.mask = static_cast<uint32_t>(*mask);
    return result;
  }

  if (!token.empty() && (token[0] == '+' || token[0] == '-')) {
    if (!allow_mask) return invalid_argument(std::string(what) + " cannot be masked here");
    Cursor c(token);
    while (!c.at_end()) {
      bool set = c.peek() == '+';
      if (!c.consume('+') && !c.consume('-'))
        return invalid_argument("each " + std::string(what) + " flag must be preceded by '+' or '-'");
      size_t length = 0;
      uint32_t bit = match_flag(names, c.rest(), "+-", &length);
      if (!bit) {
        std::string_view bad = c.take_until("+-");
        return invalid_argument("unknown " + std::string(what) + " flag \"" + std::string(bad) + "\"");
      }
      if (result.mask & bit)
        return invalid_argument("each " + std::string(what) + " flag can be specified only once");
      if (!(bit & allowed))
        return invalid_argument("unknown " + std::string(what) + " flag \"" +
                                std::string(c.rest().substr(0, length)) + "\"");
      c.take_until("+-");
      if (set) result.flags |= bit;
      result.mask |= bit;
    }
    return result;
  }

  Cursor c(token);
  while (!c.at_end()) {
    if (c.peek() >= '0' && c.peek() <= '9') {
      Result<uint64_t> number = parse_number(c.take_until("|"), UINT32_MAX);
      if (!number) return number.status();
      if (*number & ~static_cast<uint64_t>(allowed))
        return invalid_argument("unknown " + std::string(what) + " flag(s) " + hex(*number));
      result.flags |= static_cast<uint32_t>(*number);
    } else {
      size_t length = 0;
      uint32_t bit = match_flag(names, c.rest(), "|", &length);
      std::string_view word = c.take_until("|");
      if (!bit || !(bit & allowed))
        return invalid_argument("unknown " + std::string(what) + " flag \"" + std::string(word) + "\"");
      result.flags |= bit;
    }
    if (!c.at_end() && (!c.consume('|') || c.at_end()))
      return invalid_argument("malformed " + std::string(what) + " \"" + std::string(token) + "\"");
  }
  result.mask = UINT32_MAX;
  return result;
}

Status field_error(std::string_view attribute, std::string_view inner, std::string_view message) {
  return invalid_argument(std::string(attribute) + "(" + std::string(inner) + "): " + std::string(message));
}

}  // namespace flowlift::odp_text
