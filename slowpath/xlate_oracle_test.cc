// The 60 packets of the OVS 3.1 oracle (tests/oracle/ovs-3.1/traces.jsonl)
// through the oracle's table (flows.txt) on the oracle's bridge
// (topology.json): the datapath actions must be OVS's, the megaflow OVS's or
// wider, and the ofproto/trace text OVS's line for line.
//
// Where flowlift differs from OVS by design, the comparison says so:
//  - controller cookies carry a recirculation id that is an allocation
//    counter in OVS (it differs between runs); it is not compared;
//  - OVS's userspace datapath pushes the whole VXLAN header
//    (tnl_push(...) and output to the underlay port 50); flowlift outputs
//    kernel style, set(tunnel(...)) and output to vxlan_sys_4789. The VNI,
//    addresses, TTL, TOS, DF and UDP port are compared field by field; the
//    outer source is the route's (192.0.2.1 from topology.json), which
//    OVS's header carries and the datapath's VXLAN port fills in for us.
#include <arpa/inet.h>
#include <endian.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <regex>

#include "kmod/odp_text_fields.h"
#include "slowpath/megaflow_compare.h"
#include "slowpath/xlate.h"
#include "slowpath/xlate_test_support.h"
#include "slowpath/xlate_trace.h"

namespace flowlift {
namespace {

using xlate_test::short_name;

struct OracleRun {
  XlateBridge bridge{"br0"};
  std::unique_ptr<OfTables> tables = std::make_unique<OfTables>();
};

OracleRun oracle_run(const std::string& table_file) {
  OracleRun run;
  Result<XlateBridge> bridge = xlate_test::oracle_bridge();
  EXPECT_TRUE(bridge) << bridge.status().message();
  if (bridge) run.bridge = std::move(*bridge);
  Status s = xlate_test::add_flows_from_file(*run.tables, xlate_test::oracle_dir() + "/" + table_file,
                                             run.bridge.port_names());
  EXPECT_TRUE(s) << s.message();
  return run;
}

XlateResult translate_trace(const OracleRun& run, const OracleTrace& t) {
  Result<OfFlow> flow = parse_trace_flow(t.flow, run.bridge.port_names());
  EXPECT_TRUE(flow) << short_name(t) << ": " << flow.status().message();
  XlateOptions options;
  options.controller_dont_send = true;  // ofproto/trace's dont_send=1
  return translate(run.bridge, *run.tables, flow ? *flow : OfFlow{}, options);
}

std::string without_recirc_ids(const std::string& text) {
  static const std::regex kRecircId("recirc_id=[0-9]+");
  return std::regex_replace(text, kRecircId, "recirc_id=N");
}

// Top-level items of a datapath action list.
std::vector<std::string> split_actions(const std::string& text) {
  std::vector<std::string> items;
  int depth = 0;
  std::string item;
  for (char c : text) {
    if (c == ',' && depth == 0) {
      items.push_back(item);
      item.clear();
      continue;
    }
    depth += c == '(' ? 1 : c == ')' ? -1 : 0;
    item += c;
  }
  items.push_back(item);
  return items;
}

// What an OVS tnl_push(...) header says about the tunnel.
struct OvsTunnelHeader {
  uint32_t vni = 0;
  std::string src, dst;
  unsigned tos = 0, ttl = 0, udp_dst = 0;
  bool dont_fragment = false;
};

std::optional<OvsTunnelHeader> parse_tnl_push(const std::string& item) {
  static const std::regex kHeader(
      R"(ipv4\(src=([0-9.]+),dst=([0-9.]+),proto=17,tos=(\w+),ttl=(\d+),frag=(\w+)\),udp\(src=\d+,dst=(\d+),csum=\w+\),vxlan\(flags=0x8000000,vni=(\w+)\))");
  std::smatch m;
  if (!std::regex_search(item, m, kHeader)) return std::nullopt;
  OvsTunnelHeader h;
  h.src = m[1];
  h.dst = m[2];
  h.tos = static_cast<unsigned>(std::stoul(m[3], nullptr, 0));
  h.ttl = static_cast<unsigned>(std::stoul(m[4]));
  h.dont_fragment = std::stoul(m[5], nullptr, 0) & 0x4000;
  h.udp_dst = static_cast<unsigned>(std::stoul(m[6]));
  h.vni = static_cast<uint32_t>(std::stoul(m[7], nullptr, 0));
  return h;
}

// The underlay route's preferred source ("SRC 192.0.2.1" in topology.json).
std::string route_source() {
  Result<OracleTopology> topology = load_oracle_topology(xlate_test::oracle_dir() + "/topology.json");
  EXPECT_TRUE(topology) << topology.status().message();
  return topology ? odp_text::format_ipv4(topology->local_ip) : "";
}

// Compares our actions with OVS's text; returns "" or what differs.
std::string compare_actions(const ActionList& ours, const std::string& ovs_text) {
  std::vector<std::string> ovs = split_actions(without_recirc_ids(ovs_text));
  std::vector<std::string> mine = split_actions(without_recirc_ids(format_datapath_actions(ours)));
  // Replace OVS's tnl_push + underlay output and our set(tunnel) + tunnel
  // port output by the same placeholder, remembering what they carry.
  std::vector<OvsTunnelHeader> ovs_tunnels;
  for (size_t i = 0; i < ovs.size(); ++i) {
    if (ovs[i].rfind("tnl_push(", 0) != 0) continue;
    std::optional<OvsTunnelHeader> h = parse_tnl_push(ovs[i]);
    if (!h) return "cannot read OVS header " + ovs[i];
    ovs_tunnels.push_back(*h);
    ovs[i] = "TUNNEL";
    if (i + 1 < ovs.size()) ovs.erase(ovs.begin() + static_cast<long>(i) + 1);  // the underlay output (50)
  }
  std::vector<const SetAction*> our_tunnels;
  for (size_t i = 0, action = 0; i < mine.size(); ++i, ++action) {
    if (mine[i].rfind("set(tunnel(", 0) != 0) continue;
    our_tunnels.push_back(&ours[action].as<SetAction>());
    mine[i] = "TUNNEL";
    if (i + 1 >= mine.size() || mine[i + 1] != "4789") return "set(tunnel) not followed by output to 4789";
    mine.erase(mine.begin() + static_cast<long>(i) + 1);
    ++action;
  }
  if (ovs != mine) return "actions differ: ovs " + ovs_text + " ours " + format_datapath_actions(ours);
  static const std::string kRouteSource = route_source();
  for (size_t i = 0; i < ovs_tunnels.size(); ++i) {
    const OvsTunnelHeader& h = ovs_tunnels[i];
    const TunnelKey& t = our_tunnels[i]->value->tunnel;
    std::string where = "tunnel " + std::to_string(i) + ": ";
    if (be64toh(t.tun_id) != h.vni) return where + "VNI " + std::to_string(be64toh(t.tun_id));
    if (odp_text::format_ipv4(t.ipv4_dst) != h.dst) return where + "dst " + odp_text::format_ipv4(t.ipv4_dst);
    std::string src = t.ipv4_src ? odp_text::format_ipv4(t.ipv4_src) : kRouteSource;
    if (src != h.src) return where + "src " + src + ", OVS " + h.src;
    if (t.ttl != h.ttl) return where + "ttl " + std::to_string(t.ttl);
    if (t.tos != h.tos) return where + "tos " + std::to_string(t.tos);
    if (bool(t.flags & kTunnelDontFragment) != h.dont_fragment) return where + "DF";
    if (!(t.flags & kTunnelKey)) return where + "no key flag (OVS sends the VXLAN I flag)";
    if (ntohs(t.tp_dst) != h.udp_dst) return where + "UDP port " + std::to_string(ntohs(t.tp_dst));
  }
  return "";
}

TEST(XlateOracle, DatapathActionsAreOvsForAll60Packets) {
  OracleRun run = oracle_run("flows.txt");
  for (const char* file : {"traces.jsonl", "traces-prefixes-none.jsonl"}) {
    std::vector<OracleTrace> traces = xlate_test::oracle_traces(file);
    ASSERT_EQ(traces.size(), 60u) << file;
    int tunnels = 0;
    for (const OracleTrace& t : traces) {
      XlateResult r = translate_trace(run, t);
      EXPECT_EQ(r.error, XlateError::kNone) << short_name(t) << ": " << r.error_message;
      EXPECT_EQ(compare_actions(r.actions, t.datapath_actions), "") << file << " " << t.name;
      tunnels += t.datapath_actions.find("tnl_push") != std::string::npos;
    }
    EXPECT_EQ(tunnels, 3) << "A24-A26 output to VXLAN";
  }
}

TEST(XlateOracle, TunnelComparisonCatchesAWrongVni) {
  // The field-by-field comparison above can fail.
  OracleRun run = oracle_run("flows.txt");
  for (const OracleTrace& t : xlate_test::oracle_traces("traces.jsonl")) {
    if (short_name(t) != "A24") continue;
    XlateResult r = translate_trace(run, t);
    ASSERT_EQ(compare_actions(r.actions, t.datapath_actions), "");
    r.actions[0].as<SetAction>().value->tunnel.tun_id = htobe64(0x66);
    EXPECT_EQ(compare_actions(r.actions, t.datapath_actions), "tunnel 0: VNI 102");
  }
}

// Ours against OVS's megaflow for every packet of `file`; returns {equal, wider}.
std::pair<int, int> compare_megaflows_with(const OracleRun& run, const std::string& file) {
  // OVS's trace text cannot show the VLAN TPID, which OVS's megaflow pins
  // exactly as ours does whenever a tag is popped (commit_vlan_action()
  // unwildcards the whole qtag); the text comparison leaves it out.
  MegaflowCompareOptions options;
  options.ignore = {"vlan_tpid"};
  int equal = 0, wider = 0;
  for (const OracleTrace& t : xlate_test::oracle_traces(file)) {
    XlateResult r = translate_trace(run, t);
    Result<OfFlow> packet = parse_trace_flow(t.flow, run.bridge.port_names());
    EXPECT_TRUE(packet);
    if (!packet) continue;
    EXPECT_TRUE(r.megaflow.matches(*packet)) << t.name;
    Result<CanonicalMegaflow> ovs = parse_megaflow(t.megaflow, run.bridge.port_names());
    EXPECT_TRUE(ovs) << t.name << ": " << ovs.status().message();
    if (!ovs) continue;
    // Ours is an Ethernet megaflow too ("eth" in its text).
    Result<MegaflowComparison> cmp = compare_megaflows(canonical_megaflow(r.megaflow, 0), *ovs, options);
    EXPECT_TRUE(cmp) << cmp.status().message();
    if (!cmp) continue;
    equal += cmp->relation == MegaflowRelation::kEqual;
    wider += cmp->relation == MegaflowRelation::kFirstWider;
    EXPECT_TRUE(cmp->relation == MegaflowRelation::kEqual || cmp->relation == MegaflowRelation::kFirstWider)
        << file << " " << t.name << "\n  ovs:  " << t.megaflow << "\n  ours: " << format_megaflow(r.megaflow)
        << "\n"
        << cmp->to_string();
  }
  std::printf("megaflows vs OVS 3.1 (%s): %d equal, %d wider, %d other\n", file.c_str(), equal, wider,
              60 - equal - wider);
  return {equal, wider};
}

TEST(XlateOracle, MegaflowsAreOvssOrWider) {
  // With the real classifier (staged lookup, prefix tries, ports trie) the
  // megaflow must match every packet OVS's does: the same or wider. Wider
  // is still correct only if the actions hold for every packet inside it,
  // which XlateProperty checks on random packets.
  OracleRun run = oracle_run("flows.txt");
  auto [equal, wider] = compare_megaflows_with(run, "traces.jsonl");
  EXPECT_EQ(equal + wider, 60);
}

TEST(XlateOracle, MegaflowsWithoutPrefixTrackingAreOvssOrWider) {
  // The oracle's second run: Flow_Table prefixes=none on tables 0, 10, 20, 30.
  OracleRun run;
  Result<XlateBridge> bridge = xlate_test::oracle_bridge();
  ASSERT_TRUE(bridge);
  run.bridge = std::move(*bridge);
  OfTableConfig none;
  none.prefix_fields.clear();
  for (uint8_t table : {0, 10, 20, 30}) ASSERT_TRUE(run.tables->configure_table(table, none));
  ASSERT_TRUE(xlate_test::add_flows_from_file(*run.tables, xlate_test::oracle_dir() + "/flows.txt",
                                              run.bridge.port_names()));
  auto [equal, wider] = compare_megaflows_with(run, "traces-prefixes-none.jsonl");
  EXPECT_EQ(equal + wider, 60);
}

TEST(XlateOracle, The1400DistinctFlowsOfThe5000PacketTrace) {
  // trace-flows-megaflows.jsonl: OVS's ofproto/trace result for every
  // distinct flow of trace.txt (66 of them decapsulated VXLAN packets).
  OracleRun run = oracle_run("flows.txt");
  Result<std::vector<OracleFlowMegaflow>> flows =
      load_oracle_flow_megaflows(xlate_test::oracle_dir() + "/trace-flows-megaflows.jsonl");
  ASSERT_TRUE(flows) << flows.status().message();
  ASSERT_EQ(flows->size(), 1400u);
  MegaflowCompareOptions options;
  options.ignore = {"vlan_tpid"};  // see MegaflowsAreOvssOrWider
  int equal = 0, wider = 0, controller = 0, tunnels = 0;
  for (const OracleFlowMegaflow& f : *flows) {
    std::string label = "seq " + std::to_string(f.seq) + ": " + f.flow;
    Result<OfFlow> packet = parse_trace_flow(f.flow, run.bridge.port_names());
    ASSERT_TRUE(packet) << label << ": " << packet.status().message();
    XlateOptions xlate_options;
    xlate_options.controller_dont_send = true;
    XlateResult r = translate(run.bridge, *run.tables, *packet, xlate_options);
    ASSERT_EQ(r.error, XlateError::kNone) << label << ": " << r.error_message;
    EXPECT_EQ(compare_actions(r.actions, f.datapath_actions), "") << label;
    controller += r.sends_to_controller;
    tunnels += f.datapath_actions.find("tnl_push") != std::string::npos;
    Result<CanonicalMegaflow> ovs = parse_megaflow(f.megaflow, run.bridge.port_names());
    ASSERT_TRUE(ovs) << label << ": " << ovs.status().message();
    Result<MegaflowComparison> cmp = compare_megaflows(canonical_megaflow(r.megaflow, 0), *ovs, options);
    ASSERT_TRUE(cmp) << cmp.status().message();
    equal += cmp->relation == MegaflowRelation::kEqual;
    wider += cmp->relation == MegaflowRelation::kFirstWider;
    EXPECT_TRUE(cmp->relation == MegaflowRelation::kEqual || cmp->relation == MegaflowRelation::kFirstWider)
        << label << "\n  ovs:  " << f.megaflow << "\n  ours: " << format_megaflow(r.megaflow) << "\n"
        << cmp->to_string();
  }
  std::printf(
      "1400 trace flows vs OVS 3.1: actions equal for all compared; megaflows %d equal, %d wider "
      "(%d to the controller, %d VXLAN outputs)\n",
      equal, wider, controller, tunnels);
  EXPECT_EQ(equal + wider, 1400);
  EXPECT_GT(controller, 0);
  EXPECT_GT(tunnels, 0);
}

// The lines of an ofproto/trace text without those compared elsewhere or
// different by design.
std::vector<std::string> comparable_trace_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  bool in_underlay = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Megaflow: ", 0) == 0 || line.rfind("Datapath actions: ", 0) == 0) continue;
    // OVS traces a native tunnel's underlay bridge; flowlift outputs kernel style.
    if (line == "bridge(\"br-ul\")") {
      in_underlay = true;
      if (!lines.empty() && lines.back().empty()) lines.pop_back();
      continue;
    }
    if (in_underlay) {
      if (line.empty())
        in_underlay = false;
      else
        continue;
    }
    if (line.find("     -> output to native tunnel") == 0 || line.find("     -> tunneling ") == 0 ||
        line.find("     -> output to kernel tunnel") == 0)
      continue;
    lines.push_back(without_recirc_ids(line));
  }
  return lines;
}

TEST(XlateOracle, TraceTextIsOvsLineForLine) {
  // The table as OVS stored it (flows-dump.txt: set_field where the text
  // said mod_*), so that the action lines are spelled as OVS prints them.
  OracleRun run = oracle_run("flows-dump.txt");
  for (const OracleTrace& t : xlate_test::oracle_traces("traces.jsonl")) {
    Result<OfFlow> flow = parse_trace_flow(t.flow, run.bridge.port_names());
    ASSERT_TRUE(flow);
    std::string ours = ofproto_trace(run.bridge, *run.tables, *flow);
    EXPECT_EQ(comparable_trace_lines(ours), comparable_trace_lines(t.full)) << t.name << "\n" << ours;
  }
}

}  // namespace
}  // namespace flowlift
