// TcProfileBook: the driver table read from the built-in profiles' JSON, the
// order of the choice (DEV= given > the driver's profile > the daemon-wide
// default), and the errors of a bad `--offload-profile DEV=` token. The
// expected driver names are the kernel's (see offload/profiles/*.json
// "drivers" for the functions that report them), not read back from the
// files.
#include "offload/tc_profile_book.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace flowlift {
namespace {

TcProfileBook built_in_book(std::string_view default_profile = "tc-software",
                            const std::map<std::string, std::string>& device_profiles = {}) {
  Result<TcProfileBook> book = TcProfileBook::load(default_profile, device_profiles);
  EXPECT_TRUE(book) << book.status().message();
  return std::move(book).value();
}

TEST(TcProfileBook, TheDriverTableComesFromTheBuiltInProfilesDriversLists) {
  // mlx5: the PF and uplink representor report KBUILD_MODNAME (mlx5_core),
  // VF/SF representors mlx5e_rep; ice reports KBUILD_MODNAME for both.
  EXPECT_EQ(built_in_book().driver_table(), (std::map<std::string, std::string>{
                                                {"ice", "ice-e810"},
                                                {"mlx5_core", "mlx5-connectx6dx"},
                                                {"mlx5e_rep", "mlx5-connectx6dx"},
                                            }));
}

TEST(TcProfileBook, ADeviceIsJudgedByItsDriversProfile) {
  const TcProfileBook book = built_in_book();
  const TcDeviceProfile mlx5 = book.choose("enp3s0f0", std::string("mlx5_core"));
  EXPECT_EQ(mlx5.profile->name, "mlx5-connectx6dx");
  EXPECT_EQ(mlx5.origin, TcProfileOrigin::kDriver);
  EXPECT_EQ(mlx5.driver, "mlx5_core");
  EXPECT_EQ(book.choose("enp3s0f0_0", std::string("mlx5e_rep")).profile->name, "mlx5-connectx6dx");
  const TcDeviceProfile ice = book.choose("ens1f0", std::string("ice"));
  EXPECT_EQ(ice.profile->name, "ice-e810");
  EXPECT_EQ(ice.origin, TcProfileOrigin::kDriver);
}

TEST(TcProfileBook, SoftwareDevicesAndUnknownDriversTakeTheDaemonDefault) {
  const TcProfileBook book = built_in_book();
  for (const char* driver : {"veth", "vxlan", "tun", "bonding", "bnxt_en"}) {
    const TcDeviceProfile chosen = book.choose("dev0", std::string(driver));
    EXPECT_EQ(chosen.profile->name, "tc-software") << driver;
    EXPECT_EQ(chosen.origin, TcProfileOrigin::kDefault) << driver;
    EXPECT_EQ(chosen.driver, driver);
  }
  // The driver could not be read: the default, and why the driver is unknown.
  const TcDeviceProfile unknown = book.choose(
      "lo", Status(EOPNOTSUPP, "the driver of lo gives no driver information (ETHTOOL_GDRVINFO)"));
  EXPECT_EQ(unknown.profile->name, "tc-software");
  EXPECT_EQ(unknown.driver, "");
  EXPECT_EQ(unknown.driver_problem, "the driver of lo gives no driver information (ETHTOOL_GDRVINFO)");
  // An empty name (ice while its VF resets) is unknown, not a driver called "".
  EXPECT_EQ(book.choose("eth9", std::string()).driver_problem, "the driver gave an empty name");
}

TEST(TcProfileBook, TheDaemonWideProfileIsTheDefaultNotAnOverride) {
  const TcProfileBook book = built_in_book("ice-e810");
  EXPECT_EQ(book.choose("veth0", std::string("veth")).profile->name, "ice-e810");
  // A device whose driver names a profile keeps it.
  EXPECT_EQ(book.choose("enp3s0f0", std::string("mlx5_core")).profile->name, "mlx5-connectx6dx");
}

TEST(TcProfileBook, AProfileGivenForADeviceWinsOverItsDriver) {
  const TcProfileBook book = built_in_book("tc-software", {{"enp3s0f0", "ice-e810"}, {"veth0", "ice-e810"}});
  const TcDeviceProfile given = book.choose("enp3s0f0", std::string("mlx5_core"));
  EXPECT_EQ(given.profile->name, "ice-e810");
  EXPECT_EQ(given.origin, TcProfileOrigin::kExplicit);
  EXPECT_EQ(given.driver, "mlx5_core");  // still read, for `flowlift show`
  EXPECT_EQ(book.choose("veth0", std::string("veth")).origin, TcProfileOrigin::kExplicit);
  // Other devices are not affected.
  EXPECT_EQ(book.choose("enp3s0f1", std::string("mlx5_core")).profile->name, "mlx5-connectx6dx");
}

TEST(TcProfileBook, SkipHwIsJudgedByTheKernelsOwnFlower) {
  EXPECT_EQ(built_in_book("ice-e810").software()->name, "tc-software");
}

TEST(TcProfileBook, AProfileThatCannotLoadNamesItsDevice) {
  Result<TcProfileBook> book = TcProfileBook::load("tc-software", {{"eth3", "no-such-profile"}});
  ASSERT_FALSE(book);
  EXPECT_EQ(book.status().message().rfind("offload profile of eth3: no-such-profile: ", 0), 0u)
      << book.status().message();
  Result<TcProfileBook> bad_default = TcProfileBook::load("/nonexistent/x.json", {});
  ASSERT_FALSE(bad_default);
  EXPECT_EQ(bad_default.status().message().rfind("offload profile: /nonexistent/x.json: ", 0), 0u)
      << bad_default.status().message();
}

TEST(TcProfileBook, TwoProfilesNamingOneDriverAreRefusedNamingBoth) {
  Result<CapabilityProfile> software = load_capability_profile("tc-software");
  Result<CapabilityProfile> ice = load_capability_profile("ice-e810");
  ASSERT_TRUE(software && ice);
  CapabilityProfile copy = *ice;
  copy.name = "my-e810";
  Result<TcProfileBook> book = TcProfileBook::make(*software, {}, {*ice, copy}, *software);
  ASSERT_FALSE(book);
  EXPECT_EQ(book.status().message(),
            "driver ice is named by two profiles, ice-e810 and my-e810 (drivers.names)");
}

TEST(TcDeviceProfileArgument, DevEqualsProfileSplitsAtTheFirstEquals) {
  auto parsed = parse_tc_device_profile_argument("enp3s0f0=ice-e810");
  ASSERT_TRUE(parsed) << parsed.status().message();
  EXPECT_EQ(parsed->first, "enp3s0f0");
  EXPECT_EQ(parsed->second, "ice-e810");
  auto file = parse_tc_device_profile_argument("eth0=/etc/flowlift/a=b.json");
  ASSERT_TRUE(file) << file.status().message();
  EXPECT_EQ(file->second, "/etc/flowlift/a=b.json");
}

TEST(TcDeviceProfileArgument, OnlyAnEqualsBeforeAnySlashMakesTheDeviceForm) {
  EXPECT_TRUE(is_tc_device_profile_argument("eth0=ice-e810"));
  EXPECT_TRUE(is_tc_device_profile_argument("=ice-e810"));  // then refused, naming the token
  EXPECT_FALSE(is_tc_device_profile_argument("ice-e810"));
  EXPECT_FALSE(is_tc_device_profile_argument("./my=profile.json"));
  EXPECT_FALSE(is_tc_device_profile_argument("/etc/flowlift/a=b.json"));
}

TEST(TcDeviceProfileArgument, BadTokensAreRefusedNamingThem) {
  auto message = [](std::string_view text) {
    auto parsed = parse_tc_device_profile_argument(text);
    EXPECT_FALSE(parsed) << text;
    return parsed ? std::string() : parsed.status().message();
  };
  EXPECT_EQ(message("=ice-e810"),
            "--offload-profile =ice-e810: no device before '=' (expected DEV=NAME|FILE)");
  EXPECT_EQ(message("eth0="), "--offload-profile eth0=: no profile after '=' (expected eth0=NAME|FILE)");
  EXPECT_EQ(message("a-device-name-too-long=ice-e810"),
            "--offload-profile a-device-name-too-long=ice-e810: device name a-device-name-too-long is longer "
            "than 15 characters");
  EXPECT_EQ(
      message("eth 0=ice-e810"),
      "--offload-profile eth 0=ice-e810: device name eth 0 holds a character a device name cannot ('/', "
      "':' or a space)");
  EXPECT_EQ(message("eth0:1=ice-e810"),
            "--offload-profile eth0:1=ice-e810: device name eth0:1 holds a character a device name cannot "
            "('/', ':' or a space)");
  EXPECT_EQ(message("..=ice-e810"), "--offload-profile ..=ice-e810: .. is not a device name");
  EXPECT_EQ(message("ice-e810"), "--offload-profile ice-e810: expected DEV=NAME|FILE");
}

}  // namespace
}  // namespace flowlift
