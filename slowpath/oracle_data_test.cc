// The OVS 3.1 oracle loaders: the copied files load with the counts the
// oracle README states, and malformed lines fail naming file and line.
#include "slowpath/oracle_data.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace flowlift {
namespace {

const std::filesystem::path kOracle = FLOWLIFT_ORACLE_DIR;

// A file under the test's temporary directory with `text` in it.
std::filesystem::path scratch_file(const std::string& name, const std::string& text) {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("flowlift_oracle_data_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::path path = dir / name;
  std::ofstream(path) << text;
  return path;
}

TEST(OracleData, TracesLoadAllSixtyPacketsWithBothPrefixSettings) {
  Result<std::vector<OracleTrace>> traces = load_oracle_traces(kOracle / "traces.jsonl");
  ASSERT_TRUE(traces.is_ok()) << traces.status().message();
  ASSERT_EQ(traces->size(), 60u);
  const OracleTrace& first = traces->front();
  EXPECT_EQ(first.name, "A01 p1 trusted tcp 10.2.3.5:80 rewrite+dec_ttl");
  EXPECT_EQ(first.megaflow,
            "recirc_id=0,eth,tcp,in_port=1,dl_src=02:aa:00:00:01:01,dl_dst=02:00:00:00:00:b0,"
            "nw_src=10.1.0.0/16,nw_dst=10.2.3.0/24,nw_ttl=64,nw_frag=no,tp_dst=80");
  EXPECT_EQ(first.datapath_actions,
            "set(eth(src=02:00:00:00:00:b0,dst=02:00:00:00:03:01)),set(ipv4(ttl=63)),3");
  EXPECT_EQ(first.prefixes, "default(ip_dst,ip_src)");
  EXPECT_NE(first.full.find("Megaflow: "), std::string::npos);

  Result<std::vector<OracleTrace>> none = load_oracle_traces(kOracle / "traces-prefixes-none.jsonl");
  ASSERT_TRUE(none.is_ok()) << none.status().message();
  ASSERT_EQ(none->size(), 60u);
  EXPECT_EQ(none->front().prefixes, "none");
  EXPECT_EQ((*none)[1].name, (*traces)[1].name);
}

TEST(OracleData, PacketsTxtHasSixtyNamedFlows) {
  Result<std::vector<OraclePacket>> packets = load_oracle_packets(kOracle / "packets.txt");
  ASSERT_TRUE(packets.is_ok()) << packets.status().message();
  ASSERT_EQ(packets->size(), 60u);
  EXPECT_EQ(packets->front().name, "A01 p1 trusted tcp 10.2.3.5:80 rewrite+dec_ttl");
  EXPECT_EQ(packets->front().flow.substr(0, 11), "in_port=p1,");
}

TEST(OracleData, TraceHasFiveThousandPacketsOf340AreVxlanFrames) {
  Result<std::vector<OracleTracePacket>> trace = load_oracle_trace(kOracle / "trace.txt");
  ASSERT_TRUE(trace.is_ok()) << trace.status().message();
  ASSERT_EQ(trace->size(), 5000u);
  size_t frames = 0;
  for (size_t i = 0; i < trace->size(); ++i) {
    const OracleTracePacket& p = (*trace)[i];
    EXPECT_EQ(p.seq, i);
    if (p.is_frame()) {
      ++frames;
      EXPECT_EQ(p.port, "ul50");
    }
  }
  EXPECT_EQ(frames, 340u);
  const OracleTracePacket& first = trace->front();
  ASSERT_TRUE(first.is_frame());
  // Outer Ethernet 02:00:00:00:0a:02 -> 02:00:00:00:0a:01, IPv4.
  EXPECT_EQ(first.frame[0], 0x02);
  EXPECT_EQ(first.frame[5], 0x01);
  EXPECT_EQ(first.frame[12], 0x08);
  EXPECT_EQ(first.frame[13], 0x00);
  EXPECT_EQ((*trace)[1].packet.substr(0, 11), "in_port(1),");
  EXPECT_FALSE((*trace)[1].is_frame());
}

TEST(OracleData, FlowMegaflowsCoverThe1400DistinctFlows) {
  Result<std::vector<OracleFlowMegaflow>> flows =
      load_oracle_flow_megaflows(kOracle / "trace-flows-megaflows.jsonl");
  ASSERT_TRUE(flows.is_ok()) << flows.status().message();
  ASSERT_EQ(flows->size(), 1400u);
  EXPECT_EQ(flows->front().seq, 0u);
  EXPECT_EQ(flows->front().datapath_actions, "push_vlan(vid=300,pcp=0),2");
}

TEST(OracleData, TopologyGivesPortNumbersTunnelPortLocalIpAndNeighbours) {
  Result<OracleTopology> topology = load_oracle_topology(kOracle / "topology.json");
  ASSERT_TRUE(topology.is_ok()) << topology.status().message();
  EXPECT_EQ(topology->ovs_version, "ovs-vswitchd (Open vSwitch) 3.1.0");
  for (uint32_t i = 1; i <= 5; ++i) {
    const OracleTopologyPort* p = topology->find("br0", "p" + std::to_string(i));
    ASSERT_NE(p, nullptr) << i;
    EXPECT_EQ(p->of_port, i);
    EXPECT_EQ(p->datapath_port, i);
    EXPECT_EQ(p->type, "dummy");
  }
  const OracleTopologyPort* vx1 = topology->find("br0", "vx1");
  ASSERT_NE(vx1, nullptr);
  EXPECT_EQ(vx1->of_port, 10u);
  EXPECT_EQ(vx1->datapath_port, 4789u);
  EXPECT_EQ(vx1->options.at("key"), "flow");
  EXPECT_EQ(vx1->options.at("remote_ip"), "192.0.2.2");
  const OracleTopologyPort* vx2 = topology->find("br0", "vx2");
  ASSERT_NE(vx2, nullptr);
  EXPECT_EQ(vx2->of_port, 11u);
  EXPECT_EQ(vx2->options.at("key"), "5000");
  const OracleTopologyPort* local = topology->find("br0", "br0");
  ASSERT_NE(local, nullptr);
  EXPECT_EQ(local->of_port, 0xfffeu);
  EXPECT_EQ(local->datapath_port, 100u);
  const OracleTopologyPort* underlay = topology->find("br-ul", "ul50");
  ASSERT_NE(underlay, nullptr);
  EXPECT_EQ(underlay->datapath_port, 50u);
  EXPECT_EQ(topology->tunnel_datapath_port, 4789u);
  EXPECT_EQ(topology->tunnel_port_name, "vxlan_sys_4789");
  EXPECT_EQ(topology->local_ip, htonl(0xc0000201));
  ASSERT_EQ(topology->neighbours.size(), 2u);
  EXPECT_EQ(topology->neighbours[0].ip, htonl(0xc0000203));
  EXPECT_EQ(topology->neighbours[0].mac, (EthAddr{0x02, 0, 0, 0, 0x0a, 0x03}));
}

TEST(OracleData, TraceSummaryCounts) {
  Result<OracleTraceSummary> summary = load_oracle_trace_summary(kOracle / "trace-summary.json");
  ASSERT_TRUE(summary.is_ok()) << summary.status().message();
  EXPECT_EQ(summary->packets, 5000u);
  EXPECT_EQ(summary->megaflows, 801u);
  EXPECT_EQ(summary->missed, 801u);
  EXPECT_EQ(summary->hits, 4539u);
  EXPECT_EQ(summary->recirculations, 340u);
  EXPECT_EQ(summary->hits + summary->missed, summary->packets + summary->recirculations);
  EXPECT_EQ(summary->megaflows_by_in_port.at(1), 675u);
  EXPECT_EQ(summary->megaflows_by_in_port.at(4789), 15u);
  EXPECT_EQ(summary->distinct_in_port_mask_pairs, 297u);
}

TEST(OracleData, DatapathFlowsAreThe801LinesOfTheFirstDump) {
  Result<std::vector<std::string>> flows = load_oracle_datapath_flows(kOracle / "trace-result.txt");
  ASSERT_TRUE(flows.is_ok()) << flows.status().message();
  ASSERT_EQ(flows->size(), 801u);
  for (const std::string& flow : *flows) EXPECT_NE(flow.find("actions:"), std::string::npos) << flow;
  EXPECT_EQ(flows->front().substr(0, 22), "recirc_id(0),in_port(1");
}

TEST(OracleData, MalformedLinesNameFileLineAndProblem) {
  auto error = [](const Status& s) { return s.message(); };
  std::filesystem::path bad_json = scratch_file("traces.jsonl",
                                                "{\"name\":\"a\",\"flow\":\"f\",\"megaflow\":\"m\","
                                                "\"datapath_actions\":\"drop\"}\n{not json\n");
  EXPECT_EQ(error(load_oracle_traces(bad_json).status()), "traces.jsonl: line 2: not valid JSON");
  std::filesystem::path missing = scratch_file("traces.jsonl", "{\"name\":\"a\",\"flow\":\"f\"}\n");
  EXPECT_EQ(error(load_oracle_traces(missing).status()), "traces.jsonl: line 1: missing field \"megaflow\"");
  std::filesystem::path wrong_type = scratch_file(
      "traces.jsonl", "{\"name\":1,\"flow\":\"f\",\"megaflow\":\"m\",\"datapath_actions\":\"d\"}\n");
  EXPECT_EQ(error(load_oracle_traces(wrong_type).status()),
            "traces.jsonl: line 1: field \"name\" must be a string");
  std::filesystem::path columns = scratch_file("trace.txt", "# header\n0\tp1\tin_port=p1\n");
  EXPECT_EQ(error(load_oracle_trace(columns).status()),
            "trace.txt: line 2: expected 4 TAB-separated columns (seq, port, flow, packet), got 3");
  std::filesystem::path seq = scratch_file("trace.txt", "x\tp1\tin_port=p1\tin_port(1)\n");
  EXPECT_EQ(error(load_oracle_trace(seq).status()), "trace.txt: line 1: seq \"x\" is not a number");
  std::filesystem::path odd_hex = scratch_file("trace.txt", "0\tul50\tin_port=vx1\tabc\n");
  EXPECT_EQ(error(load_oracle_trace(odd_hex).status()),
            "trace.txt: line 1: odd number of hex digits in the frame");
  std::filesystem::path no_bar = scratch_file("packets.txt", "A01 in_port=p1\n");
  EXPECT_EQ(error(load_oracle_packets(no_bar).status()), "packets.txt: line 1: expected \"<name> | <flow>\"");
  std::filesystem::path summary = scratch_file("trace-summary.json", "{\"packets\": 5000}");
  EXPECT_EQ(error(load_oracle_trace_summary(summary).status()),
            "trace-summary.json: missing counter \"megaflows\"");
  std::filesystem::path topology = scratch_file("topology.json",
                                                "{\"bridges\": {\"br0\": {\"ports\": {\"p1\": "
                                                "{\"ofport\": 1}}}}}");
  EXPECT_EQ(error(load_oracle_topology(topology).status()),
            "topology.json: bridge br0 port p1: missing \"datapath_port\"");
  Result<std::vector<OracleTrace>> absent = load_oracle_traces(kOracle / "no-such-file.jsonl");
  EXPECT_EQ(absent.status().code(), ENOENT);
  std::filesystem::remove_all(bad_json.parent_path());
}

}  // namespace
}  // namespace flowlift
