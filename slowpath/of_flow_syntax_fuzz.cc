// Fuzz target for the ovs-ofctl rule text: arbitrary input as a whole rule,
// as a match and as an action list. Whatever parses must print, reparse and
// come back equal (with ports printed by number and by name), and printing
// the reparsed value must give the same text.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "slowpath/of_actions.h"
#include "slowpath/of_flow_syntax.h"

namespace flowlift {
namespace {

[[noreturn]] void fail(const char* what, const std::string& a, const std::string& b) {
  std::fprintf(stderr, "%s\n  first:  %s\n  second: %s\n", what, a.c_str(), b.c_str());
  std::abort();
}

const PortNames& fuzz_ports() {
  static const PortNames ports = [] {
    PortNames p;
    for (int i = 1; i <= 5; ++i) p.add("p" + std::to_string(i), static_cast<uint32_t>(i));
    p.add("vx1", 10);
    p.add("vx2", 11);
    return p;
  }();
  return ports;
}

void check_rule(std::string_view text) {
  const PortNames& ports = fuzz_ports();
  Result<OfRule> first = parse_of_rule(text, ports);
  if (!first) return;
  const PortNames* no_names = nullptr;
  for (const PortNames* names : {no_names, &ports}) {
    std::string printed = format_of_rule(*first, names);
    Result<OfRule> second = parse_of_rule(printed, ports);
    if (!second) fail("printed rule does not parse", printed, second.status().message());
    if (!(*second == *first)) fail("printed rule parses differently", std::string(text), printed);
    std::string reprinted = format_of_rule(*second, names);
    if (reprinted != printed) fail("rule does not print the same twice", printed, reprinted);
  }
}

void check_match(std::string_view text) {
  const PortNames& ports = fuzz_ports();
  Result<OfMatch> first = parse_of_match(text, ports);
  if (!first) return;
  std::string printed = format_of_match(*first, &ports);
  Result<OfMatch> second = parse_of_match(printed, ports);
  if (!second) fail("printed match does not parse", printed, second.status().message());
  if (!(*second == *first)) fail("printed match parses differently", std::string(text), printed);
}

void check_actions(std::string_view text) {
  const PortNames& ports = fuzz_ports();
  Result<OfActionList> first = parse_of_actions(text, ports);
  if (!first) return;
  std::string printed = format_of_actions(*first, nullptr);
  Result<OfActionList> second = parse_of_actions(printed, ports);
  if (!second) fail("printed actions do not parse", printed, second.status().message());
  if (!(*second == *first)) fail("printed actions parse differently", std::string(text), printed);
}

}  // namespace
}  // namespace flowlift

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  flowlift::check_rule(text);
  flowlift::check_match(text);
  flowlift::check_actions(text);
  return 0;
}
