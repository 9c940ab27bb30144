// Lab test of `flowliftd --datapath kernel`: the daemon, built beside this
// binary (build/tools/flowliftd and flowlift), runs a bridge of two veth
// ports on Linux's openvswitch module. Pings cross it through megaflows the
// daemon installed, and Open vSwitch's ovs-dpctl lists the same ports and
// the same megaflows (match and actions) as `flowlift dump-megaflows`.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kmod/netns_test_support.h"

namespace flowlift {
namespace {

std::filesystem::path build_directory() {
  // This binary is build/kmod/flowlift_kmod_lab_test.
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// "MATCH actions:ACTIONS" of a dump line, without UFID, statistics and the
// verbose dp/offload fields.
std::string match_and_actions(std::string line) {
  if (line.rfind("ufid:", 0) == 0) line = line.substr(line.find(", ") + 2);
  size_t statistics = line.find(", packets:");
  size_t actions = line.find("actions:");
  if (statistics == std::string::npos || actions == std::string::npos) return line;
  return line.substr(0, statistics) + " " + line.substr(actions);
}

class FlowliftdKernelLab : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = netns_unusable_reason(); !why.empty()) GTEST_SKIP() << why;
    if (run_netns_command("modprobe openvswitch").exit_code != 0) {
      GTEST_SKIP() << "the openvswitch module cannot be loaded here (run this binary in the lab VM)";
    }
    flowliftd_ = build_directory() / "tools" / "flowliftd";
    flowlift_ = build_directory() / "tools" / "flowlift";
    if (!std::filesystem::exists(flowliftd_) || !std::filesystem::exists(flowlift_)) {
      GTEST_SKIP() << "flowliftd or flowlift not built beside this test (" << flowliftd_ << ")";
    }
    work_ = "/tmp/fl-kernel-lab-" + std::to_string(::getpid());
    std::filesystem::create_directories(work_);
    left_ = std::make_unique<TestNetns>(unique_netns_name("l"));
    right_ = std::make_unique<TestNetns>(unique_netns_name("r"));
    ASSERT_TRUE(left_->created() && right_->created());
    // No IPv6 chatter: only the pings make megaflows.
    ASSERT_TRUE(left_->disable_ipv6() && right_->disable_ipv6());
  }
  void TearDown() override {
    stop_daemon();
    (void)run_ip("link del fldk1");
    (void)run_ip("link del fldk2");
    left_.reset();
    right_.reset();
    if (!work_.empty()) std::filesystem::remove_all(work_);
  }

  void start_daemon(const std::string& config) {
    std::ofstream(work_ + "/config.json") << config;
    daemon_ = ::fork();
    ASSERT_GE(daemon_, 0);
    if (daemon_ == 0) {
      std::string log = work_ + "/daemon.log";
      FILE* out = std::freopen(log.c_str(), "w", stderr);
      (void)out;
      ::execl(flowliftd_.c_str(), "flowliftd", "--datapath", "kernel", "--datapath-name", "fldaemon",
              "--config", (work_ + "/config.json").c_str(), "--control", (work_ + "/fl.sock").c_str(),
              nullptr);
      ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (cli("counters").exit_code == 0) return;
      int status = 0;
      ASSERT_EQ(::waitpid(daemon_, &status, WNOHANG), 0) << "flowliftd exited at start:\n" << daemon_log();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "flowliftd did not answer on its control socket:\n" << daemon_log();
  }
  void stop_daemon() {
    if (daemon_ <= 0) return;
    ::kill(daemon_, SIGTERM);
    int status = 0;
    ::waitpid(daemon_, &status, 0);
    daemon_ = -1;
  }
  NetnsCommandOutput cli(const std::string& arguments) {
    return run_netns_command(flowlift_.string() + " --control " + work_ + "/fl.sock " + arguments);
  }
  std::string daemon_log() {
    std::ifstream file(work_ + "/daemon.log");
    return std::string(std::istreambuf_iterator<char>(file), {});
  }

  std::filesystem::path flowliftd_, flowlift_;
  std::string work_;
  std::unique_ptr<TestNetns> left_, right_;
  pid_t daemon_ = -1;
};

TEST_F(FlowliftdKernelLab, PingsCrossTheKernelDatapathAndOvsDpctlSeesOurPortsAndMegaflows) {
  ASSERT_TRUE(run_ip("link add fldk1 type veth peer name eth0 netns " + left_->name()));
  ASSERT_TRUE(run_ip("link add fldk2 type veth peer name eth0 netns " + right_->name()));
  ASSERT_TRUE(run_ip("link set fldk1 up") && run_ip("link set fldk2 up"));
  left_->ip("addr add 10.9.0.1/24 dev eth0");
  right_->ip("addr add 10.9.0.2/24 dev eth0");
  left_->ip("link set eth0 up");
  right_->ip("link set eth0 up");
  start_daemon(R"({"flowlift_config": 1, "bridges": [{"name": "br0", "ports": [
      {"name": "fldk1", "type": "system", "ofport": 1}, {"name": "fldk2", "type": "system", "ofport": 2}],
      "flows": ["priority=10,in_port=1,actions=output:2", "priority=10,in_port=2,actions=output:1",
                "priority=0,actions=drop"]}]})");
  if (HasFatalFailure()) return;

  NetnsCommandOutput ping = left_->exec("ping -c 3 -i 0.2 -W 2 10.9.0.2");
  EXPECT_EQ(ping.exit_code, 0) << ping.output << "\n" << daemon_log();

  NetnsCommandOutput shown = run_netns_command("ovs-dpctl show fldaemon");
  ASSERT_EQ(shown.exit_code, 0) << shown.output;
  EXPECT_NE(shown.output.find(": fldk1"), std::string::npos) << shown.output;
  EXPECT_NE(shown.output.find(": fldk2"), std::string::npos) << shown.output;

  NetnsCommandOutput theirs = run_netns_command("ovs-dpctl dump-flows fldaemon");
  NetnsCommandOutput ours = cli("dump-megaflows");
  ASSERT_EQ(theirs.exit_code, 0) << theirs.output;
  ASSERT_EQ(ours.exit_code, 0) << ours.output;
  std::set<std::string> their_flows, our_flows;
  for (const std::string& line : lines_of(theirs.output)) their_flows.insert(match_and_actions(line));
  for (const std::string& line : lines_of(ours.output))
    if (line.find("actions:") != std::string::npos) our_flows.insert(match_and_actions(line));
  EXPECT_FALSE(our_flows.empty()) << ours.output;
  EXPECT_EQ(our_flows, their_flows) << "ovs-dpctl:\n" << theirs.output << "flowlift:\n" << ours.output;

  stop_daemon();
  EXPECT_NE(run_netns_command("ovs-dpctl show fldaemon").exit_code, 0) << "the datapath outlived flowliftd";
}

}  // namespace
}  // namespace flowlift
