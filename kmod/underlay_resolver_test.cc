// The parts of UnderlayResolver that need no kernel: addresses as rtnetlink
// carries them and NUD state names as `ip neigh` prints them.
#include "kmod/underlay_resolver.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/neighbour.h>

namespace flowlift {
namespace {

TEST(UnderlayAddress, Ipv4TextRoundTripsInNetworkOrder) {
  Result<UnderlayAddress> address = UnderlayAddress::parse("192.0.2.9");
  ASSERT_TRUE(address);
  EXPECT_EQ(address->family, AF_INET);
  EXPECT_EQ(address->length(), 4u);
  EXPECT_EQ(address->as_ipv4(), htonl(0xc0000209));
  EXPECT_EQ(address->to_string(), "192.0.2.9");
  EXPECT_EQ(UnderlayAddress::ipv4(htonl(0xc0000209)), *address);
}

TEST(UnderlayAddress, Ipv6TextRoundTrips) {
  Result<UnderlayAddress> address = UnderlayAddress::parse("2001:db8::9");
  ASSERT_TRUE(address);
  EXPECT_EQ(address->family, AF_INET6);
  EXPECT_EQ(address->length(), 16u);
  EXPECT_EQ(address->to_string(), "2001:db8::9");
  Ipv6Addr bytes{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
  EXPECT_EQ(address->as_ipv6(), bytes);
  EXPECT_EQ(UnderlayAddress::ipv6(bytes), *address);
}

TEST(UnderlayAddress, TextThatIsNoAddressIsAnErrorNamingIt) {
  Result<UnderlayAddress> address = UnderlayAddress::parse("192.0.2.300");
  ASSERT_FALSE(address);
  EXPECT_EQ(address.status().code(), EINVAL);
  EXPECT_EQ(address.status().message(), "\"192.0.2.300\" is not an IPv4 or IPv6 address");
}

// The names iproute2 prints (ip/ipneigh.c nud_state_a2n table).
TEST(NeighbourStateName, MatchesIproute2) {
  EXPECT_EQ(neighbour_state_name(NUD_REACHABLE), "REACHABLE");
  EXPECT_EQ(neighbour_state_name(NUD_STALE), "STALE");
  EXPECT_EQ(neighbour_state_name(NUD_INCOMPLETE), "INCOMPLETE");
  EXPECT_EQ(neighbour_state_name(NUD_FAILED), "FAILED");
  EXPECT_EQ(neighbour_state_name(NUD_PERMANENT), "PERMANENT");
  EXPECT_EQ(neighbour_state_name(NUD_NOARP), "NOARP");
  EXPECT_EQ(neighbour_state_name(NUD_NONE), "NONE");
}

TEST(UnderlayPath, FillsTheEndpointsAddressesAndLeavesItsPorts) {
  UnderlayPath path;
  path.local = *UnderlayAddress::parse("10.0.0.1");
  path.local_mac = {2, 0, 0, 0, 0, 1};
  path.next_hop_mac = {2, 0, 0, 0, 0, 2};
  VxlanEndpoint endpoint;
  endpoint.udp_port = 4790;
  path.apply_to(endpoint);
  EXPECT_EQ(endpoint.src_mac, path.local_mac);
  EXPECT_EQ(endpoint.dst_mac, path.next_hop_mac);
  EXPECT_EQ(endpoint.local_ipv4, htonl(0x0a000001));
  EXPECT_EQ(endpoint.local_ipv6, Ipv6Addr{});
  EXPECT_EQ(endpoint.udp_port, 4790);
}

}  // namespace
}  // namespace flowlift
