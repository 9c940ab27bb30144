// OffloadProvider: a place other than the datapath's software table where
// megaflows can live (Open vSwitch's netdev_flow_api, narrowed). The TC
// flower provider (offload/tc_offload_provider.h) is one; rte_flow will be
// another. The offloading Dpif (offload/offloading_dpif.h) offers every
// megaflow to the provider first and puts what it refuses into the datapath,
// keeping the provider's reason, exactly as OVS's dpif-netlink does with
// netdev_flow_put before falling back to the kernel datapath.
//
// Threading: every member is safe to call from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/dpif.h"
#include "flowlift/megaflow.h"
#include "flowlift/status.h"

namespace flowlift {

// A datapath port as a provider needs it: which netdev a port number is.
struct OffloadPort {
  uint32_t number = 0;
  std::string name;  // the netdev (a kernel vport's name is its netdev's)
  DpifPortType type = DpifPortType::kDummy;
  uint16_t vxlan_udp_port = 0;
};

// What became of one offered flow.
struct OffloadPutResult {
  // kDatapath: refused, the caller puts the flow in the datapath; `reason`
  // says why. Otherwise where the provider placed it, `reason` saying why it
  // is not in hardware when it is not.
  MegaflowPlacement placement = MegaflowPlacement::kDatapath;
  std::string reason;
  // Set (with kDatapath) when the refusal is an error of the request itself
  // rather than a limit of the target, e.g. EEXIST for a duplicate create.
  int error = 0;
};

class OffloadProvider {
 public:
  virtual ~OffloadProvider() = default;

  // "tc" (and later "rte_flow"): Megaflow::location.provider.
  virtual std::string_view name() const = 0;

  // The datapath's ports, given again after every change.
  virtual void set_ports(std::vector<OffloadPort> ports) = 0;

  // Offers each put; one result per put, in order. A put with modify for a
  // flow the provider holds replaces it; a put the provider refuses leaves
  // nothing of the flow behind in the provider. Batching several puts lets
  // the provider send them in one message train.
  virtual std::vector<OffloadPutResult> put(std::span<const DpifFlowPut> puts) = 0;

  // Whether the provider holds `ufid` (then get/del go to it).
  virtual bool holds(const Ufid& ufid) const = 0;
  // The flow with its statistics and location; ENOENT when not held.
  virtual Result<Megaflow> get(const Ufid& ufid) const = 0;
  // Removes the flow and returns it with its final statistics; ENOENT when not held.
  virtual Result<Megaflow> del(const Ufid& ufid) = 0;
  // How many flows the provider holds (cheap: no dump).
  virtual size_t flow_count() const = 0;
  // Every held flow, with statistics and location.
  virtual std::vector<Megaflow> dump() const = 0;
  // Removes every flow the provider holds (and any it finds carrying its cookies).
  virtual Status flush() = 0;

  // Called periodically (by the revalidator): re-creates what someone else
  // removed (a deleted clsact qdisc and its filters). Returns the problems it
  // found and could not mend, for the log; empty when all is well.
  virtual std::vector<std::string> maintain() { return {}; }
};

}  // namespace flowlift
