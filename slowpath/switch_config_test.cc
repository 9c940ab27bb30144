// The configuration document: a valid one builds bridges, ports and flows;
// every kind of mistake is reported with its JSON path (and the flow's
// line), and a refused document leaves nothing behind, also when the
// datapath refuses it half way through.
#include "slowpath/switch_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "slowpath/switch_core_test_fixture.h"

namespace flowlift {
namespace {

using ::testing::HasSubstr;

// The bridges as a list, not as one JSON value: a braced single JSON value
// is copied by clang where g++ wraps it in an array.
nlohmann::json document(std::initializer_list<nlohmann::json> bridges) {
  return {{"flowlift_config", 1}, {"bridges", nlohmann::json::array_t(bridges)}};
}

nlohmann::json two_port_bridge(const std::string& name, const std::string& a, const std::string& b) {
  return {{"name", name},
          {"ports", {{{"name", a}, {"type", "dummy"}}, {{"name", b}, {"type", "dummy"}}}},
          {"flows", {"priority=10,in_port=" + a + ",actions=output:" + b}}};
}

// Tests edit documents through JSON pointers ("/bridges/0/ports/1/type"):
// chained operator[] with integer indices did not read the same under clang
// and g++ here, a pointer does.
class SwitchConfig : public SwitchCoreFixture {
 protected:
  std::string refused(const nlohmann::json& config) {
    Status status = core_.apply_config(config);
    EXPECT_FALSE(status.is_ok());
    EXPECT_EQ(ok("show")["result"]["bridges"].size(), 0u) << "nothing of a refused document is applied";
    EXPECT_TRUE(dpif_.port_dump().empty()) << "nothing of a refused document is applied";
    return status.message();
  }
  std::string dump(const std::string& bridge) {
    return ok("dump-flows", {{"bridge", bridge}, {"stats", false}})["text"];
  }
};

TEST_F(SwitchConfig, AValidDocumentBuildsBridgesPortsAndFlows) {
  nlohmann::json config = document({two_port_bridge("br0", "p1", "p2"),
                                    {{"name", "br1"},
                                     {"ports",
                                      {{{"name", "vx1"},
                                        {"type", "vxlan"},
                                        {"ofport", 7},
                                        {"options", {{"remote_ip", "192.0.2.2"}, {"key", 100}}}}}},
                                     {"flows", {"actions=drop"}}}});
  config["datapath"] = {{"flow_limit", 1234}, {"max_idle_ms", 5000}};
  ASSERT_TRUE(core_.apply_config(config).is_ok()) << core_.apply_config(config).message();
  EXPECT_EQ(dump("br0"), " priority=10,in_port=1 actions=output:2\n");
  EXPECT_EQ(dump("br1"), " actions=drop\n");
  nlohmann::json show = ok("show");
  EXPECT_EQ(show["result"]["bridges"][1]["ports"][0]["ofport"], 7);
  EXPECT_EQ(dpif_.port_dump().size(), 3u);  // p1, p2, vxlan_sys_4789
  EXPECT_EQ(core_.udpif().config().flow_limit, 1234u);
  EXPECT_EQ(core_.udpif().config().max_idle_ms, 5000u);
}

TEST_F(SwitchConfig, TheVersionMustBeKnown) {
  EXPECT_EQ(refused({{"flowlift_config", 2}, {"bridges", nlohmann::json::array()}}),
            "flowlift_config: version 2 is not supported (this flowliftd reads version 1)");
  EXPECT_EQ(refused({{"bridges", nlohmann::json::array()}}),
            "flowlift_config: missing (the document's format version; this flowliftd reads version 1)");
  EXPECT_EQ(refused({{"flowlift_config", "1"}}),
            "flowlift_config: must be an integer (the format version, 1)");
  EXPECT_EQ(refused(nlohmann::json::array()), "document: must be a JSON object");
}

TEST_F(SwitchConfig, UnknownKeysAndWrongTypesNameTheirPath) {
  EXPECT_EQ(refused({{"flowlift_config", 1}, {"bridge", nlohmann::json::array()}}),
            "bridge: unknown key (expected one of flowlift_config, datapath, bridges)");
  nlohmann::json bad_port = document({two_port_bridge("br0", "p1", "p2")});
  bad_port[nlohmann::json::json_pointer("/bridges/0/ports/1/colour")] = "red";
  EXPECT_EQ(refused(bad_port),
            "bridges[0].ports[1].colour: unknown key (expected one of name, type, ofport, options)");
  nlohmann::json bad_ofport = document({two_port_bridge("br0", "p1", "p2")});
  bad_ofport[nlohmann::json::json_pointer("/bridges/0/ports/0/ofport")] = "1";
  EXPECT_EQ(refused(bad_ofport), "bridges[0].ports[0].ofport: must be an integer from 1 to 65279");
  EXPECT_EQ(refused({{"flowlift_config", 1}, {"datapath", {{"flow_limit", 0}}}}),
            "datapath.flow_limit: must be an integer from 1 to 4294967295");
  EXPECT_EQ(refused({{"flowlift_config", 1}, {"bridges", {{"name", "br0"}}}}), "bridges: must be an array");
  EXPECT_EQ(refused(document({{{"name", "br0"}, {"flows", "actions=drop"}}})),
            "bridges[0].flows: must be an array of strings");
  EXPECT_EQ(refused(document({{{"ports", nlohmann::json::array()}}})), "bridges[0].name: missing");
  nlohmann::json bad_option =
      document({{{"name", "br0"},
                 {"ports", {{{"name", "vx1"}, {"type", "vxlan"}, {"options", {{"remote_ip", 1.5}}}}}}}});
  EXPECT_EQ(refused(bad_option),
            "bridges[0].ports[0].options.remote_ip: must be a string, an integer or a boolean");
}

TEST_F(SwitchConfig, PortMistakesNameThePort) {
  nlohmann::json bad_type = document({two_port_bridge("br0", "p1", "p2")});
  bad_type[nlohmann::json::json_pointer("/bridges/0/ports/1/type")] = "tap";
  EXPECT_EQ(refused(bad_type), "bridges[0].ports[1]: port p2: unknown type \"tap\" (system, dummy or vxlan)");
  EXPECT_EQ(refused(document({two_port_bridge("br0", "p1", "p2"), two_port_bridge("br1", "p2", "p3")})),
            "bridges[1].ports[0].name: port p2 is named twice");
  EXPECT_EQ(refused(document({two_port_bridge("br0", "p1", "p2"), two_port_bridge("br0", "p3", "p4")})),
            "bridges[1].name: bridge br0 is named twice");
  nlohmann::json same_ofport = document({two_port_bridge("br0", "p1", "p2")});
  same_ofport[nlohmann::json::json_pointer("/bridges/0/ports/0/ofport")] = 3;
  same_ofport[nlohmann::json::json_pointer("/bridges/0/ports/1/ofport")] = 3;
  EXPECT_EQ(refused(same_ofport), "bridges[0].ports: ports p1 and p2 both ask for ofport 3");
}

TEST_F(SwitchConfig, AutomaticNumbersAvoidFixedOnesWhereverTheyAreListed) {
  nlohmann::json config = document({two_port_bridge("br0", "p1", "p2")});
  config[nlohmann::json::json_pointer("/bridges/0/ports/1/ofport")] = 1;
  ASSERT_TRUE(core_.apply_config(config).is_ok());
  nlohmann::json ports = ok("show")["result"]["bridges"][0]["ports"];
  EXPECT_EQ(ports[0]["name"], "p2");
  EXPECT_EQ(ports[0]["ofport"], 1);
  EXPECT_EQ(ports[1]["name"], "p1");
  EXPECT_EQ(ports[1]["ofport"], 2);
}

TEST_F(SwitchConfig, ABadFlowInTheSecondBridgeLeavesTheFirstUnbuilt) {
  nlohmann::json config = document({two_port_bridge("br0", "p1", "p2"), two_port_bridge("br1", "p3", "p4")});
  config[nlohmann::json::json_pointer("/bridges/1/flows")].push_back("priority=5,in_port=p1,actions=drop");
  EXPECT_THAT(refused(config), HasSubstr("bridges[1].flows (bridge br1): line 2: "));
  nlohmann::json refused_by_tables = document({two_port_bridge("br0", "p1", "p2")});
  refused_by_tables[nlohmann::json::json_pointer("/bridges/0/flows")].push_back(
      "priority=10,ip,check_overlap,actions=drop");
  EXPECT_THAT(refused(refused_by_tables),
              HasSubstr("bridges[0].flows (bridge br0): OFPBFC_MSG_FAILED: flow-mod 2 of 2 (line 2, add)"));
}

TEST_F(SwitchConfig, ADatapathRefusalHalfWayUndoesEverything) {
  // eth9 does not exist: only applying can find that out.
  nlohmann::json config = document({two_port_bridge("br0", "p1", "p2"),
                                    {{"name", "br1"}, {"ports", {{{"name", "eth9"}, {"type", "system"}}}}}});
  EXPECT_EQ(
      refused(config),
      "bridges[1].ports[0]: port eth9: datapath: no network device named eth9 (nothing of the configuration "
      "was applied)");
}

TEST_F(SwitchConfig, ABridgeThatExistsIsRefused) {
  ok("add-bridge", {{"bridge", "br0"}});
  EXPECT_EQ(core_.apply_config(document({two_port_bridge("br0", "p1", "p2")})).message(),
            "bridges[0].name: bridge br0 already exists");
}

TEST_F(SwitchConfig, HandlerCountIsReadAtStartOnly) {
  EXPECT_EQ(
      refused({{"flowlift_config", 1}, {"datapath", {{"n_handlers", 4}}}}),
      "datapath.n_handlers: 4 differs from the 1 handler threads running; the handler count is read only at "
      "start");
  EXPECT_TRUE(core_.apply_config({{"flowlift_config", 1}, {"datapath", {{"n_handlers", 1}}}}).is_ok());
  Result<UdpifConfig> settings = switch_config_udpif_settings(
      {{"flowlift_config", 1}, {"datapath", {{"n_handlers", 4}, {"flow_limit", 77}}}}, {});
  ASSERT_TRUE(settings.is_ok());
  EXPECT_EQ(settings->n_handlers, 4u);
  EXPECT_EQ(settings->flow_limit, 77u);
  EXPECT_EQ(settings->max_idle_ms, UdpifConfig{}.max_idle_ms);
}

class SwitchConfigFile : public SwitchConfig {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() / ("switch_config_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(directory_ / "flows");
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }
  void write(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }
  std::filesystem::path directory_;
};

TEST_F(SwitchConfigFile, FlowsFileIsReadRelativeToTheConfigurationFile) {
  write(directory_ / "flows" / "br0.flows", "# table 0\npriority=20,in_port=p2,actions=output:p1\n");
  nlohmann::json config = document({two_port_bridge("br0", "p1", "p2")});
  config[nlohmann::json::json_pointer("/bridges/0/flows_file")] = "flows/br0.flows";
  write(directory_ / "flowliftd.json", config.dump());
  Result<nlohmann::json> loaded = load_switch_config_file((directory_ / "flowliftd.json").string());
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  EXPECT_EQ((*loaded)["bridges"][0]["flows_file"], (directory_ / "flows" / "br0.flows").string());
  ASSERT_TRUE(core_.apply_config(*loaded).is_ok()) << core_.apply_config(*loaded).message();
  EXPECT_EQ(dump("br0"),
            " priority=20,in_port=2 actions=output:1\n"
            " priority=10,in_port=1 actions=output:2\n");
}

TEST_F(SwitchConfigFile, ABadLineInTheFlowsFileIsNamedByFileAndLine) {
  write(directory_ / "br0.flows", "priority=20,actions=drop\npriority=21,in_port=p9,actions=drop\n");
  nlohmann::json config = document({two_port_bridge("br0", "p1", "p2")});
  config[nlohmann::json::json_pointer("/bridges/0/flows_file")] = (directory_ / "br0.flows").string();
  EXPECT_THAT(refused(config), HasSubstr("bridges[0].flows_file " + (directory_ / "br0.flows").string() +
                                         " (bridge br0): line 2: "));
  config[nlohmann::json::json_pointer("/bridges/0/flows_file")] = (directory_ / "missing.flows").string();
  EXPECT_THAT(refused(config),
              HasSubstr("bridges[0].flows_file: cannot read " + (directory_ / "missing.flows").string()));
}

TEST_F(SwitchConfigFile, ALoadedFileThatIsNotJsonIsRefused) {
  write(directory_ / "bad.json", "{\"flowlift_config\": 1,");
  Result<nlohmann::json> loaded = load_switch_config_file((directory_ / "bad.json").string());
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(loaded.status().message(), (directory_ / "bad.json").string() + ": not valid JSON");
}

}  // namespace
}  // namespace flowlift
