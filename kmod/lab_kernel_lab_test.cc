// The lab's kernel is the one flowlift's kernel backends need: Debian's
// distro kernel, whose openvswitch module registers the four generic netlink
// families the kernel Dpif talks to, whose cls_flower takes software-only
// (skip_hw) filters on a veth, and whose datapath Open vSwitch's own ovs-dpctl
// drives. If the lab booted another kernel, or lost its module tree or its
// module autoloader, these fail first and say which.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/genetlink.h>
#include <linux/openvswitch.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kmod/genl_family.h"
#include "kmod/lab_test_support.h"

namespace flowlift {
namespace {

using ::testing::HasSubstr;

class LabKernel : public LabTest {};

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool path_exists(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0;
}

TEST_F(LabKernel, IsTheDebianKernelTheLabWasSetUpWith) {
  utsname names{};
  ASSERT_EQ(::uname(&names), 0);
  // The release of the package tests/lab/setup.sh unpacked (its module tree).
  EXPECT_EQ(std::string(names.release), lab_kernel_release());
  EXPECT_THAT(std::string(names.release), ::testing::EndsWith("-amd64"));
  // Debian's build says so in the version banner: "... (Debian 6.1.x-y) ...".
  EXPECT_THAT(file_text("/proc/version"), HasSubstr("Debian"));
}

TEST_F(LabKernel, TheOpenvswitchModuleLoads) {
  NetnsCommandOutput loaded = run_netns_command("modprobe openvswitch");
  ASSERT_EQ(loaded.exit_code, 0) << "modprobe openvswitch: " << loaded.output;
  EXPECT_TRUE(path_exists("/sys/module/openvswitch")) << "modprobe succeeded but no /sys/module/openvswitch";
}

struct ExpectedOvsFamily {
  const char* name;
  uint32_t version;
  uint32_t max_attribute;
  const char* multicast_group;  // nullptr: the family has none
};

TEST_F(LabKernel, GenericNetlinkResolvesTheFourOpenvswitchFamilies) {
  // Versions and attribute ranges are the uapi's (<linux/openvswitch.h>,
  // Linux 6.1 here, the same as the lab's kernel).
  const ExpectedOvsFamily expected_families[] = {
      {OVS_DATAPATH_FAMILY, OVS_DATAPATH_VERSION, OVS_DP_ATTR_MAX, OVS_DATAPATH_MCGROUP},
      {OVS_VPORT_FAMILY, OVS_VPORT_VERSION, OVS_VPORT_ATTR_MAX, OVS_VPORT_MCGROUP},
      {OVS_FLOW_FAMILY, OVS_FLOW_VERSION, OVS_FLOW_ATTR_MAX, OVS_FLOW_MCGROUP},
      {OVS_PACKET_FAMILY, OVS_PACKET_VERSION, OVS_PACKET_ATTR_MAX, nullptr},
  };
  std::vector<uint16_t> ids;
  for (const ExpectedOvsFamily& expected : expected_families) {
    SCOPED_TRACE(expected.name);
    Result<GenlFamily> family = resolve_genl_family(expected.name);
    ASSERT_TRUE(family) << family.status().message();
    EXPECT_EQ(family->name, expected.name);
    // Dynamic ids start above the controller's fixed one.
    EXPECT_GT(family->id, GENL_ID_CTRL);
    EXPECT_EQ(family->version, expected.version);
    EXPECT_EQ(family->header_size, sizeof(ovs_header));
    EXPECT_EQ(family->max_attribute, expected.max_attribute);
    if (expected.multicast_group != nullptr) {
      EXPECT_TRUE(family->multicast_group(expected.multicast_group).has_value());
    } else {
      EXPECT_TRUE(family->multicast_groups.empty());
    }
    ids.push_back(family->id);
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end()) << "two families share an id";
}

// cls_flower with skip_hw on a veth: accepted, shown not in hardware, and it
// matches real traffic from another namespace (its drop action counts the
// datagrams; a datagram to another port does not count).
TEST_F(LabKernel, ClsFlowerTakesASkipHwFilterOnAVeth) {
  TestNetns sender(unique_netns_name("tx"));
  TestNetns receiver(unique_netns_name("rx"));
  ASSERT_TRUE(sender.created() && receiver.created());
  ASSERT_TRUE(
      run_ip("link add flv0 netns " + receiver.name() + " type veth peer name flv1 netns " + sender.name()));
  receiver.ip("addr add 10.0.0.2/24 dev flv0");
  receiver.ip("link set flv0 up");
  sender.ip("addr add 10.0.0.1/24 dev flv1");
  sender.ip("link set flv1 up");
  nlohmann::json link = receiver.ip_json("link show flv0");
  ASSERT_TRUE(link.is_array() && !link.empty());
  std::string receiver_mac = link[0].value("address", "");
  sender.ip("neigh add 10.0.0.2 lladdr " + receiver_mac + " dev flv1 nud permanent");

  std::string tc = "tc -n " + receiver.name() + " ";
  NetnsCommandOutput qdisc = run_netns_command(tc + "qdisc add dev flv0 clsact");
  ASSERT_EQ(qdisc.exit_code, 0) << qdisc.output;
  NetnsCommandOutput added = run_netns_command(
      tc +
      "filter add dev flv0 ingress protocol ip pref 10 flower skip_hw ip_proto udp dst_ip 10.0.0.2 "
      "dst_port 53 action drop");
  ASSERT_EQ(added.exit_code, 0) << "cls_flower refused a skip_hw filter: " << added.output;

  for (int datagram = 0; datagram < 3; ++datagram) {
    ASSERT_EQ(sender.exec("bash -c 'echo query > /dev/udp/10.0.0.2/53'").exit_code, 0);
  }
  ASSERT_EQ(sender.exec("bash -c 'echo other > /dev/udp/10.0.0.2/54'").exit_code, 0);

  NetnsCommandOutput shown = run_netns_command(tc + "-s -j filter show dev flv0 ingress");
  ASSERT_EQ(shown.exit_code, 0) << shown.output;
  nlohmann::json filters = nlohmann::json::parse(shown.output, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(filters.is_array()) << shown.output;
  const nlohmann::json* flower = nullptr;
  for (const nlohmann::json& filter : filters) {
    if (filter.value("kind", "") == "flower" && filter.contains("options")) flower = &filter;
  }
  ASSERT_NE(flower, nullptr) << "no flower filter with options in: " << shown.output;
  const nlohmann::json& options = (*flower)["options"];
  EXPECT_TRUE(options.value("skip_hw", false)) << options.dump();
  EXPECT_TRUE(options.value("not_in_hw", false)) << options.dump();
  ASSERT_TRUE(options.contains("actions") && options["actions"].is_array() && !options["actions"].empty())
      << options.dump();
  const nlohmann::json& action = options["actions"][0];
  EXPECT_EQ(action.value("kind", ""), "gact") << action.dump();
  EXPECT_EQ(action["stats"].value("packets", -1), 3) << action.dump();
}

// Open vSwitch's own ovs-dpctl (installed on the host, seen through the
// guest's shared root) drives the guest's datapath: the tool that will judge
// the kernel datapath backend's netlink works in the lab. Inside a namespace
// of the test's own, since a datapath belongs to one network namespace.
TEST_F(LabKernel, OvsDpctlDrivesTheKernelDatapath) {
  TestNetns ns(unique_netns_name("dp"));
  ASSERT_TRUE(ns.created());
  ns.ip("link add fldp1 type veth peer name fldp1p");
  ns.ip("link add fldp2 type veth peer name fldp2p");
  const std::string datapath = "fl" + std::to_string(::getpid()) + "dp";
  auto dpctl = [&](const std::string& arguments) {
    NetnsCommandOutput result = ns.exec("ovs-dpctl " + arguments);
    EXPECT_EQ(result.exit_code, 0) << "ovs-dpctl " << arguments << ": " << result.output;
    return result.output;
  };
  NetnsCommandOutput created = ns.exec("ovs-dpctl add-dp " + datapath);
  ASSERT_EQ(created.exit_code, 0) << "ovs-dpctl add-dp " << datapath << ": " << created.output;
  dpctl("add-if " + datapath + " fldp1");
  dpctl("add-if " + datapath + " fldp2");
  std::string shown = dpctl("show " + datapath);
  EXPECT_THAT(shown, HasSubstr("system@" + datapath));
  EXPECT_THAT(shown, HasSubstr("port 1: fldp1"));
  EXPECT_THAT(shown, HasSubstr("port 2: fldp2"));
  dpctl("add-flow " + datapath +
        " 'in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.0.2,proto=17,frag=no),udp(dst=53)' 2");
  std::string flows = dpctl("dump-flows " + datapath);
  EXPECT_THAT(flows, HasSubstr("udp(dst=53)")) << flows;
  EXPECT_THAT(flows, HasSubstr("actions:2")) << flows;
  dpctl("del-dp " + datapath);
  EXPECT_NE(ns.exec("ovs-dpctl show " + datapath).exit_code, 0) << "the datapath outlived del-dp";
}

}  // namespace
}  // namespace flowlift
