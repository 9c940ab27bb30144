// A dump-flows line: ufid, match, statistics, actions.
#include "kmod/odp_text_flow.h"

#include <cstdio>
#include <cstring>

#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_fields.h"

namespace flowlift {
namespace {

using odp_text::Cursor;

// packet_format_tcp_flags(): tcpdump's letters, in tcpdump's order.
struct TcpFlagLetter {
  uint16_t bit;
  const char* text;
};
constexpr TcpFlagLetter kTcpFlagLetters[] = {
    {0x002, "S"}, {0x001, "F"}, {0x008, "P"}, {0x004, "R"},     {0x020, "U"},     {0x010, "."},
    {0x040, "E"}, {0x080, "C"}, {0x100, "N"}, {0x200, "[200]"}, {0x400, "[400]"}, {0x800, "[800]"},
};

std::string format_tcp_letters(uint16_t flags) {
  if (!flags) return "none";
  std::string out;
  for (const TcpFlagLetter& l : kTcpFlagLetters)
    if (flags & l.bit) out += l.text;
  return out;
}

Result<uint16_t> parse_tcp_letters(std::string_view text) {
  if (text == "none") return uint16_t{0};
  uint16_t flags = 0;
  Cursor c(text);
  while (!c.at_end()) {
    bool matched = false;
    for (const TcpFlagLetter& l : kTcpFlagLetters) {
      if (c.consume(std::string_view(l.text))) {
        flags = static_cast<uint16_t>(flags | l.bit);
        matched = true;
        break;
      }
    }
    if (!matched) return invalid_argument("flags:" + std::string(text) + ": unknown TCP flag letter");
  }
  return flags;
}

std::string format_used(const FlowStats& stats, uint64_t now_ms) {
  if (!stats.used_ms) return "never";
  int64_t elapsed = static_cast<int64_t>(now_ms) - static_cast<int64_t>(stats.used_ms);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.3fs", static_cast<double>(elapsed) / 1000.0);
  return buf;
}

// "X.XXXs" (any number of decimals up to three, optional leading '-') as milliseconds.
Result<int64_t> parse_elapsed_ms(std::string_view text) {
  std::string_view t = text;
  bool negative = !t.empty() && t[0] == '-';
  if (negative) t.remove_prefix(1);
  if (t.empty() || t.back() != 's')
    return invalid_argument("used:" + std::string(text) + ": expected seconds");
  t.remove_suffix(1);
  size_t dot = t.find('.');
  std::string_view whole = t.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? std::string_view() : t.substr(dot + 1);
  if (whole.empty() || fraction.size() > 3 || (dot != std::string_view::npos && fraction.empty()))
    return invalid_argument("used:" + std::string(text) + ": expected seconds with at most 3 decimals");
  // Twelve digits of seconds (31,000 years) keep milliseconds exact in a double.
  if (whole.size() > 12) return invalid_argument("used:" + std::string(text) + ": too large");
  int64_t ms = 0;
  for (char ch : whole) {
    if (ch < '0' || ch > '9') return invalid_argument("used:" + std::string(text) + ": expected seconds");
    ms = ms * 10 + (ch - '0');
  }
  ms *= 1000;
  int64_t scale = 100;
  for (char ch : fraction) {
    if (ch < '0' || ch > '9') return invalid_argument("used:" + std::string(text) + ": expected seconds");
    ms += (ch - '0') * scale;
    scale /= 10;
  }
  return negative ? -ms : ms;
}

Result<uint64_t> parse_counter(Cursor& c, std::string_view label) {
  if (!c.consume(label))
    return invalid_argument("expected \"" + std::string(label) + "\" at \"" +
                            std::string(c.rest().substr(0, 20)) + "\"");
  std::string_view token = c.take_until(",");
  Result<uint64_t> v = odp_text::parse_number(token, UINT64_MAX);
  if (!v) return invalid_argument(std::string(label) + std::string(token) + ": " + v.status().message());
  return v;
}

}  // namespace

std::string format_ufid(const Ufid& ufid) {
  uint32_t w[4];
  std::memcpy(w, ufid.bytes.data(), sizeof w);
  char buf[48];
  std::snprintf(buf, sizeof buf, "ufid:%08x-%04x-%04x-%04x-%04x%08x", w[0], w[1] >> 16, w[1] & 0xffff,
                w[2] >> 16, w[2] & 0xffff, w[3]);
  return buf;
}

Result<Ufid> parse_ufid(std::string_view text) {
  std::string_view uuid = text;
  if (uuid.substr(0, 5) == "ufid:") uuid.remove_prefix(5);
  // 8-4-4-4-12 hex digits.
  static constexpr size_t kGroups[] = {8, 4, 4, 4, 12};
  uint32_t w[4] = {};
  size_t pos = 0, nibble = 0;
  for (size_t g = 0; g < 5; ++g) {
    if (g > 0) {
      if (pos >= uuid.size() || uuid[pos] != '-')
        return invalid_argument("invalid ufid \"" + std::string(text) + "\"");
      ++pos;
    }
    for (size_t i = 0; i < kGroups[g]; ++i, ++pos, ++nibble) {
      char ch = pos < uuid.size() ? uuid[pos] : '\0';
      int d = (ch >= '0' && ch <= '9')   ? ch - '0'
              : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10
              : (ch >= 'A' && ch <= 'F') ? ch - 'A' + 10
                                         : -1;
      if (d < 0) return invalid_argument("invalid ufid \"" + std::string(text) + "\"");
      w[nibble / 8] = w[nibble / 8] << 4 | static_cast<uint32_t>(d);
    }
  }
  if (pos != uuid.size()) return invalid_argument("invalid ufid \"" + std::string(text) + "\"");
  Ufid ufid;
  std::memcpy(ufid.bytes.data(), w, sizeof w);
  return ufid;
}

namespace {

// Bytes as odp-util's format_generic_odp_key prints them: "00 ff 12".
std::string spaced_hex(const std::vector<uint8_t>& bytes) {
  std::string text;
  char byte[4];
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::snprintf(byte, sizeof byte, i ? " %02x" : "%02x", bytes[i]);
    text += byte;
  }
  return text;
}

// odp-util's format_unknown_key: the mask only when there is one and it is not exact.
std::string format_unheld_attribute(const UnheldKeyAttribute& attribute) {
  std::string text = "key" + std::to_string(attribute.type) + "(" + spaced_hex(attribute.key);
  bool exact = true;
  for (uint8_t byte : attribute.mask) exact = exact && byte == 0xff;
  if (!attribute.mask.empty() && !exact) text += "/" + spaced_hex(attribute.mask);
  return text + ")";
}

}  // namespace

std::string format_megaflow_match(const Megaflow& flow, OdpTextStyle style) {
  std::string text = format_match(flow.match, style);
  for (const UnheldKeyAttribute& attribute : flow.unheld_key_attributes) {
    const std::string item = format_unheld_attribute(attribute);
    size_t ipv6 = text.rfind(",ipv6(");
    size_t close = ipv6 == std::string::npos ? std::string::npos : text.find(')', ipv6);
    if (attribute.type == OVS_KEY_ATTR_IPV6_EXTHDRS && close != std::string::npos) {
      text.insert(close + 1, "," + item);
    } else {
      text += (text.empty() ? "" : ",") + item;
    }
  }
  return text;
}

std::string format_dumped_flow(const Megaflow& flow, uint64_t now_ms, OdpTextStyle style) {
  std::string out;
  if (!flow.ufid.is_zero()) out += format_ufid(flow.ufid) + ", ";
  out += format_megaflow_match(flow, style);
  out += ", packets:" + odp_text::decimal(flow.stats.packets) +
         ", bytes:" + odp_text::decimal(flow.stats.bytes) + ", used:" + format_used(flow.stats, now_ms);
  if (flow.stats.tcp_flags) out += ", flags:" + format_tcp_letters(flow.stats.tcp_flags);
  out += ", actions:" + format_actions(flow.actions);
  return out;
}

Result<Megaflow> parse_dumped_flow(std::string_view line, uint64_t now_ms) {
  Megaflow flow;
  Cursor c(line);
  if (c.rest().substr(0, 5) == "ufid:") {
    std::string_view token = c.take_until(", ");
    Result<Ufid> ufid = parse_ufid(token);
    if (!ufid) return ufid.status();
    flow.ufid = *ufid;
    if (!c.consume(", ")) return invalid_argument("expected \", \" after the ufid");
  }

  size_t consumed = 0;
  Result<Match> match = parse_match_prefix(c.rest(), &consumed);
  if (!match) return match.status();
  flow.match = *match;
  c.consume(c.rest().substr(0, consumed));
  if (!c.consume(", ")) return invalid_argument("expected \", packets:\" after the match");

  Result<uint64_t> packets = parse_counter(c, "packets:");
  if (!packets) return packets.status();
  if (!c.consume(", ")) return invalid_argument("expected \", bytes:\" after packets");
  Result<uint64_t> bytes = parse_counter(c, "bytes:");
  if (!bytes) return bytes.status();
  flow.stats.packets = *packets;
  flow.stats.bytes = *bytes;

  if (!c.consume(", used:")) return invalid_argument("expected \", used:\" after bytes");
  std::string_view used = c.take_until(",");
  if (used != "never") {
    Result<int64_t> elapsed = parse_elapsed_ms(used);
    if (!elapsed) return elapsed.status();
    if (now_ms > static_cast<uint64_t>(INT64_MAX / 2))
      return invalid_argument("used:" + std::string(used) + ": the clock is out of range");
    int64_t used_ms = static_cast<int64_t>(now_ms) - *elapsed;
    if (used_ms <= 0)
      return invalid_argument("used:" + std::string(used) + ": earlier than the clock's start");
    flow.stats.used_ms = static_cast<uint64_t>(used_ms);
  }

  if (c.consume(", flags:")) {
    Result<uint16_t> flags = parse_tcp_letters(c.take_until(","));
    if (!flags) return flags.status();
    flow.stats.tcp_flags = *flags;
  }
  if (!c.consume(", actions:"))
    return invalid_argument("expected \", actions:\" at \"" + std::string(c.rest().substr(0, 20)) + "\"");
  Result<ActionList> actions = parse_actions(c.rest());
  if (!actions) return invalid_argument("actions: " + actions.status().message());
  flow.actions = std::move(*actions);
  return flow;
}

}  // namespace flowlift
