// flowliftd: the switch daemon. The lifecycle is slowpath/daemon.h and the
// datapath's choice slowpath/daemon_datapath.h; this only calls them.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "slowpath/daemon.h"
#include "slowpath/daemon_datapath.h"

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
  auto dpif = flowlift::open_daemon_datapath(*options, log);
  if (!dpif) {
    log.error(dpif.status().message());
    return 1;
  }
  return flowlift::run_daemon(*options, **dpif, log);
}
