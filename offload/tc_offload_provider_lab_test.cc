// Lab tests of TC offload end to end: an OffloadingDpif over Linux's
// openvswitch datapath and the TC provider, on veth pairs in Debian's kernel
// (the lab VM). Packets sent by a peer namespace are forwarded by the flower
// filter itself (the datapath never sees them), dumps say where each flow is
// and why, counters come from TC, and the provider mends a deleted qdisc and
// removes a previous run's filters. `tc -j -s filter show` is the judge of
// what the kernel holds.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "kmod/frame_builder_for_tests.h"
#include "kmod/kernel_dpif.h"
#include "kmod/lab_datapath_for_tests.h"
#include "kmod/lab_test_support.h"
#include "kmod/netns_test_support.h"
#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_key.h"
#include "offload/offloading_dpif.h"
#include "offload/tc_offload_provider.h"

namespace flowlift {
namespace {

using testing::FrameBuilder;
using testing::ipv4_address;
using testing::Ipv4Fields;

constexpr EthAddr kMacA = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
constexpr EthAddr kMacB = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0b};

std::vector<uint8_t> udp_frame(uint8_t last_octet, uint16_t destination_port) {
  Ipv4Fields ip;
  ip.total_length = 20 + 8 + 4;
  ip.protocol = 17;
  ip.src = ipv4_address(10, 0, 0, 1);
  ip.dst = ipv4_address(10, 0, 0, last_octet);
  FrameBuilder frame;
  frame.ethernet(kMacB, kMacA, 0x0800).ipv4(ip).udp(1234, destination_port, 12).bytes({'t', 'c', 'o', 'k'});
  return frame.frame();
}

Ufid ufid_of(uint8_t id) { return testing::lab_ufid(id, 0x7c); }

class TcOffloadLab : public LabTest {
 protected:
  void SetUp() override {
    LabTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_EQ(run_netns_command("modprobe openvswitch").exit_code, 0);
    static int counter = 0;
    const std::string tag = std::to_string(::getpid() % 1000) + std::to_string(counter++);
    datapath_name_ = "fltc" + tag;
    a_ = "ta" + tag;
    b_ = "tb" + tag;
    peer_ = std::make_unique<TestNetns>(unique_netns_name("tcpeer"));
    ASSERT_TRUE(peer_->created());
    for (const std::string& name : {a_, b_})
      ASSERT_TRUE(testing::add_peer_veth(name, *peer_)) << "veth " << name;
  }
  void TearDown() override {
    dpif_.reset();
    for (const std::string& name : {a_, b_})
      if (!name.empty()) (void)run_ip("link del " + name);
    peer_.reset();
  }

  void open(TcPolicy policy, std::string profile = "tc-software",
            TcActionCounters counters = TcActionCounters::kAuto) {
    dpif_.reset();
    auto kernel = KernelDpif::open(datapath_name_);
    ASSERT_TRUE(kernel) << kernel.status().message();
    TcOffloadConfig config;
    config.default_policy = policy;
    config.profile = std::move(profile);
    config.action_counters = counters;
    auto provider = TcOffloadProvider::open(config);
    ASSERT_TRUE(provider) << provider.status().message();
    provider_ = provider->get();
    dpif_ = std::make_unique<OffloadingDpif>(std::move(*kernel), std::move(*provider));
    port_a_ = *dpif_->port_add({.name = a_, .type = DpifPortType::kSystem});
    port_b_ = *dpif_->port_add({.name = b_, .type = DpifPortType::kSystem});
  }

  DpifFlowPut put_of(uint8_t id, const std::string& match, const std::string& actions) {
    return testing::dpctl_text_put(ufid_of(id), match, actions);
  }
  // UDP to 10.0.0.<octet> from port a to port b.
  DpifFlowPut forward_a_to_b(uint8_t id, uint8_t octet) {
    return put_of(id,
                  "recirc_id(0),in_port(" + std::to_string(port_a_) +
                      "),eth(src=02:00:00:00:00:0a,dst=02:00:00:00:00:0b),eth_type(0x0800),ipv4(dst=10.0.0." +
                      std::to_string(octet) + ",proto=17,frag=no)",
                  std::to_string(port_b_));
  }

  // Sends `count` frames into port a from the peer; returns how many came out of port b.
  int send_through(const std::vector<uint8_t>& frame, int count) {
    auto sender = in_namespace(peer_->name(), [&] { return NetnsPacketSocket(a_ + "p"); });
    auto receiver = in_namespace(peer_->name(), [&] { return NetnsPacketSocket(b_ + "p"); });
    EXPECT_TRUE(sender && sender->ok() && receiver && receiver->ok());
    if (!sender || !receiver) return -1;
    int received = 0;
    for (int i = 0; i < count; ++i) {
      EXPECT_TRUE(sender->send(frame));
      if (receiver->receive_matching([&](const std::vector<uint8_t>& got) { return got == frame; }, 2000))
        ++received;
    }
    return received;
  }

  nlohmann::json tc_filters(const std::string& device) {
    NetnsCommandOutput shown = run_netns_command("tc -j -s filter show dev " + device + " ingress");
    EXPECT_EQ(shown.exit_code, 0) << shown.output;
    nlohmann::json parsed = nlohmann::json::parse(shown.output, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << shown.output;
    nlohmann::json filters = nlohmann::json::array();
    if (parsed.is_array())
      for (const nlohmann::json& filter : parsed)
        if (filter.contains("options")) filters.push_back(filter);
    return filters;
  }

  Megaflow only_flow() {
    std::vector<Megaflow> flows = dpif_->flow_dump();
    EXPECT_EQ(flows.size(), 1u);
    return flows.empty() ? Megaflow{} : flows.front();
  }

  std::string datapath_name_, a_, b_;
  std::unique_ptr<TestNetns> peer_;
  std::unique_ptr<OffloadingDpif> dpif_;
  TcOffloadProvider* provider_ = nullptr;
  uint32_t port_a_ = 0, port_b_ = 0;
};

TEST_F(TcOffloadLab, AVethPortIsDetectedAsVethAndJudgedByTcSoftware) {
  open(TcPolicy::kNone, "ice-e810");
  // veth_get_drvinfo says "veth", which no built-in profile names: the
  // daemon-wide profile (here ice-e810) applies, as to any unknown driver.
  std::vector<TcOffloadDeviceReport> reports = provider_->device_reports();
  ASSERT_EQ(reports.size(), 2u);
  for (const TcOffloadDeviceReport& report : reports) {
    EXPECT_EQ(report.driver, "veth") << report.device << ": " << report.driver_problem;
    EXPECT_EQ(report.profile, "ice-e810") << report.device;
    EXPECT_EQ(report.origin, TcProfileOrigin::kDefault) << report.device;
  }
  open(TcPolicy::kSkipHw);
  for (const TcOffloadDeviceReport& report : provider_->device_reports()) {
    EXPECT_EQ(report.profile, "tc-software") << report.device;
    EXPECT_EQ(report.judged_by, "tc-software") << report.device;
  }
}

TEST_F(TcOffloadLab, AnOffloadedFlowIsForwardedByTcAndCountedThereNotInTheDatapath) {
  open(TcPolicy::kSkipHw);
  ASSERT_EQ(*dpif_->flow_put(forward_a_to_b(1, 2)), DpifPutOutcome::kCreated);
  Megaflow flow = only_flow();
  EXPECT_EQ(flow.location.placement, MegaflowPlacement::kTcSoftware);
  EXPECT_EQ(flow.location.provider, "tc");
  EXPECT_EQ(flow.location.reason, "policy skip_hw on " + a_);
  EXPECT_TRUE(dpif_->datapath().flow_dump().empty()) << "an offloaded flow must not also be in the datapath";

  EXPECT_EQ(send_through(udp_frame(2, 53), 3), 3);
  flow = only_flow();
  EXPECT_EQ(flow.stats.packets, 3u);
  EXPECT_EQ(flow.location.tc_software.packets, 3u);
  EXPECT_EQ(flow.location.hardware.packets, 0u);
  EXPECT_NE(flow.stats.used_ms, 0u);

  nlohmann::json filters = tc_filters(a_);
  ASSERT_EQ(filters.size(), 1u) << filters.dump(2);
  EXPECT_EQ(filters[0]["kind"], "flower");
  EXPECT_EQ(filters[0]["options"]["keys"]["dst_ip"], "10.0.0.2") << filters.dump(2);
  EXPECT_EQ(filters[0]["options"]["skip_hw"], true) << filters.dump(2);

  Result<Megaflow> deleted = dpif_->flow_del(ufid_of(1));
  ASSERT_TRUE(deleted) << deleted.status().message();
  EXPECT_EQ(deleted->stats.packets, 3u);
  EXPECT_TRUE(tc_filters(a_).empty());
}

TEST_F(TcOffloadLab, PolicyNoneOnADeviceWithoutHardwareIsTcSoftwareOnTheKernelsWord) {
  open(TcPolicy::kNone);
  ASSERT_TRUE(dpif_->flow_put(forward_a_to_b(1, 2)));
  Megaflow flow = only_flow();
  EXPECT_EQ(flow.location.placement, MegaflowPlacement::kTcSoftware);
  EXPECT_EQ(flow.location.reason, "kernel: not in hardware (NOT_IN_HW)");
  EXPECT_EQ(send_through(udp_frame(2, 53), 1), 1);
}

TEST_F(TcOffloadLab, SkipSwOnADeviceWithoutHardwareFallsBackToTheDatapathWithTheKernelsReason) {
  open(TcPolicy::kSkipSw);
  ASSERT_TRUE(dpif_->flow_put(forward_a_to_b(1, 2)));
  Megaflow flow = only_flow();
  EXPECT_EQ(flow.location.placement, MegaflowPlacement::kDatapath);
  EXPECT_NE(flow.location.reason.find("kernel: "), std::string::npos) << flow.location.reason;
  EXPECT_EQ(dpif_->datapath().flow_dump().size(), 1u);
  EXPECT_TRUE(tc_filters(a_).empty());
  EXPECT_EQ(send_through(udp_frame(2, 53), 1), 1) << "the datapath forwards it instead";
}

TEST_F(TcOffloadLab, WhatTcCannotExpressStaysInTheDatapathSayingWhy) {
  open(TcPolicy::kSkipHw);
  DpifFlowPut put = forward_a_to_b(1, 2);
  put.flow.actions = *parse_actions("trunc(100)," + std::to_string(port_b_));
  Result<DpifPutOutcome> outcome = dpif_->flow_put(put);
  ASSERT_TRUE(outcome) << outcome.status().message();
  Megaflow flow = only_flow();
  EXPECT_EQ(flow.location.placement, MegaflowPlacement::kDatapath);
  EXPECT_NE(flow.location.reason.find("trunc"), std::string::npos) << flow.location.reason;
  EXPECT_TRUE(tc_filters(a_).empty());
}

TEST_F(TcOffloadLab, ADeletedQdiscIsRecreatedWithItsFiltersAndCountersCarryOn) {
  open(TcPolicy::kSkipHw);
  ASSERT_TRUE(dpif_->flow_put(forward_a_to_b(1, 2)));
  EXPECT_EQ(send_through(udp_frame(2, 53), 2), 2);
  ASSERT_EQ(only_flow().stats.packets, 2u);

  ASSERT_EQ(run_netns_command("tc qdisc del dev " + a_ + " clsact").exit_code, 0);
  EXPECT_EQ(only_flow().location.placement, MegaflowPlacement::kUnknown) << "missing: never shown as in TC";
  std::vector<std::string> problems = dpif_->maintain();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(
      problems[0].find("clsact qdisc of " + a_ + " had been deleted; 1 of 1 missing filters re-installed"),
      std::string::npos)
      << problems[0];
  EXPECT_EQ(tc_filters(a_).size(), 1u);
  EXPECT_EQ(send_through(udp_frame(2, 53), 1), 1);
  Megaflow flow = only_flow();
  EXPECT_EQ(flow.location.placement, MegaflowPlacement::kTcSoftware);
  EXPECT_EQ(flow.stats.packets, 3u) << "the two counted before the qdisc went are kept";
  EXPECT_TRUE(dpif_->maintain().empty()) << "nothing left to mend";
}

TEST_F(TcOffloadLab, AModifyReplacesTheFilterAndKeepsCounting) {
  open(TcPolicy::kSkipHw);
  ASSERT_TRUE(dpif_->flow_put(forward_a_to_b(1, 2)));
  EXPECT_EQ(send_through(udp_frame(2, 53), 2), 2);
  ASSERT_EQ(only_flow().stats.packets, 2u);
  DpifFlowPut modify = forward_a_to_b(1, 2);
  modify.flow.actions = *parse_actions("drop");
  modify.modify = true;
  ASSERT_EQ(*dpif_->flow_put(modify), DpifPutOutcome::kActionsUpdated);
  EXPECT_EQ(send_through(udp_frame(2, 53), 1), 0) << "now dropped by TC";
  Megaflow flow = only_flow();
  EXPECT_TRUE(flow.actions.empty());
  EXPECT_EQ(flow.stats.packets, 3u);
  EXPECT_EQ(tc_filters(a_).size(), 1u);
}

TEST_F(TcOffloadLab, ARestartRemovesTheFiltersAPreviousRunLeft) {
  open(TcPolicy::kSkipHw);
  ASSERT_TRUE(dpif_->flow_put(forward_a_to_b(1, 2)));
  ASSERT_TRUE(dpif_->flow_put(forward_a_to_b(2, 3)));
  ASSERT_EQ(tc_filters(a_).size(), 2u);
  // An unclean exit: the provider goes without deleting its filters.
  std::unique_ptr<Dpif> kernel = std::move(dpif_);
  kernel.reset();  // the datapath goes; the filters on the veth stay
  ASSERT_EQ(tc_filters(a_).size(), 2u);
  open(TcPolicy::kSkipHw);
  EXPECT_EQ(provider_->stale_filters_removed(), 2u);
  EXPECT_TRUE(tc_filters(a_).empty());
}

TEST_F(TcOffloadLab, ABatchOfPutsIsInstalledInOneTransactionAndAllAreForwarded) {
  open(TcPolicy::kSkipHw);
  std::vector<DpifFlowPut> puts;
  for (uint8_t i = 0; i < 50; ++i)
    puts.push_back(forward_a_to_b(static_cast<uint8_t>(10 + i), static_cast<uint8_t>(10 + i)));
  std::vector<OffloadPutResult> results = dpif_->provider().put(puts);
  ASSERT_EQ(results.size(), 50u);
  for (const OffloadPutResult& result : results)
    EXPECT_EQ(result.placement, MegaflowPlacement::kTcSoftware) << result.reason;
  EXPECT_EQ(tc_filters(a_).size(), 50u);
  EXPECT_EQ(send_through(udp_frame(33, 53), 1), 1);
  EXPECT_TRUE(dpif_->flow_flush());
  EXPECT_TRUE(tc_filters(a_).empty());
}

// iproute2 prints `no_percpu` on an action whose TCA_ACT_FLAGS the kernel
// dumps with NO_PERCPU_STATS: the kernel kept what the provider asked for.
size_t actions_without_percpu_counters(const nlohmann::json& filter) {
  size_t count = 0;
  for (const nlohmann::json& action : filter["options"]["actions"])
    if (action.value("no_percpu", false)) ++count;
  return count;
}

TEST_F(TcOffloadLab, ActionsWithSharedCountersAreKeptByTheKernelAndStillCount) {
  open(TcPolicy::kSkipHw, "tc-software", TcActionCounters::kNoPerCpu);
  DpifFlowPut put = forward_a_to_b(1, 2);
  put.flow.actions = *parse_actions("push_vlan(vid=5,pcp=0)," + std::to_string(port_b_));
  ASSERT_EQ(*dpif_->flow_put(put), DpifPutOutcome::kCreated);
  nlohmann::json filters = tc_filters(a_);
  ASSERT_EQ(filters.size(), 1u);
  ASSERT_EQ(filters[0]["options"]["actions"].size(), 2u) << filters.dump(2);
  EXPECT_EQ(actions_without_percpu_counters(filters[0]), 2u) << filters.dump(2);

  // The tag stays in the skb's metadata, which a packet socket reads apart
  // (PACKET_AUXDATA): the frame reads as it was sent.
  EXPECT_EQ(send_through(udp_frame(2, 53), 1), 1);
  Megaflow flow = only_flow();
  EXPECT_EQ(flow.location.placement, MegaflowPlacement::kTcSoftware);
  EXPECT_EQ(flow.stats.packets, 1u) << "a shared counter counts as the per-CPU ones do";
}

TEST_F(TcOffloadLab, SkipHwFiltersKeepPerCpuCountersUnlessAsked) {
  open(TcPolicy::kSkipHw);  // TcActionCounters::kAuto: TC software carries these
  ASSERT_TRUE(dpif_->flow_put(forward_a_to_b(1, 2)));
  nlohmann::json filters = tc_filters(a_);
  ASSERT_EQ(filters.size(), 1u);
  EXPECT_EQ(actions_without_percpu_counters(filters[0]), 0u) << filters.dump(2);
}

TEST_F(TcOffloadLab, BatchesFromTwoThreadsAreAllInstalledOverTheirOwnSessions) {
  open(TcPolicy::kSkipHw);
  std::vector<DpifFlowPut> first, second;
  for (uint8_t i = 0; i < 40; ++i) {
    first.push_back(forward_a_to_b(static_cast<uint8_t>(10 + i), static_cast<uint8_t>(10 + i)));
    second.push_back(forward_a_to_b(static_cast<uint8_t>(60 + i), static_cast<uint8_t>(60 + i)));
  }
  std::vector<OffloadPutResult> first_results, second_results;
  std::thread other([&] { second_results = dpif_->provider().put(second); });
  first_results = dpif_->provider().put(first);
  other.join();
  for (const auto* results : {&first_results, &second_results}) {
    ASSERT_EQ(results->size(), 40u);
    for (const OffloadPutResult& result : *results)
      EXPECT_EQ(result.placement, MegaflowPlacement::kTcSoftware) << result.reason;
  }
  EXPECT_EQ(dpif_->provider().flow_count(), 80u);
  EXPECT_EQ(tc_filters(a_).size(), 80u);
  EXPECT_LE(provider_->sessions_open(), 2u);
  EXPECT_EQ(send_through(udp_frame(70, 53), 1), 1);
  EXPECT_EQ(send_through(udp_frame(20, 53), 1), 1);
  EXPECT_TRUE(dpif_->flow_flush());
  EXPECT_TRUE(tc_filters(a_).empty());
}

}  // namespace
}  // namespace flowlift
