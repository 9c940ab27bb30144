// Fuzz target for the flow-mod file text and the tables behind it: the input
// is an add-flows/--bundle file. Whatever parses is applied as one bundle;
// the invariants are those a controller relies on:
// - a bundle that fails changes nothing (same dump, same version);
// - for a handful of fixed packets, a lookup with wildcard tracking returns
//   the same rule as one without, and the same rule again for the packet with
//   every bit outside the returned wildcards flipped (the wildcards are what
//   becomes the megaflow, so this is the megaflow's soundness).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "slowpath/of_flow_dump.h"
#include "slowpath/of_flow_mod.h"
#include "slowpath/of_tables.h"
#include "slowpath/of_trace_flow.h"

namespace flowlift {
namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s: %s\n", what, detail.c_str());
  std::abort();
}

const PortNames& fuzz_ports() {
  static const PortNames ports = [] {
    PortNames p;
    for (int i = 1; i <= 5; ++i) p.add("p" + std::to_string(i), static_cast<uint32_t>(i));
    return p;
  }();
  return ports;
}

const std::vector<OfFlow>& fuzz_packets() {
  static const std::vector<OfFlow> packets = [] {
    std::vector<OfFlow> out;
    for (const char* text : {"in_port=1,tcp,nw_src=10.0.0.1,nw_dst=10.2.3.4,tp_src=1234,tp_dst=80",
                             "in_port=2,udp,nw_src=192.168.1.1,nw_dst=10.0.0.2,tp_dst=53",
                             "in_port=3,dl_vlan=10,ip,nw_dst=172.16.0.1", "in_port=1,arp,arp_op=1",
                             "in_port=4,ipv6,ipv6_dst=2001:db8::1"}) {
      Result<OfFlow> flow = parse_trace_flow(text, fuzz_ports());
      if (!flow) fail("fixed fuzz packet does not parse", flow.status().message());
      out.push_back(*flow);
    }
    return out;
  }();
  return packets;
}

// `flow` with every bit outside `wildcards` flipped, except conj_id: it is
// the classifier's own state between the two lookups of a conjunctive match,
// never a packet field, and always 0 when a packet arrives.
OfFlow flip_outside(const OfFlow& flow, const OfMask& wildcards) {
  OfFlow out = flow;
  auto* bytes = reinterpret_cast<unsigned char*>(&out);
  const auto* mask = reinterpret_cast<const unsigned char*>(&wildcards.bits());
  for (size_t i = 0; i < sizeof out; ++i) bytes[i] ^= static_cast<unsigned char>(~mask[i]);
  out.conj_id = flow.conj_id;
  return out;
}

void check_lookups(const OfTables& tables) {
  const OfVersion version = tables.current_version();
  for (const OfFlow& packet : fuzz_packets()) {
    for (uint8_t table = 0; table < 3; ++table) {
      OfMask wildcards;
      const OfPipelineRule* plain = tables.lookup(version, table, packet, nullptr);
      const OfPipelineRule* tracked = tables.lookup(version, table, packet, &wildcards);
      if (plain != tracked) fail("wildcard tracking changes the lookup result", std::to_string(table));
      const OfPipelineRule* flipped = tables.lookup(version, table, flip_outside(packet, wildcards), nullptr);
      if (flipped != plain)
        fail("a packet that agrees on the wildcards hits another rule", std::to_string(table));
    }
  }
}

}  // namespace
}  // namespace flowlift

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace flowlift;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<std::vector<OfFlowMod>> mods = parse_of_flow_mod_file(text, fuzz_ports());
  if (!mods) return 0;

  OfTables tables;
  OfTableConfig small;
  small.max_flows = 4;
  small.overflow_policy = OfOverflowPolicy::kEvict;
  if (!tables.configure_table(2, small)) fail("configure_table", "table 2");

  OfFlowDumpOptions dump;
  dump.show_stats = false;
  const std::vector<std::string> before = dump_of_flows(tables, 0, dump);
  const OfVersion version_before = tables.current_version();
  Result<OfTablesChange> change = tables.apply_bundle(*mods, 1000);
  if (!change) {
    if (dump_of_flows(tables, 0, dump) != before || tables.current_version() != version_before)
      fail("a failed bundle changed the tables", change.status().message());
  }
  check_lookups(tables);
  // Apply them again one by one (replacing, modifying, deleting what is
  // there): errors are fine, lookups must stay sound.
  for (const OfFlowMod& mod : *mods) (void)tables.apply(mod, 2000);
  check_lookups(tables);
  (void)tables.expire(1'000'000);
  tables.reclaim(tables.current_version());
  check_lookups(tables);
  return 0;
}
