// MaskedFlowTable: the kernel's lookup algorithm (mask list order, mask
// cache, rebalance), ovs_flow_cmd_new/set/del semantics, statistics, and
// lock-free lookups racing a writer.
#include "kmod/flow_table.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace flowlift {
namespace {

constexpr uint16_t kCreate = MaskedFlowTable::kCreate;
constexpr uint16_t kExclusive = MaskedFlowTable::kExclusive;
constexpr uint16_t kModifyAllowed = 0;

FlowKey ipv4_key(uint32_t in_port, uint32_t ipv4_src, uint32_t ipv4_dst, uint16_t tp_src = 1234) {
  FlowKey key{};
  key.in_port = in_port;
  key.eth_type = htons(0x0800);
  key.ip_proto = 6;
  key.ipv4_src = htonl(ipv4_src);
  key.ipv4_dst = htonl(ipv4_dst);
  key.tp_src = htons(tp_src);
  key.tp_dst = htons(80);
  return key;
}

uint32_t prefix_bits(int length) { return length == 0 ? 0 : ~0u << (32 - length); }

// in_port, eth_type and ipv4_dst/dst_prefix, plus ipv4_src/src_prefix: a
// different src_prefix makes a different mask over the same fields.
FlowMask ipv4_mask(int dst_prefix, int src_prefix = 0) {
  FlowKey bits{};
  bits.in_port = ~0u;
  bits.eth_type = 0xffff;
  bits.ipv4_dst = htonl(prefix_bits(dst_prefix));
  bits.ipv4_src = htonl(prefix_bits(src_prefix));
  return FlowMask(bits);
}

Ufid ufid_of(uint32_t n) {
  Ufid ufid;
  ufid.bytes[0] = 0x5a;  // never all zero
  std::memcpy(ufid.bytes.data() + 4, &n, sizeof n);
  return ufid;
}

ActionList output_to(uint32_t port) { return ActionList{OutputAction{port}}; }

Megaflow megaflow(const Ufid& ufid, const FlowKey& key, const FlowMask& mask, uint32_t out_port) {
  Megaflow flow;
  flow.ufid = ufid;
  flow.match = Match(key, mask);
  flow.actions = output_to(out_port);
  return flow;
}

uint32_t output_port(const ActionList& actions) {
  if (actions.size() != 1 || !actions[0].is<OutputAction>()) return ~0u;
  return actions[0].as<OutputAction>().port;
}

void insert_ok(MaskedFlowTable& table, const Megaflow& flow, uint16_t flags = kCreate) {
  auto outcome = table.insert(flow, flags);
  ASSERT_TRUE(outcome.is_ok()) << outcome.status().message();
  ASSERT_EQ(*outcome, InsertOutcome::kCreated);
}

// ---------------------------------------------------------------- basics

TEST(FlowTable, InsertedFlowIsFoundByPacketsEqualUnderItsMask) {
  MaskedFlowTable table;
  LookupContext context(table);
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000001), ipv4_mask(24), 7));

  // Differs from the flow's key only outside the mask: tp_src and the host byte.
  LookupResult hit = table.lookup(context, ipv4_key(1, 0x01020304, 0x0a0000fe, 999), 0x1234);
  ASSERT_NE(hit.flow, nullptr);
  EXPECT_EQ(hit.flow->ufid(), ufid_of(1));
  EXPECT_EQ(output_port(hit.flow->actions()), 7u);
  EXPECT_EQ(hit.masks_visited, 1u);

  EXPECT_EQ(table.lookup(context, ipv4_key(1, 0, 0x0a000101), 0x1234).flow, nullptr);  // other /24
  EXPECT_EQ(table.lookup(context, ipv4_key(2, 0, 0x0a000001), 0x1234).flow, nullptr);  // other port
  EXPECT_EQ(table.count(), 1u);
}

TEST(FlowTable, LookupInEmptyTableVisitsNoMask) {
  MaskedFlowTable table;
  LookupContext context(table);
  LookupResult miss = table.lookup(context, ipv4_key(1, 0, 1), 77);
  EXPECT_EQ(miss.flow, nullptr);
  EXPECT_EQ(miss.masks_visited, 0u);
  EXPECT_FALSE(miss.cache_hit);
}

TEST(FlowTable, StoredKeyIsMaskedEvenIfTheMatchKeyWasNot) {
  MaskedFlowTable table;
  Megaflow flow = megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000001), ipv4_mask(24), 7);
  flow.match.key = ipv4_key(1, 0xffffffff, 0x0a000001, 4321);  // bits outside the mask left in
  insert_ok(table, flow);
  auto got = table.get(ufid_of(1));
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(got->match.key.ipv4_dst, htonl(0x0a000000));
  EXPECT_EQ(got->match.key.ipv4_src, 0u);
  EXPECT_EQ(got->match.key.tp_src, 0u);
  LookupContext context(table);
  EXPECT_NE(table.lookup(context, ipv4_key(1, 5, 0x0a000009), 0).flow, nullptr);
}

TEST(FlowTable, RemoveByUfidReturnsTheFlowAndLookupThenMisses) {
  MaskedFlowTable table;
  LookupContext context(table);
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000001), ipv4_mask(32), 7));
  table.lookup(context, ipv4_key(1, 0, 0x0a000001), 5).flow->record_packet(60, 0, 10);

  auto removed = table.remove(ufid_of(1));
  ASSERT_TRUE(removed.is_ok()) << removed.status().message();
  EXPECT_EQ(removed->ufid, ufid_of(1));
  EXPECT_EQ(removed->stats.packets, 1u);
  EXPECT_EQ(output_port(removed->actions), 7u);
  EXPECT_EQ(table.count(), 0u);
  EXPECT_EQ(table.lookup(context, ipv4_key(1, 0, 0x0a000001), 5).flow, nullptr);
}

TEST(FlowTable, RemoveOfAbsentFlowFailsWithEnoent) {
  MaskedFlowTable table;
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000001), ipv4_mask(32), 7));
  auto by_ufid = table.remove(ufid_of(2));
  ASSERT_FALSE(by_ufid.is_ok());
  EXPECT_EQ(by_ufid.status().code(), ENOENT);
  EXPECT_NE(by_ufid.status().message().find("ufid:"), std::string::npos);

  auto by_match = table.remove(Match(ipv4_key(1, 0, 0x0a000002), ipv4_mask(32)));
  ASSERT_FALSE(by_match.is_ok());
  EXPECT_EQ(by_match.status().code(), ENOENT);
  EXPECT_EQ(table.count(), 1u);
}

TEST(FlowTable, FlowWithoutUfidIsNamedByItsKeyAndMask) {
  MaskedFlowTable table;
  insert_ok(table, megaflow(Ufid{}, ipv4_key(1, 0, 0x0a000001), ipv4_mask(24), 7));
  // Same mask, different key: not this flow.
  EXPECT_EQ(table.remove(Match(ipv4_key(1, 0, 0x0a000101), ipv4_mask(24))).status().code(), ENOENT);
  // Same key under another mask: not this flow either.
  EXPECT_EQ(table.remove(Match(ipv4_key(1, 0, 0x0a000001), ipv4_mask(16))).status().code(), ENOENT);
  // Equal after masking: this flow.
  auto removed = table.remove(Match(ipv4_key(1, 0, 0x0a0000ff), ipv4_mask(24)));
  ASSERT_TRUE(removed.is_ok()) << removed.status().message();
  EXPECT_TRUE(removed->ufid.is_zero());
  EXPECT_EQ(table.count(), 0u);
}

TEST(FlowTable, FlowInstalledWithUfidIsNotFoundByKeyAsInTheKernel) {
  // ovs_flow_tbl_lookup_exact only considers flows identified by their key.
  MaskedFlowTable table;
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000001), ipv4_mask(24), 7));
  Match match(ipv4_key(1, 0, 0x0a000001), ipv4_mask(24));
  EXPECT_EQ(table.remove(match).status().code(), ENOENT);
  EXPECT_EQ(table.get(match).status().code(), ENOENT);
  EXPECT_EQ(table.update_actions(match, output_to(9)).status().code(), ENOENT);
  EXPECT_EQ(table.count(), 1u);
}

// ------------------------------------------------------ mask reference counts

TEST(FlowTable, FlowsWithEqualMasksShareOneMask) {
  MaskedFlowTable table;
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000001), ipv4_mask(24), 7));
  insert_ok(table, megaflow(ufid_of(2), ipv4_key(1, 0, 0x0a000101), ipv4_mask(24), 7));
  insert_ok(table, megaflow(ufid_of(3), ipv4_key(1, 0, 0x0b000001), ipv4_mask(16), 7));
  auto masks = table.masks();
  ASSERT_EQ(masks.size(), 2u);
  EXPECT_EQ(masks[0].mask, ipv4_mask(24));
  EXPECT_EQ(masks[0].ref_count, 2u);
  EXPECT_EQ(masks[1].mask, ipv4_mask(16));
  EXPECT_EQ(masks[1].ref_count, 1u);
}

TEST(FlowTable, MaskIsRemovedWithItsLastFlow) {
  MaskedFlowTable table;
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000001), ipv4_mask(24), 7));
  insert_ok(table, megaflow(ufid_of(2), ipv4_key(1, 0, 0x0a000101), ipv4_mask(24), 7));
  ASSERT_TRUE(table.remove(ufid_of(1)).is_ok());
  ASSERT_EQ(table.mask_count(), 1u);
  EXPECT_EQ(table.masks()[0].ref_count, 1u);
  ASSERT_TRUE(table.remove(ufid_of(2)).is_ok());
  EXPECT_EQ(table.mask_count(), 0u);
}

TEST(FlowTable, RemovedMaskIsReplacedByTheLastMaskAsInTheKernel) {
  MaskedFlowTable table;
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 1), ipv4_mask(32, 0), 7));
  insert_ok(table, megaflow(ufid_of(2), ipv4_key(2, 0, 1), ipv4_mask(32, 8), 7));
  insert_ok(table, megaflow(ufid_of(3), ipv4_key(3, 0, 1), ipv4_mask(32, 16), 7));
  insert_ok(table, megaflow(ufid_of(4), ipv4_key(4, 0, 1), ipv4_mask(32, 24), 7));
  ASSERT_TRUE(table.remove(ufid_of(2)).is_ok());
  auto masks = table.masks();
  ASSERT_EQ(masks.size(), 3u);
  EXPECT_EQ(masks[0].mask, ipv4_mask(32, 0));
  EXPECT_EQ(masks[1].mask, ipv4_mask(32, 24));
  EXPECT_EQ(masks[2].mask, ipv4_mask(32, 16));
}

// ------------------------------------------------ ovs_flow_cmd_new semantics

TEST(FlowTable, InsertSameKeyDifferentUfidFailsWithEexist) {
  MaskedFlowTable table;
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000001), ipv4_mask(24), 7));
  for (uint16_t flags : {kCreate, kExclusive, static_cast<uint16_t>(kCreate | kExclusive)}) {
    auto again = table.insert(megaflow(ufid_of(2), ipv4_key(1, 0, 0x0a000001), ipv4_mask(24), 8), flags);
    ASSERT_FALSE(again.is_ok());
    EXPECT_EQ(again.status().code(), EEXIST);
  }
  EXPECT_EQ(table.count(), 1u);
  EXPECT_EQ(output_port(table.get(ufid_of(1))->actions), 7u);
}

TEST(FlowTable, InsertSameUfidWithCreateFailsWithEexistEvenForAnotherKey) {
  MaskedFlowTable table;
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000001), ipv4_mask(24), 7));
  auto again = table.insert(megaflow(ufid_of(1), ipv4_key(5, 0, 0x0b000001), ipv4_mask(16), 8), kCreate);
  ASSERT_FALSE(again.is_ok());
  EXPECT_EQ(again.status().code(), EEXIST);
  EXPECT_NE(again.status().message().find("ufid:"), std::string::npos);
  EXPECT_EQ(table.count(), 1u);
}

TEST(FlowTable, InsertKeyInsideAnotherFlowsMatchFailsWithEexist) {
  // The kernel's duplicate check is a lookup: any flow the key matches counts.
  MaskedFlowTable table;
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000000), ipv4_mask(16), 7));
  auto narrower = table.insert(megaflow(ufid_of(2), ipv4_key(1, 0, 0x0a000105), ipv4_mask(32), 8), kCreate);
  EXPECT_EQ(narrower.status().code(), EEXIST);
  EXPECT_EQ(table.count(), 1u);
}

TEST(FlowTable, InsertBatchGivesEachRequestTheOutcomeOfInsertingThemInOrder) {
  // Requests later in a batch see the earlier ones: a repeated UFID, a key
  // inside an earlier flow's match and a non-create update behave exactly as
  // the same inserts one by one would.
  const std::vector<Megaflow> flows = {
      megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000000), ipv4_mask(16), 7),
      megaflow(ufid_of(2), ipv4_key(1, 0, 0x0b000001), ipv4_mask(32), 8),
      megaflow(ufid_of(1), ipv4_key(1, 0, 0x0c000001), ipv4_mask(32), 9),   // UFID taken
      megaflow(ufid_of(3), ipv4_key(1, 0, 0x0a000105), ipv4_mask(32), 10),  // inside flow 1
      megaflow(ufid_of(2), ipv4_key(1, 0, 0x0b000001), ipv4_mask(32), 11),  // update of flow 2
      megaflow(ufid_of(4), ipv4_key(2, 0, 0x0a000001), ipv4_mask(24), 12),  // new mask
  };
  const std::vector<uint16_t> flags = {kCreate, kCreate, kCreate, kCreate, kModifyAllowed, kCreate};
  MaskedFlowTable one_by_one;
  MaskedFlowTable batched;
  std::vector<MaskedFlowTable::InsertRequest> requests;
  for (size_t i = 0; i < flows.size(); ++i) requests.push_back({&flows[i], flags[i]});
  std::vector<Result<InsertOutcome>> outcomes = batched.insert_batch(requests);
  ASSERT_EQ(outcomes.size(), flows.size());
  for (size_t i = 0; i < flows.size(); ++i) {
    Result<InsertOutcome> expected = one_by_one.insert(flows[i], flags[i]);
    ASSERT_EQ(outcomes[i].is_ok(), expected.is_ok()) << i;
    if (expected.is_ok()) {
      EXPECT_EQ(*outcomes[i], *expected) << i;
    } else {
      EXPECT_EQ(outcomes[i].status().code(), expected.status().code()) << i;
      EXPECT_EQ(outcomes[i].status().message(), expected.status().message()) << i;
    }
  }
  EXPECT_EQ(outcomes[2].status().code(), EEXIST);
  EXPECT_EQ(outcomes[3].status().code(), EEXIST);
  ASSERT_TRUE(outcomes[4].is_ok());
  EXPECT_EQ(*outcomes[4], InsertOutcome::kActionsUpdated);
  EXPECT_EQ(batched.count(), 3u);
  EXPECT_EQ(batched.mask_count(), 3u);
  EXPECT_EQ(output_port(batched.get(ufid_of(2))->actions), 11u);
}

TEST(FlowTable, InsertBatchOfThousandsAcrossResizesFindsEveryFlow) {
  MaskedFlowTable table;
  LookupContext context(table);
  constexpr uint32_t kFlows = 3000, kBatch = 64;
  for (uint32_t first = 0; first < kFlows; first += kBatch) {
    std::vector<Megaflow> flows;
    for (uint32_t i = first; i < std::min(kFlows, first + kBatch); ++i)
      flows.push_back(megaflow(ufid_of(i), ipv4_key(1, 0, i), ipv4_mask(32), i));
    std::vector<MaskedFlowTable::InsertRequest> requests;
    for (const Megaflow& flow : flows) requests.push_back({&flow, kCreate});
    for (const Result<InsertOutcome>& outcome : table.insert_batch(requests)) ASSERT_TRUE(outcome.is_ok());
    context.quiescent();  // lets resizes proceed
  }
  EXPECT_EQ(table.count(), kFlows);
  for (uint32_t i = 0; i < kFlows; ++i) {
    LookupResult result = table.lookup(context, ipv4_key(1, 0, i), i + 1);
    ASSERT_NE(result.flow, nullptr) << i;
    ASSERT_EQ(output_port(result.flow->actions()), i);
  }
}

// How a request's mask range may have gone stale: edited through
// mutable_bits() without recompute_range().
enum class StaleRange { kNone, kEmpty, kOfAnotherMask };

// A request as a datapath may receive it: the match key not masked (Match's
// constructor masks it; a caller filling the struct need not), and sometimes
// a stale mask range.
Megaflow raw_request(const Ufid& ufid, const FlowKey& key, const FlowMask& mask, uint32_t out_port,
                     StaleRange stale) {
  Megaflow flow;
  flow.ufid = ufid;
  flow.match.key = key;
  flow.match.mask = mask;
  if (stale == StaleRange::kEmpty) {
    flow.match.mask = FlowMask();  // range {0, 0}
    flow.match.mask.mutable_bits() = mask.bits();
  } else if (stale == StaleRange::kOfAnotherMask) {
    FlowKey bits{};
    bits.in_port = ~0u;  // a range of one word: narrower than any mask here
    flow.match.mask = FlowMask(bits);
    flow.match.mask.mutable_bits() = mask.bits();
  }
  flow.actions = output_to(out_port);
  return flow;
}

TEST(FlowTable, AStaleMaskRangeIsRecomputedBeforeTheFlowIsInstalled) {
  // Stored and found as if the range had been recomputed: the flow lands in
  // the same mask as one installed with an exact range.
  MaskedFlowTable table;
  LookupContext context(table);
  insert_ok(table,
            raw_request(ufid_of(1), ipv4_key(1, 0, 0x0a000001), ipv4_mask(32, 32), 7, StaleRange::kNone));
  insert_ok(table, raw_request(ufid_of(2), ipv4_key(1, 0, 0x0a000002), ipv4_mask(32, 32), 8,
                               StaleRange::kOfAnotherMask));
  insert_ok(table,
            raw_request(ufid_of(3), ipv4_key(1, 0, 0x0a000003), ipv4_mask(32, 32), 9, StaleRange::kEmpty));
  EXPECT_EQ(table.mask_count(), 1u);
  ASSERT_EQ(table.masks().size(), 1u);
  EXPECT_EQ(table.masks()[0].mask.range(), ipv4_mask(32, 32).range());
  for (uint32_t i = 1; i <= 3; ++i) {
    const DatapathFlow* flow = table.lookup(context, ipv4_key(1, 0, 0x0a000000 + i), 0).flow;
    ASSERT_NE(flow, nullptr) << i;
    EXPECT_EQ(output_port(flow->actions()), 6 + i);
  }
  // A duplicate key under a stale range is still a duplicate.
  EXPECT_EQ(table
                .insert(raw_request(ufid_of(4), ipv4_key(1, 0, 0x0a000002), ipv4_mask(32, 32), 10,
                                    StaleRange::kOfAnotherMask),
                        kCreate)
                .status()
                .code(),
            EEXIST);
}

TEST(FlowTable, InsertBatchMatchesOneByOneForRandomRequestsWithUnmaskedKeysAndStaleRanges) {
  // Batches hash each key once ahead under the first mask and reuse that
  // hash: whatever the keys, masks, UFIDs and flags, every outcome, the
  // flows installed and what packets find must be those of the same inserts
  // made one by one.
  std::mt19937 random(20261122);
  // More masks than find_mask compares without a digest, so both ways are used.
  const std::vector<FlowMask> masks = {ipv4_mask(32),     ipv4_mask(32, 32), ipv4_mask(24, 32),
                                       ipv4_mask(32, 16), ipv4_mask(32, 24), ipv4_mask(32, 28)};
  auto random_key = [&] {
    return ipv4_key(1 + random() % 2, 0x0a000000u | (random() % 4) << 16 | (random() % 3),
                    0x0b000000u | (random() % 3) << 8 | (random() % 40), static_cast<uint16_t>(random()));
  };
  MaskedFlowTable batched;
  MaskedFlowTable one_by_one;
  for (int round = 0; round < 60; ++round) {
    std::vector<Megaflow> flows;
    std::vector<uint16_t> flags;
    const size_t batch = 2 + random() % 12;
    for (size_t i = 0; i < batch; ++i) {
      const Ufid ufid = random() % 4 == 0 ? Ufid{} : ufid_of(random() % 1000);
      flows.push_back(raw_request(ufid, random_key(), masks[random() % masks.size()], random() % 1000,
                                  static_cast<StaleRange>(random() % 3)));
      flags.push_back(random() % 4 == 0 ? kModifyAllowed : kCreate);
    }
    std::vector<MaskedFlowTable::InsertRequest> requests;
    for (size_t i = 0; i < flows.size(); ++i) requests.push_back({&flows[i], flags[i]});
    std::vector<Result<InsertOutcome>> outcomes = batched.insert_batch(requests);
    ASSERT_EQ(outcomes.size(), flows.size());
    for (size_t i = 0; i < flows.size(); ++i) {
      Result<InsertOutcome> expected = one_by_one.insert(flows[i], flags[i]);
      ASSERT_EQ(outcomes[i].is_ok(), expected.is_ok()) << round << "/" << i;
      if (expected.is_ok()) {
        EXPECT_EQ(*outcomes[i], *expected) << round << "/" << i;
      } else {
        EXPECT_EQ(outcomes[i].status().message(), expected.status().message()) << round << "/" << i;
      }
    }
    // Removing some flows now and then changes which mask is first.
    if (round % 10 == 9) {
      for (const Megaflow& flow : one_by_one.dump()) {
        if (random() % 3 != 0) continue;
        FlowSelector which = flow.ufid.is_zero() ? FlowSelector(flow.match) : FlowSelector(flow.ufid);
        ASSERT_TRUE(one_by_one.remove(which).is_ok());
        ASSERT_TRUE(batched.remove(which).is_ok());
      }
    }
  }
  EXPECT_GT(batched.count(), 20u) << "too few flows to compare";
  EXPECT_EQ(batched.count(), one_by_one.count());
  EXPECT_EQ(batched.mask_count(), one_by_one.mask_count());
  LookupContext batched_context(batched);
  LookupContext one_by_one_context(one_by_one);
  size_t found = 0;
  for (int i = 0; i < 2000; ++i) {
    const FlowKey packet = random_key();
    const DatapathFlow* a = batched.lookup(batched_context, packet, 0).flow;
    const DatapathFlow* b = one_by_one.lookup(one_by_one_context, packet, 0).flow;
    ASSERT_EQ(a == nullptr, b == nullptr) << i;
    if (a == nullptr) continue;
    ++found;
    EXPECT_EQ(a->match(), b->match()) << i;
    EXPECT_EQ(output_port(a->actions()), output_port(b->actions())) << i;
  }
  EXPECT_GT(found, 100u);
}

TEST(FlowTable, TheFirstActionsOfAFlowStayReadableAfterAReplaceAndGoWithTheFlow) {
  // A flow's first actions live inside it: replacing them retires nothing
  // (a reader may still hold them), later replaced lists are retired as before.
  MaskedFlowTable table;
  LookupContext context(table);
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 1), ipv4_mask(32), 7));
  const DatapathFlow* flow = table.lookup(context, ipv4_key(1, 0, 1), 0).flow;
  ASSERT_NE(flow, nullptr);
  const ActionList& first = flow->actions();
  const size_t pending = table.pending_reclaim();
  ASSERT_TRUE(table.update_actions(ufid_of(1), output_to(8)).is_ok());
  EXPECT_EQ(table.pending_reclaim(), pending);
  EXPECT_EQ(output_port(first), 7u);  // under AddressSanitizer a free would be reported here
  const ActionList& second = flow->actions();
  ASSERT_TRUE(table.update_actions(ufid_of(1), output_to(9)).is_ok());
  EXPECT_EQ(table.pending_reclaim(), pending + 1);
  table.reclaim();
  EXPECT_EQ(output_port(second), 8u);  // the reader has not quiesced
  EXPECT_EQ(output_port(flow->actions()), 9u);
  context.quiescent();
  table.reclaim();
  EXPECT_EQ(table.pending_reclaim(), 0u);
  // The flow and its latest block are freed together (a leak would show under ASan).
  ASSERT_TRUE(table.remove(ufid_of(1)).is_ok());
  context.quiescent();
  table.reclaim();
  EXPECT_EQ(table.pending_reclaim(), 0u);
}

TEST(FlowTable, InsertWithoutCreateReplacesActionsOfTheSameFlow) {
  MaskedFlowTable table;
  LookupContext context(table);
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000001), ipv4_mask(24), 7));
  table.lookup(context, ipv4_key(1, 0, 0x0a000001), 0).flow->record_packet(100, 0, 5);

  auto update =
      table.insert(megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000001), ipv4_mask(24), 8), kModifyAllowed);
  ASSERT_TRUE(update.is_ok()) << update.status().message();
  EXPECT_EQ(*update, InsertOutcome::kActionsUpdated);
  auto got = table.get(ufid_of(1));
  EXPECT_EQ(output_port(got->actions), 8u);
  EXPECT_EQ(got->stats.packets, 1u);  // ovs_flow_cmd_new never clears statistics
  EXPECT_EQ(table.count(), 1u);
}

TEST(FlowTable, InsertWithoutCreateOfExistingUfidWithDifferentKeyFailsWithEnoent) {
  MaskedFlowTable table;
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000001), ipv4_mask(24), 7));
  auto update =
      table.insert(megaflow(ufid_of(1), ipv4_key(1, 0, 0x0b000001), ipv4_mask(24), 8), kModifyAllowed);
  ASSERT_FALSE(update.is_ok());
  EXPECT_EQ(update.status().code(), ENOENT);
  EXPECT_NE(update.status().message().find("different key"), std::string::npos);
  EXPECT_EQ(output_port(table.get(ufid_of(1))->actions), 7u);
  EXPECT_EQ(table.count(), 1u);
}

TEST(FlowTable, InsertWithoutCreateOfKnownKeyUnderNewUfidUpdatesTheFlowOwningTheKey) {
  // ovs_flow_cmd_new finds the flow by key when the UFID is unknown, and
  // ovs_flow_cmp on a UFID flow compares only keys.
  MaskedFlowTable table;
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000001), ipv4_mask(24), 7));
  auto update =
      table.insert(megaflow(ufid_of(2), ipv4_key(1, 0, 0x0a000001), ipv4_mask(24), 8), kModifyAllowed);
  ASSERT_TRUE(update.is_ok()) << update.status().message();
  EXPECT_EQ(*update, InsertOutcome::kActionsUpdated);
  EXPECT_EQ(output_port(table.get(ufid_of(1))->actions), 8u);
  EXPECT_EQ(table.get(ufid_of(2)).status().code(), ENOENT);
}

TEST(FlowTable, InsertWithoutCreateOverlappingKeyNamedFlowFailsWithEnoent) {
  MaskedFlowTable table;
  insert_ok(table, megaflow(Ufid{}, ipv4_key(1, 0, 0x0a000000), ipv4_mask(16), 7));
  auto update = table.insert(megaflow(Ufid{}, ipv4_key(1, 0, 0x0a000105), ipv4_mask(32), 8), kModifyAllowed);
  EXPECT_EQ(update.status().code(), ENOENT);
  auto same = table.insert(megaflow(Ufid{}, ipv4_key(1, 0, 0x0a00ffff), ipv4_mask(16), 9), kModifyAllowed);
  ASSERT_TRUE(same.is_ok()) << same.status().message();
  EXPECT_EQ(output_port(table.get(Match(ipv4_key(1, 0, 0x0a000000), ipv4_mask(16)))->actions), 9u);
}

// ------------------------------------------------ ovs_flow_cmd_set semantics

TEST(FlowTable, UpdateActionsOfUnknownFlowFailsWithEnoent) {
  MaskedFlowTable table;
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000001), ipv4_mask(24), 7));
  EXPECT_EQ(table.update_actions(ufid_of(9), output_to(8)).status().code(), ENOENT);
  EXPECT_EQ(table.update_actions(Ufid{}, output_to(8)).status().code(), ENOENT);
  EXPECT_EQ(
      table.update_actions(Match(ipv4_key(1, 0, 0x0b000001), ipv4_mask(24)), output_to(8)).status().code(),
      ENOENT);
  EXPECT_EQ(output_port(table.get(ufid_of(1))->actions), 7u);
}

TEST(FlowTable, UpdateActionsReplacesActionsAndKeepsStatistics) {
  MaskedFlowTable table;
  LookupContext context(table);
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000001), ipv4_mask(24), 7));
  const DatapathFlow* flow = table.lookup(context, ipv4_key(1, 0, 0x0a000001), 0).flow;
  flow->record_packet(64, 0, 3);

  auto reply = table.update_actions(ufid_of(1), output_to(8));
  ASSERT_TRUE(reply.is_ok());
  EXPECT_EQ(output_port(reply->actions), 8u);
  EXPECT_EQ(reply->stats.packets, 1u);
  EXPECT_EQ(output_port(flow->actions()), 8u);  // the same flow object sees the new list
  EXPECT_EQ(table.get(ufid_of(1))->stats.bytes, 64u);
}

TEST(FlowTable, UpdateWithClearReportsStatisticsBeforeClearingThem) {
  MaskedFlowTable table;
  LookupContext context(table);
  insert_ok(table, megaflow(Ufid{}, ipv4_key(1, 0, 0x0a000001), ipv4_mask(24), 7));
  table.lookup(context, ipv4_key(1, 0, 0x0a000001), 0).flow->record_packet(64, 0x02, 3);

  auto reply = table.update_actions(Match(ipv4_key(1, 0, 0x0a000001), ipv4_mask(24)), std::nullopt,
                                    /*clear_stats=*/true);
  ASSERT_TRUE(reply.is_ok()) << reply.status().message();
  EXPECT_EQ(reply->stats, (FlowStats{1, 64, 3, 0x02}));
  EXPECT_EQ(output_port(reply->actions), 7u);  // no actions given: unchanged
  EXPECT_EQ(table.get(Match(ipv4_key(1, 0, 0x0a000001), ipv4_mask(24)))->stats, FlowStats{});
}

// ------------------------------------------------------- lookup algorithm

TEST(FlowTable, OverlappingMasksColdLookupReturnsTheFirstMaskInListOrder) {
  MaskedFlowTable table;
  LookupContext context(table);
  // Installed without the duplicate check getting in the way: the narrower
  // flow first, then the wider one under a new UFID with a key outside the
  // narrow flow's match.
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 0x0a000105), ipv4_mask(32), 1));
  insert_ok(table, megaflow(ufid_of(2), ipv4_key(1, 0, 0x0a000000), ipv4_mask(16), 2));
  const FlowKey packet = ipv4_key(1, 0, 0x0a000105);

  LookupResult first = table.lookup(context, packet, 0);
  ASSERT_NE(first.flow, nullptr);
  EXPECT_EQ(first.flow->ufid(), ufid_of(1));
  EXPECT_EQ(first.masks_visited, 1u);

  // Reverse the list order (all hits now go to the /16 mask) and look again.
  for (int i = 0; i < 5; ++i) table.lookup(context, ipv4_key(1, 0, 0x0a000909), 0);
  ASSERT_TRUE(table.rebalance());
  LookupResult second = table.lookup(context, packet, 0);
  ASSERT_NE(second.flow, nullptr);
  EXPECT_EQ(second.flow->ufid(), ufid_of(2));
}

// Three masks; the packet's flow lives in the last one.
class MaskCacheScenario : public ::testing::Test {
 protected:
  void SetUp() override {
    insert_ok(table_, megaflow(ufid_of(0), ipv4_key(1, 0, 0x0a000000), ipv4_mask(32, 0), 0));
    insert_ok(table_, megaflow(ufid_of(1), ipv4_key(1, 0, 0x0b000000), ipv4_mask(32, 8), 1));
    insert_ok(table_, megaflow(ufid_of(2), ipv4_key(1, 0, 0x0c000000), ipv4_mask(32, 16), 2));
  }
  static constexpr uint32_t kHash = 0x01020304;
  const FlowKey packet_ = ipv4_key(1, 0, 0x0c000000);
  MaskedFlowTable table_;
  LookupContext context_{table_};
};

TEST_F(MaskCacheScenario, SecondLookupOfTheSameHashHitsTheCachedMask) {
  LookupResult cold = table_.lookup(context_, packet_, kHash);
  ASSERT_NE(cold.flow, nullptr);
  EXPECT_EQ(cold.flow->ufid(), ufid_of(2));
  EXPECT_FALSE(cold.cache_hit);
  EXPECT_EQ(cold.masks_visited, 3u);

  LookupResult warm = table_.lookup(context_, packet_, kHash);
  EXPECT_EQ(warm.flow, cold.flow);
  EXPECT_TRUE(warm.cache_hit);
  EXPECT_EQ(warm.masks_visited, 1u);
}

TEST_F(MaskCacheScenario, HashZeroBypassesTheCache) {
  table_.lookup(context_, packet_, 0);
  LookupResult again = table_.lookup(context_, packet_, 0);
  EXPECT_FALSE(again.cache_hit);
  EXPECT_EQ(again.masks_visited, 3u);
}

TEST_F(MaskCacheScenario, CachedIndexBeyondTheShrunkListStillFindsTheFlow) {
  table_.lookup(context_, packet_, kHash);  // caches index 2
  // Removing mask 0 moves the packet's mask into slot 0.
  ASSERT_TRUE(table_.remove(ufid_of(0)).is_ok());
  LookupResult moved = table_.lookup(context_, packet_, kHash);
  ASSERT_NE(moved.flow, nullptr);
  EXPECT_EQ(moved.flow->ufid(), ufid_of(2));
  EXPECT_FALSE(moved.cache_hit);
  EXPECT_EQ(moved.masks_visited, 1u);
  LookupResult warm = table_.lookup(context_, packet_, kHash);
  EXPECT_TRUE(warm.cache_hit);
}

TEST_F(MaskCacheScenario, CachedIndexNowHoldingAnotherMaskFallsBackToTheFullSearch) {
  table_.lookup(context_, packet_, kHash);         // caches index 2
  ASSERT_TRUE(table_.remove(ufid_of(1)).is_ok());  // packet's mask moves to slot 1
  insert_ok(table_, megaflow(ufid_of(3), ipv4_key(1, 0, 0x0d000000), ipv4_mask(32, 24), 3));  // slot 2
  LookupResult result = table_.lookup(context_, packet_, kHash);
  ASSERT_NE(result.flow, nullptr);
  EXPECT_EQ(result.flow->ufid(), ufid_of(2));
  EXPECT_FALSE(result.cache_hit);
  EXPECT_EQ(result.masks_visited, 3u);  // stale slot 2, then 0, then 1
}

TEST_F(MaskCacheScenario, CachedMaskRemovedThenReplacedByANewFlowIsFoundCorrectly) {
  table_.lookup(context_, packet_, kHash);
  ASSERT_TRUE(table_.remove(ufid_of(2)).is_ok());
  LookupResult gone = table_.lookup(context_, packet_, kHash);
  EXPECT_EQ(gone.flow, nullptr);
  EXPECT_EQ(gone.masks_visited, 2u);

  insert_ok(table_, megaflow(ufid_of(4), ipv4_key(1, 0, 0x0c000000), ipv4_mask(32, 4), 4));
  LookupResult back = table_.lookup(context_, packet_, kHash);
  ASSERT_NE(back.flow, nullptr);
  EXPECT_EQ(back.flow->ufid(), ufid_of(4));
  EXPECT_TRUE(table_.lookup(context_, packet_, kHash).cache_hit);
}

TEST_F(MaskCacheScenario, RecirculatedPacketWithTheSameHashTakesItsOwnCacheEntry) {
  FlowKey recirculated = ipv4_key(1, 0, 0x0e000000);
  recirculated.recirc_id = 9;
  insert_ok(table_,
            megaflow(ufid_of(5), recirculated, ipv4_mask(32, 0), 5));  // recirc_id is outside the mask
  table_.lookup(context_, packet_, kHash);
  LookupResult after_recirc = table_.lookup(context_, recirculated, kHash);
  ASSERT_NE(after_recirc.flow, nullptr);
  EXPECT_FALSE(after_recirc.cache_hit);
  // Both entries now live side by side.
  EXPECT_TRUE(table_.lookup(context_, packet_, kHash).cache_hit);
  EXPECT_TRUE(table_.lookup(context_, recirculated, kHash).cache_hit);
}

TEST_F(MaskCacheScenario, MaskCacheSizeZeroDisablesTheCache) {
  ASSERT_TRUE(table_.set_mask_cache_size(0).is_ok());
  table_.lookup(context_, packet_, kHash);
  LookupResult again = table_.lookup(context_, packet_, kHash);
  EXPECT_FALSE(again.cache_hit);
  EXPECT_EQ(again.masks_visited, 3u);
  EXPECT_EQ(context_.mask_cache().size(), 0u);
}

TEST(FlowTable, SetMaskCacheSizeRejectsSizesTheKernelRejects) {
  MaskedFlowTable table(64);
  EXPECT_EQ(table.mask_cache_size(), 64u);
  EXPECT_EQ(table.set_mask_cache_size(100).code(), EINVAL);
  EXPECT_EQ(table.set_mask_cache_size(8192).code(), EINVAL);
  EXPECT_EQ(table.mask_cache_size(), 64u);
  ASSERT_TRUE(table.set_mask_cache_size(1024).is_ok());
  LookupContext context(table);
  table.lookup(context, ipv4_key(1, 0, 1), 3);
  EXPECT_EQ(context.mask_cache().size(), 1024u);
  EXPECT_EQ(MaskedFlowTable(100).mask_cache_size(), 64u);  // lowered to a power of two
}

TEST(FlowTable, RebalanceOrdersMasksByHitsSinceTheLastRebalance) {
  MaskedFlowTable table;
  LookupContext context(table);
  for (uint32_t i = 0; i < 3; ++i)
    insert_ok(table, megaflow(ufid_of(i), ipv4_key(i, 0, 1), ipv4_mask(32, static_cast<int>(8 * i)), i));
  auto hit = [&](uint32_t in_port, int times) {
    for (int n = 0; n < times; ++n)
      ASSERT_NE(table.lookup(context, ipv4_key(in_port, 0, 1), 0).flow, nullptr);
  };
  hit(0, 1);
  hit(1, 5);
  hit(2, 9);
  ASSERT_TRUE(table.rebalance());
  auto masks = table.masks();
  EXPECT_EQ(masks[0].mask, ipv4_mask(32, 16));
  EXPECT_EQ(masks[1].mask, ipv4_mask(32, 8));
  EXPECT_EQ(masks[2].mask, ipv4_mask(32, 0));
  // Counting restarts: with no hits since, nothing moves.
  EXPECT_FALSE(table.rebalance());
  // Now only the last mask is hit.
  hit(0, 2);
  ASSERT_TRUE(table.rebalance());
  EXPECT_EQ(table.masks()[0].mask, ipv4_mask(32, 0));
  // After a rebalance the popular flow is found at the first probe.
  EXPECT_EQ(table.lookup(context, ipv4_key(0, 0, 1), 0).masks_visited, 1u);
}

// ---------------------------------------------------------- stats, dump, flush

TEST(FlowTable, RecordPacketAccumulatesLikeTheKernelsStatsUpdate) {
  MaskedFlowTable table;
  LookupContext context(table);
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 1), ipv4_mask(32), 7));
  const DatapathFlow* flow = table.lookup(context, ipv4_key(1, 0, 1), 0).flow;
  flow->record_packet(60, 0x002, 100);    // SYN
  flow->record_packet(1500, 0x010, 250);  // ACK
  flow->record_packet(40, 0x011, 200);    // FIN|ACK, an older timestamp from a slower thread
  EXPECT_EQ(flow->stats(), (FlowStats{3, 1600, 250, 0x013}));
}

TEST(FlowTable, DumpListsEveryFlowWithItsStatistics) {
  MaskedFlowTable table;
  LookupContext context(table);
  for (uint32_t i = 0; i < 50; ++i)
    insert_ok(table,
              megaflow(ufid_of(i), ipv4_key(1 + i % 3, 0, i), ipv4_mask(32, static_cast<int>(i % 3)), i));
  for (uint32_t i = 0; i < 50; ++i) {
    const DatapathFlow* flow = table.lookup(context, ipv4_key(1 + i % 3, 0, i), i + 1).flow;
    ASSERT_NE(flow, nullptr);
    for (uint32_t n = 0; n <= i; ++n) flow->record_packet(100, 0, 1000 + i);
  }
  std::vector<Megaflow> flows = table.dump();
  ASSERT_EQ(flows.size(), 50u);
  std::vector<bool> seen(50, false);
  for (const Megaflow& flow : flows) {
    uint32_t i = output_port(flow.actions);
    ASSERT_LT(i, 50u);
    EXPECT_FALSE(seen[i]);
    seen[i] = true;
    EXPECT_EQ(flow.ufid, ufid_of(i));
    EXPECT_EQ(flow.match.key.ipv4_dst, htonl(i));
    EXPECT_EQ(flow.stats, (FlowStats{i + 1, 100ull * (i + 1), 1000 + i, 0}));
  }
}

TEST(FlowTable, FlushRemovesEveryFlowAndMask) {
  MaskedFlowTable table;
  LookupContext context(table);
  for (uint32_t i = 0; i < 100; ++i)
    insert_ok(table, megaflow(i % 2 ? ufid_of(i) : Ufid{}, ipv4_key(1, 0, i),
                              ipv4_mask(32, static_cast<int>(i % 4)), i));
  EXPECT_EQ(table.flush(), 100u);
  EXPECT_EQ(table.count(), 0u);
  EXPECT_EQ(table.mask_count(), 0u);
  EXPECT_TRUE(table.dump().empty());
  EXPECT_EQ(table.lookup(context, ipv4_key(1, 0, 3), 0).flow, nullptr);
  EXPECT_EQ(table.get(ufid_of(1)).status().code(), ENOENT);
  // The table is usable again, UFIDs included.
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 1), ipv4_mask(32), 7));
  EXPECT_NE(table.lookup(context, ipv4_key(1, 0, 1), 0).flow, nullptr);
}

// ---------------------------------------------------- growth and reclamation

TEST(FlowTable, ThousandsOfFlowsInOneMaskAreAllFoundAcrossResizes) {
  MaskedFlowTable table;
  LookupContext context(table);
  constexpr uint32_t kFlows = 5000;
  for (uint32_t i = 0; i < kFlows; ++i) {
    insert_ok(table, megaflow(ufid_of(i), ipv4_key(1, 0, i), ipv4_mask(32), i));
    if (i % 97 == 0) context.quiescent();  // lets resizes proceed
  }
  for (uint32_t i = 0; i < kFlows; ++i) {
    LookupResult result = table.lookup(context, ipv4_key(1, 0, i), i + 1);
    ASSERT_NE(result.flow, nullptr) << i;
    ASSERT_EQ(output_port(result.flow->actions()), i);
  }
  for (uint32_t i = 0; i < kFlows; i += 2) ASSERT_TRUE(table.remove(ufid_of(i)).is_ok()) << i;
  for (uint32_t i = 0; i < kFlows; ++i)
    ASSERT_EQ(table.lookup(context, ipv4_key(1, 0, i), 0).flow != nullptr, i % 2 == 1) << i;
  EXPECT_EQ(table.count(), kFlows / 2);
}

TEST(FlowTable, ReaderThatNeverQuiescesStillSeesEveryFlowWhileResizeWaits) {
  MaskedFlowTable table;
  LookupContext context(table);
  table.lookup(context, ipv4_key(1, 0, 0), 0);
  for (uint32_t i = 0; i < 3000; ++i)
    insert_ok(table, megaflow(ufid_of(i), ipv4_key(1, 0, i), ipv4_mask(32), i));
  for (uint32_t i = 0; i < 3000; ++i)
    ASSERT_NE(table.lookup(context, ipv4_key(1, 0, i), 0).flow, nullptr) << i;
}

TEST(FlowTable, RemovedFlowStaysReadableUntilTheReaderQuiesces) {
  MaskedFlowTable table;
  LookupContext context(table);
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 1), ipv4_mask(32), 7));
  const DatapathFlow* flow = table.lookup(context, ipv4_key(1, 0, 1), 0).flow;
  ASSERT_NE(flow, nullptr);
  ASSERT_TRUE(table.update_actions(ufid_of(1), output_to(8)).is_ok());
  ASSERT_TRUE(table.remove(ufid_of(1)).is_ok());
  table.reclaim();
  // Under AddressSanitizer a premature free would be reported here.
  EXPECT_EQ(flow->ufid(), ufid_of(1));
  EXPECT_EQ(output_port(flow->actions()), 8u);
  flow->record_packet(1, 0, 1);
  EXPECT_GT(table.pending_reclaim(), 0u);

  context.quiescent();
  table.reclaim();
  EXPECT_EQ(table.pending_reclaim(), 0u);
}

TEST(FlowTable, OfflineReaderDoesNotHoldBackReclamation) {
  MaskedFlowTable table;
  LookupContext context(table);
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 1), ipv4_mask(32), 7));
  context.offline();
  ASSERT_TRUE(table.remove(ufid_of(1)).is_ok());
  table.reclaim();
  EXPECT_EQ(table.pending_reclaim(), 0u);
  // A lookup brings the context back online.
  EXPECT_EQ(table.lookup(context, ipv4_key(1, 0, 1), 0).flow, nullptr);
}

TEST(FlowTable, ContextOfAnotherTableFindsNothing) {
  MaskedFlowTable table;
  MaskedFlowTable other;
  LookupContext foreign(other);
  insert_ok(table, megaflow(ufid_of(1), ipv4_key(1, 0, 1), ipv4_mask(32), 7));
  EXPECT_EQ(table.lookup(foreign, ipv4_key(1, 0, 1), 0).flow, nullptr);
}

TEST(FlowTable, ContextMayOutliveItsTable) {
  auto table = std::make_unique<MaskedFlowTable>();
  auto context = std::make_unique<LookupContext>(*table);
  insert_ok(*table, megaflow(ufid_of(1), ipv4_key(1, 0, 1), ipv4_mask(32), 7));
  table.reset();
  context.reset();  // must not touch the freed table
}

// ------------------------------------------------------------- concurrency

// Readers look up "stable" flows that are never removed while a writer
// inserts and removes other flows (sharing the stable flows' masks and
// bringing new masks in and out), swaps the stable flows' actions, and
// rebalances. A reader must never miss a stable flow, never see it with a
// wrong key, and only ever see one of the two action lists it alternates
// between. Transient flows may or may not be found, but when found they
// must be the right flow.
TEST(FlowTable, ConcurrentReadersNeverMissStableFlowsWhileAWriterChurns) {
  constexpr uint32_t kGroups = 8;  // masks shared by stable and transient flows
  constexpr uint32_t kStablePerGroup = 16;
  constexpr uint32_t kStable = kGroups * kStablePerGroup;
  constexpr int kReaders = 2;
  const auto kDuration = std::chrono::milliseconds(1500);

  MaskedFlowTable table;
  auto group_mask = [](uint32_t group) { return ipv4_mask(32, static_cast<int>(group * 4)); };
  auto stable_key = [](uint32_t i) { return ipv4_key(100 + i % kGroups, 0, 0x0a000000 + i); };
  auto stable_port = [](uint32_t i, bool alternate) { return (alternate ? 2000 : 1000) + i; };
  for (uint32_t i = 0; i < kStable; ++i)
    insert_ok(table, megaflow(ufid_of(i), stable_key(i), group_mask(i % kGroups), stable_port(i, false)));

  // Transient flow t: in a stable group's mask, or (t % 3 == 0) on a port
  // of its own under one of 64 masks that come and go with their flows.
  auto transient_key = [](uint32_t t) {
    return t % 3 == 0 ? ipv4_key(500 + t, 0, 0x14000000 + t) : ipv4_key(100 + t % kGroups, 0, 0x14000000 + t);
  };
  auto transient_mask = [&](uint32_t t) {
    const auto variant = static_cast<int>(t / 3);
    return t % 3 == 0 ? ipv4_mask(16 + variant % 8, 4 * (variant / 8 % 8)) : group_mask(t % kGroups);
  };
  auto transient_ufid = [](uint32_t t) { return ufid_of(1000000 + t); };

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> lookups{0};
  std::atomic<uint64_t> transient_hits{0};
  std::string first_failure;
  std::mutex failure_mutex;
  auto fail = [&](const std::string& what) {
    if (failures.fetch_add(1) == 0) {
      std::lock_guard lock(failure_mutex);
      first_failure = what;
    }
  };

  auto reader = [&](int seed) {
    LookupContext context(table);
    std::mt19937 random(seed);
    uint64_t done = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      for (uint32_t i = 0; i < kStable; ++i) {
        FlowKey packet = stable_key(i);
        packet.tp_src = static_cast<uint16_t>(random());  // outside every mask
        // Mostly repeating hashes (cache hits), sometimes fresh ones, sometimes none.
        uint32_t choice = random() % 8;
        uint32_t hash = choice == 0   ? 0
                        : choice == 1 ? static_cast<uint32_t>(random()) | 1
                                      : 0x9e3779b9u * (i + 1);
        LookupResult result = table.lookup(context, packet, hash);
        ++done;
        if (result.flow == nullptr) {
          fail("stable flow " + std::to_string(i) + " missed");
          continue;
        }
        if (!(result.flow->ufid() == ufid_of(i)) ||
            !(result.flow->key() == apply_mask(stable_key(i), group_mask(i % kGroups))))
          fail("stable flow " + std::to_string(i) + " came back as another flow");
        uint32_t port = output_port(result.flow->actions());
        if (port != stable_port(i, false) && port != stable_port(i, true))
          fail("stable flow " + std::to_string(i) + " has torn actions");
        result.flow->record_packet(64, 0, 1);
      }
      for (int n = 0; n < 32; ++n) {
        uint32_t t = random() % 4096;
        LookupResult result = table.lookup(context, transient_key(t), t + 1);
        ++done;
        if (result.flow == nullptr) continue;
        transient_hits.fetch_add(1, std::memory_order_relaxed);
        if (!(result.flow->ufid() == transient_ufid(t)) || output_port(result.flow->actions()) != 3000 + t)
          fail("transient flow " + std::to_string(t) + " came back wrong");
      }
      context.quiescent();
    }
    lookups.fetch_add(done);
  };

  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) readers.emplace_back(reader, r + 1);

  std::mt19937 random(99);
  std::vector<uint32_t> live;
  std::vector<bool> installed(4096, false);
  uint64_t writes = 0;
  bool alternate = false;
  const auto deadline = std::chrono::steady_clock::now() + kDuration;
  while (std::chrono::steady_clock::now() < deadline) {
    // Grow to a few thousand transients (forcing bucket resizes), then shrink.
    for (int n = 0; n < 200; ++n) {
      uint32_t t = random() % 4096;
      if (!installed[t]) {
        auto outcome =
            table.insert(megaflow(transient_ufid(t), transient_key(t), transient_mask(t), 3000 + t), kCreate);
        ASSERT_TRUE(outcome.is_ok()) << outcome.status().message();
        installed[t] = true;
        live.push_back(t);
      } else if (random() % 2 == 0) {
        ASSERT_TRUE(table.remove(transient_ufid(t)).is_ok());
        installed[t] = false;
        live.erase(std::find(live.begin(), live.end(), t));
      }
      ++writes;
    }
    alternate = !alternate;
    for (uint32_t i = 0; i < kStable; i += 7) {
      ASSERT_TRUE(table.update_actions(ufid_of(i), output_to(stable_port(i, alternate))).is_ok());
      ++writes;
    }
    table.rebalance();
    if (random() % 16 == 0) {
      for (uint32_t t : live) {
        ASSERT_TRUE(table.remove(transient_ufid(t)).is_ok());
        installed[t] = false;
      }
      live.clear();
    }
  }
  stop.store(true);
  for (std::thread& thread : readers) thread.join();

  EXPECT_EQ(failures.load(), 0u) << first_failure;
  EXPECT_GT(lookups.load(), 10000u);
  EXPECT_GT(transient_hits.load(), 0u);
  EXPECT_GT(writes, 1000u);
  EXPECT_EQ(table.count(), kStable + live.size());
  uint64_t stable_packets = 0;
  for (const Megaflow& flow : table.dump())
    if (output_port(flow.actions) < 3000) stable_packets += flow.stats.packets;
  EXPECT_GT(stable_packets, 0u);
  table.reclaim();
  EXPECT_EQ(table.pending_reclaim(), 0u);  // every reader is gone
}

}  // namespace
}  // namespace flowlift
