// The offload conformance suite in the lab VM: the whole table through (a)
// the openvswitch module's table alone and (b) OffloadingDpif with TC flower
// under skip_hw (the VM has no NIC), on veth pairs whose far ends are the
// peers, plus a third veth pair as the VXLAN underlay (192.168.77.1 here,
// 192.168.77.2 a permanent neighbour at the peer's MAC). Every case must
// give byte-identical outputs equal to the table's, equal counters, and the
// placement the table documents (tc_sw, or the datapath with the refusal's
// reason). The markdown and JSON reports go to $FLOWLIFT_LAB_RUN_DIR. A
// second test runs `flowlift conformance` itself on the same devices.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "kmod/kernel_dpif.h"
#include "kmod/lab_test_support.h"
#include "offload/offloading_dpif.h"
#include "offload/tc_offload_provider.h"
#include "slowpath/cli.h"
#include "slowpath/offload_conformance_report.h"

namespace flowlift {
namespace {

constexpr EthAddr kUnderlayMac = {0x02, 0xfe, 0, 0, 0, 0x01};
constexpr EthAddr kUnderlayPeerMac = {0x02, 0xfe, 0, 0, 0, 0x02};

void write_run_file(const std::string& name, const std::string& text) {
  const char* directory = std::getenv("FLOWLIFT_LAB_RUN_DIR");
  if (directory == nullptr || *directory == '\0') return;
  std::ofstream(std::string(directory) + "/" + name) << text;
}

class OffloadConformanceLab : public LabTest {
 protected:
  void SetUp() override {
    LabTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_EQ(run_netns_command("modprobe openvswitch").exit_code, 0);
    (void)run_netns_command("modprobe vport-vxlan");
    const std::string tag = std::to_string(::getpid() % 1000);
    devices_.in = "cfi" + tag;
    devices_.out = "cfo" + tag;
    devices_.underlay = "cfu" + tag;
    for (std::string* device : {&devices_.in, &devices_.out, &devices_.underlay}) {
      const std::string peer = *device + "p";
      ASSERT_TRUE(run_ip("link add " + *device + " type veth peer name " + peer));
      created_.push_back(*device);
      for (const std::string& end : {*device, peer}) {
        // No IPv6 chatter (router solicitations, DAD) on the wires under test.
        (void)run_netns_command("sysctl -qw net.ipv6.conf." + end + ".disable_ipv6=1");
      }
    }
    devices_.in_peer = devices_.in + "p";
    devices_.out_peer = devices_.out + "p";
    devices_.underlay_peer = devices_.underlay + "p";
    ASSERT_TRUE(run_ip("link set " + devices_.underlay + " address 02:fe:00:00:00:01"));
    ASSERT_TRUE(run_ip("link set " + devices_.underlay_peer + " address 02:fe:00:00:00:02"));
    for (const std::string& device : created_) {
      ASSERT_TRUE(run_ip("link set " + device + " up"));
      ASSERT_TRUE(run_ip("link set " + device + "p up"));
    }
    ASSERT_TRUE(run_ip("addr add 192.168.77.1/24 dev " + devices_.underlay));
    ASSERT_TRUE(
        run_ip("neigh replace 192.168.77.2 lladdr 02:fe:00:00:00:02 nud permanent dev " + devices_.underlay));
  }
  void TearDown() override {
    for (const std::string& device : created_) (void)run_ip("link del " + device);
  }

  ConformanceRun run_through(bool through_tc) {
    auto kernel = KernelDpif::open("flcf" + std::to_string(::getpid() % 10000));
    EXPECT_TRUE(kernel) << kernel.status().message();
    if (!kernel) return {};
    std::unique_ptr<Dpif> dpif = std::move(*kernel);
    if (through_tc) {
      TcOffloadConfig config;
      config.default_policy = TcPolicy::kSkipHw;
      auto provider = TcOffloadProvider::open(config);
      EXPECT_TRUE(provider) << provider.status().message();
      if (!provider) return {};
      dpif = std::make_unique<OffloadingDpif>(std::move(dpif), std::move(*provider), true);
    }
    auto ports = add_conformance_ports(*dpif, devices_, "flcfvx");
    EXPECT_TRUE(ports) << ports.status().message();
    if (!ports) return {};
    auto run =
        run_offload_conformance(*dpif, *ports, devices_, cases_, through_tc ? "tc skip_hw" : "datapath");
    EXPECT_TRUE(run) << run.status().message();
    return run ? *run : ConformanceRun{};
  }

  ConformanceDevices devices_;
  std::vector<std::string> created_;
  std::vector<OffloadConformanceCase> cases_ =
      *offload_conformance_cases(default_conformance_underlay(kUnderlayMac, kUnderlayPeerMac));
};

TEST_F(OffloadConformanceLab, EveryCaseGivesTheSameFramesAndCountersThroughTcAsThroughTheDatapath) {
  ConformanceRun datapath = run_through(false);
  ConformanceRun tc = run_through(true);
  std::vector<ConformanceVerdict> verdicts = compare_conformance_runs(cases_, datapath, tc);
  const std::string markdown = conformance_markdown_table(verdicts);
  write_run_file("offload-conformance.md", markdown);
  write_run_file("offload-conformance.json", conformance_json(verdicts).dump(2) + "\n");
  std::cout << conformance_terminal_table(verdicts);
  ASSERT_EQ(verdicts.size(), cases_.size());
  for (size_t i = 0; i < verdicts.size(); ++i) {
    const ConformanceVerdict& verdict = verdicts[i];
    EXPECT_FALSE(verdict.skipped) << verdict.name << ": " << verdict.note;
    EXPECT_EQ(verdict.packets_in, cases_[i].sent.size()) << verdict.name;
    if (!cases_[i].known_divergence.empty()) {
      // Reported as it is (the table says why), not failed on.
      std::cout << verdict.name << (verdict.pass ? " passed" : " diverged as documented") << ": "
                << cases_[i].known_divergence << (verdict.note.empty() ? "" : "; seen: " + verdict.note)
                << "\n";
      continue;
    }
    EXPECT_TRUE(verdict.pass) << verdict.name << ": " << verdict.note;
    EXPECT_TRUE(verdict.placement_as_expected)
        << verdict.name << ": placed " << verdict.placement << " (" << verdict.reason << ")"
        << (cases_[i].expected_refusal.empty() ? ", expected in TC"
                                               : ", expected a refusal naming " + cases_[i].expected_refusal);
  }
}

TEST_F(OffloadConformanceLab, FlowliftConformanceRunsTheSuiteOnTheGivenDevices) {
  std::vector<std::string> arguments = {
      "conformance",          "--port",     devices_.in,       "--peer",
      devices_.in_peer,       "--out",      devices_.out,      "--out-peer",
      devices_.out_peer,      "--underlay", devices_.underlay, "--underlay-peer",
      devices_.underlay_peer, "--policy",   "skip_hw",         "--json"};
  std::istringstream input;
  std::ostringstream output, errors;
  const int status = run_cli(arguments, input, output, errors);
  write_run_file("offload-conformance-cli.json", output.str());
  nlohmann::json report = nlohmann::json::parse(output.str(), nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << output.str() << errors.str();
  ASSERT_EQ(report["cases"].size(), cases_.size());
  bool divergence_seen = false;
  int in_tc = 0, refused = 0, documented_refusals = 0;
  for (size_t i = 0; i < cases_.size(); ++i) {
    const nlohmann::json& verdict = report["cases"][i];
    EXPECT_EQ(verdict["case"], cases_[i].name);
    if (verdict["placement"] == "tc_sw") ++in_tc;
    if (verdict["placement"] == "datapath") ++refused;
    if (!cases_[i].expected_refusal.empty()) ++documented_refusals;
    if (!cases_[i].known_divergence.empty()) {
      divergence_seen = divergence_seen || verdict["pass"] == false;
      continue;
    }
    EXPECT_EQ(verdict["pass"], true) << verdict.dump(2);
  }
  // Exit status 1 says some case failed: only a documented divergence may.
  EXPECT_EQ(status, divergence_seen ? 1 : 0) << errors.str();
  EXPECT_EQ(refused, documented_refusals) << report.dump(2);
  EXPECT_EQ(in_tc + refused, static_cast<int>(cases_.size())) << report.dump(2);
}

}  // namespace
}  // namespace flowlift
