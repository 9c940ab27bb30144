// See dpif_create_batch.h.
#include "kmod/dpif_create_batch.h"

#include <algorithm>

namespace flowlift {

bool is_create_batch(std::span<const DpifFlowPut> puts) {
  return puts.size() > 1 && std::all_of(puts.begin(), puts.end(),
                                        [](const DpifFlowPut& put) { return put.create && !put.modify; });
}

std::vector<Result<DpifPutOutcome>> insert_create_batch(
    MaskedFlowTable& table, std::span<const DpifFlowPut> puts,
    const std::function<Status(const DpifFlowPut&)>& check) {
  std::vector<Result<DpifPutOutcome>> outcomes(puts.size(), Result<DpifPutOutcome>(DpifPutOutcome::kCreated));
  std::vector<MaskedFlowTable::InsertRequest> requests;
  std::vector<size_t> request_put;  // which put each request is
  requests.reserve(puts.size());
  request_put.reserve(puts.size());
  constexpr auto kCreateFlags = static_cast<uint16_t>(MaskedFlowTable::kCreate | MaskedFlowTable::kExclusive);
  for (size_t i = 0; i < puts.size(); ++i) {
    if (check) {
      if (Status s = check(puts[i]); !s) {
        outcomes[i] = s;
        continue;
      }
    }
    requests.push_back({&puts[i].flow, kCreateFlags});
    request_put.push_back(i);
  }
  // With these flags a request either creates its flow or fails.
  std::vector<Result<InsertOutcome>> inserted = table.insert_batch(requests);
  for (size_t k = 0; k < inserted.size(); ++k)
    if (!inserted[k]) outcomes[request_put[k]] = inserted[k].status();
  return outcomes;
}

}  // namespace flowlift
