// What `flowlift show` says about an offload port: its driver, its profile
// and how the profile was chosen, its policy, and the profile that judges
// its filters (tc-software under skip_hw, whatever the NIC).
#include "slowpath/switch_offload_ports.h"

#include <gtest/gtest.h>
#include <linux/rtnetlink.h>

#include "offload/offloading_dpif.h"
#include "offload/tc_netlink_scripted_kernel_for_tests.h"

namespace flowlift {
namespace {

TcOffloadDeviceReport report(std::string device, std::string driver, std::string profile,
                             TcProfileOrigin origin, TcPolicy policy, std::string judged_by) {
  TcOffloadDeviceReport r;
  r.device = std::move(device);
  r.driver = std::move(driver);
  r.profile = std::move(profile);
  r.origin = origin;
  r.policy = policy;
  r.judged_by = std::move(judged_by);
  return r;
}

TEST(SwitchOffloadPorts, TheTextSaysHowEachProfileWasChosen) {
  EXPECT_EQ(switch_tc_offload_device_text(
                report("ens1f0", "ice", "ice-e810", TcProfileOrigin::kDriver, TcPolicy::kNone, "ice-e810")),
            "tc, profile ice-e810 (by driver ice), policy none");
  EXPECT_EQ(switch_tc_offload_device_text(report("enp3s0f0", "mlx5_core", "ice-e810",
                                                 TcProfileOrigin::kExplicit, TcPolicy::kSkipSw, "ice-e810")),
            "tc, profile ice-e810 (given for enp3s0f0; driver mlx5_core), policy skip_sw");
  EXPECT_EQ(switch_tc_offload_device_text(report("p1", "veth", "tc-software", TcProfileOrigin::kDefault,
                                                 TcPolicy::kNone, "tc-software")),
            "tc, profile tc-software (daemon default; driver veth), policy none");
}

TEST(SwitchOffloadPorts, SkipHwSaysTcSoftwareJudgesAndAnUnknownDriverSaysWhy) {
  TcOffloadDeviceReport skip_hw =
      report("ens1f0", "ice", "ice-e810", TcProfileOrigin::kDriver, TcPolicy::kSkipHw, "tc-software");
  EXPECT_EQ(switch_tc_offload_device_text(skip_hw),
            "tc, profile ice-e810 (by driver ice), policy skip_hw: judged by tc-software");
  TcOffloadDeviceReport unknown =
      report("lo", "", "tc-software", TcProfileOrigin::kDefault, TcPolicy::kNone, "tc-software");
  unknown.driver_problem = "the driver of lo gives no driver information (ETHTOOL_GDRVINFO)";
  EXPECT_EQ(switch_tc_offload_device_text(unknown),
            "tc, profile tc-software (daemon default; driver unknown: the driver of lo gives no driver "
            "information (ETHTOOL_GDRVINFO)), policy none");
  nlohmann::json json = switch_tc_offload_device_json(skip_hw);
  EXPECT_EQ(json, (nlohmann::json{{"provider", "tc"},
                                  {"driver", "ice"},
                                  {"profile", "ice-e810"},
                                  {"profile_from", "driver"},
                                  {"policy", "skip_hw"},
                                  {"judged_by", "tc-software"}}));
  EXPECT_EQ(switch_tc_offload_device_json(unknown)["driver_problem"], unknown.driver_problem);
}

// A datapath with two system ports, p1 (ice) and p2 (veth), and nothing else.
class ShowTestDatapathWithTwoSystemPorts final : public Dpif {
 public:
  std::string_view type() const override { return "test"; }
  Result<uint32_t> port_add(const DpifPortRequest&) override { return 1u; }
  Status port_del(uint32_t) override { return Status::ok(); }
  std::vector<DpifPort> port_dump() const override {
    DpifPort p1, p2;
    p1.number = 1;
    p1.name = "p1";
    p1.type = DpifPortType::kSystem;
    p2.number = 2;
    p2.name = "p2";
    p2.type = DpifPortType::kSystem;
    return {p1, p2};
  }
  Result<DpifPutOutcome> flow_put(const DpifFlowPut&) override { return DpifPutOutcome::kCreated; }
  Result<Megaflow> flow_get(const Ufid&) const override { return Status(ENOENT, "none"); }
  Result<Megaflow> flow_del(const Ufid&) override { return Status(ENOENT, "none"); }
  Status flow_flush() override { return Status::ok(); }
  std::vector<Megaflow> flow_dump() const override { return {}; }
  Status execute(Packet, const FlowKey&, const ActionList&) override { return Status::ok(); }
  size_t recv_upcalls(size_t, std::vector<DpifUpcall>&) override { return 0; }
  void wait_for_upcalls(std::chrono::milliseconds) override {}
  void wake_upcall_waiters() override {}
  DpifStats stats() const override { return {}; }
};

TEST(SwitchOffloadPorts, ADpifThatDoesNotOffloadThroughTcHasNoOffloadPorts) {
  ShowTestDatapathWithTwoSystemPorts dpif;
  EXPECT_TRUE(switch_tc_offload_devices(dpif).empty());
}

TEST(SwitchOffloadPorts, AnOffloadingDpifListsItsTcProvidersDevices) {
  // The TC provider over a scripted kernel with no qdiscs that acknowledges everything.
  tc_netlink_scripted::ScriptedSession scripted;
  scripted.kernel->answer = [](tc_netlink_scripted::ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                               std::span<const uint8_t>) {
    if (header.nlmsg_flags & NLM_F_DUMP) {
      kernel.queue_dump_datagram(tc_netlink_scripted::scripted_done(header.nlmsg_seq));
      return;
    }
    kernel.deliver(tc_netlink_scripted::scripted_ack(header.nlmsg_seq, 0));
  };
  Result<TcProfileBook> book = TcProfileBook::load("tc-software", {});
  ASSERT_TRUE(book) << book.status().message();
  TcOffloadConfig config;
  config.device_policies["p2"] = TcPolicy::kSkipHw;
  config.resolve_ifindex = [](const std::string& name) { return name == "p1" ? 11u : 12u; };
  config.read_driver = [](const std::string& name) -> Result<std::string> {
    return std::string(name == "p1" ? "ice" : "veth");
  };
  OffloadingDpif dpif(
      std::make_unique<ShowTestDatapathWithTwoSystemPorts>(),
      std::make_unique<TcOffloadProvider>(std::move(scripted.session), std::move(*book), config));
  std::map<std::string, TcOffloadDeviceReport> devices = switch_tc_offload_devices(dpif);
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(switch_tc_offload_device_text(devices["p1"]),
            "tc, profile ice-e810 (by driver ice), policy none");
  EXPECT_EQ(switch_tc_offload_device_text(devices["p2"]),
            "tc, profile tc-software (daemon default; driver veth), policy skip_hw");
}

}  // namespace
}  // namespace flowlift
