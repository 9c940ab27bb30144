#include "slowpath/cli.h"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

#include "slowpath/control_server.h"
#include "slowpath/control_test_support.h"

namespace flowlift {
namespace {

using Words = std::vector<std::string>;

Result<std::string> no_files(const std::string& name) { return Status(ENOENT, "unexpected read of " + name); }

nlohmann::json request_for(const Words& words, const CliFileReader& read_file = no_files) {
  auto request = cli_request_for_command(words, read_file);
  EXPECT_TRUE(request.is_ok()) << request.status().message();
  return request ? *request : nlohmann::json();
}

// The usage error for `words`; fails the test if there is none.
std::string usage_error_for(const Words& words) {
  auto request = cli_request_for_command(words, no_files);
  EXPECT_FALSE(request.is_ok()) << request->dump();
  if (request) return "";
  EXPECT_EQ(request.status().code(), kCliUsageError);
  return request.status().message();
}

nlohmann::json expected(std::string_view command, nlohmann::json args) {
  return nlohmann::json{{"command", command}, {"args", std::move(args)}};
}

TEST(CliRequest, BridgeCommands) {
  EXPECT_EQ(request_for({"add-bridge", "br0"}), expected("add-bridge", {{"bridge", "br0"}}));
  EXPECT_EQ(request_for({"del-bridge", "br0"}), expected("del-bridge", {{"bridge", "br0"}}));
  EXPECT_EQ(request_for({"show"}), expected("show", nlohmann::json::object()));
  EXPECT_EQ(request_for({"show", "br1"}), expected("show", {{"bridge", "br1"}}));
}

TEST(CliRequest, AddPortDefaultsToASystemPortAsOvsVsctlDoes) {
  EXPECT_EQ(request_for({"add-port", "br0", "eth1"}),
            expected("add-port", {{"bridge", "br0"}, {"port", "eth1"}, {"type", "system"}}));
}

TEST(CliRequest, AddPortWithTypeOfportAndOptions) {
  EXPECT_EQ(request_for({"add-port", "br0", "vx0", "type=vxlan", "ofport=10", "options:remote_ip=192.0.2.2",
                         "options:key=flow", "options:dst_port=4790"}),
            expected("add-port",
                     {{"bridge", "br0"},
                      {"port", "vx0"},
                      {"type", "vxlan"},
                      {"ofport", 10},
                      {"options", {{"remote_ip", "192.0.2.2"}, {"key", "flow"}, {"dst_port", "4790"}}}}));
  EXPECT_EQ(request_for({"add-port", "br0", "p1", "ofport_request=3", "type=dummy"})["args"]["ofport"], 3);
}

TEST(CliRequest, AddPortUsageErrorsNameTheArgument) {
  EXPECT_EQ(usage_error_for({"add-port", "br0", "p1", "type=tap"}),
            "add-port: type=tap: expected type=system, type=dummy or type=vxlan");
  EXPECT_EQ(usage_error_for({"add-port", "br0", "p1", "ofport=0"}),
            "add-port: ofport=0: expected a number from 1 to 65279");
  // 0xff00 and above are OpenFlow's reserved ports (OFPP_MAX and beyond).
  EXPECT_EQ(usage_error_for({"add-port", "br0", "p1", "ofport=65280"}),
            "add-port: ofport=65280: expected a number from 1 to 65279");
  EXPECT_EQ(usage_error_for({"add-port", "br0", "p1", "ofport=3x"}),
            "add-port: ofport=3x: expected a number from 1 to 65279");
  EXPECT_EQ(usage_error_for({"add-port", "br0", "p1", "mtu=9000"}),
            "add-port: unknown key 'mtu' in 'mtu=9000' (expected type=TYPE, ofport=N or options:KEY=VALUE)");
  EXPECT_EQ(usage_error_for({"add-port", "br0", "p1", "remote"}),
            "add-port: unexpected argument 'remote' (expected type=TYPE, ofport=N or options:KEY=VALUE)");
  EXPECT_EQ(usage_error_for({"add-port", "br0", "p1", "options:=1"}),
            "add-port: options:=1: expected options:KEY=VALUE");
  EXPECT_EQ(usage_error_for({"add-port", "br0", "p1", "options:key=1", "options:key=2"}),
            "add-port: option key given twice");
  EXPECT_EQ(
      usage_error_for({"add-port", "br0"}),
      "add-port: missing arguments, got 1 argument (usage: add-port BRIDGE PORT [type=system|dummy|vxlan] "
      "[ofport=N] [options:KEY=VALUE]...)");
  EXPECT_EQ(usage_error_for({"add-port", "", "p1"}), "add-port: BRIDGE must not be empty");
}

TEST(CliRequest, DelPortWithAndWithoutBridge) {
  EXPECT_EQ(request_for({"del-port", "p1"}), expected("del-port", {{"port", "p1"}}));
  EXPECT_EQ(request_for({"del-port", "br0", "p1"}),
            expected("del-port", {{"bridge", "br0"}, {"port", "p1"}}));
  EXPECT_EQ(usage_error_for({"del-port", "br0", "p1", "p2"}),
            "del-port: unexpected argument 'p2' (usage: del-port [BRIDGE] PORT)");
}

TEST(CliRequest, SetTakesBothSpellingsOfEachSetting) {
  EXPECT_EQ(request_for({"set", "flow_limit=5000"}), expected("set", {{"flow_limit", 5000}}));
  EXPECT_EQ(request_for({"set", "max-idle=2500", "flow-limit=100"}),
            expected("set", {{"flow_limit", 100}, {"max_idle", 2500}}));
  EXPECT_EQ(usage_error_for({"set", "n_handlers=3"}),
            "set: unknown setting 'n_handlers' (expected flow_limit or max_idle)");
  EXPECT_EQ(usage_error_for({"set", "flow_limit=0"}),
            "set: flow_limit=0: expected a number from 1 to 4294967295");
  EXPECT_EQ(usage_error_for({"set", "flow_limit=4294967296"}),
            "set: flow_limit=4294967296: expected a number from 1 to 4294967295");
  EXPECT_EQ(usage_error_for({"set", "flow_limit=1", "flow-limit=2"}), "set: flow_limit given twice");
  EXPECT_EQ(usage_error_for({"set"}),
            "set: missing arguments, got 0 arguments (usage: set [flow_limit=N] [max_idle=MS])");
}

TEST(CliRequest, FlowCommands) {
  EXPECT_EQ(request_for({"add-flow", "br0", "priority=10,ip,actions=drop"}),
            expected("add-flow", {{"bridge", "br0"}, {"flow", "priority=10,ip,actions=drop"}}));
  EXPECT_EQ(request_for({"mod-flows", "br0", "ip,actions=output:2"}),
            expected("mod-flows", {{"bridge", "br0"}, {"flow", "ip,actions=output:2"}}));
  EXPECT_EQ(
      request_for({"mod-flows", "--strict", "br0", "priority=5,ip,actions=drop"}),
      expected("mod-flows", {{"bridge", "br0"}, {"flow", "priority=5,ip,actions=drop"}, {"strict", true}}));
  EXPECT_EQ(request_for({"del-flows", "br0"}), expected("del-flows", {{"bridge", "br0"}}));
  EXPECT_EQ(request_for({"del-flows", "br0", "tcp", "--strict"}),
            expected("del-flows", {{"bridge", "br0"}, {"flow", "tcp"}, {"strict", true}}));
  EXPECT_EQ(request_for({"dump-flows", "br0"}), expected("dump-flows", {{"bridge", "br0"}}));
  EXPECT_EQ(request_for({"dump-flows", "br0", "table=1", "--no-stats"}),
            expected("dump-flows", {{"bridge", "br0"}, {"flow", "table=1"}, {"stats", false}}));
  EXPECT_EQ(request_for({"trace", "br0", "in_port=1,tcp,tp_dst=80"}),
            expected("trace", {{"bridge", "br0"}, {"flow", "in_port=1,tcp,tp_dst=80"}}));
}

TEST(CliRequest, FlagsBelongToTheirCommands) {
  EXPECT_EQ(usage_error_for({"add-flow", "br0", "actions=drop", "--strict"}),
            "add-flow: unknown option '--strict' (usage: add-flow BRIDGE FLOW)");
  EXPECT_EQ(usage_error_for({"dump-flows", "br0", "--stats"}),
            "dump-flows: unknown option '--stats' (usage: dump-flows BRIDGE [FLOW] [--no-stats])");
  EXPECT_EQ(usage_error_for({"add-flow", "br0"}),
            "add-flow: missing arguments, got 1 argument (usage: add-flow BRIDGE FLOW)");
  EXPECT_EQ(usage_error_for({"add-flow", "br0", "actions=drop", "extra"}),
            "add-flow: unexpected argument 'extra' (usage: add-flow BRIDGE FLOW)");
}

TEST(CliRequest, AddFlowsSendsEveryLineOfTheFileAndItsName) {
  std::string asked;
  CliFileReader reader = [&](const std::string& name) -> Result<std::string> {
    asked = name;
    return std::string("# rules\npriority=1,actions=drop\r\n\nip,actions=normal\n");
  };
  EXPECT_EQ(request_for({"add-flows", "br0", "rules.txt", "--bundle"}, reader),
            expected("add-flows", {{"bridge", "br0"},
                                   {"flows", {"# rules", "priority=1,actions=drop", "", "ip,actions=normal"}},
                                   {"file", "rules.txt"},
                                   {"bundle", true}}));
  EXPECT_EQ(asked, "rules.txt");
  EXPECT_EQ(request_for({"add-flows", "br0", "-"}, reader)["args"]["file"], "stdin");
  EXPECT_EQ(asked, "-");
  EXPECT_FALSE(request_for({"add-flows", "br0", "-"}, reader)["args"].contains("bundle"));
}

TEST(CliRequest, AddFlowsFileThatCannotBeReadIsNotAUsageError) {
  auto request = cli_request_for_command(Words{"add-flows", "br0", "missing.txt"}, no_files);
  ASSERT_FALSE(request.is_ok());
  EXPECT_EQ(request.status().code(), ENOENT);
}

TEST(CliFlowFileLines, LastLineWithoutNewlineIsKeptAndFinalNewlineAddsNoLine) {
  EXPECT_EQ(cli_flow_file_lines("a\nb"), nlohmann::json({"a", "b"}));
  EXPECT_EQ(cli_flow_file_lines("a\nb\n"), nlohmann::json({"a", "b"}));
  EXPECT_EQ(cli_flow_file_lines(""), nlohmann::json::array());
  EXPECT_EQ(cli_flow_file_lines("\n"), nlohmann::json({""}));
}

TEST(CliRequest, DumpMegaflowsJoinsFiltersWithSpaces) {
  EXPECT_EQ(request_for({"dump-megaflows"}), expected("dump-megaflows", nlohmann::json::object()));
  EXPECT_EQ(request_for({"dump-megaflows", "--type", "tc", "--table"}),
            expected("dump-megaflows", {{"table", true}, {"filter", "type=tc"}}));
  EXPECT_EQ(request_for({"dump-megaflows", "--type=offloaded"}),
            expected("dump-megaflows", {{"filter", "type=offloaded"}}));
  EXPECT_EQ(usage_error_for({"dump-megaflows", "--type"}),
            "dump-megaflows: --type needs offloaded, non-offloaded, tc, datapath or all");
  EXPECT_EQ(request_for({"dump-megaflows", "type=non-offloaded", "in_port(1),eth_type(0x0800)"}),
            expected("dump-megaflows", {{"filter", "type=non-offloaded in_port(1),eth_type(0x0800)"}}));
  EXPECT_EQ(request_for({"dump-megaflows", "--table", "bridge=br0"}),
            expected("dump-megaflows", {{"table", true}, {"filter", "bridge=br0"}}));
}

TEST(CliRequest, InjectAndCapture) {
  EXPECT_EQ(request_for({"inject", "p1", "in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)"}),
            expected("inject", {{"port", "p1"},
                                {"packet", "in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)"}}));
  EXPECT_EQ(request_for({"inject", "p1", "ffffffffffff", "count=3"}),
            expected("inject", {{"port", "p1"}, {"packet", "ffffffffffff"}, {"count", 3}}));
  EXPECT_EQ(usage_error_for({"inject", "p1", "ffff", "times=3"}),
            "inject: unexpected argument 'times=3' (expected count=N)");
  EXPECT_EQ(usage_error_for({"inject", "p1", "ffff", "count=0"}),
            "inject: count=0: expected a number from 1 to 4294967295");
  EXPECT_EQ(request_for({"capture", "p2"}), expected("capture", {{"port", "p2"}}));
  EXPECT_EQ(request_for({"capture", "p2", "max=10"}), expected("capture", {{"port", "p2"}, {"max", 10}}));
}

TEST(CliRequest, CountersAndRevalidate) {
  EXPECT_EQ(request_for({"counters"}), expected("counters", nlohmann::json::object()));
  EXPECT_EQ(request_for({"counters", "--compare"}), expected("counters", {{"compare", true}}));
  EXPECT_EQ(request_for({"revalidate"}), expected("revalidate", nlohmann::json::object()));
  EXPECT_EQ(request_for({"revalidate", "--purge"}), expected("revalidate", {{"purge", true}}));
  EXPECT_EQ(usage_error_for({"counters", "now"}),
            "counters: unexpected argument 'now' (usage: counters [--compare])");
}

TEST(CliRequest, UnknownAndMissingCommands) {
  EXPECT_EQ(usage_error_for({"dump-ports"}), "unknown command 'dump-ports' (try 'flowlift help')");
  EXPECT_EQ(usage_error_for({}), "missing command (try 'flowlift help')");
}

TEST(CliArguments, GlobalOptionsComeBeforeTheCommand) {
  Words words{"--control", "/tmp/x.sock", "--json", "--timeout=5", "counters"};
  auto invocation = parse_cli_arguments(words, no_files);
  ASSERT_TRUE(invocation.is_ok()) << invocation.status().message();
  EXPECT_EQ(invocation->control_path, "/tmp/x.sock");
  EXPECT_TRUE(invocation->json_output);
  EXPECT_EQ(invocation->timeout, std::chrono::seconds(5));
  EXPECT_EQ(invocation->request, expected("counters", nlohmann::json::object()));

  Words defaults{"show"};
  invocation = parse_cli_arguments(defaults, no_files);
  ASSERT_TRUE(invocation.is_ok());
  EXPECT_EQ(invocation->control_path, "/run/flowlift/flowliftd.sock");
  EXPECT_FALSE(invocation->json_output);
  Words equals{"--control=/a/b.sock", "show"};
  EXPECT_EQ(parse_cli_arguments(equals, no_files)->control_path, "/a/b.sock");
}

TEST(CliArguments, UsageErrorsNameTheOption) {
  Words unknown{"--verbose", "show"};
  EXPECT_EQ(parse_cli_arguments(unknown, no_files).status().message(),
            "unknown option '--verbose' (try 'flowlift help')");
  Words dangling{"--control"};
  EXPECT_EQ(parse_cli_arguments(dangling, no_files).status().message(), "option --control needs a value");
  Words bad_timeout{"--timeout", "soon", "show"};
  EXPECT_EQ(parse_cli_arguments(bad_timeout, no_files).status().message(),
            "--timeout=soon: expected seconds from 1 to 86400");
  EXPECT_EQ(parse_cli_arguments(bad_timeout, no_files).status().code(), kCliUsageError);
}

TEST(CliArguments, HelpInAnyFormSendsNothing) {
  for (const Words& words : {Words{"help"}, Words{"--help"}, Words{"-h"}, Words{"--json", "help"}}) {
    auto invocation = parse_cli_arguments(words, no_files);
    ASSERT_TRUE(invocation.is_ok());
    EXPECT_TRUE(invocation->help);
  }
}

TEST(CliUsage, ListsEveryCommand) {
  std::string usage = cli_usage_text();
  for (const char* command : {"show", "add-bridge", "del-bridge", "add-port", "del-port", "set", "add-flow",
                              "add-flows", "mod-flows", "del-flows", "dump-flows", "dump-megaflows", "trace",
                              "inject", "capture", "counters", "revalidate", "help"}) {
    EXPECT_NE(usage.find("\n  " + std::string(command)), std::string::npos) << command;
  }
}

// run_cli against a real socket with a fake daemon.
class CliRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ControlServerOptions options;
    options.socket_path = socket_path_;
    auto server = ControlServer::start(options, [this](const nlohmann::json& request) {
      last_request_ = request;
      if (request["command"] == "del-bridge") {
        return nlohmann::json{{"ok", false}, {"error", "del-bridge: bridge br9 does not exist"}};
      }
      return nlohmann::json{{"ok", true}, {"result", {{"flow_mods", 2}}}, {"text", "two flows"}};
    });
    ASSERT_TRUE(server.is_ok()) << server.status().message();
    server_ = std::move(*server);
  }

  int run(Words words, std::string input = "") {
    Words full{"--control", socket_path_};
    full.insert(full.end(), words.begin(), words.end());
    std::istringstream in(input);
    output_.str("");
    errors_.str("");
    return run_cli(full, in, output_, errors_);
  }

  ControlTestDirectory directory_;
  std::string socket_path_ = directory_.file("flowliftd.sock");
  std::unique_ptr<ControlServer> server_;
  nlohmann::json last_request_;  // written by the server's thread before it answers
  std::ostringstream output_, errors_;
};

TEST_F(CliRunTest, PrintsTheTextWithATrailingNewline) {
  EXPECT_EQ(run({"add-flow", "br0", "actions=drop"}), 0);
  EXPECT_EQ(output_.str(), "two flows\n");
  EXPECT_EQ(errors_.str(), "");
  EXPECT_EQ(last_request_["args"]["flow"], "actions=drop");
}

TEST_F(CliRunTest, JsonPrintsTheResultPretty) {
  EXPECT_EQ(run({"--json", "counters"}), 0);
  EXPECT_EQ(output_.str(), "{\n  \"flow_mods\": 2\n}\n");
}

TEST_F(CliRunTest, ErrorResponseGoesToStderrWithExitOne) {
  EXPECT_EQ(run({"del-bridge", "br9"}), 1);
  EXPECT_EQ(output_.str(), "");
  EXPECT_EQ(errors_.str(), "flowlift: del-bridge: bridge br9 does not exist\n");
}

TEST_F(CliRunTest, UsageErrorExitsTwoWithoutSending) {
  EXPECT_EQ(run({"add-flow", "br0"}), 2);
  EXPECT_EQ(errors_.str(),
            "flowlift: add-flow: missing arguments, got 1 argument (usage: add-flow BRIDGE FLOW)\n");
  EXPECT_TRUE(last_request_.is_null());
}

TEST_F(CliRunTest, AddFlowsReadsStandardInputForDash) {
  EXPECT_EQ(run({"add-flows", "br0", "-"}, "priority=1,actions=drop\npriority=2,actions=drop\n"), 0);
  EXPECT_EQ(last_request_["args"]["flows"],
            nlohmann::json({"priority=1,actions=drop", "priority=2,actions=drop"}));
}

TEST_F(CliRunTest, AddFlowsFileThatDoesNotExistExitsOne) {
  std::string missing = directory_.file("nope.flows");
  EXPECT_EQ(run({"add-flows", "br0", missing}), 1);
  EXPECT_EQ(errors_.str(), "flowlift: cannot open " + missing + ": No such file or directory\n");
}

TEST_F(CliRunTest, NoDaemonExitsOneAndSaysSo) {
  server_->stop();
  EXPECT_EQ(run({"show"}), 1);
  EXPECT_EQ(errors_.str().rfind("flowlift: cannot connect to " + socket_path_ + ": is flowliftd running?", 0),
            0u)
      << errors_.str();
}

TEST_F(CliRunTest, HelpPrintsUsageAndSendsNothing) {
  EXPECT_EQ(run({"help"}), 0);
  EXPECT_EQ(output_.str(), cli_usage_text());
  EXPECT_TRUE(last_request_.is_null());
}

}  // namespace
}  // namespace flowlift
