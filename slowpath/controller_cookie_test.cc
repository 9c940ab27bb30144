// ControllerCookie: round trip, refusal of other userdata, odp-util's text.
#include "slowpath/controller_cookie.h"

#include <gtest/gtest.h>

namespace flowlift {
namespace {

TEST(ControllerCookie, RoundTrips) {
  ControllerCookie c{2, true, false, 0x01020304, 0x1122334455667788ull, 9, 128};
  std::vector<uint8_t> bytes = encode_controller_cookie(c);
  EXPECT_EQ(bytes.size(), kControllerCookieSize);
  std::optional<ControllerCookie> back = decode_controller_cookie(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, c);
}

TEST(ControllerCookie, OtherUserdataIsNotACookie) {
  std::vector<uint8_t> bytes = encode_controller_cookie(ControllerCookie{});
  EXPECT_FALSE(decode_controller_cookie(std::span(bytes).first(bytes.size() - 1)));
  bytes[0] = 'S';
  EXPECT_FALSE(decode_controller_cookie(bytes));
  bytes = encode_controller_cookie(ControllerCookie{});
  bytes[3] = 0x80;  // unknown flag bit
  EXPECT_FALSE(decode_controller_cookie(bytes));
  EXPECT_FALSE(decode_controller_cookie({}));
}

TEST(ControllerCookie, PrintsAsOdpUtil) {
  // The oracle's A03: dec_ttl at TTL 1, traced.
  EXPECT_EQ(format_controller_cookie(ControllerCookie{2, true, false, 1, 0, 0, 65535}),
            "controller(reason=2,dont_send=1,continuation=0,recirc_id=1,rule_cookie=0,controller_id=0,max_"
            "len=65535)");
  EXPECT_EQ(format_controller_cookie(ControllerCookie{1, false, true, 7, 0x2a, 3, 128}),
            "controller(reason=1,dont_send=0,continuation=1,recirc_id=7,rule_cookie=0x2a,controller_id=3,max_"
            "len=128)");
}

}  // namespace
}  // namespace flowlift
