// The README's demo (scripts/demo.sh) in the lab, over Linux's openvswitch
// module: the same namespaces, flow table and traffic checks as on the host,
// with flowliftd --datapath kernel. The script itself judges the traffic
// (each ping, TCP and UDP exchange must arrive) and exits non-zero otherwise.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <utility>

#include "kmod/lab_test_support.h"

namespace flowlift {
namespace {

// The demo's whole output and exit status, run with `environment`.
std::pair<int, std::string> run_demo(const std::string& environment) {
  const std::string command = std::string("FLOWLIFT_DEMO_BUILD=") + FLOWLIFT_BUILD_DIR + " " + environment +
                              " bash " + FLOWLIFT_SOURCE_DIR + "/scripts/demo.sh 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return {-1, "popen failed"};
  std::string output;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  return {::pclose(pipe), output};
}

TEST(DemoInTheLab, TheDemoRunsBehindTcOffloadAndItsTableSaysWhereEachMegaflowIs) {
  if (std::string why = lab_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  auto [status, output] = run_demo("FLOWLIFT_DEMO_DATAPATH=kernel FLOWLIFT_DEMO_OFFLOAD=tc");
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("kernel datapath behind TC flower offload"), std::string::npos) << output;
  EXPECT_NE(output.find("demo: done"), std::string::npos) << output;
  EXPECT_EQ(output.find("FAIL "), std::string::npos) << output;
  // The table's WHERE column: flows in TC's software path (skip_hw on veth).
  EXPECT_NE(output.find("  tc_sw  "), std::string::npos) << output;
}

TEST(DemoInTheLab, TheDemoRunsOverTheKernelDatapath) {
  if (std::string why = lab_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  const std::string command = std::string("FLOWLIFT_DEMO_BUILD=") + FLOWLIFT_BUILD_DIR +
                              " FLOWLIFT_DEMO_DATAPATH=kernel bash " + FLOWLIFT_SOURCE_DIR +
                              "/scripts/demo.sh 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("kernel datapath"), std::string::npos) << output;
  EXPECT_NE(output.find("demo: done"), std::string::npos) << output;
  EXPECT_EQ(output.find("FAIL "), std::string::npos) << output;
}

}  // namespace
}  // namespace flowlift
