// The userspace datapath's fast path: hits execute, misses queue bounded
// upcalls, counters add up, VXLAN from the underlay is decapsulated, and bad
// frames and bad flows are refused without harm.
#include "kmod/userspace_datapath.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "kmod/checksum_verify.h"
#include "kmod/flow_extract.h"
#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_key.h"
#include "kmod/packet_compose.h"

namespace flowlift {
namespace {

struct Sent {
  uint32_t port;
  Packet frame;
};

class UserspaceDatapathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(datapath.add_port(1, "p1", PortType::kDummy).is_ok());
    ASSERT_TRUE(datapath.add_port(2, "p2", PortType::kDummy).is_ok());
    ASSERT_TRUE(datapath.add_port(10, "uplink", PortType::kDummy).is_ok());
    VxlanPortConfig vxlan;
    vxlan.endpoint.local_ipv4 = htonl(0xc0000201);  // 192.0.2.1
    vxlan.endpoint.src_mac = {2, 0, 0, 0, 0x0a, 1};
    vxlan.endpoint.dst_mac = {2, 0, 0, 0, 0x0a, 2};
    vxlan.underlay_port = 10;
    ASSERT_TRUE(datapath.add_port(4789, "vxlan_sys_4789", PortType::kVxlan, vxlan).is_ok());
    datapath.set_transmit_hook([this](uint32_t port, const Packet& frame) { sent.push_back({port, frame}); });
  }

  Status put(std::string_view match, std::string_view actions, uint32_t id) {
    Result<Match> m = parse_match(match);
    if (!m) return m.status();
    Result<ActionList> a = parse_actions(actions);
    if (!a) return a.status();
    Megaflow flow;
    flow.ufid.bytes[0] = static_cast<uint8_t>(id);
    flow.match = *m;
    flow.actions = *a;
    Result<InsertOutcome> r = datapath.put_flow(flow, MaskedFlowTable::kCreate);
    return r ? Status::ok() : r.status();
  }

  Packet frame(std::string_view key_text, size_t payload = 0) {
    Result<Match> m = parse_match(key_text);
    EXPECT_TRUE(m.is_ok()) << m.status().message();
    return compose_packet(m->key, payload);
  }

  ReceiveOutcome receive(uint32_t port, Packet p) {
    ReceiveOutcome o = datapath.receive(context, port, std::move(p));
    context.quiescent();
    return o;
  }

  UserspaceDatapath datapath{8};
  LookupContext context{datapath.flow_table()};
  std::vector<Sent> sent;
};

constexpr const char* kIcmp =
    "eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),"
    "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=1,ttl=64,frag=no),icmp(type=8,code=0)";

TEST_F(UserspaceDatapathTest, HitExecutesActionsAndCountsOnTheFlow) {
  ASSERT_TRUE(put("in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.0.2,frag=no)", "set(ipv4(ttl=63)),2", 1).is_ok());
  Packet p = frame(kIcmp, 56);
  size_t length = p.size();
  ReceiveOutcome o = receive(1, std::move(p));
  EXPECT_TRUE(o.hit);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, 2u);
  Packet out = sent[0].frame;
  EXPECT_EQ(flow_key_extract(out).ip_ttl, 63);
  EXPECT_TRUE(verify_frame_checksums(out).is_ok());
  std::vector<Megaflow> flows = datapath.flow_table().dump();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].stats.packets, 1u);
  EXPECT_EQ(flows[0].stats.bytes, length);
  EXPECT_EQ(datapath.stats().hit, 1u);
}

TEST_F(UserspaceDatapathTest, MissQueuesUpcallWithTheExtractedKey) {
  ReceiveOutcome o = receive(1, frame(kIcmp));
  EXPECT_FALSE(o.hit);
  EXPECT_TRUE(sent.empty());
  std::vector<QueuedUpcall> upcalls = datapath.take_upcalls();
  ASSERT_EQ(upcalls.size(), 1u);
  EXPECT_EQ(upcalls[0].kind, QueuedUpcall::Kind::kMiss);
  EXPECT_EQ(upcalls[0].key.in_port, 1u);
  EXPECT_EQ(upcalls[0].key.ipv4_dst, htonl(0x0a000002));
  EXPECT_EQ(datapath.stats().missed, 1u);
}

TEST_F(UserspaceDatapathTest, UpcallQueueIsBoundedAndCountsLost) {
  for (int i = 0; i < 12; ++i) receive(1, frame(kIcmp));
  EXPECT_EQ(datapath.take_upcalls().size(), 8u);
  EXPECT_EQ(datapath.stats().missed, 12u);
  EXPECT_EQ(datapath.stats().lost, 4u);
}

TEST_F(UserspaceDatapathTest, FlowWithoutVlanDoesNotCatchTaggedFrames) {
  ASSERT_TRUE(put("in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "2", 1).is_ok());
  Packet tagged = frame(
      "eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x8100),vlan(vid=5,pcp=0),"
      "encap(eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,ttl=64,frag=no),udp(src=1,dst=2))");
  EXPECT_FALSE(receive(1, std::move(tagged)).hit);
  EXPECT_TRUE(receive(1, frame(kIcmp)).hit);
}

// Every decoded match covers mac_proto, as the kernel's does: a layer-3 flow
// (no eth(...)) and an Ethernet flow with otherwise the same match are two
// flows, and a received frame, always Ethernet, only ever hits the second.
TEST_F(UserspaceDatapathTest, EthernetFramesNeverHitALayer3Flow) {
  ASSERT_TRUE(put("in_port(1),eth_type(0x0800),ipv4(frag=no)", "2", 1).is_ok());
  EXPECT_FALSE(receive(1, frame(kIcmp)).hit);
  ASSERT_TRUE(put("in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "10", 2).is_ok());
  EXPECT_TRUE(receive(1, frame(kIcmp)).hit);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, 10u);
}

TEST_F(UserspaceDatapathTest, VxlanFromTheUnderlayIsDecapsulatedOntoTheVxlanPort) {
  ASSERT_TRUE(put("tunnel(tun_id=0x64,src=192.0.2.2,dst=192.0.2.1,flags(-df-csum+key)),in_port(4789),eth(),"
                  "eth_type(0x0800),ipv4(frag=no)",
                  "1", 1)
                  .is_ok());
  Packet inner = frame(kIcmp, 20);
  size_t inner_length = inner.size();
  TunnelKey tunnel{};
  tunnel.tun_id = htobe64(100);
  tunnel.ipv4_src = htonl(0xc0000202);
  tunnel.ipv4_dst = htonl(0xc0000201);
  tunnel.ttl = 64;
  tunnel.flags = kTunnelKey;
  VxlanEndpoint remote;
  remote.local_ipv4 = tunnel.ipv4_src;
  ASSERT_TRUE(vxlan_encapsulate(inner, tunnel, remote).is_ok());
  ReceiveOutcome o = receive(10, std::move(inner));
  EXPECT_TRUE(o.decapsulated);
  EXPECT_TRUE(o.hit);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, 1u);
  EXPECT_EQ(sent[0].frame.size(), inner_length);
}

TEST_F(UserspaceDatapathTest, OutputToVxlanPortEncapsulatesOutOfTheUnderlay) {
  ASSERT_TRUE(put("in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)",
                  "set(tunnel(tun_id=0x64,dst=192.0.2.2,ttl=64,tp_dst=4789,flags(df|key))),4789", 1)
                  .is_ok());
  receive(1, frame(kIcmp, 10));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, 10u);
  Packet outer = sent[0].frame;
  EXPECT_TRUE(verify_frame_checksums(outer).is_ok());
  FlowKey k = flow_key_extract(outer);
  EXPECT_EQ(k.ipv4_src, htonl(0xc0000201));
  EXPECT_EQ(k.ipv4_dst, htonl(0xc0000202));
  EXPECT_EQ(k.tp_dst, htons(4789));
  Result<TunnelKey> t = vxlan_decapsulate(outer, 4789);
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_EQ(be64toh(t->tun_id), 100u);
}

TEST_F(UserspaceDatapathTest, MalformedFramesAreCountedAndDropped) {
  std::vector<uint8_t> runt = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  ReceiveOutcome o = receive(1, Packet(runt));
  EXPECT_TRUE(o.malformed);
  EXPECT_EQ(datapath.stats().malformed, 1u);
  // A broken VXLAN frame for our VTEP: the I flag cleared.
  Packet inner = frame(kIcmp);
  TunnelKey tunnel{};
  tunnel.ipv4_src = htonl(0xc0000202);
  tunnel.ipv4_dst = htonl(0xc0000201);
  tunnel.flags = kTunnelKey;
  VxlanEndpoint remote;
  ASSERT_TRUE(vxlan_encapsulate(inner, tunnel, remote).is_ok());
  inner.data()[14 + 20 + 8] = 0;  // VXLAN flags: I flag gone
  o = receive(10, std::move(inner));
  EXPECT_TRUE(o.malformed);
  EXPECT_EQ(datapath.stats().malformed, 2u);
  EXPECT_TRUE(sent.empty());
}

TEST_F(UserspaceDatapathTest, InvalidActionsAreRefusedAtInstall) {
  Status s = put("in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "pop_vlan,2", 1);
  EXPECT_TRUE(s.is_ok()) << "pop_vlan on an Ethernet flow is valid: " << s.message();
  s = put("in_port(2),eth(),eth_type(0x0800),ipv4(frag=no)", "push_mpls(label=1,tc=0,ttl=64,bos=1,eth_type=0x800),1", 2);
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(datapath.flow_table().count(), 1u);
}

TEST_F(UserspaceDatapathTest, PortsAreUniqueByNumberAndName) {
  EXPECT_EQ(datapath.add_port(1, "other", PortType::kDummy).code(), EEXIST);
  EXPECT_EQ(datapath.add_port(3, "p1", PortType::kDummy).code(), EEXIST);
  EXPECT_EQ(datapath.add_port(5, "vx", PortType::kVxlan).code(), EINVAL);
  EXPECT_EQ(datapath.remove_port(99).code(), ENOENT);
}

TEST_F(UserspaceDatapathTest, OutputToARemovedPortIsCountedNotCrashed) {
  ASSERT_TRUE(put("in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "2", 1).is_ok());
  ASSERT_TRUE(datapath.remove_port(2).is_ok());
  receive(1, frame(kIcmp));
  EXPECT_TRUE(sent.empty());
  EXPECT_EQ(datapath.stats().action_errors, 1u);
}

TEST_F(UserspaceDatapathTest, RecirculationLooksUpAgainWithTheNewRecircId) {
  ASSERT_TRUE(put("recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "recirc(0x7)", 1).is_ok());
  ASSERT_TRUE(put("recirc_id(0x7),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "2", 2).is_ok());
  receive(1, frame(kIcmp));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, 2u);
  EXPECT_EQ(datapath.stats().hit, 2u);
}

TEST_F(UserspaceDatapathTest, RecirculationLoopStopsAtTheKernelsLimit) {
  ASSERT_TRUE(put("recirc_id(0x7),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "recirc(0x7)", 1).is_ok());
  ASSERT_TRUE(put("recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "recirc(0x7)", 2).is_ok());
  receive(1, frame(kIcmp));
  EXPECT_TRUE(sent.empty());
  EXPECT_GE(datapath.stats().action_errors, 1u);
  EXPECT_LE(datapath.stats().hit, 7u);
}

}  // namespace
}  // namespace flowlift

namespace flowlift {
namespace {

TEST_F(UserspaceDatapathTest, PeriodicWorkRebalancesMasksByHitsEveryFourSeconds) {
  // Two masks; the second one installed gets all the traffic.
  ASSERT_TRUE(put("in_port(2),eth(),eth_type(0x0800),ipv4(frag=no)", "1", 1).is_ok());
  ASSERT_TRUE(put("in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.0.2,frag=no)", "2", 2).is_ok());
  FlowMask busy = datapath.flow_table().masks()[1].mask;
  for (int i = 0; i < 20; ++i) receive(1, frame(kIcmp));
  EXPECT_FALSE(datapath.run_periodic_work(1000));  // starts the clock
  EXPECT_FALSE(datapath.run_periodic_work(1000 + 3999));
  EXPECT_EQ(datapath.flow_table().masks()[1].mask, busy);
  EXPECT_TRUE(datapath.run_periodic_work(1000 + 4000));
  EXPECT_EQ(datapath.flow_table().masks()[0].mask, busy);
}

}  // namespace
}  // namespace flowlift
