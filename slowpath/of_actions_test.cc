// OpenFlow action text: each action reads into the expected typed action and
// prints as ovs-ofctl dump-flows prints it; malformed actions and actions the
// match makes meaningless are refused with the offending item named.
#include "slowpath/of_actions.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

#include "kmod/odp_text_fields.h"
#include "slowpath/of_flow_syntax.h"

namespace flowlift {
namespace {

PortNames test_ports() {
  PortNames ports;
  for (int i = 1; i <= 5; ++i) ports.add("p" + std::to_string(i), static_cast<uint32_t>(i));
  ports.add("vx1", 10);
  return ports;
}

struct ActionCase {
  const char* text;
  OfActionList expected;
  const char* printed;  // with port numbers, as dump-flows --no-names
};

class ActionText : public ::testing::TestWithParam<ActionCase> {};

TEST_P(ActionText, ParsesToTheTypedActionAndPrintsAsOvs) {
  const ActionCase& c = GetParam();
  PortNames ports = test_ports();
  Result<OfActionList> actions = parse_of_actions(c.text, ports);
  ASSERT_TRUE(actions.is_ok()) << c.text << ": " << actions.status().message();
  EXPECT_EQ(*actions, c.expected) << c.text;
  EXPECT_EQ(format_of_actions(*actions, nullptr), c.printed);
  Result<OfActionList> again = parse_of_actions(format_of_actions(*actions, nullptr), ports);
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_EQ(*again, *actions);
}

Uint128 all_ones(OfFieldId id) { return of_field(id).value_mask(); }

OfControllerAction controller(uint16_t max_len) {
  OfControllerAction c;
  c.max_len = max_len;
  return c;
}

const ActionCase kActionCases[] = {
    {"output:1", {OfOutputAction{1}}, "output:1"},
    {"output:p3", {OfOutputAction{3}}, "output:3"},
    {"p2", {OfOutputAction{2}}, "output:2"},
    {"4", {OfOutputAction{4}}, "output:4"},
    {"output:p1,output:p2,output:p3",
     {OfOutputAction{1}, OfOutputAction{2}, OfOutputAction{3}},
     "output:1,output:2,output:3"},
    {"in_port", {OfOutputAction{kOfPortInPort}}, "IN_PORT"},
    {"output:IN_PORT", {OfOutputAction{kOfPortInPort}}, "IN_PORT"},
    {"LOCAL,FLOOD,ALL",
     {OfOutputAction{kOfPortLocal}, OfOutputAction{kOfPortFlood}, OfOutputAction{kOfPortAll}},
     "LOCAL,FLOOD,ALL"},
    {"drop", {}, "drop"},
    {"", {}, "drop"},
    {"controller", {OfControllerAction{}}, "CONTROLLER:65535"},
    {"controller:100", {controller(100)}, "CONTROLLER:100"},
    {"CONTROLLER:128", {controller(128)}, "CONTROLLER:128"},
    {"output:CONTROLLER", {OfControllerAction{}}, "CONTROLLER:65535"},
    {"controller(reason=no_match,max_len=128,userdata=01.02.03)",
     {OfControllerAction{128, kOfReasonNoMatch, 0, {1, 2, 3}, false}},
     "controller(reason=no_match,max_len=128,userdata=01.02.03)"},
    {"controller(reason=invalid_ttl)",
     {OfControllerAction{UINT16_MAX, kOfReasonInvalidTtl, 0, {}, false}},
     "controller(reason=invalid_ttl)"},
    {"controller(id=3,pause)",
     {OfControllerAction{UINT16_MAX, kOfReasonAction, 3, {}, true}},
     "controller(id=3,pause)"},
    {"resubmit(,10)", {OfResubmitAction{kOfPortInPort, 10}}, "resubmit(,10)"},
    {"resubmit(2,10)", {OfResubmitAction{2, 10}}, "resubmit(2,10)"},
    {"resubmit:3", {OfResubmitAction{3, 255}}, "resubmit:3"},
    {"resubmit(p1,)", {OfResubmitAction{1, 255}}, "resubmit:1"},
    {"resubmit(in_port,5)", {OfResubmitAction{kOfPortInPort, 5}}, "resubmit(,5)"},
    {"goto_table:10", {OfGotoTableAction{10}}, "goto_table:10"},
    {"set_field:10.2.0.53->nw_dst",
     {OfSetFieldAction{OfFieldId::kIpv4Dst, 0x0a020035, all_ones(OfFieldId::kIpv4Dst)}},
     "set_field:10.2.0.53->ip_dst"},
    {"set_field:0x1/0x1->reg0", {OfSetFieldAction{OfFieldId::kReg0, 1, 1}}, "set_field:0x1/0x1->reg0"},
    {"set_field:4196->vlan_vid",
     {OfSetFieldAction{OfFieldId::kVlanVid, 4196, 0x1fff}},
     "set_field:4196->vlan_vid"},
    {"set_field:26->ip_dscp", {OfSetFieldAction{OfFieldId::kIpDscp, 26, 0x3f}}, "set_field:26->ip_dscp"},
    {"set_field:02:00:00:00:00:b0->eth_src",
     {OfSetFieldAction{OfFieldId::kEthSrc, 0x0200000000b0, all_ones(OfFieldId::kEthSrc)}},
     "set_field:02:00:00:00:00:b0->eth_src"},
    {"set_field:0x64->tun_id",
     {OfSetFieldAction{OfFieldId::kTunId, 0x64, all_ones(OfFieldId::kTunId)}},
     "set_field:0x64->tun_id"},
    {"set_field:8080->tcp_dst",
     {OfSetFieldAction{OfFieldId::kTcpDst, 8080, 0xffff}},
     "set_field:8080->tcp_dst"},
    {"set_field:p2->in_port", {OfSetFieldAction{OfFieldId::kInPort, 2, 0xffff}}, "set_field:2->in_port"},
    {"load:0x1->xreg3[32..63]",
     {OfLoadAction{{of_extended_register(3), 32, 32}, 1}},
     "load:0x1->OXM_OF_PKT_REG3[32..63]"},
    {"set_field:0x100000000->xreg0",
     {OfSetFieldAction{OfFieldId::kXreg0, Uint128{1} << 32, all_ones(OfFieldId::kXreg0)}},
     "set_field:0x100000000->xreg0"},
    {"load:0x1->NXM_NX_REG0[]", {OfLoadAction{{OfFieldId::kReg0, 0, 32}, 1}}, "load:0x1->NXM_NX_REG0[]"},
    {"load:0xa->NXM_NX_REG1[0..11]",
     {OfLoadAction{{of_register(1), 0, 12}, 10}},
     "load:0xa->NXM_NX_REG1[0..11]"},
    {"load:1->reg2[3]", {OfLoadAction{{of_register(2), 3, 1}, 1}}, "load:0x1->NXM_NX_REG2[3]"},
    {"load:0->NXM_NX_REG3[]", {OfLoadAction{{of_register(3), 0, 32}, 0}}, "load:0->NXM_NX_REG3[]"},
    {"move:NXM_OF_IN_PORT[]->NXM_NX_REG2[0..15]",
     {OfMoveAction{{OfFieldId::kInPort, 0, 16}, {of_register(2), 0, 16}}},
     "move:NXM_OF_IN_PORT[]->NXM_NX_REG2[0..15]"},
    {"move:NXM_OF_IP_SRC[0]->NXM_NX_REG4[0]",
     {OfMoveAction{{OfFieldId::kIpv4Src, 0, 1}, {of_register(4), 0, 1}}},
     "move:NXM_OF_IP_SRC[0]->NXM_NX_REG4[0]"},
    {"move:reg0[0..15]->tcp_dst[]",
     {OfMoveAction{{OfFieldId::kReg0, 0, 16}, {OfFieldId::kTcpDst, 0, 16}}},
     "move:NXM_NX_REG0[0..15]->NXM_OF_TCP_DST[]"},
    {"mod_dl_src:02:00:00:00:00:b0",
     {OfSetEthSrcAction{{0x02, 0, 0, 0, 0, 0xb0}}},
     "mod_dl_src:02:00:00:00:00:b0"},
    {"mod_dl_dst:00:00:5e:00:01:01",
     {OfSetEthDstAction{{0, 0, 0x5e, 0, 1, 1}}},
     "mod_dl_dst:00:00:5e:00:01:01"},
    {"mod_nw_src:10.254.0.1", {OfSetIpv4SrcAction{htonl(0x0afe0001)}}, "mod_nw_src:10.254.0.1"},
    {"mod_nw_dst:10.2.0.53", {OfSetIpv4DstAction{htonl(0x0a020035)}}, "mod_nw_dst:10.2.0.53"},
    {"mod_nw_tos:184", {OfSetIpDscpAction{184}}, "mod_nw_tos:184"},
    {"mod_nw_ecn:2", {OfSetIpEcnAction{2}}, "mod_nw_ecn:2"},
    {"mod_nw_ttl:9", {OfSetIpTtlAction{9}}, "mod_nw_ttl:9"},
    {"mod_tp_src:1", {OfSetL4SrcPortAction{1}}, "mod_tp_src:1"},
    {"mod_tp_dst:8080", {OfSetL4DstPortAction{8080}}, "mod_tp_dst:8080"},
    {"dec_ttl", {OfDecTtlAction{}}, "dec_ttl"},
    {"dec_ttl(0)", {OfDecTtlAction{{0}}}, "dec_ttl"},
    {"dec_ttl(1,2)", {OfDecTtlAction{{1, 2}}}, "dec_ttl(1,2)"},
    {"push_vlan:0x8100", {OfPushVlanAction{0x8100}}, "push_vlan:0x8100"},
    {"push_vlan:0x88a8", {OfPushVlanAction{0x88a8}}, "push_vlan:0x88a8"},
    {"pop_vlan", {OfPopVlanAction{}}, "pop_vlan"},
    {"strip_vlan", {OfPopVlanAction{}}, "pop_vlan"},
    {"mod_vlan_vid:300", {OfSetVlanVidAction{300}}, "mod_vlan_vid:300"},
    {"mod_vlan_pcp:5", {OfSetVlanPcpAction{5}}, "mod_vlan_pcp:5"},
    {"push_mpls:0x8847", {OfPushMplsAction{0x8847}}, "push_mpls:0x8847"},
    {"pop_mpls:0x0800", {OfPopMplsAction{0x0800}}, "pop_mpls:0x0800"},
    {"set_mpls_label:100", {OfSetMplsLabelAction{100}}, "set_mpls_label(100)"},
    {"set_mpls_label(100)", {OfSetMplsLabelAction{100}}, "set_mpls_label(100)"},
    {"set_mpls_tc:7", {OfSetMplsTcAction{7}}, "set_mpls_tc(7)"},
    {"set_mpls_ttl:63", {OfSetMplsTtlAction{63}}, "set_mpls_ttl(63)"},
    {"dec_mpls_ttl", {OfDecMplsTtlAction{}}, "dec_mpls_ttl"},
    {"set_tunnel:0x65", {OfSetTunnelAction{0x65, false}}, "set_tunnel:0x65"},
    {"set_tunnel64:0x65", {OfSetTunnelAction{0x65, true}}, "set_tunnel64:0x65"},
    {"set_tunnel:0x100000000", {OfSetTunnelAction{0x100000000ull, true}}, "set_tunnel64:0x100000000"},
    {"conjunction(7,1/2)", {OfConjunctionAction{7, 1, 2}}, "conjunction(7,1/2)"},
    {"conjunction(7, 2/2)", {OfConjunctionAction{7, 2, 2}}, "conjunction(7,2/2)"},
    {"conjunction(1,64/64),note:ab",
     {OfConjunctionAction{1, 64, 64}, OfNoteAction{{0xab}}},
     "conjunction(1,64/64),note:ab"},
    {"note:01.02.ab", {OfNoteAction{{1, 2, 0xab}}}, "note:01.02.ab"},
    {"note:0102ab", {OfNoteAction{{1, 2, 0xab}}}, "note:01.02.ab"},
};

INSTANTIATE_TEST_SUITE_P(Ovs, ActionText, ::testing::ValuesIn(kActionCases));

TEST(ActionText, PortsPrintByNameWhenAsked) {
  PortNames ports = test_ports();
  Result<OfActionList> actions = parse_of_actions("output:vx1,resubmit(p1,3),resubmit:p2", ports);
  ASSERT_TRUE(actions.is_ok());
  EXPECT_EQ(format_of_actions(*actions, &ports), "output:vx1,resubmit(p1,3),resubmit:p2");
}

struct ActionError {
  const char* text;
  const char* error;
};

class ActionErrors : public ::testing::TestWithParam<ActionError> {};

TEST_P(ActionErrors, NameTheItemAndTheProblem) {
  PortNames ports = test_ports();
  Result<OfActionList> actions = parse_of_actions(GetParam().text, ports);
  ASSERT_FALSE(actions.is_ok()) << GetParam().text;
  EXPECT_EQ(actions.status().message(), GetParam().error);
}

const ActionError kActionErrors[] = {
    {"NORMAL", "NORMAL: MAC learning is not supported yet"},
    {"output:normal", "output:normal: MAC learning is not supported yet"},
    {"frobnicate", "frobnicate: unknown action \"frobnicate\""},
    {"output:p9", "output:p9: unknown port \"p9\""},
    {"output:ANY", "output:ANY: ANY is not a valid output port"},
    {"output:65281", "output:65281: 65281 is not a valid output port"},
    {"output", "output: missing port"},
    {"drop,output:1", "drop: \"drop\" must not be accompanied by any other action"},
    {"goto_table:10,output:1", "goto_table:10: goto_table must be the last action (it ends the action list)"},
    {"goto_table:255", "goto_table:255: table must be between 0 and 254 (got 255)"},
    {"conjunction(7,1/2),output:1",
     "output:1: conjunction actions may only be combined with other conjunction and note actions"},
    {"conjunction(7,3/2)", "conjunction(7,3/2): k must be between 1 and n"},
    {"conjunction(7,1/65)", "conjunction(7,1/65): n must be between 2 and 64"},
    {"conjunction:7", "conjunction:7: expected conjunction(id,k/n)"},
    {"move:NXM_NX_REG0[0..3]->NXM_NX_REG1[0..7]",
     "move:NXM_NX_REG0[0..3]->NXM_NX_REG1[0..7]: source and destination widths differ (4 vs 8)"},
    {"move:NXM_NX_REG0[0..15]->NXM_OF_ETH_TYPE[]",
     "move:NXM_NX_REG0[0..15]->NXM_OF_ETH_TYPE[]: destination field eth_type is read-only"},
    {"move:NXM_NX_REG0[]", "move:NXM_NX_REG0[]: expected SOURCE->DESTINATION"},
    {"move:NXM_NX_REG0[]->NXM_NX_REG99[]",
     "move:NXM_NX_REG0[]->NXM_NX_REG99[]: unknown field \"NXM_NX_REG99\""},
    {"move:NXM_NX_REG0[0..32]->NXM_NX_REG1[]",
     "move:NXM_NX_REG0[0..32]->NXM_NX_REG1[]: NXM_NX_REG0[0..32]: bit 32 is beyond the 32-bit field reg0"},
    {"load:0x100->NXM_NX_REG0[0..7]", "load:0x100->NXM_NX_REG0[0..7]: value 0x100 does not fit in 8 bits"},
    {"load:1->NXM_OF_ETH_TYPE[]", "load:1->NXM_OF_ETH_TYPE[]: destination field eth_type is read-only"},
    {"set_field:1->eth_type", "set_field:1->eth_type: field eth_type is read-only"},
    {"set_field:1->nosuch", "set_field:1->nosuch: unknown field \"nosuch\""},
    {"set_field:1/1->nw_ttl", "set_field:1/1->nw_ttl: nw_ttl cannot be masked"},
    {"set_field:10.0.0.256->ip_dst", "set_field:10.0.0.256->ip_dst: invalid IPv4 address"},
    {"set_field:64->ip_dscp", "set_field:64->ip_dscp: value 64 does not fit in 6 bits"},
    {"push_vlan:0x0800", "push_vlan:0x0800: not a VLAN ethertype (expected 0x8100 or 0x88a8)"},
    {"push_mpls:0x0800", "push_mpls:0x0800: not an MPLS ethertype (expected 0x8847 or 0x8848)"},
    {"mod_vlan_vid:4096", "mod_vlan_vid:4096: VLAN id must be between 0 and 4095 (got 4096)"},
    {"mod_vlan_pcp:8", "mod_vlan_pcp:8: VLAN priority must be between 0 and 7 (got 8)"},
    {"mod_nw_tos:5", "mod_nw_tos:5: the low 2 (ECN) bits must be zero (use mod_nw_ecn)"},
    {"mod_nw_ecn:4", "mod_nw_ecn:4: ECN must be between 0 and 3 (got 4)"},
    {"mod_dl_src:zz", "mod_dl_src:zz: invalid Ethernet address"},
    {"mod_nw_dst:1.2.3", "mod_nw_dst:1.2.3: invalid IPv4 address"},
    {"set_mpls_label:0x100000",
     "set_mpls_label:0x100000: MPLS label must be between 0 and 1048575 (got 0x100000)"},
    {"resubmit(,)", "resubmit(,): at least one of the port and the table must be given"},
    {"resubmit:IN_PORT", "resubmit:IN_PORT: at least one of the port and the table must be given"},
    {"resubmit(in_port,)", "resubmit(in_port,): at least one of the port and the table must be given"},
    {"resubmit(,10,ct)", "resubmit(,10,ct): expected resubmit(PORT,TABLE) (the ct option is not supported)"},
    {"resubmit(,10", "resubmit(,10: missing ')'"},
    {"controller(reason=bogus)",
     "controller(reason=bogus): unknown reason \"bogus\" (expected no_match, action, invalid_ttl, "
     "action_set, group "
     "or packet_out)"},
    {"controller(colour=red)", "controller(colour=red): unknown controller option \"colour=red\""},
    {"note:1g", "note:1g: expected pairs of hex digits, optionally separated by '.'"},
    {"dec_ttl(1,x)", "dec_ttl(1,x): invalid controller id \"x\""},
    {"pop_vlan:1", "pop_vlan:1: takes no argument"},
};

INSTANTIATE_TEST_SUITE_P(Ovs, ActionErrors, ::testing::ValuesIn(kActionErrors));

// ofpacts_check(): an action the rule's match makes meaningless is refused.
struct ConsistencyCase {
  const char* rule;
  const char* error;  // nullptr: accepted
};

class ActionConsistency : public ::testing::TestWithParam<ConsistencyCase> {};

TEST_P(ActionConsistency, FollowsPushesAndPops) {
  PortNames ports = test_ports();
  Result<OfRule> rule = parse_of_rule(GetParam().rule, ports);
  if (!GetParam().error) {
    EXPECT_TRUE(rule.is_ok()) << GetParam().rule << ": " << rule.status().message();
  } else {
    ASSERT_FALSE(rule.is_ok()) << GetParam().rule;
    EXPECT_EQ(rule.status().message(), GetParam().error);
  }
}

const ConsistencyCase kConsistencyCases[] = {
    {"actions=mod_nw_src:1.2.3.4", "mod_nw_src:1.2.3.4: needs an IPv4 match (add ip)"},
    {"ipv6 actions=mod_nw_dst:1.2.3.4", "mod_nw_dst:1.2.3.4: needs an IPv4 match (add ip)"},
    {"ip actions=mod_nw_src:1.2.3.4", nullptr},
    {"actions=mod_nw_ttl:3", "mod_nw_ttl:3: needs an IPv4 or IPv6 match (add ip or ipv6)"},
    {"actions=dec_ttl", "dec_ttl: needs an IPv4 or IPv6 match (add ip or ipv6)"},
    {"ipv6 actions=dec_ttl,mod_nw_tos:4,mod_nw_ecn:1", nullptr},
    {"ip actions=mod_tp_dst:80", "mod_tp_dst:80: needs a TCP, UDP or SCTP match (add tcp, udp or sctp)"},
    {"udp actions=mod_tp_dst:80", nullptr},
    {"udp,nw_frag=later actions=mod_tp_src:80",
     "mod_tp_src:80: the match admits later fragments, which have no L4 header"},
    {"udp,nw_frag=not_later actions=mod_tp_src:80", nullptr},
    {"actions=set_field:26->ip_dscp", "set_field:26->ip_dscp: needs an IPv4 or IPv6 match (add ip or ipv6)"},
    {"conj_id=7,ip actions=set_field:26->ip_dscp", nullptr},
    {"udp actions=set_field:80->tcp_dst", "set_field:80->tcp_dst: needs a TCP match (add tcp or tcp6)"},
    {"actions=load:1->NXM_OF_IP_SRC[0]", "load:0x1->NXM_OF_IP_SRC[0]: needs an IPv4 match (add ip)"},
    {"actions=move:NXM_OF_IP_SRC[0]->NXM_NX_REG4[0]",
     "move:NXM_OF_IP_SRC[0]->NXM_NX_REG4[0]: needs an IPv4 match (add ip)"},
    {"ip actions=move:NXM_NX_REG4[0]->NXM_OF_IP_SRC[0]", nullptr},
    {"actions=pop_vlan", "pop_vlan: needs a VLAN tag match (add dl_vlan=N or vlan_tci=0x1000/0x1000)"},
    {"dl_vlan=10 actions=pop_vlan", nullptr},
    {"dl_vlan=10 actions=pop_vlan,pop_vlan",
     "pop_vlan: needs a VLAN tag match (add dl_vlan=N or vlan_tci=0x1000/0x1000)"},
    {"actions=set_field:4196->vlan_vid",
     "set_field:4196->vlan_vid: needs a VLAN tag match (add dl_vlan=N or vlan_tci=0x1000/0x1000)"},
    {"actions=push_vlan:0x8100,set_field:4196->vlan_vid", nullptr},
    {"actions=set_field:3->vlan_pcp",
     "set_field:3->vlan_pcp: needs a VLAN tag match (add dl_vlan=N or vlan_tci=0x1000/0x1000)"},
    {"actions=mod_vlan_vid:5,set_field:3->vlan_pcp",
     nullptr},  // mod_vlan_vid pushes a tag when there is none
    {"actions=set_mpls_label:5", "set_mpls_label(5): needs an MPLS match (add mpls or mplsm)"},
    {"actions=pop_mpls:0x0800", "pop_mpls:0x0800: needs an MPLS match (add mpls or mplsm)"},
    {"ip actions=push_mpls:0x8847,set_mpls_label:5,set_mpls_tc:1,dec_mpls_ttl", nullptr},
    {"ip actions=push_mpls:0x8847,mod_nw_ttl:4",
     "mod_nw_ttl:4: needs an IPv4 or IPv6 match (add ip or ipv6)"},
    {"mpls actions=pop_mpls:0x0800,mod_nw_src:1.1.1.1", nullptr},
    {"table=10 actions=goto_table:5",
     "goto_table:5: must go to a later table than the rule's own (table 10)"},
    {"table=10 actions=goto_table:10",
     "goto_table:10: must go to a later table than the rule's own (table 10)"},
    {"table=10 actions=goto_table:11", nullptr},
    {"table=10 actions=resubmit(,5)", nullptr},  // resubmit may go back
};

INSTANTIATE_TEST_SUITE_P(Ovs, ActionConsistency, ::testing::ValuesIn(kConsistencyCases));

}  // namespace
}  // namespace flowlift
