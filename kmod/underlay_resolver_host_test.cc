// UnderlayResolver against the real kernel: each test builds its own network
// namespaces, veth pair, addresses, neighbours and routes with iproute2, runs
// the resolver inside them, and judges its answers by what `ip -j route get`,
// `ip -j neigh` and `ip -j link` say in the same namespace.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/neighbour.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "kmod/netns_test_support.h"
#include "kmod/underlay_resolver.h"

namespace flowlift {
namespace {

using UnderlayTestNetns = TestNetns;

std::string mac_text(const EthAddr& mac) {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                mac[5]);
  return text;
}

UnderlayAddress address(const char* text) { return *UnderlayAddress::parse(text); }

// Namespace "host" holds veth0 (10.77.0.1/24); namespace "peer" holds its
// other end veth1 (10.77.0.2/24). Both ends up.
class UnderlayResolverHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces";
    if (run_netns_command("ip netns list").exit_code != 0) GTEST_SKIP() << "`ip netns` is not available";
    host_ = std::make_unique<UnderlayTestNetns>(unique_netns_name("h"));
    peer_ = std::make_unique<UnderlayTestNetns>(unique_netns_name("p"));
    if (!host_->created() || !peer_->created()) GTEST_SKIP() << "cannot create network namespaces";
    host_->ip("link add veth0 type veth peer name veth1 netns " + peer_->name());
    host_->ip("addr add 10.77.0.1/24 dev veth0");
    host_->ip("link set veth0 up");
    peer_->ip("addr add 10.77.0.2/24 dev veth1");
    peer_->ip("link set veth1 up");
  }

  std::unique_ptr<UnderlayResolver> make_resolver(UnderlayResolver::Options options = {}) {
    auto resolver = host_->inside([&] { return UnderlayResolver::create(options); });
    EXPECT_TRUE(resolver) << resolver.status().message();
    return resolver ? std::move(*resolver) : nullptr;
  }

  // What iproute2 says about `remote` in the host namespace.
  void expect_matches_iproute(const UnderlayPath& path, const std::string& remote) {
    nlohmann::json route = host_->ip_json("route get " + remote);
    ASSERT_TRUE(route.is_array() && route.size() == 1) << route.dump();
    EXPECT_EQ(path.output_ifname, route[0]["dev"].get<std::string>());
    EXPECT_EQ(path.local.to_string(), route[0]["prefsrc"].get<std::string>());
    std::string next_hop = route[0].contains("gateway") ? route[0]["gateway"].get<std::string>() : remote;
    EXPECT_EQ(path.next_hop.to_string(), next_hop);
    EXPECT_EQ(path.gateway.has_value(), route[0].contains("gateway"));

    nlohmann::json link = host_->ip_json("link show dev " + path.output_ifname);
    ASSERT_TRUE(link.is_array() && link.size() == 1) << link.dump();
    EXPECT_EQ(path.output_ifindex, link[0]["ifindex"].get<int>());
    EXPECT_EQ(mac_text(path.local_mac), link[0]["address"].get<std::string>());

    nlohmann::json neighbours = host_->ip_json("neigh show " + next_hop + " dev " + path.output_ifname);
    ASSERT_TRUE(neighbours.is_array() && neighbours.size() == 1) << neighbours.dump();
    EXPECT_EQ(mac_text(path.next_hop_mac), neighbours[0]["lladdr"].get<std::string>());
    ASSERT_FALSE(neighbours[0]["state"].empty());
    EXPECT_EQ(neighbour_state_name(path.neighbour_state), neighbours[0]["state"][0].get<std::string>());
  }

  std::unique_ptr<UnderlayTestNetns> host_;
  std::unique_ptr<UnderlayTestNetns> peer_;
};

TEST_F(UnderlayResolverHostTest, OnLinkDestinationWithStaticNeighbourMatchesIproute) {
  host_->ip("neigh add 10.77.0.2 lladdr 02:00:00:77:00:02 dev veth0 nud permanent");
  auto resolver = make_resolver();
  ASSERT_TRUE(resolver);
  Result<UnderlayPath> path = resolver->resolve(address("10.77.0.2"));
  ASSERT_TRUE(path) << path.status().message();
  EXPECT_EQ(path->next_hop_mac, (EthAddr{0x02, 0, 0, 0x77, 0, 0x02}));
  EXPECT_EQ(path->neighbour_state, NUD_PERMANENT);
  EXPECT_FALSE(path->gateway);
  expect_matches_iproute(*path, "10.77.0.2");

  VxlanEndpoint endpoint;
  path->apply_to(endpoint);
  EXPECT_EQ(endpoint.dst_mac, path->next_hop_mac);
  EXPECT_EQ(endpoint.src_mac, path->local_mac);
  EXPECT_EQ(endpoint.local_ipv4, address("10.77.0.1").as_ipv4());
}

TEST_F(UnderlayResolverHostTest, GatewayRouteResolvesTheGatewaysNeighbour) {
  host_->ip("route add 198.51.100.0/24 via 10.77.0.254");
  host_->ip("neigh add 10.77.0.254 lladdr 02:00:00:77:00:fe dev veth0 nud permanent");
  auto resolver = make_resolver();
  ASSERT_TRUE(resolver);
  Result<UnderlayPath> path = resolver->resolve(address("198.51.100.9"));
  ASSERT_TRUE(path) << path.status().message();
  ASSERT_TRUE(path->gateway);
  EXPECT_EQ(path->gateway->to_string(), "10.77.0.254");
  EXPECT_EQ(mac_text(path->next_hop_mac), "02:00:00:77:00:fe");
  expect_matches_iproute(*path, "198.51.100.9");
}

TEST_F(UnderlayResolverHostTest, ArpExchangeGivesThePeersMac) {
  NetnsCommandOutput ping = run_netns_command("ip netns exec " + host_->name() + " ping -c1 -W1 10.77.0.2");
  ASSERT_EQ(ping.exit_code, 0) << ping.output;
  auto resolver = make_resolver();
  ASSERT_TRUE(resolver);
  Result<UnderlayPath> path = resolver->resolve(address("10.77.0.2"));
  ASSERT_TRUE(path) << path.status().message();
  nlohmann::json peer_link = peer_->ip_json("link show dev veth1");
  ASSERT_TRUE(peer_link.is_array() && peer_link.size() == 1);
  EXPECT_EQ(mac_text(path->next_hop_mac), peer_link[0]["address"].get<std::string>());
  expect_matches_iproute(*path, "10.77.0.2");
}

TEST_F(UnderlayResolverHostTest, NoRouteIsAnErrorNamingTheDestination) {
  auto resolver = make_resolver();
  ASSERT_TRUE(resolver);
  NetnsCommandOutput judge = run_netns_command("ip -n " + host_->name() + " route get 203.0.113.9");
  ASSERT_NE(judge.exit_code, 0) << "iproute2 found a route: " << judge.output;
  Result<UnderlayPath> path = resolver->resolve(address("203.0.113.9"));
  ASSERT_FALSE(path);
  EXPECT_EQ(path.status().code(), ENETUNREACH);
  EXPECT_EQ(path.status().message(), "no route to 203.0.113.9");
  EXPECT_EQ(resolver->cache_size(), 0u);
}

TEST_F(UnderlayResolverHostTest, UnknownNeighbourIsUnresolvedAndTheKernelIsAskedToResolveIt) {
  auto resolver = make_resolver();
  ASSERT_TRUE(resolver);
  Result<UnderlayPath> path = resolver->resolve(address("10.77.0.3"));
  ASSERT_FALSE(path);
  EXPECT_EQ(path.status().code(), EAGAIN);
  EXPECT_EQ(path.status().message(),
            "neighbour 10.77.0.3 on veth0 is not resolved (no entry); the kernel was asked to resolve it");
  // The kernel now resolves it itself: an INCOMPLETE entry, ARP in flight.
  nlohmann::json neighbours = host_->ip_json("neigh show 10.77.0.3 dev veth0");
  ASSERT_TRUE(neighbours.is_array() && neighbours.size() == 1) << neighbours.dump();
  EXPECT_EQ(neighbours[0]["state"][0].get<std::string>(), "INCOMPLETE");

  Result<UnderlayPath> again = resolver->resolve(address("10.77.0.3"));
  ASSERT_FALSE(again);
  EXPECT_EQ(
      again.status().message(),
      "neighbour 10.77.0.3 on veth0 is not resolved (state INCOMPLETE); the kernel was asked to resolve it");
}

TEST_F(UnderlayResolverHostTest, FailedNeighbourIsReportedWithItsState) {
  // The resolver does not ask here, so nothing changes the entry under us.
  UnderlayResolver::Options options;
  options.request_resolution = false;
  auto resolver = make_resolver(options);
  ASSERT_TRUE(resolver);
  host_->ip("neigh add 10.77.0.4 dev veth0 nud incomplete");
  Result<UnderlayPath> path = resolver->resolve(address("10.77.0.4"));
  ASSERT_FALSE(path);
  nlohmann::json neighbours = host_->ip_json("neigh show 10.77.0.4 dev veth0");
  ASSERT_TRUE(neighbours.is_array() && neighbours.size() == 1) << neighbours.dump();
  EXPECT_EQ(path.status().message(), "neighbour 10.77.0.4 on veth0 is not resolved (state " +
                                         neighbours[0]["state"][0].get<std::string>() + ")");
}

TEST_F(UnderlayResolverHostTest, InterfaceWithoutCarrierIsAnError) {
  host_->ip("neigh add 10.77.0.2 lladdr 02:00:00:77:00:02 dev veth0 nud permanent");
  peer_->ip("link set veth1 down");
  nlohmann::json link = host_->ip_json("link show dev veth0");
  ASSERT_TRUE(link.is_array() && link.size() == 1);
  ASSERT_EQ(link[0]["operstate"].get<std::string>(), "DOWN") << link.dump();
  auto resolver = make_resolver();
  ASSERT_TRUE(resolver);
  Result<UnderlayPath> path = resolver->resolve(address("10.77.0.2"));
  ASSERT_FALSE(path);
  EXPECT_EQ(path.status().code(), ENETDOWN);
  EXPECT_EQ(path.status().message(), "interface veth0 is down (no carrier)");
}

TEST_F(UnderlayResolverHostTest, AdministrativelyDownInterfaceLeavesNoRoute) {
  host_->ip("link set veth0 down");
  auto resolver = make_resolver();
  ASSERT_TRUE(resolver);
  Result<UnderlayPath> path = resolver->resolve(address("10.77.0.2"));
  ASSERT_FALSE(path);
  EXPECT_EQ(path.status().message(), "no route to 10.77.0.2");
}

TEST_F(UnderlayResolverHostTest, InterfaceWithoutIpv4AddressIsAnError) {
  host_->ip("addr flush dev veth0");
  host_->ip("route add 10.88.0.0/24 dev veth0");
  nlohmann::json route = host_->ip_json("route get 10.88.0.5");
  ASSERT_TRUE(route.is_array() && route.size() == 1);
  ASSERT_FALSE(route[0].contains("prefsrc")) << route.dump();
  auto resolver = make_resolver();
  ASSERT_TRUE(resolver);
  Result<UnderlayPath> path = resolver->resolve(address("10.88.0.5"));
  ASSERT_FALSE(path);
  EXPECT_EQ(path.status().code(), EADDRNOTAVAIL);
  EXPECT_EQ(path.status().message(), "interface veth0 has no IPv4 address to reach 10.88.0.5 from");
}

TEST_F(UnderlayResolverHostTest, NeighbourChangeInvalidatesTheCachedPath) {
  host_->ip("neigh add 10.77.0.2 lladdr 02:00:00:77:00:02 dev veth0 nud permanent");
  auto resolver = make_resolver();
  ASSERT_TRUE(resolver);
  ASSERT_GE(resolver->change_fd(), 0);
  ASSERT_TRUE(resolver->resolve(address("10.77.0.2")));
  ASSERT_EQ(resolver->cache_size(), 1u);

  host_->ip("neigh replace 10.77.0.2 lladdr 02:00:00:77:00:22 dev veth0 nud permanent");
  // Until the change is processed, the cache answers.
  Result<UnderlayPath> stale = resolver->resolve(address("10.77.0.2"));
  ASSERT_TRUE(stale);
  EXPECT_EQ(mac_text(stale->next_hop_mac), "02:00:00:77:00:02");

  Result<int> handled = resolver->process_changes();
  ASSERT_TRUE(handled) << handled.status().message();
  EXPECT_GE(*handled, 1);
  EXPECT_EQ(resolver->cache_size(), 0u);
  Result<UnderlayPath> fresh = resolver->resolve(address("10.77.0.2"));
  ASSERT_TRUE(fresh) << fresh.status().message();
  EXPECT_EQ(mac_text(fresh->next_hop_mac), "02:00:00:77:00:22");
  expect_matches_iproute(*fresh, "10.77.0.2");
}

TEST_F(UnderlayResolverHostTest, NeighbourChangeOfAnotherNextHopKeepsTheEntry) {
  host_->ip("neigh add 10.77.0.2 lladdr 02:00:00:77:00:02 dev veth0 nud permanent");
  auto resolver = make_resolver();
  ASSERT_TRUE(resolver);
  ASSERT_TRUE(resolver->resolve(address("10.77.0.2")));
  host_->ip("neigh add 10.77.0.9 lladdr 02:00:00:77:00:09 dev veth0 nud permanent");
  Result<int> handled = resolver->process_changes();
  ASSERT_TRUE(handled) << handled.status().message();
  EXPECT_GE(*handled, 1);
  EXPECT_EQ(resolver->cache_size(), 1u);
}

TEST_F(UnderlayResolverHostTest, RouteChangeInvalidatesTheCache) {
  host_->ip("route add 198.51.100.0/24 via 10.77.0.254");
  host_->ip("neigh add 10.77.0.254 lladdr 02:00:00:77:00:fe dev veth0 nud permanent");
  host_->ip("neigh add 10.77.0.253 lladdr 02:00:00:77:00:fd dev veth0 nud permanent");
  auto resolver = make_resolver();
  ASSERT_TRUE(resolver);
  ASSERT_TRUE(resolver->resolve(address("198.51.100.9")));
  host_->ip("route replace 198.51.100.0/24 via 10.77.0.253");
  ASSERT_TRUE(resolver->process_changes());
  Result<UnderlayPath> path = resolver->resolve(address("198.51.100.9"));
  ASSERT_TRUE(path) << path.status().message();
  EXPECT_EQ(path->next_hop.to_string(), "10.77.0.253");
  expect_matches_iproute(*path, "198.51.100.9");
}

TEST_F(UnderlayResolverHostTest, EntriesIdleFifteenMinutesAreAskedAgain) {
  host_->ip("neigh add 10.77.0.2 lladdr 02:00:00:77:00:02 dev veth0 nud permanent");
  UnderlayResolver::Options options;
  options.listen_for_changes = false;
  auto resolver = make_resolver(options);
  ASSERT_TRUE(resolver);
  EXPECT_EQ(resolver->change_fd(), -1);
  const auto start = UnderlayResolver::Clock::now();
  ASSERT_TRUE(resolver->resolve(address("10.77.0.2"), start));
  host_->ip("neigh replace 10.77.0.2 lladdr 02:00:00:77:00:22 dev veth0 nud permanent");
  // Used within 15 minutes: still cached, and the use restarts the idle time.
  Result<UnderlayPath> cached = resolver->resolve(address("10.77.0.2"), start + std::chrono::minutes(14));
  ASSERT_TRUE(cached);
  EXPECT_EQ(mac_text(cached->next_hop_mac), "02:00:00:77:00:02");
  EXPECT_EQ(resolver->expire_idle(start + std::chrono::minutes(28)), 0u);
  Result<UnderlayPath> fresh = resolver->resolve(address("10.77.0.2"), start + std::chrono::minutes(29));
  ASSERT_TRUE(fresh);
  EXPECT_EQ(mac_text(fresh->next_hop_mac), "02:00:00:77:00:22");
  EXPECT_EQ(resolver->expire_idle(start + std::chrono::minutes(44)), 1u);
  EXPECT_EQ(resolver->cache_size(), 0u);
}

TEST_F(UnderlayResolverHostTest, LocalAddressIsNotARemoteVtep) {
  auto resolver = make_resolver();
  ASSERT_TRUE(resolver);
  Result<UnderlayPath> path = resolver->resolve(address("10.77.0.1"));
  ASSERT_FALSE(path);
  EXPECT_EQ(path.status().message(), "10.77.0.1 is an address of this host, not a remote VTEP");
}

TEST_F(UnderlayResolverHostTest, Ipv6DestinationWithStaticNeighbourMatchesIproute) {
  host_->ip("addr add 2001:db8:77::1/64 dev veth0 nodad");
  host_->ip("neigh add 2001:db8:77::2 lladdr 02:00:00:77:06:02 dev veth0 nud permanent");
  auto resolver = make_resolver();
  ASSERT_TRUE(resolver);
  Result<UnderlayPath> path = resolver->resolve(address("2001:db8:77::2"));
  ASSERT_TRUE(path) << path.status().message();
  EXPECT_EQ(mac_text(path->next_hop_mac), "02:00:00:77:06:02");
  EXPECT_EQ(path->local.to_string(), "2001:db8:77::1");
  expect_matches_iproute(*path, "2001:db8:77::2");
  VxlanEndpoint endpoint;
  path->apply_to(endpoint);
  EXPECT_EQ(endpoint.local_ipv6, address("2001:db8:77::1").as_ipv6());
}

}  // namespace
}  // namespace flowlift
