// Lookup hints for a handler batch: before translating a batch of misses,
// start the cache fills of every miss's first table lookup.
//
// Why: with thousands of rules, each translation's classifier lookup misses
// the cache on the rules' hash slot, then on the slot's record, then on the
// rule; one after another, those misses are most of a lookup's time. A
// handler has a batch in hand, so it can issue the first fills for all of it
// (ClsPrefetchStep::kSlots), then the second (kRules, reading slots that
// are close by now), and translate when the lines are on their way: the
// misses overlap instead of queueing. The hints change nothing: translation
// looks everything up again, under its own lock.
#pragma once

#include <span>
#include <vector>

#include "flowlift/dpif.h"
#include "slowpath/of_bridge.h"

namespace flowlift {

// A miss's OpenFlow flow as the hints computed it, for translation to use
// rather than convert the key again: valid for `bridge` while its change
// sequence is still `change_sequence` (a port change bumps it, and may
// change which OpenFlow port the key's datapath port is).
struct HintedFlow {
  const OfBridge* bridge = nullptr;  // null: no flow (not a miss, no bridge has the port, bad key)
  uint64_t change_sequence = 0;
  OfFlow flow;
};

// Hints the first lookup of every miss in `batch` on the bridge that owns
// its input port, and leaves in flows[i] the flow of batch[i]. Each
// bridge's shared lock is taken once for the batch.
void hint_batch_lookups(const OfBridgeSet::Snapshot& bridges, std::span<const DpifUpcall> batch,
                        std::vector<HintedFlow>& flows);

}  // namespace flowlift
