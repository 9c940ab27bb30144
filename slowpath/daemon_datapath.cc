#include "slowpath/daemon_datapath.h"

#include "kmod/kernel_dpif.h"
#include "kmod/userspace_dpif.h"
#include "offload/offloading_dpif.h"
#include "offload/tc_offload_provider.h"

namespace flowlift {

Result<std::unique_ptr<Dpif>> open_daemon_datapath(const DaemonOptions& options, DaemonLog& log) {
  if (options.datapath != "kernel") {
    Result<std::unique_ptr<UserspaceDpif>> created = UserspaceDpif::create();
    if (!created) return created.status().with_context("cannot create the userspace datapath");
    return std::unique_ptr<Dpif>(std::move(*created));
  }
  // --check-config must leave nothing behind: the datapath it validates
  // against is deleted with the process's KernelDpif (delete_on_close).
  Result<std::unique_ptr<KernelDpif>> opened = KernelDpif::open(options.kernel_datapath_name);
  if (!opened)
    return opened.status().with_context("cannot open kernel datapath " + options.kernel_datapath_name);
  log.info("kernel datapath " + options.kernel_datapath_name + " (" +
           ((*opened)->per_cpu_dispatch() ? "per-CPU" : "per-vport") + " upcall dispatch)");
  if (options.offload != "tc") return std::unique_ptr<Dpif>(std::move(*opened));

  TcOffloadConfig config;
  Result<TcPolicy> policy = parse_tc_policy(options.tc_policy);
  if (!policy) return policy.status();
  config.default_policy = *policy;
  for (const auto& [device, text] : options.tc_port_policies) {
    Result<TcPolicy> device_policy = parse_tc_policy(text);
    if (!device_policy) return device_policy.status().with_context(device);
    config.device_policies[device] = *device_policy;
  }
  config.profile = options.offload_profile;
  config.device_profiles = options.offload_device_profiles;
  Result<TcActionCounters> counters = parse_tc_action_counters(options.tc_action_counters);
  if (!counters) return counters.status();
  config.action_counters = *counters;
  Result<std::unique_ptr<TcOffloadProvider>> provider = TcOffloadProvider::open(config);
  if (!provider) return provider.status().with_context("cannot start TC offload");
  // Each port's own choice is known once the ports exist: `flowlift show`.
  std::string given;
  for (const auto& [device, profile] : options.offload_device_profiles)
    given += (given.empty() ? "given " : ", ") + device + " -> " + profile;
  std::string drivers;
  for (const auto& [driver, profile] : (*provider)->profiles().driver_table())
    drivers += (drivers.empty() ? "" : ", ") + driver + " -> " + profile;
  log.info("TC offload: default policy " + options.tc_policy +
           "; profiles: " + (given.empty() ? "" : given + "; ") + "by driver " + drivers + "; else " +
           (*provider)->profiles().default_profile()->name + "; action counters " + options.tc_action_counters);
  // The datapath is deleted when the daemon stops; its offloaded flows go
  // with it, so that a clean stop leaves no filter behind.
  return std::unique_ptr<Dpif>(std::make_unique<OffloadingDpif>(std::move(*opened), std::move(*provider),
                                                                /*flush_provider_on_close=*/true));
}

}  // namespace flowlift
