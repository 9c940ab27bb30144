// Fuzz target: parse_tc_filter_message takes any bytes without reading
// outside them; every refusal says why; and whatever it accepts can be
// encoded again into a request that it accepts too (the parser and the
// encoder agree on every rule the parser can produce).
//
// Seeds (fuzz_corpus/tc_filter_codec_fuzz/) are the RTM_NEWTFILTER requests
// encode_tc_filter_new writes for the example rules of
// offload/tc_flower_rule_examples_for_tests.h, one file per rule.
#include <cstdint>
#include <span>

#include "offload/tc_filter_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace flowlift;
  Result<TcParsedFilter> parsed = parse_tc_filter_message(std::span<const uint8_t>(data, size));
  if (!parsed.is_ok()) {
    if (parsed.status().message().empty()) __builtin_trap();
    return 0;
  }
  const std::vector<uint8_t> again = encode_tc_filter_new(parsed->rule, TcFilterWrite::kReplace, 1);
  Result<TcParsedFilter> reparsed = parse_tc_filter_message(again);
  if (!reparsed.is_ok()) __builtin_trap();
  // Actions and the place survive as they are; keys may be normalised once
  // (a VLAN rule's ethertypes), but never lost.
  if (reparsed->rule.actions != parsed->rule.actions) __builtin_trap();
  if (reparsed->rule.priority != parsed->rule.priority || reparsed->rule.chain != parsed->rule.chain ||
      reparsed->rule.handle != parsed->rule.handle || reparsed->rule.policy != parsed->rule.policy)
    __builtin_trap();
  if (reparsed->rule.match.keys.size() < parsed->rule.match.keys.size()) __builtin_trap();
  return 0;
}
