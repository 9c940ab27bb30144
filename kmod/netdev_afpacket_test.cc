// Pure parts of the AF_PACKET port: walking a TPACKET_V3 ring laid out in
// memory the way the kernel lays it out, VLAN tag reinsertion, and the
// option/name checks that need no device.
#include "kmod/netdev_afpacket.h"

#include <gtest/gtest.h>
#include <linux/if_packet.h>

#include <cstring>
#include <vector>

namespace flowlift {
namespace {

constexpr size_t kFakeBlockSize = 4096;

// A fake receive ring: blocks are filled here as the kernel's
// prb_fill_curr_block does (block descriptor, then tpacket3_hdr + frame,
// each linked by tp_next_offset).
class FakeTpacketV3Ring {
 public:
  explicit FakeTpacketV3Ring(size_t blocks) : storage_(blocks * kFakeBlockSize / 8, 0) {}

  std::span<uint8_t> bytes() { return {reinterpret_cast<uint8_t*>(storage_.data()), storage_.size() * 8}; }
  uint8_t* block(size_t index) { return bytes().data() + index * kFakeBlockSize; }

  struct FakeFrame {
    std::vector<uint8_t> bytes;
    uint32_t status = 0;
    uint16_t vlan_tci = 0;
    uint16_t vlan_tpid = 0;
  };

  // Fills block `index` with `frames` and hands it to "user space".
  void fill_block(size_t index, const std::vector<FakeFrame>& frames) {
    uint8_t* base = block(index);
    constexpr size_t kFirstFrame = 48;  // the kernel's aligned block descriptor
    size_t offset = kFirstFrame;
    for (size_t i = 0; i < frames.size(); ++i) {
      tpacket3_hdr header{};
      header.tp_mac = 80;
      header.tp_snaplen = static_cast<uint32_t>(frames[i].bytes.size());
      header.tp_len = header.tp_snaplen;
      header.tp_status = frames[i].status;
      header.hv1.tp_vlan_tci = frames[i].vlan_tci;
      header.hv1.tp_vlan_tpid = frames[i].vlan_tpid;
      size_t next = (header.tp_mac + header.tp_snaplen + 15) & ~size_t{15};
      header.tp_next_offset = i + 1 < frames.size() ? static_cast<uint32_t>(next) : 0;
      std::memcpy(base + offset, &header, sizeof header);
      std::memcpy(base + offset + header.tp_mac, frames[i].bytes.data(), frames[i].bytes.size());
      offset += next;
    }
    set_header(index, static_cast<uint32_t>(frames.size()), kFirstFrame);
    set_status(index, TP_STATUS_USER);
  }
  void set_header(size_t index, uint32_t frames, uint32_t first_offset) {
    auto* desc = reinterpret_cast<tpacket_block_desc*>(block(index));
    desc->version = TPACKET_V3;
    desc->hdr.bh1.num_pkts = frames;
    desc->hdr.bh1.offset_to_first_pkt = first_offset;
  }
  void set_status(size_t index, uint32_t status) {
    reinterpret_cast<tpacket_block_desc*>(block(index))->hdr.bh1.block_status = status;
  }
  uint32_t status(size_t index) {
    return reinterpret_cast<tpacket_block_desc*>(block(index))->hdr.bh1.block_status;
  }

 private:
  std::vector<uint64_t> storage_;  // 8-byte aligned, as the mapped ring is page aligned
};

FakeTpacketV3Ring::FakeFrame frame_of(uint8_t marker, size_t length = 60) {
  FakeTpacketV3Ring::FakeFrame frame;
  frame.bytes.assign(length, marker);
  return frame;
}

std::vector<std::vector<uint8_t>> drain_all(TpacketV3RingCursor& cursor, size_t max) {
  std::vector<std::vector<uint8_t>> seen;
  cursor.drain(
      max, [&](const TpacketV3Frame& frame) { seen.emplace_back(frame.bytes.begin(), frame.bytes.end()); });
  return seen;
}

TEST(TpacketV3RingCursor, VisitsEveryFrameOfAHandedOverBlockAndGivesItBack) {
  FakeTpacketV3Ring ring(4);
  ring.fill_block(0, {frame_of(1), frame_of(2, 100), frame_of(3, 1500)});
  TpacketV3RingCursor cursor(ring.bytes(), kFakeBlockSize);
  auto seen = drain_all(cursor, 64);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], std::vector<uint8_t>(60, 1));
  EXPECT_EQ(seen[1], std::vector<uint8_t>(100, 2));
  EXPECT_EQ(seen[2], std::vector<uint8_t>(1500, 3));
  EXPECT_EQ(ring.status(0), static_cast<uint32_t>(TP_STATUS_KERNEL));
  EXPECT_EQ(cursor.current_block(), 1u);
}

TEST(TpacketV3RingCursor, StopsAtABlockTheKernelStillOwns) {
  FakeTpacketV3Ring ring(4);
  ring.fill_block(0, {frame_of(1)});
  ring.fill_block(2, {frame_of(9)});  // block 1 not retired yet: block 2 must wait
  TpacketV3RingCursor cursor(ring.bytes(), kFakeBlockSize);
  auto seen = drain_all(cursor, 64);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0][0], 1);
  EXPECT_EQ(ring.status(2), static_cast<uint32_t>(TP_STATUS_USER));
  EXPECT_EQ(drain_all(cursor, 64).size(), 0u);
}

TEST(TpacketV3RingCursor, BatchEndingMidBlockKeepsTheBlockAndResumesAtTheNextFrame) {
  FakeTpacketV3Ring ring(2);
  ring.fill_block(0, {frame_of(1), frame_of(2), frame_of(3)});
  ring.fill_block(1, {frame_of(4)});
  TpacketV3RingCursor cursor(ring.bytes(), kFakeBlockSize);
  auto first = drain_all(cursor, 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(ring.status(0), static_cast<uint32_t>(TP_STATUS_USER));  // still being read
  auto rest = drain_all(cursor, 64);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0][0], 3);
  EXPECT_EQ(rest[1][0], 4);
  EXPECT_EQ(ring.status(0), static_cast<uint32_t>(TP_STATUS_KERNEL));
  EXPECT_EQ(ring.status(1), static_cast<uint32_t>(TP_STATUS_KERNEL));
}

TEST(TpacketV3RingCursor, WrapsFromTheLastBlockToTheFirst) {
  FakeTpacketV3Ring ring(2);
  ring.fill_block(0, {frame_of(1)});
  ring.fill_block(1, {frame_of(2)});
  TpacketV3RingCursor cursor(ring.bytes(), kFakeBlockSize);
  ASSERT_EQ(drain_all(cursor, 64).size(), 2u);
  ring.fill_block(0, {frame_of(3)});
  auto seen = drain_all(cursor, 64);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0][0], 3);
}

TEST(TpacketV3RingCursor, EmptyRetiredBlockIsGivenBack) {
  FakeTpacketV3Ring ring(2);
  ring.fill_block(0, {});  // a block retired by timeout with nothing in it
  ring.fill_block(1, {frame_of(7)});
  TpacketV3RingCursor cursor(ring.bytes(), kFakeBlockSize);
  auto seen = drain_all(cursor, 64);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0][0], 7);
  EXPECT_EQ(ring.status(0), static_cast<uint32_t>(TP_STATUS_KERNEL));
}

TEST(TpacketV3RingCursor, FrameReachingPastItsBlockAbandonsTheBlockUnread) {
  FakeTpacketV3Ring ring(2);
  ring.fill_block(0, {frame_of(1), frame_of(2)});
  // Corrupt the second frame's length so it would run past the block's end.
  tpacket3_hdr first{};
  std::memcpy(&first, ring.block(0) + 48, sizeof first);
  size_t second_offset = 48 + first.tp_next_offset;
  tpacket3_hdr second{};
  std::memcpy(&second, ring.block(0) + second_offset, sizeof second);
  second.tp_snaplen = kFakeBlockSize;
  std::memcpy(ring.block(0) + second_offset, &second, sizeof second);
  ring.fill_block(1, {frame_of(3)});

  TpacketV3RingCursor cursor(ring.bytes(), kFakeBlockSize);
  auto seen = drain_all(cursor, 64);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0][0], 1);
  EXPECT_EQ(seen[1][0], 3);  // next block still read
  EXPECT_EQ(cursor.malformed_blocks(), 1u);
  EXPECT_EQ(ring.status(0), static_cast<uint32_t>(TP_STATUS_KERNEL));
}

TEST(TpacketV3RingCursor, FirstFrameOffsetOutsideTheBlockIsNotRead) {
  FakeTpacketV3Ring ring(1);
  ring.set_header(0, 1, kFakeBlockSize - 8);  // no room for a tpacket3_hdr
  ring.set_status(0, TP_STATUS_USER);
  TpacketV3RingCursor cursor(ring.bytes(), kFakeBlockSize);
  EXPECT_EQ(drain_all(cursor, 64).size(), 0u);
  EXPECT_EQ(cursor.malformed_blocks(), 1u);
}

// An untagged Ethernet frame: dst, src, ethertype 0x0800, payload.
std::vector<uint8_t> untagged_frame() {
  std::vector<uint8_t> frame = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00};
  for (uint8_t i = 0; i < 46; ++i) frame.push_back(i);
  return frame;
}

TEST(TpacketV3VlanReinsertion, StrippedTagIsPutBackAfterTheMacAddresses) {
  FakeTpacketV3Ring ring(1);
  FakeTpacketV3Ring::FakeFrame frame;
  frame.bytes = untagged_frame();
  frame.status = TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID;
  frame.vlan_tci = 0x6064;  // PCP 3, VID 100
  frame.vlan_tpid = 0x8100;
  ring.fill_block(0, {frame});
  TpacketV3RingCursor cursor(ring.bytes(), kFakeBlockSize);
  std::vector<Packet> packets;
  cursor.drain(64, [&](const TpacketV3Frame& f) { packets.push_back(packet_from_tpacket_frame(f)); });
  ASSERT_EQ(packets.size(), 1u);
  std::vector<uint8_t> expected = untagged_frame();
  expected.insert(expected.begin() + 12, {0x81, 0x00, 0x60, 0x64});
  EXPECT_EQ(std::vector<uint8_t>(packets[0].bytes().begin(), packets[0].bytes().end()), expected);
}

TEST(TpacketV3VlanReinsertion, TagWithoutTpidGets8100) {
  FakeTpacketV3Ring ring(1);
  FakeTpacketV3Ring::FakeFrame frame;
  frame.bytes = untagged_frame();
  frame.status = TP_STATUS_VLAN_VALID;  // older kernels: no TPID reported
  frame.vlan_tci = 0x0005;
  frame.vlan_tpid = 0x1234;  // not valid: must be ignored
  ring.fill_block(0, {frame});
  TpacketV3RingCursor cursor(ring.bytes(), kFakeBlockSize);
  std::vector<Packet> packets;
  cursor.drain(64, [&](const TpacketV3Frame& f) { packets.push_back(packet_from_tpacket_frame(f)); });
  ASSERT_EQ(packets.size(), 1u);
  ASSERT_EQ(packets[0].size(), untagged_frame().size() + 4);
  const uint8_t* tag = packets[0].data() + 12;
  EXPECT_EQ(std::vector<uint8_t>(tag, tag + 4), (std::vector<uint8_t>{0x81, 0x00, 0x00, 0x05}));
}

TEST(TpacketV3VlanReinsertion, ServiceTagKeepsItsTpid) {
  TpacketV3Frame frame;
  std::vector<uint8_t> bytes = untagged_frame();
  frame.bytes = bytes;
  frame.has_stripped_vlan = true;
  frame.vlan_tpid = 0x88a8;
  frame.vlan_tci = 0x0fff;
  Packet packet = packet_from_tpacket_frame(frame);
  std::vector<uint8_t> expected = bytes;
  expected.insert(expected.begin() + 12, {0x88, 0xa8, 0x0f, 0xff});
  EXPECT_EQ(std::vector<uint8_t>(packet.bytes().begin(), packet.bytes().end()), expected);
}

TEST(TpacketV3VlanReinsertion, UntaggedFrameIsCopiedUnchanged) {
  TpacketV3Frame frame;
  std::vector<uint8_t> bytes = untagged_frame();
  frame.bytes = bytes;
  Packet packet = packet_from_tpacket_frame(frame);
  EXPECT_EQ(std::vector<uint8_t>(packet.bytes().begin(), packet.bytes().end()), bytes);
}

TEST(NetworkDeviceQuery, UnknownDeviceIsNamedInTheError) {
  auto ifindex = network_device_ifindex("nosuchdev0");
  ASSERT_FALSE(ifindex);
  EXPECT_EQ(ifindex.status().code(), ENODEV);
  EXPECT_EQ(ifindex.status().message(), "no such network device: nosuchdev0");
  auto mtu = network_device_mtu("nosuchdev0");
  ASSERT_FALSE(mtu);
  EXPECT_EQ(mtu.status().message(), "no such network device: nosuchdev0");
  auto mac = network_device_mac("nosuchdev0");
  ASSERT_FALSE(mac);
  EXPECT_EQ(mac.status().message(), "no such network device: nosuchdev0");
}

TEST(NetworkDeviceQuery, OverlongNameIsRejectedBeforeAskingTheKernel) {
  auto ifindex = network_device_ifindex("a-name-longer-than-ifnamsiz");
  ASSERT_FALSE(ifindex);
  EXPECT_EQ(ifindex.status().code(), EINVAL);
  EXPECT_NE(ifindex.status().message().find("a-name-longer-than-ifnamsiz"), std::string::npos);
}

TEST(NetworkDeviceQuery, LoopbackHasIfindexOneAndAnMtu) {
  auto ifindex = network_device_ifindex("lo");
  ASSERT_TRUE(ifindex) << ifindex.status().message();
  EXPECT_EQ(*ifindex, 1);  // lo is always registered first in a namespace
  auto mtu = network_device_mtu("lo");
  ASSERT_TRUE(mtu) << mtu.status().message();
  EXPECT_GT(*mtu, 0);
}

TEST(AfPacketPortOptions, BlockSizeNotAPageMultipleIsRejected) {
  AfPacketOptions options;
  options.block_size = 1000;
  auto port = AfPacketPort::open("lo", options);
  ASSERT_FALSE(port);
  EXPECT_EQ(port.status().code(), EINVAL);
  EXPECT_NE(port.status().message().find("block size 1000"), std::string::npos);
}

TEST(AfPacketPortOptions, FrameSizeOffTheAlignmentIsRejected) {
  AfPacketOptions options;
  options.frame_size = 2050;
  auto port = AfPacketPort::open("lo", options);
  ASSERT_FALSE(port);
  EXPECT_NE(port.status().message().find("frame size 2050"), std::string::npos);
}

}  // namespace
}  // namespace flowlift
