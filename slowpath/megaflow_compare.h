// Semantic comparison of two megaflows written in OpenFlow match syntax (the
// "Megaflow:" line of ofproto/trace, an ovs-ofctl match, a dump-flows line),
// as sets of packets: equal, one strictly wider than the other, or neither
// (overlapping or disjoint), with every differing field named:
//   nw_dst: 10.2.3.0/24 vs 10.2.0.0/16
// This is how flowlift's translations are held against OVS 3.1's oracle
// megaflows, with the semantics of the oracle's megaflow_cmp.py.
//
// Both sides are read with parse_of_match, so spellings that name the same
// bits compare equal without further work: shorthands (tcp = dl_type+nw_proto),
// aliases (tcp_dst/udp_dst/tp_dst, arp_spa/nw_src, nd_sll/arp_sha,
// icmp_type/tp_src), VLAN fields (dl_vlan=10 is vlan_tci=0x100a/0x1fff),
// nw_tos/ip_dscp/nw_ecn (one nw_tos byte), nw_frag keywords. On top, the text
// is canonicalised the way OVS's megaflows are: "Megaflow:" prefixes, rule
// keywords, statistics and actions are skipped; "eth" and packet_type=(ns,id)
// become a packet_type constraint (OfFlow has none); and for ICMP/ICMPv6
// (dl_type and nw_proto exact) the tp_src/tp_dst masks are cut to their low
// 8 bits, as xlate_wc_finish() cuts them, so icmp_type=8 equals
// icmp_type=0x8/0xff. Fields compare per OfFlow storage unit (of_flow_units.h),
// by OVS's struct flow names.
//
// A datapath flow as `dpctl/dump-flows` prints it ("recirc_id(0),in_port(1),
// eth(...),eth_type(0x0800),ipv4(...), packets:..., actions:...", with or
// without "ufid:") is read too, as megaflow_cmp.py reads it: its match in
// OpenFlow terms (of_match_from_datapath_match), the datapath's implicit
// "untagged only" as vlan_tci=0x0000/0xffff, and its in_port as the
// datapath number (compare with in_port ignored, or mapped, when the other
// side numbers OpenFlow ports). Port names in datapath syntax (dump-flows
// -m with names) are not read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/status.h"
#include "slowpath/of_flow.h"
#include "slowpath/of_ports.h"

namespace flowlift {

struct CanonicalMegaflow {
  OfMatch match;
  // ns << 16 | id, when the text said "eth" (Ethernet, (0,0)) or packet_type=(ns,id).
  std::optional<uint32_t> packet_type;
};

// Reads and canonicalises one megaflow. Errors name the token that was wrong.
Result<CanonicalMegaflow> parse_megaflow(std::string_view text, const PortNames& ports);
// The ICMP mask cut (see above), for a match built some other way.
CanonicalMegaflow canonical_megaflow(const OfMatch& match,
                                     std::optional<uint32_t> packet_type = std::nullopt);

enum class MegaflowRelation {
  kEqual,
  kFirstWider,   // A matches a strict superset of B's packets
  kSecondWider,  // B matches a strict superset of A's packets
  kOverlapping,  // neither contains the other; some packet matches both
  kDisjoint,     // no packet matches both
};
// "equal", "A wider than B", "B wider than A", "incomparable (overlapping)",
// "incomparable (disjoint)": megaflow_cmp.py's words.
std::string_view megaflow_relation_name(MegaflowRelation relation);

struct MegaflowFieldDifference {
  std::string field;     // struct flow name: "nw_dst", "tp_dst", "packet_type"
  std::string first;     // A's constraint as text, "*" when A leaves the field wildcarded
  std::string second;    // B's
  std::string relation;  // "conflicting values on common mask bits 0x..; A matches bits B wildcards (0x..)"
  // "nw_dst: 10.2.3.0/24 vs 10.2.0.0/16"
  std::string to_string() const { return field + ": " + first + " vs " + second; }
};

struct MegaflowComparison {
  MegaflowRelation relation = MegaflowRelation::kEqual;
  std::vector<MegaflowFieldDifference> differences;  // in OfFlow order, packet_type first
  // The relation, then one line per difference.
  std::string to_string() const;
};

struct MegaflowCompareOptions {
  // Fields left out of the comparison, by struct flow name ("recirc_id",
  // "in_port", "vlan_tci"), by any OpenFlow field name of their storage unit
  // ("tcp_dst" ignores tp_dst) or "packet_type".
  std::vector<std::string> ignore;
};

Result<MegaflowComparison> compare_megaflows(const CanonicalMegaflow& first, const CanonicalMegaflow& second,
                                             const MegaflowCompareOptions& options = {});
Result<MegaflowComparison> compare_megaflow_texts(std::string_view first, std::string_view second,
                                                  const PortNames& ports,
                                                  const MegaflowCompareOptions& options = {});

}  // namespace flowlift
