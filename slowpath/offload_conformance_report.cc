// Comparing the two runs and printing the verdicts (see the header). The
// columns are the issue's: case, placement, reason, packets in/out, outputs
// identical, counters equal, pass.
#include "slowpath/offload_conformance_report.h"

#include <algorithm>

namespace flowlift {
namespace {

const ConformanceCaseResult* find_result(const ConformanceRun& run, const std::string& name) {
  for (const ConformanceCaseResult& result : run.cases)
    if (result.name == name) return &result;
  return nullptr;
}

const std::vector<std::vector<uint8_t>>* frames_on(const ConformanceCaseResult& result,
                                                   ConformancePortRole role) {
  for (const ConformanceCapture& capture : result.captured)
    if (capture.port == role) return &capture.frames;
  return nullptr;
}

// Byte-identical outside the bytes the case declares as varying per packet.
bool runs_output_the_same(const OffloadConformanceCase& c, const ConformanceCaseResult& a,
                          const ConformanceCaseResult& b) {
  for (ConformancePortRole role :
       {ConformancePortRole::kIn, ConformancePortRole::kOut, ConformancePortRole::kUnderlay}) {
    static const std::vector<std::vector<uint8_t>> kNone;
    const std::vector<std::vector<uint8_t>>* frames_a = frames_on(a, role);
    const std::vector<std::vector<uint8_t>>* frames_b = frames_on(b, role);
    if (!frames_a) frames_a = &kNone;
    if (!frames_b) frames_b = &kNone;
    if (frames_a->size() != frames_b->size()) return false;
    std::vector<ConformanceIgnoredBytes> ignored;
    for (const ConformanceExpectedOutput& output : c.expected)
      if (output.port == role && !output.frames.empty()) ignored = output.frames.front().ignored;
    for (size_t i = 0; i < frames_a->size(); ++i)
      if (!conformance_frame_matches(ConformanceFrame{(*frames_a)[i], ignored}, (*frames_b)[i])) return false;
  }
  return true;
}

std::string yes_no(bool value) { return value ? "yes" : "no"; }

std::string verdict_word(const ConformanceVerdict& verdict) {
  if (verdict.skipped) return "skip";
  return verdict.pass ? "PASS" : "FAIL";
}

// Reasons can be long (a kernel's extack); tables cut them, JSON keeps them.
std::string shortened(const std::string& text, size_t width) {
  if (text.size() <= width) return text;
  return text.substr(0, width - 3) + "...";
}

std::string markdown_cell(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

}  // namespace

std::vector<ConformanceVerdict> compare_conformance_runs(const std::vector<OffloadConformanceCase>& cases,
                                                         const ConformanceRun& datapath_run,
                                                         const ConformanceRun& offload_run) {
  std::vector<ConformanceVerdict> verdicts;
  for (const OffloadConformanceCase& c : cases) {
    const ConformanceCaseResult* a = find_result(datapath_run, c.name);
    const ConformanceCaseResult* b = find_result(offload_run, c.name);
    if (!a && !b) continue;  // not run (a single case was asked for)
    ConformanceVerdict verdict;
    verdict.name = c.name;
    if (!a || !b) {
      verdict.note =
          std::string("missing from the ") + (!a ? datapath_run.label : offload_run.label) + " run";
      verdicts.push_back(std::move(verdict));
      continue;
    }
    verdict.placement = b->placement;
    verdict.reason = b->reason;
    verdict.packets_in = b->packets_in;
    verdict.packets_out = b->packets_out;
    if (a->skipped || b->skipped) {
      verdict.skipped = true;
      verdict.note = !b->error.empty() ? b->error : a->error;
      verdicts.push_back(std::move(verdict));
      continue;
    }
    verdict.outputs_identical = runs_output_the_same(c, *a, *b);
    verdict.counters_equal = a->counters.packets == b->counters.packets &&
                             a->counters.bytes == b->counters.bytes && a->error.empty() && b->error.empty();
    verdict.as_expected = a->as_expected && b->as_expected;
    if (c.expected_refusal.empty())
      verdict.placement_as_expected = b->placement != "datapath" && !b->placement.empty();
    else
      verdict.placement_as_expected =
          b->placement == "datapath" && b->reason.find(c.expected_refusal) != std::string::npos;
    verdict.pass = verdict.outputs_identical && verdict.counters_equal && verdict.as_expected;

    std::vector<std::string> notes;
    if (!a->error.empty()) notes.push_back(datapath_run.label + ": " + a->error);
    if (!b->error.empty()) notes.push_back(offload_run.label + ": " + b->error);
    if (a->error.empty() && !a->mismatch.empty()) notes.push_back(datapath_run.label + ": " + a->mismatch);
    if (b->error.empty() && !b->mismatch.empty()) notes.push_back(offload_run.label + ": " + b->mismatch);
    if (!verdict.counters_equal && a->error.empty() && b->error.empty())
      notes.push_back("counters " + std::to_string(a->counters.packets) + "/" +
                      std::to_string(a->counters.bytes) + " vs " + std::to_string(b->counters.packets) + "/" +
                      std::to_string(b->counters.bytes) + " (packets/bytes)");
    if (!verdict.outputs_identical) notes.push_back("outputs differ between the runs");
    for (size_t i = 0; i < notes.size(); ++i) verdict.note += (i ? "; " : "") + notes[i];
    verdicts.push_back(std::move(verdict));
  }
  return verdicts;
}

std::string conformance_terminal_table(const std::vector<ConformanceVerdict>& verdicts) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"case", "placement", "reason", "in", "out", "identical", "counters", "result"});
  for (const ConformanceVerdict& v : verdicts) {
    rows.push_back({v.name, v.placement.empty() ? "-" : v.placement,
                    shortened(v.reason.empty() ? "-" : v.reason, 48), std::to_string(v.packets_in),
                    std::to_string(v.packets_out), v.skipped ? "-" : yes_no(v.outputs_identical),
                    v.skipped ? "-" : (v.counters_equal ? "equal" : "differ"), verdict_word(v)});
  }
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  std::string out;
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (size_t i = 0; i < rows[r].size(); ++i) {
      const bool numeric = i == 3 || i == 4;
      std::string cell = rows[r][i];
      std::string pad(widths[i] - cell.size(), ' ');
      line += (i ? "  " : "") + (numeric && r > 0 ? pad + cell : cell + pad);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  for (const ConformanceVerdict& v : verdicts)
    if (!v.pass && !v.note.empty()) out += v.name + ": " + v.note + "\n";
  out += conformance_summary(verdicts) + "\n";
  return out;
}

std::string conformance_markdown_table(const std::vector<ConformanceVerdict>& verdicts) {
  std::string out =
      "| case | placement | reason | packets in | packets out | outputs identical | counters equal | result "
      "|\n"
      "|---|---|---|---:|---:|---|---|---|\n";
  for (const ConformanceVerdict& v : verdicts) {
    out += "| " + markdown_cell(v.name) + " | " + markdown_cell(v.placement.empty() ? "-" : v.placement) +
           " | " + markdown_cell(v.reason.empty() ? "-" : v.reason) + " | " + std::to_string(v.packets_in) +
           " | " + std::to_string(v.packets_out) + " | " + (v.skipped ? "-" : yes_no(v.outputs_identical)) +
           " | " + (v.skipped ? "-" : yes_no(v.counters_equal)) + " | " + verdict_word(v) +
           (v.pass || v.note.empty() ? "" : ": " + markdown_cell(v.note)) + " |\n";
  }
  out += "\n" + conformance_summary(verdicts) + "\n";
  return out;
}

nlohmann::json conformance_json(const std::vector<ConformanceVerdict>& verdicts) {
  nlohmann::json cases = nlohmann::json::array();
  for (const ConformanceVerdict& v : verdicts) {
    cases.push_back({{"case", v.name},
                     {"placement", v.placement},
                     {"reason", v.reason},
                     {"packets_in", v.packets_in},
                     {"packets_out", v.packets_out},
                     {"outputs_identical", v.outputs_identical},
                     {"counters_equal", v.counters_equal},
                     {"as_expected", v.as_expected},
                     {"placement_as_expected", v.placement_as_expected},
                     {"skipped", v.skipped},
                     {"pass", v.pass},
                     {"note", v.note}});
  }
  return {{"cases", cases},
          {"summary", conformance_summary(verdicts)},
          {"all_passed", conformance_all_passed(verdicts)}};
}

std::string conformance_summary(const std::vector<ConformanceVerdict>& verdicts) {
  size_t passed = 0, skipped = 0, failed = 0;
  for (const ConformanceVerdict& v : verdicts) {
    if (v.skipped)
      ++skipped;
    else if (v.pass)
      ++passed;
    else
      ++failed;
  }
  return std::to_string(passed) + " of " + std::to_string(verdicts.size()) + " passed, " +
         std::to_string(skipped) + " skipped, " + std::to_string(failed) + " failed";
}

bool conformance_all_passed(const std::vector<ConformanceVerdict>& verdicts) {
  return std::all_of(verdicts.begin(), verdicts.end(),
                     [](const ConformanceVerdict& v) { return v.skipped || v.pass; });
}

}  // namespace flowlift
