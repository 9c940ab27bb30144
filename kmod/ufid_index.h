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

  DatapathFlow* find(const Ufid& ufid) const;
  // Brings the bucket find(ufid) reads into the cache; with `chain`, the
  // bucket's first flow too (see MaskedFlowTable::insert_batch).
  void prefetch(const Ufid& ufid, bool chain) const;
  // `flow` must carry a UFID not already indexed.
  void insert(DatapathFlow* flow);
  // False if `flow` was not indexed.
  bool erase(const DatapathFlow* flow);
  void clear();
  size_t size() const { return count_; }

 private:
  size_t bucket_of(const Ufid& ufid) const;
  void grow();

  uint64_t hash_basis_;
  std::vector<DatapathFlow*> buckets_;
  size_t count_ = 0;
};

}  // namespace flowlift
