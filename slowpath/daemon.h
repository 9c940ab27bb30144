// flowliftd's lifecycle (what ovs-vswitchd's main() and its daemon-unix.c
// helpers are to Open vSwitch): options, the configuration file, the
// pidfile, stop signals and logging, and the order things start and stop in.
//
//   start: block SIGTERM/SIGINT/SIGHUP (before any thread exists, so every
//          thread inherits the mask and only the main thread's sigwait sees
//          them) -> read the configuration -> pidfile -> SwitchCore (handler
//          and revalidator threads) -> apply the configuration -> control
//          socket -> wait for a signal;
//   stop:  control socket (requests in flight finish) -> SwitchCore's
//          threads -> pidfile; the socket file goes with the server.
// The socket opens last so that no client ever sees a half-configured
// switch, and closes first so that none is mid-request when the threads
// stop.
//
// The pieces that do not need a datapath (options, configuration file,
// pidfile, the signal wait around a control server) are separate functions
// so tests drive them with a fake request handler; run_daemon() joins them
// to a SwitchCore (daemon_switch_core.cc).
#pragma once

#include <cstddef>
#include <iosfwd>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "flowlift/dpif.h"
#include "flowlift/status.h"
#include "slowpath/control_server.h"
#include "slowpath/scoped_descriptor.h"

namespace flowlift {

enum class DaemonLogLevel { kError, kWarning, kInfo, kDebug };

struct DaemonOptions {
  std::string config_path;   // empty: start with no bridges
  std::string control_path;  // kControlDefaultSocketPath unless --control
  std::string pidfile_path;  // empty: no pidfile
  // Upcall handler threads: overrides the configuration's datapath.n_handlers
  // when given; neither given: UdpifConfig's default.
  std::optional<size_t> handlers;
  DaemonLogLevel log_level = DaemonLogLevel::kInfo;
  // --datapath: "userspace" (the in-process datapath) or "kernel" (Linux's
  // openvswitch module, datapath `kernel_datapath_name`).
  std::string datapath = "userspace";
  std::string kernel_datapath_name = "flowlift";
  // --offload: "none", or "tc" (kernel datapath only): every megaflow is
  // offered to its ingress port's device through TC flower first.
  std::string offload = "none";
  // --tc-policy: the default TC flag of the filters ("none", "skip_sw",
  // "skip_hw"); --tc-port-policy DEV=POLICY overrides it per device.
  std::string tc_policy = "none";
  std::map<std::string, std::string> tc_port_policies;
  // --offload-profile NAME|FILE: a built-in capability profile or a profile
  // file, for devices with no profile of their own and a driver no built-in
  // profile names; --offload-profile DEV=NAME|FILE gives one device its own
  // (offload/tc_profile_book.h has the order).
  std::string offload_profile = "tc-software";
  std::map<std::string, std::string> offload_device_profiles;
  // --tc-action-counters: "auto" (shared counters where hardware carries the
  // traffic), "percpu" or "no_percpu" (TcActionCounters).
  std::string tc_action_counters = "auto";
  bool check_config = false;  // validate the configuration and exit 0/1
  bool help = false;
};

// flowliftd's arguments (without the program name). Errors (EINVAL) name
// the option or value that was wrong.
Result<DaemonOptions> parse_daemon_options(std::span<const std::string> arguments);
std::string daemon_usage_text();

// The configuration file as a JSON object. Errors name the file, and for a
// parse error the line and column.
Result<nlohmann::json> read_daemon_config(const std::string& path);

// Lines on a stream (stderr in the daemon), each with a UTC timestamp to the
// millisecond and its level: "2026-11-22T01:17:16.123Z|info|message".
// Thread-safe.
class DaemonLog {
 public:
  DaemonLog(std::ostream& stream, DaemonLogLevel level) : stream_(stream), level_(level) {}
  void write(DaemonLogLevel level, std::string_view message);
  void error(std::string_view message) { write(DaemonLogLevel::kError, message); }
  void warning(std::string_view message) { write(DaemonLogLevel::kWarning, message); }
  void info(std::string_view message) { write(DaemonLogLevel::kInfo, message); }
  void debug(std::string_view message) { write(DaemonLogLevel::kDebug, message); }
  bool enabled(DaemonLogLevel level) const { return level <= level_; }

 private:
  std::mutex mutex_;
  std::ostream& stream_;
  DaemonLogLevel level_;
};

// The pidfile, locked (flock) while the daemon runs so that a second daemon
// given the same file is refused; one left by a daemon that died holds no
// lock and is taken over. Removed on destruction.
class DaemonPidfile {
 public:
  static Result<DaemonPidfile> create(std::string path);
  DaemonPidfile(DaemonPidfile&&) = default;
  DaemonPidfile& operator=(DaemonPidfile&&) = default;
  ~DaemonPidfile();

 private:
  DaemonPidfile(std::string path, ScopedDescriptor file) : path_(std::move(path)), file_(std::move(file)) {}
  std::string path_;
  ScopedDescriptor file_;
};

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and so in every
// thread it creates afterwards) and ignores SIGPIPE. Call it first in main,
// before anything starts a thread.
void block_daemon_stop_signals();

// Starts a control server on `control_path` answering with `handler`, waits
// for SIGTERM, SIGINT or SIGHUP (which must be blocked, see above), stops the
// server (removing the socket) and returns the signal's number. Errors: the
// server could not start.
Result<int> serve_control_until_stop_signal(const std::string& control_path, ControlRequestHandler handler,
                                            DaemonLog& log);

// The configuration document run_daemon() applies (nullopt without
// --config): read_daemon_config()'s checks, flows_file paths resolved
// against the file's directory, and --handlers written over the
// document's datapath.n_handlers (the command line wins).
Result<std::optional<nlohmann::json>> load_daemon_config(const DaemonOptions& options);

// Handler threads when neither --handlers nor datapath.n_handlers says:
// Open vSwitch's default, the online cores minus the one revalidator
// thread, and at least one.
size_t default_handler_threads();

// The whole daemon over `dpif`: returns the process's exit status (0 after a
// stop signal, or a valid configuration under check_config; 1 on errors,
// logged). `dpif` must outlive the call.
int run_daemon(const DaemonOptions& options, Dpif& dpif, DaemonLog& log);

}  // namespace flowlift
