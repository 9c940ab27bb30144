// Flow-mod text as ovs-ofctl reads it (OVS's parse_ofp_str__() with command
// -2, parse_ofp_flow_mod_file() and parse_ofp_bundle_file()), resolved into
// what ofproto receives for the chosen OpenFlow version.
//
// The rule/match syntax itself belongs to of_flow_syntax: this file takes
// out the items only a flow-mod has (the command keyword, table, cookie with
// its mask, out_port, and keywords a command does not accept) and hands the
// rest to parse_of_rule() or parse_of_match().
#include "slowpath/of_flow_mod.h"

#include <array>
#include <utility>

#include "kmod/odp_text_fields.h"
#include "slowpath/of_key_value.h"

namespace flowlift {

std::string_view of_flow_mod_command_name(OfFlowModCommand command) {
  switch (command) {
    case OfFlowModCommand::kAdd:
      return "add";
    case OfFlowModCommand::kModify:
      return "modify";
    case OfFlowModCommand::kModifyStrict:
      return "modify_strict";
    case OfFlowModCommand::kDelete:
      return "delete";
    case OfFlowModCommand::kDeleteStrict:
      return "delete_strict";
  }
  return "?";
}

namespace {

constexpr std::string_view kTokenSeparators = ", \t\r\n";

bool is_modify(OfFlowModCommand c) {
  return c == OfFlowModCommand::kModify || c == OfFlowModCommand::kModifyStrict;
}
bool is_delete(OfFlowModCommand c) {
  return c == OfFlowModCommand::kDelete || c == OfFlowModCommand::kDeleteStrict;
}

// The first token of `text` (after white space) and what follows it.
std::pair<std::string_view, std::string_view> first_token(std::string_view text) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return {text.substr(text.size()), text.substr(text.size())};
  text.remove_prefix(start);
  size_t length = text.find_first_of(kTokenSeparators);
  if (length == std::string_view::npos) length = text.size();
  return {text.substr(0, length), text.substr(length)};
}

// OVS compares the first token with strncmp(token, keyword, strlen(token)),
// so any prefix of a keyword names it ("del" is delete), tried in this order.
// A token that is no keyword's prefix is part of the rule, which is an add.
OfFlowModCommand take_command_keyword(std::string_view& text) {
  static constexpr std::array<std::pair<std::string_view, OfFlowModCommand>, 5> kKeywords{{
      {"add", OfFlowModCommand::kAdd},
      {"delete", OfFlowModCommand::kDelete},
      {"delete_strict", OfFlowModCommand::kDeleteStrict},
      {"modify", OfFlowModCommand::kModify},
      {"modify_strict", OfFlowModCommand::kModifyStrict},
  }};
  auto [token, rest] = first_token(text);
  for (const auto& [keyword, command] : kKeywords) {
    if (token.size() <= keyword.size() && keyword.substr(0, token.size()) == token) {
      text = rest;
      return command;
    }
  }
  return OfFlowModCommand::kAdd;
}

Status item_error(const OfKeyValue& kv, const std::string& message) {
  return invalid_argument(std::string(kv.item) + ": " + message);
}

// strtoull(..., 0) as OVS's str_to_u64 uses it, including "-1" for all ones.
Result<uint64_t> parse_cookie_number(std::string_view text) {
  bool negative = !text.empty() && text[0] == '-';
  Result<uint64_t> value = odp_text::parse_number(negative ? text.substr(1) : text, UINT64_MAX);
  if (!value) return invalid_argument("invalid number \"" + std::string(text) + "\"");
  return negative ? uint64_t{0} - *value : *value;
}

// What the flow-mod-only items said.
struct FlowModItems {
  std::optional<uint8_t> table;
  std::optional<uint64_t> cookie;  // "cookie=X": the cookie to set
  uint64_t match_cookie = 0;       // "cookie=X/M": rules to select
  uint64_t match_cookie_mask = 0;
  uint32_t out_port = kOfPortNone;
  std::optional<uint16_t> priority;  // delete_strict only
  std::string rest;                  // the other items, comma separated
};

Status take_flow_mod_item(const OfKeyValue& kv, OfFlowModCommand command, const PortNames& ports,
                          FlowModItems& items, bool* handled) {
  *handled = true;
  // Printed by dump-flows, so that a dump reads back; OVS ignores these two
  // internal keywords from text too.
  static constexpr std::array<std::string_view, 7> kIgnored{
      "duration", "n_packets", "n_bytes", "idle_age", "hard_age", "no_readonly_table", "allow_hidden_fields"};
  for (std::string_view ignored : kIgnored)
    if (kv.key == ignored) return Status::ok();

  if (kv.key == "table") {
    if (kv.value.empty()) return item_error(kv, "missing value");
    Result<uint64_t> table = odp_text::parse_number(kv.value, 255);
    if (!table)
      return item_error(kv, "unknown table \"" + std::string(kv.value) + "\" (tables are 0 to 255)");
    items.table = static_cast<uint8_t>(*table);
    return Status::ok();
  }
  if (kv.key == "cookie") {
    if (kv.value.empty()) return item_error(kv, "missing value");
    size_t slash = kv.value.find('/');
    Result<uint64_t> value = parse_cookie_number(kv.value.substr(0, slash));
    if (!value) return item_error(kv, value.status().message());
    if (slash != std::string_view::npos) {
      if (command == OfFlowModCommand::kAdd) return item_error(kv, "flow additions cannot use a cookie mask");
      Result<uint64_t> mask = parse_cookie_number(kv.value.substr(slash + 1));
      if (!mask) return item_error(kv, mask.status().message());
      items.match_cookie = *value;
      items.match_cookie_mask = *mask;
      return Status::ok();
    }
    if (is_delete(command))
      return item_error(kv, "cannot set cookie (to match on a cookie, specify a mask, e.g. cookie=" +
                                std::string(kv.value) + "/-1)");
    items.cookie = *value;
    return Status::ok();
  }
  if (kv.key == "out_port" && is_delete(command)) {
    Result<uint32_t> port = parse_of_port(kv.value, ports);
    if (!port) return item_error(kv, std::string(kv.value) + " is not a valid OpenFlow port");
    items.out_port = *port;
    return Status::ok();
  }
  if (kv.key == "out_group" && is_delete(command)) return item_error(kv, "groups are not supported");
  if (kv.key == "priority" && command == OfFlowModCommand::kDeleteStrict) {
    if (kv.value.empty()) return item_error(kv, "missing value");
    Result<uint64_t> priority = odp_text::parse_number(kv.value, UINT16_MAX);
    if (!priority) return item_error(kv, "must be between 0 and 65535");
    items.priority = static_cast<uint16_t>(*priority);
    return Status::ok();
  }
  if (kv.key == "importance" && is_modify(command))
    return item_error(kv, "unknown keyword importance (only a flow addition sets a rule's importance)");
  *handled = false;
  return Status::ok();
}

Result<FlowModItems> split_flow_mod_items(std::string_view text, OfFlowModCommand command,
                                          const PortNames& ports) {
  FlowModItems items;
  OfKeyValueReader reader(text);
  OfKeyValue kv;
  while (reader.next(&kv)) {
    bool handled = false;
    Status s = take_flow_mod_item(kv, command, ports, items, &handled);
    if (!s.is_ok()) return s;
    if (handled) continue;
    // A table is kept for parse_of_rule(), which checks goto_table against it.
    if (!items.rest.empty()) items.rest += ',';
    items.rest += kv.item;
  }
  if (!reader.status().is_ok()) return reader.status();
  return items;
}

// OpenFlow 1.0 cannot carry these flags (ovs-ofctl refuses to send them).
Status check_flags_for_openflow10(uint16_t flags) {
  static constexpr std::array<std::pair<uint16_t, std::string_view>, 3> kNeedNewer{{
      {kOfRuleResetCounts, "reset_counts: needs OpenFlow 1.2 or later"},
      {kOfRuleNoPacketCounts, "no_packet_counts: needs OpenFlow 1.3 or later"},
      {kOfRuleNoByteCounts, "no_byte_counts: needs OpenFlow 1.3 or later"},
  }};
  for (const auto& [flag, message] : kNeedNewer)
    if (flags & flag) return invalid_argument(std::string(message) + " (ovs-ofctl -O OpenFlow14)");
  return Status::ok();
}

Result<OfFlowMod> parse_add_or_modify(std::string_view text, OfFlowModCommand command, const PortNames& ports,
                                      OfFlowModProtocol protocol) {
  // The actions are everything after the first "action...=", as in parse_of_rule().
  size_t action_word = text.find("action");
  std::string_view match_text = text.substr(0, action_word);
  std::string_view actions_text = action_word == std::string_view::npos ? "" : text.substr(action_word);

  Result<FlowModItems> items = split_flow_mod_items(match_text, command, ports);
  if (!items) return items.status();
  // Table 255 stands for "any": parse_of_rule() only knows real tables.
  std::string rule_text = items->rest;
  if (items->table && *items->table != kOfTableAll) rule_text += ",table=" + std::to_string(*items->table);
  rule_text += ' ';
  rule_text += actions_text;
  Result<OfRule> rule = parse_of_rule(rule_text, ports);
  if (!rule) return rule.status();

  OfFlowMod mod;
  mod.command = command;
  mod.rule = std::move(*rule);
  mod.rule.cookie = 0;
  mod.rule.cookie_mask = 0;
  bool openflow10 = protocol == OfFlowModProtocol::kOpenFlow10;
  if (openflow10) {
    Status flags = check_flags_for_openflow10(mod.rule.flags);
    if (!flags.is_ok()) return flags;
    mod.rule.importance = 0;  // OpenFlow 1.0 has no importance field
  }
  // OpenFlow 1.1+ refuses table 255 outside deletes, so ovs-ofctl sends 0.
  uint8_t table = items->table.value_or(kOfTableAll);
  mod.rule.table = openflow10 ? table : (table == kOfTableAll ? 0 : table);

  if (command == OfFlowModCommand::kAdd) {
    mod.rule.cookie = items->cookie.value_or(0);
    // OpenFlow 1.0 and 1.1: an add always resets the counters of a rule it replaces.
    if (openflow10) mod.rule.flags |= kOfRuleResetCounts;
    return mod;
  }
  mod.rule.cookie = items->match_cookie & items->match_cookie_mask;
  mod.rule.cookie_mask = items->match_cookie_mask;
  if (openflow10) {
    // NXM carries the new cookie in every modify: 0 unless given (which
    // rewrites cookies) and, without a cookie mask, a rule to add when
    // nothing matches.
    mod.new_cookie = items->cookie.value_or(items->match_cookie_mask ? kOfCookieUnchanged : 0);
  }
  return mod;
}

Result<OfFlowMod> parse_delete(std::string_view text, OfFlowModCommand command, const PortNames& ports) {
  Result<FlowModItems> items = split_flow_mod_items(text, command, ports);
  if (!items) return items.status();
  Result<OfMatch> match = parse_of_match(items->rest, ports);
  if (!match) return match.status();
  OfFlowMod mod;
  mod.command = command;
  mod.rule.match = std::move(*match);
  mod.rule.table = items->table.value_or(kOfTableAll);
  mod.rule.priority = items->priority.value_or(kOfDefaultPriority);
  mod.rule.cookie = items->match_cookie & items->match_cookie_mask;
  mod.rule.cookie_mask = items->match_cookie_mask;
  mod.out_port = items->out_port;
  return mod;
}

// "flow [command] ..." of an `ovs-ofctl bundle` file: the rest after "flow".
Result<std::string_view> take_bundle_flow_keyword(std::string_view text) {
  auto [token, rest] = first_token(text);
  // OVS matches the type keyword as a prefix too.
  if (token.size() <= 4 && std::string_view("flow").substr(0, token.size()) == token) return rest;
  if (!token.empty() &&
      (std::string_view("group").starts_with(token) || std::string_view("packet-out").starts_with(token)))
    return invalid_argument(std::string(token) + ": only flow mods are supported in bundles");
  return invalid_argument(std::string(token) + ": a bundle line starts with \"flow\"");
}

}  // namespace

Result<OfFlowMod> parse_of_flow_mod(std::string_view text, const PortNames& ports,
                                    const OfFlowModParseOptions& options) {
  if (options.bundle_file) {
    Result<std::string_view> rest = take_bundle_flow_keyword(text);
    if (!rest) return rest.status();
    text = *rest;
  }
  OfFlowModCommand command = options.command ? *options.command : take_command_keyword(text);
  if (is_delete(command)) return parse_delete(text, command, ports);
  return parse_add_or_modify(text, command, ports, options.protocol);
}

Result<std::vector<OfFlowMod>> parse_of_flow_mod_file(std::string_view text, const PortNames& ports,
                                                      const OfFlowModParseOptions& options) {
  std::vector<OfFlowMod> mods;
  int line_number = 0;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++line_number;
    if (size_t comment = line.find('#'); comment != std::string_view::npos) line = line.substr(0, comment);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    Result<OfFlowMod> mod = parse_of_flow_mod(line, ports, options);
    if (!mod) return mod.status().with_context("line " + std::to_string(line_number));
    mod->line = line_number;
    mods.push_back(std::move(*mod));
  }
  return mods;
}

}  // namespace flowlift
