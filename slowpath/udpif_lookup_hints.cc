// Lookup hints for a handler batch (see udpif_lookup_hints.h).
#include "slowpath/udpif_lookup_hints.h"

#include <mutex>
#include <shared_mutex>
#include <vector>

#include "slowpath/of_flow_key.h"
#include "slowpath/oracle_trace_replay.h"
#include "slowpath/xlate.h"

namespace flowlift {

void hint_batch_lookups(const OfBridgeSet::Snapshot& bridges, std::span<const DpifUpcall> batch) {
  if (batch.size() < 2) return;  // nothing to overlap with
  // Per thread and kept: a handler hints every batch.
  thread_local std::vector<OfFlow> flows;
  for (const std::shared_ptr<OfBridge>& bridge : *bridges) {
    std::shared_lock lock(bridge->mutex());
    flows.clear();
    const DatapathToOfPort to_of_port = receive_port_mapping(bridge->ports());
    for (const DpifUpcall& upcall : batch) {
      if (upcall.kind != DpifUpcall::Kind::kMiss) continue;
      // A port of another bridge (ENODEV) or a key OpenFlow cannot say:
      // translation reports it, a hint has nothing to fetch.
      if (Result<OfFlow> flow = of_flow_from_key(upcall.key, to_of_port)) flows.push_back(*flow);
    }
    for (const OfFlow& flow : flows) prefetch_translation(bridge->tables(), flow, ClsPrefetchStep::kSlots);
    for (const OfFlow& flow : flows) prefetch_translation(bridge->tables(), flow, ClsPrefetchStep::kRules);
  }
}

}  // namespace flowlift
