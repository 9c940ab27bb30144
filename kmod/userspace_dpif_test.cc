// UserspaceDpif with dummy ports (no kernel state touched): the Dpif
// contract as the slowpath relies on it. Misses become upcalls carrying
// key and hash, installed flows forward and capture shows the frames,
// upcall queues are per port and fair, bad requests are refused by name,
// malformed frames are counted, VXLAN to a local address is decapsulated.
#include "kmod/userspace_dpif.h"

#include <arpa/inet.h>
#include <endian.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_key.h"
#include "kmod/packet_compose.h"
#include "kmod/packet_hash.h"
#include "kmod/vxlan.h"

namespace flowlift {
namespace {

constexpr const char* kIcmpFrom1 =
    "in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),"
    "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=1,ttl=64,frag=no),icmp(type=8,code=0)";

Packet frame_of(std::string_view key_text, size_t payload = 16) {
  Result<Match> match = parse_match(key_text);
  EXPECT_TRUE(match) << match.status().message();
  return compose_packet(match->key, payload);
}

std::vector<uint8_t> bytes_of(const Packet& packet) { return {packet.bytes().begin(), packet.bytes().end()}; }

class UserspaceDpifTest : public ::testing::Test {
 protected:
  void SetUp() override { make_dpif({}); }

  void make_dpif(UserspaceDpifOptions options) {
    options.kernel_underlay = false;
    dpif.reset();
    Result<std::unique_ptr<UserspaceDpif>> created = UserspaceDpif::create(options);
    ASSERT_TRUE(created) << created.status().message();
    dpif = std::move(*created);
    for (const char* name : {"p1", "p2", "p3"}) {
      DpifPortRequest request;
      request.name = name;
      ASSERT_TRUE(dpif->port_add(request)) << name;
    }
  }

  Status put(std::string_view match, std::string_view actions, uint8_t id, bool create = true,
             bool modify = false) {
    Result<DpifPutOutcome> outcome = put_outcome(match, actions, id, create, modify);
    return outcome ? Status::ok() : outcome.status();
  }

  Result<DpifPutOutcome> put_outcome(std::string_view match, std::string_view actions, uint8_t id,
                                     bool create, bool modify, bool clear_stats = false) {
    Result<Match> m = parse_match(match);
    if (!m) return m.status();
    Result<ActionList> a = parse_actions(actions);
    if (!a) return a.status();
    DpifFlowPut request;
    request.flow.ufid.bytes[0] = id;
    request.flow.match = *m;
    request.flow.actions = *a;
    request.create = create;
    request.modify = modify;
    request.clear_stats = clear_stats;
    return dpif->flow_put(request);
  }

  std::vector<DpifUpcall> upcalls(size_t max = 100) {
    std::vector<DpifUpcall> out;
    dpif->recv_upcalls(max, out);
    return out;
  }

  DpifPort port(uint32_t number) {
    for (const DpifPort& p : dpif->port_dump())
      if (p.number == number) return p;
    ADD_FAILURE() << "no port " << number;
    return {};
  }

  std::unique_ptr<UserspaceDpif> dpif;
};

TEST_F(UserspaceDpifTest, PortsGetTheLowestFreeNumberFromOne) {
  std::vector<DpifPort> ports = dpif->port_dump();
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(ports[0].number, 1u);
  EXPECT_EQ(ports[2].number, 3u);
  EXPECT_EQ(ports[2].name, "p3");
  DpifPortRequest explicit_number{.name = "p9", .number = 9};
  ASSERT_EQ(*dpif->port_add(explicit_number), 9u);
  ASSERT_TRUE(dpif->port_del(2).is_ok());
  DpifPortRequest next{.name = "p-next"};
  EXPECT_EQ(*dpif->port_add(next), 2u);
  EXPECT_EQ(*dpif->port_add(DpifPortRequest{.name = "p-after"}), 4u);
}

TEST_F(UserspaceDpifTest, MissOnADummyPortIsUpcalledWithPacketKeyAndHash) {
  Packet packet = frame_of(kIcmpFrom1);
  std::vector<uint8_t> sent = bytes_of(packet);
  ASSERT_TRUE(dpif->inject(1, std::move(packet)).is_ok());
  std::vector<DpifUpcall> got = upcalls();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, DpifUpcall::Kind::kMiss);
  EXPECT_EQ(bytes_of(got[0].packet), sent);
  EXPECT_EQ(got[0].key.in_port, 1u);
  EXPECT_EQ(got[0].key.ipv4_dst, htonl(0x0a000002));
  EXPECT_EQ(got[0].hash, mask_cache_packet_hash(sent, 0));
  EXPECT_EQ(dpif->stats().missed, 1u);
  EXPECT_EQ(dpif->stats().hit, 0u);
  EXPECT_EQ(port(1).stats.rx_packets, 1u);
  EXPECT_EQ(port(1).stats.rx_bytes, sent.size());
}

TEST_F(UserspaceDpifTest, InstalledFlowForwardsAndCaptureShowsTheFrame) {
  ASSERT_TRUE(put("in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.0.2,frag=no)", "2", 1).is_ok());
  Packet packet = frame_of(kIcmpFrom1);
  std::vector<uint8_t> sent = bytes_of(packet);
  ASSERT_TRUE(dpif->inject(1, std::move(packet)).is_ok());
  EXPECT_TRUE(upcalls().empty());
  Result<std::vector<Packet>> captured = dpif->capture(2, 10);
  ASSERT_TRUE(captured);
  ASSERT_EQ(captured->size(), 1u);
  EXPECT_EQ(bytes_of((*captured)[0]), sent);
  EXPECT_TRUE(dpif->capture(3, 10)->empty());
  DpifStats stats = dpif->stats();
  EXPECT_EQ(stats.hit, 1u);
  EXPECT_EQ(stats.flows, 1u);
  EXPECT_EQ(stats.masks, 1u);
  EXPECT_EQ(port(2).stats.tx_packets, 1u);
  Result<Megaflow> flow = dpif->flow_get(Ufid{{1}});
  ASSERT_TRUE(flow);
  EXPECT_EQ(flow->stats.packets, 1u);
  EXPECT_EQ(flow->stats.bytes, sent.size());
}

TEST_F(UserspaceDpifTest, ExecuteRunsTheActionsOnThePacket) {
  Packet packet = frame_of(kIcmpFrom1);
  FlowKey key = parse_match(kIcmpFrom1)->key;
  ASSERT_TRUE(dpif->execute(packet, key, *parse_actions("set(ipv4(ttl=9)),3,2")).is_ok());
  Result<std::vector<Packet>> on3 = dpif->capture(3, 10);
  Result<std::vector<Packet>> on2 = dpif->capture(2, 10);
  ASSERT_EQ(on3->size(), 1u);
  ASSERT_EQ(on2->size(), 1u);
  EXPECT_EQ((*on3)[0].data()[14 + 8], 9);                   // the IPv4 TTL
  EXPECT_EQ(dpif->stats().hit + dpif->stats().missed, 0u);  // execute is no lookup
}

TEST_F(UserspaceDpifTest, ExecuteWithAnActionTheDatapathRefusesIsAnError) {
  FlowKey key = parse_match(kIcmpFrom1)->key;
  // set(tcp(...)) on an ICMP key: validation refuses it, as the kernel does.
  Status status = dpif->execute(frame_of(kIcmpFrom1), key, *parse_actions("set(tcp(src=1)),2"));
  EXPECT_EQ(status.code(), EINVAL);
  EXPECT_TRUE(dpif->capture(2, 10)->empty());
}

TEST_F(UserspaceDpifTest, ExecutedRecirculationIsLookedUpAgainWithItsRecircId) {
  // An executed list's recirc(5) is looked up like a received packet with
  // recirc_id 5: a hit runs that flow's actions, a miss is upcalled.
  ASSERT_TRUE(put("recirc_id(5),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "3", 1).is_ok());
  FlowKey key = parse_match(kIcmpFrom1)->key;
  ASSERT_TRUE(dpif->execute(frame_of(kIcmpFrom1), key, *parse_actions("2,recirc(5)")).is_ok());
  EXPECT_EQ(dpif->capture(2, 10)->size(), 1u);
  EXPECT_EQ(dpif->capture(3, 10)->size(), 1u);
  EXPECT_EQ(dpif->stats().hit, 1u);
  ASSERT_TRUE(dpif->execute(frame_of(kIcmpFrom1), key, *parse_actions("recirc(6)")).is_ok());
  std::vector<DpifUpcall> got = upcalls();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, DpifUpcall::Kind::kMiss);
  EXPECT_EQ(got[0].key.recirc_id, 6u);
  EXPECT_EQ(got[0].key.in_port, 1u);
  EXPECT_EQ(dpif->stats().missed, 1u);
}

TEST_F(UserspaceDpifTest, ReceivedPacketRecirculatesThroughTwoFlows) {
  ASSERT_TRUE(put("recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "recirc(7)", 1).is_ok());
  ASSERT_TRUE(put("recirc_id(7),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "2", 2).is_ok());
  ASSERT_TRUE(dpif->inject(1, frame_of(kIcmpFrom1)).is_ok());
  EXPECT_EQ(dpif->capture(2, 10)->size(), 1u);
  EXPECT_EQ(dpif->stats().hit, 2u);
  EXPECT_TRUE(upcalls().empty());
}

TEST_F(UserspaceDpifTest, UserspaceActionIsAnActionUpcall) {
  ASSERT_TRUE(put("in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "userspace(pid=1),2", 1).is_ok());
  ASSERT_TRUE(dpif->inject(1, frame_of(kIcmpFrom1)).is_ok());
  std::vector<DpifUpcall> got = upcalls();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, DpifUpcall::Kind::kAction);
  EXPECT_TRUE(got[0].action.has_value());
  EXPECT_EQ(dpif->capture(2, 10)->size(), 1u);
}

TEST_F(UserspaceDpifTest, FloodingPortCannotStarveAnother) {
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(dpif->inject(1, frame_of(kIcmpFrom1)).is_ok());
  std::string from3 = kIcmpFrom1;
  from3.replace(from3.find("in_port(1)"), 10, "in_port(3)");
  ASSERT_TRUE(dpif->inject(3, frame_of(from3)).is_ok());
  // The single upcall of port 3 comes within the first two, not after 50.
  std::vector<DpifUpcall> first_two = upcalls(2);
  ASSERT_EQ(first_two.size(), 2u);
  EXPECT_NE(first_two[0].key.in_port, first_two[1].key.in_port);
  EXPECT_EQ(upcalls().size(), 49u);
}

TEST_F(UserspaceDpifTest, FullQueueCountsLostOnlyForTheFloodingPort) {
  UserspaceDpifOptions options;
  options.upcall_queue_limit = 4;
  make_dpif(options);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(dpif->inject(1, frame_of(kIcmpFrom1)).is_ok());
  std::string from2 = kIcmpFrom1;
  from2.replace(from2.find("in_port(1)"), 10, "in_port(2)");
  ASSERT_TRUE(dpif->inject(2, frame_of(from2)).is_ok());
  EXPECT_EQ(dpif->stats().lost, 2u);
  EXPECT_EQ(dpif->stats().missed, 7u);
  std::vector<DpifUpcall> got = upcalls();
  EXPECT_EQ(got.size(), 5u);
  size_t from_port2 = 0;
  for (const DpifUpcall& upcall : got) from_port2 += upcall.key.in_port == 2;
  EXPECT_EQ(from_port2, 1u);
}

TEST_F(UserspaceDpifTest, WaitForUpcallsReturnsWhenWokenOrWhenOneIsQueued) {
  std::thread waker([&] { dpif->wake_upcall_waiters(); });
  // Either the wake lands while waiting, or before: in both cases the wait
  // must not last the whole (long) timeout if woken; we only check it returns.
  waker.join();
  ASSERT_TRUE(dpif->inject(1, frame_of(kIcmpFrom1)).is_ok());
  auto start = std::chrono::steady_clock::now();
  dpif->wait_for_upcalls(std::chrono::minutes(5));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::minutes(4));
}

TEST_F(UserspaceDpifTest, CaptureKeepsOnlyTheLatestFrames) {
  UserspaceDpifOptions options;
  options.capture_limit = 3;
  make_dpif(options);
  FlowKey key = parse_match(kIcmpFrom1)->key;
  for (uint8_t ttl = 1; ttl <= 5; ++ttl) {
    std::string actions = "set(ipv4(ttl=" + std::to_string(ttl) + ")),2";
    ASSERT_TRUE(dpif->execute(frame_of(kIcmpFrom1), key, *parse_actions(actions)).is_ok());
  }
  Result<std::vector<Packet>> captured = dpif->capture(2, 2);
  ASSERT_EQ(captured->size(), 2u);  // oldest first, at most max
  EXPECT_EQ((*captured)[0].data()[22], 3);
  EXPECT_EQ((*captured)[1].data()[22], 4);
  captured = dpif->capture(2, 10);
  ASSERT_EQ(captured->size(), 1u);
  EXPECT_EQ((*captured)[0].data()[22], 5);
}

TEST_F(UserspaceDpifTest, FlowPutMapsCreateAndModifyAsTheKernelDoes) {
  const char* match = "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)";
  ASSERT_EQ(*put_outcome(match, "2", 1, true, false), DpifPutOutcome::kCreated);
  // Exists, may not modify: EEXIST.
  EXPECT_EQ(put_outcome(match, "3", 1, true, false).status().code(), EEXIST);
  // Exists, may modify: new actions.
  ASSERT_TRUE(dpif->inject(1, frame_of(kIcmpFrom1)).is_ok());
  ASSERT_EQ(*put_outcome(match, "3", 1, true, true), DpifPutOutcome::kActionsUpdated);
  EXPECT_EQ(dpif->flow_get(Ufid{{1}})->stats.packets, 1u);  // kept without clear_stats
  // Modify only, with clear_stats.
  ASSERT_EQ(*put_outcome(match, "2", 1, false, true, true), DpifPutOutcome::kActionsUpdated);
  EXPECT_EQ(dpif->flow_get(Ufid{{1}})->stats.packets, 0u);
  // Modify only, absent: ENOENT.
  EXPECT_EQ(put_outcome("in_port(2),eth(),eth_type(0x0806)", "1", 2, false, true).status().code(), ENOENT);
  // May create and modify, absent: created.
  EXPECT_EQ(*put_outcome("in_port(2),eth(),eth_type(0x0806)", "1", 2, true, true), DpifPutOutcome::kCreated);
  EXPECT_EQ(put_outcome(match, "2", 3, false, false).status().code(), EINVAL);
  EXPECT_EQ(dpif->flow_dump().size(), 2u);
  Result<Megaflow> removed = dpif->flow_del(Ufid{{1}});
  ASSERT_TRUE(removed);
  EXPECT_EQ(dpif->flow_del(Ufid{{1}}).status().code(), ENOENT);
  ASSERT_TRUE(dpif->flow_flush().is_ok());
  EXPECT_EQ(dpif->stats().flows, 0u);
}

TEST_F(UserspaceDpifTest, FlowWithActionsTheDatapathRefusesIsRejected) {
  Status status = put("in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "set(tcp(src=1)),2", 1);
  EXPECT_EQ(status.code(), EINVAL);
  EXPECT_EQ(dpif->stats().flows, 0u);
}

TEST_F(UserspaceDpifTest, PutBatchOfCreatesGivesEachPutItsOwnOutcome) {
  // A batch of creates (the handlers' case) goes to the table in one piece:
  // a put whose actions the datapath refuses, a repeated UFID and a key an
  // earlier put in the same batch already covers each fail alone.
  auto make = [](std::string_view match, std::string_view actions, uint8_t id) {
    DpifFlowPut request;
    request.flow.ufid.bytes[0] = id;
    request.flow.match = *parse_match(match);
    request.flow.actions = *parse_actions(actions);
    request.create = true;
    return request;
  };
  const std::vector<DpifFlowPut> puts = {
      make("in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "2", 1),
      make("in_port(2),eth(),eth_type(0x0800),ipv4(frag=no)", "set(tcp(src=1)),1", 2),  // refused
      make("in_port(2),eth(),eth_type(0x0806)", "1", 1),                                // UFID 1 again
      make("in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "3", 3),                  // key of put 0
      make("in_port(3),eth(),eth_type(0x0806)", "1", 4),
  };
  std::vector<Result<DpifPutOutcome>> outcomes = dpif->flow_put_batch(puts);
  ASSERT_EQ(outcomes.size(), puts.size());
  ASSERT_TRUE(outcomes[0]) << outcomes[0].status().message();
  EXPECT_EQ(*outcomes[0], DpifPutOutcome::kCreated);
  EXPECT_EQ(outcomes[1].status().code(), EINVAL);
  EXPECT_EQ(outcomes[2].status().code(), EEXIST);
  EXPECT_EQ(outcomes[3].status().code(), EEXIST);
  ASSERT_TRUE(outcomes[4]) << outcomes[4].status().message();
  EXPECT_EQ(dpif->stats().flows, 2u);
  ASSERT_TRUE(dpif->flow_get(Ufid{{4}}));
}

TEST_F(UserspaceDpifTest, BadPortRequestsGiveErrorsNamingThePort) {
  Result<uint32_t> duplicate_name = dpif->port_add({.name = "p2"});
  EXPECT_EQ(duplicate_name.status().code(), EEXIST);
  EXPECT_NE(duplicate_name.status().message().find("p2"), std::string::npos);

  Result<uint32_t> number_in_use = dpif->port_add({.name = "fresh", .number = 3});
  EXPECT_EQ(number_in_use.status().code(), EEXIST);
  EXPECT_NE(number_in_use.status().message().find("fresh"), std::string::npos);
  EXPECT_NE(number_in_use.status().message().find("p3"), std::string::npos);

  Result<uint32_t> no_udp_port =
      dpif->port_add({.name = "vx", .type = DpifPortType::kVxlan, .vxlan_udp_port = 0});
  EXPECT_EQ(no_udp_port.status().code(), EINVAL);
  EXPECT_NE(no_udp_port.status().message().find("vx"), std::string::npos);

  Result<uint32_t> underlay_dummy = dpif->port_add({.name = "u", .underlay_only = true});
  EXPECT_EQ(underlay_dummy.status().code(), EINVAL);
  EXPECT_NE(underlay_dummy.status().message().find("port u"), std::string::npos);

  EXPECT_EQ(dpif->port_add({.name = ""}).status().code(), EINVAL);
  EXPECT_EQ(dpif->port_add({.name = "big", .number = 70000}).status().code(), EINVAL);

  ASSERT_TRUE(dpif->port_add({.name = "vxlan_sys_4789", .type = DpifPortType::kVxlan}));
  Result<uint32_t> same_udp_port = dpif->port_add({.name = "vxlan_again", .type = DpifPortType::kVxlan});
  EXPECT_EQ(same_udp_port.status().code(), EEXIST);
  EXPECT_NE(same_udp_port.status().message().find("vxlan_sys_4789"), std::string::npos);

  Result<uint32_t> no_device =
      dpif->port_add({.name = "flowlift-no-such-dev0", .type = DpifPortType::kSystem});
  ASSERT_FALSE(no_device);
  EXPECT_NE(no_device.status().message().find("flowlift-no-such-dev0"), std::string::npos);

  EXPECT_EQ(dpif->port_del(42).code(), ENOENT);
  EXPECT_EQ(dpif->inject(42, frame_of(kIcmpFrom1)).code(), ENODEV);
  EXPECT_EQ(dpif->capture(42, 1).status().code(), ENODEV);
  EXPECT_EQ(dpif->port_dump().size(), 4u);  // only the vxlan port was added
}

TEST_F(UserspaceDpifTest, MalformedFramesAreCountedAndNeverLookedUp) {
  std::vector<uint8_t> runt(10, 0xab);
  ASSERT_TRUE(dpif->inject(1, Packet(runt)).is_ok());
  // An IPv4 header whose total length claims more than the frame holds.
  Packet long_claim = frame_of(kIcmpFrom1, 8);
  long_claim.data()[14 + 2] = 0x05;
  long_claim.data()[14 + 3] = 0xdc;  // 1500
  ASSERT_TRUE(dpif->inject(1, std::move(long_claim)).is_ok());
  // An IPv4 header length below 20 bytes.
  Packet short_header = frame_of(kIcmpFrom1, 8);
  short_header.data()[14] = 0x44;
  ASSERT_TRUE(dpif->inject(1, std::move(short_header)).is_ok());
  // Cut inside the IPv4 header.
  Packet cut = frame_of(kIcmpFrom1, 8);
  cut.truncate(14 + 12);
  ASSERT_TRUE(dpif->inject(1, std::move(cut)).is_ok());
  EXPECT_TRUE(upcalls().empty());
  DpifStats stats = dpif->stats();
  EXPECT_EQ(stats.malformed, 4u);
  EXPECT_EQ(stats.missed + stats.hit, 0u);
  EXPECT_EQ(port(1).stats.rx_malformed, 4u);
  // A well-formed frame with Ethernet padding after the IP packet is fine.
  Packet padded = frame_of(kIcmpFrom1, 8);
  std::vector<uint8_t> padding(20, 0);
  padded.append(padding);
  ASSERT_TRUE(dpif->inject(1, std::move(padded)).is_ok());
  EXPECT_EQ(upcalls().size(), 1u);
}

// No timing: fixed amounts of work on several threads at once, so that a
// port freed under a thread still using it, or a lost upcall, shows up (the
// sanitizer build catches the former).
TEST_F(UserspaceDpifTest, PortsComeAndGoWhileOtherThreadsInjectAndExecute) {
  ASSERT_TRUE(put("in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "2,4", 1).is_ok());
  std::atomic<bool> churning{true};
  std::thread churn([&] {
    for (int round = 0; round < 200; ++round) {
      Result<uint32_t> added = dpif->port_add({.name = "churn", .number = 4});
      if (added) (void)dpif->port_del(*added);
    }
    churning = false;
  });
  std::vector<std::thread> senders;
  for (int i = 0; i < 3; ++i) {
    senders.emplace_back([&] {
      FlowKey key = parse_match(kIcmpFrom1)->key;
      ActionList actions = *parse_actions("3,4");
      for (int n = 0; n < 300; ++n) {
        EXPECT_TRUE(dpif->inject(1, frame_of(kIcmpFrom1)).is_ok());
        EXPECT_TRUE(dpif->execute(frame_of(kIcmpFrom1), key, actions).is_ok());
      }
    });
  }
  for (std::thread& sender : senders) sender.join();
  churn.join();
  EXPECT_FALSE(churning);
  EXPECT_EQ(dpif->stats().hit, 900u);
  EXPECT_EQ(port(2).stats.tx_packets, 900u);
  EXPECT_EQ(port(3).stats.tx_packets, 900u);
}

class UserspaceDpifVxlanTest : public UserspaceDpifTest {
 protected:
  void SetUp() override {
    UserspaceDpifTest::SetUp();
    Result<uint32_t> number = dpif->port_add({.name = "vxlan_sys_4789", .type = DpifPortType::kVxlan});
    ASSERT_TRUE(number);
    vxlan_port = *number;
    dpif->set_local_addresses({htonl(0xc0000201)});  // 192.0.2.1
  }

  // An inner frame as VXLAN from 192.0.2.2 to `destination`, VNI 42.
  Packet vxlan_frame(Be32 destination) {
    Packet packet = frame_of(kIcmpFrom1);
    TunnelKey tunnel{};
    tunnel.tun_id = htobe64(42);
    tunnel.ipv4_src = htonl(0xc0000202);
    tunnel.ipv4_dst = destination;
    tunnel.ttl = 64;
    tunnel.flags = kTunnelKey;
    VxlanEndpoint endpoint;
    endpoint.src_mac = {2, 0, 0, 0, 0, 0x22};
    endpoint.dst_mac = {2, 0, 0, 0, 0, 0x11};
    EXPECT_TRUE(vxlan_encapsulate(packet, tunnel, endpoint).is_ok());
    return Packet(packet.bytes());
  }

  uint32_t vxlan_port = 0;
};

TEST_F(UserspaceDpifVxlanTest, VxlanToALocalAddressIsDecapsulatedOntoTheTunnelPort) {
  ASSERT_TRUE(dpif->inject(2, vxlan_frame(htonl(0xc0000201))).is_ok());
  std::vector<DpifUpcall> got = upcalls();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].key.in_port, vxlan_port);
  EXPECT_EQ(got[0].key.tunnel.tun_id, htobe64(42));
  EXPECT_EQ(got[0].key.tunnel.ipv4_src, htonl(0xc0000202));
  EXPECT_EQ(got[0].key.tunnel.ipv4_dst, htonl(0xc0000201));
  EXPECT_EQ(got[0].key.ipv4_dst, htonl(0x0a000002));  // the inner frame's
  EXPECT_EQ(bytes_of(got[0].packet), bytes_of(frame_of(kIcmpFrom1)));
  EXPECT_EQ(port(vxlan_port).stats.rx_packets, 1u);
}

TEST_F(UserspaceDpifVxlanTest, VxlanToAnotherAddressIsAnOrdinaryFrame) {
  ASSERT_TRUE(dpif->inject(2, vxlan_frame(htonl(0xc0000209))).is_ok());
  std::vector<DpifUpcall> got = upcalls();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].key.in_port, 2u);
  EXPECT_EQ(got[0].key.tp_dst, htons(4789));
  EXPECT_EQ(port(vxlan_port).stats.rx_packets, 0u);
}

TEST_F(UserspaceDpifVxlanTest, BrokenVxlanHeaderIsDroppedOnTheTunnelPort) {
  Packet packet = vxlan_frame(htonl(0xc0000201));
  packet.data()[14 + 20 + 8] = 0;  // the I flag
  ASSERT_TRUE(dpif->inject(2, std::move(packet)).is_ok());
  EXPECT_TRUE(upcalls().empty());
  EXPECT_EQ(dpif->stats().malformed, 1u);
  EXPECT_EQ(port(vxlan_port).stats.rx_dropped, 1u);
}

TEST_F(UserspaceDpifVxlanTest, OutputWithoutAnUnderlayIsACountedTxDropWithAReason) {
  FlowKey key = parse_match(kIcmpFrom1)->key;
  std::string actions =
      "set(tunnel(tun_id=0x2a,dst=192.0.2.2,ttl=64,flags(key)))," + std::to_string(vxlan_port);
  Result<ActionList> parsed = parse_actions(actions);
  ASSERT_TRUE(parsed) << parsed.status().message();
  Status status = dpif->execute(frame_of(kIcmpFrom1), key, *parsed);
  EXPECT_FALSE(status.is_ok());
  DpifPort tunnel = port(vxlan_port);
  EXPECT_EQ(tunnel.stats.tx_dropped, 1u);
  EXPECT_NE(tunnel.error.find("no kernel underlay"), std::string::npos) << tunnel.error;
  // Output to the tunnel port without tunnel metadata: a drop too.
  ASSERT_FALSE(dpif->execute(frame_of(kIcmpFrom1), key, *parse_actions(std::to_string(vxlan_port))).is_ok());
  EXPECT_EQ(port(vxlan_port).stats.tx_dropped, 2u);
  EXPECT_EQ(dpif->stats().action_errors, 2u);
}

TEST_F(UserspaceDpifVxlanTest, UnresolvableEgressTunnelInfoOfAnUpcallIsNoTxDrop) {
  FlowKey key = parse_match(kIcmpFrom1)->key;
  std::string actions =
      "set(tunnel(tun_id=0x2a,dst=192.0.2.2,ttl=64,flags(key))),userspace(pid=1,tunnel_out_port=" +
      std::to_string(vxlan_port) + ")";
  Result<ActionList> parsed = parse_actions(actions);
  ASSERT_TRUE(parsed) << parsed.status().message();
  ASSERT_TRUE(dpif->execute(frame_of(kIcmpFrom1), key, *parsed).is_ok());
  std::vector<DpifUpcall> got = upcalls();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, DpifUpcall::Kind::kAction);
  EXPECT_EQ(port(vxlan_port).stats.tx_dropped, 0u);
  EXPECT_EQ(port(vxlan_port).error, "");
}

TEST_F(UserspaceDpifVxlanTest, TunnelRemotesNeedAVxlanPort) {
  EXPECT_EQ(dpif->set_tunnel_remotes(1, {htonl(0xc0000202)}).code(), ENODEV);
  EXPECT_TRUE(dpif->set_tunnel_remotes(vxlan_port, {htonl(0xc0000202)}).is_ok());
}

}  // namespace
}  // namespace flowlift
