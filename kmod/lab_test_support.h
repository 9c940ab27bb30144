// Test-only: what the lab tests (*_lab_test.cc) share. They run inside the
// lab VM (tests/lab/lab-run boots Debian's kernel with this machine's root
// filesystem), where the openvswitch module, cls_flower and the act_*
// modules exist; the development machines' own kernel has none of them.
//
// Inside or not is decided by the marker the guest's init writes on the
// guest's fresh /run: it exists in no other place, and it names the kernel
// release whose module tree the lab mounted. Outside the lab every lab test
// skips, saying how to run it. Network namespaces, veth pairs and commands
// come from netns_test_support.h, as for the host tests.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "kmod/netns_test_support.h"

namespace flowlift {

inline constexpr const char* kLabMarkerPath = "/run/flowlift-lab/kernel-release";

// The kernel release the lab was set up with; empty outside the lab.
inline std::string lab_kernel_release() {
  std::ifstream marker(kLabMarkerPath);
  std::string release;
  std::getline(marker, release);
  return release;
}

// Empty inside the lab; otherwise why this test cannot run here.
inline std::string lab_unavailable_reason() {
  if (lab_kernel_release().empty()) {
    return std::string("not inside the lab VM (no ") + kLabMarkerPath +
           "): run it through `ctest -L lab` or `tests/lab/lab-run <this binary>`";
  }
  return netns_unusable_reason();
}

// Fixture of every lab test: skips outside the lab.
class LabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string reason = lab_unavailable_reason(); !reason.empty()) GTEST_SKIP() << reason;
  }
};

}  // namespace flowlift
