// UdpifTestDpif: a Dpif for the upcall layer's tests and benchmarks.
// Test-only (included by *_test.cc and bench/), never by library code.
//
// Why not the real userspace datapath: Udpif must be provable on its own,
// and its tests must see exactly which puts and executes it made. Flows live
// in kmod's real MaskedFlowTable, so put/get/del/dump keep the kernel's
// semantics (EEXIST for a duplicate UFID or an overlapping key, ENOENT,
// statistics per flow); a received packet is extracted, looked up and
// either counted on its flow or queued as a miss upcall. Actions are not
// run: executes are recorded, and a userspace action (top level) in a hit
// flow's or an executed list sends an action upcall, as the kernel does.
// One upcall queue (the real datapaths keep one per port).
#pragma once

#include <arpa/inet.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "flowlift/dpif.h"
#include "kmod/dpif_create_batch.h"
#include "kmod/flow_extract.h"
#include "kmod/flow_table.h"
#include "slowpath/test_upcall_fifo.h"

namespace flowlift::udpif_testing {

struct UdpifTestExecution {
  FlowKey key{};
  ActionList actions;
  size_t packet_size = 0;
};

class UdpifTestDpif final : public Dpif {
 public:
  // `now_ms`: the clock flow statistics' used_ms comes from.
  explicit UdpifTestDpif(std::function<uint64_t()> now_ms = [] { return monotonic_ms(); })
      : now_ms_(std::move(now_ms)), context_(table_) {}

  std::string_view type() const override { return "test"; }

  Result<uint32_t> port_add(const DpifPortRequest& request) override {
    std::lock_guard lock(mutex_);
    uint32_t number = request.number ? request.number : next_port_++;
    if (ports_.count(number)) return Status(EEXIST, "port " + std::to_string(number) + " exists");
    DpifPort port;
    port.number = number;
    port.name = request.name;
    port.type = request.type;
    ports_[number] = port;
    return number;
  }
  Status port_del(uint32_t number) override {
    std::lock_guard lock(mutex_);
    if (!ports_.erase(number)) return Status(ENOENT, "no port " + std::to_string(number));
    return Status::ok();
  }
  std::vector<DpifPort> port_dump() const override {
    std::lock_guard lock(mutex_);
    std::vector<DpifPort> out;
    for (const auto& [number, port] : ports_) out.push_back(port);
    return out;
  }

  Result<DpifPutOutcome> flow_put(const DpifFlowPut& put) override {
    std::lock_guard lock(mutex_);
    if (recording_) puts_.push_back(put);
    if (!put.create) {
      Result<Megaflow> updated = table_.update_actions(put.flow.ufid, put.flow.actions, put.clear_stats);
      if (!updated) return updated.status();
      return DpifPutOutcome::kActionsUpdated;
    }
    uint16_t flags = MaskedFlowTable::kCreate;
    if (!put.modify) flags |= MaskedFlowTable::kExclusive;
    Result<InsertOutcome> inserted = table_.insert(put.flow, put.modify ? 0 : flags);
    if (!inserted) return inserted.status();
    return *inserted == InsertOutcome::kCreated ? DpifPutOutcome::kCreated : DpifPutOutcome::kActionsUpdated;
  }
  // Creates as one table batch, as UserspaceDpif does, so that the flow
  // setup benchmark measures the same installation path.
  std::vector<Result<DpifPutOutcome>> flow_put_batch(std::span<const DpifFlowPut> puts) override {
    if (recording_ || !is_create_batch(puts)) return Dpif::flow_put_batch(puts);
    std::lock_guard lock(mutex_);
    return insert_create_batch(table_, puts, nullptr);
  }
  Result<Megaflow> flow_get(const Ufid& ufid) const override {
    std::lock_guard lock(mutex_);
    return table_.get(ufid);
  }
  Result<Megaflow> flow_del(const Ufid& ufid) override {
    std::lock_guard lock(mutex_);
    ++deletes_;
    return table_.remove(ufid);
  }
  Status flow_flush() override {
    std::lock_guard lock(mutex_);
    table_.flush();
    return Status::ok();
  }
  std::vector<Megaflow> flow_dump() const override {
    std::lock_guard lock(mutex_);
    std::vector<Megaflow> flows = table_.dump();
    for (Megaflow& flow : flows) flow.location.placement = dump_placement_;
    return flows;
  }
  // Every dumped flow says it lives there (as an offloading Dpif's dump would).
  void set_dump_placement(MegaflowPlacement placement) {
    std::lock_guard lock(mutex_);
    dump_placement_ = placement;
  }

  Status execute(Packet packet, const FlowKey& key, const ActionList& actions) override {
    std::lock_guard lock(mutex_);
    ++n_executions_;
    if (recording_) executions_.push_back(UdpifTestExecution{key, actions, packet.size()});
    queue_action_upcalls(packet, key, actions);
    return Status::ok();
  }

  size_t recv_upcalls(size_t max, std::vector<DpifUpcall>& out) override { return upcalls_.take(max, out); }
  void wait_for_upcalls(std::chrono::milliseconds timeout) override { upcalls_.wait(timeout); }
  void wake_upcall_waiters() override { upcalls_.wake(); }

  DpifStats stats() const override {
    std::lock_guard lock(mutex_);
    DpifStats stats = stats_;
    stats.flows = table_.count();
    stats.masks = table_.mask_count();
    return stats;
  }

  // The fast path: a hit is counted on its flow, a miss queued for a handler.
  Status inject(uint32_t port, Packet packet) override {
    std::lock_guard lock(mutex_);
    packet.md.in_port = port;
    FlowKey key = flow_key_extract(packet);
    LookupResult found = table_.lookup(context_, key, 0);
    if (found.flow) {
      ++stats_.hit;
      found.flow->record_packet(static_cast<uint32_t>(packet.size()), ntohs(key.tcp_flags), now_ms_());
      ActionList actions = found.flow->actions();
      context_.quiescent();
      queue_action_upcalls(packet, key, actions);
      return Status::ok();
    }
    context_.quiescent();
    ++stats_.missed;
    DpifUpcall upcall;
    upcall.kind = DpifUpcall::Kind::kMiss;
    upcall.key = key;
    upcall.packet = std::move(packet);
    upcalls_.push(std::move(upcall));
    return Status::ok();
  }

  // ---- What the tests look at ----
  // Benchmarks turn recording off so that memory does not grow with iterations.
  void set_recording(bool recording) {
    std::lock_guard lock(mutex_);
    recording_ = recording;
  }
  size_t n_executions() const {
    std::lock_guard lock(mutex_);
    return n_executions_;
  }
  std::vector<UdpifTestExecution> executions() const {
    std::lock_guard lock(mutex_);
    return executions_;
  }
  std::vector<DpifFlowPut> puts() const {
    std::lock_guard lock(mutex_);
    return puts_;
  }
  size_t deletes() const {
    std::lock_guard lock(mutex_);
    return deletes_;
  }
  size_t queued_upcalls() const { return upcalls_.size(); }

 private:
  void queue_action_upcalls(const Packet& packet, const FlowKey& key, const ActionList& actions) {
    for (const Action& action : actions) {
      if (!action.is<UserspaceAction>()) continue;
      DpifUpcall upcall;
      upcall.kind = DpifUpcall::Kind::kAction;
      upcall.key = key;
      upcall.packet = packet;
      upcall.action = action.as<UserspaceAction>();
      upcalls_.push(std::move(upcall));
    }
  }

  std::function<uint64_t()> now_ms_;
  mutable std::mutex mutex_;
  MaskedFlowTable table_;
  LookupContext context_;  // used under mutex_ only
  TestUpcallFifo upcalls_;
  std::map<uint32_t, DpifPort> ports_;
  uint32_t next_port_ = 1;
  DpifStats stats_;
  MegaflowPlacement dump_placement_ = MegaflowPlacement::kDatapath;
  std::vector<UdpifTestExecution> executions_;
  std::vector<DpifFlowPut> puts_;
  size_t deletes_ = 0;
  size_t n_executions_ = 0;
  bool recording_ = true;
};

}  // namespace flowlift::udpif_testing
