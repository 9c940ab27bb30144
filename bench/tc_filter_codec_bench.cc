// TC filter codec throughput (issue 6, section 5: filters encoded per
// second): RTM_NEWTFILTER requests encoded and echoed filters parsed, for
// the three shapes that dominate a kernel deployment's megaflows: an
// IPv4/TCP megaflow with one output (mirred), a VXLAN encapsulation
// (tunnel_key set + mirred to the VXLAN netdev), and a rewrite (pedit +
// csum + mirred). Items per second are filters per second.
#include <benchmark/benchmark.h>

#include <vector>

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

}  // namespace
}  // namespace flowlift

BENCHMARK_MAIN();
