// SlowPathCookie encoding: type 'S', version 1, reason and OpenFlow in_port big-endian.
#include "slowpath/slow_path_cookie.h"

namespace flowlift {

namespace {

constexpr uint8_t kSlowPathCookieType = 'S';
constexpr uint8_t kSlowPathCookieVersion = 1;

void put_be32(std::vector<uint8_t>& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
}

uint32_t get_be32(std::span<const uint8_t> in, size_t offset) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = value << 8 | in[offset + i];
  return value;
}

}  // namespace

std::vector<uint8_t> encode_slow_path_cookie(const SlowPathCookie& cookie) {
  std::vector<uint8_t> out;
  out.reserve(kSlowPathCookieSize);
  out.push_back(kSlowPathCookieType);
  out.push_back(kSlowPathCookieVersion);
  put_be32(out, cookie.reason);
  put_be32(out, cookie.ofp_in_port);
  return out;
}

std::optional<SlowPathCookie> decode_slow_path_cookie(std::span<const uint8_t> userdata) {
  if (userdata.size() != kSlowPathCookieSize || userdata[0] != kSlowPathCookieType ||
      userdata[1] != kSlowPathCookieVersion)
    return std::nullopt;
  return SlowPathCookie{get_be32(userdata, 2), get_be32(userdata, 6)};
}

}  // namespace flowlift
