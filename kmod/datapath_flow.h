// DatapathFlow: one installed megaflow as the masked flow table keeps it
// (the kernel's struct sw_flow). It owns the flow's identity (UFID), its
// masked key, its current actions and its statistics, plus the links that
// chain it into its mask's hash table and the UFID index.
//
// What readers may touch: everything public. The identity and key never
// change after insertion. actions() can be replaced by a writer at any time;
// the list a reader got stays valid until that reader's next quiescent point.
// Statistics are atomics bumped by any number of fast-path threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "flowlift/megaflow.h"
#include "kmod/quiescent_reclaimer.h"

namespace flowlift {

class FlowMaskEntry;

// A flow's actions as one separately replaceable block (OVS_FLOW_CMD_SET
// swaps the whole list, like the kernel's sf_acts pointer). The block a
// flow is created with lives inside the flow (one allocation per flow
// setup instead of two); blocks from later replacements are separate.
struct ActionsBlock final : Retirable {
  explicit ActionsBlock(ActionList actions) : list(std::move(actions)) {}
  const ActionList list;
};

class DatapathFlow final : public Retirable {
 public:
  // Built by MaskedFlowTable: `masked_key` must already be masked by `mask`.
  DatapathFlow(const Ufid& ufid, const FlowKey& masked_key, FlowMaskEntry& mask, ActionList actions);
  // Built by MaskedFlowTable before it knows the mask's entry: the key is
  // masked with `mask` in place, and the table sets the entry before
  // linking the flow (mask() needs it).
  DatapathFlow(const Ufid& ufid, const FlowKey& key, const FlowMask& mask, ActionList actions);
  ~DatapathFlow() override;
  DatapathFlow(const DatapathFlow&) = delete;
  DatapathFlow& operator=(const DatapathFlow&) = delete;

  const Ufid& ufid() const { return ufid_; }
  // A flow installed without a UFID is named by its key, as in the kernel
  // (sw_flow_id holds either a UFID or the key).
  bool identified_by_ufid() const { return !ufid_.is_zero(); }
  const FlowKey& key() const { return key_; }
  const FlowMask& mask() const;
  Match match() const;
  // Valid until the calling reader's next quiescent point.
  const ActionList& actions() const { return actions_.load(std::memory_order_acquire)->list; }

  FlowStats stats() const;
  // The fast path's per-packet update (ovs_flow_stats_update): one more
  // packet of `bytes` bytes, seen at `now_ms`, carrying `tcp_flags`.
  void record_packet(uint32_t bytes, uint16_t tcp_flags, uint64_t now_ms) const;

  // A snapshot of the whole flow.
  Megaflow to_megaflow() const;

 private:
  friend class FlowMaskEntry;
  friend class UfidIndex;
  friend class MaskedFlowTable;

  // Writer side (table mutex held).
  // Installs new actions; returns the old block for the caller to retire,
  // or null when the old block is the flow's own first one (readers may
  // still be on it: it is freed with the flow, after they have left).
  std::unique_ptr<ActionsBlock> replace_actions(ActionList actions);
  void clear_stats();

  // Two chains, as the kernel's flow_table.node[2]: a resize links every
  // flow into the new bucket array through the link the old array does not
  // use, so readers still walking the old array are undisturbed.
  std::atomic<DatapathFlow*> bucket_next_[2] = {nullptr, nullptr};
  DatapathFlow* ufid_next_ = nullptr;   // only writers walk the UFID index
  uint64_t hash_ = 0;                   // masked_hash of key_ under the mask
  FlowMaskEntry* mask_entry_;           // the mask outlives its flows
  ActionsBlock first_actions_;          // the actions the flow was created with
  std::atomic<ActionsBlock*> actions_;  // &first_actions_, or an owned replacement

  mutable std::atomic<uint64_t> packets_{0};
  mutable std::atomic<uint64_t> bytes_{0};
  mutable std::atomic<uint64_t> used_ms_{0};
  mutable std::atomic<uint16_t> tcp_flags_{0};

  const Ufid ufid_;
  const FlowKey key_;
};

}  // namespace flowlift
