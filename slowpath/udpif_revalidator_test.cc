// The revalidation round: crediting, idle deletion, OpenFlow expiry,
// re-translation after flow-mods, the sweep of vanished flows, purge, the
// dynamic flow limit arithmetic, and the threaded mode.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "slowpath/udpif.h"
#include "slowpath/udpif_round_policy.h"
#include "slowpath/udpif_test_fixture.h"

namespace flowlift::udpif_testing {
namespace {

using UdpifRevalidator = UdpifTest;

TEST_F(UdpifRevalidator, RuleCountersEqualThePacketsSent) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2\npriority=0,actions=drop");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2", 80);  // the miss: credited when translated
  udpif.handle_upcalls(64);
  for (uint16_t port = 81; port < 85; ++port) inject(1, "10.0.0.2", port);  // four hits
  ASSERT_EQ(dpif_.stats().hit, 4u);

  udpif.revalidate();
  ASSERT_NE(rule(10), nullptr);
  EXPECT_EQ(rule(10)->packets(), 5u);
  EXPECT_EQ(rule(10)->bytes(), 5 * kFrameBytes);
  EXPECT_EQ(rule(0)->packets(), 0u);

  udpif.revalidate();  // nothing new: nothing credited twice
  EXPECT_EQ(rule(10)->packets(), 5u);

  inject(1, "10.0.0.2", 90);
  inject(1, "10.0.0.2", 91);
  udpif.revalidate();
  EXPECT_EQ(rule(10)->packets(), 7u);

  // As `ovs-ofctl dump-flows` shows it.
  OfFlowDumpOptions options;
  options.ports = &bridge_->ports().port_names();
  std::vector<std::string> lines = dump_of_flows(bridge_->tables(), now_ms(), options);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("n_packets=7, n_bytes=700,"), std::string::npos) << lines[0];
}

TEST_F(UdpifRevalidator, IdleFlowIsDeletedAfterMaxIdle) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2");
  UdpifConfig udpif_config = config();
  udpif_config.max_idle_ms = 10000;
  Udpif udpif(dpif_, bridges_, udpif_config);
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);

  advance_ms(9000);
  udpif.revalidate();
  EXPECT_EQ(dpif_.flow_dump().size(), 1u);  // 9 s without a hit: kept
  inject(1, "10.0.0.2", 81);                // a hit makes it young again
  advance_ms(9000);
  udpif.revalidate();
  EXPECT_EQ(dpif_.flow_dump().size(), 1u);
  EXPECT_EQ(udpif.stats().flows_deleted_idle, 0u);

  advance_ms(1001);  // 10.001 s since the hit
  udpif.revalidate();
  EXPECT_TRUE(dpif_.flow_dump().empty());
  UdpifStats stats = udpif.stats();
  EXPECT_EQ(stats.flows_deleted_idle, 1u);
  EXPECT_EQ(stats.ukeys, 0u);
  EXPECT_EQ(rule(10)->packets(), 2u);  // the miss and the hit
}

TEST_F(UdpifRevalidator, AFlowInHardwareGetsTwoSecondsMoreBecauseItsCountersLag) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2");
  UdpifConfig udpif_config = config();
  udpif_config.max_idle_ms = 10000;
  Udpif udpif(dpif_, bridges_, udpif_config);
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);
  dpif_.set_dump_placement(MegaflowPlacement::kInHardware);

  advance_ms(11900);  // idle past max_idle, but hardware counters may trail by 2 s
  udpif.revalidate();
  EXPECT_EQ(dpif_.flow_dump().size(), 1u);
  EXPECT_EQ(udpif.stats().flows_deleted_idle, 0u);

  advance_ms(200);  // 12.1 s
  udpif.revalidate();
  EXPECT_TRUE(dpif_.flow_dump().empty());
  EXPECT_EQ(udpif.stats().flows_deleted_idle, 1u);
}

TEST_F(UdpifRevalidator, AFlowInTcSoftwareExpiresAtMaxIdleAsADatapathFlowDoes) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2");
  UdpifConfig udpif_config = config();
  udpif_config.max_idle_ms = 10000;
  Udpif udpif(dpif_, bridges_, udpif_config);
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);
  dpif_.set_dump_placement(MegaflowPlacement::kTcSoftware);

  advance_ms(10100);
  udpif.revalidate();
  EXPECT_TRUE(dpif_.flow_dump().empty());
}

TEST_F(UdpifRevalidator, SetMaxIdleTakesEffectInTheNextRound) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);
  advance_ms(2000);
  udpif.revalidate();
  EXPECT_EQ(dpif_.flow_dump().size(), 1u);
  udpif.set_max_idle_ms(1000);
  EXPECT_EQ(udpif.config().max_idle_ms, 1000u);
  udpif.revalidate();
  EXPECT_TRUE(dpif_.flow_dump().empty());
}

TEST_F(UdpifRevalidator, AModifiedRuleChangesTheMegaflowsActionsInOneRound) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);
  Ufid ufid = dpif_.puts()[0].flow.ufid;

  apply("modify ip,nw_dst=10.0.0.2,actions=output:p3");
  udpif.revalidate();

  Result<Megaflow> flow = dpif_.flow_get(ufid);
  ASSERT_TRUE(flow);
  EXPECT_EQ(flow->actions, output_to(3));
  std::vector<DpifFlowPut> puts = dpif_.puts();
  ASSERT_EQ(puts.size(), 2u);
  EXPECT_FALSE(puts[1].create);
  EXPECT_TRUE(puts[1].modify);
  UdpifStats stats = udpif.stats();
  EXPECT_EQ(stats.flows_modified_revalidated, 1u);
  EXPECT_EQ(stats.flows_deleted_revalidated, 0u);
  // The ukey now names the new rule object and the new sequence.
  std::vector<UdpifFlowInfo> info = udpif.flow_info();
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].change_sequence, bridge_->change_sequence());
  // The replaced rule is reclaimed: no ukey holds its version any more.
  EXPECT_EQ(bridge_->tables().n_retired(), 0u);

  // Hits on the modified flow are credited to the rule that replaced it.
  inject(1, "10.0.0.2", 81);
  udpif.revalidate();
  EXPECT_EQ(rule(10)->packets(), 2u);
}

TEST_F(UdpifRevalidator, AnUnchangedBridgeIsNotTranslatedAgain) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);
  // A rule change that leaves the translation as it was: the flow is
  // translated again (its bridge changed) and kept without a put.
  apply("priority=5,arp,actions=output:p3");
  udpif.revalidate();
  udpif.revalidate();
  EXPECT_EQ(dpif_.puts().size(), 1u);
  EXPECT_EQ(dpif_.flow_dump().size(), 1u);
  UdpifStats stats = udpif.stats();
  EXPECT_EQ(stats.flows_modified_revalidated, 0u);
  EXPECT_EQ(stats.flows_deleted_revalidated, 0u);
}

TEST_F(UdpifRevalidator, ADeletedRulesMegaflowTakesTheTableMissDrop) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2\npriority=0,actions=drop");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);
  Ufid ufid = dpif_.puts()[0].flow.ufid;

  apply("delete_strict priority=10,ip,nw_dst=10.0.0.2");
  udpif.revalidate();

  // OVS keeps a flow whose new translation needs no more bits than it
  // matches, with the new actions: here the drop of the priority-0 rule.
  Result<Megaflow> flow = dpif_.flow_get(ufid);
  ASSERT_TRUE(flow);
  EXPECT_TRUE(flow->actions.empty());
  EXPECT_EQ(bridge_->tables().n_retired(), 0u);
  std::vector<UdpifFlowInfo> info = udpif.flow_info();
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].rules, std::vector<std::string>{"table=0,priority=0"});
}

TEST_F(UdpifRevalidator, ANewRuleThatNeedsMoreBitsDeletesTheMegaflow) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2", 80);
  udpif.handle_upcalls(64);
  Ufid ufid = dpif_.puts()[0].flow.ufid;

  // Port 80 now goes elsewhere: the installed flow (any TCP port) is too wide.
  apply("priority=20,tcp,nw_dst=10.0.0.2,tp_dst=80,actions=output:p3");
  udpif.revalidate();
  EXPECT_EQ(dpif_.flow_get(ufid).status().code(), ENOENT);
  EXPECT_EQ(udpif.stats().flows_deleted_revalidated, 1u);
  EXPECT_EQ(udpif.stats().ukeys, 0u);

  inject(1, "10.0.0.2", 80);
  udpif.handle_upcalls(64);
  EXPECT_EQ(dpif_.executions().back().actions, output_to(3));
}

TEST_F(UdpifRevalidator, AnOpenFlowIdleTimeoutExpiresTheRuleAndItsMegaflowStopsForwarding) {
  apply("priority=10,idle_timeout=5,ip,nw_dst=10.0.0.2,actions=output:p2");
  UdpifConfig udpif_config = config();
  udpif_config.max_idle_ms = 10000;
  Udpif udpif(dpif_, bridges_, udpif_config);
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);
  Ufid ufid = dpif_.puts()[0].flow.ufid;

  advance_ms(4000);
  udpif.revalidate();
  EXPECT_EQ(udpif.stats().rules_expired, 0u);
  EXPECT_NE(rule(10), nullptr);

  advance_ms(1001);  // 5.001 s since the packet used the rule
  udpif.revalidate();
  EXPECT_EQ(udpif.stats().rules_expired, 1u);
  EXPECT_EQ(rule(10), nullptr);
  // In the same round the flow was translated again: a table miss, drop.
  Result<Megaflow> flow = dpif_.flow_get(ufid);
  ASSERT_TRUE(flow);
  EXPECT_TRUE(flow->actions.empty());
  EXPECT_EQ(bridge_->tables().n_retired(), 0u);

  // And with no traffic it goes after max_idle.
  advance_ms(5000);
  udpif.revalidate();
  EXPECT_EQ(dpif_.flow_get(ufid).status().code(), ENOENT);
}

TEST_F(UdpifRevalidator, HitsKeepAnIdleTimeoutRuleAlive) {
  apply("priority=10,idle_timeout=5,ip,nw_dst=10.0.0.2,actions=output:p2");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);
  for (int i = 0; i < 3; ++i) {
    advance_ms(4000);
    inject(1, "10.0.0.2", 81);  // a hit, credited by the next round
    udpif.revalidate();
  }
  EXPECT_EQ(udpif.stats().rules_expired, 0u);
  ASSERT_NE(rule(10), nullptr);
  EXPECT_EQ(rule(10)->packets(), 4u);
}

TEST_F(UdpifRevalidator, FlowsWithoutUkeyAreDeleted) {
  Udpif udpif(dpif_, bridges_, config());
  DpifFlowPut put;
  put.flow.ufid.bytes[0] = 0x42;
  put.flow.match = Match(tcp_key(1, "10.0.0.9"), FlowMask::exact());
  put.flow.actions = output_to(2);
  ASSERT_TRUE(dpif_.flow_put(put));
  udpif.revalidate();
  EXPECT_TRUE(dpif_.flow_dump().empty());
}

TEST_F(UdpifRevalidator, AFlowThatVanishedFromTheDatapathLosesItsUkeyAndIsSetUpAgain) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);
  ASSERT_TRUE(dpif_.flow_flush());

  udpif.revalidate();
  EXPECT_EQ(udpif.stats().ukeys, 0u);
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);
  EXPECT_EQ(dpif_.flow_dump().size(), 1u);
  EXPECT_EQ(udpif.stats().flows_installed, 2u);
}

TEST_F(UdpifRevalidator, ARemovedBridgesFlowsAreDeleted) {
  apply("priority=10,ip,actions=output:p2");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);
  ASSERT_TRUE(bridges_.remove("br0"));
  udpif.revalidate();
  EXPECT_TRUE(dpif_.flow_dump().empty());
  EXPECT_EQ(udpif.stats().ukeys, 0u);
}

// Udpif holds no reference per ukey (UdpifKey::bridge is a plain pointer):
// a bridge removed from the set must still live while a ukey names it, for
// the round that credits and deletes its flows, and go after that round.
TEST_F(UdpifRevalidator, ARemovedBridgeLivesUntilTheRoundThatDeletesItsFlows) {
  apply("priority=10,ip,actions=output:p2");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2");
  inject(1, "10.0.0.3", 81);
  udpif.handle_upcalls(64);
  ASSERT_EQ(udpif.stats().flows_installed, 1u);
  std::weak_ptr<OfBridge> removed = bridge_;
  ASSERT_TRUE(bridges_.remove("br0"));
  bridge_.reset();
  EXPECT_FALSE(removed.expired());
  udpif.revalidate();
  EXPECT_TRUE(dpif_.flow_dump().empty());
  EXPECT_EQ(udpif.stats().flows_deleted_revalidated, 1u);
  EXPECT_EQ(udpif.stats().ukeys, 0u);
  EXPECT_TRUE(removed.expired());
}

// A bridge that stays in the set keeps its flows across rounds, and a round
// after all its flows went idle leaves it usable for new setups.
TEST_F(UdpifRevalidator, ABridgeWhoseFlowsAllWentIdleStillSetsUpNewFlows) {
  apply("priority=10,ip,actions=output:p2");
  UdpifConfig udpif_config = config();
  udpif_config.max_idle_ms = 1000;
  Udpif udpif(dpif_, bridges_, udpif_config);
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);
  advance_ms(5000);
  udpif.revalidate();
  ASSERT_EQ(udpif.stats().flows_deleted_idle, 1u);
  ASSERT_EQ(udpif.stats().ukeys, 0u);
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);
  EXPECT_EQ(udpif.stats().flows_installed, 2u);
  EXPECT_EQ(udpif.stats().ukeys, 1u);
  ASSERT_EQ(udpif.flow_info().size(), 1u);
  EXPECT_EQ(udpif.flow_info()[0].bridge, "br0");
}

TEST_F(UdpifRevalidator, PurgeDeletesEverythingAndCreditsTheLastPackets) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2\npriority=10,ip,nw_dst=10.0.0.3,actions=output:p3");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2");
  inject(1, "10.0.0.3");
  udpif.handle_upcalls(64);
  inject(1, "10.0.0.2", 81);
  inject(1, "10.0.0.3", 81);
  inject(1, "10.0.0.3", 82);

  udpif.purge();
  EXPECT_TRUE(dpif_.flow_dump().empty());
  EXPECT_EQ(udpif.stats().ukeys, 0u);
  uint64_t packets = 0;
  bridge_->tables().table(0).for_each_rule([&](const OfTableRule& r) { packets += r.packets(); });
  EXPECT_EQ(packets, 5u);
}

TEST_F(UdpifRevalidator, FlowLimitClampsAtOnceAndRoundsKeepItAtTheConfiguredLimit) {
  UdpifConfig udpif_config = config();
  udpif_config.flow_limit = 200000;
  Udpif udpif(dpif_, bridges_, udpif_config);
  EXPECT_EQ(udpif.stats().flow_limit, 10000u);  // OVS starts the dynamic limit at 10000
  udpif.set_flow_limit(500);
  EXPECT_EQ(udpif.stats().flow_limit, 500u);
  udpif.revalidate();  // an instant round with no flows: no growth, held at 500
  EXPECT_EQ(udpif.stats().flow_limit, 500u);
}

// Open vSwitch 3.1's udpif_revalidator() arithmetic, case by case.
TEST(UdpifFlowLimit, ShrinksAndGrowsAsOvsDoes) {
  // Over 2 s: divided by the whole seconds.
  EXPECT_EQ(udpif_next_flow_limit(10000, 2500, 0, 200000), 5000u);
  EXPECT_EQ(udpif_next_flow_limit(10000, 5999, 0, 200000), 2000u);
  EXPECT_EQ(udpif_next_flow_limit(90000, 3000, 50000, 200000), 30000u);
  // Over 1.3 s (2 s included): three quarters.
  EXPECT_EQ(udpif_next_flow_limit(10000, 1500, 0, 200000), 7500u);
  EXPECT_EQ(udpif_next_flow_limit(10000, 2000, 0, 200000), 7500u);
  EXPECT_EQ(udpif_next_flow_limit(10001, 1301, 0, 200000), 7500u);
  // 1 s to 1.3 s: unchanged.
  EXPECT_EQ(udpif_next_flow_limit(10000, 1000, 1000000, 200000), 10000u);
  EXPECT_EQ(udpif_next_flow_limit(10000, 1300, 0, 200000), 10000u);
  // Under 1 s: +1000 when the pace would have handled more than the limit.
  EXPECT_EQ(udpif_next_flow_limit(10000, 500, 5001, 200000), 11000u);  // 10002 > 10000
  EXPECT_EQ(udpif_next_flow_limit(10000, 500, 5000, 200000), 10000u);  // 10000, not more
  EXPECT_EQ(udpif_next_flow_limit(10000, 0, 11, 200000), 11000u);      // duration counts as 1 ms
  // Never under 1000, never over the configured limit (which wins if lower).
  EXPECT_EQ(udpif_next_flow_limit(1200, 10000, 0, 200000), 1000u);
  EXPECT_EQ(udpif_next_flow_limit(199500, 100, 1000000, 200000), 200000u);
  EXPECT_EQ(udpif_next_flow_limit(10000, 100, 0, 500), 500u);
  EXPECT_EQ(udpif_next_flow_limit(100, 100, 0, 200000), 1000u);
}

TEST(UdpifShouldRevalidate, FollowsOvs) {
  // A flow never seen used, or a quick previous round: always.
  EXPECT_TRUE(udpif_should_revalidate(0, 0, 5000, 10000, 500));
  EXPECT_TRUE(udpif_should_revalidate(1000, 0, 900000, 249, 500));
  // A slow previous round: only flows above 5 packets per second.
  EXPECT_TRUE(udpif_should_revalidate(1000, 10, 2000, 250, 500));   // 100 ms between packets
  EXPECT_FALSE(udpif_should_revalidate(1000, 5, 2000, 250, 500));   // 200 ms: not above 5 pps
  EXPECT_FALSE(udpif_should_revalidate(1000, 0, 2000, 1000, 500));  // no packets counts as one
  EXPECT_TRUE(udpif_should_revalidate(3000, 0, 2000, 1000, 500));   // used after now: gap 0
}

TEST_F(UdpifRevalidator, ThreadedHandlersAndRevalidatorInstallExecuteCreditAndStopCleanly) {
  apply("priority=10,ip,actions=output:p2");
  for (int i = 0; i < 16; ++i)
    apply("priority=20,ip,nw_dst=10.0.1." + std::to_string(i) + ",actions=output:p3");
  UdpifConfig udpif_config = config();
  udpif_config.n_handlers = 2;
  udpif_config.upcall_batch = 4;
  udpif_config.revalidate_interval_ms = 50;
  Udpif udpif(dpif_, bridges_, udpif_config);
  udpif.start();
  udpif.start();  // a second start changes nothing

  constexpr int kFlows = 16, kPacketsPerFlow = 4;
  for (int round = 0; round < kPacketsPerFlow; ++round)
    for (int i = 0; i < kFlows; ++i)
      inject(1, "10.0.1." + std::to_string(i), static_cast<uint16_t>(1000 + round));

  // Wait (bounded) for the handlers to drain the queue; no speed is asserted.
  for (int i = 0; i < 10000 && (dpif_.queued_upcalls() > 0 || udpif.stats().executes < dpif_.stats().missed);
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  udpif.revalidate_and_wait();

  DpifStats datapath = dpif_.stats();
  EXPECT_EQ(datapath.hit + datapath.missed, uint64_t{kFlows * kPacketsPerFlow});
  UdpifStats stats = udpif.stats();
  EXPECT_EQ(stats.upcalls, datapath.missed);
  EXPECT_EQ(stats.executes, datapath.missed);  // every upcalled packet executed
  EXPECT_EQ(stats.flows_installed, uint64_t{kFlows});
  EXPECT_EQ(stats.flows_installed + stats.flows_already_present, datapath.missed);
  EXPECT_EQ(dpif_.flow_dump().size(), size_t{kFlows});
  EXPECT_GE(stats.revalidation_rounds, 1u);
  uint64_t packets = 0;
  bridge_->tables().table(0).for_each_rule([&](const OfTableRule& r) { packets += r.packets(); });
  EXPECT_EQ(packets, uint64_t{kFlows * kPacketsPerFlow});

  // A flow-mod while the threads run reaches the flows without anyone
  // asking for a round: the revalidator sees the bridge's sequence move.
  apply("modify_strict priority=20,ip,nw_dst=10.0.1.0,actions=output:p2");
  auto modified = [&] {
    for (const Megaflow& flow : dpif_.flow_dump())
      if (flow.actions == output_to(2)) return true;
    return false;
  };
  for (int i = 0; i < 10000 && !modified(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(modified());

  udpif.stop();
  udpif.stop();
  // Stopped: revalidate_and_wait runs the round itself.
  uint64_t rounds = udpif.stats().revalidation_rounds;
  udpif.revalidate_and_wait();
  EXPECT_EQ(udpif.stats().revalidation_rounds, rounds + 1);
}

// Handlers, the revalidator thread, flow-mods and rounds from the test
// thread all at once: afterwards every flow has the actions its rule has now,
// and no packet's credit was lost or counted twice.
TEST_F(UdpifRevalidator, ConcurrentFlowModsUpcallsAndRoundsKeepFlowsAndCountersConsistent) {
  constexpr int kDestinations = 8, kPackets = 120;
  for (int i = 0; i < kDestinations; ++i)
    apply("priority=20,ip,nw_dst=10.0.2." + std::to_string(i) + ",actions=output:p2");
  UdpifConfig udpif_config = config();
  udpif_config.n_handlers = 2;
  udpif_config.upcall_batch = 3;
  Udpif udpif(dpif_, bridges_, udpif_config);
  udpif.start();
  std::vector<uint32_t> port_of(kDestinations, 2);
  for (int i = 0; i < kPackets; ++i) {
    int destination = i % kDestinations;
    inject(1, "10.0.2." + std::to_string(destination), static_cast<uint16_t>(1000 + i));
    if (i % 5 == 0) {
      int changed = (i / 5) % kDestinations;
      port_of[changed] = port_of[changed] == 2 ? 3 : 2;
      apply("modify_strict priority=20,ip,nw_dst=10.0.2." + std::to_string(changed) + ",actions=output:p" +
            std::to_string(port_of[changed]));
    }
    if (i % 7 == 0) udpif.revalidate();
  }
  for (int i = 0; i < 10000 && (dpif_.queued_upcalls() > 0 || udpif.stats().executes < dpif_.stats().missed);
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  udpif.stop();
  EXPECT_EQ(udpif.stats().executes, dpif_.stats().missed);

  udpif.revalidate();  // brings every flow up to date with the last flow-mods
  for (const Megaflow& flow : dpif_.flow_dump()) {
    uint32_t destination = ntohl(flow.match.key.ipv4_dst) & 0xff;
    ASSERT_LT(destination, uint32_t{kDestinations});
    EXPECT_EQ(flow.actions, output_to(port_of[destination])) << "10.0.2." << destination;
  }
  udpif.purge();
  uint64_t packets = 0;
  bridge_->tables().table(0).for_each_rule([&](const OfTableRule& r) { packets += r.packets(); });
  EXPECT_EQ(packets, uint64_t{kPackets});
  EXPECT_EQ(bridge_->tables().n_retired(), 0u);
}

}  // namespace
}  // namespace flowlift::udpif_testing
