// dump-megaflows: the datapath's flows as `ovs-appctl dpctl/dump-flows -m`
// prints them, with the bridge and rules each came from (what the upcall
// layer knows) and where the flow lives.
//
// Where a flow lives is stated, never implied: every flow is in the
// datapath's software masked table, and for each offload target the line
// says why the flow is not there. Those reasons are constants of this build
// (kSwitchTcUnavailable, kSwitchRteFlowUnavailable): there is no offload
// provider yet, so "type=offloaded" and "type=tc" select nothing, truthfully.
//
// Filters, as dpctl's: type=offloaded|non-offloaded|ovs|tc|all, bridge=NAME,
// and a match in ovs-dpctl syntax selecting flows whose key agrees with it
// wherever the filter's mask has bits. Terms are separated by white space.
#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <optional>
#include <vector>

#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_flow.h"
#include "kmod/odp_text_key.h"
#include "slowpath/switch_commands.h"

namespace flowlift {

namespace {

enum class MegaflowTypeFilter : uint8_t { kAll, kOffloaded, kNonOffloaded };

struct MegaflowFilter {
  MegaflowTypeFilter type = MegaflowTypeFilter::kAll;
  std::optional<std::string> bridge;
  std::optional<Match> match;
};

Result<MegaflowFilter> parse_megaflow_filter(std::string_view text) {
  MegaflowFilter filter;
  std::string match_text;
  size_t at = 0;
  while (at < text.size()) {
    size_t start = text.find_first_not_of(" \t", at);
    if (start == std::string_view::npos) break;
    size_t end = text.find_first_of(" \t", start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view term = text.substr(start, end - start);
    at = end;
    if (term.starts_with("type=")) {
      std::string_view type = term.substr(5);
      // dpctl's types: "ovs" is the software datapath; "tc" and "dpdk" are
      // offload targets, of which this build has none.
      if (type == "all") {
        filter.type = MegaflowTypeFilter::kAll;
      } else if (type == "offloaded" || type == "tc" || type == "dpdk") {
        filter.type = MegaflowTypeFilter::kOffloaded;
      } else if (type == "non-offloaded" || type == "ovs") {
        filter.type = MegaflowTypeFilter::kNonOffloaded;
      } else {
        return invalid_argument("filter type=" + std::string(type) +
                                ": unknown type (offloaded, non-offloaded, ovs, tc, dpdk or all)");
      }
    } else if (term.starts_with("bridge=")) {
      filter.bridge = std::string(term.substr(7));
    } else {
      match_text += (match_text.empty() ? "" : " ") + std::string(term);
    }
  }
  if (!match_text.empty()) {
    Result<Match> match = parse_match(match_text);
    if (!match) return match.status().with_context("filter");
    filter.match = *match;
  }
  return filter;
}

std::string megaflow_datapath_name(std::string_view dpif_type) {
  // OVS calls its kernel datapath's flows "ovs"; the userspace one keeps its name.
  return dpif_type == "userspace" ? "userspace" : "ovs";
}

// Milliseconds since the flow's last packet; nullopt when it never had one.
std::optional<uint64_t> ms_since_used(const FlowStats& stats, uint64_t now_ms) {
  if (stats.used_ms == 0) return std::nullopt;
  return now_ms > stats.used_ms ? now_ms - stats.used_ms : 0;
}

nlohmann::json used_json(const FlowStats& stats, uint64_t now_ms) {
  std::optional<uint64_t> ago = ms_since_used(stats, now_ms);
  if (!ago) return "never";
  return static_cast<double>(*ago) / 1000.0;
}

std::string used_text(const FlowStats& stats, uint64_t now_ms) {
  std::optional<uint64_t> ago = ms_since_used(stats, now_ms);
  if (!ago) return "never";
  char text[32];
  std::snprintf(text, sizeof text, "%.1fs", static_cast<double>(*ago) / 1000.0);
  return text;
}

// One row of the --table form: its cells, and the count it is sorted by.
struct MegaflowTableRow {
  uint64_t packet_count = 0;
  std::string ufid, bridge, packets, bytes, used, where, match, actions;
};

// The --table form: one aligned row per megaflow, busiest first, and a
// legend saying what "sw" means and why no flow is anywhere else. Matches
// and actions are the ovs-dpctl text, unshortened: they are what a user
// compares with other tools.
std::string format_megaflow_table(std::vector<MegaflowTableRow> rows, const std::string& datapath) {
  std::stable_sort(rows.begin(), rows.end(), [](const MegaflowTableRow& a, const MegaflowTableRow& b) {
    return a.packet_count > b.packet_count;
  });
  MegaflowTableRow header{0, "UFID", "BRIDGE", "PACKETS", "BYTES", "USED", "WHERE", "MATCH", "ACTIONS"};
  std::array<size_t, 7> width{};
  auto widen = [&](const MegaflowTableRow& r) {
    const std::string* cells[] = {&r.ufid, &r.bridge, &r.packets, &r.bytes, &r.used, &r.where, &r.match};
    for (size_t i = 0; i < width.size(); ++i) width[i] = std::max(width[i], cells[i]->size());
  };
  widen(header);
  for (const MegaflowTableRow& r : rows) widen(r);
  auto line = [&](const MegaflowTableRow& r) {
    auto left = [](const std::string& cell, size_t w) { return cell + std::string(w - cell.size(), ' '); };
    auto right = [](const std::string& cell, size_t w) { return std::string(w - cell.size(), ' ') + cell; };
    return left(r.ufid, width[0]) + "  " + left(r.bridge, width[1]) + "  " + right(r.packets, width[2]) +
           "  " + right(r.bytes, width[3]) + "  " + right(r.used, width[4]) + "  " + left(r.where, width[5]) +
           "  " + left(r.match, width[6]) + "  " + r.actions + "\n";
  };
  std::string text = line(header);
  for (const MegaflowTableRow& r : rows) text += line(r);
  text += std::to_string(rows.size()) + (rows.size() == 1 ? " megaflow" : " megaflows") +
          ". WHERE sw: the software masked table of the " + datapath +
          " datapath.\nNot offloaded: tc: " + kSwitchTcUnavailable +
          "; rte_flow: " + kSwitchRteFlowUnavailable + ".\n";
  return text;
}

}  // namespace

SwitchCommandResult switch_dump_megaflows(SwitchCoreState& state, const SwitchCommandArgs& args) {
  Result<std::optional<std::string>> filter_text = args.optional_string("filter");
  if (!filter_text) return filter_text.status();
  Result<std::optional<bool>> table = args.optional_bool("table");
  if (!table) return table.status();
  Result<MegaflowFilter> filter = parse_megaflow_filter(filter_text->value_or(""));
  if (!filter) return filter.status();
  if (filter->bridge && !state.bridges.find(*filter->bridge))
    return Status(ENOENT, "filter bridge=" + *filter->bridge + ": bridge does not exist");

  std::map<std::array<uint8_t, 16>, UdpifFlowInfo> info;
  for (UdpifFlowInfo& flow : state.udpif.flow_info()) info.emplace(flow.ufid.bytes, std::move(flow));

  const std::string datapath = megaflow_datapath_name(state.dpif.type());
  const std::string where_text = ", dp:" + datapath +
                                 ", offloaded:no (tc: unavailable: " + kSwitchTcUnavailable +
                                 "; rte_flow: unavailable: " + kSwitchRteFlowUnavailable + ")";
  uint64_t now = monotonic_ms();
  SwitchReply reply;
  reply.result["megaflows"] = nlohmann::json::array();
  const bool as_table = table->value_or(false);
  std::vector<MegaflowTableRow> rows;
  for (const Megaflow& flow : state.dpif.flow_dump()) {
    // Nothing is offloaded in this build.
    if (filter->type == MegaflowTypeFilter::kOffloaded) continue;
    auto known = info.find(flow.ufid.bytes);
    std::string bridge = known != info.end() ? known->second.bridge : "";
    if (filter->bridge && bridge != *filter->bridge) continue;
    if (filter->match && !filter->match->matches(flow.match.key)) continue;

    std::string ufid = format_ufid(flow.ufid).substr(5);
    std::string match = format_megaflow_match(flow);
    std::string actions = format_actions(flow.actions);
    if (as_table) {
      rows.push_back({flow.stats.packets, ufid.substr(0, 8), bridge.empty() ? "-" : bridge,
                      std::to_string(flow.stats.packets), std::to_string(flow.stats.bytes),
                      used_text(flow.stats, now), "sw", match, actions});
    } else {
      std::string line = format_dumped_flow(flow, now);
      size_t actions_at = line.find(", actions:");
      if (actions_at != std::string::npos) line.insert(actions_at, where_text);
      reply.text += line + "\n";
    }

    nlohmann::json rules = nlohmann::json::array();
    if (known != info.end())
      for (const std::string& rule : known->second.rules) rules.push_back(rule);
    reply.result["megaflows"].push_back(
        {{"ufid", std::move(ufid)},
         {"match", std::move(match)},
         {"actions", std::move(actions)},
         {"packets", flow.stats.packets},
         {"bytes", flow.stats.bytes},
         {"used", used_json(flow.stats, now)},
         {"bridge", bridge},
         {"rules", rules},
         {"where",
          {{"datapath", datapath},
           {"location", "sw"},
           {"offloaded", false},
           {"tc", std::string("unavailable: ") + kSwitchTcUnavailable},
           {"rte_flow", std::string("unavailable: ") + kSwitchRteFlowUnavailable}}}});
  }
  if (as_table) reply.text = format_megaflow_table(std::move(rows), datapath);
  return reply;
}

}  // namespace flowlift
