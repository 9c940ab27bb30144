// FlowMaskEntry: one mask of the table's mask list (the kernel's
// struct sw_flow_mask) together with the hash table of the flows that use
// it, how many flows that is (the mask's reference count), and how often
// lookups matched through it (the usage counters rebalance sorts by).
//
// The hash table is keyed by masked_hash over the mask's range. Readers
// walk it without locks: buckets and chain links are atomics written with
// release and read with acquire, a flow is linked in fully built, and an
// unlinked flow stays readable until the reclaimer frees it. Growing the
// table links every flow into a new bucket array through its second chain
// link (DatapathFlow::bucket_next_), publishes the new array, and retires
// the old one, which readers may still be walking through the first link.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "flowlift/flow_key.h"
#include "kmod/datapath_flow.h"
#include "kmod/quiescent_reclaimer.h"

namespace flowlift {

// One generation of a mask's bucket array.
struct FlowBuckets final : Retirable {
  FlowBuckets(size_t bucket_count, uint8_t link_index);
  std::atomic<DatapathFlow*>& head(uint64_t hash) const { return heads[hash & index_mask]; }

  const uint8_t link;  // which DatapathFlow::bucket_next_ this generation chains through
  const size_t index_mask;
  const std::unique_ptr<std::atomic<DatapathFlow*>[]> heads;
};

class FlowMaskEntry final : public Retirable {
 public:
  // Lookup threads spread their hit counts over this many cache lines so
  // that a popular mask does not become one contended counter (the kernel
  // keeps them per CPU).
  static constexpr size_t kUsageStripes = 8;
  static constexpr size_t kMinBuckets = 16;

  FlowMaskEntry(const FlowMask& mask, uint64_t hash_basis);
  ~FlowMaskEntry() override;
  FlowMaskEntry(const FlowMaskEntry&) = delete;
  FlowMaskEntry& operator=(const FlowMaskEntry&) = delete;

  const FlowMask& mask() const { return mask_; }
  // A digest of the mask bits, so that finding a mask among many compares
  // one word per mask before comparing whole masks.
  // Only the mask's non-zero words are hashed (every other word is zero, so
  // equal masks still digest alike): the full key costs a flow setup ~40 words.
  static uint64_t digest(const FlowMask& mask) {
    uint64_t h = word_hash_start(0);
    for (size_t i = mask.range().start; i < mask.range().end; i += 8)
      h = word_hash_add(h, load_word(mask.bits(), i));
    return word_hash_finish(h);
  }
  // Whether this entry's mask is `mask`, whose range must be exact
  // (recompute_range), as this entry's own is. Both masks are zero outside
  // their ranges, so equal ranges and equal words inside them mean equal
  // masks: a flow setup compares its mask's few words, not the whole key.
  bool has_mask(const FlowMask& mask, uint64_t mask_digest) const {
    return digest_ == mask_digest && has_mask(mask);
  }
  // The same without a digest, for a search over a few masks, where
  // digesting the mask first would cost more than it spares.
  bool has_mask(const FlowMask& mask) const {
    if (!(mask_.range() == mask.range())) return false;
    uint64_t diff = 0;
    for (size_t i = mask.range().start; i < mask.range().end; i += 8)
      diff |= load_word(mask_.bits(), i) ^ load_word(mask.bits(), i);
    return diff == 0;
  }

  // The hash of `key` under this mask: which bucket find(key) reads and
  // link() puts a flow with that masked key in. The writer computes it once
  // per flow and hands it to the calls below instead of rehashing.
  uint64_t hash_of(const FlowKey& key) const { return masked_hash(key, mask_, hash_basis_); }

  // Reader side (any thread, no lock): the flow of this mask that
  // `packet_key` matches, if any. (Non-const result for the table's writer
  // side; a flow's mutators are private to the table.)
  DatapathFlow* find(const FlowKey& packet_key) const { return find(packet_key, hash_of(packet_key)); }
  // find() with `hash` = hash_of(packet_key).
  DatapathFlow* find(const FlowKey& packet_key, uint64_t hash) const;
  // Writer side: brings the bucket of `hash` (a hash_of()) into the cache
  // (with `chain`, the bucket's first flow too: call it after the bucket
  // itself had time to arrive). Only a hint: nothing is read that matters.
  void prefetch(uint64_t hash, bool chain) const;
  void count_hit(uint32_t reader_id) const {
    usage_[reader_id % kUsageStripes].hits.fetch_add(1, std::memory_order_relaxed);
  }
  // Hits counted since construction.
  uint64_t usage() const;

  // Writer side (table mutex held).
  // Number of flows using this mask: the kernel's mask ref_count.
  size_t ref_count() const { return ref_count_; }
  // Links `flow` (whose key is masked by this mask) and grows the bucket
  // array when it is full and the previous array is no longer read.
  void link(DatapathFlow* flow, QuiescentReclaimer& reclaimer) {
    link(flow, hash_of(flow->key()), reclaimer);
  }
  // link() with `hash` = hash_of(flow->key()).
  void link(DatapathFlow* flow, uint64_t hash, QuiescentReclaimer& reclaimer);
  // Unlinks `flow`; the caller retires it. False if it was not linked here.
  bool unlink(const DatapathFlow* flow);
  size_t bucket_count() const;
  template <typename Visit>
  void for_each_flow(Visit&& visit) const;

  // Usage counted up to the last rebalance or mask list change (the kernel's
  // masks_usage_zero_cntr): the rebalance sorts by usage() minus this.
  uint64_t usage_baseline = 0;

 private:
  void grow(QuiescentReclaimer& reclaimer);

  struct alignas(64) UsageStripe {
    std::atomic<uint64_t> hits{0};
  };

  const FlowMask mask_;
  const uint64_t digest_;
  const uint64_t hash_basis_;
  std::atomic<FlowBuckets*> buckets_;  // owned
  size_t ref_count_ = 0;
  uint64_t retired_buckets_epoch_ = 0;  // 0: no older array anyone could still read
  mutable std::array<UsageStripe, kUsageStripes> usage_;
};

template <typename Visit>
void FlowMaskEntry::for_each_flow(Visit&& visit) const {
  const FlowBuckets* buckets = buckets_.load(std::memory_order_acquire);
  for (size_t i = 0; i <= buckets->index_mask; ++i) {
    DatapathFlow* flow = buckets->heads[i].load(std::memory_order_acquire);
    while (flow != nullptr) {
      // Read the successor first: visit may unlink and retire `flow`.
      DatapathFlow* next = flow->bucket_next_[buckets->link].load(std::memory_order_acquire);
      visit(flow);
      flow = next;
    }
  }
}

}  // namespace flowlift
