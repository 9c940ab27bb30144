// run_daemon(): the lifecycle of daemon.h around a SwitchCore. Kept apart
// from daemon.cc so that tests of the lifecycle's pieces link without the
// control plane.
#include <unistd.h>

#include <optional>
#include <utility>

#include "slowpath/control_client.h"
#include "slowpath/daemon.h"
#include "slowpath/json_text.h"
#include "slowpath/switch_config.h"
#include "slowpath/switch_core.h"

namespace flowlift {

// read_daemon_config() checks the text first because its errors carry the
// line and column; load_switch_config_file() then gives the document with
// its flows_file paths made relative to the file's own directory.
Result<std::optional<nlohmann::json>> load_daemon_config(const DaemonOptions& options) {
  if (options.config_path.empty()) return std::optional<nlohmann::json>();
  auto checked = read_daemon_config(options.config_path);
  if (!checked) return checked.status();
  auto config = load_switch_config_file(options.config_path);
  if (!config) return config.status();
  if (options.handlers && config->is_object()) {
    // The command line wins over the file: SwitchCore reads the handler
    // count from the document and refuses one that differs from the
    // threads it runs.
    nlohmann::json& datapath = (*config)["datapath"];
    if (datapath.is_null()) datapath = nlohmann::json::object();
    if (datapath.is_object()) datapath["n_handlers"] = *options.handlers;
  }
  return std::optional<nlohmann::json>(std::move(*config));
}

size_t default_handler_threads() {
  // Open vSwitch's default (n-handler-threads): the online cores minus the
  // revalidator threads; flowliftd runs one revalidator. On two cores that
  // is one handler, which keeps a core for whoever receives the packets
  // (the control thread for dummy ports, a receive thread otherwise)
  // instead of three threads contending for two cores.
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 2 ? static_cast<size_t>(online - 1) : 1;
}

int run_daemon(const DaemonOptions& options, Dpif& dpif, DaemonLog& log) {
  block_daemon_stop_signals();
  auto config = load_daemon_config(options);
  if (!config) {
    log.error(config.status().message());
    return 1;
  }
  const std::string config_name = options.config_path;

  SwitchCoreOptions core_options;
  if (options.offload == "tc") {
    core_options.tc_unavailable.clear();  // the Dpif offloads: each flow says where it is
  } else if (options.datapath != "kernel") {
    core_options.tc_unavailable =
        "TC offload needs the kernel datapath (flowliftd --datapath kernel --offload tc)";
  }
  core_options.udpif.n_handlers = default_handler_threads();
  if (options.handlers) core_options.udpif.n_handlers = *options.handlers;
  if (*config) {
    auto settings = switch_config_udpif_settings(**config, core_options.udpif);
    if (!settings) {
      log.error(config_name + ": " + settings.status().message());
      return 1;
    }
    core_options.udpif = *settings;
  }

  if (options.check_config) {
    // Applied to this process's own datapath with no thread running: the
    // same checks a real start makes (ports that cannot open included),
    // and nothing is left behind when the process exits.
    core_options.start_threads = false;
    SwitchCore core(dpif, core_options);
    if (Status applied = core.apply_config(**config); !applied) {
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

  // Refuse before touching the datapath when another daemon answers on our
  // socket: otherwise both would open the same system ports until the
  // control server's own check failed. (ControlServer::start checks again.)
  if (connect_control_socket(options.control_path)) {
    log.error("another flowliftd is listening on " + options.control_path);
    return 1;
  }

  int exit_status = 0;
  {
    SwitchCore core(dpif, core_options);
    log.info("datapath " + std::string(dpif.type()) + ", " + std::to_string(core_options.udpif.n_handlers) +
             " upcall handler threads, flow limit " + std::to_string(core_options.udpif.flow_limit) +
             ", max idle " + std::to_string(core_options.udpif.max_idle_ms) + " ms");
    if (*config) {
      if (Status applied = core.apply_config(**config); !applied) {
        log.error(config_name + ": " + applied.message());
        return 1;
      }
      log.info(config_name + ": configuration applied");
    } else {
      log.info("no --config: starting with no bridges");
    }
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
