// MaskedFlowTable benchmarks: lookup throughput against the number of masks
// with cache-friendly and cache-hostile traffic (masks visited per packet
// reported as a counter), insert and remove rates, and memory per megaflow.
//
// Every mask matches in_port exactly and each mask has its own in_port, so
// a packet matches exactly one flow and a cold lookup has to reach that
// flow's mask: the masks visited then show the search cost directly.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "kmod/flow_table.h"

namespace flowlift {
namespace {

constexpr uint32_t kFlowsPerMask = 16;

uint32_t prefix_bits(int length) { return length == 0 ? 0 : ~0u << (32 - length); }

// 256 distinct masks over the same fields: ipv4_dst prefix 1..32 times
// ipv4_src prefix 0, 4, ..., 28.
FlowMask bench_mask(uint32_t index) {
  FlowKey bits{};
  bits.in_port = ~0u;
  bits.eth_type = 0xffff;
  bits.ip_proto = 0xff;
  bits.tp_dst = 0xffff;
  bits.mac_proto = 0xff;  // as in every megaflow decoded from netlink or text
  bits.ipv4_dst = htonl(prefix_bits(static_cast<int>(index % 32) + 1));
  bits.ipv4_src = htonl(prefix_bits(static_cast<int>(index / 32 % 8) * 4));
  return FlowMask(bits);
}

// `noise` lands only in fields no mask covers (tp_src, ttl, tos).
FlowKey bench_key(uint32_t mask_index, uint32_t flow_index, uint32_t noise) {
  FlowKey key{};
  key.in_port = mask_index + 1;
  key.eth_type = htons(0x0800);
  key.ip_proto = 6;
  key.ip_ttl = static_cast<uint8_t>(noise >> 16);
  key.ip_tos = static_cast<uint8_t>(noise >> 24);
  key.ipv4_src = htonl(0x0a000001);
  key.ipv4_dst = htonl(0xc0a80001);
  key.tp_src = htons(static_cast<uint16_t>(noise));
  key.tp_dst = htons(static_cast<uint16_t>(flow_index));
  return key;
}

Ufid bench_ufid(uint64_t n) {
  Ufid ufid;
  ufid.bytes[15] = 1;
  std::memcpy(ufid.bytes.data(), &n, sizeof n);
  return ufid;
}

Megaflow bench_flow(uint32_t mask_index, uint32_t flow_index, uint64_t serial) {
  Megaflow flow;
  flow.ufid = bench_ufid(serial);
  flow.match = Match(bench_key(mask_index, flow_index, 0), bench_mask(mask_index));
  flow.actions = ActionList{OutputAction{flow_index + 1}};
  return flow;
}

uint32_t mix32(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return static_cast<uint32_t>(x) | 1;  // never 0: 0 would bypass the cache
}

// One table per mask count, built once and shared by the lookup benchmarks.
MaskedFlowTable& table_with_masks(uint32_t masks) {
  static std::map<uint32_t, std::unique_ptr<MaskedFlowTable>> tables;
  auto& table = tables[masks];
  if (table == nullptr) {
    table = std::make_unique<MaskedFlowTable>();
    uint64_t serial = 0;
    for (uint32_t m = 0; m < masks; ++m)
      for (uint32_t f = 0; f < kFlowsPerMask; ++f)
        if (!table->insert(bench_flow(m, f, ++serial), MaskedFlowTable::kCreate).is_ok()) std::abort();
  }
  return *table;
}

struct Packet {
  FlowKey key;
  uint32_t hash;
};

// Packets spread uniformly over all flows of all masks.
std::vector<Packet> bench_packets(uint32_t masks, size_t count, uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<Packet> packets;
  for (size_t i = 0; i < count; ++i) {
    const uint32_t m = static_cast<uint32_t>(random() % masks);
    const uint32_t f = static_cast<uint32_t>(random() % kFlowsPerMask);
    packets.push_back(Packet{bench_key(m, f, static_cast<uint32_t>(random())), mix32(random())});
  }
  return packets;
}

void report_lookup_counters(benchmark::State& state, uint64_t visited, uint64_t cache_hits, uint64_t misses) {
  const auto lookups = static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
  state.counters["masks/pkt"] = static_cast<double>(visited) / lookups;
  state.counters["cache_hit%"] = 100.0 * static_cast<double>(cache_hits) / lookups;
  if (misses != 0) state.counters["unmatched"] = static_cast<double>(misses);
}

// Repeating flows: 128 packets with stable hashes, as a few busy flows give.
void BM_LookupRepeatingFlows(benchmark::State& state) {
  const auto masks = static_cast<uint32_t>(state.range(0));
  MaskedFlowTable& table = table_with_masks(masks);
  LookupContext context(table);
  const std::vector<Packet> packets = bench_packets(masks, 128, 7);
  uint64_t visited = 0, cache_hits = 0, misses = 0;
  size_t next = 0;
  for (auto _ : state) {
    const Packet& packet = packets[next];
    LookupResult result = table.lookup(context, packet.key, packet.hash);
    benchmark::DoNotOptimize(result.flow);
    visited += result.masks_visited;
    cache_hits += result.cache_hit;
    misses += result.flow == nullptr;
    if (++next == packets.size()) {
      next = 0;
      context.quiescent();
    }
  }
  report_lookup_counters(state, visited, cache_hits, misses);
}

// Every packet a new hash: the mask cache never helps (the kernel's worst
// case short of hash 0, which skips the cache altogether).
void BM_LookupNewHashEachPacket(benchmark::State& state) {
  const auto masks = static_cast<uint32_t>(state.range(0));
  MaskedFlowTable& table = table_with_masks(masks);
  LookupContext context(table);
  const std::vector<Packet> packets = bench_packets(masks, 4096, 11);
  uint64_t visited = 0, cache_hits = 0, misses = 0, serial = 0;
  size_t next = 0;
  for (auto _ : state) {
    const Packet& packet = packets[next];
    LookupResult result = table.lookup(context, packet.key, mix32(++serial * 0x9e3779b97f4a7c15ull));
    benchmark::DoNotOptimize(result.flow);
    visited += result.masks_visited;
    cache_hits += result.cache_hit;
    misses += result.flow == nullptr;
    if (++next == packets.size()) next = 0;
    if ((serial & 31) == 0) context.quiescent();
  }
  report_lookup_counters(state, visited, cache_hits, misses);
}

BENCHMARK(BM_LookupRepeatingFlows)->Arg(1)->Arg(4)->Arg(16)->Arg(64)->Arg(256);
BENCHMARK(BM_LookupNewHashEachPacket)->Arg(1)->Arg(4)->Arg(16)->Arg(64)->Arg(256);

// Inserts (with the kernel's duplicate check) into a fresh table spread over
// state.range(0) masks; then removes them all by UFID.
void BM_InsertThenRemove(benchmark::State& state) {
  const auto masks = static_cast<uint32_t>(state.range(0));
  constexpr uint32_t kFlows = 20000;
  std::vector<Megaflow> flows;
  for (uint32_t i = 0; i < kFlows; ++i) flows.push_back(bench_flow(i % masks, i / masks, i + 1));
  double insert_seconds = 0, remove_seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto table = std::make_unique<MaskedFlowTable>();
    state.ResumeTiming();
    auto start = std::chrono::steady_clock::now();
    for (const Megaflow& flow : flows)
      if (!table->insert(flow, MaskedFlowTable::kCreate).is_ok()) std::abort();
    auto inserted = std::chrono::steady_clock::now();
    for (const Megaflow& flow : flows)
      if (!table->remove(flow.ufid).is_ok()) std::abort();
    auto removed = std::chrono::steady_clock::now();
    insert_seconds += std::chrono::duration<double>(inserted - start).count();
    remove_seconds += std::chrono::duration<double>(removed - inserted).count();
    state.PauseTiming();
    table.reset();
    state.ResumeTiming();
  }
  const double total = static_cast<double>(state.iterations()) * kFlows;
  state.counters["inserts/s"] = total / insert_seconds;
  state.counters["removes/s"] = total / remove_seconds;
}
BENCHMARK(BM_InsertThenRemove)->Arg(1)->Arg(16)->Arg(256)->Unit(benchmark::kMillisecond);

// The same inserts as BM_InsertThenRemove, in batches of 64 through
// insert_batch (a handler's batch: one lock, buckets prefetched for the whole
// batch first). inserts/s beside BM_InsertThenRemove's is what the batch buys.
void BM_InsertBatchThenRemove(benchmark::State& state) {
  const auto masks = static_cast<uint32_t>(state.range(0));
  constexpr uint32_t kFlows = 20000, kBatch = 64;
  std::vector<Megaflow> flows;
  for (uint32_t i = 0; i < kFlows; ++i) flows.push_back(bench_flow(i % masks, i / masks, i + 1));
  std::vector<MaskedFlowTable::InsertRequest> requests;
  for (const Megaflow& flow : flows) requests.push_back({&flow, MaskedFlowTable::kCreate});
  double insert_seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto table = std::make_unique<MaskedFlowTable>();
    state.ResumeTiming();
    auto start = std::chrono::steady_clock::now();
    for (size_t first = 0; first < requests.size(); first += kBatch) {
      const size_t n = std::min<size_t>(kBatch, requests.size() - first);
      for (const Result<InsertOutcome>& outcome : table->insert_batch({requests.data() + first, n}))
        if (!outcome.is_ok()) std::abort();
    }
    insert_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (const Megaflow& flow : flows)
      if (!table->remove(flow.ufid).is_ok()) std::abort();
    state.PauseTiming();
    table.reset();
    state.ResumeTiming();
  }
  state.counters["inserts/s"] = static_cast<double>(state.iterations()) * kFlows / insert_seconds;
}
BENCHMARK(BM_InsertBatchThenRemove)->Arg(1)->Arg(16)->Arg(256)->Unit(benchmark::kMillisecond);

// Heap bytes per installed megaflow (flow, its one-action list, bucket and
// UFID index slots, allocator overhead) for a 200k-flow table over 16
// masks, measured as the growth of glibc's in-use heap.
void BM_MemoryPerMegaflow(benchmark::State& state) {
  constexpr uint32_t kFlows = 200000;
  constexpr uint32_t kMasks = 16;
  double bytes_per_flow = 0, inserts_per_second = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<Megaflow> flows;
    flows.reserve(kFlows);
    for (uint32_t i = 0; i < kFlows; ++i) flows.push_back(bench_flow(i % kMasks, i / kMasks, i + 1));
    auto table = std::make_unique<MaskedFlowTable>();
    const size_t before = mallinfo2().uordblks;
    state.ResumeTiming();
    auto start = std::chrono::steady_clock::now();
    for (const Megaflow& flow : flows)
      if (!table->insert(flow, MaskedFlowTable::kCreate).is_ok()) std::abort();
    auto done = std::chrono::steady_clock::now();
    state.PauseTiming();
    const size_t after = mallinfo2().uordblks;
    if (table->count() != kFlows) std::abort();
    bytes_per_flow = static_cast<double>(after - before) / kFlows;
    inserts_per_second = kFlows / std::chrono::duration<double>(done - start).count();
    table.reset();
    state.ResumeTiming();
  }
  state.counters["bytes/flow"] = bytes_per_flow;
  state.counters["inserts/s"] = inserts_per_second;
  state.counters["sizeof_flow"] = sizeof(DatapathFlow);
  state.counters["sizeof_action"] = sizeof(Action);
}
BENCHMARK(BM_MemoryPerMegaflow)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace flowlift

BENCHMARK_MAIN();
