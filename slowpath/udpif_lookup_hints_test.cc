// Lookup hints for a handler batch: they fetch and convert, never change or
// decide; the flows they leave are what translation would have converted.
#include "slowpath/udpif_lookup_hints.h"

#include <gtest/gtest.h>

#include "slowpath/of_flow_key.h"
#include "slowpath/oracle_trace_replay.h"
#include "slowpath/udpif_test_fixture.h"
#include "slowpath/xlate.h"

namespace flowlift::udpif_testing {
namespace {

using UdpifLookupHints = UdpifTest;

OfFlow flow_of(const OfBridge& bridge, const FlowKey& key) {
  Result<OfFlow> flow = of_flow_from_key(key, receive_port_mapping(bridge.ports()));
  EXPECT_TRUE(flow) << flow.status().message();
  return flow ? *flow : OfFlow{};
}

TEST_F(UdpifLookupHints, AMixedBatchGetsTheFlowsOfItsMissesAndNothingChanges) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2\npriority=5,tcp,tp_dst=80,actions=output:p3");
  const XlateResult before =
      translate(bridge_->ports(), bridge_->tables(), flow_of(*bridge_, tcp_key(1, "10.0.0.2")));
  const OfVersion version = bridge_->tables().current_version();
  const size_t n_rules = bridge_->tables().n_rules();

  // Misses of this bridge, a miss on a datapath port no bridge has (its
  // translation fails later; the hint leaves it), and an action upcall.
  std::vector<DpifUpcall> batch(4);
  batch[0].key = tcp_key(1, "10.0.0.2");
  batch[1].key = tcp_key(2, "10.0.0.9", 80);
  batch[2].key = tcp_key(77, "10.0.0.2");
  batch[3].kind = DpifUpcall::Kind::kAction;
  batch[3].key = tcp_key(1, "10.0.0.3");
  std::vector<HintedFlow> flows(7);  // longer than the batch, with stale entries
  flows[2].bridge = bridge_.get();
  hint_batch_lookups(bridges_.snapshot(), batch, flows);

  ASSERT_EQ(flows.size(), batch.size());
  for (size_t i : {0u, 1u}) {
    EXPECT_EQ(flows[i].bridge, bridge_.get()) << i;
    EXPECT_EQ(flows[i].change_sequence, bridge_->change_sequence()) << i;
    EXPECT_EQ(flows[i].flow, flow_of(*bridge_, batch[i].key)) << i;
  }
  EXPECT_EQ(flows[1].flow.in_port, 2u);
  EXPECT_EQ(flows[2].bridge, nullptr);
  EXPECT_EQ(flows[3].bridge, nullptr);

  EXPECT_EQ(bridge_->tables().current_version(), version);
  EXPECT_EQ(bridge_->tables().n_rules(), n_rules);
  const XlateResult after = translate(bridge_->ports(), bridge_->tables(), flows[0].flow);
  EXPECT_EQ(after.actions, before.actions);
  EXPECT_EQ(after.megaflow, before.megaflow);
  ASSERT_EQ(after.rules.size(), 1u);
  EXPECT_EQ(after.rules[0]->priority(), 10);
}

TEST_F(UdpifLookupHints, AnEmptyOrSingleBatchAndABridgeWithoutRulesAreFine) {
  std::vector<HintedFlow> flows;
  hint_batch_lookups(bridges_.snapshot(), {}, flows);
  EXPECT_TRUE(flows.empty());
  std::vector<DpifUpcall> batch(2);
  batch[0].key = tcp_key(1, "10.0.0.2");
  batch[1].key = tcp_key(3, "10.0.0.4");
  hint_batch_lookups(bridges_.snapshot(), std::span<const DpifUpcall>(batch).first(1), flows);
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].bridge, bridge_.get());
  hint_batch_lookups(bridges_.snapshot(), batch, flows);  // no rules at all: nothing to fetch
  ASSERT_EQ(flows.size(), 2u);
  EXPECT_EQ(flows[1].flow.in_port, 3u);
  EXPECT_EQ(bridge_->tables().n_rules(), 0u);
}

}  // namespace
}  // namespace flowlift::udpif_testing
