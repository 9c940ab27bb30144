// OffloadingDpif: a Dpif that offers every megaflow to an offload provider
// before the datapath's software table (what Open vSwitch's dpif-netlink does
// with netdev_flow_put when hw-offload is on). The slowpath sees one Dpif;
// behind it a flow lives either in the provider (TC flower: in hardware or in
// TC's software path) or in the datapath, and dumps say which and why:
//   - put: the provider first; what it refuses goes to the datapath, and the
//     provider's reason is kept with the flow (Megaflow::location.reason);
//   - get/del: whoever holds the flow;
//   - dump: the datapath's flows (placement kDatapath, with their reasons)
//     followed by the provider's (placement and counters split by place);
//   - everything else (ports, packets, upcalls): the datapath, and port
//     changes are passed on to the provider.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "flowlift/dpif.h"
#include "flowlift/offload_provider.h"

namespace flowlift {

class OffloadingDpif final : public Dpif {
 public:
  // flush_provider_on_close: the destructor removes every flow the provider
  // holds. The daemon asks for it when its datapath is deleted at stop too,
  // so that a clean stop leaves no filter in a NIC; a crash leaves them, and
  // the next start removes them (the provider's first sight of a device).
  OffloadingDpif(std::unique_ptr<Dpif> datapath, std::unique_ptr<OffloadProvider> provider,
                 bool flush_provider_on_close = false);
  ~OffloadingDpif() override;

  Dpif& datapath() { return *datapath_; }
  OffloadProvider& provider() { return *provider_; }

  std::string_view type() const override { return datapath_->type(); }

  Result<uint32_t> port_add(const DpifPortRequest& request) override;
  Status port_del(uint32_t number) override;
  std::vector<DpifPort> port_dump() const override { return datapath_->port_dump(); }

  Result<DpifPutOutcome> flow_put(const DpifFlowPut& put) override;
  // New flows of the batch go to the provider in one call (one message
  // train to TC); what it refuses goes to the datapath. Puts of flows
  // already held somewhere take flow_put's path one by one.
  std::vector<Result<DpifPutOutcome>> flow_put_batch(std::span<const DpifFlowPut> puts) override;
  Result<Megaflow> flow_get(const Ufid& ufid) const override;
  Result<Megaflow> flow_del(const Ufid& ufid) override;
  Status flow_flush() override;
  std::vector<Megaflow> flow_dump() const override;

  Status execute(Packet packet, const FlowKey& key, const ActionList& actions) override {
    return datapath_->execute(std::move(packet), key, actions);
  }
  size_t recv_upcalls(size_t max, std::vector<DpifUpcall>& out) override {
    return datapath_->recv_upcalls(max, out);
  }
  void wait_for_upcalls(std::chrono::milliseconds timeout) override { datapath_->wait_for_upcalls(timeout); }
  void wake_upcall_waiters() override { datapath_->wake_upcall_waiters(); }
  DpifStats stats() const override;
  std::vector<std::string> maintain() override;

  Status set_tunnel_remotes(uint32_t number, std::vector<Be32> remotes) override {
    return datapath_->set_tunnel_remotes(number, std::move(remotes));
  }
  Status inject(uint32_t port, Packet packet) override { return datapath_->inject(port, std::move(packet)); }
  void begin_inject_batch() override { datapath_->begin_inject_batch(); }
  void end_inject_batch() override { datapath_->end_inject_batch(); }
  Result<std::vector<Packet>> capture(uint32_t port, size_t max) override {
    return datapath_->capture(port, max);
  }

 private:
  struct UfidHasher {
    size_t operator()(const Ufid& ufid) const { return ufid.hash(); }
  };

  void publish_ports();
  // Why `ufid` is in the datapath rather than with the provider. Reasons
  // repeat across thousands of flows, so each distinct text is stored once.
  void remember_refusal(const Ufid& ufid, const std::string& reason);
  void forget_refusal(const Ufid& ufid);
  void annotate(Megaflow& flow) const;  // callers hold mutex_

  std::unique_ptr<Dpif> datapath_;
  std::unique_ptr<OffloadProvider> provider_;
  bool flush_provider_on_close_ = false;

  mutable std::mutex mutex_;
  mutable std::unordered_map<Ufid, uint32_t, UfidHasher> refusals_;  // ufid -> index into reasons_
  std::vector<std::string> reasons_;
  std::unordered_map<std::string, uint32_t> reason_index_;
};

}  // namespace flowlift
