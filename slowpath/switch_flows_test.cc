// OpenFlow rules through SwitchCore: add-flow(s) with and without --bundle,
// mod-flows and del-flows loose and strict, dump-flows and its filter, trace.
// Expected texts are ovs-ofctl's (--no-stats where timing would show).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "slowpath/switch_core_test_fixture.h"

namespace flowlift {
namespace {

using ::testing::HasSubstr;

class SwitchCoreFlows : public SwitchCoreFixture {
 protected:
  void SetUp() override {
    ok("add-bridge", {{"bridge", "br0"}});
    add_dummy_port("br0", "p1");
    add_dummy_port("br0", "p2");
  }
  std::string dump() { return ok("dump-flows", {{"bridge", "br0"}, {"stats", false}})["text"]; }
};

TEST_F(SwitchCoreFlows, AnAddedFlowDumpsAsOvsOfctlPrintsIt) {
  ok("add-flow",
     {{"bridge", "br0"}, {"flow", "priority=10,in_port=p1,ip,nw_dst=10.0.0.1 actions=output:p2"}});
  ok("add-flow", {{"bridge", "br0"}, {"flow", "table=1,actions=drop"}});
  EXPECT_EQ(dump(),
            " priority=10,ip,in_port=1,nw_dst=10.0.0.1 actions=output:2\n"
            " table=1, actions=drop\n");
  nlohmann::json with_stats = ok("dump-flows", {{"bridge", "br0"}});
  const nlohmann::json& flow = with_stats["result"]["flows"][0];
  EXPECT_EQ(flow["priority"], 10);
  EXPECT_EQ(flow["table"], 0);
  EXPECT_EQ(flow["n_packets"], 0);
  EXPECT_EQ(flow["actions"], "output:2");
  EXPECT_THAT(flow["text"].get<std::string>(), HasSubstr("table=0, n_packets=0, n_bytes=0, "));
}

TEST_F(SwitchCoreFlows, FlowErrorsNameTheBridgeOrTheToken) {
  EXPECT_EQ(error("add-flow", {{"bridge", "br9"}, {"flow", "actions=drop"}}),
            "add-flow: bridge br9 does not exist");
  EXPECT_THAT(error("add-flow", {{"bridge", "br0"}, {"flow", "in_port=p7,actions=drop"}}), HasSubstr("p7"));
  EXPECT_THAT(error("add-flow", {{"bridge", "br0"}, {"flow", "priority=10"}}), HasSubstr("add-flow: "));
  EXPECT_EQ(dump(), "");
}

TEST_F(SwitchCoreFlows, AddFlowsReportsTheLineAndKeepsWhatWentBeforeWithoutABundle) {
  nlohmann::json added =
      ok("add-flows", {{"bridge", "br0"},
                       {"flows", {"# comment", "priority=5,actions=drop", "", "priority=6,actions=drop"}},
                       {"file", "flows.txt"}});
  EXPECT_EQ(added["result"], (nlohmann::json{{"flow_mods", 2}}));
  // A parse error: ovs-ofctl reads the whole file first, so nothing is applied.
  EXPECT_THAT(error("add-flows", {{"bridge", "br0"},
                                  {"flows", {"priority=7,actions=drop", "priority=8,bogus=1,actions=drop"}},
                                  {"file", "more.txt"}}),
              HasSubstr("add-flows: more.txt: line 2: "));
  EXPECT_EQ(dump(), " priority=6 actions=drop\n priority=5 actions=drop\n");
  // A flow-mod the tables refuse: those before it stay, as with ovs-ofctl add-flows.
  std::string message =
      error("add-flows", {{"bridge", "br0"},
                          {"flows", {"priority=9,actions=drop", "priority=5,ip,check_overlap,actions=drop"}},
                          {"file", "more.txt"}});
  EXPECT_THAT(message, HasSubstr("add-flows: more.txt: line 2: OFPFMFC_OVERLAP"));
  EXPECT_THAT(message, HasSubstr("(the 1 flow-mods before it were applied; use bundle for all or nothing)"));
  EXPECT_EQ(dump(), " priority=9 actions=drop\n priority=6 actions=drop\n priority=5 actions=drop\n");
}

TEST_F(SwitchCoreFlows, ABundleIsAllOrNothing) {
  ok("add-flow", {{"bridge", "br0"}, {"flow", "priority=5,actions=drop"}});
  std::string message = error(
      "add-flows",
      {{"bridge", "br0"},
       {"flows",
        {"priority=9,actions=drop", "delete_strict priority=5", "priority=9,ip,check_overlap,actions=drop"}},
       {"bundle", true}});
  EXPECT_THAT(message, HasSubstr("add-flows: OFPBFC_MSG_FAILED: flow-mod 3 of 3 (line 3, add)"));
  EXPECT_EQ(dump(), " priority=5 actions=drop\n") << "neither the add nor the delete happened";
  nlohmann::json done = ok("add-flows", {{"bridge", "br0"},
                                         {"flows", {"priority=9,actions=drop", "delete_strict priority=5"}},
                                         {"bundle", true}});
  EXPECT_EQ(done["result"]["flow_mods"], 2);
  EXPECT_EQ(dump(), " priority=9 actions=drop\n");
}

TEST_F(SwitchCoreFlows, DelFlowsLooseRemovesEveryMoreSpecificRuleAndStrictOnlyTheExactOne) {
  ok("add-flows",
     {{"bridge", "br0"},
      {"flows",
       {"priority=10,ip,nw_dst=10.0.0.1,actions=output:p2", "priority=20,ip,nw_dst=10.0.0.1,actions=drop",
        "priority=10,ip,actions=drop", "priority=10,arp,actions=drop"}}});
  // Strict: exactly this match and priority.
  EXPECT_EQ(ok("del-flows",
               {{"bridge", "br0"}, {"flow", "priority=10,ip,nw_dst=10.0.0.1"}, {"strict", true}})["result"],
            (nlohmann::json{{"removed", 1}}));
  EXPECT_EQ(dump(),
            " priority=20,ip,nw_dst=10.0.0.1 actions=drop\n"
            " priority=10,ip actions=drop\n"
            " priority=10,arp actions=drop\n");
  // Strict with no rule of that priority removes nothing.
  EXPECT_EQ(
      ok("del-flows", {{"bridge", "br0"}, {"flow", "priority=99,ip"}, {"strict", true}})["result"]["removed"],
      0);
  // Loose: every rule at least as specific as "ip", any priority.
  EXPECT_EQ(ok("del-flows", {{"bridge", "br0"}, {"flow", "ip"}})["result"]["removed"], 2);
  EXPECT_EQ(dump(), " priority=10,arp actions=drop\n");
  // No flow: everything.
  EXPECT_EQ(ok("del-flows", {{"bridge", "br0"}})["result"]["removed"], 1);
  EXPECT_EQ(dump(), "");
}

TEST_F(SwitchCoreFlows, ModFlowsLooseChangesEveryMatchingRuleAndStrictOnlyOne) {
  ok("add-flows",
     {{"bridge", "br0"},
      {"flows", {"priority=10,ip,nw_dst=10.0.0.1,actions=drop", "priority=20,ip,actions=drop"}}});
  ok("mod-flows", {{"bridge", "br0"}, {"flow", "priority=20,ip,actions=output:p1"}, {"strict", true}});
  EXPECT_EQ(dump(),
            " priority=20,ip actions=output:1\n"
            " priority=10,ip,nw_dst=10.0.0.1 actions=drop\n");
  ok("mod-flows", {{"bridge", "br0"}, {"flow", "ip,actions=output:p2"}});
  EXPECT_EQ(dump(),
            " priority=20,ip actions=output:2\n"
            " priority=10,ip,nw_dst=10.0.0.1 actions=output:2\n");
}

TEST_F(SwitchCoreFlows, DumpFlowsFilterSelectsAsALooseDeleteWould) {
  ok("add-flows", {{"bridge", "br0"},
                   {"flows",
                    {"priority=10,ip,nw_dst=10.0.0.1,actions=output:p2", "priority=10,arp,actions=drop",
                     "table=3,priority=10,ip,actions=drop"}}});
  EXPECT_EQ(ok("dump-flows", {{"bridge", "br0"}, {"flow", "ip"}, {"stats", false}})["text"],
            " priority=10,ip,nw_dst=10.0.0.1 actions=output:2\n"
            " table=3, priority=10,ip actions=drop\n");
  EXPECT_EQ(ok("dump-flows", {{"bridge", "br0"}, {"flow", "table=3"}, {"stats", false}})["text"],
            " table=3, priority=10,ip actions=drop\n");
  EXPECT_EQ(ok("dump-flows", {{"bridge", "br0"}, {"flow", "out_port=p2"}, {"stats", false}})["text"],
            " priority=10,ip,nw_dst=10.0.0.1 actions=output:2\n");
  EXPECT_THAT(error("dump-flows", {{"bridge", "br0"}, {"flow", "nw_dst=10.0.0.1"}}),
              HasSubstr("dump-flows: filter: "));
}

TEST_F(SwitchCoreFlows, TracePrintsOfprotoTraceAndReturnsTheMegaflowAndActions) {
  ok("add-flow",
     {{"bridge", "br0"}, {"flow", "priority=10,in_port=p1,ip,nw_dst=10.0.0.1 actions=output:p2"}});
  nlohmann::json trace = ok("trace", {{"bridge", "br0"}, {"flow", "in_port=p1,ip,nw_dst=10.0.0.1"}});
  std::string text = trace["text"];
  EXPECT_THAT(text, HasSubstr("bridge(\"br0\")\n-------------\n"));
  EXPECT_THAT(text, HasSubstr(" 0. ip,in_port=1,nw_dst=10.0.0.1, priority 10\n    output:2\n"));
  EXPECT_THAT(text, HasSubstr("\nDatapath actions: 2\n"));
  EXPECT_EQ(trace["result"]["datapath_actions"], "2");
  EXPECT_THAT(trace["result"]["megaflow"].get<std::string>(), HasSubstr("in_port=1"));
  EXPECT_THAT(trace["result"]["megaflow"].get<std::string>(), HasSubstr("nw_dst=10.0.0.1"));
  EXPECT_THAT(text, HasSubstr("Megaflow: " + trace["result"]["megaflow"].get<std::string>() + "\n"));
  // A miss: no rule, drop.
  nlohmann::json miss = ok("trace", {{"bridge", "br0"}, {"flow", "in_port=p2,ip"}});
  EXPECT_EQ(miss["result"]["datapath_actions"], "drop");
  EXPECT_THAT(error("trace", {{"bridge", "br0"}, {"flow", "in_port=p9"}}), HasSubstr("trace: "));
}

}  // namespace
}  // namespace flowlift
