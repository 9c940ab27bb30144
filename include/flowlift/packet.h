// Packet: a frame with headroom, the metadata the datapath carries with it
// (what an skb carries beside its data: input port, tunnel, mark, ...), and
// the layer offsets key extraction found. Actions grow and shrink the frame
// in place; insert()/erase() keep the layer offsets pointing at the same headers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "flowlift/flow_key.h"

namespace flowlift {

struct PacketMetadata {
  uint32_t in_port = 0;
  uint32_t recirc_id = 0;
  uint32_t dp_hash = 0;
  uint32_t priority = 0;
  uint32_t skb_mark = 0;
  TunnelKey tunnel{};  // set by decapsulation, or by a set(tunnel(...)) action before output
  bool has_tunnel = false;
};

class Packet {
 public:
  static constexpr size_t kDefaultHeadroom = 128;
  static constexpr uint16_t kNoOffset = 0xffff;

  Packet() : buf_(kDefaultHeadroom), head_(kDefaultHeadroom) {}
  explicit Packet(std::span<const uint8_t> frame, size_t headroom = kDefaultHeadroom)
      : head_(headroom) {
    buf_.reserve(headroom + frame.size());
    buf_.resize(headroom);
    buf_.insert(buf_.end(), frame.begin(), frame.end());
  }

  uint8_t* data() { return buf_.data() + head_; }
  const uint8_t* data() const { return buf_.data() + head_; }
  size_t size() const { return buf_.size() - head_; }
  std::span<uint8_t> bytes() { return {data(), size()}; }
  std::span<const uint8_t> bytes() const { return {data(), size()}; }

  // Opens n bytes at `offset` (0 = in front of the frame), moving the
  // shorter side, and shifts every layer offset at or beyond `offset`.
  uint8_t* insert(size_t offset, size_t n) {
    if (head_ < n) grow_headroom(n);
    uint8_t* old = data();
    head_ -= n;
    std::memmove(data(), old, offset);
    shift_offsets(offset, static_cast<long>(n));
    return data() + offset;
  }
  // Removes n bytes at `offset`; layer offsets inside the removed span become unknown.
  void erase(size_t offset, size_t n) {
    uint8_t* old = data();
    std::memmove(old + n, old, offset);
    head_ += n;
    shift_offsets(offset, -static_cast<long>(n));
  }
  uint8_t* push_front(size_t n) { return insert(0, n); }
  void pull_front(size_t n) { erase(0, n); }
  void truncate(size_t len) {
    if (len < size()) buf_.resize(head_ + len);
  }
  void append(std::span<const uint8_t> bytes) { buf_.insert(buf_.end(), bytes.begin(), bytes.end()); }

  PacketMetadata md;
  // Offsets from data(), set by key extraction; kNoOffset when absent.
  uint16_t l2_5_ofs = kNoOffset;  // first MPLS label
  uint16_t l3_ofs = kNoOffset;
  uint16_t l4_ofs = kNoOffset;

 private:
  void grow_headroom(size_t need) {
    size_t extra = need + kDefaultHeadroom;
    buf_.insert(buf_.begin(), extra, 0);
    head_ += extra;
  }
  void shift_offsets(size_t at, long delta) {
    for (uint16_t* o : {&l2_5_ofs, &l3_ofs, &l4_ofs}) {
      if (*o == kNoOffset || *o < at) continue;
      long moved = static_cast<long>(*o) + delta;
      *o = (delta < 0 && *o < at - delta) ? kNoOffset : static_cast<uint16_t>(moved);
    }
  }

  std::vector<uint8_t> buf_;
  size_t head_;
};

}  // namespace flowlift
