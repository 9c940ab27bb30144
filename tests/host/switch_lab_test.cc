// The switch scenarios (switch_scenarios.h) in the lab, on Debian's kernel,
// under both datapaths: flowlift's userspace datapath and Linux's openvswitch
// module (flowliftd --datapath kernel). Then the comparison the kernel
// deployment promises: the same traffic through the same flow table under
// each datapath in turn gives the same packets out, byte for byte, and the
// same counters.
#include <algorithm>
#include <tuple>

#include "kmod/lab_test_support.h"
#include "tests/host/switch_scenarios.h"

namespace flowlift {

std::string switch_scenario_skip_reason(const std::string& /*datapath*/) { return lab_unavailable_reason(); }

namespace {

INSTANTIATE_TEST_SUITE_P(Datapaths, SwitchScenarioTest, ::testing::Values("userspace", "kernel", "kernel+tc"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param == "kernel+tc" ? std::string("kernel_tc") : info.param;
                         });

// What one datapath made of the fixed traffic.
struct DatapathOutcome {
  std::vector<Bytes> received;                                         // at h2, sorted
  std::vector<std::tuple<std::string, uint64_t, uint64_t>> rules;      // rule text, n_packets, n_bytes
  std::vector<std::tuple<std::string, uint64_t, uint64_t>> megaflows;  // actions, packets, bytes
  std::vector<std::string> placements;                                 // where each megaflow was
};

class SwitchDatapathComparison : public SwitchScenarioTest {
 protected:
  // Builds h1 and h2 around a fresh switch namespace, runs flowliftd over
  // `datapath` with the comparison's flow table, sends the traffic, and
  // stops everything again.
  DatapathOutcome run_under(const std::string& datapath) {
    datapath_ = datapath;
    DatapathOutcome outcome;
    if (!switch_) fresh_switch_namespace();
    TestNetns& h1 = add_host("h1", "p1", kMac1, "10.0.0.1");
    TestNetns& h2 = add_host("h2", "p2", kMac2, "10.0.0.2");
    start_switch(
        bridge_config(kTwoPorts,
                      {"priority=20,udp,in_port=p1,tp_dst=7000,actions=mod_tp_dst:7100,dec_ttl,output:p2",
                       "priority=20,udp,in_port=p1,tp_dst=7001,actions=mod_nw_tos:32,output:p2",
                       "priority=20,udp,in_port=p1,tp_dst=7002,actions=drop",
                       "priority=10,ip,in_port=p1,actions=output:p2", "priority=0,actions=drop"},
                      {{"max_idle_ms", 60000}}));
    if (::testing::Test::HasFatalFailure()) return outcome;
    // To an address h2 does not hold: h2's kernel takes the frames in and
    // answers none of them, so h2's socket sees only what the switch sent.
    const Be32 nowhere = ipv4_address(10, 0, 0, 99);
    std::vector<Bytes> traffic;
    for (uint16_t port : {7000, 7001, 7002, 7003})
      traffic.push_back(udp_frame(kMac2, kMac1, ipv4_address(10, 0, 0, 1), nowhere, port, 40 + port % 7));
    auto received = in_namespace(h2.name(), [&] {
      NetnsPacketSocket socket("eth0");
      in_namespace(h1.name(), [&] {
        NetnsPacketSocket out("eth0");
        for (int round = 0; round < 5; ++round) {
          for (const Bytes& frame : traffic) EXPECT_TRUE(out.send(frame));
          // The first round goes up to the slowpath (one megaflow per
          // frame); later rounds hit the megaflows.
          if (round == 0) {
            EXPECT_TRUE(wait_for_megaflow_count(traffic.size()));
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return 0;
      });
      std::vector<Bytes> frames;
      while (auto frame =
                 socket.receive_matching([](const Bytes& f) { return f.size() >= 36 && f[23] == 17; }, 1500))
        frames.push_back(*frame);
      return frames;
    });
    outcome.received = received.value_or(std::vector<Bytes>{});
    std::sort(outcome.received.begin(), outcome.received.end());
    call("revalidate");
    for (const json& flow : call("dump-flows", {{"bridge", "br0"}}).value("flows", json::array())) {
      // The rule by what it is (ages and durations differ between runs).
      const std::string rule = "priority=" + std::to_string(flow.value("priority", 0)) + "," +
                               flow.value("match", "") + " actions=" + flow.value("actions", "");
      outcome.rules.emplace_back(rule, flow.value("n_packets", uint64_t{0}),
                                 flow.value("n_bytes", uint64_t{0}));
    }
    std::sort(outcome.rules.begin(), outcome.rules.end());
    for (const json& flow : megaflows()) {
      outcome.megaflows.emplace_back(flow.value("actions", ""), flow.value("packets", uint64_t{0}),
                                     flow.value("bytes", uint64_t{0}));
      outcome.placements.push_back(flow["where"].value("placement", ""));
    }
    std::sort(outcome.megaflows.begin(), outcome.megaflows.end());
    stop_switch();
    return outcome;
  }
};

TEST_P(SwitchDatapathComparison, SameTrafficGivesTheSamePacketsAndCountersUnderEveryDatapathAndUnderTc) {
  DatapathOutcome userspace = run_under("userspace");
  ASSERT_FALSE(HasFatalFailure());
  DatapathOutcome kernel = run_under("kernel");
  ASSERT_FALSE(HasFatalFailure());
  // 5 rounds of 4 frames, one of the 4 dropped by its rule.
  ASSERT_EQ(userspace.received.size(), 15u);
  EXPECT_EQ(kernel.received, userspace.received) << "the packets out differ between the datapaths";
  EXPECT_EQ(kernel.rules, userspace.rules) << "the OpenFlow rules' counters differ";
  EXPECT_EQ(kernel.megaflows, userspace.megaflows) << "the megaflows' actions or counters differ";
  // The same traffic through TC flower (skip_hw) in front of the kernel
  // datapath: the same packets out and the same counters, wherever counted.
  DatapathOutcome offloaded = run_under("kernel+tc");
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(offloaded.received, kernel.received) << "the packets out differ between TC and the datapath";
  EXPECT_EQ(offloaded.rules, kernel.rules) << "the OpenFlow rules' counters differ under TC offload";
  EXPECT_EQ(offloaded.megaflows, kernel.megaflows) << "the megaflows' actions or counters differ under TC offload";
  EXPECT_EQ(offloaded.placements, std::vector<std::string>(offloaded.megaflows.size(), "tc_sw"));
  // And the counters are the traffic's: 5 packets per rule that matched.
  for (const auto& [rule, packets, bytes] : userspace.rules) {
    if (rule.find("7000") != std::string::npos || rule.find("7001") != std::string::npos) {
      EXPECT_EQ(packets, 5u) << rule;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(KernelAgainstUserspace, SwitchDatapathComparison, ::testing::Values("kernel"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace flowlift
