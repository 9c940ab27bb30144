// ofproto/trace flow strings as packets (see of_trace_flow.h).
#include "slowpath/of_trace_flow.h"

#include <arpa/inet.h>

#include <string>

#include "slowpath/of_field_text.h"
#include "slowpath/of_flow_syntax.h"
#include "slowpath/of_flow_units.h"

namespace flowlift {

namespace {

// OVS's flow parser keeps only the DSCP bits of "nw_tos=N" (the oracle's A26
// traces nw_tos=1 as nw_tos=0,nw_ecn=0); the match syntax refuses ECN bits
// there, so they are dropped first.
Result<std::string> without_nw_tos_ecn_bits(std::string_view text) {
  std::string out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view item = text.substr(start, comma == std::string_view::npos ? comma : comma - start);
    if (!out.empty()) out += ',';
    if (item.starts_with("nw_tos=")) {
      Result<Uint128> tos = parse_integer(item.substr(7), 8);
      if (!tos) return invalid_argument(std::string(item) + ": " + tos.status().message());
      out += "nw_tos=" + std::to_string(static_cast<unsigned>(*tos & 0xfc));
    } else {
      out += item;
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

Result<OfFlow> parse_trace_flow(std::string_view text, const PortNames& ports) {
  Result<std::string> cleaned = without_nw_tos_ecn_bits(text);
  if (!cleaned) return cleaned.status();
  Result<OfMatch> match = parse_of_match(*cleaned, ports);
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
