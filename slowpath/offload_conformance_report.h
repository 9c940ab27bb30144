// The verdict of the offload conformance suite: two runs of the same table
// on the same devices (a: the openvswitch module's table alone; b: TC first,
// then the datapath for what TC refuses) compared case by case, and printed
// as a terminal table, a markdown table and JSON. Pure functions over the
// runs' results, so every column is unit-tested without a kernel.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "slowpath/offload_conformance_cases.h"
#include "slowpath/offload_conformance_runner.h"

namespace flowlift {

struct ConformanceVerdict {
  std::string name;
  bool skipped = false;
  std::string placement;  // of run b: "tc_sw", "in_hw", "datapath", ...
  std::string reason;     // of run b
  uint64_t packets_in = 0;
  uint64_t packets_out = 0;  // of run b
  // Run b's frames equal run a's byte for byte on every port (outside the
  // case's ignored bytes), in number and order.
  bool outputs_identical = false;
  bool counters_equal = false;  // packets and bytes of the flow in a and b
  bool as_expected = false;     // both runs produced the table's expected frames
  // The placement is what the table says: a documented refusal is in the
  // datapath with its reason; anything else left the datapath.
  bool placement_as_expected = false;
  bool pass = false;  // outputs identical, counters equal, as expected, no error
  std::string note;   // why not, in a few words
};

// a and b must come from the same table (same case names in the same order);
// a case missing from either is a failed verdict saying so.
std::vector<ConformanceVerdict> compare_conformance_runs(const std::vector<OffloadConformanceCase>& cases,
                                                         const ConformanceRun& datapath_run,
                                                         const ConformanceRun& offload_run);

std::string conformance_terminal_table(const std::vector<ConformanceVerdict>& verdicts);
std::string conformance_markdown_table(const std::vector<ConformanceVerdict>& verdicts);
nlohmann::json conformance_json(const std::vector<ConformanceVerdict>& verdicts);

// "31 of 33 passed, 2 skipped, 0 failed".
std::string conformance_summary(const std::vector<ConformanceVerdict>& verdicts);
bool conformance_all_passed(const std::vector<ConformanceVerdict>& verdicts);  // skipped ones aside

}  // namespace flowlift
