// dump-megaflows: `ovs-appctl dpctl/dump-flows -m` lines with where each flow
// lives and why (placement, reason, counters split by place), its JSON shape,
// the table form and the filters.
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
    ", dp:userspace, offloaded:no, placement:datapath (tc: unavailable: TC offload is off (flowliftd "
    "--datapath "
    "kernel --offload tc))";

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
            (nlohmann::json{
                {"datapath", "userspace"},
                {"placement", "datapath"},
                {"offloaded", false},
                {"provider", ""},
                {"reason", "tc: unavailable: TC offload is off (flowliftd --datapath kernel --offload tc)"},
                {"tc", "unavailable: TC offload is off (flowliftd --datapath kernel --offload tc)"},
                {"rte_flow", "unavailable: no DPDK rte_flow provider in this build (planned)"}}));
  EXPECT_EQ(flow["counters"], (nlohmann::json{{"hardware", {{"packets", 0}, {"bytes", 0}}},
                                              {"tc_software", {{"packets", 0}, {"bytes", 0}}},
                                              {"datapath", {{"packets", 3}, {"bytes", 180}}}}));
}

TEST_F(SwitchCoreMegaflowDump, TheTableFormHasOneAlignedRowPerFlowBusiestFirstAndSaysWhereFlowsLive) {
  std::string text = ok("dump-megaflows", {{"table", true}})["text"];
  std::vector<std::string> lines;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    lines.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  ASSERT_EQ(lines.size(), 6u) << text;
  EXPECT_THAT(lines[0], ::testing::StartsWith("UFID      BRIDGE  PACKETS  BYTES   USED  WHERE     MATCH"));
  // The flow with 3 packets comes before the idle one, whatever the dump order.
  EXPECT_THAT(lines[1],
              ::testing::StartsWith("6bd2a3e1  -             3    180  never  datapath  in_port(1),eth()"));
  EXPECT_THAT(lines[1],
              ::testing::EndsWith("  2        tc: unavailable: TC offload is off (flowliftd --datapath "
                                  "kernel --offload tc)"));
  EXPECT_THAT(lines[2],
              ::testing::StartsWith("00000001  -             0      0  never  datapath  in_port(2),eth()"));
  EXPECT_THAT(lines[2], ::testing::HasSubstr("  drop     tc: unavailable: "));
  // Every row's MATCH and WHY start in the same column.
  EXPECT_EQ(lines[1].find("in_port"), lines[0].find("MATCH"));
  EXPECT_EQ(lines[2].find("in_port"), lines[0].find("MATCH"));
  EXPECT_EQ(lines[1].find("tc: unavailable"), lines[0].find("WHY"));
  EXPECT_EQ(lines[3],
            "2 megaflows. WHERE: in_hw = in the NIC (the kernel said IN_HW); tc_sw = in TC's software path; "
            "datapath = the userspace datapath's software table; unknown = in TC, the kernel gave no flags.");
  EXPECT_EQ(lines[4], "Not offloaded: tc: TC offload is off (flowliftd --datapath kernel --offload tc).");
  EXPECT_EQ(lines[5], "rte_flow: no DPDK rte_flow provider in this build (planned).");
  // The structured result does not change with the text form.
  EXPECT_EQ(ok("dump-megaflows", {{"table", true}})["result"], ok("dump-megaflows")["result"]);
}

TEST_F(SwitchCoreMegaflowDump, WithoutATcProviderOffloadedAndTcSelectNone) {
  EXPECT_EQ(dump("type=offloaded"), "");
  EXPECT_EQ(dump("type=tc"), "");
  EXPECT_EQ(ok("dump-megaflows", {{"filter", "type=offloaded"}})["result"]["megaflows"],
            nlohmann::json::array());
  std::string all = with_where(kFlowToDrop) + "\n" + with_where(kFlowToP2) + "\n";
  EXPECT_EQ(dump("type=non-offloaded"), all);
  EXPECT_EQ(dump("type=ovs"), all);
  EXPECT_EQ(dump("type=datapath"), all);
  EXPECT_EQ(dump("type=all"), all);
}

// Flows as an offloading Dpif dumps them: one in hardware, one in TC's
// software path, one TC gave no flags for, one refused to the datapath.
class SwitchCoreOffloadedMegaflowDump : public SwitchCoreFixture {
 protected:
  void put(uint8_t id, MegaflowPlacement placement, std::string reason, uint64_t hardware,
           uint64_t tc_software) {
    Result<Megaflow> flow = parse_dumped_flow(
        "ufid:0000000" + std::to_string(id) +
            "-0000-0000-0000-000000000000, in_port(1),eth(),eth_type(0x0800),"
            "ipv4(dst=10.0.0." +
            std::to_string(id) + ",frag=no), packets:" + std::to_string(hardware + tc_software) +
            ", bytes:" + std::to_string((hardware + tc_software) * 100) + ", used:never, actions:2",
        monotonic_ms());
    ASSERT_TRUE(flow.is_ok()) << flow.status().message();
    flow->location.placement = placement;
    flow->location.reason = std::move(reason);
    flow->location.provider = placement == MegaflowPlacement::kDatapath ? "" : "tc";
    flow->location.hardware = FlowStats{hardware, hardware * 100};
    flow->location.tc_software = FlowStats{tc_software, tc_software * 100};
    dpif_.put_flow_with_stats(*flow);
  }
  void SetUp() override {
    put(1, MegaflowPlacement::kInHardware, "", 7, 2);
    put(2, MegaflowPlacement::kTcSoftware, "policy skip_hw on p1", 0, 5);
    put(3, MegaflowPlacement::kUnknown, "", 0, 0);
    put(4, MegaflowPlacement::kDatapath, "refused by profile ice-e810: action pedit not supported", 0, 0);
  }
  std::vector<std::string> ufids(const std::string& filter) {
    std::vector<std::string> out;
    const nlohmann::json reply = ok("dump-megaflows", {{"filter", filter}});
    for (const nlohmann::json& flow : reply["result"]["megaflows"])
      out.push_back(flow["ufid"].get<std::string>().substr(0, 8));
    return out;
  }
};

TEST_F(SwitchCoreOffloadedMegaflowDump, TypeFiltersSelectByPlacement) {
  using V = std::vector<std::string>;
  EXPECT_EQ(ufids("type=offloaded"), (V{"00000001"}));
  EXPECT_EQ(ufids("type=non-offloaded"), (V{"00000002", "00000003", "00000004"}));
  EXPECT_EQ(ufids("type=tc"), (V{"00000001", "00000002", "00000003"}));
  EXPECT_EQ(ufids("type=datapath"), (V{"00000004"}));
  EXPECT_EQ(ufids("type=dpdk"), V{});
}

TEST_F(SwitchCoreOffloadedMegaflowDump, LinesSayTheProviderPlacementAndReason) {
  std::string text = ok("dump-megaflows", {{"filter", "type=tc"}})["text"];
  EXPECT_THAT(text, HasSubstr("used:never, dp:tc, offloaded:yes, placement:in_hw, actions:2"));
  EXPECT_THAT(text, HasSubstr("dp:tc, offloaded:no, placement:tc_sw (policy skip_hw on p1), actions:2"));
  EXPECT_THAT(text, HasSubstr("dp:tc, offloaded:unknown, placement:unknown, actions:2"));
  EXPECT_THAT(ok("dump-megaflows", {{"filter", "type=datapath"}})["text"].get<std::string>(),
              HasSubstr("dp:userspace, offloaded:no, placement:datapath (refused by profile ice-e810: action "
                        "pedit not supported), actions:2"));
}

TEST_F(SwitchCoreOffloadedMegaflowDump, CountersAreSplitByWhereTheyWereCounted) {
  nlohmann::json flows = ok("dump-megaflows")["result"]["megaflows"];
  ASSERT_EQ(flows.size(), 4u);
  EXPECT_EQ(flows[0]["packets"], 9);
  EXPECT_EQ(flows[0]["counters"]["hardware"]["packets"], 7);
  EXPECT_EQ(flows[0]["counters"]["tc_software"]["packets"], 2);
  EXPECT_EQ(flows[0]["counters"]["datapath"]["packets"], 0);
  EXPECT_EQ(flows[1]["counters"]["tc_software"]["bytes"], 500);
  EXPECT_EQ(flows[0]["where"]["offloaded"], true);
  EXPECT_EQ(flows[2]["where"]["offloaded"], false) << "no flags from the kernel is never offloaded";
  EXPECT_EQ(flows[3]["where"]["reason"], "refused by profile ice-e810: action pedit not supported");
}

TEST_F(SwitchCoreMegaflowDump, AMatchFilterSelectsFlowsAgreeingWithIt) {
  EXPECT_EQ(dump("in_port(1),eth()"), with_where(kFlowToP2) + "\n");
  EXPECT_EQ(dump("eth(),eth_type(0x0806)"), with_where(kFlowToDrop) + "\n");
  EXPECT_EQ(dump("in_port(3),eth()"), "");
}

TEST_F(SwitchCoreMegaflowDump, BadFiltersAreRefusedByName) {
  EXPECT_EQ(error("dump-megaflows", {{"filter", "type=hw"}}),
            "dump-megaflows: filter type=hw: unknown type (offloaded, non-offloaded, tc, datapath, ovs, dpdk "
            "or all)");
  EXPECT_EQ(error("dump-megaflows", {{"filter", "bridge=br5"}}),
            "dump-megaflows: filter bridge=br5: bridge does not exist");
  EXPECT_THAT(error("dump-megaflows", {{"filter", "in_port(x)"}}), HasSubstr("dump-megaflows: filter: "));
}

}  // namespace
}  // namespace flowlift
