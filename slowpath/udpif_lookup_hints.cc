// Lookup hints for a handler batch (see udpif_lookup_hints.h).
#include "slowpath/udpif_lookup_hints.h"

#include <mutex>
#include <shared_mutex>
#include <vector>

#include "slowpath/of_flow_key.h"
#include "slowpath/oracle_trace_replay.h"
#include "slowpath/xlate.h"

namespace flowlift {

void hint_batch_lookups(const OfBridgeSet::Snapshot& bridges, std::span<const DpifUpcall> batch,
                        std::vector<HintedFlow>& flows) {
  flows.resize(batch.size());
  for (HintedFlow& hinted : flows) hinted.bridge = nullptr;
  for (const std::shared_ptr<OfBridge>& bridge : *bridges) {
    std::shared_lock lock(bridge->mutex());
    const uint64_t change_sequence = bridge->change_sequence();
    const DatapathToOfPort to_of_port = receive_port_mapping(bridge->ports());
    bool any = false;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].kind != DpifUpcall::Kind::kMiss || flows[i].bridge != nullptr) continue;
      // A port of another bridge (ENODEV) or a key OpenFlow cannot say:
      // translation converts it again and reports it.
      if (!of_flow_from_key(batch[i].key, to_of_port, flows[i].flow)) continue;
      flows[i].bridge = bridge.get();
      flows[i].change_sequence = change_sequence;
      any = true;
    }
    // Alone, a lookup has nothing to overlap its misses with.
    if (!any || batch.size() < 2) continue;
    for (const HintedFlow& hinted : flows)
      if (hinted.bridge == bridge.get())
        prefetch_translation(bridge->tables(), hinted.flow, ClsPrefetchStep::kSlots);
    for (const HintedFlow& hinted : flows)
      if (hinted.bridge == bridge.get())
        prefetch_translation(bridge->tables(), hinted.flow, ClsPrefetchStep::kRules);
  }
}

}  // namespace flowlift
