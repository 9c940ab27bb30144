// The datapath-independent half of flowliftd's lifecycle (see daemon.h);
// run_daemon() itself lives in daemon_switch_core.cc so that programs using
// only these pieces do not pull in SwitchCore.
#include "slowpath/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <ostream>
#include <sstream>
#include <utility>

#include "offload/tc_profile_book.h"
#include "slowpath/control_client.h"
#include "slowpath/json_text.h"

namespace flowlift {
namespace {

std::string errno_text(int error) { return std::strerror(error); }

std::string_view daemon_log_level_name(DaemonLogLevel level) {
  switch (level) {
    case DaemonLogLevel::kError:
      return "error";
    case DaemonLogLevel::kWarning:
      return "warning";
    case DaemonLogLevel::kInfo:
      return "info";
    case DaemonLogLevel::kDebug:
      return "debug";
  }
  return "info";
}

sigset_t daemon_stop_signal_set() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  return signals;
}

bool is_tc_policy(const std::string& value) {
  return value == "none" || value == "skip_sw" || value == "skip_hw";
}
}  // namespace

Result<DaemonOptions> parse_daemon_options(std::span<const std::string> arguments) {
  DaemonOptions options;
  options.control_path = std::string(kControlDefaultSocketPath);
  for (size_t at = 0; at < arguments.size(); ++at) {
    const std::string& word = arguments[at];
    std::string name = word, value;
    bool has_value = false;
    if (size_t equals = word.find('='); word.starts_with("--") && equals != std::string::npos) {
      name = word.substr(0, equals);
      value = word.substr(equals + 1);
      has_value = true;
    }
    auto take_value = [&]() -> Status {
      if (has_value) return Status::ok();
      if (at + 1 >= arguments.size()) return invalid_argument("option " + name + " needs a value");
      value = arguments[++at];
      return Status::ok();
    };
    auto no_value = [&]() -> Status {
      if (has_value) return invalid_argument("option " + name + " takes no value");
      return Status::ok();
    };
    if (name == "--help" || name == "-h") {
      if (Status ok = no_value(); !ok) return ok;
      options.help = true;
    } else if (name == "--check-config") {
      if (Status ok = no_value(); !ok) return ok;
      options.check_config = true;
    } else if (name == "--config" || name == "--control" || name == "--pidfile") {
      if (Status ok = take_value(); !ok) return ok;
      if (value.empty()) return invalid_argument("option " + name + " needs a non-empty path");
      (name == "--config"    ? options.config_path
       : name == "--control" ? options.control_path
                             : options.pidfile_path) = value;
    } else if (name == "--handlers") {
      if (Status ok = take_value(); !ok) return ok;
      size_t handlers = 0;
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), handlers);
      if (value.empty() || error != std::errc() || end != value.data() + value.size() || handlers < 1 ||
          handlers > 64) {
        return invalid_argument("--handlers=" + value + ": expected a number of threads from 1 to 64");
      }
      options.handlers = handlers;
    } else if (name == "--datapath") {
      if (Status ok = take_value(); !ok) return ok;
      if (value != "userspace" && value != "kernel") {
        return invalid_argument("--datapath=" + value + ": expected userspace or kernel");
      }
      options.datapath = value;
    } else if (name == "--datapath-name") {
      if (Status ok = take_value(); !ok) return ok;
      if (value.empty() || value.size() > 15) {
        return invalid_argument("--datapath-name=" + value + ": expected a name of 1 to 15 characters");
      }
      options.kernel_datapath_name = value;
    } else if (name == "--offload") {
      if (Status ok = take_value(); !ok) return ok;
      if (value != "none" && value != "tc")
        return invalid_argument("--offload=" + value + ": expected none or tc");
      options.offload = value;
    } else if (name == "--tc-policy") {
      if (Status ok = take_value(); !ok) return ok;
      if (!is_tc_policy(value))
        return invalid_argument("--tc-policy=" + value + ": expected none, skip_sw or skip_hw");
      options.tc_policy = value;
    } else if (name == "--tc-port-policy") {
      if (Status ok = take_value(); !ok) return ok;
      const size_t equals = value.find('=');
      if (equals == std::string::npos || equals == 0 || !is_tc_policy(value.substr(equals + 1)))
        return invalid_argument("--tc-port-policy=" + value + ": expected DEVICE=none|skip_sw|skip_hw");
      options.tc_port_policies[value.substr(0, equals)] = value.substr(equals + 1);
    } else if (name == "--tc-action-counters") {
      if (Status ok = take_value(); !ok) return ok;
      if (value != "auto" && value != "percpu" && value != "no_percpu")
        return invalid_argument("--tc-action-counters=" + value + ": expected auto, percpu or no_percpu");
      options.tc_action_counters = value;
    } else if (name == "--offload-profile") {
      if (Status ok = take_value(); !ok) return ok;
      if (value.empty()) return invalid_argument("--offload-profile needs a profile name or file");
      if (!is_tc_device_profile_argument(value)) {
        options.offload_profile = value;
        continue;
      }
      Result<std::pair<std::string, std::string>> device_profile = parse_tc_device_profile_argument(value);
      if (!device_profile) return device_profile.status();
      auto [it, inserted] = options.offload_device_profiles.emplace(*device_profile);
      if (!inserted)
        return invalid_argument("--offload-profile " + value + ": " + it->first + " already has profile " +
                                it->second + " (one profile per device)");
    } else if (name == "--log-level") {
      if (Status ok = take_value(); !ok) return ok;
      if (value == "error") {
        options.log_level = DaemonLogLevel::kError;
      } else if (value == "warning" || value == "warn") {
        options.log_level = DaemonLogLevel::kWarning;
      } else if (value == "info") {
        options.log_level = DaemonLogLevel::kInfo;
      } else if (value == "debug") {
        options.log_level = DaemonLogLevel::kDebug;
      } else {
        return invalid_argument("--log-level=" + value + ": expected error, warning, info or debug");
      }
    } else if (word.starts_with("-")) {
      return invalid_argument("unknown option '" + word + "' (see flowliftd --help)");
    } else {
      return invalid_argument("unexpected argument '" + word + "' (see flowliftd --help)");
    }
  }
  if (options.offload == "tc" && options.datapath != "kernel") {
    return invalid_argument(
        "--offload tc needs --datapath kernel: TC flower filters sit on the Linux devices that are the "
        "kernel "
        "datapath's ports");
  }
  if (options.check_config && options.config_path.empty()) {
    return invalid_argument("--check-config needs --config FILE");
  }
  return options;
}

std::string daemon_usage_text() {
  return "usage: flowliftd [--config FILE] [--control PATH] [--pidfile FILE] [--handlers N]\n"
         "                 [--datapath userspace|kernel] [--datapath-name NAME]\n"
         "                 [--offload none|tc] [--tc-policy P] [--tc-port-policy DEV=P]...\n"
         "                 [--offload-profile NAME|FILE] [--offload-profile DEV=NAME|FILE]...\n"
         "                 [--tc-action-counters auto|percpu|no_percpu]\n"
         "                 [--log-level error|warning|info|debug] [--check-config]\n"
         "  --config FILE    bridges, ports and flows to set up at start (JSON)\n"
         "  --control PATH   the control socket (default " +
         std::string(kControlDefaultSocketPath) +
         ")\n"
         "  --pidfile FILE   write the daemon's pid there, locked while it runs\n"
         "  --handlers N     upcall handler threads (overrides the configuration's datapath.n_handlers)\n"
         "  --datapath D     userspace (default): the in-process datapath; kernel: Linux's openvswitch\n"
         "                   module (created at start, deleted at stop)\n"
         "  --datapath-name NAME  the kernel datapath's name (default flowlift)\n"
         "  --offload tc     offer every megaflow to its ingress device through TC flower first; what TC\n"
         "                   or the profile refuses stays in the kernel datapath, with the reason\n"
         "  --tc-policy P    none (default: hardware if it can, else TC software), skip_sw (hardware\n"
         "                   only) or skip_hw (TC software only); --tc-port-policy DEV=P per device\n"
         "  --offload-profile DEV=NAME|FILE  device DEV's capability profile: a built-in\n"
         "                   (tc-software, mlx5-connectx6dx, ice-e810) or a profile file; without it\n"
         "                   a device's profile follows its driver (ethtool -i: mlx5_core, mlx5e_rep,\n"
         "                   ice), else --offload-profile NAME|FILE (default tc-software)\n"
         "  --tc-action-counters C  per-CPU counters for the filters' actions (percpu), one shared\n"
         "                   counter (no_percpu: faster to install, a lock per packet in TC software),\n"
         "                   or auto (default): no_percpu for skip_sw and for a hardware profile's\n"
         "                   filters without skip_hw, percpu where TC software carries the traffic\n"
         "  --log-level L    least severe level logged on stderr (default info)\n"
         "  --check-config   validate the configuration, print why it is wrong, exit 0 or 1\n"
         "SIGTERM, SIGINT or SIGHUP stop the daemon cleanly.\n";
}

Result<nlohmann::json> read_daemon_config(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return Status(errno != 0 ? errno : ENOENT,
                  "cannot open configuration " + path + ": " + errno_text(errno));
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) return Status(EIO, "cannot read configuration " + path);
  auto config = parse_json_text(text.str());
  if (!config) return invalid_argument(path + ": " + config.status().message());
  if (!config->is_object()) {
    return invalid_argument(path + ": the configuration must be a JSON object, not " +
                            std::string(config->type_name()));
  }
  return config;
}

void DaemonLog::write(DaemonLogLevel level, std::string_view message) {
  if (!enabled(level)) return;
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto milliseconds =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[40];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
  char fraction[8];
  std::snprintf(fraction, sizeof(fraction), ".%03dZ", static_cast<int>(milliseconds));
  std::lock_guard lock(mutex_);
  stream_ << stamp << fraction << "|" << daemon_log_level_name(level) << "|" << message << "\n";
  stream_.flush();
}

Result<DaemonPidfile> DaemonPidfile::create(std::string path) {
  ScopedDescriptor file(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!file.valid()) return Status(errno, "cannot open pidfile " + path + ": " + errno_text(errno));
  if (::flock(file.get(), LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    char holder[32] = {};
    ssize_t got = ::pread(file.get(), holder, sizeof(holder) - 1, 0);
    std::string pid = got > 0 ? std::string(holder, static_cast<size_t>(got)) : std::string();
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    if (error == EWOULDBLOCK) {
      return Status(EEXIST, "another flowliftd" + (pid.empty() ? std::string() : " (pid " + pid + ")") +
                                " holds the pidfile " + path);
    }
    return Status(error, "cannot lock pidfile " + path + ": " + errno_text(error));
  }
  std::string text = std::to_string(::getpid()) + "\n";
  if (::ftruncate(file.get(), 0) != 0 ||
      ::pwrite(file.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    return Status(errno, "cannot write pidfile " + path + ": " + errno_text(errno));
  }
  return DaemonPidfile(std::move(path), std::move(file));
}

DaemonPidfile::~DaemonPidfile() {
  // Unlinked while still locked: a daemon starting now either sees our
  // locked file (and waits for nothing: it is refused) or a new one.
  if (file_.valid()) ::unlink(path_.c_str());
}

void block_daemon_stop_signals() {
  sigset_t signals = daemon_stop_signal_set();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // Writes to a closed socket or pipe must fail with EPIPE, not kill us.
  ::signal(SIGPIPE, SIG_IGN);
}

Result<int> serve_control_until_stop_signal(const std::string& control_path, ControlRequestHandler handler,
                                            DaemonLog& log) {
  ControlServerOptions server_options;
  server_options.socket_path = control_path;
  auto server = ControlServer::start(server_options, std::move(handler));
  if (!server) return server.status();
  log.info("listening on " + control_path);

  sigset_t signals = daemon_stop_signal_set();
  siginfo_t info{};
  int signal_number;
  do {
    signal_number = sigwaitinfo(&signals, &info);
  } while (signal_number < 0 && errno == EINTR);
  if (signal_number < 0) {
    log.error(std::string("waiting for a stop signal failed: ") + errno_text(errno));
    signal_number = 0;
  } else {
    log.info(std::string("received SIG") + sigabbrev_np(signal_number) + " from pid " +
             std::to_string(info.si_pid) + ", stopping");
  }
  (*server)->stop();
  log.info("control socket " + control_path + " closed");
  return signal_number;
}

}  // namespace flowlift
