// Udpif over the real userspace datapath (UserspaceDpif with dummy ports,
// no kernel state): a packet injected on p1 comes out of p2 whether it was
// the miss (executed by a handler thread) or a later hit (the installed
// megaflow), and the revalidator credits both to the rule.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "kmod/packet_compose.h"
#include "kmod/userspace_dpif.h"
#include "slowpath/of_bridge.h"
#include "slowpath/of_tables_for_tests.h"
#include "slowpath/udpif.h"

namespace flowlift {
namespace {

FlowKey udp_key_to(std::string_view nw_dst, uint16_t tp_src) {
  FlowKey key{};
  key.eth_src = {0x02, 0, 0, 0, 0, 1};
  key.eth_dst = {0x02, 0, 0, 0, 0, 2};
  key.eth_type = htons(0x0800);
  key.ip_proto = 17;
  key.ip_ttl = 64;
  key.ipv4_src = inet_addr("10.0.0.1");
  key.ipv4_dst = inet_addr(std::string(nw_dst).c_str());
  key.tp_src = htons(tp_src);
  key.tp_dst = htons(53);
  return key;
}

TEST(UdpifOverUserspaceDpif, MissesAndHitsBothLeaveByTheRulesPortAndAreCredited) {
  UserspaceDpifOptions options;
  options.kernel_underlay = false;
  Result<std::unique_ptr<UserspaceDpif>> created = UserspaceDpif::create(options);
  ASSERT_TRUE(created) << created.status().message();
  UserspaceDpif& dpif = **created;
  auto bridge = std::make_shared<OfBridge>("br0");
  for (uint32_t number = 1; number <= 2; ++number) {
    DpifPortRequest request;
    request.name = "p" + std::to_string(number);
    request.number = number;
    ASSERT_TRUE(dpif.port_add(request));
    XlatePort port;
    port.name = request.name;
    port.ofp_port = number;
    port.datapath_port = number;
    ASSERT_TRUE(bridge->ports().add_port(port));
  }
  of_tables_testing::apply_ok(bridge->tables(), "priority=10,ip,nw_dst=10.0.0.2,actions=output:p2",
                              monotonic_ms());
  OfBridgeSet bridges;
  ASSERT_TRUE(bridges.add(bridge));

  UdpifConfig config;
  config.n_handlers = 2;
  Udpif udpif(dpif, bridges, config);
  udpif.start();

  std::vector<Packet> sent;
  auto send = [&](uint16_t tp_src) {
    Packet packet = compose_packet(udp_key_to("10.0.0.2", tp_src), 20);
    sent.push_back(packet);
    ASSERT_TRUE(dpif.inject(1, std::move(packet)));
  };
  std::vector<Packet> received;
  auto receive_until = [&](size_t count) {
    // Bounded wait for the handler thread; no speed is asserted.
    for (int i = 0; i < 10000 && received.size() < count; ++i) {
      Result<std::vector<Packet>> captured = dpif.capture(2, 16);
      ASSERT_TRUE(captured);
      for (Packet& packet : *captured) received.push_back(std::move(packet));
      if (received.size() < count) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };

  send(1000);  // a miss: the handler installs the flow and executes the packet
  receive_until(1);
  ASSERT_EQ(received.size(), 1u);
  ASSERT_EQ(dpif.flow_dump().size(), 1u);
  send(1001);  // a hit on the installed megaflow
  receive_until(2);
  ASSERT_EQ(received.size(), 2u);
  for (size_t i = 0; i < 2; ++i)
    EXPECT_TRUE(std::equal(received[i].bytes().begin(), received[i].bytes().end(), sent[i].bytes().begin(),
                           sent[i].bytes().end()));
  DpifStats stats = dpif.stats();
  EXPECT_EQ(stats.missed, 1u);
  EXPECT_EQ(stats.hit, 1u);

  udpif.revalidate_and_wait();
  udpif.stop();
  const OfTableRule* rule = of_tables_testing::rule_with_priority(bridge->tables(), 0, 10);
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->packets(), 2u);
  EXPECT_EQ(udpif.stats().executes, 1u);
  EXPECT_EQ(udpif.stats().flows_installed, 1u);
}

}  // namespace
}  // namespace flowlift
