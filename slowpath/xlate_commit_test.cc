// commit_header_changes() and commit_tunnel_metadata() on hand-made header
// states: what odp-util's commit_odp_actions() would emit and unwildcard.
#include "slowpath/xlate_commit.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "kmod/odp_text_actions.h"
#include "kmod/protocol_numbers.h"

namespace flowlift {
namespace {

XlateHeaders ipv4_headers() {
  XlateHeaders h;
  h.flow.dl_type = be16(kEthTypeIpv4);
  h.flow.nw_proto = kIpProtoUdp;
  h.flow.nw_src = htonl(0x0a000001);
  h.flow.nw_dst = htonl(0x0a000002);
  h.flow.nw_ttl = 64;
  h.flow.tp_src = htons(1000);
  h.flow.tp_dst = htons(53);
  return h;
}

struct Committed {
  std::string actions;
  uint32_t slow = 0;
  OfFlow wc{};
  XlateHeaders base;
};

Committed commit(const XlateHeaders& flow, XlateHeaders base, OfFlow wc, bool use_masked = true) {
  Committed c;
  ActionList actions;
  c.slow = commit_header_changes(flow, base, wc, use_masked, actions);
  c.actions = format_actions(actions);
  c.wc = wc;
  c.base = base;
  return c;
}

TEST(XlateCommit, NothingChangedMeansNoAction) {
  XlateHeaders h = ipv4_headers();
  OfFlow wc{};
  wc.nw_ttl = 0xff;
  Committed c = commit(h, h, wc);
  EXPECT_EQ(c.actions, "drop");
  EXPECT_EQ(c.wc.nw_ttl, 0xff);
}

TEST(XlateCommit, TheBaseCatchesUp) {
  XlateHeaders flow = ipv4_headers(), base = flow;
  flow.flow.nw_ttl = 63;
  OfFlow wc{};
  wc.nw_ttl = 0xff;
  Committed c = commit(flow, base, wc);
  EXPECT_EQ(c.actions, "set(ipv4(ttl=63))");
  EXPECT_TRUE(c.base == flow);
  EXPECT_EQ(commit(flow, c.base, wc).actions, "drop");
}

TEST(XlateCommit, AFullyMaskedTosChangeIsStillAMaskedIpv4Set) {
  // The protocol and fragment fields are never writable, so an IPv4 set
  // is never "fully masked".
  XlateHeaders flow = ipv4_headers(), base = flow;
  flow.flow.nw_tos = 0x68;
  OfFlow wc{};
  wc.nw_tos = 0xff;
  EXPECT_EQ(commit(flow, base, wc).actions, "set(ipv4(tos=0x68))");
}

TEST(XlateCommit, AnUnchangedEcnIsLeftOutWhenTheBaseHasATunnel) {
  // commit_set_ipv4_action(): the tunnel output sets the outer ECN from the
  // inner one, so an unchanged inner ECN must not be written.
  XlateHeaders flow = ipv4_headers(), base = flow;
  flow.flow.nw_tos = 0x68;
  base.flow.tun_dst = htonl(0xc0000202);
  OfFlow wc{};
  wc.nw_tos = 0xff;
  EXPECT_EQ(commit(flow, base, wc).actions, "set(ipv4(tos=0x68/0xfc))");
}

TEST(XlateCommit, WithoutMaskedSetsTheWholeAttributeIsWrittenAndPinned) {
  XlateHeaders flow = ipv4_headers(), base = flow;
  flow.flow.nw_ttl = 9;
  OfFlow wc{};
  wc.nw_ttl = 0xff;
  Committed c = commit(flow, base, wc, false);
  EXPECT_EQ(c.actions, "set(ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=9,frag=no))");
  EXPECT_EQ(c.wc.nw_src, 0xffffffffu);
  EXPECT_EQ(c.wc.nw_proto, 0xff);
  EXPECT_EQ(c.wc.nw_frag, kOfFragMask);
}

TEST(XlateCommit, TransportPortsOfTheFlowsProtocol) {
  XlateHeaders flow = ipv4_headers(), base = flow;
  flow.flow.tp_dst = htons(5353);
  OfFlow wc{};
  wc.tp_dst = 0xffff;
  EXPECT_EQ(commit(flow, base, wc).actions, "set(udp(dst=5353))");
  flow.flow.nw_proto = base.flow.nw_proto = 132;
  EXPECT_EQ(commit(flow, base, wc).actions, "set(sctp(dst=5353))");
}

TEST(XlateCommit, IcmpSetsArePlainAndSlowPathed) {
  XlateHeaders flow = ipv4_headers();
  flow.flow.nw_proto = kIpProtoIcmp;
  flow.flow.tp_src = htons(8);
  flow.flow.tp_dst = htons(0);
  XlateHeaders base = flow;
  flow.flow.tp_src = htons(0);
  OfFlow wc{};
  wc.tp_src = 0xffff;
  Committed c = commit(flow, base, wc);
  EXPECT_EQ(c.actions, "set(icmp(type=0,code=0))");
  EXPECT_EQ(c.slow, uint32_t{kXlateSlowAction});
  EXPECT_EQ(c.wc.tp_dst, htons(0x00ff));  // the plain set pins the 8-bit code too
}

TEST(XlateCommit, ChangedVlanTagsArePoppedAndPushedFromTheInnermost) {
  XlateHeaders base = ipv4_headers();
  base.flow.vlan_tpid = be16(kEthTypeVlan);
  base.flow.vlan_tci = be16(kVlanCfi | 10);
  // A tag stacked on top: only the new outer tag is pushed.
  XlateHeaders qinq = base;
  qinq.inner_vlan = VlanHead{base.flow.vlan_tpid, base.flow.vlan_tci};
  qinq.flow.vlan_tpid = be16(kEthTypeQinq);
  qinq.flow.vlan_tci = be16(kVlanCfi | 20);
  Committed c = commit(qinq, base, OfFlow{});
  EXPECT_EQ(c.actions, "push_vlan(tpid=0x88a8,vid=20,pcp=0)");
  EXPECT_EQ(c.wc.vlan_tci, 0);
  // The tag removed: popped, and the megaflow pins it.
  XlateHeaders untagged = ipv4_headers();
  Committed pop = commit(untagged, base, OfFlow{});
  EXPECT_EQ(pop.actions, "pop_vlan");
  EXPECT_EQ(pop.wc.vlan_tci, 0xffff);
  EXPECT_EQ(pop.wc.vlan_tpid, 0xffff);
}

TEST(XlateCommit, MplsTopLabelIsRewrittenPoppedOrPushed) {
  XlateHeaders base;
  base.flow.dl_type = be16(kEthTypeMplsUnicast);
  base.flow.mpls_lse = htonl(100 << 12 | 10);  // no bottom of stack: a second label follows
  base.inner_mpls[0] = htonl(200 << 12 | kMplsBosMask | 10);
  // Same depth, different top label: a set.
  XlateHeaders relabelled = base;
  relabelled.flow.mpls_lse = htonl(101 << 12 | 10);
  EXPECT_EQ(commit(relabelled, base, OfFlow{}).actions, "set(mpls(label=101,tc=0,ttl=10,bos=0))");
  // The top label gone: a pop that keeps the MPLS ethertype.
  XlateHeaders popped = base;
  popped.flow.mpls_lse = base.inner_mpls[0];
  popped.inner_mpls[0] = 0;
  EXPECT_EQ(commit(popped, base, OfFlow{}).actions, "pop_mpls(eth_type=0x8847)");
  // Both gone and the packet IPv4 again: the intermediate pop still names MPLS.
  XlateHeaders ip = ipv4_headers();
  ip.flow.nw_proto = 0;  // L3 unknown until the datapath parses it again
  EXPECT_EQ(commit(ip, base, OfFlow{}).actions, "pop_mpls(eth_type=0x8847),pop_mpls(eth_type=0x800)");
}

TEST(XlateCommit, PriorityAndMarkSets) {
  XlateHeaders flow = ipv4_headers(), base = flow;
  flow.flow.skb_priority = 5;
  flow.flow.pkt_mark = 0x10;
  OfFlow wc{};
  wc.skb_priority = 0xffffffffu;
  wc.pkt_mark = 0xf0;
  EXPECT_EQ(commit(flow, base, wc).actions, "set(skb_priority(0x5)),set(skb_mark(0x10/0xf0))");
}

TEST(XlateCommit, TunnelMetadataIsSetOnlyWhenItChanges) {
  OfFlow flow{}, base{};
  ActionList actions;
  commit_tunnel_metadata(flow, base, actions);
  EXPECT_TRUE(actions.empty());  // no destination, no tunnel
  flow.tun_dst = htonl(0xc0000202);
  flow.tun_id = htobe64(0x64);
  flow.tun_ttl = 64;
  flow.tun_tp_dst = htons(4789);
  flow.tun_flags = kTunnelDontFragment | kTunnelKey;
  commit_tunnel_metadata(flow, base, actions);
  commit_tunnel_metadata(flow, base, actions);
  EXPECT_EQ(format_actions(actions),
            "set(tunnel(tun_id=0x64,dst=192.0.2.2,ttl=64,tp_dst=4789,flags(df|key)))");
}

}  // namespace
}  // namespace flowlift
