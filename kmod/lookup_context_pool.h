// LookupContextPool: flow table lookup contexts for threads that are not the
// datapath's own receive threads (handlers calling execute, tests calling
// inject). A LookupContext belongs to one thread at a time and registers a
// QSBR reader, so creating one per call would be costly and a thread_local
// one would outlive its table. The pool lends contexts instead: online
// while lent, offline (holding back no reclamation) while idle in the pool.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "kmod/flow_table.h"

namespace flowlift {

class LookupContextPool {
 public:
  explicit LookupContextPool(const MaskedFlowTable& table) : table_(table) {}

  // A lent context: returned to the pool (quiescent and offline) on destruction.
  class Lease {
   public:
    Lease(LookupContextPool& pool, std::unique_ptr<LookupContext> context)
        : pool_(pool), context_(std::move(context)) {}
    ~Lease() { pool_.give_back(std::move(context_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    LookupContext& context() { return *context_; }

   private:
    LookupContextPool& pool_;
    std::unique_ptr<LookupContext> context_;
  };

  Lease lend();

 private:
  void give_back(std::unique_ptr<LookupContext> context);

  const MaskedFlowTable& table_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<LookupContext>> idle_;
};

}  // namespace flowlift
