// ControllerCookie encoding: type 'C', version 1, then the fields big-endian.
#include "slowpath/controller_cookie.h"

#include <cinttypes>
#include <cstdio>

namespace flowlift {

namespace {

constexpr uint8_t kCookieType = 'C';
constexpr uint8_t kCookieVersion = 1;

void put_be(std::vector<uint8_t>& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

uint64_t get_be(std::span<const uint8_t> in, size_t offset, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | in[offset + i];
  return v;
}

}  // namespace

std::vector<uint8_t> encode_controller_cookie(const ControllerCookie& c) {
  std::vector<uint8_t> out;
  out.reserve(kControllerCookieSize);
  out.push_back(kCookieType);
  out.push_back(kCookieVersion);
  out.push_back(c.reason);
  out.push_back(static_cast<uint8_t>((c.dont_send ? 1 : 0) | (c.continuation ? 2 : 0)));
  put_be(out, c.recirc_id, 4);
  put_be(out, c.rule_cookie, 8);
  put_be(out, c.controller_id, 2);
  put_be(out, c.max_len, 2);
  return out;
}

std::optional<ControllerCookie> decode_controller_cookie(std::span<const uint8_t> userdata) {
  if (userdata.size() != kControllerCookieSize || userdata[0] != kCookieType || userdata[1] != kCookieVersion)
    return std::nullopt;
  if (userdata[3] & ~3u) return std::nullopt;
  ControllerCookie c;
  c.reason = userdata[2];
  c.dont_send = userdata[3] & 1;
  c.continuation = userdata[3] & 2;
  c.recirc_id = static_cast<uint32_t>(get_be(userdata, 4, 4));
  c.rule_cookie = get_be(userdata, 8, 8);
  c.controller_id = static_cast<uint16_t>(get_be(userdata, 16, 2));
  c.max_len = static_cast<uint16_t>(get_be(userdata, 18, 2));
  return c;
}

std::string format_controller_cookie(const ControllerCookie& c) {
  char buf[200];
  // rule_cookie prints as "%#"PRIx64: "0" for zero.
  char cookie[24];
  if (c.rule_cookie == 0) {
    std::snprintf(cookie, sizeof cookie, "0");
  } else {
    std::snprintf(cookie, sizeof cookie, "0x%" PRIx64, c.rule_cookie);
  }
  std::snprintf(buf, sizeof buf,
                "controller(reason=%u,dont_send=%d,continuation=%d,recirc_id=%" PRIu32
                ",rule_cookie=%s,controller_id=%u,max_len=%u)",
                c.reason, c.dont_send ? 1 : 0, c.continuation ? 1 : 0, c.recirc_id, cookie, c.controller_id,
                c.max_len);
  return buf;
}

}  // namespace flowlift
