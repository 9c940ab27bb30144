// SwitchCore's dispatch, bridges, ports and show: every request gets one
// response, errors name the command and what was wrong, and a port exists
// in the datapath exactly when it exists on its bridge.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "slowpath/switch_core_test_fixture.h"

namespace flowlift {
namespace {

using ::testing::HasSubstr;

class SwitchCoreDispatch : public SwitchCoreFixture {};

TEST_F(SwitchCoreDispatch, AnUnknownCommandIsRefusedByName) {
  EXPECT_EQ(error("frobnicate"), "frobnicate: unknown command");
}

TEST_F(SwitchCoreDispatch, ARequestThatIsNotAnObjectGetsAnError) {
  nlohmann::json response = core_.handle(nlohmann::json::array({1, 2}));
  EXPECT_FALSE(response["ok"].get<bool>());
  EXPECT_EQ(response["error"], "request must be a JSON object");
  EXPECT_EQ(core_.handle({{"args", {}}})["error"], "request needs a \"command\" string");
}

TEST_F(SwitchCoreDispatch, AnUnknownArgumentIsRefusedNamingTheKey) {
  EXPECT_EQ(error("add-bridge", {{"bridge", "br0"}, {"colour", "blue"}}),
            "add-bridge: unknown argument \"colour\" (takes bridge)");
  EXPECT_EQ(error("counters", {{"verbose", true}}),
            "counters: unknown argument \"verbose\" (takes text, compare)");
  // Nothing was done.
  EXPECT_EQ(ok("show")["result"]["bridges"].size(), 0u);
}

TEST_F(SwitchCoreDispatch, CountersWithoutTextGiveTheSameResultAndNoText) {
  nlohmann::json full = ok("counters");
  nlohmann::json brief = ok("counters", {{"text", false}});
  EXPECT_THAT(full["text"].get<std::string>(), HasSubstr("lookups: hit:0 missed:0 lost:0"));
  EXPECT_EQ(brief["text"], "");
  EXPECT_EQ(brief["result"], full["result"]);
  EXPECT_EQ(ok("counters", {{"text", true}})["text"], full["text"]);
  EXPECT_EQ(error("counters", {{"text", "no"}}), "counters: argument \"text\" must be true or false");
}

TEST_F(SwitchCoreDispatch, AnUnknownRequestKeyIsRefused) {
  nlohmann::json response = core_.handle({{"command", "show"}, {"arg", {}}});
  EXPECT_EQ(response["error"], "show: unknown request key \"arg\" (a request has id, command and args)");
}

TEST_F(SwitchCoreDispatch, ArgumentsOfTheWrongTypeOrMissingAreNamed) {
  EXPECT_EQ(error("add-bridge", {{"bridge", 5}}), "add-bridge: argument \"bridge\" must be a string");
  EXPECT_EQ(error("add-bridge", nlohmann::json::object()), "add-bridge: missing argument \"bridge\"");
  EXPECT_EQ(error("add-bridge", "br0"), "add-bridge: args must be an object");
  ok("add-bridge", {{"bridge", "br0"}});
  EXPECT_EQ(error("del-flows", {{"bridge", "br0"}, {"strict", "yes"}}),
            "del-flows: argument \"strict\" must be true or false");
  EXPECT_EQ(error("set", {{"flow_limit", -1}}),
            "set: argument \"flow_limit\" must be an integer from 0 to 4294967295");
}

TEST_F(SwitchCoreDispatch, TheIdIsEchoedOnSuccessAndOnError) {
  nlohmann::json good = core_.handle({{"id", 7}, {"command", "add-bridge"}, {"args", {{"bridge", "br0"}}}});
  EXPECT_EQ(good["id"], 7);
  EXPECT_TRUE(good["ok"].get<bool>());
  EXPECT_EQ(good["result"], nlohmann::json::object());
  EXPECT_EQ(good["text"], "");
  nlohmann::json bad = core_.handle({{"id", "x"}, {"command", "add-bridge"}, {"args", {{"bridge", "br0"}}}});
  EXPECT_EQ(bad["id"], "x");
  EXPECT_EQ(bad["error"], "add-bridge: bridge br0 already exists");
}

class SwitchCoreBridges : public SwitchCoreFixture {};

TEST_F(SwitchCoreBridges, DeletingAnUnknownBridgeNamesIt) {
  EXPECT_EQ(error("del-bridge", {{"bridge", "br9"}}), "del-bridge: bridge br9 does not exist");
}

TEST_F(SwitchCoreBridges, DeletingABridgeRemovesItsPortsFromTheDatapath) {
  ok("add-bridge", {{"bridge", "br0"}});
  ok("add-bridge", {{"bridge", "br1"}});
  add_dummy_port("br0", "p1");
  add_dummy_port("br0", "p2");
  add_dummy_port("br1", "q1");
  ok("del-bridge", {{"bridge", "br0"}});
  std::vector<DpifPort> ports = dpif_.port_dump();
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0].name, "q1");
  // The names are free again.
  ok("add-bridge", {{"bridge", "br0"}});
  add_dummy_port("br0", "p1");
}

class SwitchCorePorts : public SwitchCoreFixture {
 protected:
  void SetUp() override { ok("add-bridge", {{"bridge", "br0"}}); }
};

TEST_F(SwitchCorePorts, AutomaticOpenFlowNumbersAreTheLowestFree) {
  EXPECT_EQ(ok("add-port", {{"bridge", "br0"}, {"port", "p1"}, {"type", "dummy"}})["result"],
            (nlohmann::json{{"ofport", 1}, {"datapath_port", 1}}));
  EXPECT_EQ(ok("add-port",
               {{"bridge", "br0"}, {"port", "p5"}, {"type", "dummy"}, {"ofport", 5}})["result"]["ofport"],
            5);
  EXPECT_EQ(ok("add-port", {{"bridge", "br0"}, {"port", "p2"}, {"type", "dummy"}})["result"]["ofport"], 2);
  ok("del-port", {{"port", "p1"}});
  EXPECT_EQ(ok("add-port", {{"bridge", "br0"}, {"port", "p3"}, {"type", "dummy"}})["result"]["ofport"], 1);
}

TEST_F(SwitchCorePorts, AFixedNumberAlreadyTakenIsRefusedAndNothingIsCreated) {
  add_dummy_port("br0", "p1");
  EXPECT_EQ(error("add-port", {{"bridge", "br0"}, {"port", "p2"}, {"type", "dummy"}, {"ofport", 1}}),
            "add-port: port p2: ofport 1 is taken by port p1 on bridge br0");
  EXPECT_EQ(dpif_.port_dump().size(), 1u);
}

TEST_F(SwitchCorePorts, BadPortRequestsNameThePortAndWhatWasWrong) {
  EXPECT_EQ(error("add-port", {{"bridge", "br9"}, {"port", "p1"}, {"type", "dummy"}}),
            "add-port: bridge br9 does not exist");
  EXPECT_EQ(error("add-port", {{"bridge", "br0"}, {"port", "p1"}, {"type", "tap"}}),
            "add-port: port p1: unknown type \"tap\" (system, dummy or vxlan)");
  EXPECT_EQ(
      error("add-port", {{"bridge", "br0"}, {"port", "p1"}, {"type", "dummy"}, {"options", {{"key", "5"}}}}),
      "add-port: port p1: option key: a dummy port takes no options (only vxlan ports do)");
  EXPECT_EQ(error("add-port", {{"bridge", "br0"}, {"port", "p1"}, {"type", "dummy"}, {"ofport", 0}}),
            "add-port: port p1: ofport 0 is out of range (OpenFlow port numbers are 1 to 65279)");
  EXPECT_EQ(error("add-port", {{"bridge", "br0"}, {"port", "p1"}, {"type", "dummy"}, {"ofport", 65280}}),
            "add-port: argument \"ofport\" must be an integer from 0 to 65279");
  EXPECT_THAT(
      error("add-port", {{"bridge", "br0"}, {"port", "vx1"}, {"type", "vxlan"}, {"options", {{"key", "5"}}}}),
      HasSubstr("add-port: port vx1: VXLAN options need remote_ip"));
  EXPECT_THAT(error("add-port", {{"bridge", "br0"},
                                 {"port", "vx1"},
                                 {"type", "vxlan"},
                                 {"options", {{"remote_ip", "192.0.2.2"}, {"colour", "red"}}}}),
              HasSubstr("add-port: port vx1: option colour=red"));
  EXPECT_EQ(error("add-port", {{"bridge", "br0"}, {"port", "local"}, {"type", "dummy"}}),
            "add-port: port local: the name is a reserved OpenFlow port name");
  EXPECT_EQ(error("add-port", {{"bridge", "br0"}, {"port", "17"}, {"type", "dummy"}}),
            "add-port: port 17: the name may not start with a digit (flow text reads it as a port number)");
  EXPECT_EQ(error("add-port", {{"bridge", "br0"}, {"port", "a,b"}, {"type", "dummy"}}),
            "add-port: port a,b: the name may not contain , = : ( ) or white space");
  EXPECT_TRUE(dpif_.port_dump().empty());
  add_dummy_port("br0", "p1");
  ok("add-bridge", {{"bridge", "br1"}});
  EXPECT_EQ(error("add-port", {{"bridge", "br1"}, {"port", "p1"}, {"type", "dummy"}}),
            "add-port: port p1 already exists on bridge br0");
}

TEST_F(SwitchCorePorts, ASystemPortWithoutItsDeviceIsRefusedByTheDatapath) {
  EXPECT_EQ(error("add-port", {{"bridge", "br0"}, {"port", "eth9"}, {"type", "system"}}),
            "add-port: port eth9: datapath: no network device named eth9");
  EXPECT_TRUE(dpif_.port_dump().empty());
  nlohmann::json added = ok("add-port", {{"bridge", "br0"}, {"port", "eth0"}, {"type", "system"}});
  EXPECT_EQ(added["result"]["ofport"], 1);
  EXPECT_EQ(dpif_.port_dump().at(0).type, DpifPortType::kSystem);
}

TEST_F(SwitchCorePorts, VxlanPortsShareOneTunnelPortFromFirstUseToLastRemoval) {
  nlohmann::json vx1 = ok("add-port", {{"bridge", "br0"},
                                       {"port", "vx1"},
                                       {"type", "vxlan"},
                                       {"options", {{"remote_ip", "192.0.2.2"}, {"key", 100}}}});
  nlohmann::json vx2 = ok("add-port", {{"bridge", "br0"},
                                       {"port", "vx2"},
                                       {"type", "vxlan"},
                                       {"options", {{"remote_ip", "192.0.2.3"}, {"key", "flow"}}}});
  uint32_t tunnel = vx1["result"]["datapath_port"].get<uint32_t>();
  EXPECT_EQ(vx2["result"]["datapath_port"], tunnel);
  EXPECT_EQ(vx1["result"]["ofport"], 1);
  EXPECT_EQ(vx2["result"]["ofport"], 2);
  std::vector<DpifPort> ports = dpif_.port_dump();
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0].name, "vxlan_sys_4789");
  EXPECT_EQ(ports[0].type, DpifPortType::kVxlan);
  EXPECT_EQ(ports[0].vxlan_udp_port, 4789);
  EXPECT_EQ(dpif_.tunnel_remotes.at(tunnel),
            (std::vector<Be32>{inet_addr("192.0.2.2"), inet_addr("192.0.2.3")}));

  // Another UDP port gets its own tunnel port.
  ok("add-port", {{"bridge", "br0"},
                  {"port", "vx3"},
                  {"type", "vxlan"},
                  {"options", {{"remote_ip", "192.0.2.4"}, {"dst_port", 8472}}}});
  EXPECT_EQ(dpif_.port_dump().size(), 2u);
  EXPECT_EQ(dpif_.port_dump().at(1).name, "vxlan_sys_8472");

  ok("del-port", {{"bridge", "br0"}, {"port", "vx1"}});
  EXPECT_EQ(dpif_.port_dump().size(), 2u) << "vx2 still uses vxlan_sys_4789";
  EXPECT_EQ(dpif_.tunnel_remotes.at(tunnel), (std::vector<Be32>{inet_addr("192.0.2.3")}));
  ok("del-port", {{"port", "vx2"}});
  ASSERT_EQ(dpif_.port_dump().size(), 1u);
  EXPECT_EQ(dpif_.port_dump().at(0).name, "vxlan_sys_8472");
}

TEST_F(SwitchCorePorts, AVxlanPortReceivingWhatAnotherReceivesIsRefusedWithoutLeakingTheTunnel) {
  ok("add-port", {{"bridge", "br0"},
                  {"port", "vx1"},
                  {"type", "vxlan"},
                  {"options", {{"remote_ip", "192.0.2.2"}, {"key", "5"}}}});
  EXPECT_EQ(error("add-port", {{"bridge", "br0"},
                               {"port", "vx2"},
                               {"type", "vxlan"},
                               {"options", {{"remote_ip", "192.0.2.2"}, {"key", "5"}}}}),
            "add-port: bridge br0: port vx2 (OpenFlow 2): receives the same tunnel packets as port vx1");
  // The refused port holds no share of the tunnel port: removing vx1 removes it.
  ok("del-port", {{"port", "vx1"}});
  EXPECT_TRUE(dpif_.port_dump().empty());
}

TEST_F(SwitchCorePorts, DeletingAPortNamesWhatIsWrong) {
  add_dummy_port("br0", "p1");
  ok("add-bridge", {{"bridge", "br1"}});
  EXPECT_EQ(error("del-port", {{"bridge", "br1"}, {"port", "p1"}}),
            "del-port: port p1 is on bridge br0, not on br1");
  EXPECT_EQ(error("del-port", {{"port", "p7"}}), "del-port: port p7 does not exist");
  ok("del-port", {{"bridge", "br0"}, {"port", "p1"}});
  EXPECT_TRUE(dpif_.port_dump().empty());
}

TEST_F(SwitchCorePorts, ShowListsBridgesPortsOptionsAndCounters) {
  add_dummy_port("br0", "p1");
  ok("add-port", {{"bridge", "br0"},
                  {"port", "vx1"},
                  {"type", "vxlan"},
                  {"ofport", 10},
                  {"options", {{"remote_ip", "192.0.2.2"}, {"key", 100}}}});
  ok("add-flow", {{"bridge", "br0"}, {"flow", "actions=drop"}});
  ASSERT_TRUE(dpif_.inject(1, Packet(std::vector<uint8_t>(60, 0xff))));
  nlohmann::json show = ok("show");
  EXPECT_EQ(show["text"],
            "datapath: userspace\n"
            "bridge br0: 2 ports, 1 flows\n"
            " 1(p1): type dummy, datapath port 1\n"
            "     rx pkts=1, bytes=60, drop=0, errs=0\n"
            "     tx pkts=0, bytes=0, drop=0\n"
            " 10(vx1): type vxlan, datapath port 2 (vxlan_sys_4789, counters shared), options: {key=\"100\", "
            "remote_ip=\"192.0.2.2\"}\n"
            "     rx pkts=0, bytes=0, drop=0, errs=0\n"
            "     tx pkts=0, bytes=0, drop=0\n");
  const nlohmann::json& port = show["result"]["bridges"][0]["ports"][1];
  EXPECT_EQ(port["name"], "vx1");
  EXPECT_EQ(port["ofport"], 10);
  EXPECT_EQ(port["datapath_port"], 2);
  EXPECT_EQ(port["type"], "vxlan");
  EXPECT_EQ(port["options"], (nlohmann::json{{"key", "100"}, {"remote_ip", "192.0.2.2"}}));
  EXPECT_EQ(port["error"], "");
  EXPECT_EQ(show["result"]["bridges"][0]["ports"][0]["counters"]["rx_packets"], 1);
  EXPECT_EQ(error("show", {{"bridge", "br7"}}), "show: bridge br7 does not exist");
}

TEST_F(SwitchCorePorts, ShowSaysWhyAPortDoesNotWork) {
  ok("add-port", {{"bridge", "br0"}, {"port", "eth0"}, {"type", "system"}});
  dpif_.set_port_error(1, "device eth0 was removed");
  nlohmann::json show = ok("show", {{"bridge", "br0"}});
  EXPECT_EQ(show["text"],
            "datapath: userspace\n"
            "bridge br0: 1 ports, 0 flows\n"
            " 1(eth0): type system, datapath port 1\n"
            "     rx pkts=0, bytes=0, drop=0, errs=0\n"
            "     tx pkts=0, bytes=0, drop=0\n"
            "     error: device eth0 was removed\n");
  EXPECT_EQ(show["result"]["bridges"][0]["ports"][0]["error"], "device eth0 was removed");
}

}  // namespace
}  // namespace flowlift

namespace flowlift {
namespace {

// With its threads running (as flowliftd runs it), revalidate waits for a
// whole round of the revalidator thread, and concurrent requests from
// several control connections each get their own answer.
TEST(SwitchCoreThreads, RevalidateWaitsForARoundAndConcurrentRequestsAreEachAnswered) {
  SwitchCoreTestDpif dpif;
  SwitchCoreOptions options;
  options.udpif.n_handlers = 2;
  SwitchCore core(dpif, options);
  ASSERT_TRUE(core.handle({{"command", "add-bridge"}, {"args", {{"bridge", "br0"}}}})["ok"].get<bool>());
  nlohmann::json revalidated = core.handle({{"command", "revalidate"}});
  ASSERT_TRUE(revalidated["ok"].get<bool>()) << revalidated.dump();
  EXPECT_GE(revalidated["result"]["revalidation_rounds"].get<uint64_t>(), 1u);

  constexpr int kFlowsPerThread = 40;
  std::vector<std::thread> clients;
  std::atomic<int> failures{0};
  for (int t = 0; t < 2; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < kFlowsPerThread; ++i) {
        std::string flow = "priority=" + std::to_string(100 + t * kFlowsPerThread + i) + ",actions=drop";
        nlohmann::json added =
            core.handle({{"id", i}, {"command", "add-flow"}, {"args", {{"bridge", "br0"}, {"flow", flow}}}});
        nlohmann::json dumped = core.handle({{"command", "dump-flows"}, {"args", {{"bridge", "br0"}}}});
        if (!added.value("ok", false) || added["id"] != i || !dumped.value("ok", false)) ++failures;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(failures.load(), 0);
  nlohmann::json dumped = core.handle({{"command", "dump-flows"}, {"args", {{"bridge", "br0"}}}});
  EXPECT_EQ(dumped["result"]["flows"].size(), 2u * kFlowsPerThread);
}

}  // namespace
}  // namespace flowlift
