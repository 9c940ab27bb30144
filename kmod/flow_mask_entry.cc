// FlowMaskEntry: the per-mask hash table's read path, insertion, removal and
// growth (see flow_mask_entry.h for the publication rules).
#include "kmod/flow_mask_entry.h"

namespace flowlift {

FlowBuckets::FlowBuckets(size_t bucket_count, uint8_t link_index)
    : link(link_index),
      index_mask(bucket_count - 1),
      heads(std::make_unique<std::atomic<DatapathFlow*>[]>(bucket_count)) {}

FlowMaskEntry::FlowMaskEntry(const FlowMask& mask, uint64_t hash_basis)
    : mask_(mask),
      digest_(digest(mask)),
      hash_basis_(hash_basis),
      buckets_(std::make_unique<FlowBuckets>(kMinBuckets, 0).release()) {}

FlowMaskEntry::~FlowMaskEntry() {
  std::unique_ptr<FlowBuckets> owned(buckets_.load(std::memory_order_relaxed));
}

DatapathFlow* FlowMaskEntry::find(const FlowKey& packet_key, uint64_t hash) const {
  const FlowBuckets* buckets = buckets_.load(std::memory_order_acquire);
  const uint8_t link = buckets->link;
  for (DatapathFlow* flow = buckets->head(hash).load(std::memory_order_acquire); flow != nullptr;
       flow = flow->bucket_next_[link].load(std::memory_order_acquire)) {
    if (flow->hash_ == hash && masked_equal(packet_key, flow->key_, mask_)) return flow;
  }
  return nullptr;
}

void FlowMaskEntry::prefetch(uint64_t hash, bool chain) const {
  const std::atomic<DatapathFlow*>& head = buckets_.load(std::memory_order_acquire)->head(hash);
  if (!chain) {
    __builtin_prefetch(&head);
    return;
  }
  if (const DatapathFlow* first = head.load(std::memory_order_acquire)) __builtin_prefetch(first);
}

uint64_t FlowMaskEntry::usage() const {
  uint64_t total = 0;
  for (const UsageStripe& stripe : usage_) total += stripe.hits.load(std::memory_order_relaxed);
  return total;
}

size_t FlowMaskEntry::bucket_count() const {
  return buckets_.load(std::memory_order_relaxed)->index_mask + 1;
}

void FlowMaskEntry::link(DatapathFlow* flow, uint64_t hash, QuiescentReclaimer& reclaimer) {
  flow->hash_ = hash;
  FlowBuckets* buckets = buckets_.load(std::memory_order_relaxed);
  std::atomic<DatapathFlow*>& head = buckets->head(flow->hash_);
  flow->bucket_next_[buckets->link].store(head.load(std::memory_order_relaxed), std::memory_order_relaxed);
  // Release: a reader that finds the flow sees its key, hash and actions.
  head.store(flow, std::memory_order_release);
  ++ref_count_;

  // Grow at one flow per bucket, as the kernel does. A second resize must
  // wait until nobody walks the array before last: it reuses that array's link.
  if (ref_count_ > bucket_count() && reclaimer.grace_period_elapsed(retired_buckets_epoch_)) grow(reclaimer);
}

bool FlowMaskEntry::unlink(const DatapathFlow* flow) {
  FlowBuckets* buckets = buckets_.load(std::memory_order_relaxed);
  const uint8_t link = buckets->link;
  std::atomic<DatapathFlow*>* slot = &buckets->head(flow->hash_);
  for (DatapathFlow* current = slot->load(std::memory_order_relaxed); current != nullptr;
       current = slot->load(std::memory_order_relaxed)) {
    if (current == flow) {
      // Readers standing on `flow` keep following its own link to the rest
      // of the chain, which stays intact.
      slot->store(current->bucket_next_[link].load(std::memory_order_relaxed), std::memory_order_release);
      --ref_count_;
      return true;
    }
    slot = &current->bucket_next_[link];
  }
  return false;
}

void FlowMaskEntry::grow(QuiescentReclaimer& reclaimer) {
  FlowBuckets* old_buckets = buckets_.load(std::memory_order_relaxed);
  const uint8_t old_link = old_buckets->link;
  const uint8_t new_link = old_link ^ 1;
  auto grown = std::make_unique<FlowBuckets>((old_buckets->index_mask + 1) * 2, new_link);
  for (size_t i = 0; i <= old_buckets->index_mask; ++i) {
    for (DatapathFlow* flow = old_buckets->heads[i].load(std::memory_order_relaxed); flow != nullptr;
         flow = flow->bucket_next_[old_link].load(std::memory_order_relaxed)) {
      std::atomic<DatapathFlow*>& head = grown->head(flow->hash_);
      flow->bucket_next_[new_link].store(head.load(std::memory_order_relaxed), std::memory_order_relaxed);
      head.store(flow, std::memory_order_relaxed);
    }
  }
  // Release publishes every link written above.
  buckets_.store(grown.release(), std::memory_order_release);
  retired_buckets_epoch_ = reclaimer.retire(std::unique_ptr<Retirable>(old_buckets));
}

}  // namespace flowlift
