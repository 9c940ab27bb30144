// Test-only support for the translation tests: OpenFlow tables loaded the
// way the OVS 3.1 oracle loaded its table (`ovs-ofctl -O OpenFlow13
// --bundle add-flows`), the oracle's bridge from topology.json, and the
// oracle's traces. Header-only and included only by *_test.cc files.
#pragma once

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/status.h"
#include "slowpath/of_flow_mod.h"
#include "slowpath/of_tables.h"
#include "slowpath/of_trace_flow.h"
#include "slowpath/oracle_data.h"
#include "slowpath/oracle_trace_replay.h"
#include "slowpath/xlate_bridge.h"

namespace flowlift::xlate_test {

inline std::string oracle_dir() { return FLOWLIFT_ORACLE_DIR; }

// Adds the flow-mods of `text` (one a line) as one bundle, OpenFlow 1.3/1.4
// semantics.
inline Status add_flows(OfTables& tables, std::string_view text, const PortNames& ports) {
  OfFlowModParseOptions options;
  options.protocol = OfFlowModProtocol::kOpenFlow14;
  Result<std::vector<OfFlowMod>> mods = parse_of_flow_mod_file(text, ports, options);
  if (!mods) return mods.status();
  Result<OfTablesChange> change = tables.apply_bundle(*mods, 0);
  return change ? Status::ok() : change.status();
}

inline Status add_flows_from_file(OfTables& tables, const std::string& path, const PortNames& ports) {
  std::ifstream in(path);
  if (!in) return Status(ENOENT, "cannot open " + path);
  std::stringstream text;
  text << in.rdbuf();
  return add_flows(tables, text.str(), ports);
}

// OfTables behind the OfPipeline interface, filled from text (the oracle
// replay test's way of loading flows.txt).
class TablePipeline : public OfPipeline {
 public:
  Status add_rule(std::string_view text, const PortNames& ports) { return add_flows(tables_, text, ports); }
  Status add_rules_from_file(const std::string& path, const PortNames& ports) {
    return add_flows_from_file(tables_, path, ports);
  }
  OfVersion current_version() const override { return tables_.current_version(); }
  const OfPipelineRule* lookup(OfVersion version, uint8_t table_id, const OfFlow& flow,
                               OfMask* wildcards) const override {
    return tables_.lookup(version, table_id, flow, wildcards);
  }
  const OfTables& tables() const { return tables_; }

 private:
  OfTables tables_;
};

// br0 of the oracle's topology.json: ports, OpenFlow and datapath numbers,
// VXLAN options (both VXLAN ports share vxlan_sys_4789, datapath port 4789).
inline Result<XlateBridge> oracle_bridge() {
  Result<OracleTopology> topology = load_oracle_topology(oracle_dir() + "/topology.json");
  if (!topology) return topology.status();
  return xlate_bridge_from_oracle_topology(*topology, "br0");
}

// traces.jsonl and traces-prefixes-none.jsonl.
inline std::vector<OracleTrace> oracle_traces(const std::string& file) {
  Result<std::vector<OracleTrace>> traces = load_oracle_traces(oracle_dir() + "/" + file);
  return traces ? *traces : std::vector<OracleTrace>{};
}

// "A01" of "A01 p1 trusted tcp ...".
inline std::string short_name(const OracleTrace& trace) { return trace.name.substr(0, trace.name.find(' ')); }

}  // namespace flowlift::xlate_test
