// Fuzz target for the dump-flows text: arbitrary input as a match, as an
// action list and as a whole dumped flow line. Whatever parses must print,
// reparse, and come back equal; where the text is lossy by design (tunnel
// fields matched against zero, which the kernel leaves out of its dump, and
// sample percentages printed with one decimal) the printed text must instead
// be a fixed point of print(parse(...)).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_flow.h"
#include "kmod/odp_text_key.h"

namespace flowlift {
namespace {

[[noreturn]] void fail(const char* what, const std::string& a, const std::string& b) {
  std::fprintf(stderr, "%s\n  first:  %s\n  second: %s\n", what, a.c_str(), b.c_str());
  std::abort();
}

bool matches_tunnel(const FlowMask& mask) {
  const auto* p = reinterpret_cast<const uint8_t*>(&mask.bits().tunnel);
  for (size_t i = 0; i < sizeof(TunnelKey); ++i)
    if (p[i]) return true;
  return false;
}

bool has_sample(const ActionList& actions) {
  for (const Action& a : actions) {
    if (a.is<SampleAction>()) return true;
    if (a.is<CloneAction>() && has_sample(a.as<CloneAction>().actions)) return true;
    if (a.is<CheckPktLenAction>()) {
      const auto& cpl = a.as<CheckPktLenAction>();
      if (has_sample(cpl.if_greater) || has_sample(cpl.if_less_equal)) return true;
    }
  }
  return false;
}

void check_match(std::string_view text) {
  Result<UnmaskedMatch> first = parse_unmasked_match(text);
  if (!first) return;
  for (OdpTextStyle style : {OdpTextStyle::kKernel, OdpTextStyle::kUserspace}) {
    std::string printed = format_match(*first, style);
    Result<UnmaskedMatch> second = parse_unmasked_match(printed);
    if (!second) fail("printed match does not parse", printed, second.status().message());
    std::string reprinted = format_match(*second, style);
    if (reprinted != printed) fail("match text is not a fixed point", printed, reprinted);
    bool lossless = !matches_tunnel(first->mask);
    if (lossless && !(second->to_match() == first->to_match()))
      fail("match changed", std::string(text), printed);

    Match match = first->to_match();
    std::string masked = format_match(match, style);
    Result<Match> again = parse_match(masked);
    if (!again) fail("printed Match does not parse", masked, again.status().message());
    if (lossless && !(*again == match)) fail("Match changed", masked, format_match(*again, style));
  }
}

void check_actions(std::string_view text) {
  Result<ActionList> first = parse_actions(text);
  if (!first) return;
  std::string printed = format_actions(*first);
  Result<ActionList> second = parse_actions(printed);
  if (!second) fail("printed actions do not parse", printed, second.status().message());
  std::string reprinted = format_actions(*second);
  if (reprinted != printed) fail("action text is not a fixed point", printed, reprinted);
  if (!has_sample(*first) && !(*second == *first)) fail("actions changed", std::string(text), printed);
}

void check_flow(std::string_view text) {
  constexpr uint64_t kNowMs = 1'000'000'000;
  Result<Megaflow> first = parse_dumped_flow(text, kNowMs);
  if (!first) return;
  std::string printed = format_dumped_flow(*first, kNowMs);
  Result<Megaflow> second = parse_dumped_flow(printed, kNowMs);
  if (!second) fail("printed flow does not parse", printed, second.status().message());
  std::string reprinted = format_dumped_flow(*second, kNowMs);
  if (reprinted != printed) fail("flow text is not a fixed point", printed, reprinted);
  bool lossless = !matches_tunnel(first->match.mask) && !has_sample(first->actions);
  if (lossless && !(second->match == first->match && second->actions == first->actions &&
                    second->stats == first->stats && second->ufid == first->ufid))
    fail("flow changed", std::string(text), printed);
}

}  // namespace
}  // namespace flowlift

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  flowlift::check_match(text);
  flowlift::check_actions(text);
  flowlift::check_flow(text);
  return 0;
}
