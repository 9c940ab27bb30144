// is_create_batch and insert_create_batch: which batches go to the table in
// one piece, and each put's outcome when they do.
#include "kmod/dpif_create_batch.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <vector>

namespace flowlift {
namespace {

DpifFlowPut create_put(uint8_t id, uint32_t in_port) {
  FlowKey key{};
  key.in_port = in_port;
  key.eth_type = htons(0x0800);
  FlowKey bits{};
  bits.in_port = ~0u;
  bits.eth_type = 0xffff;
  DpifFlowPut put;
  put.flow.ufid.bytes[0] = id;
  put.flow.match = Match(key, FlowMask(bits));
  put.flow.actions = ActionList{OutputAction{9}};
  put.create = true;
  return put;
}

TEST(DpifCreateBatch, OnlyTwoOrMoreCreatesWithoutModifyAreACreateBatch) {
  std::vector<DpifFlowPut> puts = {create_put(1, 1), create_put(2, 2)};
  EXPECT_TRUE(is_create_batch(puts));
  EXPECT_FALSE(is_create_batch(std::span<const DpifFlowPut>(puts).first(1)));
  puts[1].modify = true;
  EXPECT_FALSE(is_create_batch(puts));
  puts[1].modify = false;
  puts[1].create = false;
  EXPECT_FALSE(is_create_batch(puts));
}

TEST(DpifCreateBatch, ARefusedPutIsNotInsertedAndTheOthersKeepTheirOutcomes) {
  MaskedFlowTable table;
  const std::vector<DpifFlowPut> puts = {create_put(1, 1), create_put(2, 2), create_put(3, 1)};
  std::vector<Result<DpifPutOutcome>> outcomes = insert_create_batch(table, puts, [](const DpifFlowPut& put) {
    return put.flow.ufid.bytes[0] == 2 ? Status(EINVAL, "refused by the check") : Status::ok();
  });
  ASSERT_EQ(outcomes.size(), 3u);
  ASSERT_TRUE(outcomes[0]);
  EXPECT_EQ(*outcomes[0], DpifPutOutcome::kCreated);
  EXPECT_EQ(outcomes[1].status().code(), EINVAL);
  EXPECT_EQ(outcomes[1].status().message(), "refused by the check");
  EXPECT_EQ(outcomes[2].status().code(), EEXIST);  // the key of put 0 under another UFID
  EXPECT_EQ(table.count(), 1u);
}

}  // namespace
}  // namespace flowlift
