// SwitchCore's lifecycle and the command dispatch: one table from command
// name to the args it takes and the handler that answers it, so that every
// command refuses unknown args the same way and every error reads
// "<command>: <what was wrong>".
#include "slowpath/switch_core.h"

#include <array>
#include <vector>

#include "slowpath/switch_commands.h"
#include "slowpath/switch_config.h"
#include "slowpath/switch_core_state.h"

namespace flowlift {

struct SwitchCore::State : SwitchCoreState {
  using SwitchCoreState::SwitchCoreState;
};

namespace {

struct SwitchCommandEntry {
  std::string_view name;
  std::vector<std::string_view> args;
  SwitchCommandResult (*handler)(SwitchCoreState&, const SwitchCommandArgs&);
};

const std::array<SwitchCommandEntry, 17>& switch_command_table() {
  static const std::array<SwitchCommandEntry, 17> kCommands = {{
      {"show", {"bridge"}, switch_show},
      {"add-bridge", {"bridge"}, switch_add_bridge_command},
      {"del-bridge", {"bridge"}, switch_del_bridge_command},
      {"add-port", {"bridge", "port", "type", "ofport", "options"}, switch_add_port_command},
      {"del-port", {"bridge", "port"}, switch_del_port_command},
      {"set", {"flow_limit", "max_idle"}, switch_set},
      {"add-flow", {"bridge", "flow"}, switch_add_flow},
      {"add-flows", {"bridge", "flows", "file", "bundle"}, switch_add_flows},
      {"mod-flows", {"bridge", "flow", "strict"}, switch_mod_flows},
      {"del-flows", {"bridge", "flow", "strict"}, switch_del_flows},
      {"dump-flows", {"bridge", "flow", "stats"}, switch_dump_flows},
      {"dump-megaflows", {"filter", "table"}, switch_dump_megaflows},
      {"trace", {"bridge", "flow"}, switch_trace},
      {"inject", {"port", "packet", "count"}, switch_inject},
      {"capture", {"port", "max"}, switch_capture},
      {"counters", {"text", "compare"}, switch_counters},
      {"revalidate", {"purge"}, switch_revalidate},
  }};
  return kCommands;
}

nlohmann::json error_response(const nlohmann::json& request, const std::string& message) {
  nlohmann::json response = nlohmann::json::object();
  if (request.is_object() && request.contains("id")) response["id"] = request["id"];
  response["ok"] = false;
  response["error"] = message;
  return response;
}

}  // namespace

SwitchCore::SwitchCore(Dpif& dpif, SwitchCoreOptions options)
    : state_(std::make_unique<State>(dpif, options.udpif)) {
  state_->tc_unavailable = options.tc_unavailable;
  if (options.start_threads) {
    state_->udpif.start();
    state_->threads_started = true;
  }
}

SwitchCore::~SwitchCore() {
  if (state_->threads_started) state_->udpif.stop();
}

Status SwitchCore::apply_config(const nlohmann::json& config) {
  std::lock_guard lock(state_->control_mutex);
  return apply_switch_config(*state_, config);
}

nlohmann::json SwitchCore::handle(const nlohmann::json& request) {
  if (!request.is_object()) return error_response(request, "request must be a JSON object");
  auto command = request.find("command");
  if (command == request.end() || !command->is_string())
    return error_response(request, "request needs a \"command\" string");
  for (const auto& [key, value] : request.items())
    if (key != "id" && key != "command" && key != "args")
      return error_response(request, command->get<std::string>() + ": unknown request key \"" + key +
                                         "\" (a request has id, command and args)");
  const std::string name = command->get<std::string>();
  const SwitchCommandEntry* entry = nullptr;
  for (const SwitchCommandEntry& candidate : switch_command_table())
    if (candidate.name == name) entry = &candidate;
  if (!entry) return error_response(request, name + ": unknown command");

  static const nlohmann::json kNoArgs = nullptr;
  auto args_json = request.find("args");
  Result<SwitchCommandArgs> args =
      SwitchCommandArgs::from_json(args_json == request.end() ? kNoArgs : *args_json, entry->args);
  if (!args) return error_response(request, name + ": " + args.status().message());

  SwitchCommandResult reply = invalid_argument("not run");
  {
    std::lock_guard lock(state_->control_mutex);
    // Handlers return errors as values; this only keeps a library
    // exception (nlohmann's, on a malformed value) from escaping handle().
    try {
      reply = entry->handler(*state_, *args);
    } catch (const nlohmann::json::exception& error) {
      reply = invalid_argument(error.what());
    }
  }
  if (!reply) return error_response(request, name + ": " + reply.status().message());
  nlohmann::json response = nlohmann::json::object();
  if (request.contains("id")) response["id"] = request["id"];
  response["ok"] = true;
  response["result"] = std::move(reply->result);
  response["text"] = std::move(reply->text);
  return response;
}

Udpif& SwitchCore::udpif() { return state_->udpif; }

}  // namespace flowlift
