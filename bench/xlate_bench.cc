// Translation benchmarks: translations per second through the OVS 3.1
// oracle's pipeline shape (table 0 classifies by port, table 10 is the ACL
// and policy table, table 20 picks the egress by registers), for packets
// that take the typical paths: a rewrite with dec_ttl, three tables with a
// register move, a VXLAN output, a conjunctive match, and a table miss. No
// trace is recorded (the upcall path's setting).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "slowpath/of_flow_mod.h"
#include "slowpath/of_tables.h"
#include "slowpath/of_trace_flow.h"
#include "slowpath/xlate.h"

namespace flowlift {
namespace {

constexpr const char* kRules = R"(
table=0,priority=300,in_port=1,dl_src=02:aa:00:00:00:00/ff:ff:00:00:00:00 actions=load:0x1->NXM_NX_REG0[],goto_table:10
table=0,priority=200,in_port=1 actions=load:0x2->NXM_NX_REG0[],goto_table:10
table=0,priority=200,in_port=2,dl_vlan=10 actions=pop_vlan,load:0xa->NXM_NX_REG1[0..11],load:0x3->NXM_NX_REG0[],goto_table:10
table=10,priority=450,ip,nw_src=10.5.0.0/16 actions=conjunction(7,1/2)
table=10,priority=450,ip,nw_src=10.6.0.0/15 actions=conjunction(7,1/2)
table=10,priority=450,tcp,tp_dst=443 actions=conjunction(7,2/2)
table=10,priority=450,tcp,tp_dst=8443 actions=conjunction(7,2/2)
table=10,priority=450,conj_id=7,ip actions=set_field:26->ip_dscp,output:5
table=10,priority=400,tcp,nw_dst=10.2.0.0/16,tp_dst=22 actions=drop
table=10,priority=300,tcp,nw_dst=10.2.3.0/24,tp_dst=80 actions=mod_dl_src:02:00:00:00:00:b0,mod_dl_dst:02:00:00:00:03:01,dec_ttl,output:3
table=10,priority=300,udp,nw_dst=10.2.0.0/16,udp_dst=53 actions=mod_nw_dst:10.2.0.53,output:4
table=10,priority=160,ip,nw_dst=172.20.0.0/14 actions=set_tunnel:0x65,output:10
table=10,priority=50,ip actions=move:NXM_OF_IP_SRC[0]->NXM_NX_REG4[0],goto_table:20
table=10,priority=0 actions=drop
table=20,priority=200,reg0=0x1,ip,nw_dst=0.0.0.0/1 actions=mod_dl_dst:00:00:5e:00:01:01,dec_ttl,output:4
table=20,priority=100,reg0=0x3,reg1=0xa actions=push_vlan:0x8100,set_field:4196->vlan_vid,output:3
table=20,priority=90,reg4=0x1/0x1 actions=output:4
table=20,priority=80 actions=output:5
)";

constexpr const char* kPackets[] = {
    // rewrite + dec_ttl, two tables
    "in_port=1,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:b0,tcp,nw_src=10.3.0.9,nw_dst=10.2.3.5,nw_ttl="
    "64,"
    "tp_src=40001,tp_dst=80",
    // three tables and a register move
    "in_port=1,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:b0,udp,nw_src=10.3.0.9,nw_dst=8.8.8.8,nw_ttl="
    "64,"
    "udp_src=3333,udp_dst=4444",
    // VXLAN output
    "in_port=1,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:b0,tcp,nw_src=10.3.0.9,nw_dst=172.21.0.9,nw_"
    "ttl=64,"
    "tp_src=40024,tp_dst=80",
    // conjunctive match
    "in_port=1,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:b0,tcp,nw_src=10.5.4.4,nw_dst=10.2.3.5,nw_ttl="
    "64,"
    "tp_src=40019,tp_dst=443",
    // table miss
    "in_port=3,dl_src=02:00:00:00:00:03,dl_dst=02:00:00:00:00:b0,udp,nw_src=10.3.0.30,nw_dst=8.8.4.4,nw_ttl="
    "64",
};

struct BenchSetup {
  XlateBridge bridge{"br0"};
  OfTables tables;
  std::vector<OfFlow> packets;

  BenchSetup() {
    for (uint32_t i = 1; i <= 5; ++i)
      (void)bridge.add_port({"p" + std::to_string(i), i, i, XlatePortType::kDummy, std::nullopt});
    (void)bridge.add_port(
        {"vx1", 10, 4789, XlatePortType::kVxlan, *parse_vxlan_options("remote_ip=192.0.2.2,key=flow")});
    Result<std::vector<OfFlowMod>> mods = parse_of_flow_mod_file(kRules, bridge.port_names());
    if (mods) (void)tables.apply_bundle(*mods, 0);
    for (const char* text : kPackets) {
      Result<OfFlow> flow = parse_trace_flow(text, bridge.port_names());
      if (flow) packets.push_back(*flow);
    }
  }
};

void BM_Translate(benchmark::State& state) {
  static BenchSetup setup;
  const OfFlow& packet = setup.packets.at(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    XlateResult result = translate(setup.bridge, setup.tables, packet);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
  static const char* kLabels[] = {"rewrite+dec_ttl", "3 tables+move", "vxlan output", "conjunction",
                                  "table miss"};
  state.SetLabel(kLabels[state.range(0)]);
}
BENCHMARK(BM_Translate)->DenseRange(0, 4);

}  // namespace
}  // namespace flowlift

BENCHMARK_MAIN();
