// FlowliftdProcess: see flowliftd_process.h.
#include "bench/flowliftd_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

extern char** environ;

namespace flowlift::bench {

Result<std::unique_ptr<FlowliftdProcess>> FlowliftdProcess::start(const FlowliftdProcessOptions& options) {
  std::unique_ptr<FlowliftdProcess> process(new FlowliftdProcess());
  std::vector<std::string> argv;
  if (!options.netns.empty()) argv = {"ip", "netns", "exec", options.netns};
  for (const std::string& word : {options.program, std::string("--config"), options.config_path,
                                  std::string("--control"), options.socket_path})
    argv.push_back(word);
  std::vector<char*> args;
  for (std::string& word : argv) args.push_back(word.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, options.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  int error = posix_spawnp(&process->pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) return Status(error, "cannot start " + options.program);

  for (int attempt = 0; attempt < 100; ++attempt) {
    if (options.interrupted && options.interrupted->load()) return Status(EINTR, "interrupted");
    Result<ControlConnection> connection = ControlConnection::open(options.socket_path);
    if (connection) {
      process->connection_.emplace(std::move(*connection));
      return process;
    }
    int status = 0;
    if (::waitpid(process->pid_, &status, WNOHANG) == process->pid_) {
      process->pid_ = 0;
      std::ifstream log(options.log_path);
      return Status(
          EIO, options.program + " exited at start: " + std::string(std::istreambuf_iterator<char>(log), {}));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status(ETIMEDOUT, options.program + " did not answer on " + options.socket_path);
}

FlowliftdProcess::~FlowliftdProcess() {
  connection_.reset();
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
}

Result<nlohmann::json> FlowliftdProcess::call(const std::string& command, const nlohmann::json& args) {
  Result<nlohmann::json> response = connection_->request({{"command", command}, {"args", args}});
  if (!response) return response.status();
  if (!(*response).value("ok", false)) return Status(EIO, (*response).value("error", command + " failed"));
  return (*response).value("result", nlohmann::json::object());
}

}  // namespace flowlift::bench
