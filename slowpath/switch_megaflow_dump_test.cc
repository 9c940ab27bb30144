// dump-megaflows: `ovs-appctl dpctl/dump-flows -m` lines with where each flow
// lives, stated truthfully for this build (software table only, no offload
// provider), its JSON shape, and the filters.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kmod/odp_text_flow.h"
#include "slowpath/switch_core_test_fixture.h"

namespace flowlift {
namespace {

using ::testing::HasSubstr;

// Two flows as ovs-dpctl prints them (kernel datapath form).
constexpr const char* kFlowToP2 =
    "ufid:6bd2a3e1-3e5b-4b5c-9d4a-2f1e0c7b8a91, "
    "in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.0.1,frag=no), "
    "packets:3, bytes:180, used:never, actions:2";
constexpr const char* kFlowToDrop =
    "ufid:00000001-0000-0000-0000-000000000002, in_port(2),eth(),eth_type(0x0806), "
    "packets:0, bytes:0, used:never, actions:drop";

constexpr const char* kWhere =
    ", dp:userspace, offloaded:no (tc: unavailable: no TC offload provider in this build (planned); "
    "rte_flow: unavailable: no DPDK rte_flow provider in this build)";

std::string with_where(std::string line) {
  line.insert(line.find(", actions:"), kWhere);
  return line;
}

class SwitchCoreMegaflowDump : public SwitchCoreFixture {
 protected:
  void SetUp() override {
    for (const char* line : {kFlowToP2, kFlowToDrop}) {
      Result<Megaflow> flow = parse_dumped_flow(line, monotonic_ms());
      ASSERT_TRUE(flow.is_ok()) << flow.status().message();
      dpif_.put_flow_with_stats(*flow);
    }
  }
  std::string dump(const std::string& filter) { return ok("dump-megaflows", {{"filter", filter}})["text"]; }
};

TEST_F(SwitchCoreMegaflowDump, EachLineIsDpctlsWithTheDatapathAndWhyItIsNotOffloaded) {
  nlohmann::json dumped = ok("dump-megaflows");
  // Flows come in the fake's ufid order: kFlowToDrop's ufid sorts first.
  EXPECT_EQ(dumped["text"], with_where(kFlowToDrop) + "\n" + with_where(kFlowToP2) + "\n");
  const nlohmann::json& flow = dumped["result"]["megaflows"][1];
  EXPECT_EQ(flow["ufid"], "6bd2a3e1-3e5b-4b5c-9d4a-2f1e0c7b8a91");
  EXPECT_EQ(flow["match"], "in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.0.1,frag=no)");
  EXPECT_EQ(flow["actions"], "2");
  EXPECT_EQ(flow["packets"], 3);
  EXPECT_EQ(flow["bytes"], 180);
  EXPECT_EQ(flow["used"], "never");
  EXPECT_EQ(flow["bridge"], "") << "no ukey names this flow: the Udpif did not install it";
  EXPECT_EQ(flow["where"],
            (nlohmann::json{{"datapath", "userspace"},
                            {"location", "sw"},
                            {"offloaded", false},
                            {"tc", "unavailable: no TC offload provider in this build (planned)"},
                            {"rte_flow", "unavailable: no DPDK rte_flow provider in this build"}}));
}

TEST_F(SwitchCoreMegaflowDump, NothingIsOffloadedSoOffloadedAndTcSelectNone) {
  EXPECT_EQ(dump("type=offloaded"), "");
  EXPECT_EQ(dump("type=tc"), "");
  EXPECT_EQ(ok("dump-megaflows", {{"filter", "type=offloaded"}})["result"]["megaflows"],
            nlohmann::json::array());
  std::string all = with_where(kFlowToDrop) + "\n" + with_where(kFlowToP2) + "\n";
  EXPECT_EQ(dump("type=non-offloaded"), all);
  EXPECT_EQ(dump("type=ovs"), all);
  EXPECT_EQ(dump("type=all"), all);
}

TEST_F(SwitchCoreMegaflowDump, AMatchFilterSelectsFlowsAgreeingWithIt) {
  EXPECT_EQ(dump("in_port(1),eth()"), with_where(kFlowToP2) + "\n");
  EXPECT_EQ(dump("eth(),eth_type(0x0806)"), with_where(kFlowToDrop) + "\n");
  EXPECT_EQ(dump("in_port(3),eth()"), "");
}

TEST_F(SwitchCoreMegaflowDump, BadFiltersAreRefusedByName) {
  EXPECT_EQ(error("dump-megaflows", {{"filter", "type=hw"}}),
            "dump-megaflows: filter type=hw: unknown type (offloaded, non-offloaded, ovs, tc, dpdk or all)");
  EXPECT_EQ(error("dump-megaflows", {{"filter", "bridge=br5"}}),
            "dump-megaflows: filter bridge=br5: bridge does not exist");
  EXPECT_THAT(error("dump-megaflows", {{"filter", "in_port(x)"}}), HasSubstr("dump-megaflows: filter: "));
}

}  // namespace
}  // namespace flowlift
