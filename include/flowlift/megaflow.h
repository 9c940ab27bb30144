// Megaflow: one entry of the datapath's masked table, as the kernel keeps it
// (struct sw_flow): the UFID that names it, its match, its datapath actions,
// and the statistics the datapath accumulates for it.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "flowlift/actions.h"
#include "flowlift/flow_key.h"

namespace flowlift {

// 128-bit unique flow identifier (OVS_FLOW_ATTR_UFID). Stored as the bytes the
// attribute carries; printed as a UUID ("ufid:1c2b...-..."), as ovs-dpctl does.
struct Ufid {
  std::array<uint8_t, 16> bytes{};
  bool is_zero() const {
    for (uint8_t b : bytes)
      if (b) return false;
    return true;
  }
  bool operator==(const Ufid&) const = default;
  uint64_t hash() const {
    uint64_t a, b;
    __builtin_memcpy(&a, bytes.data(), 8);
    __builtin_memcpy(&b, bytes.data() + 8, 8);
    return (a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
  }
};

// struct ovs_flow_stats plus what the kernel reports beside it.
struct FlowStats {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t used_ms = 0;  // monotonic milliseconds of the last hit; 0 = never
  uint16_t tcp_flags = 0;  // OR of the TCP flags seen (host order)
  bool operator==(const FlowStats&) const = default;
};

struct Megaflow {
  Ufid ufid;
  Match match;
  ActionList actions;
  FlowStats stats;
};

}  // namespace flowlift
