// Classifier benchmarks: lookups per second with and without wildcard
// tracking, and insert/remove rates, on the tables of Open vSwitch's
// `ovstest test-classifier benchmark <rules> <priorities> <subtables> 1 N`.
//
// OvsShape replicates that program as OVS 3.1 ships it, whose make_rule()
// ignores its wildcard argument: every rule matches all 13 fields exactly,
// so there is one subtable whatever <subtables> says (it still draws the
// same random numbers), and these figures compare directly with ovstest's.
// DistinctMasks is what the benchmark means to measure: each of the
// <subtables> random field sets is wildcarded in its rules, giving that many
// real subtables. Lookup flows are ovstest's: 8192 draws from the 4096
// combinations of the fields' two values (its DSCP is always 48).
#include <arpa/inet.h>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "slowpath/classifier.h"

namespace flowlift {
namespace {

// test-classifier.c's CLS_FIELDS, in its order.
enum ClsBenchField {
  kTunId,
  kMetadata,
  kNwSrc,
  kNwDst,
  kInPort,
  kVlanTci,
  kDlType,
  kTpSrc,
  kTpDst,
  kDlSrc,
  kDlDst,
  kNwProto,
  kNwDscp,
  kClsBenchFieldCount
};

void set_field(OfFlow& flow, OfFlow& mask, int field, int which) {
  switch (field) {
    case kTunId:
      flow.tun_id = which ? htobe64(0xfedcba9876543210ull) : 0;
      mask.tun_id = ~0ull;
      break;
    case kMetadata:
      flow.metadata = which ? 0xfedcba9876543210ull : 0;
      mask.metadata = ~0ull;
      break;
    case kNwSrc:
      flow.nw_src = htonl(which ? 0xc0a04455 : 0xc0a80001);
      mask.nw_src = ~0u;
      break;
    case kNwDst:
      flow.nw_dst = htonl(which ? 0xc0a04455 : 0xc0a80002);
      mask.nw_dst = ~0u;
      break;
    case kInPort:
      flow.in_port = which ? 0xfffe : 1;
      mask.in_port = 0xffff;
      break;
    case kVlanTci:
      flow.vlan_tci = htons(which ? 0 : 101);
      mask.vlan_tci = 0xffff;
      break;
    case kDlType:
      flow.dl_type = htons(which ? 0x0806 : 0x0800);
      mask.dl_type = 0xffff;
      break;
    case kTpSrc:
      flow.tp_src = htons(which ? 80 : 49362);
      mask.tp_src = 0xffff;
      break;
    case kTpDst:
      flow.tp_dst = htons(which ? 22 : 6667);
      mask.tp_dst = 0xffff;
      break;
    case kDlSrc:
      flow.dl_src =
          which ? EthAddr{0x5e, 0x33, 0x7f, 0x5f, 0x1e, 0x99} : EthAddr{0x00, 0x02, 0xe3, 0x0f, 0x80, 0xa4};
      mask.dl_src.fill(0xff);
      break;
    case kDlDst:
      flow.dl_dst =
          which ? EthAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} : EthAddr{0x4a, 0x27, 0x71, 0xae, 0x64, 0xc1};
      mask.dl_dst.fill(0xff);
      break;
    case kNwProto:
      flow.nw_proto = which ? 1 : 6;
      mask.nw_proto = 0xff;
      break;
    case kNwDscp:
      flow.nw_tos = which ? 0 : 48;
      mask.nw_tos |= 0xfc;
      break;
  }
}

struct ClsBenchTable {
  std::vector<std::unique_ptr<ClsRule>> rules;
  std::unique_ptr<Classifier> classifier = std::make_unique<Classifier>();
  std::vector<OfFlow> flows;
  std::vector<uint32_t> flow_order;  // which flow each lookup uses
};

// test-classifier.c's benchmark() set-up. `distinct_masks` applies each
// rule's wildcard field set, which OVS 3.1's make_rule() forgets to do.
ClsBenchTable make_table(int n_rules, int n_priorities, int n_subtables, bool distinct_masks,
                         bool insert = true) {
  std::mt19937 rng(1);
  auto random_below = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
  std::vector<uint32_t> wildcard_sets;
  while (static_cast<int>(wildcard_sets.size()) < n_subtables) {
    const uint32_t fields = rng() & ((1u << kClsBenchFieldCount) - 1);
    if (std::find(wildcard_sets.begin(), wildcard_sets.end(), fields) == wildcard_sets.end()) {
      wildcard_sets.push_back(fields);
    }
  }
  std::vector<int32_t> priorities(static_cast<size_t>(n_priorities));
  for (int i = 0; i < n_priorities; ++i) priorities[static_cast<size_t>(i)] = (i * 129) & INT_MAX;
  std::shuffle(priorities.begin(), priorities.end(), rng);

  ClsBenchTable table;
  for (int i = 0; i < 2 * 4096; ++i) {
    uint32_t x = random_below(4096);
    OfFlow flow{}, unused{};
    for (int field = 0; field < kClsBenchFieldCount; ++field) {
      set_field(flow, unused, field, static_cast<int>(x % 2));
      x /= 2;
    }
    table.flows.push_back(flow);
  }
  for (int i = 0; i < 1 << 16; ++i)
    table.flow_order.push_back(random_below(static_cast<uint32_t>(table.flows.size())));

  for (int i = 0; i < n_rules; ++i) {
    const int32_t priority = priorities[random_below(static_cast<uint32_t>(n_priorities))];
    const uint32_t wildcards = wildcard_sets[random_below(static_cast<uint32_t>(n_subtables))];
    const uint32_t values = rng() & ((1u << kClsBenchFieldCount) - 1);
    OfFlow flow{}, mask{};
    for (int field = 0; field < kClsBenchFieldCount; ++field) {
      if (distinct_masks && (wildcards >> field & 1u)) continue;
      set_field(flow, mask, field, static_cast<int>(values >> field & 1u));
    }
    const OfMatch match(flow, OfMask(mask));
    const int32_t rule_priority = wildcards != 0 ? priority : 0;
    if (table.classifier->find_exactly(match, rule_priority, kOfVersionMin) != nullptr) continue;
    table.rules.push_back(std::make_unique<ClsRule>(match, rule_priority));
    if (insert) table.classifier->insert(table.rules.back().get());
  }
  return table;
}

void run_lookups(benchmark::State& state, bool distinct_masks) {
  const ClsBenchTable table = make_table(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
                                         static_cast<int>(state.range(2)), distinct_masks);
  const bool track_wildcards = state.range(3) != 0;
  const size_t order_mask = table.flow_order.size() - 1;
  size_t next = 0;
  int64_t hits = 0;
  for (auto _ : state) {
    const OfFlow& flow = table.flows[table.flow_order[next++ & order_mask]];
    const ClsRule* rule;
    if (track_wildcards) {
      OfMask wildcards;
      rule = table.classifier->lookup(kOfVersionMin, flow, &wildcards);
      benchmark::DoNotOptimize(wildcards);
    } else {
      rule = table.classifier->lookup(kOfVersionMin, flow, nullptr);
    }
    benchmark::DoNotOptimize(rule);
    hits += rule != nullptr;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_rate"] = static_cast<double>(hits) / static_cast<double>(state.iterations());
  state.counters["rules"] = static_cast<double>(table.classifier->size());
}

void BM_OvsShapeLookup(benchmark::State& state) { run_lookups(state, false); }
void BM_DistinctMasksLookup(benchmark::State& state) { run_lookups(state, true); }

void BM_DistinctMasksInsert(benchmark::State& state) {
  ClsBenchTable table = make_table(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
                                   static_cast<int>(state.range(2)), true, false);
  for (auto _ : state) {
    auto classifier = std::make_unique<Classifier>();
    for (const auto& rule : table.rules) classifier->insert(rule.get());
    state.PauseTiming();
    classifier.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(table.rules.size()));
}

void BM_DistinctMasksRemove(benchmark::State& state) {
  ClsBenchTable table = make_table(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
                                   static_cast<int>(state.range(2)), true, false);
  for (auto _ : state) {
    state.PauseTiming();
    auto classifier = std::make_unique<Classifier>();
    for (const auto& rule : table.rules) classifier->insert(rule.get());
    state.ResumeTiming();
    for (const auto& rule : table.rules) classifier->remove(rule.get());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(table.rules.size()));
}

// {rules, priorities, subtables, track wildcards}: ovstest's four shapes.
void lookup_shapes(benchmark::internal::Benchmark* bench) {
  for (int track : {0, 1}) {
    bench->Args({1000, 1, 1, track});
    bench->Args({1000, 16, 16, track});
    bench->Args({10000, 100, 32, track});
    bench->Args({100000, 1000, 64, track});
  }
  bench->ArgNames({"rules", "priorities", "subtables", "wc"});
}

void update_shapes(benchmark::internal::Benchmark* bench) {
  bench->Args({1000, 16, 16})->Args({10000, 100, 32})->Args({100000, 1000, 64});
  bench->ArgNames({"rules", "priorities", "subtables"});
}

BENCHMARK(BM_OvsShapeLookup)->Apply(lookup_shapes);
BENCHMARK(BM_DistinctMasksLookup)->Apply(lookup_shapes);
BENCHMARK(BM_DistinctMasksInsert)->Apply(update_shapes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DistinctMasksRemove)->Apply(update_shapes)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace flowlift

BENCHMARK_MAIN();
