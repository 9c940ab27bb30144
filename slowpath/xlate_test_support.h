// Test-only support for the translation tests: a small OfPipeline over one
// Classifier per table (until the real OpenFlow tables are used), the OVS
// 3.1 oracle's bridge from tests/oracle/ovs-3.1/topology.json, and
// ofproto/trace flow strings read into an OfFlow as OVS reads them.
// Header-only and included only by *_test.cc files.
#pragma once

#include <cctype>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/status.h"
#include "kmod/protocol_numbers.h"
#include "slowpath/classifier.h"
#include "slowpath/of_flow_syntax.h"
#include "slowpath/of_pipeline.h"
#include "slowpath/xlate_bridge.h"

namespace flowlift::xlate_test {

// One Classifier per table, rules added at version 0.
class TablePipeline : public OfPipeline {
 public:
  Status add_rule(std::string_view text, const PortNames& ports) {
    Result<OfRule> rule = parse_of_rule(text, ports);
    if (!rule) return rule.status().with_context(std::string(text));
    add(std::move(*rule));
    return Status::ok();
  }

  // A rule as given, unchecked (for rules the syntax would refuse).
  void add(OfRule rule) {
    rules_.push_back(std::make_unique<OfPipelineRule>(std::move(rule), kOfVersionMin));
    const OfPipelineRule* added = rules_.back().get();
    tables_[added->rule().table].insert(added);
  }

  // Every non-comment line of `path` (leading blanks allowed, as in
  // ovs-ofctl dump-flows output).
  Status add_rules_from_file(const std::string& path, const PortNames& ports) {
    std::ifstream in(path);
    if (!in) return Status(ENOENT, "cannot open " + path);
    std::string line;
    while (std::getline(in, line)) {
      size_t start = line.find_first_not_of(" \t");
      if (start == std::string::npos || line[start] == '#') continue;
      if (Status s = add_rule(std::string_view(line).substr(start), ports); !s) return s;
    }
    return Status::ok();
  }

  OfVersion current_version() const override { return kOfVersionMin; }

  const OfPipelineRule* lookup(OfVersion version, uint8_t table_id, const OfFlow& flow,
                               OfMask* wildcards) const override {
    auto it = tables_.find(table_id);
    if (it == tables_.end()) return nullptr;
    return static_cast<const OfPipelineRule*>(it->second.lookup(version, flow, wildcards));
  }

  size_t size() const { return rules_.size(); }

 private:
  std::vector<std::unique_ptr<OfPipelineRule>> rules_;
  std::map<uint8_t, Classifier> tables_;
};

inline std::string oracle_dir() { return FLOWLIFT_ORACLE_DIR; }

// "{key=flow, remote_ip=\"192.0.2.2\"}" -> "key=flow,remote_ip=192.0.2.2".
inline std::string ovsdb_options_to_text(std::string_view map) {
  std::string out;
  for (char c : map)
    if (c != '{' && c != '}' && c != '"' && c != ' ') out += c;
  return out;
}

// br0 of the oracle's topology.json: ports, OpenFlow and datapath numbers,
// VXLAN options (both VXLAN ports share vxlan_sys_4789, datapath port 4789).
inline Result<XlateBridge> oracle_bridge() {
  std::ifstream in(oracle_dir() + "/topology.json");
  if (!in) return Status(ENOENT, "cannot open topology.json");
  nlohmann::json topology = nlohmann::json::parse(in, nullptr, false);
  if (topology.is_discarded()) return invalid_argument("topology.json is not JSON");
  XlateBridge bridge("br0");
  for (const auto& [name, port] : topology["bridges"]["br0"]["ports"].items()) {
    XlatePort p;
    p.name = name;
    std::string type = port["type"];
    if (port["ofport"].is_number()) {
      p.ofp_port = port["ofport"];
    } else {
      p.ofp_port = kOfPortLocal;  // "LOCAL (65534)"
    }
    if (port["datapath_port"].is_number()) {
      p.datapath_port = port["datapath_port"];
    } else {
      p.datapath_port =
          static_cast<uint32_t>(std::stoul(std::string(port["datapath_port"])));  // "4789 = ..."
    }
    if (type == "vxlan") {
      p.type = XlatePortType::kVxlan;
      Result<XlateVxlanOptions> options =
          parse_vxlan_options(ovsdb_options_to_text(std::string(port["options"])));
      if (!options) return options.status().with_context(name);
      p.vxlan = *options;
    } else {
      p.type = type == "internal" ? XlatePortType::kInternal : XlatePortType::kDummy;
    }
    if (Status s = bridge.add_port(std::move(p)); !s) return s;
  }
  return bridge;
}

// An ofproto/trace flow string ("in_port=p1,dl_vlan=10,tcp,nw_src=...") as
// the packet it describes: unnamed fields are zero, and a VLAN tag gets TPID
// 0x8100 (OVS's flow_fix_vlan_tpid()). OVS keeps only the DSCP bits of an
// "nw_tos=N" (A26 says nw_tos=1, which is nw_tos=0); our rule syntax refuses
// ECN bits there, so they are dropped before parsing.
inline Result<OfFlow> parse_trace_flow(std::string_view text, const PortNames& ports) {
  std::string cleaned;
  std::stringstream items{std::string(text)};
  for (std::string item; std::getline(items, item, ',');) {
    if (item.rfind("nw_tos=", 0) == 0)
      item = "nw_tos=" + std::to_string(std::stoul(item.substr(7), nullptr, 0) & 0xfc);
    cleaned += (cleaned.empty() ? "" : ",") + item;
  }
  Result<OfMatch> match = parse_of_match(cleaned, ports);
  if (!match) return match.status();
  OfFlow flow = match->flow;
  if (host16(flow.vlan_tci) & kVlanCfi) flow.vlan_tpid = be16(kEthTypeVlan);
  return flow;
}

struct OracleTrace {
  std::string name;  // "A01"
  std::string title;
  std::string flow;
  std::string megaflow;
  std::string datapath_actions;
  std::string full;
};

inline std::vector<OracleTrace> read_oracle_traces(const std::string& file) {
  std::vector<OracleTrace> out;
  std::ifstream in(oracle_dir() + "/" + file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line);
    OracleTrace t;
    std::string name = j["name"];
    t.name = name.substr(0, name.find(' '));
    t.title = name;
    t.flow = j["flow"];
    t.megaflow = j["megaflow"];
    t.datapath_actions = j["datapath_actions"];
    t.full = j["full"];
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace flowlift::xlate_test
