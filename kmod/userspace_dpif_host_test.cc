// UserspaceDpif against real Linux devices: each test builds a "host"
// namespace (where the datapath runs and opens its system ports) and a
// "peer" namespace holding the other ends of veth pairs, and judges the
// datapath by what plain AF_PACKET sockets and Linux's own vxlan driver on
// the peer side see. Needs root; host tests run serially.
#include <arpa/inet.h>
#include <endian.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "kmod/flow_extract.h"
#include "kmod/netns_test_support.h"
#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_key.h"
#include "kmod/userspace_dpif.h"

namespace flowlift {
namespace {

using Bytes = std::vector<uint8_t>;
using Clock = std::chrono::steady_clock;

constexpr uint16_t kDpifTestEthertype = 0x88b5;  // IEEE local experimental

// dst 02:00:00:00:00:02, src 02:00:00:00:00:01, ethertype 0x88b5, `marker` payload.
Bytes dpif_test_frame(uint8_t marker, size_t length = 80) {
  Bytes frame = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5};
  for (size_t i = frame.size(); i < length; ++i) frame.push_back(static_cast<uint8_t>(marker + i));
  return frame;
}

bool is_test_frame_with(const Bytes& frame, uint8_t marker) {
  return frame.size() > 14 && frame[12] == 0x88 && frame[13] == 0xb5 &&
         frame[14] == static_cast<uint8_t>(marker + 14);
}

class UserspaceDpifHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why_not = netns_unusable_reason(); !why_not.empty()) GTEST_SKIP() << why_not;
    host_ = std::make_unique<TestNetns>(unique_netns_name("dh"));
    peer_ = std::make_unique<TestNetns>(unique_netns_name("dp"));
    if (!host_->created() || !peer_->created()) GTEST_SKIP() << "cannot create network namespaces";
    ASSERT_TRUE(host_->disable_ipv6() && peer_->disable_ipv6());
    host_->ip("link set lo up");
    peer_->ip("link set lo up");
  }
  void TearDown() override { dpif_.reset(); }  // before the namespaces go

  // veth `host_device` in the host namespace, `peer_device` in the peer's; both up.
  void add_veth(const std::string& host_device, const std::string& peer_device) {
    host_->ip("link add " + host_device + " type veth peer name " + peer_device + " netns " + peer_->name());
    host_->ip("link set " + host_device + " up");
    peer_->ip("link set " + peer_device + " up");
  }

  // Everything that opens sockets runs in the host namespace, as the daemon does.
  void start_dpif(UserspaceDpifOptions options = {}) {
    auto created = in_namespace(host_->name(), [&] { return UserspaceDpif::create(options); });
    ASSERT_TRUE(created && *created) << (created ? created->status().message() : "cannot enter namespace");
    dpif_ = std::move(**created);
  }
  uint32_t add_port(const std::string& name, DpifPortType type = DpifPortType::kSystem) {
    auto added = in_namespace(host_->name(), [&] { return dpif_->port_add({.name = name, .type = type}); });
    EXPECT_TRUE(added && *added) << name << ": " << (added ? added->status().message() : "no namespace");
    return added && *added ? **added : 0;
  }
  NetnsPacketSocket peer_socket(const std::string& device) {
    auto opened = in_namespace(peer_->name(), [&] { return NetnsPacketSocket(device); });
    EXPECT_TRUE(opened && opened->ok()) << "peer socket on " << device;
    return opened ? std::move(*opened) : NetnsPacketSocket("");
  }
  void put_flow(const std::string& match, const std::string& actions, uint8_t id) {
    DpifFlowPut put;
    put.flow.ufid.bytes[0] = id;
    Result<Match> parsed_match = parse_match(match);
    ASSERT_TRUE(parsed_match) << parsed_match.status().message();
    put.flow.match = *parsed_match;
    Result<ActionList> parsed_actions = parse_actions(actions);
    ASSERT_TRUE(parsed_actions) << parsed_actions.status().message();
    put.flow.actions = *parsed_actions;
    Result<DpifPutOutcome> outcome = dpif_->flow_put(put);
    ASSERT_TRUE(outcome) << outcome.status().message();
  }
  // The first upcall `accept` says yes to, within `timeout`.
  template <typename Accept>
  std::optional<DpifUpcall> wait_for_upcall(Accept accept,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      dpif_->wait_for_upcalls(std::chrono::milliseconds(50));
      std::vector<DpifUpcall> upcalls;
      dpif_->recv_upcalls(64, upcalls);
      for (DpifUpcall& upcall : upcalls)
        if (accept(upcall)) return std::move(upcall);
    }
    return std::nullopt;
  }
  // The port table as text, for failure messages.
  std::string ports_text() {
    std::string text;
    for (const DpifPort& port : dpif_->port_dump()) {
      text += port.name + ": rx " + std::to_string(port.stats.rx_packets) + " tx " +
              std::to_string(port.stats.tx_packets) + " tx_dropped " + std::to_string(port.stats.tx_dropped) +
              " malformed " + std::to_string(port.stats.rx_malformed) +
              (port.underlay_only ? " underlay" : "") + (port.error.empty() ? "" : " error: " + port.error) +
              "\n";
    }
    DpifStats stats = dpif_->stats();
    text += "hit " + std::to_string(stats.hit) + " missed " + std::to_string(stats.missed) + " malformed " +
            std::to_string(stats.malformed);
    return text;
  }
  std::optional<DpifPort> port_named(const std::string& name) {
    for (DpifPort& port : dpif_->port_dump())
      if (port.name == name) return port;
    return std::nullopt;
  }
  // Waits until port `name` satisfies `condition` (ports change under the
  // receive threads and the kernel's own timing).
  template <typename Condition>
  bool wait_for_port(const std::string& name, Condition condition,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      std::optional<DpifPort> port = port_named(name);
      if (port && condition(*port)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  std::unique_ptr<TestNetns> host_, peer_;
  std::unique_ptr<UserspaceDpif> dpif_;
};

TEST_F(UserspaceDpifHostTest, FrameFromThePeerIsUpcalledOnItsSystemPort) {
  add_veth("h1", "p1");
  start_dpif();
  uint32_t port = add_port("h1");
  NetnsPacketSocket peer = peer_socket("p1");
  Bytes sent = dpif_test_frame(0x11);
  ASSERT_TRUE(peer.send(sent));
  std::optional<DpifUpcall> upcall = wait_for_upcall([](const DpifUpcall& u) {
    return u.packet.size() > 14 && u.packet.data()[12] == 0x88 && u.packet.data()[13] == 0xb5;
  });
  ASSERT_TRUE(upcall);
  EXPECT_EQ(upcall->kind, DpifUpcall::Kind::kMiss);
  EXPECT_EQ(upcall->key.in_port, port);
  EXPECT_EQ(upcall->key.eth_type, htons(kDpifTestEthertype));
  EXPECT_EQ(Bytes(upcall->packet.bytes().begin(), upcall->packet.bytes().end()), sent);
  EXPECT_GE(port_named("h1")->stats.rx_packets, 1u);
}

TEST_F(UserspaceDpifHostTest, TwoSystemPortsForwardAfterAFlowPut) {
  add_veth("h1", "p1");
  add_veth("h2", "p2");
  start_dpif();
  uint32_t first = add_port("h1");
  uint32_t second = add_port("h2");
  put_flow("in_port(" + std::to_string(first) + "),eth(),eth_type(0x88b5)", std::to_string(second), 1);
  NetnsPacketSocket sender = peer_socket("p1");
  NetnsPacketSocket receiver = peer_socket("p2");
  Bytes sent = dpif_test_frame(0x22, 600);
  ASSERT_TRUE(sender.send(sent));
  std::optional<Bytes> got = receiver.receive(kDpifTestEthertype, 3000);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, sent);
  EXPECT_GE(dpif_->stats().hit, 1u);
  EXPECT_GE(port_named("h2")->stats.tx_packets, 1u);
}

TEST_F(UserspaceDpifHostTest, TwoReceiveThreadsForwardBothWays) {
  add_veth("h1", "p1");
  add_veth("h2", "p2");
  UserspaceDpifOptions options;
  options.receive_threads = 2;  // the two ports land on different threads
  start_dpif(options);
  uint32_t first = add_port("h1");
  uint32_t second = add_port("h2");
  put_flow("in_port(" + std::to_string(first) + "),eth(),eth_type(0x88b5)", std::to_string(second), 1);
  put_flow("in_port(" + std::to_string(second) + "),eth(),eth_type(0x88b5)", std::to_string(first), 2);
  NetnsPacketSocket one = peer_socket("p1");
  NetnsPacketSocket two = peer_socket("p2");
  for (uint8_t marker = 0x40; marker < 0x48; ++marker) {
    ASSERT_TRUE(one.send(dpif_test_frame(marker)));
    ASSERT_TRUE(two.send(dpif_test_frame(marker + 0x10)));
    EXPECT_TRUE(two.receive_matching([&](const Bytes& f) { return is_test_frame_with(f, marker); }, 3000));
    EXPECT_TRUE(
        one.receive_matching([&](const Bytes& f) { return is_test_frame_with(f, marker + 0x10); }, 3000));
  }
  EXPECT_EQ(dpif_->stats().missed, 0u);
}

TEST_F(UserspaceDpifHostTest, RemovedDeviceIsReportedAndTheOtherPortsKeepForwarding) {
  add_veth("h1", "p1");
  add_veth("h2", "p2");
  add_veth("h3", "p3");
  start_dpif();
  uint32_t first = add_port("h1");
  uint32_t second = add_port("h2");
  uint32_t third = add_port("h3");
  put_flow("in_port(" + std::to_string(first) + "),eth(),eth_type(0x88b5)", std::to_string(second), 1);
  NetnsPacketSocket sender = peer_socket("p1");
  NetnsPacketSocket receiver = peer_socket("p2");

  host_->ip("link del h3");
  EXPECT_TRUE(wait_for_port("h3", [](const DpifPort& port) { return !port.error.empty(); }));
  EXPECT_EQ(port_named("h3")->error, "device h3 was removed");
  // Output to the vanished port is a drop, not a crash.
  Packet frame(dpif_test_frame(0x30));
  FlowKey key = flow_key_extract(frame);
  (void)dpif_->execute(frame, key, *parse_actions(std::to_string(third)));

  Bytes sent = dpif_test_frame(0x33);
  ASSERT_TRUE(sender.send(sent));
  std::optional<Bytes> got =
      receiver.receive_matching([](const Bytes& f) { return is_test_frame_with(f, 0x33); }, 3000);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, sent);
  ASSERT_TRUE(dpif_->port_del(third).is_ok());
  EXPECT_FALSE(port_named("h3"));
}

// The peer namespace is the remote VTEP: Linux's vxlan device vx0 (VNI 42,
// UDP 4789) over u1 (10.99.0.2), towards u0 (10.99.0.1) in the host
// namespace, where the datapath has only its vxlan port and must open u0
// itself as an underlay-only port.
class UserspaceDpifVxlanHostTest : public UserspaceDpifHostTest {
 protected:
  void SetUp() override {
    UserspaceDpifHostTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    add_veth("u0", "u1");
    host_->ip("addr add 10.99.0.1/24 dev u0");
    peer_->ip("addr add 10.99.0.2/24 dev u1");
    peer_->ip("link add vx0 type vxlan id 42 remote 10.99.0.1 local 10.99.0.2 dstport 4789 dev u1");
    peer_->ip("link set vx0 address 02:00:00:00:99:02 up");
    start_dpif();
    vxlan_port_ = add_port("vxlan_sys_4789", DpifPortType::kVxlan);
    auto set = in_namespace(host_->name(),
                            [&] { return dpif_->set_tunnel_remotes(vxlan_port_, {htonl(0x0a630002)}); });
    ASSERT_TRUE(set && *set) << (set ? set->message() : "");
    // The neighbour resolves (ARP) after set_tunnel_remotes asked the
    // kernel; the datapath then opens u0 on its own.
    ASSERT_TRUE(wait_for_port("u0", [](const DpifPort& port) { return port.underlay_only; }))
        << "u0 never became an underlay port";
  }
  uint32_t vxlan_port_ = 0;
};

TEST_F(UserspaceDpifVxlanHostTest, FrameTheLinuxVtepSendsIsDecapsulatedAndUpcalled) {
  NetnsPacketSocket vtep = peer_socket("vx0");
  NetnsPacketSocket underlay = peer_socket("u1");
  Bytes sent = dpif_test_frame(0x44);
  ASSERT_TRUE(vtep.send(sent));
  std::optional<DpifUpcall> upcall = wait_for_upcall([](const DpifUpcall& u) {
    return u.packet.size() > 14 && u.packet.data()[12] == 0x88 && u.packet.data()[13] == 0xb5;
  });
  ASSERT_TRUE(upcall) << ports_text();
  EXPECT_EQ(upcall->key.in_port, vxlan_port_);
  EXPECT_EQ(upcall->key.tunnel.tun_id, htobe64(42));
  EXPECT_EQ(upcall->key.tunnel.ipv4_src, htonl(0x0a630002));
  EXPECT_EQ(upcall->key.tunnel.ipv4_dst, htonl(0x0a630001));
  EXPECT_EQ(upcall->key.tunnel.tp_dst, htons(4789));
  EXPECT_EQ(Bytes(upcall->packet.bytes().begin(), upcall->packet.bytes().end()), sent);
  EXPECT_GE(port_named("vxlan_sys_4789")->stats.rx_packets, 1u);
  EXPECT_TRUE(port_named("u0")->underlay_only);
  // The host's stack got its copy too; the datapath's bound UDP socket keeps
  // it from answering with ICMP port unreachable.
  EXPECT_EQ(port_named("vxlan_sys_4789")->error, "");
  std::optional<Bytes> icmp = underlay.receive_matching(
      [](const Bytes& f) {
        return f.size() >= 36 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 1 && f[34] == 3 && f[35] == 3;
      },
      300);
  EXPECT_FALSE(icmp) << "the host answered the tunnel packet with ICMP port unreachable";
}

TEST_F(UserspaceDpifVxlanHostTest, FrameWeEncapsulateArrivesDecapsulatedOnTheLinuxVtep) {
  NetnsPacketSocket vtep = peer_socket("vx0");
  Bytes sent = dpif_test_frame(0x55, 200);
  Packet packet(sent);
  FlowKey key = flow_key_extract(packet);
  std::string actions =
      "set(tunnel(tun_id=0x2a,dst=10.99.0.2,ttl=64,flags(key)))," + std::to_string(vxlan_port_);
  Result<ActionList> parsed = parse_actions(actions);
  ASSERT_TRUE(parsed) << parsed.status().message();
  auto executed = in_namespace(host_->name(), [&] { return dpif_->execute(packet, key, *parsed); });
  ASSERT_TRUE(executed && *executed) << (executed ? executed->message() : "");
  std::optional<Bytes> got =
      vtep.receive_matching([](const Bytes& f) { return is_test_frame_with(f, 0x55); }, 3000);
  ASSERT_TRUE(got) << "nothing arrived on vx0";
  EXPECT_EQ(*got, sent);
  std::optional<DpifPort> tunnel = port_named("vxlan_sys_4789");
  EXPECT_EQ(tunnel->stats.tx_packets, 1u);
  EXPECT_EQ(tunnel->stats.tx_dropped, 0u);
  EXPECT_GE(port_named("u0")->stats.tx_packets, 1u);
}

TEST_F(UserspaceDpifVxlanHostTest, UnreachableRemoteIsACountedTxDropWithAReason) {
  Packet packet(dpif_test_frame(0x66));
  FlowKey key = flow_key_extract(packet);
  std::string actions =
      "set(tunnel(tun_id=0x2a,dst=203.0.113.9,ttl=64,flags(key)))," + std::to_string(vxlan_port_);
  auto executed =
      in_namespace(host_->name(), [&] { return dpif_->execute(packet, key, *parse_actions(actions)); });
  ASSERT_TRUE(executed);
  EXPECT_FALSE(*executed);
  std::optional<DpifPort> tunnel = port_named("vxlan_sys_4789");
  EXPECT_EQ(tunnel->stats.tx_dropped, 1u);
  EXPECT_NE(tunnel->error.find("203.0.113.9"), std::string::npos) << tunnel->error;
}

}  // namespace
}  // namespace flowlift
