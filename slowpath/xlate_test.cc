// translate(): each OpenFlow action's datapath actions and megaflow bits, the
// OVS 3.1 quirks, the resubmit limits. Expected values follow OVS's
// ofproto-dpif-xlate.c / odp-util.c (cited per test) and the oracle traces.
//
// The bridge: p1..p4 are OpenFlow ports 1..4 on datapath ports 11..14 (so a
// test can tell the numberings apart), LOCAL is datapath port 100, vx1 (10)
// and vx2 (11) are VXLAN ports on the shared datapath port 4789. Rules that
// match only in_port (exact in every megaflow anyway) or nothing keep the
// classifier's contribution to the megaflow out of the expectations.
#include "slowpath/xlate.h"

#include <arpa/inet.h>
#include <endian.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "slowpath/controller_cookie.h"
#include "slowpath/xlate_test_support.h"
#include "slowpath/xlate_trace.h"

namespace flowlift {
namespace {

XlateBridge unit_bridge() {
  XlateBridge bridge("br0");
  for (uint32_t i = 1; i <= 4; ++i)
    EXPECT_TRUE(bridge.add_port({"p" + std::to_string(i), i, 10 + i, XlatePortType::kDummy, std::nullopt}));
  EXPECT_TRUE(bridge.add_port({"br0", kOfPortLocal, 100, XlatePortType::kInternal, std::nullopt}));
  EXPECT_TRUE(bridge.add_port(
      {"vx1", 10, 4789, XlatePortType::kVxlan, *parse_vxlan_options("remote_ip=192.0.2.2,key=flow")}));
  EXPECT_TRUE(bridge.add_port(
      {"vx2", 11, 4789, XlatePortType::kVxlan, *parse_vxlan_options("remote_ip=192.0.2.3,key=5000")}));
  return bridge;
}

constexpr const char* kTcpPacket =
    "in_port=p1,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,"
    "nw_ttl=64,tp_src=40000,tp_dst=80";
constexpr const char* kUdpPacket =
    "in_port=p1,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,"
    "nw_ttl=64,udp_src=5000,udp_dst=53";

struct XlateRun {
  XlateBridge bridge = unit_bridge();
  std::unique_ptr<OfTables> tables = std::make_unique<OfTables>();
  OfFlow packet{};
  XlateResult result;

  std::string actions() const { return format_datapath_actions(result.actions); }
  std::string megaflow() const { return format_megaflow(result.megaflow); }
  const OfFlow& mask() const { return result.megaflow.mask.bits(); }
  std::string trace() const { return format_trace_tree(result.trace); }
};

XlateRun translate_with(const std::vector<std::string>& rules, const std::string& packet,
                        XlateOptions options = {}) {
  XlateRun run;
  std::string text;
  for (const std::string& rule : rules) text += rule + "\n";
  Status s = xlate_test::add_flows(*run.tables, text, run.bridge.port_names());
  EXPECT_TRUE(s) << s.message();
  Result<OfFlow> flow = parse_trace_flow(packet, run.bridge.port_names());
  EXPECT_TRUE(flow) << flow.status().message();
  if (flow) run.packet = *flow;
  options.record_trace = true;
  if (!options.allocate_recirc_id) options.allocate_recirc_id = [] { return 7u; };
  run.result = translate(run.bridge, *run.tables, run.packet, options);
  return run;
}

// ---------------------------------------------------------------- outputs

TEST(Xlate, OutputUsesTheDatapathPortNumber) {
  XlateRun r = translate_with({"in_port=p1 actions=output:p3"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "13");
  EXPECT_EQ(r.megaflow(), "recirc_id=0,eth,ip,in_port=1,nw_frag=no");
  EXPECT_EQ(r.result.error, XlateError::kNone);
}

TEST(Xlate, OutputToTheInputPortIsSkipped) {
  // OVS quirk 4: xlate_output_action() skips it and says so in the trace.
  XlateRun r = translate_with({"in_port=p1 actions=output:p1,output:p2"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "12");
  EXPECT_NE(r.trace().find(" >> skipping output to input port"), std::string::npos) << r.trace();
}

TEST(Xlate, OutputInPortSendsBackToTheInputPort) {
  XlateRun r = translate_with({"in_port=p1 actions=IN_PORT"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "11");
}

TEST(Xlate, FloodAndAllSendToEveryOtherPortInPortOrder) {
  // Every port but the input one, LOCAL and the tunnels included.
  XlateRun flood = translate_with({"in_port=p2 actions=FLOOD"}, "in_port=p2,dl_type=0x88b5");
  EXPECT_EQ(flood.actions(),
            "11,13,14,set(tunnel(tun_id=0x0,dst=192.0.2.2,ttl=64,tp_dst=4789,flags(df|key))),4789,"
            "set(tunnel(tun_id=0x1388,dst=192.0.2.3,ttl=64,tp_dst=4789,flags(df|key))),4789,100");
  XlateRun all = translate_with({"in_port=p2 actions=ALL"}, "in_port=p2,dl_type=0x88b5");
  EXPECT_EQ(all.actions(), flood.actions());
}

TEST(Xlate, OutputToLocalUsesTheBridgePort) {
  XlateRun r = translate_with({"in_port=p1 actions=LOCAL"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "100");
}

TEST(Xlate, OutputToAnUnknownPortDoesNothing) {
  XlateRun r = translate_with({"in_port=p1 actions=output:7,output:p2"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "12");
  EXPECT_NE(r.trace().find(" >> Nonexistent output port"), std::string::npos);
}

TEST(Xlate, OutputNormalIsRefusedAndDrops) {
  // The rule syntax refuses NORMAL already; a rule made another way drops.
  XlateRun r;
  OfRule rule;
  rule.actions = {OfOutputAction{2}, OfOutputAction{kOfPortNormal}};
  OfFlowMod mod;
  mod.rule = rule;
  ASSERT_TRUE(r.tables->apply(mod, 0));
  r.packet = *parse_trace_flow(kTcpPacket, r.bridge.port_names());
  r.result = translate(r.bridge, *r.tables, r.packet);
  EXPECT_EQ(r.result.error, XlateError::kUnsupported);
  EXPECT_EQ(r.actions(), "drop");
  EXPECT_NE(r.result.error_message.find("NORMAL"), std::string::npos);
}

// ---------------------------------------------------------------- wildcards

TEST(Xlate, MegaflowAlwaysHasInPortDlTypeRecircIdAndNwFragForIp) {
  // xlate_wc_init(): a catch-all rule leaves exactly these.
  XlateRun ip = translate_with({"actions=output:p2"}, kTcpPacket);
  EXPECT_EQ(ip.megaflow(), "recirc_id=0,eth,ip,in_port=1,nw_frag=no");
  XlateRun other = translate_with({"actions=output:p2"}, "in_port=p1,dl_type=0x88b5");
  EXPECT_EQ(other.megaflow(), "recirc_id=0,eth,in_port=1,dl_type=0x88b5");
}

TEST(Xlate, TableMissDrops) {
  // fail-mode secure without a controller: OVS's no_packet_in_rule.
  XlateRun r = translate_with({"in_port=p2 actions=output:p3"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "drop");
  EXPECT_TRUE(r.result.rules.empty());
  EXPECT_EQ(r.trace(), "\nbridge(\"br0\")\n-------------\n 0. No match.\n    drop\n");
}

TEST(Xlate, RegistersMetadataAndConjIdNeverReachTheMegaflow) {
  // flow_wildcards_clear_non_packet_fields(): table 1 matches all three,
  // yet the megaflow has none of them.
  XlateRun r =
      translate_with({"in_port=p1 actions=load:0x5->NXM_NX_REG3[],set_field:0x9->metadata,goto_table:1",
                      "table=1,reg3=5,metadata=9 actions=output:p2"},
                     kTcpPacket);
  EXPECT_EQ(r.actions(), "12");
  EXPECT_EQ(r.mask().regs[3], 0u);
  EXPECT_EQ(r.mask().metadata, 0u);
  EXPECT_EQ(r.mask().conj_id, 0u);
  EXPECT_EQ(r.megaflow(), "recirc_id=0,eth,ip,in_port=1,nw_frag=no");
  EXPECT_EQ(r.result.final_flow.regs[3], 5u);
}

TEST(Xlate, IcmpTypeAndCodeMasksAreCutToEightBits) {
  // xlate_wc_finish(): icmp_type=8 is an exact 16-bit unit in the rule, 0xff in the megaflow.
  XlateRun r =
      translate_with({"icmp,icmp_type=8 actions=output:p2"},
                     "in_port=p1,icmp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,icmp_type=8,icmp_code=0");
  EXPECT_EQ(r.mask().tp_src, htons(0x00ff));
  EXPECT_EQ(r.mask().tp_dst & htons(0xff00), 0);
  EXPECT_NE(r.megaflow().find("icmp_type=0x8/0xff"), std::string::npos) << r.megaflow();
}

TEST(Xlate, AnyVlanBitBringsTheCfiBit) {
  XlateRun r = translate_with({"in_port=p1,vlan_tci=0x0005/0x000f actions=output:p2"},
                              "in_port=p1,dl_vlan=5,dl_vlan_pcp=2,dl_type=0x88b5");
  EXPECT_EQ(r.actions(), "12");
  EXPECT_EQ(r.mask().vlan_tci, htons(0x100f));
}

TEST(Xlate, LaterFragmentsLoseTheirPortBits) {
  // xlate_wc_finish(): a later fragment has no L4 header, whatever the
  // classifier looked at (here a tcp,tp_dst rule).
  XlateRun r = translate_with({"tcp,tp_dst=80 actions=output:p2", "priority=0 actions=output:p3"},
                              "in_port=p1,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,nw_frag=later");
  EXPECT_EQ(r.actions(), "13");
  EXPECT_EQ(r.mask().tp_src, 0);
  EXPECT_EQ(r.mask().tp_dst, 0);
}

TEST(Xlate, FragmentsAreLookedUpWithoutPortsEvenTheFirst) {
  // OVS quirk 3: frag handling "normal" zeroes tp_src/tp_dst for every
  // fragment's lookups, so a first fragment to port 80 misses tcp,tp_dst=80;
  // the megaflow still carries the packet's own port bits the lookup saw.
  XlateRun r = translate_with(
      {"tcp,tp_dst=80 actions=output:p2", "priority=0 actions=output:p3"},
      "in_port=p1,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,nw_frag=first,tp_src=1,tp_dst=80");
  EXPECT_EQ(r.actions(), "13");
  EXPECT_NE(r.megaflow().find("nw_frag=first"), std::string::npos);
  EXPECT_EQ(r.result.megaflow.flow.tp_dst & r.mask().tp_dst, htons(80) & r.mask().tp_dst);
}

TEST(Xlate, TunnelPacketMegaflowKeysOnTheTunnel) {
  // tnl_wc_init(): tun_id, both addresses, tos and the df/csum/key flags
  // exact; TTL and UDP ports wildcarded (OVS quirk 8's "-df-csum-key").
  XlateRun r =
      translate_with({"in_port=vx1 actions=output:p2"},
                     "in_port=vx1,tun_id=0x64,tun_src=192.0.2.2,tun_dst=192.0.2.1,tun_ttl=64,dl_type=0x88b5");
  EXPECT_EQ(r.actions(), "12");
  EXPECT_EQ(
      r.megaflow(),
      "recirc_id=0,eth,tun_id=0x64,tun_src=192.0.2.2,tun_dst=192.0.2.1,tun_tos=0,tun_flags=-df-csum-key,"
      "in_port=10,dl_type=0x88b5");
  EXPECT_EQ(r.mask().tun_ttl, 0);
}

TEST(Xlate, NonTunnelPacketMegaflowHasNoTunnelBits) {
  // set_tunnel unwildcards nothing, and xlate_wc_finish() clears tunnel
  // bits of a packet that did not arrive by tunnel.
  XlateRun r = translate_with({"in_port=p1 actions=set_field:0x5->tun_id,output:p2"}, kTcpPacket);
  EXPECT_EQ(r.mask().tun_id, 0u);
  EXPECT_EQ(r.actions(), "12");
}

// ---------------------------------------------------------------- pipeline

TEST(Xlate, GotoTableAndResubmitRunTheNextTable) {
  XlateRun r = translate_with({"in_port=p1 actions=resubmit(,5),goto_table:7", "table=5 actions=output:p2",
                               "table=7 actions=output:p3"},
                              kTcpPacket);
  EXPECT_EQ(r.actions(), "12,13");
  ASSERT_EQ(r.result.rules.size(), 3u);
  EXPECT_EQ(r.result.rules[0]->rule().table, 0);
  EXPECT_EQ(r.result.rules[1]->rule().table, 5);
  EXPECT_EQ(r.result.rules[2]->rule().table, 7);
}

TEST(Xlate, ResubmitWithAPortOnlyChangesTheLookup) {
  // rule_dpif_lookup_from_table() restores in_port after the lookup: the
  // rule found for in_port=p2 still sees p1 as the input port.
  XlateRun r = translate_with(
      {"table=0,in_port=p1 actions=resubmit(p2,1)", "table=1,in_port=p2 actions=output:p1,output:p3"},
      kTcpPacket);
  EXPECT_EQ(r.actions(), "13");
  EXPECT_EQ(r.result.final_flow.in_port, 1u);
}

TEST(Xlate, ResubmitWithoutATableUsesTheCurrentOne) {
  XlateRun r = translate_with({"table=3,in_port=p2 actions=output:p4", "table=0 actions=goto_table:3",
                               "table=3,priority=1,in_port=p1 actions=resubmit:p2"},
                              kTcpPacket);
  EXPECT_EQ(r.actions(), "14");
}

TEST(Xlate, ResubmitMissDropsOnlyThatBranch) {
  XlateRun r = translate_with({"in_port=p1 actions=resubmit(,9),output:p2"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "12");
  EXPECT_NE(r.trace().find(" 9. No match."), std::string::npos) << r.trace();
}

TEST(Xlate, ResubmitLoopStopsAtDepth64AndDropsEverything) {
  // xlate_resubmit_resource_check(): a resubmit to the same table nests one
  // level deeper; at 64 translation fails and the flow drops (OVS installs
  // a drop flow), the output before the loop included.
  XlateRun r = translate_with({"in_port=p1 actions=output:p2,resubmit(,0)"}, kTcpPacket);
  EXPECT_EQ(r.result.error, XlateError::kRecursionTooDeep);
  EXPECT_EQ(r.result.error_message, "over max translation depth 64");
  EXPECT_EQ(r.actions(), "drop");
  EXPECT_EQ(r.result.rules.size(), 65u);  // the first lookup and 64 nested ones
  EXPECT_NE(r.trace().find(">>>> over max translation depth 64 <<<<"), std::string::npos);
}

TEST(Xlate, ResubmitsToLaterTablesDoNotDeepenButCountTowards4096) {
  // goto/resubmit to a later table is not deeper; 64 x 64 resubmits are too many.
  std::string many;
  for (int i = 0; i < 64; ++i) many += "resubmit(,T),";
  many += "output:p2";
  auto rule_for = [&](int table, int next) {
    std::string actions = many;
    for (size_t at; (at = actions.find('T')) != std::string::npos;)
      actions.replace(at, 1, std::to_string(next));
    return "table=" + std::to_string(table) + " actions=" + actions;
  };
  XlateRun fine = translate_with({rule_for(0, 1), "table=1 actions=note:00"}, kTcpPacket);
  EXPECT_EQ(fine.result.error, XlateError::kNone);
  XlateRun r = translate_with({rule_for(0, 1), rule_for(1, 2), "table=2 actions=note:00"}, kTcpPacket);
  EXPECT_EQ(r.result.error, XlateError::kTooManyResubmits);
  EXPECT_EQ(r.result.error_message, "over 4096 resubmit actions");
  EXPECT_EQ(r.actions(), "drop");
}

TEST(Xlate, ConjunctiveMatchesComeFromTheClassifier) {
  XlateRun r = translate_with(
      {"table=0,priority=10,ip,nw_src=10.0.0.1 actions=conjunction(3,1/2)",
       "table=0,priority=10,tcp,tp_dst=80 actions=conjunction(3,2/2)",
       "table=0,priority=10,conj_id=3,ip actions=output:p4", "table=0,priority=1 actions=output:p3"},
      kTcpPacket);
  EXPECT_EQ(r.actions(), "14");
  EXPECT_EQ(r.mask().conj_id, 0u);
}

// ---------------------------------------------------------------- set actions and commits

TEST(Xlate, LoadToARegisterMakesNoDatapathAction) {
  XlateRun r = translate_with({"in_port=p1 actions=load:0x1->NXM_NX_REG0[],output:p2"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "12");
}

TEST(Xlate, MoveUnwildcardsItsSourceBits) {
  // OVS quirk 1's nw_src=.../255.254.0.1: the moved bit decides the result.
  XlateRun r =
      translate_with({"ip,in_port=p1 actions=move:NXM_OF_IP_SRC[0]->NXM_NX_REG4[0],resubmit(,1)",
                      "table=1,reg4=0x1/0x1 actions=output:p2", "table=1,priority=0 actions=output:p3"},
                     kTcpPacket);
  EXPECT_EQ(r.actions(), "12");
  EXPECT_EQ(r.mask().nw_src, htonl(0x00000001));
  EXPECT_EQ(r.megaflow(), "recirc_id=0,eth,ip,in_port=1,nw_src=0.0.0.1/0.0.0.1,nw_frag=no");
  EXPECT_NE(r.trace().find("     -> NXM_NX_REG4[0] is now 0x1"), std::string::npos) << r.trace();
}

TEST(Xlate, ChangingOneEthernetAddressIsAMaskedSet) {
  // commit(): only the changed field is in the mask, so set_masked, printed
  // with the exact field only (A28, A58).
  XlateRun r = translate_with({"in_port=p1 actions=mod_dl_dst:00:00:5e:00:01:01,output:p2"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "set(eth(dst=00:00:5e:00:01:01)),12");
  ASSERT_TRUE(r.result.actions[0].is<SetAction>());
  EXPECT_TRUE(r.result.actions[0].as<SetAction>().masked);
  EXPECT_EQ(r.megaflow(), "recirc_id=0,eth,ip,in_port=1,dl_dst=02:00:00:00:00:02,nw_frag=no");
}

TEST(Xlate, ChangingBothEthernetAddressesIsAPlainSet) {
  // Both masks exact: odp_mask_is_exact() picks the plain set (A01).
  XlateRun r = translate_with(
      {"in_port=p1 actions=mod_dl_src:02:00:00:00:00:b0,mod_dl_dst:02:00:00:00:03:01,output:p2"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "set(eth(src=02:00:00:00:00:b0,dst=02:00:00:00:03:01)),12");
  EXPECT_FALSE(r.result.actions[0].as<SetAction>().masked);
}

TEST(Xlate, SetsThatChangeNothingAreLeftOutButStillUnwildcard) {
  // OVS quirk 6: the packet already has the address.
  XlateRun r = translate_with({"in_port=p1 actions=mod_dl_dst:02:00:00:00:00:02,output:p2"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "12");
  EXPECT_EQ(r.megaflow(), "recirc_id=0,eth,ip,in_port=1,dl_dst=02:00:00:00:00:02,nw_frag=no");
}

TEST(Xlate, WithoutMaskedSetsAPartialSetWritesAndUnwildcardsTheWholeAttribute) {
  // commit(): no SET_MASKED in the datapath -> plain set of every field,
  // which then must match every field exactly.
  XlateOptions options;
  options.use_masked_set = false;
  XlateRun r =
      translate_with({"in_port=p1 actions=mod_dl_dst:00:00:5e:00:01:01,output:p2"}, kTcpPacket, options);
  EXPECT_EQ(r.actions(), "set(eth(src=02:00:00:00:00:01,dst=00:00:5e:00:01:01)),12");
  EXPECT_NE(r.megaflow().find("dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02"), std::string::npos);
}

TEST(Xlate, ModNwSrcIsAMaskedIpv4SetAndPinsTheProtocol) {
  // A14: set(ipv4(src=...)); IPv4 sets are never plain (proto/frag are not writable).
  XlateRun r = translate_with({"ip,in_port=p1 actions=mod_nw_src:10.254.0.1,output:p2"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "set(ipv4(src=10.254.0.1)),12");
  EXPECT_EQ(r.megaflow(), "recirc_id=0,eth,tcp,in_port=1,nw_src=10.0.0.1,nw_frag=no");
}

TEST(Xlate, SetDscpWritesOnlyTheDscpBits) {
  // A19: set_field:26->ip_dscp -> set(ipv4(tos=0x68/0xfc)), nw_tos=0 in the megaflow.
  XlateRun r = translate_with({"ip actions=set_field:26->ip_dscp,output:p2"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "set(ipv4(tos=0x68/0xfc)),12");
  EXPECT_EQ(r.mask().nw_tos, 0xfc);
  XlateRun tos = translate_with({"ip actions=mod_nw_tos:104,output:p2"}, kTcpPacket);
  EXPECT_EQ(tos.actions(), "set(ipv4(tos=0x68/0xfc)),12");
}

TEST(Xlate, ModTpDstSetsTheTransportHeaderOfTheProtocol) {
  XlateRun tcp = translate_with({"tcp actions=mod_tp_dst:8080,output:p2"}, kTcpPacket);
  EXPECT_EQ(tcp.actions(), "set(tcp(dst=8080)),12");
  XlateRun udp = translate_with({"udp actions=mod_tp_src:1,output:p2"}, kUdpPacket);
  EXPECT_EQ(udp.actions(), "set(udp(src=1)),12");
  EXPECT_EQ(udp.mask().tp_src, 0xffff);
}

TEST(Xlate, SetFieldWithUnmetPrerequisitesIsIgnored) {
  // A later fragment has no TCP header: MFP_TCP is not met.
  XlateRun r = translate_with({"tcp actions=set_field:8080->tcp_dst,output:p2"},
                              "in_port=p1,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,nw_frag=later");
  EXPECT_EQ(r.actions(), "12");
  EXPECT_NE(r.trace().find(" >> unmet prerequisites for tcp_dst, set_field ignored"), std::string::npos)
      << r.trace();
}

TEST(Xlate, ArpSetsAreSlowPathed) {
  // commit_set_arp_action(): the kernel cannot set ARP fields.
  XlateRun r = translate_with({"arp actions=set_field:10.9.9.9->arp_tpa,output:p2"},
                              "in_port=p1,arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=1");
  EXPECT_EQ(r.actions(), "set(arp(tip=10.9.9.9)),12");
  EXPECT_EQ(r.result.slow_path, uint32_t{kXlateSlowAction});
}

TEST(Xlate, EachOutputGetsTheChangesMadeBeforeIt) {
  // Sets are committed right before each output, only what changed since.
  XlateRun r = translate_with(
      {"ip,in_port=p1 actions=mod_dl_dst:02:00:00:00:00:0a,output:p2,mod_dl_dst:02:00:00:00:00:0b,"
       "mod_nw_ttl:9,output:p3,output:p4,mod_dl_src:02:00:00:00:00:0c"},
      kTcpPacket);
  EXPECT_EQ(r.actions(),
            "set(eth(dst=02:00:00:00:00:0a)),12,set(eth(dst=02:00:00:00:00:0b)),set(ipv4(ttl=9)),13,14");
}

// ---------------------------------------------------------------- TTL

TEST(Xlate, DecTtlDecrementsAndPinsTheTtl) {
  XlateRun r = translate_with({"ip actions=dec_ttl,output:p2"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "set(ipv4(ttl=63)),12");
  EXPECT_EQ(r.mask().nw_ttl, 0xff);
  XlateRun v6 =
      translate_with({"ipv6 actions=dec_ttl,output:p2"},
                     "in_port=p1,tcp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,nw_ttl=64,tp_dst=80");
  EXPECT_EQ(v6.actions(), "set(ipv6(hlimit=63)),12");
}

TEST(Xlate, DecTtlAtOneGoesToTheControllerAndEndsTheRule) {
  // OVS quirk 5 (A03): earlier changes are committed, then the controller
  // userspace action (reason 2, invalid TTL); the rule's remaining actions
  // do not run, nw_ttl=1 is exact.
  XlateRun r = translate_with({"ip actions=mod_dl_dst:02:00:00:00:00:0a,dec_ttl,output:p2"},
                              "in_port=p1,udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=1,udp_dst=53");
  EXPECT_EQ(r.actions(),
            "set(eth(dst=02:00:00:00:00:0a)),userspace(pid=0,controller(reason=2,dont_send=0,continuation=0,"
            "recirc_id=7,rule_cookie=0,controller_id=0,max_len=65535))");
  EXPECT_TRUE(r.result.sends_to_controller);
  EXPECT_NE(r.megaflow().find("nw_ttl=1"), std::string::npos);
  EXPECT_NE(r.trace().find(" >> IPv4 decrement TTL exception"), std::string::npos);
}

TEST(Xlate, DecTtlExceptionEndsOnlyTheCurrentRule) {
  XlateRun r =
      translate_with({"in_port=p1 actions=resubmit(,1),output:p3", "table=1,ip actions=dec_ttl,output:p2"},
                     "in_port=p1,udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=0");
  EXPECT_EQ(r.actions(),
            "userspace(pid=0,controller(reason=2,dont_send=0,continuation=0,recirc_id=7,rule_cookie=0,"
            "controller_id=0,max_len=65535)),13");
}

TEST(Xlate, DecTtlWithControllerIdsSendsToEach) {
  XlateRun r = translate_with({"ip,cookie=0x2a actions=dec_ttl(1,2)"},
                              "in_port=p1,udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=1");
  ASSERT_EQ(r.result.actions.size(), 2u);
  auto first = decode_controller_cookie(r.result.actions[0].as<UserspaceAction>().userdata);
  auto second = decode_controller_cookie(r.result.actions[1].as<UserspaceAction>().userdata);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->controller_id, 1);
  EXPECT_EQ(second->controller_id, 2);
  EXPECT_EQ(first->rule_cookie, 0x2au);
}

TEST(Xlate, ControllerActionSendsAPacketIn) {
  XlateOptions options;
  options.upcall_pid = 42;
  options.controller_dont_send = true;
  XlateRun r =
      translate_with({"in_port=p1 actions=controller(max_len=128,id=3),output:p2"}, kTcpPacket, options);
  EXPECT_EQ(r.actions(),
            "userspace(pid=42,controller(reason=1,dont_send=1,continuation=0,recirc_id=7,rule_cookie=0,"
            "controller_id=3,max_len=128)),12");
  EXPECT_TRUE(r.result.sends_to_controller);
}

TEST(Xlate, ControllerInATableMissRuleIsAnExplicitMiss) {
  XlateRun r = translate_with({"priority=0 actions=CONTROLLER:65535"}, kTcpPacket);
  auto cookie = decode_controller_cookie(r.result.actions.at(0).as<UserspaceAction>().userdata);
  ASSERT_TRUE(cookie);
  EXPECT_EQ(cookie->reason, 6);  // OFPR_EXPLICIT_MISS
}

TEST(Xlate, RecircIdsCountUpWithoutAnAllocator) {
  XlateOptions options;
  options.allocate_recirc_id = nullptr;
  XlateRun r;
  ASSERT_TRUE(
      xlate_test::add_flows(*r.tables, "actions=CONTROLLER:100,CONTROLLER:100", r.bridge.port_names()));
  r.packet = *parse_trace_flow(kTcpPacket, r.bridge.port_names());
  r.result = translate(r.bridge, *r.tables, r.packet, options);
  ASSERT_EQ(r.result.actions.size(), 2u);
  EXPECT_EQ(decode_controller_cookie(r.result.actions[0].as<UserspaceAction>().userdata)->recirc_id, 1u);
  EXPECT_EQ(decode_controller_cookie(r.result.actions[1].as<UserspaceAction>().userdata)->recirc_id, 2u);
}

// ---------------------------------------------------------------- VLAN

constexpr const char* kTaggedPacket = "in_port=p1,dl_vlan=20,dl_vlan_pcp=3,dl_type=0x88b5";

TEST(Xlate, PushVlanAndSetVidGiveOnePush) {
  XlateRun r =
      translate_with({"in_port=p1 actions=push_vlan:0x8100,set_field:4196->vlan_vid,output:p2"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "push_vlan(vid=100,pcp=0),12");
  // The input had no tag: no VLAN bits (xlate_wc_finish()).
  EXPECT_EQ(r.mask().vlan_tci, 0);
}

TEST(Xlate, ModVlanVidOnATaggedPacketPopsAndPushes) {
  // commit_vlan_action() (A36): the changed tag is popped, which pins it.
  XlateRun r = translate_with({"in_port=p1 actions=mod_vlan_vid:21,output:p2"}, kTaggedPacket);
  EXPECT_EQ(r.actions(), "pop_vlan,push_vlan(vid=21,pcp=3),12");
  EXPECT_EQ(r.mask().vlan_tci, 0xffff);
  EXPECT_NE(r.megaflow().find("dl_vlan=20,dl_vlan_pcp=3"), std::string::npos) << r.megaflow();
}

TEST(Xlate, ModVlanVidOnAnUntaggedPacketPushesATag) {
  XlateRun r = translate_with({"in_port=p1 actions=mod_vlan_vid:300,output:p2"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "push_vlan(vid=300,pcp=0),12");
  XlateRun pcp = translate_with({"in_port=p1 actions=mod_vlan_pcp:5,output:p2"}, kTcpPacket);
  EXPECT_EQ(pcp.actions(), "push_vlan(vid=0,pcp=5),12");
}

TEST(Xlate, PopVlanPopsAndPinsTheTag) {
  XlateRun r =
      translate_with({"in_port=p1,vlan_tci=0x1000/0x1000 actions=strip_vlan,output:p2"}, kTaggedPacket);
  EXPECT_EQ(r.actions(), "pop_vlan,12");
  EXPECT_EQ(r.mask().vlan_tci, 0xffff);
}

TEST(Xlate, PushVlanOnATaggedPacketStacksATag) {
  // QinQ: the old tag becomes the inner one and stays; only the new outer
  // tag is pushed.
  XlateRun r = translate_with({"in_port=p1 actions=push_vlan:0x88a8,set_field:4106->vlan_vid,output:p2"},
                              kTaggedPacket);
  EXPECT_EQ(r.actions(), "push_vlan(tpid=0x88a8,vid=10,pcp=0),12");
  XlateRun undo = translate_with({"in_port=p1 actions=push_vlan:0x88a8,pop_vlan,output:p2"}, kTaggedPacket);
  EXPECT_EQ(undo.actions(), "12");
}

// ---------------------------------------------------------------- MPLS

constexpr const char* kMplsPacket = "in_port=p1,mpls,mpls_label=100,mpls_tc=0,mpls_ttl=10,mpls_bos=1";

TEST(Xlate, PushMplsOnIpCommitsFirstAndTakesTtlAndTcFromIp) {
  // flow_push_mpls(): label 0 (IPv4 explicit null), TC from the DSCP, TTL
  // from the IP TTL, bottom of stack; the pending TTL change is written first.
  XlateRun r =
      translate_with({"ip actions=dec_ttl,push_mpls:0x8847,set_mpls_label(77),output:p2"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "set(ipv4(ttl=63)),push_mpls(label=77,tc=0,ttl=63,bos=1,eth_type=0x8847),12");
  EXPECT_EQ(r.mask().nw_ttl, 0xff);
  EXPECT_EQ(r.mask().nw_tos & 0xfc, 0xfc);
}

TEST(Xlate, MplsSettersRewriteTheTopLabel) {
  XlateRun r = translate_with({"mpls actions=set_mpls_ttl(5),set_mpls_tc(2),output:p2"}, kMplsPacket);
  EXPECT_EQ(r.actions(), "set(mpls(label=100,tc=2,ttl=5,bos=1)),12");
  XlateRun dec = translate_with({"mpls actions=dec_mpls_ttl,output:p2"}, kMplsPacket);
  EXPECT_EQ(dec.actions(), "set(mpls(label=100,tc=0,ttl=9,bos=1)),12");
}

TEST(Xlate, DecMplsTtlAtOneGoesToTheController) {
  XlateRun r = translate_with({"mpls actions=dec_mpls_ttl,output:p2"},
                              "in_port=p1,mpls,mpls_label=100,mpls_tc=0,mpls_ttl=1,mpls_bos=1");
  EXPECT_EQ(r.actions(),
            "userspace(pid=0,controller(reason=2,dont_send=0,continuation=0,recirc_id=7,rule_cookie=0,"
            "controller_id=0,max_len=65535))");
  EXPECT_NE(r.trace().find(" >> MPLS decrement TTL exception"), std::string::npos);
}

TEST(Xlate, PopMplsToIpAndOutput) {
  XlateRun r = translate_with({"mpls actions=pop_mpls:0x0800,output:p2"}, kMplsPacket);
  EXPECT_EQ(r.actions(), "pop_mpls(eth_type=0x800),12");
}

TEST(Xlate, AnL3ActionAfterPopMplsNeedsRecirculationAndIsRefused) {
  XlateRun r = translate_with({"mpls actions=pop_mpls:0x0800,dec_ttl,output:p2"}, kMplsPacket);
  EXPECT_EQ(r.result.error, XlateError::kUnsupported);
  EXPECT_NE(r.result.error_message.find("dec_ttl after pop_mpls"), std::string::npos)
      << r.result.error_message;
  EXPECT_EQ(r.actions(), "drop");
}

TEST(Xlate, PushingAFourthLabelFails) {
  XlateRun r = translate_with({"mpls actions=push_mpls:0x8847,push_mpls:0x8847,push_mpls:0x8847,output:p2"},
                              "in_port=p1,mpls,mpls_label=100,mpls_ttl=10,mpls_bos=1");
  EXPECT_EQ(r.result.error, XlateError::kTooManyMplsLabels);
  EXPECT_EQ(r.actions(), "drop");
}

// ---------------------------------------------------------------- VXLAN

TEST(Xlate, OutputToAVxlanPortSetsTheTunnelAndUsesTheTunnelPort) {
  // tnl_port_send(): remote_ip, key from the flow (set_tunnel), TTL 64, DF,
  // key flag, UDP port; ECN from the inner packet, unwildcarded (quirk 7).
  XlateRun r = translate_with({"in_port=p1 actions=set_tunnel:0x65,output:vx1"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "set(tunnel(tun_id=0x65,dst=192.0.2.2,ttl=64,tp_dst=4789,flags(df|key))),4789");
  EXPECT_EQ(r.mask().nw_tos, 0x03);
  EXPECT_EQ(r.megaflow(), "recirc_id=0,eth,ip,in_port=1,nw_ecn=0,nw_frag=no");
  EXPECT_NE(r.trace().find("     -> output to kernel tunnel"), std::string::npos);
}

TEST(Xlate, AFixedKeyPortIgnoresTheFlowsTunnelId) {
  XlateRun r = translate_with({"in_port=p1 actions=set_tunnel:0x65,output:vx2"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "set(tunnel(tun_id=0x1388,dst=192.0.2.3,ttl=64,tp_dst=4789,flags(df|key))),4789");
  // The explicit set_tunnel stays visible afterwards; the port's settings do not.
  EXPECT_EQ(r.result.final_flow.tun_id, htobe64(0x65));
  EXPECT_EQ(r.result.final_flow.tun_dst, 0u);
}

TEST(Xlate, TunnelTosCarriesTheInnerEcnAndCeBecomesEct0) {
  XlateRun ect1 = translate_with({"in_port=p1 actions=output:vx2"},
                                 "in_port=p1,udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ecn=1,nw_ttl=64");
  EXPECT_EQ(ect1.actions(),
            "set(tunnel(tun_id=0x1388,dst=192.0.2.3,tos=0x1,ttl=64,tp_dst=4789,flags(df|key))),4789");
  XlateRun ce = translate_with({"in_port=p1 actions=output:vx2"},
                               "in_port=p1,udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ecn=3,nw_ttl=64");
  EXPECT_EQ(ce.actions(),
            "set(tunnel(tun_id=0x1388,dst=192.0.2.3,tos=0x2,ttl=64,tp_dst=4789,flags(df|key))),4789");
}

TEST(Xlate, TunnelOptionsReachTheTunnelMetadata) {
  XlateRun r;
  ASSERT_TRUE(
      r.bridge.add_port({"vx3", 12, 4790, XlatePortType::kVxlan,
                         *parse_vxlan_options("remote_ip=198.51.100.7,local_ip=192.0.2.1,key=9,dst_port=4790,"
                                              "ttl=32,tos=0x20,df_default=false,csum=true")}));
  ASSERT_TRUE(xlate_test::add_flows(*r.tables, "actions=output:12", r.bridge.port_names()));
  r.packet = *parse_trace_flow(kTcpPacket, r.bridge.port_names());
  r.result = translate(r.bridge, *r.tables, r.packet);
  EXPECT_EQ(r.actions(),
            "set(tunnel(tun_id=0x9,src=192.0.2.1,dst=198.51.100.7,tos=0x20,ttl=32,tp_dst=4790,flags(csum|key)"
            ")),4790");
}

TEST(Xlate, EachTunnelOutputGetsItsOwnTunnelSet) {
  XlateRun r = translate_with({"in_port=p1 actions=output:vx1,output:vx2,output:vx2,output:p2"}, kTcpPacket);
  EXPECT_EQ(r.actions(),
            "set(tunnel(tun_id=0x0,dst=192.0.2.2,ttl=64,tp_dst=4789,flags(df|key))),4789,"
            "set(tunnel(tun_id=0x1388,dst=192.0.2.3,ttl=64,tp_dst=4789,flags(df|key))),4789,4789,12");
}

TEST(Xlate, TunnelPacketsAreNotSentBackToTheirOwnAddress) {
  // compose_output_action__(): the new tunnel destination is the address
  // the packet was tunnelled to.
  XlateRun flow_dst;
  ASSERT_TRUE(flow_dst.bridge.add_port(
      {"vx9", 20, 4789, XlatePortType::kVxlan, *parse_vxlan_options("remote_ip=flow,key=flow")}));
  ASSERT_TRUE(xlate_test::add_flows(*flow_dst.tables, "actions=output:20", flow_dst.bridge.port_names()));
  flow_dst.packet =
      *parse_trace_flow("in_port=vx1,tun_id=0x64,tun_src=192.0.2.2,tun_dst=192.0.2.1,dl_type=0x88b5",
                        flow_dst.bridge.port_names());
  XlateOptions options;
  options.record_trace = true;
  flow_dst.result = translate(flow_dst.bridge, *flow_dst.tables, flow_dst.packet, options);
  EXPECT_EQ(flow_dst.actions(), "drop");
  EXPECT_NE(flow_dst.trace().find(" >> Not tunneling to our own address"), std::string::npos)
      << flow_dst.trace();
}

TEST(Xlate, CongestionMarkedTunnelPacketsSetCeOrDrop) {
  // tnl_process_ecn(): outer CE on an ECN-capable inner packet sets CE
  // inside; on a not-ECT inner packet the packet drops.
  XlateRun ect =
      translate_with({"in_port=vx1 actions=output:p2"},
                     "in_port=vx1,tun_id=0x64,tun_src=192.0.2.2,tun_dst=192.0.2.1,tun_tos=3,udp,nw_ecn=1");
  EXPECT_EQ(ect.actions(), "set(ipv4(tos=0x3/0x3)),12");
  EXPECT_EQ(ect.mask().nw_tos & 0x03, 0x03);
  XlateRun not_ect =
      translate_with({"in_port=vx1 actions=output:p2"},
                     "in_port=vx1,tun_id=0x64,tun_src=192.0.2.2,tun_dst=192.0.2.1,tun_tos=3,udp,nw_ecn=0");
  EXPECT_EQ(not_ect.actions(), "drop");
  EXPECT_EQ(not_ect.result.error, XlateError::kNone);
}

// ---------------------------------------------------------------- misc

TEST(Xlate, NoteDoesNothing) {
  XlateRun r = translate_with({"in_port=p1 actions=note:01.02,output:p2"}, kTcpPacket);
  EXPECT_EQ(r.actions(), "12");
}

TEST(Xlate, ControllerPauseIsRefused) {
  XlateRun r = translate_with({"in_port=p1 actions=controller(pause),output:p2"}, kTcpPacket);
  EXPECT_EQ(r.result.error, XlateError::kUnsupported);
  EXPECT_EQ(r.actions(), "drop");
}

TEST(Xlate, RulesAreReportedEveryTimeTheyRun) {
  XlateRun r = translate_with({"in_port=p1 actions=resubmit(,1),resubmit(,1)", "table=1 actions=output:p2"},
                              kTcpPacket);
  ASSERT_EQ(r.result.rules.size(), 3u);
  EXPECT_EQ(r.result.rules[1], r.result.rules[2]);
  EXPECT_EQ(r.actions(), "12,12");
}

TEST(Xlate, TooManyOutputsAreSlowPathed) {
  std::string actions;
  for (int i = 0; i < 1001; ++i) actions += "output:p2,";
  actions.pop_back();
  XlateRun r = translate_with({"in_port=p1 actions=" + actions}, kTcpPacket);
  EXPECT_EQ(r.result.slow_path, uint32_t{kXlateSlowAction});
}

TEST(Xlate, ActionListsTooBigForTheDatapathAreSlowPathed) {
  // 1,100 packet-ins: no outputs, but over the datapath's 32 kB of actions.
  std::string actions;
  for (int i = 0; i < 1100; ++i) actions += "controller:100,";
  actions.pop_back();
  XlateRun r = translate_with({"in_port=p1 actions=" + actions}, kTcpPacket);
  EXPECT_EQ(r.result.actions.size(), 1100u);
  EXPECT_EQ(r.result.slow_path, uint32_t{kXlateSlowAction});
  XlateRun few = translate_with({"in_port=p1 actions=controller:100,controller:100"}, kTcpPacket);
  EXPECT_EQ(few.result.slow_path, 0u);
}

}  // namespace
}  // namespace flowlift
