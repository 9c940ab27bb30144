// The flowliftd side of flow_setup_vs_ovs_bench: the real daemon binary,
// started on a private configuration (bridge brb with dummy ports b1 and b2,
// the benchmark's rules inline) and a private control socket, and driven
// over one ControlConnection exactly as the CLI drives it.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "bench/flow_setup_peer.h"
#include "bench/flowliftd_process.h"
#include "slowpath/control_client.h"

namespace flowlift::bench {
namespace {

class FlowliftdSetupPeer final : public FlowSetupPeer {
 public:
  ~FlowliftdSetupPeer() override {
    process_.reset();  // before its directory goes
    std::error_code ignored;
    if (!directory_.empty()) std::filesystem::remove_all(directory_, ignored);
  }

  static Result<std::unique_ptr<FlowSetupPeer>> start(const std::string& program,
                                                      const std::vector<std::string>& rules) {
    std::unique_ptr<FlowliftdSetupPeer> peer(new FlowliftdSetupPeer());
    char pattern[] = "/tmp/flowlift-setup-bench.XXXXXX";
    if (!mkdtemp(pattern)) return Status(errno, "mkdtemp failed");
    peer->directory_ = pattern;
    const std::string config_path = peer->directory_ + "/switch.json";
    const std::string socket_path = peer->directory_ + "/flowliftd.sock";
    nlohmann::json config = {
        {"flowlift_config", 1},
        {"datapath", {{"flow_limit", 500000}, {"max_idle_ms", 60000}}},
        {"bridges",
         nlohmann::json::array(
             {{{"name", "brb"},
               {"ports", nlohmann::json::array({{{"name", "b1"}, {"type", "dummy"}, {"ofport", 1}},
                                                {{"name", "b2"}, {"type", "dummy"}, {"ofport", 2}}})},
               {"flows", rules}}})}};
    std::ofstream(config_path) << config.dump();

    Result<std::unique_ptr<FlowliftdProcess>> process =
        FlowliftdProcess::start(FlowliftdProcessOptions{.program = program,
                                                        .config_path = config_path,
                                                        .socket_path = socket_path,
                                                        .log_path = peer->directory_ + "/flowliftd.log",
                                                        .netns = "",
                                                        .interrupted = nullptr});
    if (!process) return process.status();
    peer->process_ = std::move(*process);
    return std::unique_ptr<FlowSetupPeer>(std::move(peer));
  }

  std::string name() const override { return "flowliftd (dummy)"; }

  Status forget_flows() override {
    Result<nlohmann::json> r = call("revalidate", {{"purge", true}});
    return r ? Status::ok() : r.status();
  }

  Status inject(const std::vector<std::string>& packets) override {
    Result<nlohmann::json> r = call("inject", {{"port", "b1"}, {"packet", packets}});
    return r ? Status::ok() : r.status();
  }

  // Every packet looked up and found (hit), dropped for a full queue (lost),
  // or taken up by a handler and executed (or failed there).
  Result<uint64_t> processed() override {
    Result<nlohmann::json> r = counters();
    if (!r) return r.status();
    const nlohmann::json& datapath = (*r)["datapath"];
    const nlohmann::json& upcall = (*r)["upcall"];
    return datapath.value("hit", uint64_t{0}) + datapath.value("lost", uint64_t{0}) +
           upcall.value("executes", uint64_t{0}) + upcall.value("execute_errors", uint64_t{0}) +
           upcall.value("upcall_errors", uint64_t{0});
  }

  Result<double> cpu_seconds() override { return process_cpu_seconds(process_->pid()); }
  Result<std::map<std::string, double>> cpu_seconds_by_thread() override {
    return process_cpu_seconds_by_thread(process_->pid());
  }

  Result<uint64_t> flows() override {
    Result<nlohmann::json> r = counters();
    if (!r) return r.status();
    return (*r)["datapath"].value("flows", uint64_t{0});
  }

 private:
  FlowliftdSetupPeer() = default;

  Result<nlohmann::json> call(const std::string& command, const nlohmann::json& args) {
    return process_->call(command, args);
  }

  // Polled every 200 us: without the text, which nobody reads here, the
  // daemon's reply costs it less (the CLI's `counters` still gets it). A
  // flowliftd older than the `text` argument (run with --flowliftd to get
  // "before" figures) refuses it: then the full reply is polled.
  Result<nlohmann::json> counters() {
    Result<nlohmann::json> r = call("counters", counters_args_);
    if (!r && counters_args_.contains("text") &&
        r.status().message().find("unknown argument \"text\"") != std::string::npos) {
      counters_args_ = nlohmann::json::object();
      return call("counters", counters_args_);
    }
    return r;
  }

  std::string directory_;
  nlohmann::json counters_args_ = {{"text", false}};
  std::unique_ptr<FlowliftdProcess> process_;
};

}  // namespace

namespace {

// One thread of a process: its name and CPU seconds so far.
struct TaskCpu {
  std::string comm;
  double seconds = 0;
};

Result<std::vector<TaskCpu>> process_tasks_cpu(pid_t pid) {
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code error;
  std::filesystem::directory_iterator it(tasks, error);
  if (error) return Status(ESRCH, "cannot read " + tasks.string() + ": " + error.message());
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::vector<TaskCpu> result;
  for (const auto& task : it) {
    std::ifstream stat(task.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    // "tid (comm) state ..." - comm may hold spaces, so split at the last ')'.
    size_t open = text.find('('), close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    TaskCpu entry;
    entry.comm = text.substr(open + 1, close - open - 1);
    // schedstat's first field is the time on CPU in nanoseconds; stat's
    // utime and stime count clock ticks (10 ms), too coarse for a per-setup
    // figure of a few microseconds over 10k setups. stat is the fallback
    // for kernels without schedstat.
    std::ifstream schedstat(task.path() / "schedstat");
    unsigned long long on_cpu_ns = 0;
    if (schedstat >> on_cpu_ns) {
      entry.seconds = static_cast<double>(on_cpu_ns) * 1e-9;
    } else {
      std::istringstream fields(text.substr(close + 2));
      std::string field;
      unsigned long long utime = 0, stime = 0;
      // After comm: state(3) ... utime is field 14, stime 15 (1-based in proc(5)).
      for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
      }
      entry.seconds = static_cast<double>(utime + stime) / ticks;
    }
    result.push_back(std::move(entry));
  }
  return result;
}

}  // namespace

Result<double> process_cpu_seconds(pid_t pid, const std::string& skip_prefix) {
  Result<std::vector<TaskCpu>> tasks = process_tasks_cpu(pid);
  if (!tasks) return tasks.status();
  double total = 0;
  for (const TaskCpu& task : *tasks)
    if (skip_prefix.empty() || !task.comm.starts_with(skip_prefix)) total += task.seconds;
  return total;
}

Result<std::map<std::string, double>> process_cpu_seconds_by_thread(pid_t pid) {
  Result<std::vector<TaskCpu>> tasks = process_tasks_cpu(pid);
  if (!tasks) return tasks.status();
  std::map<std::string, double> by_name;
  for (const TaskCpu& task : *tasks) {
    std::string name = task.comm;
    while (!name.empty() && name.back() >= '0' && name.back() <= '9') name.pop_back();
    by_name[name] += task.seconds;
  }
  return by_name;
}

Result<std::unique_ptr<FlowSetupPeer>> make_flowliftd_setup_peer(const std::string& program,
                                                                 const std::vector<std::string>& rules) {
  return FlowliftdSetupPeer::start(program, rules);
}

}  // namespace flowlift::bench
