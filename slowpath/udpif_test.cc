// Upcall handling: what a miss installs and executes, duplicate setups,
// the flow limit, errors, action upcalls, flow_info.
#include "slowpath/udpif.h"

#include <endian.h>
#include <gtest/gtest.h>

#include "slowpath/controller_cookie.h"
#include "slowpath/of_flow_key.h"
#include "slowpath/oracle_trace_replay.h"
#include "slowpath/slow_path_cookie.h"
#include "slowpath/udpif_test_fixture.h"
#include "slowpath/xlate.h"

namespace flowlift::udpif_testing {
namespace {

using UdpifHandler = UdpifTest;

TEST_F(UdpifHandler, MissInstallsTheTranslatedMegaflowAndExecutesThePacket) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2\npriority=0,actions=drop");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2");

  EXPECT_EQ(udpif.handle_upcalls(64), 1u);

  // The megaflow translate() makes for this packet, as the datapath match.
  FlowKey key = tcp_key(1, "10.0.0.2");
  Result<OfFlow> flow = of_flow_from_key(key, receive_port_mapping(bridge_->ports()));
  ASSERT_TRUE(flow);
  XlateResult translation = translate(bridge_->ports(), bridge_->tables(), *flow);
  Result<Match> expected =
      datapath_match_from_megaflow(translation.megaflow, key, datapath_port_mapping(bridge_->ports()));
  ASSERT_TRUE(expected);

  std::vector<DpifFlowPut> puts = dpif_.puts();
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_TRUE(puts[0].create);
  EXPECT_FALSE(puts[0].modify);
  EXPECT_EQ(puts[0].flow.match, *expected);
  EXPECT_EQ(puts[0].flow.actions, output_to(2));
  // OVS's megaflow for this table: nw_dst decided it, the TCP ports did not.
  EXPECT_EQ(puts[0].flow.match.mask.bits().ipv4_dst, 0xffffffffu);
  EXPECT_EQ(puts[0].flow.match.mask.bits().tp_dst, 0u);
  EXPECT_EQ(puts[0].flow.match.mask.bits().in_port, 0xffffffffu);

  std::vector<UdpifTestExecution> executions = dpif_.executions();
  ASSERT_EQ(executions.size(), 1u);
  EXPECT_EQ(executions[0].key, key);
  EXPECT_EQ(executions[0].actions, output_to(2));
  EXPECT_EQ(executions[0].packet_size, kFrameBytes);

  EXPECT_EQ(dpif_.flow_dump().size(), 1u);
  UdpifStats stats = udpif.stats();
  EXPECT_EQ(stats.upcalls, 1u);
  EXPECT_EQ(stats.flows_installed, 1u);
  EXPECT_EQ(stats.executes, 1u);
  EXPECT_EQ(stats.ukeys, 1u);
  EXPECT_EQ(stats.upcall_errors, 0u);
}

TEST_F(UdpifHandler, TheUfidIsTheSameForTheSameMatchAndDiffersForAnother) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2\npriority=10,ip,nw_dst=10.0.0.3,actions=output:p2");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);
  udpif.purge();
  inject(1, "10.0.0.2", 443);  // same megaflow again, from another packet
  inject(1, "10.0.0.3");
  udpif.handle_upcalls(64);
  std::vector<DpifFlowPut> puts = dpif_.puts();
  ASSERT_EQ(puts.size(), 3u);
  EXPECT_EQ(puts[0].flow.ufid, puts[1].flow.ufid);
  EXPECT_FALSE(puts[0].flow.ufid == puts[2].flow.ufid);
  EXPECT_FALSE(puts[0].flow.ufid.is_zero());
}

TEST_F(UdpifHandler, SecondPacketOfTheMegaflowHitsWithoutASecondInstall) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2", 80);
  udpif.handle_upcalls(64);
  inject(1, "10.0.0.2", 443);  // other TCP port, same megaflow

  EXPECT_EQ(udpif.handle_upcalls(64), 0u);
  EXPECT_EQ(dpif_.puts().size(), 1u);
  EXPECT_EQ(dpif_.stats().hit, 1u);
  std::vector<Megaflow> flows = dpif_.flow_dump();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].stats.packets, 1u);
}

TEST_F(UdpifHandler, TwoQueuedPacketsOfOneNewFlowAreBothExecuted) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2", 80);
  inject(1, "10.0.0.2", 81);  // queued before the first is handled: a miss too

  EXPECT_EQ(udpif.handle_upcalls(64), 2u);
  EXPECT_EQ(dpif_.puts().size(), 1u);
  EXPECT_EQ(dpif_.executions().size(), 2u);
  UdpifStats stats = udpif.stats();
  EXPECT_EQ(stats.flows_installed, 1u);
  EXPECT_EQ(stats.flows_already_present, 1u);
  EXPECT_EQ(stats.executes, 2u);
  EXPECT_EQ(stats.ukeys, 1u);
}

// A flow with the packet's megaflow match under another UFID appears
// between the miss and its put: the put is refused (EEXIST), the handler
// withdraws the ukey it had published, the packet still runs, and the next
// round (which frees withdrawn ukeys) deletes the foreign flow, after which
// the packet's megaflow is set up again normally.
TEST_F(UdpifHandler, AnOverlappingFlowRefusesThePutAndTheWithdrawnUkeyLeavesNoTrace) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2");
  ASSERT_EQ(udpif.handle_upcalls(64), 1u);
  ASSERT_EQ(dpif_.flow_dump().size(), 1u);
  const Megaflow installed = dpif_.flow_dump()[0];
  udpif.purge();
  ASSERT_TRUE(dpif_.flow_dump().empty());

  inject(1, "10.0.0.2");
  DpifFlowPut foreign;
  foreign.flow.ufid = installed.ufid;
  foreign.flow.ufid.bytes[0] ^= 0xff;
  foreign.flow.match = installed.match;
  foreign.flow.actions = output_to(3);
  ASSERT_TRUE(dpif_.flow_put(foreign));
  EXPECT_EQ(udpif.handle_upcalls(64), 1u);
  UdpifStats stats = udpif.stats();
  EXPECT_EQ(stats.flows_installed, 1u);  // the first setup only
  EXPECT_EQ(stats.flows_already_present, 1u);
  EXPECT_EQ(stats.upcall_errors, 0u);
  EXPECT_EQ(stats.ukeys, 0u);
  EXPECT_EQ(stats.executes, 2u);
  EXPECT_TRUE(udpif.flow_info().empty());

  udpif.revalidate();
  EXPECT_TRUE(dpif_.flow_dump().empty());  // no ukey: deleted
  inject(1, "10.0.0.2");
  EXPECT_EQ(udpif.handle_upcalls(64), 1u);
  EXPECT_EQ(udpif.stats().flows_installed, 2u);
  EXPECT_EQ(udpif.stats().ukeys, 1u);
  ASSERT_EQ(dpif_.flow_dump().size(), 1u);
  EXPECT_EQ(dpif_.flow_dump()[0].ufid, installed.ufid);
  EXPECT_EQ(dpif_.flow_dump()[0].actions, output_to(2));
}

TEST_F(UdpifHandler, AtTheFlowLimitMissesAreExecutedButNotInstalled) {
  apply("priority=20,ip,nw_dst=10.0.0.2,actions=output:p2\npriority=10,ip,nw_dst=10.0.0.3,actions=output:p3");
  Udpif udpif(dpif_, bridges_, config());
  udpif.set_flow_limit(1);
  EXPECT_EQ(udpif.stats().flow_limit, 1u);
  inject(1, "10.0.0.2");
  inject(1, "10.0.0.3");

  EXPECT_EQ(udpif.handle_upcalls(64), 2u);
  EXPECT_EQ(dpif_.puts().size(), 1u);
  EXPECT_EQ(dpif_.flow_dump().size(), 1u);
  std::vector<UdpifTestExecution> executions = dpif_.executions();
  ASSERT_EQ(executions.size(), 2u);
  EXPECT_EQ(executions[1].actions, output_to(3));
  EXPECT_EQ(udpif.stats().limit_refusals, 1u);
  // The refused packet still counts for its rule.
  ASSERT_NE(rule(10), nullptr);
  EXPECT_EQ(rule(10)->packets(), 1u);
  EXPECT_EQ(rule(10)->bytes(), kFrameBytes);
}

TEST_F(UdpifHandler, AFailedTranslationInstallsADropAndIsCounted) {
  apply("priority=10,ip,actions=resubmit(,0)");  // recursion too deep
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2");

  udpif.handle_upcalls(64);
  std::vector<DpifFlowPut> puts = dpif_.puts();
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_TRUE(puts[0].flow.actions.empty());
  EXPECT_TRUE(dpif_.executions().empty());  // a drop needs no execute
  UdpifStats stats = udpif.stats();
  EXPECT_EQ(stats.translation_errors, 1u);
  EXPECT_NE(stats.last_error.find("br0: translation failed"), std::string::npos) << stats.last_error;
}

TEST_F(UdpifHandler, APacketFromAPortOfNoBridgeIsAnUpcallError) {
  apply("priority=0,actions=output:p2");
  Udpif udpif(dpif_, bridges_, config());
  inject(9, "10.0.0.2");

  EXPECT_EQ(udpif.handle_upcalls(64), 1u);
  EXPECT_TRUE(dpif_.puts().empty());
  EXPECT_TRUE(dpif_.executions().empty());
  UdpifStats stats = udpif.stats();
  EXPECT_EQ(stats.upcall_errors, 1u);
  EXPECT_NE(stats.last_error.find("datapath port 9"), std::string::npos) << stats.last_error;
}

TEST_F(UdpifHandler, ControllerFlowsAreInstalledAndEachPacketComesUpAsACountedActionUpcall) {
  apply("priority=10,ip,actions=controller");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);  // the miss; its execute sends the packet up again

  std::vector<DpifFlowPut> puts = dpif_.puts();
  ASSERT_EQ(puts.size(), 1u);
  ASSERT_EQ(puts[0].flow.actions.size(), 1u);
  ASSERT_TRUE(puts[0].flow.actions[0].is<UserspaceAction>());
  std::optional<ControllerCookie> cookie =
      decode_controller_cookie(puts[0].flow.actions[0].as<UserspaceAction>().userdata);
  ASSERT_TRUE(cookie.has_value());
  EXPECT_FALSE(cookie->dont_send);

  inject(1, "10.0.0.2", 443);  // hits the flow: an action upcall
  EXPECT_EQ(udpif.handle_upcalls(64), 2u);
  UdpifStats stats = udpif.stats();
  EXPECT_EQ(stats.action_upcalls, 2u);
  EXPECT_EQ(stats.flows_installed, 1u);
  EXPECT_EQ(dpif_.puts().size(), 1u);
  EXPECT_EQ(dpif_.executions().size(), 1u);  // only the miss; packet-ins go nowhere
}

TEST_F(UdpifHandler, FlowInfoNamesTheBridgeAndTheRulesInDumpForm) {
  apply(
      "priority=10,ip,nw_dst=10.0.0.2,actions=resubmit(,1)\ntable=1,priority=5,in_port=p1,actions=output:p2");
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);

  std::vector<UdpifFlowInfo> info = udpif.flow_info();
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].bridge, "br0");
  EXPECT_EQ(info[0].ufid, dpif_.puts()[0].flow.ufid);
  EXPECT_EQ(info[0].change_sequence, bridge_->change_sequence());
  EXPECT_EQ(info[0].rules, (std::vector<std::string>{"table=0,priority=10,ip,nw_dst=10.0.0.2",
                                                     "table=1,priority=5,in_port=p1"}));
}

TEST_F(UdpifHandler, ATunnelPacketIsTranslatedOnTheVxlanPortItsMetadataSelects) {
  // Two VXLAN ports on one shared datapath port (vxlan_sys_4789 as number
  // 10); only the tunnel source tells them apart.
  for (uint32_t port : {4u, 5u}) {
    XlatePort vxlan;
    vxlan.name = "vx" + std::to_string(port);
    vxlan.ofp_port = port;
    vxlan.datapath_port = 10;
    vxlan.type = XlatePortType::kVxlan;
    Result<XlateVxlanOptions> options =
        parse_vxlan_options(port == 4 ? "remote_ip=192.0.2.4,key=flow" : "remote_ip=192.0.2.5,key=flow");
    ASSERT_TRUE(options);
    vxlan.vxlan = *options;
    std::unique_lock lock(bridge_->mutex());
    ASSERT_TRUE(bridge_->ports().add_port(vxlan));
    bridge_->note_change();
  }
  apply("priority=10,in_port=p4,actions=output:p2\npriority=10,in_port=p5,actions=output:p3");
  Udpif udpif(dpif_, bridges_, config());
  FlowKey key = tcp_key(10, "10.0.0.2");
  key.tunnel.ipv4_src = inet_addr("192.0.2.5");
  key.tunnel.ipv4_dst = inet_addr("192.0.2.1");
  key.tunnel.tun_id = htobe64(7);
  key.tunnel.flags = kTunnelKey;
  key.tunnel.ttl = 64;
  ASSERT_TRUE(dpif_.inject(10, compose_packet(key, kPayload)));

  EXPECT_EQ(udpif.handle_upcalls(64), 1u);
  std::vector<DpifFlowPut> puts = dpif_.puts();
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0].flow.actions, output_to(3));  // vx5's rule
  // The fields the port lookup read are matched exactly.
  const TunnelKey& mask = puts[0].flow.match.mask.bits().tunnel;
  EXPECT_EQ(mask.ipv4_src, 0xffffffffu);
  EXPECT_EQ(mask.ipv4_dst, 0xffffffffu);
  EXPECT_EQ(mask.tun_id, ~uint64_t{0});
  ASSERT_EQ(dpif_.executions().size(), 1u);
  EXPECT_EQ(udpif.stats().upcall_errors, 0u);
}

TEST_F(UdpifHandler, ASlowPathedTranslationIsInstalledAsAnUpcallAndItsPacketsRunInUserspace) {
  // More outputs than the datapath sends reliably: OVS slow-paths the flow.
  std::string actions;
  for (size_t i = 0; i <= kXlateMaxOutputs; ++i) actions += std::string(i ? "," : "") + "output:p2";
  apply("priority=10,ip,actions=" + actions);
  Udpif udpif(dpif_, bridges_, config());
  inject(1, "10.0.0.2");
  udpif.handle_upcalls(64);

  std::vector<DpifFlowPut> puts = dpif_.puts();
  ASSERT_EQ(puts.size(), 1u);
  ASSERT_EQ(puts[0].flow.actions.size(), 1u);
  ASSERT_TRUE(puts[0].flow.actions[0].is<UserspaceAction>());
  std::optional<SlowPathCookie> cookie =
      decode_slow_path_cookie(puts[0].flow.actions[0].as<UserspaceAction>().userdata);
  ASSERT_TRUE(cookie.has_value());
  EXPECT_EQ(cookie->reason, uint32_t{kXlateSlowAction});
  EXPECT_EQ(cookie->ofp_in_port, 1u);

  inject(1, "10.0.0.2", 443);  // hits the slow-path flow: comes up, runs here
  EXPECT_EQ(udpif.handle_upcalls(64), 1u);
  std::vector<UdpifTestExecution> executions = dpif_.executions();
  ASSERT_EQ(executions.size(), 2u);
  EXPECT_EQ(executions[0].actions.size(), kXlateMaxOutputs + 1);
  EXPECT_EQ(executions[1].actions.size(), kXlateMaxOutputs + 1);
  EXPECT_EQ(executions[1].key.tp_dst, htons(443));
  UdpifStats stats = udpif.stats();
  EXPECT_EQ(stats.action_upcalls, 1u);
  EXPECT_EQ(stats.flows_installed, 1u);
  // The slow-pathed packet was counted on the datapath flow, not at translation.
  udpif.revalidate();
  EXPECT_EQ(rule(10)->packets(), 2u);
}

TEST(SlowPathCookie, RoundTripsAndIsNotAControllerCookie) {
  SlowPathCookie cookie{1, 7};
  std::vector<uint8_t> bytes = encode_slow_path_cookie(cookie);
  EXPECT_EQ(bytes.size(), kSlowPathCookieSize);
  EXPECT_EQ(decode_slow_path_cookie(bytes), cookie);
  EXPECT_FALSE(decode_controller_cookie(bytes).has_value());
  EXPECT_FALSE(decode_slow_path_cookie(encode_controller_cookie(ControllerCookie{})).has_value());
  bytes.pop_back();
  EXPECT_FALSE(decode_slow_path_cookie(bytes).has_value());
}

}  // namespace
}  // namespace flowlift::udpif_testing
