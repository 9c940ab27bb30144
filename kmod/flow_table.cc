// MaskedFlowTable: lookup with the mask cache, and the control path with
// the kernel's ovs_flow_cmd_* semantics (see flow_table.h).
#include "kmod/flow_table.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>
#include <string>

namespace flowlift {

namespace {

// Retired objects are freed in batches: scanning the readers costs the same
// for one object as for many.
constexpr size_t kReclaimBatch = 64;

uint64_t random_hash_basis() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

// Packets before and after recirculation usually share the skb hash; the
// kernel mixes recirc_id in so they take different cache slots. The result
// is never 0, which would alias an empty cache slot.
uint32_t mix_recirc_id(uint32_t packet_hash, uint32_t recirc_id) {
  uint64_t x = (static_cast<uint64_t>(packet_hash) << 32) | recirc_id;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  const auto mixed = static_cast<uint32_t>(x);
  return mixed != 0 ? mixed : 1;
}

// "ufid:" + the UUID form ovs-dpctl prints.
std::string ufid_text(const Ufid& ufid) {
  uint32_t words[4];
  std::memcpy(words, ufid.bytes.data(), sizeof words);
  char text[64];
  std::snprintf(text, sizeof text, "ufid:%08x-%04x-%04x-%04x-%04x%08x", words[0], words[1] >> 16,
                words[1] & 0xffff, words[2] >> 16, words[2] & 0xffff, words[3]);
  return text;
}

std::string flow_name(const DatapathFlow& flow) {
  return flow.identified_by_ufid() ? "flow " + ufid_text(flow.ufid())
                                   : std::string("a flow installed without UFID");
}

// Whether `mask` carries the range recompute_range() would give it: its
// first and last words set and none outside (an empty range only as {0, 0}
// of an all-zero mask). One branch-free pass over the words outside costs
// a flow setup half of what recomputing does (a scan from both ends that
// tests word by word).
bool has_exact_range(const FlowMask& mask) {
  const FlowKey& bits = mask.bits();
  const KeyRange range = mask.range();
  constexpr uint16_t kEnd = sizeof(FlowKey);
  if (range.empty()) return range == KeyRange{0, 0} && !any_bit_in(bits, KeyRange{0, kEnd});
  if (load_word(bits, range.start) == 0 || load_word(bits, range.end - 8) == 0) return false;
  return !any_bit_in(bits, KeyRange{0, range.start}) && !any_bit_in(bits, KeyRange{range.end, kEnd});
}

std::string selector_text(const FlowSelector& which) {
  if (const Ufid* ufid = std::get_if<Ufid>(&which)) return ufid_text(*ufid);
  return "the given key and mask (flows installed with a UFID must be named by it)";
}

}  // namespace

LookupContext::LookupContext(const MaskedFlowTable& table)
    : table_(&table), reader_(table.reclaimer_), cache_(table.mask_cache_size()) {}

MaskedFlowTable::MaskedFlowTable(uint32_t mask_cache_size)
    : hash_basis_(random_hash_basis()),
      mask_cache_size_(MaskCache::valid_size_at_most(mask_cache_size)),
      masks_(std::make_unique<MaskList>().release()),
      ufid_index_(hash_basis_) {}

MaskedFlowTable::~MaskedFlowTable() {
  // No reader may be inside a lookup any more; free what is still linked.
  std::unique_ptr<MaskList> list(masks_.load(std::memory_order_relaxed));
  for (FlowMaskEntry* raw_mask : list->masks) {
    std::unique_ptr<FlowMaskEntry> mask(raw_mask);
    mask->for_each_flow([](DatapathFlow* flow) { std::unique_ptr<DatapathFlow> owned(flow); });
  }
}

// ---------------------------------------------------------------- fast path

const DatapathFlow* MaskedFlowTable::search_masks(const MaskList& list, const FlowKey& packet_key,
                                                  uint32_t& index, uint32_t reader_id, LookupResult& result) {
  const auto count = static_cast<uint32_t>(list.masks.size());
  if (index < count) {
    const FlowMaskEntry& mask = *list.masks[index];
    ++result.masks_visited;
    if (const DatapathFlow* flow = mask.find(packet_key)) {
      mask.count_hit(reader_id);
      result.cache_hit = true;
      return flow;
    }
  }
  for (uint32_t i = 0; i < count; ++i) {
    if (i == index) continue;
    const FlowMaskEntry& mask = *list.masks[i];
    ++result.masks_visited;
    if (const DatapathFlow* flow = mask.find(packet_key)) {
      mask.count_hit(reader_id);
      index = i;
      return flow;
    }
  }
  return nullptr;
}

LookupResult MaskedFlowTable::lookup(LookupContext& context, const FlowKey& packet_key,
                                     uint32_t packet_hash) const {
  LookupResult result;
  if (context.table_ != this) return result;  // a context registered with another table protects nothing here
  if (!context.reader_.is_online()) context.reader_.online();

  const uint32_t cache_size = mask_cache_size_.load(std::memory_order_relaxed);
  if (context.cache_.size() != cache_size) context.cache_ = MaskCache(cache_size);

  const MaskList& list = *masks_.load(std::memory_order_acquire);
  const uint32_t reader_id = context.reader_.id();

  if (packet_hash == 0 || cache_size == 0) {
    uint32_t start = 0;
    const DatapathFlow* flow = search_masks(list, packet_key, start, reader_id, result);
    result.flow = flow;
    result.cache_hit = false;
    return result;
  }

  const uint32_t hash =
      packet_key.recirc_id != 0 ? mix_recirc_id(packet_hash, packet_key.recirc_id) : packet_hash;
  MaskCache::Probe probe = context.cache_.probe(hash);
  if (probe.hit != nullptr) {
    result.flow = search_masks(list, packet_key, probe.hit->mask_index, reader_id, result);
    if (result.flow == nullptr) probe.hit->packet_hash = 0;
    return result;
  }

  // Cache miss. Like the kernel, the victim slot's stale index is tried
  // first: it costs one probe and is right whenever the slot last held a
  // flow of the same mask.
  result.flow = search_masks(list, packet_key, probe.victim->mask_index, reader_id, result);
  if (result.flow != nullptr) probe.victim->packet_hash = hash;
  result.cache_hit = false;
  return result;
}

// ------------------------------------------------------------- control path

FlowMaskEntry* MaskedFlowTable::find_mask(const FlowMask& mask) const {
  const std::vector<FlowMaskEntry*>& masks = current_masks().masks;
  // Up to this many masks, comparing each (a range check rejects most at
  // once) costs less than digesting the mask first, which every flow setup
  // would pay; beyond it, one word per mask compared first pays off.
  constexpr size_t kMasksComparedWithoutDigest = 4;
  if (masks.size() <= kMasksComparedWithoutDigest) {
    for (FlowMaskEntry* entry : masks)
      if (entry->has_mask(mask)) return entry;
    return nullptr;
  }
  const uint64_t digest = FlowMaskEntry::digest(mask);
  for (FlowMaskEntry* entry : masks)
    if (entry->has_mask(mask, digest)) return entry;
  return nullptr;
}

DatapathFlow* MaskedFlowTable::find_by_key(const FlowKey& key, const FlowMaskEntry* own,
                                           uint64_t own_hash) const {
  for (FlowMaskEntry* entry : current_masks().masks) {
    DatapathFlow* flow = entry == own ? entry->find(key, own_hash) : entry->find(key);
    if (flow != nullptr) return flow;
  }
  return nullptr;
}

DatapathFlow* MaskedFlowTable::find_exact(const FlowKey& masked_key, const FlowMask& mask) const {
  const FlowMaskEntry* entry = find_mask(mask);
  if (entry == nullptr) return nullptr;
  DatapathFlow* flow = entry->find(masked_key);
  if (flow == nullptr || flow->identified_by_ufid() || !(flow->key() == masked_key)) return nullptr;
  return flow;
}

DatapathFlow* MaskedFlowTable::select(const FlowSelector& which) const {
  if (const Ufid* ufid = std::get_if<Ufid>(&which))
    return ufid->is_zero() ? nullptr : ufid_index_.find(*ufid);
  const Match& match = std::get<Match>(which);
  FlowMask mask = match.mask;
  mask.recompute_range();
  return find_exact(apply_mask(match.key, mask), mask);
}

void MaskedFlowTable::publish_masks(std::vector<FlowMaskEntry*> masks, bool reset_usage) {
  if (reset_usage) {
    // As the kernel does on every mask add and delete: counting restarts so
    // that a new mask gets a fair chance at the next rebalance.
    for (FlowMaskEntry* entry : masks) entry->usage_baseline = entry->usage();
  }
  auto fresh = std::make_unique<MaskList>();
  fresh->masks = std::move(masks);
  MaskList* old = masks_.exchange(fresh.release(), std::memory_order_acq_rel);
  reclaimer_.retire(std::unique_ptr<Retirable>(old));
}

void MaskedFlowTable::create(std::unique_ptr<DatapathFlow> fresh, const FlowMask& mask, FlowMaskEntry* entry,
                             uint64_t hash, uint64_t ufid_hash) {
  std::unique_ptr<FlowMaskEntry> new_mask;
  if (entry == nullptr) {
    new_mask = std::make_unique<FlowMaskEntry>(mask, hash_basis_);
    entry = new_mask.get();
    hash = entry->hash_of(fresh->key());
  }
  fresh->mask_entry_ = entry;
  DatapathFlow* installed = fresh.release();  // owned by the mask's hash table from here on
  entry->link(installed, hash, reclaimer_);
  if (installed->identified_by_ufid()) ufid_index_.insert(installed, ufid_hash);
  if (new_mask != nullptr) {
    // Publishing the mask after its first flow makes both visible at once.
    std::vector<FlowMaskEntry*> masks = current_masks().masks;
    masks.push_back(new_mask.release());
    publish_masks(std::move(masks), /*reset_usage=*/true);
  }
  flow_count_.fetch_add(1, std::memory_order_relaxed);
}

void MaskedFlowTable::unlink_and_retire(DatapathFlow* flow) {
  FlowMaskEntry* entry = flow->mask_entry_;
  entry->unlink(flow);
  if (flow->identified_by_ufid()) ufid_index_.erase(flow);
  flow_count_.fetch_sub(1, std::memory_order_relaxed);
  reclaimer_.retire(std::unique_ptr<Retirable>(flow));

  if (entry->ref_count() == 0) {
    // The kernel fills the hole with the last mask rather than shifting.
    std::vector<FlowMaskEntry*> masks = current_masks().masks;
    auto hole = std::find(masks.begin(), masks.end(), entry);
    *hole = masks.back();
    masks.pop_back();
    publish_masks(std::move(masks), /*reset_usage=*/true);
    reclaimer_.retire(std::unique_ptr<Retirable>(entry));
  }
}

void MaskedFlowTable::retire_old_actions(std::unique_ptr<ActionsBlock> old) {
  if (old == nullptr) return;  // the flow's first block: it goes with the flow
  reclaimer_.retire(std::unique_ptr<Retirable>(old.release()));
}

void MaskedFlowTable::reclaim_if_many() {
  if (reclaimer_.pending() >= kReclaimBatch) reclaimer_.reclaim();
}

Result<InsertOutcome> MaskedFlowTable::insert(const Megaflow& flow, uint16_t nlmsg_flags) {
  std::lock_guard lock(writer_mutex_);
  return insert_locked(flow, nlmsg_flags, nullptr);
}

std::vector<Result<InsertOutcome>> MaskedFlowTable::insert_batch(std::span<const InsertRequest> requests) {
  std::vector<Result<InsertOutcome>> outcomes;
  outcomes.reserve(requests.size());
  std::lock_guard lock(writer_mutex_);
  if (requests.size() < 2) {
    for (const InsertRequest& request : requests)
      outcomes.push_back(insert_locked(*request.flow, request.nlmsg_flags, nullptr));
    return outcomes;
  }
  std::vector<InsertHint> hints(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) hints[i] = prefetch_for_insert(*requests[i].flow, false, {});
  for (size_t i = 0; i < requests.size(); ++i) prefetch_for_insert(*requests[i].flow, true, hints[i]);
  // Masks a batch adds go to the end of the list, so the entry each hint
  // names stays in the table (with its hash) for the whole batch.
  for (size_t i = 0; i < requests.size(); ++i)
    outcomes.push_back(insert_locked(*requests[i].flow, requests[i].nlmsg_flags, &hints[i]));
  return outcomes;
}

MaskedFlowTable::InsertHint MaskedFlowTable::prefetch_for_insert(const Megaflow& flow, bool chains,
                                                                 InsertHint first_round) const {
  const bool has_ufid = !flow.ufid.is_zero();
  // Every mask is searched for the key (find_by_key), but only the first is
  // prefetched: each costs a masked hash, and bench/flow_table_bench.cc
  // (BM_InsertBatchThenRemove) lost 25% of its inserts/s at 16 masks when four
  // were, while the first (the busiest, once rebalanced) is where a flow
  // setup's misses were.
  if (chains) {
    if (has_ufid) ufid_index_.prefetch(first_round.ufid_hash, true);
    if (first_round.entry != nullptr) first_round.entry->prefetch(first_round.hash, true);
    return first_round;
  }
  InsertHint hint;
  if (has_ufid) {
    hint.ufid_hash = ufid_index_.hash_of(flow.ufid);
    ufid_index_.prefetch(hint.ufid_hash, false);
  }
  const std::vector<FlowMaskEntry*>& masks = current_masks().masks;
  if (masks.empty()) return hint;
  hint.entry = masks.front();
  hint.hash = hint.entry->hash_of(flow.match.key);
  hint.entry->prefetch(hint.hash, false);
  return hint;
}

Result<InsertOutcome> MaskedFlowTable::insert_locked(const Megaflow& flow, uint16_t nlmsg_flags,
                                                     const InsertHint* hint) {
  // Do not trust a range left stale by mutable_bits(): such a mask is
  // recomputed on a copy, an exact one (the usual) is used where it is.
  std::optional<FlowMask> recomputed;
  if (!has_exact_range(flow.match.mask)) {
    recomputed.emplace(flow.match.mask);
    recomputed->recompute_range();
  }
  const FlowMask& mask = recomputed.has_value() ? *recomputed : flow.match.mask;

  const bool has_ufid = !flow.ufid.is_zero();
  const uint64_t ufid_hash = !has_ufid         ? 0
                             : hint != nullptr ? hint->ufid_hash
                                               : ufid_index_.hash_of(flow.ufid);
  DatapathFlow* existing = has_ufid ? ufid_index_.find(flow.ufid, ufid_hash) : nullptr;
  const bool found_by_ufid = existing != nullptr;
  std::unique_ptr<DatapathFlow> fresh;
  if (existing == nullptr) {
    // As the kernel's ovs_flow_cmd_new: the new flow is built first, its key
    // masked in place, and dropped if the search finds a duplicate (no
    // masked key is built on the side and copied in).
    fresh = std::make_unique<DatapathFlow>(flow.ufid, flow.match.key, mask, flow.actions);
    // The key is hashed once under its own mask, for both the duplicate
    // search and the link (or taken from the batch's hint, which hashed the
    // unmasked key under the same mask: the same value).
    FlowMaskEntry* own = find_mask(mask);
    uint64_t own_hash = 0;
    if (own != nullptr)
      own_hash = hint != nullptr && hint->entry == own ? hint->hash : own->hash_of(fresh->key());
    existing = find_by_key(fresh->key(), own, own_hash);
    if (existing == nullptr) {
      create(std::move(fresh), mask, own, own_hash, ufid_hash);
      return InsertOutcome::kCreated;
    }
  }
  const FlowKey masked_key = fresh != nullptr ? fresh->key() : apply_mask(flow.match.key, mask);

  // The kernel accepts NLM_F_CREATE in place of NLM_F_EXCL, which generic
  // netlink would read as a dump request.
  if ((nlmsg_flags & (kCreate | kExclusive)) != 0) {
    if (found_by_ufid) return Status(EEXIST, flow_name(*existing) + " already exists");
    return Status(EEXIST, "the key matches " + flow_name(*existing) + ", which already exists");
  }

  // An update must name the same flow (the kernel's ovs_flow_cmp).
  const bool same_flow = existing->identified_by_ufid()
                             ? existing->key() == masked_key
                             : existing->key() == masked_key && existing->mask() == mask;
  if (!same_flow) {
    if (existing->identified_by_ufid()) {
      return Status(ENOENT,
                    flow_name(*existing) +
                        " has a different key; an update must repeat the key the flow was installed with");
    }
    existing = find_exact(masked_key, mask);
    if (existing == nullptr)
      return Status(
          ENOENT,
          "no flow installed without UFID has this exact key and mask; the key overlaps another flow");
  }

  retire_old_actions(existing->replace_actions(flow.actions));
  reclaim_if_many();
  return InsertOutcome::kActionsUpdated;
}

Result<Megaflow> MaskedFlowTable::update_actions(const FlowSelector& which, std::optional<ActionList> actions,
                                                 bool clear_stats) {
  std::lock_guard lock(writer_mutex_);
  DatapathFlow* flow = select(which);
  if (flow == nullptr) return Status(ENOENT, "no flow matches " + selector_text(which));
  if (actions.has_value()) retire_old_actions(flow->replace_actions(std::move(*actions)));
  Megaflow reply = flow->to_megaflow();
  if (clear_stats) flow->clear_stats();
  reclaim_if_many();
  return reply;
}

Result<Megaflow> MaskedFlowTable::remove(const FlowSelector& which) {
  std::lock_guard lock(writer_mutex_);
  DatapathFlow* flow = select(which);
  if (flow == nullptr) return Status(ENOENT, "no flow matches " + selector_text(which));
  Megaflow removed = flow->to_megaflow();
  unlink_and_retire(flow);
  reclaim_if_many();
  return removed;
}

Result<Megaflow> MaskedFlowTable::get(const FlowSelector& which) const {
  std::lock_guard lock(writer_mutex_);
  const DatapathFlow* flow = select(which);
  if (flow == nullptr) return Status(ENOENT, "no flow matches " + selector_text(which));
  return flow->to_megaflow();
}

size_t MaskedFlowTable::flush() {
  std::lock_guard lock(writer_mutex_);
  std::vector<FlowMaskEntry*> masks = current_masks().masks;
  // Unpublish everything at once; readers already inside keep walking
  // intact chains until they pass a quiescent point.
  publish_masks({}, /*reset_usage=*/false);
  size_t removed = 0;
  for (FlowMaskEntry* entry : masks) {
    entry->for_each_flow([&](DatapathFlow* flow) {
      reclaimer_.retire(std::unique_ptr<Retirable>(flow));
      ++removed;
    });
    reclaimer_.retire(std::unique_ptr<Retirable>(entry));
  }
  ufid_index_.clear();
  flow_count_.store(0, std::memory_order_relaxed);
  reclaimer_.reclaim();
  return removed;
}

std::vector<Megaflow> MaskedFlowTable::dump() const {
  std::lock_guard lock(writer_mutex_);
  std::vector<Megaflow> flows;
  flows.reserve(count());
  for (const FlowMaskEntry* entry : current_masks().masks)
    entry->for_each_flow([&](const DatapathFlow* flow) { flows.push_back(flow->to_megaflow()); });
  return flows;
}

bool MaskedFlowTable::rebalance() {
  std::lock_guard lock(writer_mutex_);
  const std::vector<FlowMaskEntry*>& masks = current_masks().masks;
  std::vector<uint64_t> hits(masks.size());
  for (size_t i = 0; i < masks.size(); ++i) {
    const uint64_t usage = masks[i]->usage();
    hits[i] = usage - masks[i]->usage_baseline;
    masks[i]->usage_baseline = usage;
  }
  std::vector<size_t> order(masks.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return hits[a] > hits[b]; });
  if (std::is_sorted(order.begin(), order.end())) return false;

  std::vector<FlowMaskEntry*> reordered;
  reordered.reserve(masks.size());
  for (size_t i : order) reordered.push_back(masks[i]);
  publish_masks(std::move(reordered), /*reset_usage=*/false);
  reclaim_if_many();
  return true;
}

Status MaskedFlowTable::set_mask_cache_size(uint32_t entries) {
  if (Status status = MaskCache::check_size(entries); !status) return status.with_context("masks cache size");
  mask_cache_size_.store(entries, std::memory_order_relaxed);
  return Status::ok();
}

size_t MaskedFlowTable::mask_count() const {
  std::lock_guard lock(writer_mutex_);
  return current_masks().masks.size();
}

std::vector<MaskedFlowTable::MaskInfo> MaskedFlowTable::masks() const {
  std::lock_guard lock(writer_mutex_);
  std::vector<MaskInfo> info;
  for (const FlowMaskEntry* entry : current_masks().masks)
    info.push_back(MaskInfo{entry->mask(), entry->ref_count()});
  return info;
}

size_t MaskedFlowTable::reclaim() { return reclaimer_.reclaim(); }

}  // namespace flowlift
