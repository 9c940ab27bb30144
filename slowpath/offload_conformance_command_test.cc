// `flowlift conformance` argument parsing and its dispatch from run_cli (a
// local command: it never talks to flowliftd). Running it needs root and
// devices: offload_conformance_lab_test.cc does that.
#include "slowpath/offload_conformance_command.h"

#include <gtest/gtest.h>

#include <sstream>

#include "slowpath/cli.h"

namespace flowlift {
namespace {

using Words = std::vector<std::string>;

TEST(ConformanceCommand, DevicesPolicyProfileAndFormatAreRead) {
  Words words = {"--port",     "p0",      "--peer",     "p0p",      "--out",           "p1",
                 "--out-peer", "p1p",     "--underlay", "u0",       "--underlay-peer", "u0p",
                 "--policy",   "skip_hw", "--profile",  "ice-e810", "--case",          "push_vlan",
                 "--markdown"};
  auto options = parse_conformance_arguments(words);
  ASSERT_TRUE(options) << options.status().message();
  EXPECT_EQ(options->devices.in, "p0");
  EXPECT_EQ(options->devices.in_peer, "p0p");
  EXPECT_EQ(options->devices.out, "p1");
  EXPECT_EQ(options->devices.out_peer, "p1p");
  EXPECT_TRUE(options->devices.has_underlay());
  EXPECT_EQ(options->policy, "skip_hw");
  EXPECT_EQ(options->profile, "ice-e810");
  EXPECT_EQ(options->only_case, "push_vlan");
  EXPECT_EQ(options->format, ConformanceOutputFormat::kMarkdown);
}

TEST(ConformanceCommand, TheDefaultPolicyIsSkipSwForARealNic) {
  auto options =
      parse_conformance_arguments(Words{"--port", "a", "--peer", "b", "--out", "c", "--out-peer", "d"});
  ASSERT_TRUE(options);
  EXPECT_EQ(options->policy, "skip_sw");
  EXPECT_EQ(options->format, ConformanceOutputFormat::kTable);
  EXPECT_FALSE(options->devices.has_underlay());
}

TEST(ConformanceCommand, MissingDevicesBadPolicyAndLoneUnderlayAreUsageErrorsNamingTheArgument) {
  auto no_peer = parse_conformance_arguments(Words{"--port", "a", "--out", "c", "--out-peer", "d"});
  ASSERT_FALSE(no_peer);
  EXPECT_EQ(no_peer.status().message(), "conformance: --peer DEV is required");
  auto policy = parse_conformance_arguments(
      Words{"--port", "a", "--peer", "b", "--out", "c", "--out-peer", "d", "--policy", "hw_only"});
  ASSERT_FALSE(policy);
  EXPECT_NE(policy.status().message().find("--policy hw_only"), std::string::npos);
  auto underlay = parse_conformance_arguments(
      Words{"--port", "a", "--peer", "b", "--out", "c", "--out-peer", "d", "--underlay", "u"});
  ASSERT_FALSE(underlay);
  EXPECT_NE(underlay.status().message().find("--underlay-peer"), std::string::npos);
  auto unknown = parse_conformance_arguments(Words{"--port", "a", "--bogus"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.status().message(), "conformance: unknown argument --bogus");
  auto dangling = parse_conformance_arguments(Words{"--port"});
  ASSERT_FALSE(dangling);
  EXPECT_EQ(dangling.status().message(), "conformance: --port needs a value");
}

TEST(ConformanceCommand, RunCliDispatchesItLocallyWithUsageErrorsExitingTwo) {
  std::istringstream input;
  std::ostringstream output, errors;
  Words words = {"conformance", "--port", "a"};
  EXPECT_EQ(run_cli(words, input, output, errors), 2);
  EXPECT_NE(errors.str().find("--peer DEV is required"), std::string::npos) << errors.str();
  EXPECT_EQ(errors.str().find("control socket"), std::string::npos) << "never sent to flowliftd";

  std::ostringstream help_output, help_errors;
  Words help = {"conformance", "--help"};
  EXPECT_EQ(run_cli(help, input, help_output, help_errors), 0);
  EXPECT_NE(help_output.str().find("--out-peer DEV"), std::string::npos);
  EXPECT_NE(cli_usage_text().find("conformance --port DEV"), std::string::npos);
}

}  // namespace
}  // namespace flowlift
