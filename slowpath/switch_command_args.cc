// Checked access to a control request's args (see switch_command_args.h).
#include "slowpath/switch_command_args.h"

namespace flowlift {

Result<SwitchCommandArgs> SwitchCommandArgs::from_json(const nlohmann::json& args,
                                                       std::span<const std::string_view> allowed) {
  SwitchCommandArgs out;
  if (args.is_null()) return out;
  if (!args.is_object()) return invalid_argument("args must be an object");
  for (const auto& [key, value] : args.items()) {
    bool known = false;
    for (std::string_view name : allowed) known = known || name == key;
    if (known) continue;
    std::string takes;
    for (std::string_view name : allowed) takes += (takes.empty() ? "" : ", ") + std::string(name);
    return invalid_argument(
        "unknown argument \"" + key + "\"" +
        (takes.empty() ? std::string(" (takes no arguments)") : " (takes " + takes + ")"));
  }
  out.args_ = args;
  return out;
}

bool SwitchCommandArgs::has(std::string_view key) const { return find(key) != nullptr; }

const nlohmann::json* SwitchCommandArgs::find(std::string_view key) const {
  auto it = args_.find(std::string(key));
  if (it == args_.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> SwitchCommandArgs::required_string(std::string_view key) const {
  const nlohmann::json* value = find(key);
  if (!value) return invalid_argument("missing argument \"" + std::string(key) + "\"");
  if (!value->is_string()) return invalid_argument("argument \"" + std::string(key) + "\" must be a string");
  return value->get<std::string>();
}

Result<std::optional<std::string>> SwitchCommandArgs::optional_string(std::string_view key) const {
  if (!has(key)) return std::optional<std::string>();
  Result<std::string> value = required_string(key);
  if (!value) return value.status();
  return std::optional<std::string>(std::move(*value));
}

Result<std::optional<bool>> SwitchCommandArgs::optional_bool(std::string_view key) const {
  const nlohmann::json* value = find(key);
  if (!value) return std::optional<bool>();
  if (!value->is_boolean())
    return invalid_argument("argument \"" + std::string(key) + "\" must be true or false");
  return std::optional<bool>(value->get<bool>());
}

Result<std::optional<uint64_t>> SwitchCommandArgs::optional_unsigned(std::string_view key,
                                                                     uint64_t max) const {
  const nlohmann::json* value = find(key);
  if (!value) return std::optional<uint64_t>();
  // A JSON integer parses as unsigned when non-negative, but one built in
  // C++ from an int is signed: accept both, refuse negatives and floats.
  bool in_range = value->is_number_unsigned() || (value->is_number_integer() && value->get<int64_t>() >= 0);
  if (!in_range || value->get<uint64_t>() > max)
    return invalid_argument("argument \"" + std::string(key) + "\" must be an integer from 0 to " +
                            std::to_string(max));
  return std::optional<uint64_t>(value->get<uint64_t>());
}

Result<std::vector<std::string>> SwitchCommandArgs::required_string_array(std::string_view key) const {
  const nlohmann::json* value = find(key);
  if (!value) return invalid_argument("missing argument \"" + std::string(key) + "\"");
  if (!value->is_array())
    return invalid_argument("argument \"" + std::string(key) + "\" must be an array of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < value->size(); ++i) {
    if (!(*value)[i].is_string())
      return invalid_argument("argument \"" + std::string(key) + "\"[" + std::to_string(i) +
                              "] must be a string");
    out.push_back((*value)[i].get<std::string>());
  }
  return out;
}

}  // namespace flowlift
