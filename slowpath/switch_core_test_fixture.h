// The fixture SwitchCore's tests share: a SwitchCoreTestDpif, a core over it
// with its threads off (tests drive the Udpif by hand), and helpers that
// send one request and check that it succeeded or failed.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "slowpath/switch_core.h"
#include "slowpath/switch_core_test_dpif.h"

namespace flowlift {

class SwitchCoreFixture : public ::testing::Test {
 protected:
  static SwitchCoreOptions manual_options() {
    SwitchCoreOptions options;
    options.start_threads = false;
    options.udpif.n_handlers = 1;
    return options;
  }

  nlohmann::json call(const std::string& command, nlohmann::json args = nullptr) {
    nlohmann::json request = {{"command", command}};
    if (!args.is_null()) request["args"] = std::move(args);
    return core_.handle(request);
  }
  // The response of a request that must succeed.
  nlohmann::json ok(const std::string& command, nlohmann::json args = nullptr) {
    nlohmann::json response = call(command, std::move(args));
    EXPECT_TRUE(response.value("ok", false)) << command << ": " << response.dump();
    return response;
  }
  // The error of a request that must fail.
  std::string error(const std::string& command, nlohmann::json args = nullptr) {
    nlohmann::json response = call(command, std::move(args));
    EXPECT_FALSE(response.value("ok", true)) << command << " should fail: " << response.dump();
    EXPECT_FALSE(response.contains("result")) << response.dump();
    return response.value("error", "");
  }

  void add_dummy_port(const std::string& bridge, const std::string& port) {
    ok("add-port", {{"bridge", bridge}, {"port", port}, {"type", "dummy"}});
  }

  SwitchCoreTestDpif dpif_;  // outlives the core
  SwitchCore core_{dpif_, manual_options()};
};

}  // namespace flowlift
