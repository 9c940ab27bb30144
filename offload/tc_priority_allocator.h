// TcPriorityAllocator: the TC priority a flower filter is installed at, one
// per (protocol, mask shape).
//
// Why per shape: cls_flower keeps one flower instance per (chain, priority,
// protocol), and since Linux 4.20 an instance holds many masks, so software
// flower would take every rule at one priority. NIC drivers do not: mlx5
// builds one flow table per (chain, priority) and groups entries by mask
// there, ice builds one switch recipe per set of matched words. Open vSwitch
// therefore gives each (eth_type, mask) combination its own priority
// (lib/netdev-offload-tc.c get_prio_for_tc_flower), so that hardware sees the
// rules of one shape together, and flowlift does the same: dumps then show
// the same priority for the same shape on every port, as OVS's do.
//
// The shape is the rule's protocol plus, for every key with a non-zero mask,
// the field and its mask. Key values, actions, chain and device do not
// count. Priorities are handed out in first-come order and never reused
// (as in OVS): a priority names a shape for the daemon's lifetime.
//
// Reserved, as OVS 3.1 reserves them (lib/tc.h enum tc_flower_reserved_prio):
//   0 = TC_RESERVED_PRIORITY_NONE: priority 0 in RTM_NEWTFILTER asks the
//       kernel to pick one (net/sched/cls_api.c tc_new_tfilter), so it can
//       never name a shape;
//   1 = TC_RESERVED_PRIORITY_POLICE: OVS's ingress policing matchall filter,
//       kept free so that flowlift's filters and a policer never collide.
// Later OVS releases also reserve priorities for their multi-mask-per-
// priority mode; flowlift does not use that mode.
//
// Thread-safe: lookups of known shapes take a shared lock only.
#pragma once

#include <cstdint>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "flowlift/status.h"
#include "offload/tc_flower_rule.h"

namespace flowlift {

inline constexpr uint16_t kTcFirstFlowerPriority = 2;  // after OVS's reserved 0 and 1
inline constexpr uint16_t kTcLastFlowerPriority = UINT16_MAX;

class TcPriorityAllocator {
 public:
  // [first, last]: the priorities this allocator may hand out. The default is
  // every priority OVS does not reserve; tests use a small range. 0 is never
  // handed out (it asks the kernel to choose), a first of 0 starts at 1.
  explicit TcPriorityAllocator(uint16_t first = kTcFirstFlowerPriority,
                               uint16_t last = kTcLastFlowerPriority);

  // The rule's shape's priority, allocating the next free one for a new
  // shape; ENOSPC when every priority of the range already names a shape.
  Result<uint16_t> priority_for(const TcFlowerRule& rule);

  size_t shapes() const;

 private:
  static std::string shape_of(const TcFlowerRule& rule);

  const uint16_t first_;
  const uint16_t last_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, uint16_t> priorities_;  // shape bytes -> priority
  uint32_t next_;                                         // 32 bits: last_ + 1 must fit
};

}  // namespace flowlift
