// SwitchCommandArgs: the "args" object of one control request
// (docs/control-protocol.md), checked against the keys its command takes.
//
// Why a class of its own: every command must refuse unknown keys and
// wrongly typed values with a message naming the key, and doing that once
// here keeps the handlers about the switch rather than about JSON.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/status.h"

namespace flowlift {

class SwitchCommandArgs {
 public:
  // `args` must be an object (or null: no arguments). Keys outside `allowed`
  // are refused ("unknown argument \"foo\" (takes bridge, flow)").
  static Result<SwitchCommandArgs> from_json(const nlohmann::json& args,
                                             std::span<const std::string_view> allowed);

  bool has(std::string_view key) const;
  const nlohmann::json* find(std::string_view key) const;

  Result<std::string> required_string(std::string_view key) const;
  Result<std::optional<std::string>> optional_string(std::string_view key) const;
  Result<std::optional<bool>> optional_bool(std::string_view key) const;
  // A non-negative integer no larger than `max`.
  Result<std::optional<uint64_t>> optional_unsigned(std::string_view key, uint64_t max) const;
  // An array of strings.
  Result<std::vector<std::string>> required_string_array(std::string_view key) const;

 private:
  nlohmann::json args_ = nlohmann::json::object();
};

}  // namespace flowlift
