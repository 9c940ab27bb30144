// MaskedFlowTable: the datapath's megaflow table, with the algorithm of the
// Linux kernel's net/openvswitch/flow_table.c and the control-path
// semantics of datapath.c (ovs_flow_cmd_new / set / get / del / flush).
//
// Structure, as in the kernel:
//  - a mask list, searched in order; each mask is shared by all flows with
//    that exact mask and reference counted (removed with its last flow);
//  - one hash table per mask, keyed by masked_hash over the mask's range;
//  - a per-thread mask cache mapping a packet hash to the mask index that
//    matched last (LookupContext, owned by the lookup thread);
//  - per-mask usage counters, and rebalance() to reorder the mask list by
//    the hits since the previous rebalance (ovs_flow_masks_rebalance);
//  - a UFID index for the control path.
//
// Concurrency: any number of lookup threads and serialized writers.
// Writers (insert, update_actions, remove, flush, rebalance, get, dump)
// take an internal mutex. Lookups take no lock and never wait: every
// structure a lookup reads is published with release stores and, once
// replaced or unlinked, retired to a QuiescentReclaimer and freed only
// after every lookup thread has passed a quiescent point
// (LookupContext::quiescent()). Changes are fine grained: inserting a flow
// links one node into one bucket; only adding or removing a mask, or a
// rebalance, copies the (short) mask list.
//
// Deliberate differences from the kernel. Because Megaflow carries only
// the masked key (the kernel also keeps the unmasked key it received):
//  - insert's duplicate check looks up the masked key where the kernel
//    looks up the unmasked one;
//  - a flow without UFID is identified by its Match (masked key and mask)
//    where the kernel uses the unmasked key.
// Smaller ones: the bucket hash seed is drawn once per table (the kernel
// also re-seeds every 10 minutes); control-path lookups do not count as
// mask usage for rebalance; a recirculated packet's mixed cache hash is
// never 0 (in the kernel a 0 would alias an empty cache slot).
#pragma once

#include <linux/netlink.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "flowlift/megaflow.h"
#include "flowlift/status.h"
#include "kmod/datapath_flow.h"
#include "kmod/flow_mask_entry.h"
#include "kmod/mask_cache.h"
#include "kmod/quiescent_reclaimer.h"
#include "kmod/ufid_index.h"

namespace flowlift {

class MaskedFlowTable;

// What a lookup thread owns: its mask cache and its registration as a
// reader. One per thread, never shared (the kernel's equivalents are per
// CPU). Pointers returned by MaskedFlowTable::lookup through a context stay
// valid until that context's next quiescent() or offline(): call
// quiescent() between packet batches, and offline() before blocking.
// A context may outlive its table (it then only supports destruction).
class LookupContext {
 public:
  explicit LookupContext(const MaskedFlowTable& table);
  LookupContext(const LookupContext&) = delete;
  LookupContext& operator=(const LookupContext&) = delete;

  void quiescent() { reader_.quiescent(); }
  void offline() { reader_.offline(); }
  void online() { reader_.online(); }
  const MaskCache& mask_cache() const { return cache_; }

 private:
  friend class MaskedFlowTable;
  const MaskedFlowTable* table_;
  QuiescentReclaimer::Reader reader_;
  MaskCache cache_;
};

struct LookupResult {
  const DatapathFlow* flow = nullptr;  // valid until the context's next quiescent point
  uint32_t masks_visited = 0;          // the kernel's n_mask_hit
  bool cache_hit = false;              // the kernel's n_cache_hit: found through the cached mask index
};

// A flow named the way OVS_FLOW_CMD_SET/GET/DEL name one: by UFID when the
// request carries OVS_FLOW_ATTR_UFID, otherwise by its key and mask.
using FlowSelector = std::variant<Ufid, Match>;

enum class InsertOutcome {
  kCreated,         // a new flow was installed
  kActionsUpdated,  // an existing flow got the new actions
};

class MaskedFlowTable {
 public:
  // insert()'s flags are the request's nlmsg_flags; these two matter.
  static constexpr uint16_t kCreate = NLM_F_CREATE;
  static constexpr uint16_t kExclusive = NLM_F_EXCL;

  // `mask_cache_size` entries per lookup thread: 0 (no cache) or a power of
  // two up to MaskCache::kMaxSize; other values are lowered to the nearest
  // valid size (set_mask_cache_size rejects them instead).
  explicit MaskedFlowTable(uint32_t mask_cache_size = MaskCache::kDefaultSize);
  ~MaskedFlowTable();
  MaskedFlowTable(const MaskedFlowTable&) = delete;
  MaskedFlowTable& operator=(const MaskedFlowTable&) = delete;

  // ---- Fast path (any thread with its own LookupContext; lock free) ----

  // ovs_flow_tbl_lookup_stats: the flow `packet_key` matches. A non-zero
  // `packet_hash` (the 32-bit skb hash: the cache's four 8-bit segments use
  // exactly its 32 bits) enables the mask cache; 0 searches the
  // mask list from the start. With overlapping masks the first matching
  // mask in list order wins on a cold lookup; a cached mask index is tried
  // first, exactly as the kernel does. Count the packet with
  // result.flow->record_packet().
  LookupResult lookup(LookupContext& context, const FlowKey& packet_key, uint32_t packet_hash) const;

  // ---- Control path (serialized on an internal mutex) ----

  // OVS_FLOW_CMD_NEW. The flow is a duplicate if its UFID is installed or,
  // failing that, if its key matches an installed flow. A duplicate fails
  // with EEXIST when `nlmsg_flags` has kCreate or kExclusive; otherwise the
  // existing flow takes the new actions, provided it is the same flow (same
  // masked key for a UFID flow, same Match for a key-named flow): a UFID
  // whose flow has a different key fails with ENOENT. New flows start with
  // zero statistics (flow.stats is ignored).
  Result<InsertOutcome> insert(const Megaflow& flow, uint16_t nlmsg_flags);

  // Several inserts, in order, with insert()'s semantics each (a later one
  // sees the earlier ones), under one hold of the writer lock. Before the
  // first, the hash buckets every insert will read (its UFID's, and its
  // key's under each mask) and the first flow each holds are prefetched for
  // the whole batch: with thousands of flows those are cache misses, and a
  // batch lets them overlap instead of following one another (a handler
  // installs up to a batch of megaflows at once, as OVS's do).
  struct InsertRequest {
    const Megaflow* flow = nullptr;
    uint16_t nlmsg_flags = 0;
  };
  std::vector<Result<InsertOutcome>> insert_batch(std::span<const InsertRequest> requests);

  // OVS_FLOW_CMD_SET: replaces the selected flow's actions (if given) and
  // clears its statistics if asked (OVS_FLOW_ATTR_CLEAR). ENOENT if no flow
  // is selected. Selecting by Match finds only flows installed without a
  // UFID, as the kernel's ovs_flow_tbl_lookup_exact. Returns the flow as the
  // kernel's reply shows it: new actions, statistics from before clearing.
  Result<Megaflow> update_actions(const FlowSelector& which, std::optional<ActionList> actions,
                                  bool clear_stats = false);

  // OVS_FLOW_CMD_DEL of one flow: returns it with its final statistics.
  // ENOENT if no flow is selected (same selection rules as update_actions).
  Result<Megaflow> remove(const FlowSelector& which);

  // OVS_FLOW_CMD_GET.
  Result<Megaflow> get(const FlowSelector& which) const;

  // OVS_FLOW_CMD_DEL without key or UFID. Returns the number of flows removed.
  size_t flush();

  // Every flow with its statistics, masks in list order.
  std::vector<Megaflow> dump() const;

  // ovs_flow_masks_rebalance: sorts the mask list by lookup hits since the
  // previous rebalance (or since a mask was added or removed), busiest
  // first; ties keep their order. Returns whether the order changed. The
  // owner calls it periodically (the kernel: every 4 seconds).
  bool rebalance();

  // OVS_DP_ATTR_MASKS_CACHE_SIZE. Lookup threads pick the new size up (with
  // an empty cache) on their next lookup.
  Status set_mask_cache_size(uint32_t entries);
  uint32_t mask_cache_size() const { return mask_cache_size_.load(std::memory_order_relaxed); }

  size_t count() const { return flow_count_.load(std::memory_order_relaxed); }
  size_t mask_count() const;
  // The mask list in lookup order, with each mask's reference count.
  struct MaskInfo {
    FlowMask mask;
    size_t ref_count;
  };
  std::vector<MaskInfo> masks() const;

  // Frees what no lookup thread can still see (writers also do this as
  // they go). Returns how many objects were freed.
  size_t reclaim();
  size_t pending_reclaim() const { return reclaimer_.pending(); }

 private:
  friend class LookupContext;

  struct MaskList final : Retirable {
    std::vector<FlowMaskEntry*> masks;  // owned by the table, not by the list
  };

  // The kernel's flow_lookup: tries masks[index] first, then the others in
  // order; on a hit elsewhere, points index at the matching mask.
  static const DatapathFlow* search_masks(const MaskList& list, const FlowKey& packet_key, uint32_t& index,
                                          uint32_t reader_id, LookupResult& result);

  // Writer side: writer_mutex_ held.
  const MaskList& current_masks() const { return *masks_.load(std::memory_order_relaxed); }
  // What a batched insert's prefetch computed for it: the hash of its
  // flow's key under the mask that was first in the list when the batch
  // began, which is the hash the insert needs when that mask is the flow's
  // own (masking the key with the flow's mask first changes nothing under
  // the same mask), and its UFID's hash in the UFID index.
  struct InsertHint {
    const FlowMaskEntry* entry = nullptr;
    uint64_t hash = 0;
    uint64_t ufid_hash = 0;  // set when the flow has a UFID
  };
  // The first flow of the mask list `key` matches. `own` (the entry of the
  // key's own mask, or null) is searched with `own_hash` = own->hash_of(key).
  DatapathFlow* find_by_key(const FlowKey& key, const FlowMaskEntry* own, uint64_t own_hash) const;
  DatapathFlow* find_exact(const FlowKey& masked_key, const FlowMask& mask) const;
  DatapathFlow* select(const FlowSelector& which) const;
  FlowMaskEntry* find_mask(const FlowMask& mask) const;
  // Links `fresh` (built with `mask`, which has an exact range). `entry` is
  // find_mask(mask) and `hash` entry->hash_of(fresh->key()) when the table
  // has the mask already; null and 0 when it does not.
  // `ufid_hash` is the UFID index's hash_of(fresh->ufid()) for a flow with a UFID.
  void create(std::unique_ptr<DatapathFlow> fresh, const FlowMask& mask, FlowMaskEntry* entry, uint64_t hash,
              uint64_t ufid_hash);
  Result<InsertOutcome> insert_locked(const Megaflow& flow, uint16_t nlmsg_flags, const InsertHint* hint);
  // Prefetches what insert_locked(flow) will read and returns its hint;
  // `chains` also prefetches the first flow of each bucket (after a first
  // round brought the buckets in) and takes the hint of the first round.
  InsertHint prefetch_for_insert(const Megaflow& flow, bool chains, InsertHint first_round) const;
  void unlink_and_retire(DatapathFlow* flow);
  void publish_masks(std::vector<FlowMaskEntry*> masks, bool reset_usage);
  void retire_old_actions(std::unique_ptr<ActionsBlock> old);
  void reclaim_if_many();

  // Destroyed last: the objects it still holds point at nothing else.
  mutable QuiescentReclaimer reclaimer_;
  // What every lookup reads, and writers seldom change, on a line of its
  // own: the flow count and the writers' mutex change with every insert,
  // and on a shared line each insert took that line from every core doing
  // lookups (the datapath thread, while a handler installs).
  alignas(64) const uint64_t hash_basis_;
  std::atomic<uint32_t> mask_cache_size_;
  std::atomic<MaskList*> masks_;  // owned
  alignas(64) std::atomic<size_t> flow_count_{0};
  mutable std::mutex writer_mutex_;
  UfidIndex ufid_index_;
};

}  // namespace flowlift
