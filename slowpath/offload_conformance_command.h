// `flowlift conformance`: the offload conformance suite against real
// devices, run locally as root (it opens its own openvswitch datapath and TC
// session; flowliftd is not involved and must not hold the devices).
//
//   flowlift conformance --port DEV --peer DEV --out DEV --out-peer DEV
//       [--underlay DEV --underlay-peer DEV] [--policy none|skip_sw|skip_hw]
//       [--profile NAME|FILE] [--case NAME] [--json|--markdown]
//
// The table runs twice on the same devices: (a) through the openvswitch
// module's table alone, (b) through TC with the policy (default skip_sw, a
// NIC's hardware) and the datapath for what TC refuses; the report says per
// case where (b) placed the flow and why, packets in/out, and whether the
// outputs were byte-identical and the counters equal.
// Exit status: 0 every case passed (or was skipped), 1 some case failed or
// the devices could not be used, 2 usage error.
#pragma once

#include <iosfwd>
#include <span>
#include <string>

#include "flowlift/status.h"
#include "slowpath/offload_conformance_runner.h"

namespace flowlift {

enum class ConformanceOutputFormat : uint8_t { kTable, kJson, kMarkdown };

struct ConformanceCommandOptions {
  ConformanceDevices devices;
  std::string policy = "skip_sw";
  std::string profile = "tc-software";
  std::string only_case;
  ConformanceOutputFormat format = ConformanceOutputFormat::kTable;
  bool help = false;
};

// The arguments after "conformance". Errors name the argument (code EINVAL).
Result<ConformanceCommandOptions> parse_conformance_arguments(std::span<const std::string> arguments);

std::string conformance_usage_text();

// Parses, runs both passes, prints the report on `output`; returns the exit status.
int run_conformance_command(std::span<const std::string> arguments, std::ostream& output,
                            std::ostream& errors);

}  // namespace flowlift
