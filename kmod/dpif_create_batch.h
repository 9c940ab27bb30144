// A handler's batch of megaflow puts into a MaskedFlowTable: what the
// datapaths that keep their flows in one (UserspaceDpif, and the slowpath
// tests' dpif) share for Dpif::flow_put_batch, so that the batch goes to the
// table in one MaskedFlowTable::insert_batch and each put keeps the outcome
// flow_put would have given it.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "flowlift/dpif.h"
#include "flowlift/status.h"
#include "kmod/flow_table.h"

namespace flowlift {

// The handlers' kind of batch: two or more puts, each creating a new flow
// (create without modify). Any other batch goes put by put.
bool is_create_batch(std::span<const DpifFlowPut> puts);

// Inserts a create batch (is_create_batch) with the kernel's NLM_F_CREATE |
// NLM_F_EXCL semantics. `check`, if set, runs first on each put: a put it
// refuses gets that status and is not inserted. One outcome per put, in order.
std::vector<Result<DpifPutOutcome>> insert_create_batch(
    MaskedFlowTable& table, std::span<const DpifFlowPut> puts,
    const std::function<Status(const DpifFlowPut&)>& check);

}  // namespace flowlift
