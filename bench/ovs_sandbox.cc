// OvsSandbox: see ovs_sandbox.h.
#include "bench/ovs_sandbox.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

namespace flowlift::bench {

Result<std::string> run_shell(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return Status(errno, "cannot run: " + command);
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  int status = pclose(pipe);
  if (status != 0) {
    return Status(EIO,
                  "`" + command + "` failed (status " + std::to_string(WEXITSTATUS(status)) + "): " + output);
  }
  return output;
}

namespace {

Result<pid_t> read_pidfile(const std::string& path) {
  for (int i = 0; i < 100; ++i) {
    std::ifstream in(path);
    long pid = 0;
    if (in >> pid && pid > 0) return static_cast<pid_t>(pid);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status(ENOENT, "no pid in " + path);
}

void stop_pid(pid_t pid) {
  if (pid <= 0 || kill(pid, SIGTERM) != 0) return;
  for (int i = 0; i < 100 && kill(pid, 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (kill(pid, 0) == 0) kill(pid, SIGKILL);
}

// The end of the first complete JSON value in `text` (OVS's replies are not
// newline-delimited), or npos while it is incomplete.
size_t json_value_end(const std::string& text) {
  int depth = 0;
  bool in_string = false, escaped = false, started = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{' || c == '[') {
      ++depth;
      started = true;
    } else if (c == '}' || c == ']') {
      if (--depth == 0 && started) return i + 1;
    }
  }
  return std::string::npos;
}

}  // namespace

std::string OvsSandbox::environment() const {
  const std::string& d = directory_;
  return "OVS_RUNDIR=" + d + " OVS_DBDIR=" + d + " OVS_LOGDIR=" + d + " OVS_SYSCONFDIR=" + d +
         " OVS_PKGDATADIR=/usr/share/openvswitch ";
}

Result<std::unique_ptr<OvsSandbox>> OvsSandbox::start(const OvsSandboxOptions& options) {
  if (options.system_ports && options.netns.empty()) {
    return Status(EINVAL,
                  "OvsSandbox: system ports need a network namespace of their own (outside one, "
                  "ovs-vswitchd would delete the machine's kernel datapaths)");
  }
  for (const char* program : {"ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl"}) {
    if (!run_shell(std::string("command -v ") + program + " >/dev/null")) {
      return Status(
          ENOENT,
          std::string(program) +
              " not found: install Debian's openvswitch-switch (the sandbox never starts its service)");
    }
  }
  char pattern[] = "/tmp/flowlift-ovs-sandbox.XXXXXX";
  if (!mkdtemp(pattern)) return Status(errno, "mkdtemp: " + std::string(std::strerror(errno)));
  std::unique_ptr<OvsSandbox> box(new OvsSandbox());
  box->directory_ = pattern;
  const std::string& d = box->directory_;
  const std::string env = box->environment();
  if (auto r =
          run_shell(env + "ovsdb-tool create " + d + "/conf.db /usr/share/openvswitch/vswitch.ovsschema");
      !r)
    return r.status();
  if (auto r = run_shell(env + "ovsdb-server --detach --no-chdir --pidfile=" + d +
                         "/ovsdb-server.pid --log-file=" + d + "/ovsdb-server.log --remote=punix:" + d +
                         "/db.sock --unixctl=" + d + "/ovsdb-server.ctl " + d + "/conf.db");
      !r)
    return r.status();
  Result<pid_t> ovsdb = read_pidfile(d + "/ovsdb-server.pid");
  if (!ovsdb) return ovsdb.status();
  box->ovsdb_pid_ = *ovsdb;
  if (auto r = run_shell(env + "ovs-vsctl --no-wait --db=unix:" + d + "/db.sock init"); !r) return r.status();
  const std::string in_netns = options.netns.empty() ? "" : "ip netns exec " + options.netns + " ";
  const std::string dummy_only = options.system_ports ? "" : "--enable-dummy --disable-system ";
  if (auto r = run_shell(env + in_netns + "ovs-vswitchd " + dummy_only +
                         "--disable-system-route --detach "
                         "--no-chdir --pidfile=" +
                         d + "/ovs-vswitchd.pid --log-file=" + d +
                         "/ovs-vswitchd.log -vconsole:off unix:" + d + "/db.sock");
      !r)
    return r.status();
  Result<pid_t> vswitchd = read_pidfile(d + "/ovs-vswitchd.pid");
  if (!vswitchd) return vswitchd.status();
  box->vswitchd_pid_ = *vswitchd;
  if (Status s = box->connect_unixctl(); !s) return s;
  return box;
}

OvsSandbox::~OvsSandbox() {
  if (unixctl_fd_ >= 0) close(unixctl_fd_);
  stop_pid(vswitchd_pid_);
  stop_pid(ovsdb_pid_);
  std::error_code ignored;
  if (!directory_.empty()) std::filesystem::remove_all(directory_, ignored);
}

Status OvsSandbox::connect_unixctl() {
  const std::string path = directory_ + "/ovs-vswitchd." + std::to_string(vswitchd_pid_) + ".ctl";
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return Status(ENAMETOOLONG, "unixctl path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  for (int i = 0; i < 100; ++i) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Status(errno, "socket: " + std::string(std::strerror(errno)));
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
      unixctl_fd_ = fd;
      return Status::ok();
    }
    close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status(ECONNREFUSED, "cannot connect to " + path);
}

Result<std::string> OvsSandbox::vsctl(const std::string& arguments) {
  return run_shell(environment() + "ovs-vsctl --db=unix:" + directory_ + "/db.sock " + arguments);
}

Result<std::string> OvsSandbox::ofctl(const std::string& arguments) {
  return run_shell(environment() + "ovs-ofctl " + arguments);
}

Result<std::string> OvsSandbox::appctl(const std::string& method, const std::vector<std::string>& params) {
  nlohmann::json request = {{"method", method}, {"params", params}, {"id", next_id_++}};
  const std::string text = request.dump();
  for (size_t sent = 0; sent < text.size();) {
    ssize_t n = send(unixctl_fd_, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n < 0) return Status(errno, method + ": send: " + std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
  for (;;) {
    size_t end = json_value_end(pending_);
    if (end != std::string::npos) {
      nlohmann::json reply = nlohmann::json::parse(pending_.substr(0, end), nullptr, false);
      pending_.erase(0, end);
      if (reply.is_discarded() || !reply.is_object()) return Status(EPROTO, method + ": unreadable reply");
      if (reply.contains("error") && !reply["error"].is_null()) {
        return Status(EIO, method + ": " +
                               (reply["error"].is_string() ? reply["error"].get<std::string>()
                                                           : reply["error"].dump()));
      }
      return reply.contains("result") && reply["result"].is_string() ? reply["result"].get<std::string>()
                                                                     : "";
    }
    char buffer[65536];
    ssize_t n = recv(unixctl_fd_, buffer, sizeof buffer, 0);
    if (n <= 0) return Status(EPIPE, method + ": ovs-vswitchd closed the connection");
    pending_.append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace flowlift::bench
