// TC filter codec throughput (issue 6, section 5: filters encoded per
// second): RTM_NEWTFILTER requests encoded and echoed filters parsed, for
// the three shapes that dominate a kernel deployment's megaflows: an
// IPv4/TCP megaflow with one output (mirred), a VXLAN encapsulation
// (tunnel_key set + mirred to the VXLAN netdev), and a rewrite (pedit +
// csum + mirred). Items per second are filters per second.
//
// BM_MegaflowToTcAndEncode is the whole host-side cost of one offload: a
// datapath megaflow (as the upcall path hands it over) translated by
// megaflow_to_tc and encoded as the RTM_NEWTFILTER request, for the same
// three shapes written as megaflows. What the lab adds on top (the kernel's
// own work per filter) is measured only as a ratio, by
// tc_install_rate_vs_ovs_bench.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_key.h"
#include "offload/megaflow_to_tc.h"
#include "offload/tc_filter_codec.h"
#include "offload/tc_flower_rule_examples_for_tests.h"

namespace flowlift {
namespace {

TcFlowerRule bench_rule(int shape) {
  switch (shape) {
    case 0:
      return tc_example_ipv4_tcp_rule();
    case 1:
      return tc_example_vxlan_encap_rule();
    default:
      return tc_example_pedit_rule();
  }
}

const char* shape_name(int shape) {
  return shape == 0 ? "ipv4_tcp_mirred" : shape == 1 ? "vxlan_encap" : "pedit";
}

void BM_TcFilterEncode(benchmark::State& state) {
  const TcFlowerRule rule = bench_rule(static_cast<int>(state.range(0)));
  uint32_t seq = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    std::vector<uint8_t> message = encode_tc_filter_new(rule, TcFilterWrite::kCreate, ++seq);
    bytes = message.size();
    benchmark::DoNotOptimize(message.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["message_bytes"] = static_cast<double>(bytes);
  state.SetLabel(shape_name(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_TcFilterEncode)->Arg(0)->Arg(1)->Arg(2);

void BM_TcFilterParse(benchmark::State& state) {
  const std::vector<uint8_t> message =
      encode_tc_filter_new(bench_rule(static_cast<int>(state.range(0))), TcFilterWrite::kCreate, 1);
  for (auto _ : state) {
    Result<TcParsedFilter> parsed = parse_tc_filter_message(message);
    if (!parsed.is_ok()) state.SkipWithError(parsed.status().message().c_str());
    benchmark::DoNotOptimize(parsed);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetLabel(shape_name(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_TcFilterParse)->Arg(0)->Arg(1)->Arg(2);

// Datapath ports 1 and 2 are veths, 3 the VXLAN netdev (UDP 4789).
TcPortTable bench_port_table() {
  TcPortTable ports;
  ports.set(1, {.ifindex = 11, .device = "veth1"});
  ports.set(2, {.ifindex = 12, .device = "veth2"});
  ports.set(3, {.ifindex = 13, .device = "vxlan_sys_4789", .vxlan = true, .vxlan_udp_port = 4789});
  return ports;
}

// The three shapes as megaflows in the ovs-dpctl text form.
Result<Megaflow> bench_megaflow(int shape) {
  static const char* const kMatches[] = {
      "recirc_id(0),in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),"
      "ipv4(src=10.0.0.1,dst=10.0.1.0/255.255.255.0,proto=6,frag=no),tcp(dst=80)",
      "recirc_id(0),in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),"
      "ipv4(dst=10.0.2.0/255.255.255.0,frag=no)",
      "recirc_id(0),in_port(1),eth(dst=02:00:00:00:00:02),eth_type(0x0800),"
      "ipv4(dst=10.0.3.7,proto=17,ttl=64,frag=no)"};
  static const char* const kActions[] = {
      "2", "set(tunnel(tun_id=0x2a,src=192.168.50.1,dst=192.168.50.2,ttl=64,tp_dst=4789,flags(key))),3",
      "set(ipv4(dst=10.0.3.8,ttl=63)),2"};
  Megaflow flow;
  flow.ufid.bytes[0] = static_cast<uint8_t>(shape + 1);
  Result<Match> match = parse_match(kMatches[shape]);
  if (!match) return match.status();
  flow.match = *match;
  Result<ActionList> actions = parse_actions(kActions[shape]);
  if (!actions) return actions.status();
  flow.actions = *actions;
  return flow;
}

void BM_MegaflowToTcAndEncode(benchmark::State& state) {
  const int shape = static_cast<int>(state.range(0));
  const Result<Megaflow> flow = bench_megaflow(shape);
  if (!flow) {
    state.SkipWithError(flow.status().message().c_str());
    return;
  }
  const TcPortTable ports = bench_port_table();
  uint32_t seq = 0;
  for (auto _ : state) {
    Result<TcFlowerRule> rule = megaflow_to_tc(*flow, ports);
    if (!rule.is_ok()) {
      state.SkipWithError(rule.status().message().c_str());
      break;
    }
    std::vector<uint8_t> message = encode_tc_filter_new(*rule, TcFilterWrite::kCreate, ++seq);
    benchmark::DoNotOptimize(message.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetLabel(shape_name(shape));
}
BENCHMARK(BM_MegaflowToTcAndEncode)->Arg(0)->Arg(1)->Arg(2);

}  // namespace
}  // namespace flowlift

BENCHMARK_MAIN();
