// Lookup hints for a handler batch: they fetch, never change or decide.
#include "slowpath/udpif_lookup_hints.h"

#include <gtest/gtest.h>

#include "slowpath/of_flow_key.h"
#include "slowpath/oracle_trace_replay.h"
#include "slowpath/udpif_test_fixture.h"
#include "slowpath/xlate.h"

namespace flowlift::udpif_testing {
namespace {

using UdpifLookupHints = UdpifTest;

XlateResult translate_key(const OfBridge& bridge, const FlowKey& key) {
  Result<OfFlow> flow = of_flow_from_key(key, receive_port_mapping(bridge.ports()));
  EXPECT_TRUE(flow) << flow.status().message();
  return flow ? translate(bridge.ports(), bridge.tables(), *flow) : XlateResult{};
}

TEST_F(UdpifLookupHints, AMixedBatchIsHintedWithoutChangingTablesOrTranslations) {
  apply("priority=10,ip,nw_dst=10.0.0.2,actions=output:p2\npriority=5,tcp,tp_dst=80,actions=output:p3");
  const XlateResult before = translate_key(*bridge_, tcp_key(1, "10.0.0.2"));
  const OfVersion version = bridge_->tables().current_version();
  const size_t n_rules = bridge_->tables().n_rules();

  // Misses of this bridge, a miss on a datapath port no bridge has (its
  // translation fails later; the hint skips it), and an action upcall.
  std::vector<DpifUpcall> batch(4);
  batch[0].key = tcp_key(1, "10.0.0.2");
  batch[1].key = tcp_key(2, "10.0.0.9", 80);
  batch[2].key = tcp_key(77, "10.0.0.2");
  batch[3].kind = DpifUpcall::Kind::kAction;
  batch[3].key = tcp_key(1, "10.0.0.3");
  hint_batch_lookups(bridges_.snapshot(), batch);

  EXPECT_EQ(bridge_->tables().current_version(), version);
  EXPECT_EQ(bridge_->tables().n_rules(), n_rules);
  const XlateResult after = translate_key(*bridge_, tcp_key(1, "10.0.0.2"));
  EXPECT_EQ(after.actions, before.actions);
  EXPECT_EQ(after.megaflow, before.megaflow);
  ASSERT_EQ(after.rules.size(), 1u);
  EXPECT_EQ(after.rules[0]->priority(), 10);
}

TEST_F(UdpifLookupHints, AnEmptyOrSingleBatchAndABridgeWithoutRulesAreFine) {
  hint_batch_lookups(bridges_.snapshot(), {});
  std::vector<DpifUpcall> batch(2);
  batch[0].key = tcp_key(1, "10.0.0.2");
  batch[1].key = tcp_key(3, "10.0.0.4");
  hint_batch_lookups(bridges_.snapshot(), std::span<const DpifUpcall>(batch).first(1));
  hint_batch_lookups(bridges_.snapshot(), batch);  // no rules at all: every subtable list is empty
  EXPECT_EQ(bridge_->tables().n_rules(), 0u);
}

}  // namespace
}  // namespace flowlift::udpif_testing
