// DatapathFlow: statistics and action replacement of one installed megaflow.
#include "kmod/datapath_flow.h"

#include "kmod/flow_mask_entry.h"

namespace flowlift {

DatapathFlow::DatapathFlow(const Ufid& ufid, const FlowKey& masked_key, FlowMaskEntry& mask,
                           ActionList actions)
    : mask_entry_(&mask),
      first_actions_(std::move(actions)),
      actions_(&first_actions_),
      ufid_(ufid),
      key_(masked_key) {}

DatapathFlow::DatapathFlow(const Ufid& ufid, const FlowKey& key, const FlowMask& mask, ActionList actions)
    : mask_entry_(nullptr),
      first_actions_(std::move(actions)),
      actions_(&first_actions_),
      ufid_(ufid),
      key_(apply_mask(key, mask)) {}

DatapathFlow::~DatapathFlow() {
  // Adopts a replacement block this flow owns; readers are gone by the time a flow dies.
  ActionsBlock* current = actions_.load(std::memory_order_relaxed);
  if (current != &first_actions_) std::unique_ptr<ActionsBlock> owned(current);
}

const FlowMask& DatapathFlow::mask() const { return mask_entry_->mask(); }

Match DatapathFlow::match() const {
  Match match;
  match.key = key_;
  match.mask = mask();
  return match;
}

FlowStats DatapathFlow::stats() const {
  FlowStats stats;
  stats.packets = packets_.load(std::memory_order_relaxed);
  stats.bytes = bytes_.load(std::memory_order_relaxed);
  stats.used_ms = used_ms_.load(std::memory_order_relaxed);
  stats.tcp_flags = tcp_flags_.load(std::memory_order_relaxed);
  return stats;
}

void DatapathFlow::record_packet(uint32_t bytes, uint16_t tcp_flags, uint64_t now_ms) const {
  packets_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(bytes, std::memory_order_relaxed);
  // Threads race to stamp "used"; keep the latest time rather than the last
  // writer's, and skip the write when nothing changes (most packets of a
  // busy flow arrive within the same millisecond).
  uint64_t used = used_ms_.load(std::memory_order_relaxed);
  while (now_ms > used && !used_ms_.compare_exchange_weak(used, now_ms, std::memory_order_relaxed)) {
  }
  if (tcp_flags != 0 && (tcp_flags_.load(std::memory_order_relaxed) & tcp_flags) != tcp_flags)
    tcp_flags_.fetch_or(tcp_flags, std::memory_order_relaxed);
}

void DatapathFlow::clear_stats() {
  packets_.store(0, std::memory_order_relaxed);
  bytes_.store(0, std::memory_order_relaxed);
  used_ms_.store(0, std::memory_order_relaxed);
  tcp_flags_.store(0, std::memory_order_relaxed);
}

std::unique_ptr<ActionsBlock> DatapathFlow::replace_actions(ActionList actions) {
  auto fresh = std::make_unique<ActionsBlock>(std::move(actions));
  ActionsBlock* old = actions_.exchange(fresh.release(), std::memory_order_acq_rel);
  if (old == &first_actions_) return nullptr;
  return std::unique_ptr<ActionsBlock>(old);
}

Megaflow DatapathFlow::to_megaflow() const {
  Megaflow flow;
  flow.ufid = ufid_;
  flow.match = match();
  flow.actions = actions();
  flow.stats = stats();
  return flow;
}

}  // namespace flowlift
