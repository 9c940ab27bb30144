// AfPacketPort against real Linux devices: each test builds two fresh
// network namespaces joined by a veth pair, attaches our port to one end and
// a plain AF_PACKET socket (the "peer", independent of our code) to the
// other, and checks frames byte for byte in both directions.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kmod/netdev_afpacket.h"
#include "kmod/netns_test_support.h"

namespace flowlift {
namespace {

using Bytes = std::vector<uint8_t>;
using AfPacketPeerSocket = NetnsPacketSocket;

// Two namespaces and a veth pair between them ("ours" in the first, "peer"
// in the second), with IPv6 off so no neighbour discovery chatter lands in
// the rings. Deleting the namespaces deletes the veth.
class AfPacketVethLab {
 public:
  AfPacketVethLab() {
    static std::atomic<int> serial{0};
    std::string tag = std::to_string(::getpid()) + "x" + std::to_string(serial++);
    our_device_ = "fla" + tag;
    peer_device_ = "flb" + tag;
  }

  // Empty when the lab is up; otherwise why it could not be built.
  std::string build() {
    if (std::string why_not = netns_unusable_reason(); !why_not.empty()) return why_not;
    ours_ = std::make_unique<TestNetns>(unique_netns_name("afp-a"));
    peer_ = std::make_unique<TestNetns>(unique_netns_name("afp-b"));
    if (!ours_->created() || !peer_->created()) return "`ip netns add` failed";
    for (const TestNetns* ns : {ours_.get(), peer_.get()}) {
      if (!ns->disable_ipv6()) return "cannot disable IPv6 in namespace " + ns->name();
    }
    if (!run_ip("link add " + our_device_ + " netns " + ours_->name() + " type veth peer name " +
                peer_device_ + " netns " + peer_->name())) {
      return "cannot create a veth pair (veth driver missing?)";
    }
    if (!run_ip("-n " + ours_->name() + " link set " + our_device_ + " up") ||
        !run_ip("-n " + peer_->name() + " link set " + peer_device_ + " up")) {
      return "cannot bring the veth pair up";
    }
    return "";
  }

  const std::string& our_namespace() const { return ours_->name(); }
  const std::string& peer_namespace() const { return peer_->name(); }
  const std::string& our_device() const { return our_device_; }
  const std::string& peer_device() const { return peer_device_; }

 private:
  std::unique_ptr<TestNetns> ours_, peer_;
  std::string our_device_, peer_device_;
};

constexpr uint16_t kTestEthertype = 0x88b5;  // IEEE local experimental

// dst 02:00:00:00:00:02 (not the device's MAC: the port must be promiscuous
// at heart), src 02:00:00:00:00:01, ethertype 0x88b5, `marker`-filled payload.
Bytes test_frame(uint8_t marker, size_t length = 64) {
  Bytes frame = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5};
  for (size_t i = frame.size(); i < length; ++i) frame.push_back(static_cast<uint8_t>(marker + i));
  return frame;
}

Bytes bytes_of(const Packet& packet) { return Bytes(packet.bytes().begin(), packet.bytes().end()); }

// Polls the port until `want` frames carrying the test ethertype (after any
// VLAN tag) arrived or the deadline passed; other frames are ignored.
std::vector<Bytes> receive_test_frames(AfPacketPort& port, size_t want, int timeout_ms = 1000) {
  std::vector<Bytes> got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    pollfd waiting{port.fd(), POLLIN, 0};
    ::poll(&waiting, 1, 20);
    std::vector<Packet> batch;
    port.receive_batch(256, batch);
    for (const Packet& packet : batch) {
      Bytes bytes = bytes_of(packet);
      size_t type_at = 12;
      if (bytes.size() >= 18 && bytes[12] == 0x81 && bytes[13] == 0x00) type_at = 16;
      if (bytes.size() >= type_at + 2 && bytes[type_at] == 0x88 && bytes[type_at + 1] == 0xb5) {
        got.push_back(bytes);
      }
    }
  }
  return got;
}

class AfPacketPortHost : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not = lab_.build();
    if (!why_not.empty()) GTEST_SKIP() << why_not;
  }

  Result<std::unique_ptr<AfPacketPort>> open_ours(const AfPacketOptions& options = {}) {
    auto opened =
        in_namespace(lab_.our_namespace(), [&] { return AfPacketPort::open(lab_.our_device(), options); });
    if (!opened) return Status(EIO, "cannot enter namespace " + lab_.our_namespace());
    return std::move(*opened);
  }
  std::optional<AfPacketPeerSocket> open_peer() {
    return in_namespace(lab_.peer_namespace(), [&] { return AfPacketPeerSocket(lab_.peer_device()); });
  }

  AfPacketVethLab lab_;
};

TEST_F(AfPacketPortHost, FrameFromThePeerIsReceivedByteExact) {
  auto port = open_ours();
  ASSERT_TRUE(port) << port.status().message();
  auto peer = open_peer();
  ASSERT_TRUE(peer && peer->ok());
  Bytes sent = test_frame(0x10, 300);
  ASSERT_TRUE(peer->send(sent));
  auto got = receive_test_frames(**port, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], sent);
  AfPacketCounters counters = (*port)->counters();
  EXPECT_GE(counters.rx_packets, 1u);
  EXPECT_GE(counters.rx_bytes, sent.size());
  EXPECT_EQ(counters.rx_dropped, 0u);
}

TEST_F(AfPacketPortHost, FrameWeSendArrivesAtThePeerByteExact) {
  auto port = open_ours();
  ASSERT_TRUE(port) << port.status().message();
  auto peer = open_peer();
  ASSERT_TRUE(peer && peer->ok());
  Bytes sent = test_frame(0x20, 1000);
  Status status = (*port)->send(Packet(sent));
  ASSERT_TRUE(status) << status.message();
  auto got = peer->receive(kTestEthertype);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, sent);
  AfPacketCounters counters = (*port)->counters();
  EXPECT_EQ(counters.tx_packets, 1u);
  EXPECT_EQ(counters.tx_bytes, sent.size());
  EXPECT_EQ(counters.tx_dropped, 0u);
}

TEST_F(AfPacketPortHost, VlanTagTheKernelStrippedIsBackInTheFrame) {
  auto port = open_ours();
  ASSERT_TRUE(port) << port.status().message();
  auto peer = open_peer();
  ASSERT_TRUE(peer && peer->ok());
  Bytes tagged = test_frame(0x30, 200);
  tagged.insert(tagged.begin() + 12, {0x81, 0x00, 0xa0, 0x2a});  // PCP 5, VID 42
  ASSERT_TRUE(peer->send(tagged));
  auto got = receive_test_frames(**port, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], tagged);
}

// The kernel never loops a socket's own sends back to it; what
// PACKET_IGNORE_OUTGOING adds is that frames the host itself sends out of
// the device (its IP stack, another socket) stay out of the ring too, as in
// OVS: the datapath sees only what arrives on the port.
TEST_F(AfPacketPortHost, OutgoingFramesAreNotReceivedBack) {
  auto port = open_ours();
  ASSERT_TRUE(port) << port.status().message();
  auto peer = open_peer();
  ASSERT_TRUE(peer && peer->ok());
  auto host_side = in_namespace(lab_.our_namespace(), [&] { return AfPacketPeerSocket(lab_.our_device()); });
  ASSERT_TRUE(host_side && host_side->ok());
  Bytes ours = test_frame(0x40);
  ASSERT_TRUE((*port)->send(Packet(ours)));
  ASSERT_TRUE(peer->receive(kTestEthertype));  // it did go out
  Bytes from_host = test_frame(0x48);
  ASSERT_TRUE(host_side->send(from_host));
  ASSERT_TRUE(peer->receive(kTestEthertype));  // that went out too
  Bytes theirs = test_frame(0x50);
  ASSERT_TRUE(peer->send(theirs));
  // The peer's frame is sent after both, so once it is in, they would be too.
  auto got = receive_test_frames(**port, 3, 300);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], theirs);
}

TEST_F(AfPacketPortHost, MtuMacAndPromiscuityAreThoseOfTheDevice) {
  auto port = open_ours();
  ASSERT_TRUE(port) << port.status().message();
  ASSERT_TRUE(run_ip("-n " + lab_.our_namespace() + " link set " + lab_.our_device() +
                     " mtu 1400 address 02:12:34:56:78:9a"));
  auto mtu = (*port)->mtu();
  ASSERT_TRUE(mtu) << mtu.status().message();
  EXPECT_EQ(*mtu, 1400);
  auto mac = (*port)->mac();
  ASSERT_TRUE(mac) << mac.status().message();
  EXPECT_EQ(*mac, (MacAddress{0x02, 0x12, 0x34, 0x56, 0x78, 0x9a}));
  // Membership raises the promiscuity count (`ip -d` shows it), not the
  // administrative IFF_PROMISC flag `ip link set promisc on` would set.
  std::string show =
      "ip -d -n " + lab_.our_namespace() + " link show " + lab_.our_device() + " | grep -q 'promiscuity 1 '";
  EXPECT_EQ(std::system(show.c_str()), 0) << "the port must hold the device promiscuous";
  port->reset();
  std::string after =
      "ip -d -n " + lab_.our_namespace() + " link show " + lab_.our_device() + " | grep -q 'promiscuity 0 '";
  EXPECT_EQ(std::system(after.c_str()), 0) << "closing the port must drop the membership";
}

TEST_F(AfPacketPortHost, UnknownDeviceIsNamedInTheError) {
  auto port = in_namespace(lab_.our_namespace(), [] { return AfPacketPort::open("nosuch0"); });
  ASSERT_TRUE(port);
  ASSERT_FALSE(*port);
  EXPECT_EQ(port->status().message(), "no such network device: nosuch0");
}

TEST_F(AfPacketPortHost, DeviceRemovedUnderUsIsAClearErrorNotACrash) {
  auto port = open_ours();
  ASSERT_TRUE(port) << port.status().message();
  ASSERT_TRUE(run_ip("-n " + lab_.our_namespace() + " link del " + lab_.our_device()));
  Status status = (*port)->send(Packet(test_frame(0x60)));
  ASSERT_FALSE(status);
  EXPECT_TRUE(status.code() == ENXIO || status.code() == ENETDOWN || status.code() == ENODEV)
      << status.code();
  EXPECT_NE(status.message().find(lab_.our_device()), std::string::npos) << status.message();
  std::vector<Packet> batch;
  EXPECT_EQ((*port)->receive_batch(64, batch), 0u);
  pollfd waiting{(*port)->fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&waiting, 1, 0), 1);
  EXPECT_TRUE(waiting.revents & POLLERR) << "the daemon's loop must learn the device is gone";
  EXPECT_FALSE((*port)->mtu());
}

TEST_F(AfPacketPortHost, BurstBiggerThanTheRingIsCountedAsDrops) {
  AfPacketOptions small;
  small.block_size = 4096;
  small.block_count = 2;
  small.frame_size = 2048;
  small.block_timeout_ms = 1000;  // blocks retire only when full: nothing drains meanwhile
  auto port = open_ours(small);
  ASSERT_TRUE(port) << port.status().message();
  auto peer = open_peer();
  ASSERT_TRUE(peer && peer->ok());
  constexpr size_t kBurst = 64;  // 1000-byte frames: ~4 fit in a 4 KiB block
  for (size_t i = 0; i < kBurst; ++i) ASSERT_TRUE(peer->send(test_frame(static_cast<uint8_t>(i), 1000)));
  // Every frame is accounted for: received, or dropped for want of ring space.
  std::vector<Bytes> got;
  AfPacketCounters counters;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  do {
    auto more = receive_test_frames(**port, kBurst, 50);
    got.insert(got.end(), more.begin(), more.end());
    counters = (*port)->counters();
  } while (got.size() + counters.rx_dropped < kBurst && std::chrono::steady_clock::now() < deadline);
  EXPECT_GT(counters.rx_dropped, 0u);
  EXPECT_LT(got.size(), kBurst);
  EXPECT_EQ(got.size() + counters.rx_dropped, kBurst);
  EXPECT_EQ(counters.rx_packets, got.size());
}

TEST_F(AfPacketPortHost, FrameLargerThanABlockIsCountedAsTruncatedNotDelivered) {
  for (const auto& [ns, device] : {std::pair{lab_.our_namespace(), lab_.our_device()},
                                   std::pair{lab_.peer_namespace(), lab_.peer_device()}}) {
    ASSERT_TRUE(run_ip("-n " + ns + " link set " + device + " mtu 9000"));
  }
  AfPacketOptions small;
  small.block_size = 4096;
  small.block_count = 4;
  auto port = open_ours(small);
  ASSERT_TRUE(port) << port.status().message();
  auto peer = open_peer();
  ASSERT_TRUE(peer && peer->ok());
  ASSERT_TRUE(peer->send(test_frame(0x70, 6000)));  // cannot fit a 4 KiB block
  Bytes small_frame = test_frame(0x71, 100);
  ASSERT_TRUE(peer->send(small_frame));
  auto got = receive_test_frames(**port, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], small_frame);
  AfPacketCounters counters = (*port)->counters();
  EXPECT_EQ(counters.rx_truncated, 1u);
}

}  // namespace
}  // namespace flowlift
