// The rules of a bridge's tables as `ovs-ofctl dump-flows` prints them
// (OVS's ofputil_flow_stats_format()), with statistics or, like
// `--no-stats`, without: then each line is format_of_rule()'s text and reads
// back through parse_of_rule() as the same rule.
//
// Order: tables in increasing order; within a table OVS prints rules in its
// classifier's internal order, which it does not define, so this prints
// them as `ovs-ofctl --rsort dump-flows` would: highest priority first, equal
// priorities oldest first.
//
// With statistics, what OVS prints depends on the reply's OpenFlow version:
//   OpenFlow 1.0 (NXM, ovs-ofctl's default): "cookie=0x0, duration=1.5s,
//     table=0, n_packets=5, n_bytes=300, idle_timeout=60, idle_age=2,
//     hard_age=1, priority=100,ip actions=drop" - no flags or importance
//     (NXM does not carry them); hard_age only when it differs from the
//     whole seconds of duration.
//   OpenFlow 1.4: "cookie=0x0, duration=1.5s, table=0, n_packets=5,
//     n_bytes=300, idle_timeout=60, send_flow_rem importance=7,
//     priority=100,ip actions=drop" - flags and importance, no ages.
// duration counts from the rule's creation (a modify keeps it), idle_age
// from its last use, hard_age from its last modification.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "slowpath/of_flow_mod.h"
#include "slowpath/of_ports.h"
#include "slowpath/of_table_rule.h"
#include "slowpath/of_tables.h"

namespace flowlift {

struct OfFlowDumpOptions {
  std::optional<uint8_t> table;  // only this table (dump-flows br0 table=N); all when unset
  bool show_stats = true;        // false: --no-stats
  OfFlowModProtocol protocol = OfFlowModProtocol::kOpenFlow10;  // the reply's version, with stats
  const PortNames* ports = nullptr;                             // print ports by name
};

// One line per rule visible at the tables' current version, without ovs-ofctl's leading space.
std::vector<std::string> dump_of_flows(const OfTables& tables, uint64_t now_ms,
                                       const OfFlowDumpOptions& options = {});

// One rule, as dumped at `now_ms`.
std::string format_of_flow_stats(const OfTableRule& rule, uint64_t now_ms,
                                 const OfFlowDumpOptions& options = {});

}  // namespace flowlift
