// A rule as an OpenFlow table holds it (OVS's struct rule with
// ofproto-dpif's rule_dpif statistics): the pipeline rule plus its counters
// and times.
//
// Why the counters are atomics on a const object: readers (xlate, the
// revalidator) only ever hold `const OfPipelineRule*` and credit packets
// while the tables may be changing; everything else about a rule is fixed
// when it is created, because a modify creates a new rule object rather than
// editing one that readers at older versions may still be looking at.
//
// When a rule is replaced (add of an identical rule, modify), the old rule
// forwards later credits to its successor, as rule_dpif's new_rule does:
// packets and bytes only when the flow-mod kept the counters, the last-used
// time always.
#pragma once

#include <atomic>
#include <cstdint>

#include "slowpath/of_pipeline.h"

namespace flowlift {

// Why a rule left its table (OFPRR_*).
enum class OfRemovalReason : uint8_t { kIdleTimeout, kHardTimeout, kDelete, kEviction };

// "idle_timeout", "hard_timeout", "delete", "eviction".
std::string_view of_removal_reason_name(OfRemovalReason reason);

class OfTableRule : public OfPipelineRule {
 public:
  // `rule.table` is the rule's table; `sequence` orders rules by creation
  // (a modify's replacement takes the sequence of the rule it replaces).
  // created/modified/used start as given (a modify passes the old rule's
  // creation time).
  OfTableRule(OfRule rule, OfVersion add_version, uint64_t sequence, uint64_t created_ms,
              uint64_t modified_ms);

  uint8_t table_id() const { return rule().table; }
  uint64_t sequence() const { return sequence_; }

  uint64_t created_ms() const { return created_ms_; }
  // When the flow-mod that made this rule object ran (hard timeouts count from it).
  uint64_t modified_ms() const { return modified_ms_; }

  uint64_t packets() const { return packets_.load(std::memory_order_relaxed); }
  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  // Last time a packet was credited, or when the rule was made.
  uint64_t used_ms() const { return used_ms_.load(std::memory_order_relaxed); }

  bool has_timeout() const { return rule().idle_timeout != 0 || rule().hard_timeout != 0; }
  // When the rule's idle or hard timeout ends (the earlier), or UINT64_MAX.
  uint64_t expiry_ms() const;
  // The timeout that has run out at `now_ms` (hard first, as OVS checks), if any.
  bool expired(uint64_t now_ms, OfRemovalReason* reason) const;

  // Credits packets to this rule, or to its successor once replaced.
  void credit(uint64_t packets, uint64_t bytes, uint64_t used_ms) const;

  // Called by the tables when `successor` replaces this rule: moves the
  // counters over (packets and bytes only if `keep_counts`) and forwards
  // later credits.
  void hand_over_to(const OfTableRule& successor, bool keep_counts) const;
  const OfTableRule* successor() const { return successor_.load(std::memory_order_acquire); }

  // Starts fetching what a translation reads of the rule it looked up
  // besides what the lookup read: the cookie, the actions' vector and the
  // counters it credits (three lines apart in a ~1.2 kB object).
  void prefetch_for_translation() const {
    __builtin_prefetch(&rule().cookie);
    __builtin_prefetch(&rule().actions);
    __builtin_prefetch(&used_ms_);
  }

 private:
  void add(uint64_t packets, uint64_t bytes, uint64_t used_ms) const;

  uint64_t sequence_;
  uint64_t created_ms_;
  uint64_t modified_ms_;
  mutable std::atomic<uint64_t> packets_{0};
  mutable std::atomic<uint64_t> bytes_{0};
  mutable std::atomic<uint64_t> used_ms_;
  mutable std::atomic<const OfTableRule*> successor_{nullptr};
  mutable std::atomic<bool> forward_counts_{false};
};

}  // namespace flowlift
