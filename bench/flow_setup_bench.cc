// Flow setup: one miss through the whole upcall path, as OVS's
// ../shared/ovs-bench/setup_rate.sh measures it on ovs-vswitchd: a bridge
// with N exact /32 rules (priority=100,ip,nw_dst=172.16.0.0+i,
// actions=output:2, plus priority=0 drop), and packets to N distinct
// destinations, so that every packet is a new megaflow.
//
// One iteration = one setup: the datapath queues the miss (inject), a handler
// takes it (Udpif::handle_upcalls), finds the bridge, translates, converts
// the megaflow to a datapath match, publishes the ukey, puts the flow into
// kmod's MaskedFlowTable and executes the packet. BM_FlowSetup and
// BM_FlowSetupBatch64 run on UdpifTestDpif (real flow table, executes only
// counted): they measure the upcall layer and the table. The UserspaceDpif
// variants run the same setups on the real userspace datapath with two dummy
// ports, so that its put path and its execute (validation, key extraction,
// the actions, transmit into port 2's capture queue) are measured too. When
// all N destinations have their flow, the flows are purged outside the
// timing and the next pass starts over.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "kmod/packet_compose.h"
#include "kmod/userspace_dpif.h"
#include "slowpath/of_bridge.h"
#include "slowpath/of_flow_mod.h"
#include "slowpath/udpif.h"
#include "slowpath/udpif_test_dpif.h"

namespace flowlift {
namespace {

enum class FlowSetupDatapath { kTestDpif, kUserspaceDpif };

struct FlowSetupBench {
  FlowSetupBench(int n_rules, FlowSetupDatapath datapath) : bridge(std::make_shared<OfBridge>("brb")) {
    if (datapath == FlowSetupDatapath::kUserspaceDpif) {
      UserspaceDpifOptions options;
      options.kernel_underlay = false;  // dummy ports only: no kernel state
      Result<std::unique_ptr<UserspaceDpif>> created = UserspaceDpif::create(options);
      if (!created) {
        error = created.status().message();
        return;
      }
      userspace_dpif = std::move(*created);
      for (uint32_t port = 1; port <= 2; ++port) {
        Result<uint32_t> added =
            userspace_dpif->port_add({.name = "b" + std::to_string(port), .number = port});
        if (!added) {
          error = added.status().message();
          return;
        }
      }
      dpif = userspace_dpif.get();
    } else {
      test_dpif.set_recording(false);
      dpif = &test_dpif;
    }
    for (uint32_t port = 1; port <= 2; ++port) {
      XlatePort xlate_port;
      xlate_port.name = "b" + std::to_string(port);
      xlate_port.ofp_port = port;
      xlate_port.datapath_port = port;
      (void)bridge->ports().add_port(xlate_port);
    }
    std::string text;
    for (int i = 0; i < n_rules; ++i) {
      uint32_t address = (172u << 24) | (16u << 16) | static_cast<uint32_t>(i);
      text += "priority=100,ip,nw_dst=" + std::to_string(address >> 24) + "." +
              std::to_string((address >> 16) & 255) + "." + std::to_string((address >> 8) & 255) + "." +
              std::to_string(address & 255) + ",actions=output:2\n";
      FlowKey key{};
      key.in_port = 1;
      key.eth_src = {0x02, 0, 0, 0, 0, 1};
      key.eth_dst = {0x02, 0, 0, 0, 0, 2};
      key.eth_type = htons(0x0800);
      key.ip_proto = 17;
      key.ip_ttl = 64;
      key.ipv4_src = htonl((10u << 24) | 1);
      key.ipv4_dst = htonl(address);
      key.tp_src = htons(5000);
      key.tp_dst = htons(5001);
      packets.push_back(compose_packet(key, 18));
    }
    text += "priority=0,actions=drop\n";
    OfFlowModParseOptions options;
    options.protocol = OfFlowModProtocol::kOpenFlow14;
    Result<std::vector<OfFlowMod>> mods = parse_of_flow_mod_file(text, bridge->ports().port_names(), options);
    if (!mods) {
      error = mods.status().message();
      return;
    }
    Result<OfTablesChange> change = bridge->tables().apply_bundle(*mods, monotonic_ms());
    if (!change) error = change.status().message();
    (void)bridges.add(bridge);
    UdpifConfig config;
    config.flow_limit = 500000;  // as setup_rate.sh sets other_config:flow-limit
    config.max_idle_ms = 60000;
    udpif = std::make_unique<Udpif>(*dpif, bridges, config);
  }

  udpif_testing::UdpifTestDpif test_dpif;
  std::unique_ptr<UserspaceDpif> userspace_dpif;
  Dpif* dpif = nullptr;  // one of the two above
  OfBridgeSet bridges;
  std::shared_ptr<OfBridge> bridge;
  std::vector<Packet> packets;
  std::unique_ptr<Udpif> udpif;
  std::string error;
};

// Every handled miss installed its flow and, on the userspace datapath, its
// packet came out of port 2: a setup that failed quietly would look fast.
void check_flow_setups(benchmark::State& state, FlowSetupBench& bench, uint64_t setups) {
  UdpifStats stats = bench.udpif->stats();
  if (setups != stats.flows_installed || stats.upcall_errors != 0) {
    state.SkipWithError("a miss did not install its flow");
    return;
  }
  if (bench.userspace_dpif) {
    DpifStats datapath = bench.userspace_dpif->stats();
    Result<std::vector<Packet>> sent = bench.userspace_dpif->capture(2, 1);
    if (datapath.action_errors != 0 || !sent || sent->empty()) {
      state.SkipWithError("an executed packet did not reach port 2");
      return;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(setups));
}

// One miss handled at a time (a handler batch of one).
void run_flow_setup(benchmark::State& state, FlowSetupDatapath datapath) {
  FlowSetupBench bench(static_cast<int>(state.range(0)), datapath);
  if (!bench.error.empty()) {
    state.SkipWithError(bench.error.c_str());
    return;
  }
  size_t next = 0;
  uint64_t setups = 0;
  for (auto _ : state) {
    if (next == bench.packets.size()) {
      state.PauseTiming();
      bench.udpif->purge();
      next = 0;
      state.ResumeTiming();
    }
    (void)bench.dpif->inject(1, bench.packets[next++]);
    setups += bench.udpif->handle_upcalls(1);
  }
  check_flow_setups(state, bench, setups);
  state.counters["flows"] = static_cast<double>(bench.dpif->stats().flows);
}
void BM_FlowSetup(benchmark::State& state) { run_flow_setup(state, FlowSetupDatapath::kTestDpif); }
BENCHMARK(BM_FlowSetup)->Arg(1000)->Arg(10000);
void BM_FlowSetupUserspaceDpif(benchmark::State& state) {
  run_flow_setup(state, FlowSetupDatapath::kUserspaceDpif);
}
BENCHMARK(BM_FlowSetupUserspaceDpif)->Arg(10000);

// 64 misses queued, then one handler batch (setup_rate.py sends bursts).
void run_flow_setup_batch64(benchmark::State& state, FlowSetupDatapath datapath) {
  constexpr size_t kBatch = 64;
  FlowSetupBench bench(static_cast<int>(state.range(0)), datapath);
  if (!bench.error.empty()) {
    state.SkipWithError(bench.error.c_str());
    return;
  }
  size_t next = 0;
  uint64_t setups = 0;
  for (auto _ : state) {
    if (next + kBatch > bench.packets.size()) {
      state.PauseTiming();
      bench.udpif->purge();
      next = 0;
      state.ResumeTiming();
    }
    for (size_t i = 0; i < kBatch; ++i) (void)bench.dpif->inject(1, bench.packets[next++]);
    setups += bench.udpif->handle_upcalls(kBatch);
  }
  check_flow_setups(state, bench, setups);
}
void BM_FlowSetupBatch64(benchmark::State& state) {
  run_flow_setup_batch64(state, FlowSetupDatapath::kTestDpif);
}
BENCHMARK(BM_FlowSetupBatch64)->Arg(10000);
void BM_FlowSetupBatch64UserspaceDpif(benchmark::State& state) {
  run_flow_setup_batch64(state, FlowSetupDatapath::kUserspaceDpif);
}
BENCHMARK(BM_FlowSetupBatch64UserspaceDpif)->Arg(10000);

}  // namespace
}  // namespace flowlift

BENCHMARK_MAIN();
