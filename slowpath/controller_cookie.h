// ControllerCookie: what translation puts in the userdata of a datapath
// userspace(...) action that sends a packet to the OpenFlow controller (OVS's
// struct user_action_cookie of type USER_ACTION_COOKIE_CONTROLLER), so that
// the upcall handler knows why the packet came up and what packet-in to make,
// and so that ofproto/trace can print it as OVS does:
//   userspace(pid=0,controller(reason=2,dont_send=1,continuation=0,recirc_id=1,
//             rule_cookie=0,controller_id=0,max_len=65535))
//
// Why a layout of our own: OVS's cookie is a host-order C struct that also
// carries the bridge's UUID and meter id; only the fields above mean anything
// to flowlift. The encoding is fixed-size, big-endian and starts with a type
// byte and a version byte, so that a userspace action carrying anything else
// (a future sFlow cookie, raw userdata) never decodes as a controller cookie.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace flowlift {

struct ControllerCookie {
  uint8_t reason = 0;      // OfPacketInReason (OFPR_*)
  bool dont_send = false;  // translated for a trace: make the flow, send nothing
  bool continuation = false;
  uint32_t recirc_id = 0;  // the frozen state a continuation would resume from
  uint64_t rule_cookie = 0;
  uint16_t controller_id = 0;
  uint16_t max_len = UINT16_MAX;
  bool operator==(const ControllerCookie&) const = default;
};

inline constexpr size_t kControllerCookieSize = 20;

std::vector<uint8_t> encode_controller_cookie(const ControllerCookie& cookie);
// nullopt unless `userdata` is exactly an encoded controller cookie.
std::optional<ControllerCookie> decode_controller_cookie(std::span<const uint8_t> userdata);

// "controller(reason=2,dont_send=1,continuation=0,recirc_id=1,rule_cookie=0,
// controller_id=0,max_len=65535)", odp-util's spelling.
std::string format_controller_cookie(const ControllerCookie& cookie);

}  // namespace flowlift
