// UfidIndex: chained hash table of flows by UFID (see ufid_index.h).
#include "kmod/ufid_index.h"

#include "kmod/datapath_flow.h"

namespace flowlift {

UfidIndex::UfidIndex(uint64_t hash_basis) : hash_basis_(hash_basis), buckets_(kMinBuckets, nullptr) {}

uint64_t UfidIndex::hash_of(const Ufid& ufid) const {
  uint64_t h = ufid.hash() ^ hash_basis_;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  return h;
}

DatapathFlow* UfidIndex::find(const Ufid& ufid, uint64_t hash) const {
  for (DatapathFlow* flow = buckets_[bucket_of(hash)]; flow != nullptr; flow = flow->ufid_next_)
    if (flow->ufid_ == ufid) return flow;
  return nullptr;
}

void UfidIndex::prefetch(uint64_t hash, bool chain) const {
  DatapathFlow* const& head = buckets_[bucket_of(hash)];
  if (!chain) {
    __builtin_prefetch(&head);
  } else if (head != nullptr) {
    __builtin_prefetch(head);
  }
}

void UfidIndex::insert(DatapathFlow* flow) { insert(flow, hash_of(flow->ufid_)); }

void UfidIndex::insert(DatapathFlow* flow, uint64_t hash) {
  DatapathFlow*& head = buckets_[bucket_of(hash)];
  flow->ufid_next_ = head;
  head = flow;
  if (++count_ > buckets_.size()) grow();
}

bool UfidIndex::erase(const DatapathFlow* flow) {
  DatapathFlow** slot = &buckets_[bucket_of(hash_of(flow->ufid_))];
  while (*slot != nullptr) {
    if (*slot == flow) {
      *slot = flow->ufid_next_;
      --count_;
      return true;
    }
    slot = &(*slot)->ufid_next_;
  }
  return false;
}

void UfidIndex::clear() {
  buckets_.assign(kMinBuckets, nullptr);
  count_ = 0;
}

void UfidIndex::grow() {
  std::vector<DatapathFlow*> old = std::move(buckets_);
  buckets_.assign(old.size() * 2, nullptr);
  for (DatapathFlow* flow : old) {
    while (flow != nullptr) {
      DatapathFlow* next = flow->ufid_next_;
      DatapathFlow*& head = buckets_[bucket_of(hash_of(flow->ufid_))];
      flow->ufid_next_ = head;
      head = flow;
      flow = next;
    }
  }
}

}  // namespace flowlift
