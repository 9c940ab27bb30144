// SlowPathCookie encoding: type 'S', version 1, reason and OpenFlow in_port big-endian.
#include "slowpath/slow_path_cookie.h"

#include "kmod/packet_bytes.h"

namespace flowlift {

namespace {

constexpr uint8_t kSlowPathCookieType = 'S';
constexpr uint8_t kSlowPathCookieVersion = 1;

}  // namespace

std::vector<uint8_t> encode_slow_path_cookie(const SlowPathCookie& cookie) {
  std::vector<uint8_t> out(kSlowPathCookieSize);
  out[0] = kSlowPathCookieType;
  out[1] = kSlowPathCookieVersion;
  store_be32(out.data() + 2, cookie.reason);
  store_be32(out.data() + 6, cookie.ofp_in_port);
  return out;
}

std::optional<SlowPathCookie> decode_slow_path_cookie(std::span<const uint8_t> userdata) {
  if (userdata.size() != kSlowPathCookieSize || userdata[0] != kSlowPathCookieType ||
      userdata[1] != kSlowPathCookieVersion)
    return std::nullopt;
  return SlowPathCookie{load_be32(userdata.data() + 2), load_be32(userdata.data() + 6)};
}

}  // namespace flowlift
