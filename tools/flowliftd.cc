// flowliftd: the switch daemon. The lifecycle is slowpath/daemon.h; this
// only chooses the datapath: the in-process userspace datapath, or Linux's
// openvswitch module (--datapath kernel).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "kmod/kernel_dpif.h"
#include "kmod/userspace_dpif.h"
#include "slowpath/daemon.h"

int main(int argc, char** argv) {
  // First, before the datapath starts its receive threads: every thread
  // must inherit the blocked stop signals so that only the main thread's
  // wait receives them.
  flowlift::block_daemon_stop_signals();
  std::vector<std::string> arguments(argv + 1, argv + argc);
  auto options = flowlift::parse_daemon_options(arguments);
  if (!options) {
    std::cerr << "flowliftd: " << options.status().message() << "\n";
    return 2;
  }
  if (options->help) {
    std::cout << flowlift::daemon_usage_text();
    return 0;
  }
  flowlift::DaemonLog log(std::cerr, options->log_level);
  std::unique_ptr<flowlift::Dpif> dpif;
  if (options->datapath == "kernel") {
    // --check-config must leave nothing behind: the datapath it validates
    // against is deleted with the process's KernelDpif (delete_on_close).
    auto opened = flowlift::KernelDpif::open(options->kernel_datapath_name);
    if (!opened) {
      log.error("cannot open kernel datapath " + options->kernel_datapath_name + ": " +
                opened.status().message());
      return 1;
    }
    log.info("kernel datapath " + options->kernel_datapath_name + " (" +
             ((*opened)->per_cpu_dispatch() ? "per-CPU" : "per-vport") + " upcall dispatch)");
    dpif = std::move(*opened);
  } else {
    auto created = flowlift::UserspaceDpif::create();
    if (!created) {
      log.error("cannot create the userspace datapath: " + created.status().message());
      return 1;
    }
    dpif = std::move(*created);
  }
  return flowlift::run_daemon(*options, *dpif, log);
}
