// Datapath scripts: statements parse with errors that name the line, and a run
// sends composed frames through the real datapath.
#include "kmod/datapath_script.h"

#include <gtest/gtest.h>

#include <sstream>

namespace flowlift {
namespace {

constexpr const char* kScript = R"(# two hosts
port 1 a dummy
port 2 b dummy
flow recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) actions:set(ipv4(ttl=9)),2
packet 1 eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),ipv4(src=1.1.1.1,dst=2.2.2.2,proto=17,ttl=64,frag=no),udp(src=1,dst=2) payload=10
packet 2 eth(src=02:00:00:00:00:02,dst=02:00:00:00:00:01),eth_type(0x0800),ipv4(src=2.2.2.2,dst=1.1.1.1,proto=17,ttl=64,frag=no),udp(src=2,dst=1)
)";

TEST(DatapathScript, ParsesPortsFlowsAndPackets) {
  Result<DatapathScript> script = parse_datapath_script(kScript);
  ASSERT_TRUE(script.is_ok()) << script.status().message();
  EXPECT_EQ(script->ports.size(), 2u);
  ASSERT_EQ(script->flows.size(), 1u);
  EXPECT_EQ(script->flows[0].line, 4);
  ASSERT_EQ(script->packets.size(), 2u);
  EXPECT_EQ(script->packets[0].payload, 10u);
  EXPECT_EQ(script->packets[0].key.in_port, 1u);
}

TEST(DatapathScript, RunForwardsHitsAndReportsMisses) {
  Result<DatapathScript> script = parse_datapath_script(kScript);
  ASSERT_TRUE(script.is_ok());
  std::ostringstream out;
  Result<ScriptRunResult> run = run_datapath_script(*script, out);
  ASSERT_TRUE(run.is_ok()) << run.status().message();
  ASSERT_EQ(run->transmitted.size(), 1u);
  EXPECT_EQ(run->transmitted[0].port, 2u);
  EXPECT_EQ(run->missed, std::vector<size_t>{1});
  ASSERT_EQ(run->final_flows.size(), 1u);
  EXPECT_EQ(run->final_flows[0].stats.packets, 1u);
  EXPECT_NE(out.str().find("checksums ok"), std::string::npos);
  EXPECT_NE(out.str().find("ttl=9"), std::string::npos);
}

TEST(DatapathScript, ErrorsNameTheLineAndTheProblem) {
  struct Case {
    const char* text;
    const char* expected;
  } cases[] = {
      {"port 1 a dummy\nfrob 2\n", "line 2: unknown statement \"frob\""},
      {"port x a dummy\n", "line 1: port number: \"x\" is not a number"},
      {"port 1 a tap\n", "line 1: port a: expected \"dummy\" or \"vxlan"},
      {"flow in_port(1)\n", "line 1: flow: missing \" actions:\""},
      {"flow in_port(1),ipv5() actions:1\n", "line 1: "},
      {"packet 1 eth(src=02:00:00:00:00:01) payload=99999\n", "line 1: payload=99999: larger than a jumbo frame"},
      {"vxlan-packet 10 192.0.2.300 5 eth()\n", "line 1: vxlan-packet remote_ip"},
      {"vxlan-packet 10 192.0.2.3 0x1000000 eth()\n", "line 1: vxlan-packet vni 0x1000000: VNIs have 24 bits"},
      {"packet 1 eth_type(0x0800),ipv4(frag=no)\n", "line 1: the packet's key has no eth(...)"},
  };
  for (const Case& c : cases) {
    Result<DatapathScript> script = parse_datapath_script(c.text);
    ASSERT_FALSE(script.is_ok()) << c.text;
    EXPECT_EQ(script.status().message().rfind(c.expected, 0), 0u)
        << "got: " << script.status().message() << "\nwanted prefix: " << c.expected;
  }
}

TEST(DatapathScript, RunRefusesAFlowTheDatapathWouldRefuse) {
  Result<DatapathScript> script = parse_datapath_script(
      "port 1 a dummy\nflow in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) actions:pop_mpls(eth_type=0x800),1\n");
  ASSERT_TRUE(script.is_ok()) << script.status().message();
  std::ostringstream out;
  Result<ScriptRunResult> run = run_datapath_script(*script, out);
  ASSERT_FALSE(run.is_ok());
  EXPECT_EQ(run.status().message().rfind("line 2: ", 0), 0u) << run.status().message();
}

// A flow written without eth(...) is a layer-3 flow: the datapath takes it,
// and the Ethernet frames it receives never hit it.
TEST(DatapathScript, Layer3FlowIsInstalledButEthernetFramesMissIt) {
  Result<DatapathScript> script = parse_datapath_script(
      "port 1 a dummy\nport 2 b dummy\n"
      "flow recirc_id(0),in_port(1),eth_type(0x0800),ipv4(frag=no) actions:2\n"
      "packet 1 eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),"
      "ipv4(src=1.1.1.1,dst=2.2.2.2,proto=17,ttl=64,frag=no),udp(src=1,dst=2)\n");
  ASSERT_TRUE(script.is_ok()) << script.status().message();
  EXPECT_EQ(script->flows[0].match.key.mac_proto, kMacProtoNone);
  std::ostringstream out;
  Result<ScriptRunResult> run = run_datapath_script(*script, out);
  ASSERT_TRUE(run.is_ok()) << run.status().message();
  EXPECT_TRUE(run->transmitted.empty());
  EXPECT_EQ(run->missed, std::vector<size_t>{0});
}

TEST(DatapathScript, RunRefusesVlanActionsOnALayer3Flow) {
  Result<DatapathScript> script = parse_datapath_script(
      "port 1 a dummy\nflow in_port(1),eth_type(0x0800),ipv4(frag=no) actions:pop_vlan,1\n");
  ASSERT_TRUE(script.is_ok()) << script.status().message();
  std::ostringstream out;
  Result<ScriptRunResult> run = run_datapath_script(*script, out);
  ASSERT_FALSE(run.is_ok());
  EXPECT_NE(run.status().message().find("pop_vlan: flow is not Ethernet (L3 packet)"), std::string::npos)
      << run.status().message();
}

}  // namespace
}  // namespace flowlift
