// ofproto/trace text: the tree layout of OVS's oftrace_node_print_details(),
// flow lines as flow_format() prints them, the megaflow and action lines.
#include "slowpath/xlate_trace.h"

#include <endian.h>
#include <gtest/gtest.h>

#include "slowpath/controller_cookie.h"
#include "slowpath/xlate_test_support.h"

namespace flowlift {
namespace {

using Kind = XlateTraceNode::Kind;

TEST(XlateTrace, NestedTablesIndentOnlyWhenMoreFollows) {
  // A table that is the last node of its list prints at its parent's
  // level; one followed by more (a resubmit in the middle of a rule) is
  // indented and its contents twice as far.
  std::vector<XlateTraceNode> tree{{Kind::kBridge,
                                    "bridge(\"br0\")",
                                    {{Kind::kTable,
                                      " 0. in_port=1, priority 200",
                                      {{Kind::kAction, "resubmit(,1)", {}},
                                       {Kind::kTable, " 1. priority 0", {{Kind::kAction, "output:2", {}}}},
                                       {Kind::kAction, "goto_table:2", {}},
                                       {Kind::kTable,
                                        " 2. No match.",
                                        {{Kind::kAction, "drop", {}},
                                         {Kind::kDetail, "a detail", {}},
                                         {Kind::kWarning, "a warning", {}},
                                         {Kind::kError, "an error", {}}}}}}}}};
  EXPECT_EQ(format_trace_tree(tree),
            "\n"
            "bridge(\"br0\")\n"
            "-------------\n"
            " 0. in_port=1, priority 200\n"
            "    resubmit(,1)\n"
            "     1. priority 0\n"
            "            output:2\n"
            "    goto_table:2\n"
            " 2. No match.\n"
            "    drop\n"
            "     -> a detail\n"
            "     >> a warning\n"
            "     >>>> an error <<<<\n");
}

PortNames no_names() { return PortNames(); }

OfFlow flow_of(const std::string& text) {
  Result<OfFlow> f = parse_trace_flow(text, no_names());
  EXPECT_TRUE(f) << text << ": " << f.status().message();
  return f ? *f : OfFlow{};
}

TEST(XlateTrace, FlowLinesAreOvssFlowFormat) {
  // The oracle's A01, A34, A51, A43 "Flow:" lines.
  EXPECT_EQ(format_trace_flow(flow_of("in_port=1,dl_src=02:aa:00:00:01:01,dl_dst=02:00:00:00:00:b0,tcp,"
                                      "nw_src=10.1.2.3,nw_dst=10.2.3.5,nw_ttl=64,tp_src=40001,tp_dst=80")),
            "tcp,in_port=1,vlan_tci=0x0000,dl_src=02:aa:00:00:01:01,dl_dst=02:00:00:00:00:b0,nw_src=10.1.2.3,"
            "nw_dst=10.2.3.5,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=40001,tp_dst=80,tcp_flags=0");
  EXPECT_EQ(
      format_trace_flow(flow_of("in_port=2,dl_vlan=10,dl_vlan_pcp=5,dl_src=02:00:00:00:00:02,"
                                "dl_dst=02:00:00:00:00:b0,udp,nw_src=10.3.0.20,nw_dst=8.8.4.4,nw_ttl=64,"
                                "udp_src=3333,udp_dst=4444")),
      "udp,in_port=2,dl_vlan=10,dl_vlan_pcp=5,vlan_tci1=0x0000,dl_src=02:00:00:00:00:02,"
      "dl_dst=02:00:00:00:00:b0,nw_src=10.3.0.20,nw_dst=8.8.4.4,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,"
      "tp_src=3333,tp_dst=4444");
  EXPECT_EQ(
      format_trace_flow(flow_of("in_port=1,dl_src=02:00:00:00:00:01,dl_dst=33:33:ff:00:00:05,icmp6,"
                                "ipv6_src=2001:db8:1::1,ipv6_dst=ff02::1:ff00:5,nw_ttl=255,icmpv6_type=135,"
                                "icmpv6_code=0,nd_target=2001:db8:a::5")),
      "icmp6,in_port=1,vlan_tci=0x0000,dl_src=02:00:00:00:00:01,dl_dst=33:33:ff:00:00:05,"
      "ipv6_src=2001:db8:1::1,ipv6_dst=ff02::1:ff00:5,ipv6_label=0x00000,nw_tos=0,nw_ecn=0,nw_ttl=255,"
      "nw_frag=no,icmp_type=135,icmp_code=0,nd_target=2001:db8:a::5,nd_sll=00:00:00:00:00:00,"
      "nd_tll=00:00:00:00:00:00");
  EXPECT_EQ(
      format_trace_flow(flow_of("in_port=4,dl_src=02:00:00:00:00:04,dl_dst=ff:ff:ff:ff:ff:ff,arp,"
                                "arp_spa=10.3.0.40,arp_tpa=10.3.0.9,arp_op=1,arp_sha=02:00:00:00:00:04")),
      "arp,in_port=4,vlan_tci=0x0000,dl_src=02:00:00:00:00:04,dl_dst=ff:ff:ff:ff:ff:ff,arp_spa=10.3.0.40,"
      "arp_tpa=10.3.0.9,arp_op=1,arp_sha=02:00:00:00:00:04,arp_tha=00:00:00:00:00:00");
}

TEST(XlateTrace, TunnelFlowLinesShowOvssZeroTunnelFields) {
  // A56: no tun_id (the key flag is not set), zeros for fields OfFlow lacks.
  EXPECT_EQ(
      format_trace_flow(flow_of("in_port=10,tun_id=0x64,tun_src=192.0.2.2,tun_dst=192.0.2.1,tun_ttl=64,"
                                "dl_type=0x88b5")),
      "tun_src=192.0.2.2,tun_dst=192.0.2.1,tun_ipv6_src=::,tun_ipv6_dst=::,tun_gbp_id=0,tun_gbp_flags=0,"
      "tun_tos=0,tun_ttl=64,tun_erspan_ver=0,gtpu_flags=0,gtpu_msgtype=0,tun_flags=0,in_port=10,"
      "vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,dl_type=0x88b5");
}

TEST(XlateTrace, FinalFlowLinesShowRegistersAndATunnelId) {
  OfFlow f = flow_of("in_port=1,dl_type=0x88b5");
  f.regs[0] = 2;
  f.regs[4] = 1;
  f.tun_id = htobe64(0x65);
  EXPECT_EQ(format_trace_flow(f),
            "reg0=0x2,reg4=0x1,tun_id=0x65,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,"
            "dl_dst=00:00:00:00:00:00,dl_type=0x88b5");
}

TEST(XlateTrace, MegaflowPutsThePacketTypeAfterRecircId) {
  Result<OfMatch> m = parse_of_match("recirc_id=0,tcp,in_port=1,nw_frag=no,tp_dst=80", no_names());
  ASSERT_TRUE(m) << m.status().message();
  EXPECT_EQ(format_megaflow(*m), "recirc_id=0,eth,tcp,in_port=1,nw_frag=no,tp_dst=80");
  Result<OfMatch> other = parse_of_match("recirc_id=0,in_port=1,dl_type=0x88b5", no_names());
  EXPECT_EQ(format_megaflow(*other), "recirc_id=0,eth,in_port=1,dl_type=0x88b5");
}

TEST(XlateTrace, DatapathActionsDecodeControllerCookies) {
  UserspaceAction u;
  u.pid = 0;
  u.userdata = encode_controller_cookie(ControllerCookie{2, true, false, 3, 0, 0, 65535});
  u.has_userdata = true;
  EXPECT_EQ(format_datapath_actions({OutputAction{3}, u}),
            "3,userspace(pid=0,controller(reason=2,dont_send=1,continuation=0,recirc_id=3,rule_cookie=0,"
            "controller_id=0,max_len=65535))");
  UserspaceAction raw;
  raw.userdata = {1, 2};
  raw.has_userdata = true;
  EXPECT_EQ(format_datapath_actions({raw}), "userspace(pid=0,userdata(0102))");
  EXPECT_EQ(format_datapath_actions({}), "drop");
}

TEST(XlateTrace, WholeTraceOfATableMissAndOfAFailure) {
  XlateBridge bridge("br0");
  ASSERT_TRUE(bridge.add_port({"p1", 1, 1, XlatePortType::kDummy, std::nullopt}));
  OfTables pipeline;
  OfFlow packet = flow_of("in_port=1,dl_type=0x88b5");
  EXPECT_EQ(
      ofproto_trace(bridge, pipeline, packet),
      "Flow: in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,dl_type=0x88b5\n"
      "\n"
      "bridge(\"br0\")\n"
      "-------------\n"
      " 0. No match.\n"
      "    drop\n"
      "\n"
      "Final flow: unchanged\n"
      "Megaflow: recirc_id=0,eth,in_port=1,dl_type=0x88b5\n"
      "Datapath actions: drop\n");
  ASSERT_TRUE(xlate_test::add_flows(pipeline, "actions=resubmit(,0)", bridge.port_names()));
  std::string failed = ofproto_trace(bridge, pipeline, packet);
  EXPECT_NE(
      failed.find("Datapath actions: drop\nTranslation failed (Recursion too deep), packet is dropped.\n"),
      std::string::npos)
      << failed;
}

}  // namespace
}  // namespace flowlift
