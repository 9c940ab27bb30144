// Upcalls per second on Open vSwitch 3.1's oracle table (tests/oracle/ovs-3.1:
// the 44-rule table, its topology and its 5,000-packet trace), the work a
// handler thread does for each miss:
//
// - OracleTranslate: translate() for each of the trace's 1,400 distinct flows
//   (their first packets), round robin: translations per second, no trace
//   recorded, as on the upcall path.
// - OracleUpcall: what a handler does with a miss, for the same flows from
//   their datapath keys: the key's OpenFlow flow, translate(), the megaflow
//   as a datapath match, and its insertion into the masked table (emptied,
//   untimed, after each round of 1,400). Upcalls per second.
//
// OVS's figure for a flow setup on this kind of machine (../shared/ovs-bench:
// about 14 us, 30.2k/s with a PMD thread) includes its dpif and packet
// handling; these figures do not include the datapath's own packet I/O.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "kmod/flow_table.h"
#include "slowpath/of_flow_key.h"
#include "slowpath/of_flow_mod.h"
#include "slowpath/of_tables.h"
#include "slowpath/of_trace_flow.h"
#include "slowpath/oracle_data.h"
#include "slowpath/oracle_trace_replay.h"
#include "slowpath/xlate.h"

namespace flowlift {
namespace {

const std::filesystem::path kOracleDir = FLOWLIFT_ORACLE_DIR;

[[noreturn]] void die(const std::string& what, const Status& status) {
  std::fprintf(stderr, "oracle_upcall_bench: %s: %s\n", what.c_str(), status.message().c_str());
  std::exit(1);
}

template <typename T>
T must(Result<T> result, const std::string& what) {
  if (!result) die(what, result.status());
  return std::move(*result);
}

// The oracle's bridge and tables, loaded once.
struct OracleSetup {
  OracleTopology topology;
  XlateBridge bridge;
  OfTables tables;

  OracleSetup()
      : topology(must(load_oracle_topology(kOracleDir / "topology.json"), "topology.json")),
        bridge(must(xlate_bridge_from_oracle_topology(topology, "br0"), "br0")) {
    const std::string text = must(load_oracle_file_text(kOracleDir / "flows.txt"), "flows.txt");
    OfFlowModParseOptions options;
    options.protocol = OfFlowModProtocol::kOpenFlow14;
    std::vector<OfFlowMod> mods =
        must(parse_of_flow_mod_file(text, bridge.port_names(), options), "flows.txt");
    if (Result<OfTablesChange> change = tables.apply_bundle(mods, 0); !change)
      die("flows.txt", change.status());
  }

  static Result<std::string> load_oracle_file_text(const std::filesystem::path& path);
};

Result<std::string> OracleSetup::load_oracle_file_text(const std::filesystem::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return Status(ENOENT, "cannot open " + path.string());
  std::string text;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  std::fclose(file);
  return text;
}

const OracleSetup& setup() {
  static const OracleSetup instance;
  return instance;
}

// The trace's 1,400 distinct flows, as OpenFlow flows.
std::vector<OfFlow> distinct_flows(const OracleSetup& s) {
  std::vector<OfFlow> flows;
  for (const OracleFlowMegaflow& entry :
       must(load_oracle_flow_megaflows(kOracleDir / "trace-flows-megaflows.jsonl"),
            "trace-flows-megaflows.jsonl")) {
    flows.push_back(must(parse_trace_flow(entry.flow, s.bridge.port_names()), entry.flow));
  }
  return flows;
}

void OracleTranslate(benchmark::State& state) {
  const OracleSetup& s = setup();
  const std::vector<OfFlow> flows = distinct_flows(s);
  size_t next = 0;
  for (auto _ : state) {
    XlateResult result = translate(s.bridge, s.tables, flows[next], {});
    benchmark::DoNotOptimize(result);
    if (++next == flows.size()) next = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["distinct_flows"] = static_cast<double>(flows.size());
}
BENCHMARK(OracleTranslate);

void OracleUpcall(benchmark::State& state) {
  const OracleSetup& s = setup();
  const DatapathToOfPort to_of_port = receive_port_mapping(s.bridge);
  const OfToDatapathPort to_datapath_port = datapath_port_mapping(s.bridge);
  std::vector<FlowKey> keys;
  for (const OfFlow& flow : distinct_flows(s))
    keys.push_back(must(key_from_of_flow(flow, to_datapath_port), "key"));

  MaskedFlowTable table;
  size_t next = 0, installed = 0, already_there = 0;
  for (auto _ : state) {
    const FlowKey& key = keys[next];
    OfFlow flow = must(of_flow_from_key(key, to_of_port), "of_flow_from_key");
    XlateResult result = translate(s.bridge, s.tables, flow, {});
    Megaflow megaflow;
    megaflow.match = must(datapath_match_from_megaflow(result.megaflow, key, to_datapath_port), "megaflow");
    megaflow.actions = std::move(result.actions);
    // Distinct flows may share a megaflow: the second one finds it there.
    if (table.insert(megaflow, MaskedFlowTable::kCreate | MaskedFlowTable::kExclusive)) {
      ++installed;
    } else {
      ++already_there;
    }
    if (++next == keys.size()) {
      next = 0;
      state.PauseTiming();
      table.flush();
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["installed"] = static_cast<double>(installed);
  state.counters["already_there"] = static_cast<double>(already_there);
}
BENCHMARK(OracleUpcall);

}  // namespace
}  // namespace flowlift

BENCHMARK_MAIN();
