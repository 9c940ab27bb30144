// OpenFlow rules in the text `ovs-ofctl add-flow` reads and `ovs-ofctl
// dump-flows` prints (OVS's parse_ofp_str() and match_format()), both ways.
//
// Reading: items separated by commas or white space; rule keywords (table,
// priority, cookie, idle_timeout, hard_timeout, importance, send_flow_rem,
// check_overlap, reset_counts, no_packet_counts, no_byte_counts), protocol
// shorthands (eth, ip, ipv6, arp, rarp, icmp, icmp6, tcp, tcp6, udp, udp6,
// sctp, sctp6, mpls, mplsm), any field of the registry by any of its names
// ("nw_src=10.0.0.0/8", "NXM_NX_REG0=5/0xff", "reg0[0..3]=5"), then
// "actions=..." (everything after it). Statistics that dump-flows prints
// (duration, n_packets, n_bytes, idle_age, hard_age) are skipped so dumps
// read back. Unlike ovs-ofctl, a field whose prerequisites the match does not
// establish is an error ("tp_dst=80: needs a TCP, UDP or SCTP match (add tcp,
// udp or sctp)") rather than something the switch refuses later, and so is
// an action the match makes meaningless (OVS's OpenFlow 1.3 behaviour).
//
// Printing: ovs-ofctl dump-flows --no-stats style: "cookie=0x5, table=10,
// idle_timeout=60, priority=450,tcp,nw_src=10.5.0.0/16,tp_dst=443
// actions=output:3", fields in OVS's match_format() order and spelling
// (shorthands, nw_tos for the DSCP, dl_vlan for a plain VLAN id). What
// prints reads back as the same rule.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "flowlift/status.h"
#include "slowpath/of_actions.h"
#include "slowpath/of_flow.h"
#include "slowpath/of_ports.h"

namespace flowlift {

inline constexpr uint16_t kOfDefaultPriority = 32768;

// Flow-mod flags (OFPUTIL_FF_*), as the rule keywords name them.
enum OfRuleFlags : uint16_t {
  kOfRuleSendFlowRemoved = 1 << 0,
  kOfRuleCheckOverlap = 1 << 1,
  kOfRuleResetCounts = 1 << 2,
  kOfRuleNoPacketCounts = 1 << 3,
  kOfRuleNoByteCounts = 1 << 4,
};

struct OfRule {
  uint8_t table = 0;
  uint16_t priority = kOfDefaultPriority;
  uint64_t cookie = 0;
  uint64_t cookie_mask = 0;  // non-zero only in rule selectors ("cookie=0x5/0xff")
  OfMatch match;
  OfActionList actions;
  uint16_t idle_timeout = 0;  // seconds; 0 = never
  uint16_t hard_timeout = 0;
  uint16_t importance = 0;
  uint16_t flags = 0;  // OfRuleFlags

  bool operator==(const OfRule&) const = default;
};

// One rule. `ports` resolves port names ("in_port=p1", "output:vx1").
Result<OfRule> parse_of_rule(std::string_view text, const PortNames& ports);

// Only a match (no actions, no rule keywords except the match fields and
// shorthands): "tcp,nw_dst=10.0.0.0/8,tp_dst=80". Prerequisites are checked.
Result<OfMatch> parse_of_match(std::string_view text, const PortNames& ports);

// dump-flows style. Ports print by name when `ports` knows them, else as numbers.
std::string format_of_rule(const OfRule& rule, const PortNames* ports = nullptr);

// OVS's match_format(): "priority=N," first when `priority` is not the
// default, then the fields, comma separated, no trailing comma.
std::string format_of_match(const OfMatch& match, const PortNames* ports = nullptr,
                            uint16_t priority = kOfDefaultPriority);

}  // namespace flowlift
