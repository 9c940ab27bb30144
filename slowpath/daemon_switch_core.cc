// run_daemon(): the lifecycle of daemon.h around a SwitchCore. Kept apart
// from daemon.cc so that tests of the lifecycle's pieces link without the
// control plane.
#include <optional>
#include <utility>

#include "slowpath/daemon.h"
#include "slowpath/json_text.h"
#include "slowpath/switch_core.h"

namespace flowlift {

int run_daemon(const DaemonOptions& options, Dpif& dpif, DaemonLog& log) {
  block_daemon_stop_signals();
  nlohmann::json config = nlohmann::json::object();
  if (!options.config_path.empty()) {
    auto read = read_daemon_config(options.config_path);
    if (!read) {
      log.error(read.status().message());
      return 1;
    }
    config = std::move(*read);
  }
  const std::string config_name =
      options.config_path.empty() ? std::string("(no configuration)") : options.config_path;

  SwitchCoreOptions core_options;
  if (options.handlers) core_options.udpif.n_handlers = *options.handlers;
  if (options.check_config) {
    // Applied to this process's own datapath with no thread running: the
    // same checks a real start makes (ports that cannot open included),
    // and nothing is left behind when the process exits.
    core_options.start_threads = false;
    SwitchCore core(dpif, core_options);
    if (Status applied = core.apply_config(config); !applied) {
      log.error(config_name + ": " + applied.message());
      return 1;
    }
    log.info(config_name + ": configuration is valid");
    return 0;
  }

  // Declared before the core so that it is removed after the threads stop.
  std::optional<DaemonPidfile> pidfile;
  if (!options.pidfile_path.empty()) {
    auto created = DaemonPidfile::create(options.pidfile_path);
    if (!created) {
      log.error(created.status().message());
      return 1;
    }
    pidfile.emplace(std::move(*created));
  }

  int exit_status = 0;
  {
    SwitchCore core(dpif, core_options);
    log.info("datapath " + std::string(dpif.type()) + ", " + std::to_string(core_options.udpif.n_handlers) +
             " upcall handler threads");
    if (Status applied = core.apply_config(config); !applied) {
      log.error(config_name + ": " + applied.message());
      return 1;
    }
    log.info(config_name + ": configuration applied");
    ControlRequestHandler handler = [&core, &log](const nlohmann::json& request) {
      nlohmann::json response = core.handle(request);
      if (log.enabled(DaemonLogLevel::kDebug)) {
        auto ok = response.find("ok");
        bool succeeded = ok != response.end() && ok->is_boolean() && ok->get<bool>();
        auto error = response.find("error");
        log.debug("control: " + json_to_line(request) + " -> " +
                  (succeeded || error == response.end() ? std::string("ok") : json_to_line(*error)));
      }
      return response;
    };
    auto served = serve_control_until_stop_signal(options.control_path, std::move(handler), log);
    if (!served) {
      log.error(served.status().message());
      exit_status = 1;
    }
    log.info("stopping the upcall handler and revalidator threads");
  }
  log.info("stopped");
  return exit_status;
}

}  // namespace flowlift
