// OpenFlow rules through the control socket: add-flow, add-flows (with
// --bundle), mod-flows, del-flows, dump-flows, and trace.
//
// Flow-mods are parsed before the bridge's exclusive lock is taken (parsing
// needs only the port names), and each applied change bumps the bridge's
// change sequence so the revalidator re-translates the megaflows built from
// the old rules. Rule times use the Udpif's clock (rule_clock_ms), the one
// the revalidator credits and expires with. The OpenFlow version follows ovs-ofctl: 1.0 with
// NXM by default, 1.4 for --bundle (which OpenFlow 1.0 cannot carry).
#include <algorithm>

#include "slowpath/of_actions.h"
#include "slowpath/of_flow_dump.h"
#include "slowpath/of_flow_syntax.h"
#include "slowpath/of_trace_flow.h"
#include "slowpath/switch_commands.h"
#include "slowpath/xlate_trace.h"

namespace flowlift {

namespace {

Result<std::shared_ptr<OfBridge>> find_bridge(SwitchCoreState& state, const SwitchCommandArgs& args) {
  Result<std::string> name = args.required_string("bridge");
  if (!name) return name.status();
  std::shared_ptr<OfBridge> bridge = state.bridges.find(*name);
  if (!bridge) return Status(ENOENT, "bridge " + *name + " does not exist");
  return bridge;
}

PortNames port_names_of(const OfBridge& bridge) {
  std::shared_lock lock(bridge.mutex());
  return bridge.ports().port_names();
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

// ovs-ofctl's "--strict" only means something for mod-flows and del-flows.
Result<OfFlowModCommand> command_for(const SwitchCommandArgs& args, OfFlowModCommand loose,
                                     OfFlowModCommand strict) {
  Result<std::optional<bool>> is_strict = args.optional_bool("strict");
  if (!is_strict) return is_strict.status();
  return is_strict->value_or(false) ? strict : loose;
}

// OVS's ofproto_rule_has_out_port(), for dump-flows' out_port filter.
bool rule_outputs_to(const OfActionList& actions, uint32_t port) {
  if (port == kOfPortNone) return true;
  for (const OfAction& action : actions) {
    if (action.is<OfOutputAction>() && action.as<OfOutputAction>().port == port) return true;
    if (action.is<OfControllerAction>() && port == kOfPortController) return true;
  }
  return false;
}

// One dump-flows line. Without statistics, format_of_flow_stats prints the
// rule's flags and importance, but the OpenFlow 1.0 (NXM) flow stats reply
// ovs-ofctl reads carries neither, so `ovs-ofctl --no-stats dump-flows`
// never shows them (an OpenFlow 1.0 add's implicit reset_counts included).
std::string dump_line(const OfTableRule& rule, uint64_t now_ms, const OfFlowDumpOptions& options) {
  if (options.show_stats) return format_of_flow_stats(rule, now_ms, options);
  OfRule shown = rule.rule();
  shown.flags = 0;
  shown.importance = 0;
  return format_of_rule(shown, options.ports);
}

}  // namespace

Result<size_t> switch_apply_flow_mods(OfBridge& bridge, const std::vector<OfFlowMod>& mods, bool bundle,
                                      uint64_t now_ms) {
  std::unique_lock lock(bridge.mutex());
  if (bundle) {
    Result<OfTablesChange> change = bridge.tables().apply_bundle(mods, now_ms);
    if (!change) return change.status();
    bridge.note_change();
    return mods.size();
  }
  size_t applied = 0;
  for (const OfFlowMod& mod : mods) {
    Result<OfTablesChange> change = bridge.tables().apply(mod, now_ms);
    if (!change) {
      if (applied > 0) bridge.note_change();
      std::string where = mod.line > 0 ? "line " + std::to_string(mod.line) + ": " : "";
      std::string kept = applied > 0 ? " (the " + std::to_string(applied) +
                                           " flow-mods before it were applied; use bundle for all or nothing)"
                                     : "";
      return Status(change.status().code(), where + change.status().message() + kept);
    }
    ++applied;
  }
  if (applied > 0) bridge.note_change();
  return applied;
}

namespace {

// One flow-mod whose text is args["flow"] (add-flow, mod-flows): parsed with
// the bridge's port names, as OpenFlow 1.0 (what ovs-ofctl sends by default).
SwitchCommandResult apply_one_flow_mod(SwitchCoreState& state, const SwitchCommandArgs& args, OfBridge& bridge,
                                       OfFlowModCommand command) {
  Result<std::string> text = args.required_string("flow");
  if (!text) return text.status();
  OfFlowModParseOptions options;
  options.command = command;
  options.protocol = OfFlowModProtocol::kOpenFlow10;
  Result<OfFlowMod> mod = parse_of_flow_mod(*text, port_names_of(bridge), options);
  if (!mod) return mod.status();
  Result<size_t> applied = switch_apply_flow_mods(bridge, {*mod}, false, state.rule_clock_ms());
  if (!applied) return applied.status();
  return SwitchReply{};
}

}  // namespace

SwitchCommandResult switch_add_flow(SwitchCoreState& state, const SwitchCommandArgs& args) {
  Result<std::shared_ptr<OfBridge>> bridge = find_bridge(state, args);
  if (!bridge) return bridge.status();
  return apply_one_flow_mod(state, args, **bridge, OfFlowModCommand::kAdd);
}

SwitchCommandResult switch_add_flows(SwitchCoreState& state, const SwitchCommandArgs& args) {
  Result<std::shared_ptr<OfBridge>> bridge = find_bridge(state, args);
  if (!bridge) return bridge.status();
  Result<std::vector<std::string>> lines = args.required_string_array("flows");
  if (!lines) return lines.status();
  Result<std::optional<std::string>> file = args.optional_string("file");
  if (!file) return file.status();
  Result<std::optional<bool>> bundle = args.optional_bool("bundle");
  if (!bundle) return bundle.status();
  bool atomic = bundle->value_or(false);
  std::string context = file->has_value() ? **file : std::string();

  OfFlowModParseOptions options;
  options.protocol = atomic ? OfFlowModProtocol::kOpenFlow14 : OfFlowModProtocol::kOpenFlow10;
  Result<std::vector<OfFlowMod>> mods =
      parse_of_flow_mod_file(join_lines(*lines), port_names_of(**bridge), options);
  if (!mods) return context.empty() ? mods.status() : mods.status().with_context(context);
  Result<size_t> applied = switch_apply_flow_mods(**bridge, *mods, atomic, state.rule_clock_ms());
  if (!applied) return context.empty() ? applied.status() : applied.status().with_context(context);
  SwitchReply reply;
  reply.result = {{"flow_mods", *applied}};
  return reply;
}

SwitchCommandResult switch_mod_flows(SwitchCoreState& state, const SwitchCommandArgs& args) {
  Result<std::shared_ptr<OfBridge>> bridge = find_bridge(state, args);
  if (!bridge) return bridge.status();
  Result<OfFlowModCommand> command =
      command_for(args, OfFlowModCommand::kModify, OfFlowModCommand::kModifyStrict);
  if (!command) return command.status();
  return apply_one_flow_mod(state, args, **bridge, *command);
}

SwitchCommandResult switch_del_flows(SwitchCoreState& state, const SwitchCommandArgs& args) {
  Result<std::shared_ptr<OfBridge>> bridge = find_bridge(state, args);
  if (!bridge) return bridge.status();
  Result<std::optional<std::string>> text = args.optional_string("flow");
  if (!text) return text.status();
  Result<OfFlowModCommand> command =
      command_for(args, OfFlowModCommand::kDelete, OfFlowModCommand::kDeleteStrict);
  if (!command) return command.status();
  OfFlowModParseOptions options;
  options.command = *command;
  options.protocol = OfFlowModProtocol::kOpenFlow10;
  Result<OfFlowMod> mod = parse_of_flow_mod(text->value_or(""), port_names_of(**bridge), options);
  if (!mod) return mod.status();
  size_t removed = 0;
  {
    std::unique_lock lock((*bridge)->mutex());
    Result<OfTablesChange> change = (*bridge)->tables().apply(*mod, state.rule_clock_ms());
    if (!change) return change.status();
    removed = change->removed.size();
    (*bridge)->note_change();
  }
  SwitchReply reply;
  reply.result = {{"removed", removed}};
  return reply;
}

SwitchCommandResult switch_dump_flows(SwitchCoreState& state, const SwitchCommandArgs& args) {
  Result<std::shared_ptr<OfBridge>> bridge = find_bridge(state, args);
  if (!bridge) return bridge.status();
  Result<std::optional<std::string>> filter_text = args.optional_string("flow");
  if (!filter_text) return filter_text.status();
  Result<std::optional<bool>> stats = args.optional_bool("stats");
  if (!stats) return stats.status();

  // ovs-ofctl dump-flows' filter is a loose selection, as del-flows reads it.
  OfFlowModParseOptions options;
  options.command = OfFlowModCommand::kDelete;
  options.protocol = OfFlowModProtocol::kOpenFlow10;
  Result<OfFlowMod> filter = parse_of_flow_mod(filter_text->value_or(""), port_names_of(**bridge), options);
  if (!filter) return filter.status().with_context("filter");

  OfFlowDumpOptions dump;
  dump.show_stats = stats->value_or(true);
  uint64_t now = state.rule_clock_ms();
  SwitchReply reply;
  reply.result["flows"] = nlohmann::json::array();
  std::shared_lock lock((*bridge)->mutex());
  const OfTables& tables = (*bridge)->tables();
  OfVersion version = tables.current_version();
  int first = filter->rule.table == kOfTableAll ? 0 : filter->rule.table;
  int last = filter->rule.table == kOfTableAll ? OfTables::kTableCount - 1 : filter->rule.table;
  for (int t = first; t <= last; ++t) {
    std::vector<const OfTableRule*> rules;
    tables.table(static_cast<uint8_t>(t))
        .classifier()
        .for_each_within(filter->rule.match, version, [&](const ClsRule& found) {
          const auto& rule = static_cast<const OfTableRule&>(found);
          if (((rule.rule().cookie ^ filter->rule.cookie) & filter->rule.cookie_mask) != 0) return;
          if (!rule_outputs_to(rule.actions(), filter->out_port)) return;
          rules.push_back(&rule);
        });
    // --rsort's order, as dump_of_flows prints: priority down, then oldest first.
    std::sort(rules.begin(), rules.end(), [](const OfTableRule* a, const OfTableRule* b) {
      if (a->rule().priority != b->rule().priority) return a->rule().priority > b->rule().priority;
      return a->sequence() < b->sequence();
    });
    for (const OfTableRule* rule : rules) {
      std::string line = dump_line(*rule, now, dump);
      reply.text += " " + line + "\n";
      const OfRule& of_rule = rule->rule();
      nlohmann::json flow = {{"table", of_rule.table},
                             {"priority", of_rule.priority},
                             {"cookie", of_rule.cookie},
                             {"match", format_of_match(of_rule.match)},
                             {"actions", format_of_actions(of_rule.actions, nullptr)},
                             {"idle_timeout", of_rule.idle_timeout},
                             {"hard_timeout", of_rule.hard_timeout},
                             {"text", line}};
      if (dump.show_stats) {
        flow["n_packets"] = rule->packets();
        flow["n_bytes"] = rule->bytes();
        flow["duration_ms"] = now > rule->created_ms() ? now - rule->created_ms() : 0;
        flow["idle_ms"] = now > rule->used_ms() ? now - rule->used_ms() : 0;
      }
      reply.result["flows"].push_back(std::move(flow));
    }
  }
  return reply;
}

SwitchCommandResult switch_trace(SwitchCoreState& state, const SwitchCommandArgs& args) {
  Result<std::shared_ptr<OfBridge>> bridge = find_bridge(state, args);
  if (!bridge) return bridge.status();
  Result<std::string> text = args.required_string("flow");
  if (!text) return text.status();
  std::shared_lock lock((*bridge)->mutex());
  Result<OfFlow> flow = parse_trace_flow(*text, (*bridge)->ports().port_names());
  if (!flow) return flow.status();
  XlateOptions options;
  options.record_trace = true;
  options.controller_dont_send = true;
  XlateResult result = translate((*bridge)->ports(), (*bridge)->tables(), *flow, options);
  SwitchReply reply;
  reply.text = format_trace(*flow, result);
  reply.result = {{"flow", format_trace_flow(*flow)},
                  {"megaflow", format_megaflow(result.megaflow)},
                  {"datapath_actions", format_datapath_actions(result.actions)}};
  if (result.error != XlateError::kNone)
    reply.result["error"] =
        result.error_message.empty() ? xlate_error_text(result.error) : result.error_message;
  return reply;
}

}  // namespace flowlift
