// Fuzz target for the netlink codecs. Every input is read four ways: as key
// attributes alone (exact mask), as key plus mask attributes, as an action
// list, and as a whole flow message. Decoding must never crash or read out of
// bounds; whatever decodes must encode into attributes that decode back to
// the same value. Inputs long enough to fill a FlowKey and a mask are also
// encoded as a match first, so that the decoder sees well-formed streams with
// arbitrary field values, not only what mutation reaches from raw bytes.
#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>

#include "kmod/actions_validate.h"
#include "kmod/netlink_actions.h"
#include "kmod/netlink_flow.h"
#include "kmod/netlink_key.h"

namespace flowlift {
namespace {

[[noreturn]] void fail(const char* what, const Status& status) {
  std::fprintf(stderr, "%s: %s\n", what, status.message().c_str());
  std::abort();
}

void check_match_round_trip(const Match& match) {
  MatchAttributes encoded = encode_match(match);
  Result<Match> again = decode_match(encoded.key, encoded.mask);
  if (!again) fail("re-encoded match does not decode", again.status());
  if (!(*again == match)) fail("re-encoded match decodes to a different match", Status());
}

void check_actions_round_trip(const ActionList& actions) {
  Result<std::vector<uint8_t>> encoded = encode_actions(actions);
  if (!encoded) fail("decoded actions do not encode", encoded.status());
  Result<ActionList> again = decode_actions(*encoded);
  if (!again) fail("re-encoded actions do not decode", again.status());
  if (!(*again == actions)) fail("re-encoded actions decode to different actions", Status());
}

void fuzz_match(std::span<const uint8_t> key, std::optional<std::span<const uint8_t>> mask) {
  Result<Match> match = decode_match(key, mask);
  if (match) check_match_round_trip(*match);
}

void fuzz_actions(std::span<const uint8_t> bytes) {
  Result<ActionList> actions = decode_actions(bytes);
  if (!actions) return;
  check_actions_round_trip(*actions);
  // Exercise the flow-dependent checks too; any verdict is fine.
  FlowKey key{};
  key.eth_type = htons(0x0800);
  key.ip_proto = 6;
  (void)validate_actions(*actions, Match(key, FlowMask::exact()));
}

void fuzz_flow(std::span<const uint8_t> bytes) {
  Result<Megaflow> flow = decode_flow(bytes);
  if (!flow) return;
  Result<std::vector<uint8_t>> encoded = encode_flow(*flow);
  if (!encoded) fail("decoded flow does not encode", encoded.status());
  Result<Megaflow> again = decode_flow(*encoded);
  if (!again) fail("re-encoded flow does not decode", again.status());
  if (!(again->match == flow->match) || !(again->actions == flow->actions) || !(again->ufid == flow->ufid) ||
      !(again->stats == flow->stats)) {
    fail("re-encoded flow decodes to a different flow", Status());
  }
}

void fuzz_encoded_match(std::span<const uint8_t> bytes) {
  FlowKey key, mask;
  std::memcpy(&key, bytes.data(), sizeof key);
  std::memcpy(&mask, bytes.data() + sizeof key, sizeof mask);
  Match match(key, FlowMask(mask));
  MatchAttributes encoded = encode_match(match);
  fuzz_match(encoded.key, encoded.mask);
  fuzz_match(encoded.key, std::nullopt);
  fuzz_match(encode_key(key), std::nullopt);
}

}  // namespace
}  // namespace flowlift

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace flowlift;
  std::span<const uint8_t> input(data, size);
  fuzz_match(input, std::nullopt);
  fuzz_actions(input);
  fuzz_flow(input);
  if (size >= 2 * sizeof(FlowKey)) fuzz_encoded_match(input);
  // The first two bytes choose where the key ends and the mask begins.
  if (size >= 2) {
    size_t split = (size_t{data[0]} | size_t{data[1]} << 8) % (size - 1);
    std::span<const uint8_t> rest = input.subspan(2);
    split = std::min(split, rest.size());
    fuzz_match(rest.first(split), rest.subspan(split));
  }
  return 0;
}
