// The driver behind real devices of this machine's kernel (root, a fresh
// network namespace): a veth says "veth", as `ethtool -i` prints it
// (drivers/net/veth.c veth_get_drvinfo), so a veth port is judged by the
// daemon-wide default, tc-software; the loopback device answers no driver
// information (EOPNOTSUPP: loopback_ethtool_ops has no get_drvinfo and lo has
// no parent device), and a missing device is ENODEV, both named.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "kmod/netns_test_support.h"
#include "offload/net_device_driver.h"
#include "offload/tc_profile_book.h"

namespace flowlift {
namespace {

class TcProfileBookHost : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string reason = netns_unusable_reason(); !reason.empty()) GTEST_SKIP() << reason;
    netns_.emplace(unique_netns_name("tcpb"));
    ASSERT_TRUE(netns_->created());
    netns_->ip("link add tcpb0 type veth peer name tcpb1");
  }
  Result<std::string> driver_of(const std::string& device) {
    return netns_->inside([&] { return net_device_driver(device); });
  }

  std::optional<TestNetns> netns_;
};

TEST_F(TcProfileBookHost, AVethIsDetectedAsVethAndJudgedByTcSoftware) {
  Result<std::string> driver = driver_of("tcpb0");
  ASSERT_TRUE(driver) << driver.status().message();
  EXPECT_EQ(*driver, "veth");
  Result<TcProfileBook> book = TcProfileBook::load("tc-software", {});
  ASSERT_TRUE(book) << book.status().message();
  const TcDeviceProfile chosen = book->choose("tcpb0", driver);
  EXPECT_EQ(chosen.profile->name, "tc-software");
  EXPECT_EQ(chosen.origin, TcProfileOrigin::kDefault);
  EXPECT_EQ(chosen.driver, "veth");
}

TEST_F(TcProfileBookHost, LoopbackHasNoDriverInformationAndAMissingDeviceIsNamed) {
  Result<std::string> loopback = driver_of("lo");
  ASSERT_FALSE(loopback);
  EXPECT_EQ(loopback.status().code(), EOPNOTSUPP);
  EXPECT_EQ(loopback.status().message(), "the driver of lo gives no driver information (ETHTOOL_GDRVINFO)");
  Result<std::string> missing = driver_of("tcpb9");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), ENODEV);
  EXPECT_EQ(missing.status().message(), "no device tcpb9");
}

}  // namespace
}  // namespace flowlift
