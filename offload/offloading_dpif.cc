#include "offload/offloading_dpif.h"

#include <optional>
#include <utility>

namespace flowlift {

OffloadingDpif::OffloadingDpif(std::unique_ptr<Dpif> datapath, std::unique_ptr<OffloadProvider> provider,
                               bool flush_provider_on_close)
    : datapath_(std::move(datapath)),
      provider_(std::move(provider)),
      flush_provider_on_close_(flush_provider_on_close) {
  publish_ports();
}

OffloadingDpif::~OffloadingDpif() {
  if (flush_provider_on_close_) (void)provider_->flush();
}

void OffloadingDpif::publish_ports() {
  std::vector<OffloadPort> ports;
  for (const DpifPort& port : datapath_->port_dump())
    ports.push_back(OffloadPort{port.number, port.name, port.type, port.vxlan_udp_port});
  provider_->set_ports(std::move(ports));
}

Result<uint32_t> OffloadingDpif::port_add(const DpifPortRequest& request) {
  Result<uint32_t> number = datapath_->port_add(request);
  if (number) publish_ports();
  return number;
}

Status OffloadingDpif::port_del(uint32_t number) {
  Status status = datapath_->port_del(number);
  if (status) publish_ports();
  return status;
}

void OffloadingDpif::remember_refusal(const Ufid& ufid, const std::string& reason) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = reason_index_.try_emplace(reason, static_cast<uint32_t>(reasons_.size()));
  if (inserted) reasons_.push_back(reason);
  refusals_[ufid] = it->second;
}

void OffloadingDpif::forget_refusal(const Ufid& ufid) {
  std::lock_guard lock(mutex_);
  refusals_.erase(ufid);
}

void OffloadingDpif::annotate(Megaflow& flow) const {
  flow.location.placement = MegaflowPlacement::kDatapath;
  auto it = refusals_.find(flow.ufid);
  if (it != refusals_.end()) flow.location.reason = reasons_[it->second];
}

Result<DpifPutOutcome> OffloadingDpif::flow_put(const DpifFlowPut& put) {
  const Ufid& ufid = put.flow.ufid;
  if (provider_->holds(ufid)) {
    if (!put.modify) return Status(EEXIST, "flow exists (held by " + std::string(provider_->name()) + ")");
    OffloadPutResult offered = std::move(provider_->put(std::span(&put, 1)).front());
    if (offered.placement != MegaflowPlacement::kDatapath) return DpifPutOutcome::kActionsUpdated;
    if (offered.error) return Status(offered.error, offered.reason);
    // The new actions cannot be offloaded: the provider dropped the flow, so
    // the datapath takes it over, with the reason.
    DpifFlowPut moved = put;
    moved.create = true;
    moved.modify = false;
    Result<DpifPutOutcome> outcome = datapath_->flow_put(moved);
    if (!outcome) return outcome.status();
    remember_refusal(ufid, offered.reason);
    return DpifPutOutcome::kActionsUpdated;
  }

  bool in_datapath;
  {
    std::lock_guard lock(mutex_);
    in_datapath = refusals_.count(ufid) != 0;
  }
  if (in_datapath) {
    // A datapath flow stays there when its actions change: offering the new
    // actions to the provider would move a live flow between places and
    // reset its counters. The revalidator's next put of a new flow tries again.
    return datapath_->flow_put(put);
  }
  if (!put.create) return Status(ENOENT, "flow does not exist");

  OffloadPutResult offered = std::move(provider_->put(std::span(&put, 1)).front());
  if (offered.placement != MegaflowPlacement::kDatapath) return DpifPutOutcome::kCreated;
  if (offered.error == EEXIST) return Status(EEXIST, offered.reason);
  Result<DpifPutOutcome> outcome = datapath_->flow_put(put);
  if (outcome) remember_refusal(ufid, offered.reason);
  return outcome;
}

std::vector<Result<DpifPutOutcome>> OffloadingDpif::flow_put_batch(std::span<const DpifFlowPut> puts) {
  std::vector<std::optional<Result<DpifPutOutcome>>> outcomes(puts.size());
  std::vector<size_t> fresh;  // indices of creates no one holds yet
  std::vector<DpifFlowPut> offered;
  for (size_t i = 0; i < puts.size(); ++i) {
    const DpifFlowPut& put = puts[i];
    bool in_datapath;
    {
      std::lock_guard lock(mutex_);
      in_datapath = refusals_.count(put.flow.ufid) != 0;
    }
    if (provider_->holds(put.flow.ufid) || in_datapath || !put.create) {
      outcomes[i] = flow_put(put);
      continue;
    }
    fresh.push_back(i);
    offered.push_back(put);
  }
  if (!offered.empty()) {
    std::vector<OffloadPutResult> results = provider_->put(offered);
    for (size_t k = 0; k < fresh.size(); ++k) {
      const size_t i = fresh[k];
      const OffloadPutResult& result = results[k];
      if (result.placement != MegaflowPlacement::kDatapath) {
        outcomes[i] = DpifPutOutcome::kCreated;
      } else if (result.error == EEXIST) {
        outcomes[i] = Status(EEXIST, result.reason);
      } else {
        Result<DpifPutOutcome> outcome = datapath_->flow_put(puts[i]);
        if (outcome) remember_refusal(puts[i].flow.ufid, result.reason);
        outcomes[i] = std::move(outcome);
      }
    }
  }
  std::vector<Result<DpifPutOutcome>> answered;
  answered.reserve(puts.size());
  for (std::optional<Result<DpifPutOutcome>>& outcome : outcomes) answered.push_back(std::move(*outcome));
  return answered;
}

Result<Megaflow> OffloadingDpif::flow_get(const Ufid& ufid) const {
  if (provider_->holds(ufid)) return provider_->get(ufid);
  Result<Megaflow> flow = datapath_->flow_get(ufid);
  if (flow) {
    std::lock_guard lock(mutex_);
    annotate(*flow);
  }
  return flow;
}

Result<Megaflow> OffloadingDpif::flow_del(const Ufid& ufid) {
  if (provider_->holds(ufid)) return provider_->del(ufid);
  Result<Megaflow> flow = datapath_->flow_del(ufid);
  if (flow) {
    std::lock_guard lock(mutex_);
    annotate(*flow);
  }
  forget_refusal(ufid);
  return flow;
}

Status OffloadingDpif::flow_flush() {
  Status offloaded = provider_->flush();
  Status datapath = datapath_->flow_flush();
  {
    std::lock_guard lock(mutex_);
    refusals_.clear();
  }
  if (!offloaded) return offloaded.with_context(std::string(provider_->name()));
  return datapath;
}

std::vector<Megaflow> OffloadingDpif::flow_dump() const {
  std::vector<Megaflow> flows = datapath_->flow_dump();
  {
    std::lock_guard lock(mutex_);
    for (Megaflow& flow : flows) annotate(flow);
    // Flows that left the datapath without a flow_del (a flush by another
    // tool, a restarted module) leave their reasons behind: drop those.
    if (refusals_.size() > flows.size()) {
      std::unordered_map<Ufid, uint32_t, UfidHasher> kept;
      for (const Megaflow& flow : flows) {
        auto it = refusals_.find(flow.ufid);
        if (it != refusals_.end()) kept.emplace(*it);
      }
      refusals_ = std::move(kept);
    }
  }
  std::vector<Megaflow> offloaded = provider_->dump();
  flows.insert(flows.end(), std::make_move_iterator(offloaded.begin()),
               std::make_move_iterator(offloaded.end()));
  return flows;
}

DpifStats OffloadingDpif::stats() const {
  DpifStats stats = datapath_->stats();
  // `flows` counts every megaflow, wherever it lives, as the dump lists them.
  stats.flows += provider_->flow_count();
  return stats;
}

std::vector<std::string> OffloadingDpif::maintain() {
  std::vector<std::string> problems = datapath_->maintain();
  for (std::string& problem : provider_->maintain())
    problems.push_back(std::string(provider_->name()) + ": " + std::move(problem));
  return problems;
}

}  // namespace flowlift
