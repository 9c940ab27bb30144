// The switch scenarios (switch_scenarios.h) on this machine's kernel. The
// userspace datapath runs here; the kernel datapath needs the openvswitch
// module, which the development machines' kernel lacks: those runs skip,
// saying so, and run in the lab (tests/lab, ctest -L lab: lab.switch).
#include <cstdlib>
#include <filesystem>

#include "tests/host/switch_scenarios.h"

namespace flowlift {

std::string switch_scenario_skip_reason(const std::string& datapath) {
  if (std::string why = netns_unusable_reason(); !why.empty()) return why;
  if (datapath == "kernel" && !std::filesystem::exists("/sys/module/openvswitch") &&
      std::system("modprobe openvswitch >/dev/null 2>&1") != 0) {
    return "this kernel has no openvswitch module: the kernel datapath's scenarios run in the lab "
           "(ctest -L lab)";
  }
  return "";
}

namespace {

INSTANTIATE_TEST_SUITE_P(Datapaths, SwitchScenarioTest, ::testing::Values("userspace", "kernel"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace flowlift
