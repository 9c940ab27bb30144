// TcOffloadProvider with a profile per device: each port is judged by its
// own NIC's profile (chosen from its driver, given per device, or the
// daemon-wide default), a refusal names the profile that refused, and a
// skip_hw port is judged by tc-software whatever its NIC. The kernel is
// scripted (no qdiscs at first sight, every change acknowledged), so only
// the provider's choices are under test; the expected refusals are the
// ice driver's (ice_tc_lib.c takes exact matches only), not read back from
// a run.
#include <gtest/gtest.h>
#include <linux/rtnetlink.h>

#include <map>
#include <string>
#include <string_view>

#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_key.h"
#include "offload/tc_netlink_scripted_kernel_for_tests.h"
#include "offload/tc_offload_provider.h"

namespace flowlift {
namespace {

using tc_netlink_scripted::scripted_ack;
using tc_netlink_scripted::scripted_done;
using tc_netlink_scripted::ScriptedRtnetlinkState;
using tc_netlink_scripted::ScriptedSession;

// Datapath port -> (device, ifindex, driver as ethtool -i names it).
struct ProfilesTestDevice {
  uint32_t port;
  std::string name;
  uint32_t ifindex;
  std::string driver;
};
const ProfilesTestDevice kProfilesTestDevices[] = {
    {1, "ens1f0", 11, "ice"},
    {2, "enp3s0f0", 12, "mlx5_core"},
    {3, "veth0", 13, "veth"},
};

class TcOffloadProviderProfiles : public ::testing::Test {
 protected:
  // A provider over the scripted kernel, with the built-in profiles and
  // `device_profiles` given per device.
  void open(TcPolicy policy, std::map<std::string, TcPolicy> device_policies = {},
            std::map<std::string, std::string> device_profiles = {}) {
    ScriptedSession scripted;
    kernel_ = scripted.kernel;
    kernel_->answer = [this](ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                             std::span<const uint8_t> request) {
      if (header.nlmsg_type == RTM_GETQDISC || header.nlmsg_type == RTM_GETTFILTER) {
        kernel.queue_dump_datagram(scripted_done(header.nlmsg_seq));  // nothing there
        return;
      }
      if (header.nlmsg_type == RTM_NEWTFILTER) {
        tcmsg tc;
        std::memcpy(&tc, request.data() + NLMSG_HDRLEN, sizeof tc);
        ++filters_sent_[static_cast<uint32_t>(tc.tcm_ifindex)];
      }
      kernel.deliver(scripted_ack(header.nlmsg_seq, 0));
    };
    Result<TcProfileBook> book = TcProfileBook::load("tc-software", device_profiles);
    ASSERT_TRUE(book) << book.status().message();
    TcOffloadConfig config;
    config.default_policy = policy;
    config.device_policies = std::move(device_policies);
    config.resolve_ifindex = [](const std::string& name) -> uint32_t {
      for (const ProfilesTestDevice& device : kProfilesTestDevices)
        if (device.name == name) return device.ifindex;
      return 0;
    };
    config.read_driver = [](const std::string& name) -> Result<std::string> {
      for (const ProfilesTestDevice& device : kProfilesTestDevices)
        if (device.name == name) return device.driver;
      return Status(ENODEV, "no device " + name);
    };
    provider_ = std::make_unique<TcOffloadProvider>(std::move(scripted.session), std::move(*book), config);
    std::vector<OffloadPort> ports;
    for (const ProfilesTestDevice& device : kProfilesTestDevices)
      ports.push_back(OffloadPort{device.port, device.name, DpifPortType::kSystem, 0});
    provider_->set_ports(ports);
  }

  // "MATCH actions:ACTIONS", as `ovs-dpctl add-flow` takes them.
  static DpifFlowPut flow_put(std::string_view text, uint8_t id) {
    DpifFlowPut put;
    const size_t split = text.find(" actions:");
    Result<Match> match = parse_match(text.substr(0, split));
    EXPECT_TRUE(match) << match.status().message();
    if (match) put.flow.match = *match;
    Result<ActionList> actions = parse_actions(text.substr(split + 9));
    EXPECT_TRUE(actions) << actions.status().message();
    if (actions) put.flow.actions = *actions;
    put.flow.ufid.bytes[0] = id;
    return put;
  }

  // A /24 destination: mlx5 and flower take prefixes, the E810 exact matches only.
  static DpifFlowPut prefix_flow_from(uint32_t port, uint8_t id) {
    return flow_put("recirc_id(0),in_port(" + std::to_string(port) +
                        "),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),"
                        "ipv4(dst=10.1.0.0/255.255.255.0) actions:3",
                    id);
  }

  OffloadPutResult put_one(const DpifFlowPut& put) {
    std::vector<OffloadPutResult> results = provider_->put(std::span<const DpifFlowPut>(&put, 1));
    EXPECT_EQ(results.size(), 1u);
    return results.empty() ? OffloadPutResult{} : results[0];
  }

  std::shared_ptr<ScriptedRtnetlinkState> kernel_;
  std::unique_ptr<TcOffloadProvider> provider_;
  std::map<uint32_t, size_t> filters_sent_;  // by ifindex
};

TEST_F(TcOffloadProviderProfiles, EachDeviceIsReportedWithItsDriverAndProfile) {
  open(TcPolicy::kNone, {{"veth0", TcPolicy::kSkipHw}});
  std::map<std::string, TcOffloadDeviceReport> reports;
  for (TcOffloadDeviceReport& report : provider_->device_reports()) reports[report.device] = report;
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(reports["ens1f0"].driver, "ice");
  EXPECT_EQ(reports["ens1f0"].profile, "ice-e810");
  EXPECT_EQ(reports["ens1f0"].origin, TcProfileOrigin::kDriver);
  EXPECT_EQ(reports["ens1f0"].judged_by, "ice-e810");
  EXPECT_EQ(reports["enp3s0f0"].profile, "mlx5-connectx6dx");
  EXPECT_EQ(reports["veth0"].driver, "veth");
  EXPECT_EQ(reports["veth0"].profile, "tc-software");
  EXPECT_EQ(reports["veth0"].origin, TcProfileOrigin::kDefault);
  EXPECT_EQ(reports["veth0"].policy, TcPolicy::kSkipHw);
}

TEST_F(TcOffloadProviderProfiles, TheSameFlowIsJudgedByTheProfileOfItsIngressDevice) {
  open(TcPolicy::kSkipSw);
  // From the E810: refused, naming the profile, nothing sent to TC.
  OffloadPutResult from_ice = put_one(prefix_flow_from(1, 1));
  EXPECT_EQ(from_ice.placement, MegaflowPlacement::kDatapath);
  EXPECT_EQ(from_ice.reason,
            "refused by profile ice-e810: ipv4_dst needs an exact mask, flow has /24 (policy skip_sw)");
  EXPECT_EQ(filters_sent_[11], 0u);
  // From the ConnectX-6 Dx: the profile takes it, the filter goes to TC.
  OffloadPutResult from_mlx5 = put_one(prefix_flow_from(2, 2));
  EXPECT_NE(from_mlx5.placement, MegaflowPlacement::kDatapath) << from_mlx5.reason;
  EXPECT_EQ(filters_sent_[12], 1u);
}

TEST_F(TcOffloadProviderProfiles, AProfileGivenForTheDeviceWinsOverItsDriver) {
  open(TcPolicy::kSkipSw, {}, {{"enp3s0f0", "ice-e810"}});
  OffloadPutResult from_mlx5 = put_one(prefix_flow_from(2, 1));
  EXPECT_EQ(from_mlx5.placement, MegaflowPlacement::kDatapath);
  EXPECT_EQ(from_mlx5.reason,
            "refused by profile ice-e810: ipv4_dst needs an exact mask, flow has /24 (policy skip_sw)");
}

TEST_F(TcOffloadProviderProfiles, UnderPolicyNoneTheHardwareRefusalGoesToTcSoftwareWithItsReason) {
  open(TcPolicy::kNone);
  OffloadPutResult from_ice = put_one(prefix_flow_from(1, 1));
  EXPECT_NE(from_ice.placement, MegaflowPlacement::kDatapath) << from_ice.reason;
  EXPECT_EQ(filters_sent_[11], 1u);
}

TEST_F(TcOffloadProviderProfiles, ASkipHwDeviceIsJudgedByTcSoftwareWhateverItsNic) {
  open(TcPolicy::kNone, {{"ens1f0", TcPolicy::kSkipHw}});
  for (const TcOffloadDeviceReport& report : provider_->device_reports())
    if (report.device == "ens1f0") {
      EXPECT_EQ(report.profile, "ice-e810");
      EXPECT_EQ(report.judged_by, "tc-software");
    }
  OffloadPutResult from_ice = put_one(prefix_flow_from(1, 1));
  EXPECT_NE(from_ice.placement, MegaflowPlacement::kDatapath) << from_ice.reason;
  EXPECT_EQ(filters_sent_[11], 1u);
}

}  // namespace
}  // namespace flowlift
