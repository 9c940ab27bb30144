// Lending lookup contexts to threads without one (see lookup_context_pool.h).
#include "kmod/lookup_context_pool.h"

namespace flowlift {

LookupContextPool::Lease LookupContextPool::lend() {
  std::unique_ptr<LookupContext> context;
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      context = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (context) {
    context->online();
  } else {
    context = std::make_unique<LookupContext>(table_);
  }
  return Lease(*this, std::move(context));
}

void LookupContextPool::give_back(std::unique_ptr<LookupContext> context) {
  context->quiescent();
  context->offline();
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(context));
}

}  // namespace flowlift
