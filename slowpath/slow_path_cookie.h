// SlowPathCookie: the userdata of the one datapath action a slow-pathed
// megaflow carries (OVS's user_action_cookie of type
// USER_ACTION_COOKIE_SLOW_PATH). A translation the datapath cannot run
// (XlateSlowReason) is installed as "userspace(slow_path(...))": every packet
// it matches comes up as an action upcall, and the handler translates it
// again and executes the full actions itself, so the megaflow still stops
// the misses without asking the datapath to do what it cannot.
//
// Why a layout of our own: as with ControllerCookie, only the reason and the
// input port mean anything to flowlift. Type byte 'S' and a version byte
// first, so it never decodes as a controller cookie ('C') or vice versa.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace flowlift {

struct SlowPathCookie {
  uint32_t reason = 0;       // XlateSlowReason bits
  uint32_t ofp_in_port = 0;  // the OpenFlow port the packet came in on
  bool operator==(const SlowPathCookie&) const = default;
};

inline constexpr size_t kSlowPathCookieSize = 10;

std::vector<uint8_t> encode_slow_path_cookie(const SlowPathCookie& cookie);
// nullopt unless `userdata` is exactly an encoded slow-path cookie.
std::optional<SlowPathCookie> decode_slow_path_cookie(std::span<const uint8_t> userdata);

}  // namespace flowlift
