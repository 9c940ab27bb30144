// The revalidator's two judgements that depend only on numbers, kept apart
// from the threads so that they can be checked against Open vSwitch 3.1's
// arithmetic (ofproto-dpif-upcall.c: udpif_revalidator()'s flow limit and
// should_revalidate()).
#pragma once

#include <algorithm>
#include <cstdint>

namespace flowlift {

// OVS starts the dynamic limit here (or at the configured limit, if lower).
inline constexpr uint32_t kUdpifInitialFlowLimit = 10000;
// The dynamic limit never drops below this (unless the configured one is lower).
inline constexpr uint32_t kUdpifMinimumFlowLimit = 1000;
// OVS's other_config:min-revalidate-pps default.
inline constexpr uint64_t kUdpifMinRevalidatePps = 5;

// The dynamic flow limit after a round that took `duration_ms` with
// `n_flows` datapath flows, as udpif_revalidator() adjusts it: a round over
// 2 s divides the limit by its whole seconds, one over 1.3 s takes a quarter
// off, and one under 1 s that could have handled more flows than the limit
// at that pace (n_flows * 1000 / duration) adds 1000. Then the limit is held
// between 1000 and the configured limit (the configured one wins if lower).
inline uint32_t udpif_next_flow_limit(uint32_t flow_limit, uint64_t duration_ms, uint64_t n_flows,
                                      uint32_t configured_limit) {
  uint64_t duration = std::max<uint64_t>(duration_ms, 1);
  uint64_t limit = flow_limit;
  if (duration > 2000) {
    limit /= duration / 1000;
  } else if (duration > 1300) {
    limit = limit * 3 / 4;
  } else if (duration < 1000 && limit < n_flows * 1000 / duration) {
    limit += 1000;
  }
  limit = std::max<uint64_t>(limit, kUdpifMinimumFlowLimit);
  return static_cast<uint32_t>(std::min<uint64_t>(configured_limit, limit));
}

// Whether a megaflow whose bridge changed is worth translating again rather
// than simply deleting (OVS's should_revalidate()): always for a flow never
// seen used before this round and whenever the previous round was quick
// (under half of `max_revalidator_ms`); otherwise only for a flow that
// received more than kUdpifMinRevalidatePps packets per second since
// `last_used_ms`, so that slow rounds do not spend their time on flows that
// barely carry traffic.
inline bool udpif_should_revalidate(uint64_t last_used_ms, uint64_t new_packets, uint64_t now_ms,
                                    uint64_t last_round_duration_ms, uint64_t max_revalidator_ms) {
  if (last_used_ms == 0) return true;
  if (last_round_duration_ms < max_revalidator_ms / 2) return true;
  uint64_t packets = std::max<uint64_t>(new_packets, 1);
  uint64_t now = std::max(last_used_ms, now_ms);
  uint64_t mean_gap_ms = (now - last_used_ms) / packets;
  return mean_gap_ms < 1000 / kUdpifMinRevalidatePps;
}

}  // namespace flowlift
