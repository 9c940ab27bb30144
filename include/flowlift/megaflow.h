// Megaflow: one entry of the datapath's masked table, as the kernel keeps it
// (struct sw_flow): the UFID that names it, its match, its datapath actions,
// and the statistics the datapath accumulates for it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "flowlift/actions.h"
#include "flowlift/flow_key.h"

namespace flowlift {

// 128-bit unique flow identifier (OVS_FLOW_ATTR_UFID). Stored as the bytes the
// attribute carries; printed as a UUID ("ufid:1c2b...-..."), as ovs-dpctl does.
struct Ufid {
  std::array<uint8_t, 16> bytes{};
  // Two 64-bit halves: UFIDs are compared and hashed in every flow table
  // walk, and a byte loop or a memcmp call cost more than the comparison.
  uint64_t half(size_t i) const {
    uint64_t word;
    __builtin_memcpy(&word, bytes.data() + 8 * i, 8);
    return word;
  }
  bool is_zero() const { return (half(0) | half(1)) == 0; }
  bool operator==(const Ufid& other) const { return half(0) == other.half(0) && half(1) == other.half(1); }
  uint64_t hash() const { return (half(0) ^ (half(1) * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull; }
};

// struct ovs_flow_stats plus what the kernel reports beside it.
struct FlowStats {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t used_ms = 0;    // monotonic milliseconds of the last hit; 0 = never
  uint16_t tcp_flags = 0;  // OR of the TCP flags seen (host order)
  bool operator==(const FlowStats&) const = default;
};

// A key attribute a datapath reported with a flow that FlowKey does not hold,
// as its key and mask payloads. Linux (5.18 and later) echoes
// OVS_KEY_ATTR_IPV6_EXTHDRS with every IPv6 flow, wildcarded unless a flow
// matched it; flowlift never matches it, but ovs-dpctl prints it, so dumps
// keep it to print it the same way.
struct UnheldKeyAttribute {
  uint16_t type = 0;
  std::vector<uint8_t> key;
  std::vector<uint8_t> mask;
  bool operator==(const UnheldKeyAttribute&) const = default;
};

// Where a megaflow lives (the truth rules of the offload layer: never
// "offloaded" without the kernel's or the PMD's own word for it).
enum class MegaflowPlacement : uint8_t {
  kDatapath,    // the datapath's software masked table (openvswitch module or userspace)
  kInHardware,  // TC said TCA_CLS_FLAGS_IN_HW with in_hw_count >= 1
  kTcSoftware,  // in TC, not in hardware: TCA_CLS_FLAGS_NOT_IN_HW, or skip_hw
  kUnknown,     // in TC, but the kernel gave no flags: never shown as offloaded
};

// "datapath", "in_hw", "tc_sw", "unknown": the dump's column.
inline const char* megaflow_placement_name(MegaflowPlacement placement) {
  switch (placement) {
    case MegaflowPlacement::kDatapath: return "datapath";
    case MegaflowPlacement::kInHardware: return "in_hw";
    case MegaflowPlacement::kTcSoftware: return "tc_sw";
    case MegaflowPlacement::kUnknown: return "unknown";
  }
  return "unknown";
}

// A megaflow's placement, why, and its counters split by where they were
// counted. Megaflow::stats is always the total.
struct MegaflowLocation {
  MegaflowPlacement placement = MegaflowPlacement::kDatapath;
  // kDatapath: why the offload provider refused it ("refused by profile
  // ice-e810: one action per rule, flow has 3", or the kernel's extack text); empty when
  // no provider was asked. kTcSoftware: why it is not in hardware.
  std::string reason;
  std::string provider;  // "tc" when a provider holds the flow; empty otherwise
  FlowStats hardware;     // TCA_STATS_BASIC_HW
  FlowStats tc_software;  // TCA_STATS_BASIC - TCA_STATS_BASIC_HW
  bool operator==(const MegaflowLocation&) const = default;
};

struct Megaflow {
  Ufid ufid;
  Match match;
  ActionList actions;
  FlowStats stats;
  MegaflowLocation location;
  // Only from a datapath's dump or get (never installed): see UnheldKeyAttribute.
  std::vector<UnheldKeyAttribute> unheld_key_attributes;
};

}  // namespace flowlift
