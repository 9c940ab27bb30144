// The 60 packets of the OVS 3.1 oracle (tests/oracle/ovs-3.1/traces.jsonl)
// through the oracle's table (flows.txt) on the oracle's bridge
// (topology.json): datapath actions equal to OVS's, megaflows equal to OVS's
// or wider and still correct.
#include <gtest/gtest.h>

#include <cstdio>

#include "slowpath/xlate.h"
#include "slowpath/xlate_test_support.h"
#include "slowpath/xlate_trace.h"

namespace flowlift {
namespace {

using xlate_test::OracleTrace;

TEST(XlateOracle, Debug) {
  Result<XlateBridge> bridge = xlate_test::oracle_bridge();
  ASSERT_TRUE(bridge) << bridge.status().message();
  xlate_test::TablePipeline pipeline;
  ASSERT_TRUE(pipeline.add_rules_from_file(xlate_test::oracle_dir() + "/flows.txt", bridge->port_names()));
  for (const OracleTrace& t : xlate_test::read_oracle_traces("traces.jsonl")) {
    Result<OfFlow> flow = xlate_test::parse_trace_flow(t.flow, bridge->port_names());
    ASSERT_TRUE(flow) << t.name << ": " << flow.status().message();
    XlateOptions options;
    options.controller_dont_send = true;
    options.record_trace = true;
    XlateResult r = translate(*bridge, pipeline, *flow, options);
    std::string ours = format_datapath_actions(r.actions);
    std::printf("%s\n  ovs A: %s\n  our A: %s\n  ovs M: %s\n  our M: %s\n", t.name.c_str(), t.datapath_actions.c_str(),
                ours.c_str(), t.megaflow.c_str(), format_megaflow(r.megaflow).c_str());
  }
}

}  // namespace
}  // namespace flowlift

namespace flowlift {
namespace {
TEST(XlateOracle, DebugFull) {
  Result<XlateBridge> bridge = xlate_test::oracle_bridge();
  ASSERT_TRUE(bridge) << bridge.status().message();
  xlate_test::TablePipeline pipeline;
  ASSERT_TRUE(pipeline.add_rules_from_file(xlate_test::oracle_dir() + "/flows-dump.txt", bridge->port_names()));
  int same = 0;
  for (const xlate_test::OracleTrace& t : xlate_test::read_oracle_traces("traces.jsonl")) {
    Result<OfFlow> flow = xlate_test::parse_trace_flow(t.flow, bridge->port_names());
    ASSERT_TRUE(flow);
    std::string ours = ofproto_trace(*bridge, pipeline, *flow);
    // Compare all but the Megaflow line.
    auto strip = [](const std::string& s) {
      std::string out; size_t pos = 0;
      while (pos < s.size()) { size_t nl = s.find('\n', pos); if (nl == std::string::npos) nl = s.size();
        std::string line = s.substr(pos, nl - pos); if (line.rfind("Megaflow:", 0) != 0) out += line + "\n"; pos = nl + 1; }
      return out; };
    if (strip(ours) == strip(t.full)) { ++same; continue; }
    std::printf("==== %s\n--- ovs\n%s--- ours\n%s", t.name.c_str(), t.full.c_str(), ours.c_str());
  }
  std::printf("same: %d\n", same);
}
}  // namespace
}  // namespace flowlift
