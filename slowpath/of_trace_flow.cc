// ofproto/trace flow strings as packets (see of_trace_flow.h).
#include "slowpath/of_trace_flow.h"

#include <arpa/inet.h>

#include <string>

#include "slowpath/of_flow_syntax.h"
#include "slowpath/of_flow_units.h"

namespace flowlift {

Result<OfFlow> parse_trace_flow(std::string_view text, const PortNames& ports) {
  Result<OfMatch> match = parse_of_match(text, ports);
  if (!match) return match.status();
  const OfFlow& mask = match->mask.bits();
  for (const OfFlowUnit& unit : of_flow_units()) {
    Uint128 bits = read_unit(mask, unit);
    // A unit is either not named or fully given; ICMP type/code and the
    // VLAN fields fill only part of theirs, as do ip_dscp/nw_ecn.
    if (bits == 0 || (bits & unit.matchable_bits) == unit.matchable_bits) continue;
    bool partial_by_nature = unit.name == "vlan_tci" || unit.name == "nw_tos" || unit.name == "tp_src" ||
                             unit.name == "tp_dst" || unit.name == "mpls_lse" || unit.name == "tun_flags";
    if (!partial_by_nature)
      return invalid_argument(std::string(unit.name) + "=" +
                              format_unit_value(unit, read_unit(match->flow, unit), bits) +
                              ": a packet's field takes a value, not a mask");
  }
  OfFlow flow = match->flow;
  if (flow.vlan_tci & htons(kVlanCfi)) flow.vlan_tpid = htons(0x8100);
  return flow;
}

}  // namespace flowlift
