// kernel_dpif_datapath: the ovs_datapath family's messages (OVS_DP_CMD_NEW,
// DEL, GET, SET) as <linux/openvswitch.h> lays them out, and the reply that
// describes a datapath: its ifindex, name, user features and counters.
//
// Builders return the payload after the genlmsghdr (ovs_header + attributes)
// so that the unit tests can compare them with bytes written attribute by
// attribute; KernelDpif sends them through a GenlSocket.
#pragma once

#include <linux/openvswitch.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "flowlift/status.h"

namespace flowlift {

// The user features flowlift asks for: 32-bit aligned netlink attributes are
// not needed (x86 reads unaligned u64s), and upcalls are steered by the
// vport's PID list, or per CPU when the kernel has it (Linux 5.14+).
inline constexpr uint32_t kKernelDatapathBaseFeatures = OVS_DP_F_UNALIGNED | OVS_DP_F_VPORT_PIDS;

struct KernelDatapathCreate {
  std::string name;
  uint32_t upcall_pid = 0;  // OVS_DP_ATTR_UPCALL_PID: upcalls of the local port
  uint32_t user_features = kKernelDatapathBaseFeatures;
  // OVS_DP_ATTR_PER_CPU_PIDS, written only with OVS_DP_F_DISPATCH_UPCALL_PER_CPU.
  std::vector<uint32_t> per_cpu_pids;
};

// The payload of OVS_DP_CMD_NEW, and of OVS_DP_CMD_SET on an existing
// datapath named `create.name` (user features and upcall PIDs: what OVS
// does when it opens a datapath it did not create). dp_ifindex is 0: the
// name identifies the datapath.
std::vector<uint8_t> build_datapath_with_features(const KernelDatapathCreate& create);
// OVS_DP_CMD_GET / OVS_DP_CMD_DEL by name.
std::vector<uint8_t> build_datapath_by_name(std::string_view name);

struct KernelDatapathInfo {
  int dp_ifindex = 0;
  std::string name;
  uint32_t user_features = 0;
  uint64_t hit = 0, missed = 0, lost = 0, flows = 0;
  bool has_megaflow_stats = false;
  uint64_t mask_hit = 0;   // n_mask_hit: masks visited over all lookups
  uint32_t masks = 0;      // n_masks
  uint64_t cache_hit = 0;  // n_cache_hit
};

// An OVS_DP_CMD_NEW/GET/SET reply's payload. NAME and STATS are required;
// unknown attributes are skipped (newer kernels add some), malformed ones
// are EPROTO naming the attribute.
Result<KernelDatapathInfo> parse_datapath_reply(std::span<const uint8_t> payload);

}  // namespace flowlift
