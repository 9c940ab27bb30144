// FlowMaskEntry: the per-mask hash table's lookups, reference count, and
// the rule that a resize never reuses a chain link someone may still walk.
#include "kmod/flow_mask_entry.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace flowlift {
namespace {

FlowMask dst_mask() {
  FlowKey bits{};
  bits.in_port = ~0u;
  bits.ipv4_dst = ~0u;
  return FlowMask(bits);
}

FlowKey dst_key(uint32_t dst) {
  FlowKey key{};
  key.in_port = 1;
  key.ipv4_dst = htonl(dst);
  key.tp_src = 99;  // outside the mask
  return key;
}

class FlowMaskEntryTest : public ::testing::Test {
 protected:
  DatapathFlow* add(uint32_t dst) {
    flows_.push_back(std::make_unique<DatapathFlow>(Ufid{}, apply_mask(dst_key(dst), entry_.mask()), entry_,
                                                    ActionList{OutputAction{dst}}));
    entry_.link(flows_.back().get(), reclaimer_);
    return flows_.back().get();
  }
  QuiescentReclaimer reclaimer_;
  FlowMaskEntry entry_{dst_mask(), 12345};
  std::vector<std::unique_ptr<DatapathFlow>> flows_;  // the entry links flows, it does not own them
};

TEST_F(FlowMaskEntryTest, FindsLinkedFlowsByAnyPacketEqualUnderTheMask) {
  DatapathFlow* a = add(1);
  DatapathFlow* b = add(2);
  EXPECT_EQ(entry_.find(dst_key(1)), a);
  EXPECT_EQ(entry_.find(dst_key(2)), b);
  EXPECT_EQ(entry_.find(dst_key(3)), nullptr);
  EXPECT_EQ(entry_.ref_count(), 2u);
}

TEST_F(FlowMaskEntryTest, UnlinkedFlowIsNoLongerFoundAndOthersStay) {
  std::vector<DatapathFlow*> added;
  for (uint32_t i = 0; i < 40; ++i) added.push_back(add(i));
  EXPECT_TRUE(entry_.unlink(added[7]));
  EXPECT_FALSE(entry_.unlink(added[7]));
  EXPECT_EQ(entry_.find(dst_key(7)), nullptr);
  for (uint32_t i = 0; i < 40; ++i) {
    if (i != 7) {
      EXPECT_EQ(entry_.find(dst_key(i)), added[i]) << i;
    }
  }
  EXPECT_EQ(entry_.ref_count(), 39u);
}

TEST_F(FlowMaskEntryTest, ResizeWaitsUntilNoReaderCanWalkTheArrayBeforeLast) {
  QuiescentReclaimer::Reader reader(reclaimer_);
  for (uint32_t i = 0; i <= FlowMaskEntry::kMinBuckets; ++i) add(i);
  ASSERT_EQ(entry_.bucket_count(), 2 * FlowMaskEntry::kMinBuckets);  // the first resize needs no wait
  // The reader may still be in the first array, whose link a second resize
  // would rewrite: the table stays overfull instead.
  for (uint32_t i = 100; i < 200; ++i) add(i);
  EXPECT_EQ(entry_.bucket_count(), 2 * FlowMaskEntry::kMinBuckets);
  for (uint32_t i = 0; i <= FlowMaskEntry::kMinBuckets; ++i) EXPECT_NE(entry_.find(dst_key(i)), nullptr);
  reader.quiescent();
  add(1000);
  EXPECT_EQ(entry_.bucket_count(), 4 * FlowMaskEntry::kMinBuckets);
  for (uint32_t i = 100; i < 200; ++i) EXPECT_NE(entry_.find(dst_key(i)), nullptr) << i;
}

TEST_F(FlowMaskEntryTest, HasMaskIsTrueOnlyForTheSameBitsEvenWhenTheDigestAgrees) {
  const uint64_t digest = FlowMaskEntry::digest(dst_mask());
  EXPECT_TRUE(entry_.has_mask(dst_mask(), digest));
  // The entry's own digest handed in with other masks: the words decide.
  FlowKey narrower = dst_mask().bits();
  narrower.ipv4_dst = htonl(0xffffff00u);  // a bit inside the range differs
  EXPECT_FALSE(entry_.has_mask(FlowMask(narrower), digest));
  FlowKey wider = dst_mask().bits();
  wider.ct_mark = 1;  // a bit far outside the entry's range: the ranges differ
  EXPECT_FALSE(entry_.has_mask(FlowMask(wider), digest));
  FlowKey fewer = dst_mask().bits();
  fewer.in_port = 0;  // the first word of the range empties: a shorter range
  EXPECT_FALSE(entry_.has_mask(FlowMask(fewer), digest));
  // Without a digest the words decide alike.
  EXPECT_TRUE(entry_.has_mask(dst_mask()));
  EXPECT_FALSE(entry_.has_mask(FlowMask(narrower)));
  EXPECT_FALSE(entry_.has_mask(FlowMask(wider)));
  EXPECT_FALSE(entry_.has_mask(FlowMask(fewer)));
  EXPECT_FALSE(entry_.has_mask(FlowMask()));
}

TEST_F(FlowMaskEntryTest, AHashComputedOnceFindsAndLinksAsTheKeyItselfDoes) {
  DatapathFlow* a = add(1);
  EXPECT_EQ(entry_.hash_of(dst_key(1)), entry_.hash_of(apply_mask(dst_key(1), entry_.mask())));
  EXPECT_EQ(entry_.find(dst_key(1), entry_.hash_of(dst_key(1))), a);
  EXPECT_EQ(entry_.find(dst_key(2), entry_.hash_of(dst_key(2))), nullptr);
  // A flow linked with a precomputed hash is found by packets as any other.
  flows_.push_back(std::make_unique<DatapathFlow>(Ufid{}, apply_mask(dst_key(2), entry_.mask()), entry_,
                                                  ActionList{OutputAction{2}}));
  DatapathFlow* b = flows_.back().get();
  entry_.link(b, entry_.hash_of(b->key()), reclaimer_);
  EXPECT_EQ(entry_.find(dst_key(2)), b);
  EXPECT_TRUE(entry_.unlink(b));
  EXPECT_EQ(entry_.find(dst_key(2)), nullptr);
}

TEST_F(FlowMaskEntryTest, AFlowBuiltWithTheMaskHoldsItsKeyMaskedAndIsFoundOnceLinked) {
  // The table builds a flow before it knows the mask's entry: the key is
  // masked in place (tp_src, outside the mask, is dropped).
  auto flow = std::make_unique<DatapathFlow>(Ufid{}, dst_key(5), dst_mask(), ActionList{OutputAction{5}});
  EXPECT_EQ(flow->key(), apply_mask(dst_key(5), dst_mask()));
  EXPECT_EQ(flow->key().tp_src, 0);
  EXPECT_EQ(flow->key().ipv4_dst, htonl(5));
  EXPECT_EQ(flow->actions(), (ActionList{OutputAction{5}}));
  flows_.push_back(std::move(flow));
  add(6);  // a flow built the other way shares the entry
  entry_.link(flows_.front().get(), reclaimer_);
  EXPECT_EQ(entry_.find(dst_key(5)), flows_.front().get());
}

TEST_F(FlowMaskEntryTest, UsageSumsHitsOfEveryReaderStripe) {
  for (uint32_t reader = 0; reader < 20; ++reader) entry_.count_hit(reader);
  EXPECT_EQ(entry_.usage(), 20u);
}

}  // namespace
}  // namespace flowlift
