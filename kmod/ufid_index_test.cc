// UfidIndex: flows found by UFID through growth and erasure, whether the
// caller hands in the UFID's hash (as a batched insert does) or not.
#include "kmod/ufid_index.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "kmod/datapath_flow.h"

namespace flowlift {
namespace {

Ufid numbered_ufid(uint32_t n) {
  Ufid ufid;
  ufid.bytes[15] = 0x77;  // never all zero
  std::memcpy(ufid.bytes.data(), &n, sizeof n);
  return ufid;
}

std::unique_ptr<DatapathFlow> flow_with(const Ufid& ufid) {
  FlowKey key{};
  key.in_port = 1;
  return std::make_unique<DatapathFlow>(ufid, key, FlowMask::exact(), ActionList{});
}

TEST(UfidIndex, FlowsInsertedWithOrWithoutAHashAreFoundEitherWayAcrossGrowth) {
  UfidIndex index(0x1234);
  std::vector<std::unique_ptr<DatapathFlow>> flows;
  const uint32_t count = 3 * UfidIndex::kMinBuckets;  // grows twice
  for (uint32_t i = 0; i < count; ++i) {
    flows.push_back(flow_with(numbered_ufid(i)));
    if (i % 2 == 0) {
      index.insert(flows.back().get());
    } else {
      index.insert(flows.back().get(), index.hash_of(numbered_ufid(i)));
    }
  }
  EXPECT_EQ(index.size(), count);
  for (uint32_t i = 0; i < count; ++i) {
    ASSERT_EQ(index.find(numbered_ufid(i)), flows[i].get()) << i;
    ASSERT_EQ(index.find(numbered_ufid(i), index.hash_of(numbered_ufid(i))), flows[i].get()) << i;
  }
  EXPECT_EQ(index.find(numbered_ufid(count)), nullptr);
  index.prefetch(index.hash_of(numbered_ufid(1)), false);  // only a hint: changes nothing
  index.prefetch(index.hash_of(numbered_ufid(1)), true);
  EXPECT_EQ(index.find(numbered_ufid(1)), flows[1].get());
}

TEST(UfidIndex, AnErasedFlowIsNoLongerFoundAndOthersStay) {
  UfidIndex index(99);
  std::vector<std::unique_ptr<DatapathFlow>> flows;
  for (uint32_t i = 0; i < 100; ++i) {
    flows.push_back(flow_with(numbered_ufid(i)));
    index.insert(flows.back().get());
  }
  EXPECT_TRUE(index.erase(flows[42].get()));
  EXPECT_FALSE(index.erase(flows[42].get()));
  EXPECT_EQ(index.find(numbered_ufid(42)), nullptr);
  EXPECT_EQ(index.find(numbered_ufid(42), index.hash_of(numbered_ufid(42))), nullptr);
  EXPECT_EQ(index.find(numbered_ufid(43)), flows[43].get());
  EXPECT_EQ(index.size(), 99u);
  index.clear();
  EXPECT_EQ(index.find(numbered_ufid(43)), nullptr);
  EXPECT_EQ(index.size(), 0u);
}

}  // namespace
}  // namespace flowlift
