// Test-only: network namespaces, veth pairs and raw sockets for the host
// tests (*_host_test.cc, which need root and run serially). Every test builds
// its own namespaces, so nothing it does touches the machine's own network,
// and the destructors delete them (and so their devices) also when a test
// fails. Shared by the AF_PACKET, underlay resolver and userspace Dpif host
// tests.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "flowlift/status.h"

namespace flowlift {

struct NetnsCommandOutput {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

inline NetnsCommandOutput run_netns_command(const std::string& command) {
  NetnsCommandOutput result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t got = 0;
  while ((got = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, got);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// `ip ARGUMENTS`, quietly; true when it succeeded.
inline bool run_ip(const std::string& arguments) {
  return run_netns_command("ip " + arguments).exit_code == 0;
}

// Empty when this process can build namespaces; otherwise why not (for GTEST_SKIP).
inline std::string netns_unusable_reason() {
  if (::geteuid() != 0) return "needs root (network namespaces, veth, AF_PACKET)";
  if (run_netns_command("ip netns list").exit_code != 0) return "`ip netns` is not available";
  return "";
}

// A name no other test of this process (or another process) uses.
inline std::string unique_netns_name(const std::string& role) {
  static std::atomic<int> counter{0};
  return "fl" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + role;
}

// Runs `body` on a fresh thread that has entered namespace `ns` (setns
// affects only the calling thread, and the thread is discarded afterwards,
// so the test's own thread never changes namespace). Sockets opened there
// stay in `ns`; threads started there start in `ns` too. Empty when the
// namespace could not be entered.
template <typename Body>
auto in_namespace(const std::string& ns, Body body) -> std::optional<decltype(body())> {
  std::optional<decltype(body())> result;
  std::thread worker([&] {
    int ns_fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (ns_fd < 0) return;
    bool entered = ::setns(ns_fd, CLONE_NEWNET) == 0;
    ::close(ns_fd);
    if (entered) result.emplace(body());
  });
  worker.join();
  return result;
}

// A network namespace for one test's lifetime: `ip netns add` in the
// constructor, `ip netns del` in the destructor.
class TestNetns {
 public:
  explicit TestNetns(std::string name) : name_(std::move(name)) {
    created_ = run_netns_command("ip netns add " + name_).exit_code == 0;
  }
  ~TestNetns() {
    if (created_) (void)run_netns_command("ip netns del " + name_);
  }
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;

  bool created() const { return created_; }
  const std::string& name() const { return name_; }

  // Runs `ip -n NAME ARGS`; a failure fails the test with ip's message.
  std::string ip(const std::string& arguments) const {
    NetnsCommandOutput result = run_netns_command("ip -n " + name_ + " " + arguments);
    EXPECT_EQ(result.exit_code, 0) << "ip -n " << name_ << " " << arguments << ": " << result.output;
    return result.output;
  }
  nlohmann::json ip_json(const std::string& arguments) const {
    return nlohmann::json::parse(ip("-j " + arguments), nullptr, /*allow_exceptions=*/false);
  }
  // Turns IPv6 off in the namespace (devices created afterwards included),
  // so no neighbour discovery or router solicitation lands in packet rings.
  bool disable_ipv6() const {
    return exec("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1")
               .exit_code == 0;
  }
  // Runs a shell command inside the namespace (`ip netns exec`).
  NetnsCommandOutput exec(const std::string& command) const {
    return run_netns_command("ip netns exec " + name_ + " " + command);
  }

  // Runs `work` (returning a Result or Status) inside this namespace, as in_namespace.
  template <typename Work>
  auto inside(Work work) const -> decltype(work()) {
    auto result = in_namespace(name_, work);
    if (!result) return Status(EIO, "cannot enter network namespace " + name_);
    return std::move(*result);
  }

 private:
  std::string name_;
  bool created_ = false;
};

// A plain AF_PACKET socket on a device, written directly against the kernel
// API so that it checks flowlift's ports independently. Open it inside the
// device's namespace (in_namespace); it stays there.
class NetnsPacketSocket {
 public:
  using Bytes = std::vector<uint8_t>;

  explicit NetnsPacketSocket(const std::string& device) {
    fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    ifindex_ = static_cast<int>(::if_nametoindex(device.c_str()));
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = ifindex_;
    bound_ = fd_ >= 0 && ifindex_ > 0 &&
             ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  }
  ~NetnsPacketSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  NetnsPacketSocket(NetnsPacketSocket&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), ifindex_(other.ifindex_), bound_(other.bound_) {}
  NetnsPacketSocket(const NetnsPacketSocket&) = delete;

  bool ok() const { return bound_; }
  bool send(const Bytes& frame) {
    return ::send(fd_, frame.data(), frame.size(), 0) == static_cast<ssize_t>(frame.size());
  }
  // The next incoming (not our own outgoing) frame carrying `ethertype`.
  std::optional<Bytes> receive(uint16_t ethertype, int timeout_ms = 1000) {
    return receive_matching(
        [&](const Bytes& frame) { return frame[12] == (ethertype >> 8) && frame[13] == (ethertype & 0xff); },
        timeout_ms);
  }
  // The next incoming frame `accept` says yes to (at least 14 bytes long).
  template <typename Accept>
  std::optional<Bytes> receive_matching(Accept accept, int timeout_ms = 1000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd waiting{fd_, POLLIN, 0};
      if (::poll(&waiting, 1, 50) <= 0) continue;
      Bytes buffer(9000);
      sockaddr_ll from{};
      socklen_t from_length = sizeof from;
      ssize_t n = ::recvfrom(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT,
                             reinterpret_cast<sockaddr*>(&from), &from_length);
      if (n < 14 || from.sll_pkttype == PACKET_OUTGOING) continue;
      buffer.resize(static_cast<size_t>(n));
      if (accept(buffer)) return buffer;
    }
    return std::nullopt;
  }

 private:
  int fd_ = -1;
  int ifindex_ = 0;
  bool bound_ = false;
};

}  // namespace flowlift
