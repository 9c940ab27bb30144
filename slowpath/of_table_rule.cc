// Counters, times and timeouts of a table's rule (ofproto-dpif's rule_dpif
// stats, rule_expire() and the expiry rule_eviction_priority() uses).
#include "slowpath/of_table_rule.h"

#include <algorithm>
#include <utility>

namespace flowlift {

std::string_view of_removal_reason_name(OfRemovalReason reason) {
  switch (reason) {
    case OfRemovalReason::kIdleTimeout:
      return "idle_timeout";
    case OfRemovalReason::kHardTimeout:
      return "hard_timeout";
    case OfRemovalReason::kDelete:
      return "delete";
    case OfRemovalReason::kEviction:
      return "eviction";
  }
  return "?";
}

OfTableRule::OfTableRule(OfRule rule, OfVersion add_version, uint64_t sequence, uint64_t created_ms,
                         uint64_t modified_ms)
    : OfPipelineRule(std::move(rule), add_version),
      sequence_(sequence),
      created_ms_(created_ms),
      modified_ms_(modified_ms),
      used_ms_(modified_ms) {}

uint64_t OfTableRule::expiry_ms() const {
  uint64_t expiry = UINT64_MAX;
  if (rule().hard_timeout) expiry = modified_ms_ + uint64_t{rule().hard_timeout} * 1000;
  if (rule().idle_timeout) expiry = std::min(expiry, used_ms() + uint64_t{rule().idle_timeout} * 1000);
  return expiry;
}

bool OfTableRule::expired(uint64_t now_ms, OfRemovalReason* reason) const {
  // Strictly after the timeout, as ofproto-dpif's rule_expire() compares.
  if (rule().hard_timeout && now_ms > modified_ms_ + uint64_t{rule().hard_timeout} * 1000) {
    *reason = OfRemovalReason::kHardTimeout;
    return true;
  }
  if (rule().idle_timeout && now_ms > used_ms() + uint64_t{rule().idle_timeout} * 1000) {
    *reason = OfRemovalReason::kIdleTimeout;
    return true;
  }
  return false;
}

void OfTableRule::add(uint64_t packets, uint64_t bytes, uint64_t used_ms) const {
  packets_.fetch_add(packets, std::memory_order_relaxed);
  bytes_.fetch_add(bytes, std::memory_order_relaxed);
  uint64_t seen = used_ms_.load(std::memory_order_relaxed);
  while (seen < used_ms && !used_ms_.compare_exchange_weak(seen, used_ms, std::memory_order_relaxed)) {
  }
}

void OfTableRule::credit(uint64_t packets, uint64_t bytes, uint64_t used_ms) const {
  // One hop, as rule_dpif_credit_stats(): when the successor has itself
  // been replaced since, the credit stays with it, as in OVS.
  if (const OfTableRule* next = successor()) {
    bool forward = forward_counts_.load(std::memory_order_relaxed);
    next->add(forward ? packets : 0, forward ? bytes : 0, used_ms);
    return;
  }
  add(packets, bytes, used_ms);
}

void OfTableRule::hand_over_to(const OfTableRule& successor, bool keep_counts) const {
  // The successor has not been visible yet, so nothing was credited to it:
  // it takes over the old counters (or only the last-used time) as they are.
  // A credit to this rule on another thread between these loads and the
  // successor's publication can be lost; ofproto-dpif closes that window
  // with its stats mutexes, which the daemon's locking (issue 4) decides on.
  if (keep_counts) {
    successor.packets_.store(packets(), std::memory_order_relaxed);
    successor.bytes_.store(bytes(), std::memory_order_relaxed);
  }
  successor.used_ms_.store(used_ms(), std::memory_order_relaxed);
  forward_counts_.store(keep_counts, std::memory_order_relaxed);
  successor_.store(&successor, std::memory_order_release);
}

}  // namespace flowlift
