// FlowliftdProcess: the real flowliftd binary, started for a benchmark on a
// configuration file and a private control socket (optionally inside a
// network namespace, under `ip netns exec`, which execs it: the pid is
// flowliftd's own), connected once it answers, and stopped with SIGTERM when
// the object goes. The benchmarks drive it exactly as the CLI does.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "flowlift/status.h"
#include "slowpath/control_client.h"

namespace flowlift::bench {

struct FlowliftdProcessOptions {
  std::string program;      // the flowliftd binary
  std::string config_path;  // --config
  std::string socket_path;  // --control
  std::string log_path;     // its standard output and error
  std::string netns;        // run inside this namespace; empty: here
  // Set by a signal handler: stop waiting for the daemon to answer.
  const std::atomic<bool>* interrupted = nullptr;
};

class FlowliftdProcess {
 public:
  // Starts the daemon and waits (up to 10 s) for its control socket to
  // answer. Errors quote the daemon's log when it exited at start.
  static Result<std::unique_ptr<FlowliftdProcess>> start(const FlowliftdProcessOptions& options);
  ~FlowliftdProcess();  // SIGTERM, then waits for it
  FlowliftdProcess(const FlowliftdProcess&) = delete;
  FlowliftdProcess& operator=(const FlowliftdProcess&) = delete;

  pid_t pid() const { return pid_; }
  // One request; a refused one is an error carrying the daemon's message.
  Result<nlohmann::json> call(const std::string& command, const nlohmann::json& args);
  // The raw response, for callers that look at refusals themselves.
  Result<nlohmann::json> request(const nlohmann::json& request) { return connection_->request(request); }

 private:
  FlowliftdProcess() = default;
  pid_t pid_ = 0;
  std::optional<ControlConnection> connection_;
};

}  // namespace flowlift::bench
