// UfidIndex: the table's map from UFID to flow (the kernel's ufid_ti), for
// the control path (OVS_FLOW_CMD_NEW/SET/GET/DEL with OVS_FLOW_ATTR_UFID).
//
// Only writers (holding the table mutex) use it, so unlike the per-mask
// tables it needs no lock-free publication: it is a plain chained hash
// table threaded through DatapathFlow::ufid_next_, which costs one pointer
// per flow instead of a separately allocated map node.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "flowlift/megaflow.h"

namespace flowlift {

class DatapathFlow;

class UfidIndex {
 public:
  static constexpr size_t kMinBuckets = 1024;  // TBL_MIN_BUCKETS

  explicit UfidIndex(uint64_t hash_basis);

  // The hash that picks a UFID's bucket (whatever the bucket count). An
  // insert computes it once and hands it to the calls below.
  uint64_t hash_of(const Ufid& ufid) const;

  DatapathFlow* find(const Ufid& ufid) const { return find(ufid, hash_of(ufid)); }
  // find() with `hash` = hash_of(ufid).
  DatapathFlow* find(const Ufid& ufid, uint64_t hash) const;
  // Brings the bucket of `hash` (a hash_of()) into the cache; with `chain`,
  // the bucket's first flow too (see MaskedFlowTable::insert_batch).
  void prefetch(uint64_t hash, bool chain) const;
  // `flow` must carry a UFID not already indexed.
  void insert(DatapathFlow* flow);
  // insert() with `hash` = hash_of(flow's UFID).
  void insert(DatapathFlow* flow, uint64_t hash);
  // False if `flow` was not indexed.
  bool erase(const DatapathFlow* flow);
  void clear();
  size_t size() const { return count_; }

 private:
  size_t bucket_of(uint64_t hash) const { return static_cast<size_t>(hash & (buckets_.size() - 1)); }
  void grow();

  uint64_t hash_basis_;
  std::vector<DatapathFlow*> buckets_;
  size_t count_ = 0;
};

}  // namespace flowlift
