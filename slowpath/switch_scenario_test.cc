// The whole miss path driven through SwitchCore's commands, with the Udpif
// run by hand: packets injected on a dummy port miss, the handler installs
// the megaflow and executes them, later packets hit it in the datapath, the
// revalidator credits the hits to the rule; capture, dump-megaflows,
// counters and dump-flows all tell the same story.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "slowpath/switch_core_test_fixture.h"

namespace flowlift {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kUdpPacket =
    "eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),"
    "ipv4(src=10.0.0.2,dst=10.0.0.1,proto=17,tos=0,ttl=64,frag=no),udp(src=1000,dst=2000)";

class SwitchCoreScenario : public SwitchCoreFixture {
 protected:
  void SetUp() override {
    ok("add-bridge", {{"bridge", "br0"}});
    add_dummy_port("br0", "p1");
    add_dummy_port("br0", "p2");
    add_dummy_port("br0", "p3");
    ok("add-flow",
       {{"bridge", "br0"}, {"flow", "priority=10,in_port=p1,ip,nw_dst=10.0.0.1 actions=output:p2"}});
  }
};

TEST_F(SwitchCoreScenario, CountersCompareSplitsMegaflowsAndRulesByPlaceAndAddsUpToTheTotals) {
  ok("inject", {{"port", "p1"}, {"packet", kUdpPacket}, {"count", 1}});
  EXPECT_EQ(core_.udpif().handle_upcalls(64), 1u);
  ok("inject", {{"port", "p1"}, {"packet", kUdpPacket}, {"count", 4}});  // hits

  nlohmann::json compare = ok("counters", {{"compare", true}});
  const nlohmann::json& result = compare["result"];
  ASSERT_EQ(result["megaflows"].size(), 1u);
  EXPECT_EQ(result["megaflows"][0]["placement"], "datapath");
  EXPECT_EQ(result["megaflows"][0]["datapath"]["packets"], 4);
  EXPECT_EQ(result["megaflows"][0]["hardware"]["packets"], 0);
  EXPECT_EQ(result["megaflows"][0]["bridge"], "br0");
  ASSERT_EQ(result["rules"].size(), 1u);
  EXPECT_EQ(result["rules"][0]["rule"], "table=0,priority=10,ip,in_port=p1,nw_dst=10.0.0.1");
  EXPECT_EQ(result["rules"][0]["datapath"]["packets"], 4);
  EXPECT_EQ(result["rules"][0]["megaflows"], 1);
  EXPECT_EQ(result["totals"]["total"]["packets"], 4);
  // Every packet entered through a datapath port: 1 miss, 4 hits.
  EXPECT_EQ(result["ports"]["rx_packets"], 5);
  EXPECT_EQ(result["datapath_lookups"], (nlohmann::json{{"hit", 4}, {"missed", 1}}));
  EXPECT_THAT(compare["text"].get<std::string>(), HasSubstr("rules (packets, over their live megaflows):"));
  EXPECT_THAT(compare["text"].get<std::string>(),
              HasSubstr("           0            0            4            4  br0 table=0,priority=10,"));
}

TEST_F(SwitchCoreScenario, MissesAreInstalledHitsAreCountedAndCreditedToTheRule) {
  EXPECT_EQ(ok("inject", {{"port", "p1"}, {"packet", kUdpPacket}, {"count", 3}})["result"],
            (nlohmann::json{{"injected", 3}}));
  EXPECT_EQ(ok("capture", {{"port", "p2"}})["result"]["packets"].size(), 0u)
      << "all three wait in the upcall queue";
  EXPECT_EQ(core_.udpif().handle_upcalls(64), 3u);

  nlohmann::json first = ok("capture", {{"port", "p2"}});
  ASSERT_EQ(first["result"]["packets"].size(), 3u) << "every upcalled packet is executed";
  std::string hex = first["result"]["packets"][0]["hex"];
  // 14 bytes Ethernet, 20 IPv4, 8 UDP, padded to the Ethernet minimum of 60.
  EXPECT_EQ(hex.size(), 2u * 60);
  EXPECT_THAT(hex, StartsWith("000000000002000000000001080045"));
  EXPECT_EQ(
      first["result"]["packets"][0]["flow"],
      "udp,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02,nw_src=10.0.0.2,nw_dst=10.0.0.1,"
      "nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1000,tp_dst=2000");
  EXPECT_EQ(ok("capture", {{"port", "p3"}})["result"]["packets"].size(), 0u);

  // Now the datapath has the flow: two more packets hit it, no upcall.
  ok("inject", {{"port", "p1"}, {"packet", hex}, {"count", 2}});
  EXPECT_EQ(core_.udpif().handle_upcalls(64), 0u);
  EXPECT_EQ(ok("capture", {{"port", "p2"}, {"max", 10}})["result"]["packets"].size(), 2u);

  nlohmann::json megaflows = ok("dump-megaflows", {{"filter", "bridge=br0"}});
  ASSERT_EQ(megaflows["result"]["megaflows"].size(), 1u);
  const nlohmann::json& megaflow = megaflows["result"]["megaflows"][0];
  EXPECT_EQ(megaflow["bridge"], "br0");
  EXPECT_EQ(megaflow["packets"], 2);
  EXPECT_EQ(megaflow["bytes"], 120);
  EXPECT_EQ(megaflow["actions"], "2");
  EXPECT_THAT(megaflow["match"].get<std::string>(), HasSubstr("in_port(1)"));
  EXPECT_THAT(megaflow["match"].get<std::string>(), HasSubstr("dst=10.0.0.1"));
  EXPECT_THAT(megaflows["text"].get<std::string>(), HasSubstr(", packets:2, bytes:120, used:"));
  EXPECT_THAT(megaflows["text"].get<std::string>(),
              HasSubstr("s, dp:userspace, offloaded:no, placement:datapath (tc: unavailable: "));

  nlohmann::json counters = ok("counters");
  EXPECT_EQ(counters["result"]["datapath"]["hit"], 2);
  EXPECT_EQ(counters["result"]["datapath"]["missed"], 3);
  EXPECT_EQ(counters["result"]["datapath"]["flows"], 1);
  EXPECT_EQ(counters["result"]["datapath"]["masks"], 1);
  EXPECT_EQ(counters["result"]["upcall"]["upcalls"], 3);
  EXPECT_EQ(counters["result"]["upcall"]["executes"], 3);
  EXPECT_EQ(counters["result"]["upcall"]["flows_installed"], 1);
  EXPECT_THAT(counters["text"].get<std::string>(),
              HasSubstr("userspace:\n  lookups: hit:2 missed:3 lost:0\n  flows: 1\n"));

  // The revalidator credits the datapath's two hits; the three upcalled
  // packets were credited when they were translated (OVS's resubmit_stats).
  ok("revalidate");
  nlohmann::json flows = ok("dump-flows", {{"bridge", "br0"}});
  EXPECT_EQ(flows["result"]["flows"][0]["n_packets"], 5);
  EXPECT_EQ(flows["result"]["flows"][0]["n_bytes"], 5 * 60);

  // A rule change reaches the installed megaflow in one round.
  ok("mod-flows", {{"bridge", "br0"}, {"flow", "in_port=p1,ip,nw_dst=10.0.0.1 actions=output:p3"}});
  ok("revalidate");
  ok("inject", {{"port", "p1"}, {"packet", hex}});
  EXPECT_EQ(core_.udpif().handle_upcalls(64), 0u) << "the megaflow was updated in place, not deleted";
  EXPECT_EQ(ok("capture", {{"port", "p3"}})["result"]["packets"].size(), 1u);

  // Purge removes every megaflow.
  ok("revalidate", {{"purge", true}});
  EXPECT_EQ(ok("dump-megaflows")["result"]["megaflows"].size(), 0u);
}

TEST_F(SwitchCoreScenario, DeletingTheBridgeTakesItsMegaflowsWithItInTheNextRound) {
  ok("inject", {{"port", "p1"}, {"packet", kUdpPacket}});
  core_.udpif().handle_upcalls(64);
  ASSERT_EQ(ok("dump-megaflows")["result"]["megaflows"].size(), 1u);
  ok("del-bridge", {{"bridge", "br0"}});
  ok("revalidate");
  EXPECT_EQ(ok("dump-megaflows")["result"]["megaflows"].size(), 0u);
  EXPECT_TRUE(dpif_.port_dump().empty());
}

TEST_F(SwitchCoreScenario, SetChangesTheUpcallLayersLimits) {
  EXPECT_EQ(ok("set", {{"flow_limit", 5000}, {"max_idle", 2500}})["result"],
            (nlohmann::json{{"flow_limit", 5000}, {"max_idle", 2500}}));
  EXPECT_EQ(core_.udpif().config().flow_limit, 5000u);
  EXPECT_EQ(core_.udpif().config().max_idle_ms, 2500u);
  EXPECT_EQ(ok("set")["text"], "flow_limit=5000 max_idle=2500ms\n");
  EXPECT_EQ(error("set", {{"flow_limit", 0}}), "set: flow_limit must be at least 1");
}

class SwitchCorePackets : public SwitchCoreFixture {
 protected:
  void SetUp() override {
    ok("add-bridge", {{"bridge", "br0"}});
    add_dummy_port("br0", "p1");
    ok("add-port", {{"bridge", "br0"}, {"port", "eth0"}, {"type", "system"}});
  }
};

TEST_F(SwitchCorePackets, InjectAndCaptureRefuseWhatTheyCannotDo) {
  EXPECT_EQ(error("inject", {{"port", "p9"}, {"packet", kUdpPacket}}), "inject: port p9 does not exist");
  EXPECT_EQ(error("inject", {{"port", "eth0"}, {"packet", kUdpPacket}}),
            "inject: port eth0 is a system port; only dummy ports take injected packets and keep a capture");
  EXPECT_EQ(error("capture", {{"port", "eth0"}}),
            "capture: port eth0 is a system port; only dummy ports take injected packets and keep a capture");
  EXPECT_EQ(error("inject", {{"port", "p1"}, {"packet", "0011223"}}),
            "inject: packet: hex packet has an odd number of digits");
  EXPECT_EQ(error("inject", {{"port", "p1"}, {"packet", "00112233"}}),
            "inject: packet: hex packet is shorter than an Ethernet header");
  EXPECT_THAT(error("inject", {{"port", "p1"}, {"packet", "eth(src=zz)"}}),
              HasSubstr("inject: packet: neither hex nor an ovs-dpctl flow: "));
  EXPECT_EQ(error("capture", {{"port", "p1"}, {"max", 5000}}),
            "capture: argument \"max\" must be an integer from 0 to 1024");
  EXPECT_EQ(dpif_.stats().missed, 0u) << "nothing reached the datapath";
}

TEST_F(SwitchCorePackets, AListOfPacketsIsInjectedInOrderCountTimes) {
  std::string arp =
      "ffffffffffff000000000001"
      "0806" +
      std::string(56, '0');
  EXPECT_EQ(ok("inject", {{"port", "p1"},
                          {"packet",
                           {arp,
                            "eth(src=00:00:00:00:00:02,dst=ff:ff:ff:ff:ff:ff),"
                            "eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,"
                            "proto=17,ttl=64,frag=no),udp(src=1,dst=2)"}},
                          {"count", 2}})["result"],
            (nlohmann::json{{"injected", 4}}));
  std::vector<DpifUpcall> upcalls;
  ASSERT_EQ(dpif_.recv_upcalls(10, upcalls), 4u);
  EXPECT_EQ(upcalls[0].key.eth_type, htons(0x0806));
  EXPECT_EQ(upcalls[1].key.eth_type, htons(0x0800));
  EXPECT_EQ(upcalls[2].key.eth_type, htons(0x0806));
  EXPECT_THAT(error("inject", {{"port", "p1"}, {"packet", {arp, "eth(src=zz)"}}}),
              HasSubstr("inject: packet 2: neither hex nor an ovs-dpctl flow: "));
  EXPECT_EQ(error("inject", {{"port", "p1"}, {"packet", nlohmann::json::array()}}),
            "inject: argument \"packet\" is an empty list");
  EXPECT_EQ(dpif_.recv_upcalls(10, upcalls), 0u) << "a refused list injects nothing";
}

TEST_F(SwitchCorePackets, AHexFrameIsInjectedAsItIs) {
  std::string frame =
      "ffffffffffff"
      "000000000001"
      "0806" +
      std::string(56, '0');
  EXPECT_EQ(ok("inject", {{"port", "p1"}, {"packet", frame}})["text"], "injected 1 packet on p1\n");
  std::vector<DpifUpcall> upcalls;
  ASSERT_EQ(dpif_.recv_upcalls(10, upcalls), 1u);
  EXPECT_EQ(upcalls[0].packet.size(), 42u);
  EXPECT_EQ(upcalls[0].key.in_port, 1u);
  EXPECT_EQ(upcalls[0].key.eth_type, htons(0x0806));
}

}  // namespace
}  // namespace flowlift
