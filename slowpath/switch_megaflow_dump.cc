// dump-megaflows: the datapath's flows as `ovs-appctl dpctl/dump-flows -m`
// prints them, with the bridge and rules each came from (what the upcall
// layer knows) and where the flow lives.
//
// Where a flow lives is stated, never implied: each flow has a placement
// (Megaflow::location: in_hw only on the kernel's word, tc_sw, datapath,
// unknown) and, when it is not in hardware, the reason (a capability
// profile's rule, the kernel's extack text, or why no TC provider runs).
// Counters are split by where they were counted: hardware, TC software, and
// the datapath.
//
// Filters, as dpctl's: type=offloaded (in hardware) | non-offloaded |
// tc (held by TC, in hardware or not) | datapath (alias ovs) | dpdk |
// all, bridge=NAME, and a match in ovs-dpctl syntax selecting flows whose key
// agrees with it wherever the filter's mask has bits. Terms are separated by
// white space.
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

enum class MegaflowTypeFilter : uint8_t { kAll, kOffloaded, kNonOffloaded, kTc, kDatapath, kRteFlow };

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
      // dpctl's types; "ovs" is its name for the software datapath.
      if (type == "all") {
        filter.type = MegaflowTypeFilter::kAll;
      } else if (type == "offloaded") {
        filter.type = MegaflowTypeFilter::kOffloaded;
      } else if (type == "non-offloaded") {
        filter.type = MegaflowTypeFilter::kNonOffloaded;
      } else if (type == "tc") {
        filter.type = MegaflowTypeFilter::kTc;
      } else if (type == "datapath" || type == "ovs") {
        filter.type = MegaflowTypeFilter::kDatapath;
      } else if (type == "dpdk") {
        filter.type = MegaflowTypeFilter::kRteFlow;
      } else {
        return invalid_argument("filter type=" + std::string(type) +
                                ": unknown type (offloaded, non-offloaded, tc, datapath, ovs, dpdk or all)");
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

bool filter_selects(MegaflowTypeFilter type, const MegaflowLocation& location) {
  const bool in_tc = location.provider == "tc";
  switch (type) {
    case MegaflowTypeFilter::kAll:
      return true;
    case MegaflowTypeFilter::kOffloaded:
      return location.placement == MegaflowPlacement::kInHardware;
    case MegaflowTypeFilter::kNonOffloaded:
      return location.placement != MegaflowPlacement::kInHardware;
    case MegaflowTypeFilter::kTc:
      return in_tc;
    case MegaflowTypeFilter::kDatapath:
      return location.placement == MegaflowPlacement::kDatapath;
    case MegaflowTypeFilter::kRteFlow:
      return location.provider == "rte_flow";
  }
  return true;
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

// Where the flow lives, as the dpctl line's extra fields: OVS's "dp:" and
// "offloaded:" and flowlift's placement with its reason.
std::string where_text(const Megaflow& flow, const std::string& datapath, const std::string& reason) {
  const MegaflowLocation& location = flow.location;
  std::string text = ", dp:" + (location.provider.empty() ? datapath : location.provider);
  text += location.placement == MegaflowPlacement::kInHardware ? ", offloaded:yes"
          : location.placement == MegaflowPlacement::kUnknown  ? ", offloaded:unknown"
                                                               : ", offloaded:no";
  text += std::string(", placement:") + megaflow_placement_name(location.placement);
  if (!reason.empty()) text += " (" + reason + ")";
  return text;
}

nlohmann::json stats_json(const FlowStats& stats) {
  return {{"packets", stats.packets}, {"bytes", stats.bytes}};
}

// One row of the --table form: its cells, and the count it is sorted by.
struct MegaflowTableRow {
  uint64_t packet_count = 0;
  std::string ufid, bridge, packets, bytes, used, where, match, actions, reason;
};

// The --table form: one aligned row per megaflow, busiest first, a legend
// saying what each placement means, and why flows are not offloaded when no
// TC provider runs. Matches and actions are the ovs-dpctl text, unshortened:
// they are what a user compares with other tools. The reason comes last:
// it is the longest cell and the one read only for flows not in hardware.
std::string format_megaflow_table(std::vector<MegaflowTableRow> rows, const std::string& datapath,
                                  const std::string& tc_unavailable) {
  std::stable_sort(rows.begin(), rows.end(), [](const MegaflowTableRow& a, const MegaflowTableRow& b) {
    return a.packet_count > b.packet_count;
  });
  MegaflowTableRow header{0,      "UFID",  "BRIDGE", "PACKETS", "BYTES",
                          "USED", "WHERE", "MATCH",  "ACTIONS", "WHY"};
  std::array<size_t, 8> width{};
  auto widen = [&](const MegaflowTableRow& r) {
    const std::string* cells[] = {&r.ufid, &r.bridge, &r.packets, &r.bytes,
                                  &r.used, &r.where,  &r.match,   &r.actions};
    for (size_t i = 0; i < width.size(); ++i) width[i] = std::max(width[i], cells[i]->size());
  };
  widen(header);
  for (const MegaflowTableRow& r : rows) widen(r);
  auto line = [&](const MegaflowTableRow& r) {
    auto left = [](const std::string& cell, size_t w) { return cell + std::string(w - cell.size(), ' '); };
    auto right = [](const std::string& cell, size_t w) { return std::string(w - cell.size(), ' ') + cell; };
    std::string text = left(r.ufid, width[0]) + "  " + left(r.bridge, width[1]) + "  " +
                       right(r.packets, width[2]) + "  " + right(r.bytes, width[3]) + "  " +
                       right(r.used, width[4]) + "  " + left(r.where, width[5]) + "  " +
                       left(r.match, width[6]) + "  ";
    text += r.reason.empty() ? r.actions : left(r.actions, width[7]) + "  " + r.reason;
    return text + "\n";
  };
  std::string text = line(header);
  for (const MegaflowTableRow& r : rows) text += line(r);
  text +=
      std::to_string(rows.size()) + (rows.size() == 1 ? " megaflow" : " megaflows") +
      ". WHERE: in_hw = in the NIC (the kernel said IN_HW); tc_sw = in TC's software path; datapath = the " +
      datapath + " datapath's software table; unknown = in TC, the kernel gave no flags.\n";
  if (!tc_unavailable.empty()) text += "Not offloaded: tc: " + tc_unavailable + ".\n";
  text += std::string("rte_flow: ") + kSwitchRteFlowUnavailable + ".\n";
  return text;
}

}  // namespace

FlowStats megaflow_datapath_share(const Megaflow& flow) {
  if (flow.location.placement == MegaflowPlacement::kDatapath) return flow.stats;
  auto share = [](uint64_t total, uint64_t part) { return total > part ? total - part : 0; };
  FlowStats datapath;
  datapath.packets =
      share(flow.stats.packets, flow.location.hardware.packets + flow.location.tc_software.packets);
  datapath.bytes = share(flow.stats.bytes, flow.location.hardware.bytes + flow.location.tc_software.bytes);
  return datapath;
}

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
  const std::string& tc_unavailable = state.tc_unavailable;
  uint64_t now = monotonic_ms();
  SwitchReply reply;
  reply.result["megaflows"] = nlohmann::json::array();
  const bool as_table = table->value_or(false);
  std::vector<MegaflowTableRow> rows;
  for (const Megaflow& flow : state.dpif.flow_dump()) {
    if (!filter_selects(filter->type, flow.location)) continue;
    auto known = info.find(flow.ufid.bytes);
    std::string bridge = known != info.end() ? known->second.bridge : "";
    if (filter->bridge && bridge != *filter->bridge) continue;
    if (filter->match && !filter->match->matches(flow.match.key)) continue;

    // A datapath flow no provider was asked about is there because no TC
    // provider runs: say so rather than leave the reason empty.
    std::string reason = flow.location.reason;
    if (reason.empty() && flow.location.placement == MegaflowPlacement::kDatapath && !tc_unavailable.empty())
      reason = "tc: unavailable: " + tc_unavailable;
    std::string ufid = format_ufid(flow.ufid).substr(5);
    std::string match = format_megaflow_match(flow);
    std::string actions = format_actions(flow.actions);
    if (as_table) {
      rows.push_back({flow.stats.packets, ufid.substr(0, 8), bridge.empty() ? "-" : bridge,
                      std::to_string(flow.stats.packets), std::to_string(flow.stats.bytes),
                      used_text(flow.stats, now), megaflow_placement_name(flow.location.placement), match,
                      actions, flow.location.placement == MegaflowPlacement::kInHardware ? "" : reason});
    } else {
      std::string line = format_dumped_flow(flow, now);
      size_t actions_at = line.find(", actions:");
      if (actions_at != std::string::npos) line.insert(actions_at, where_text(flow, datapath, reason));
      reply.text += line + "\n";
    }

    nlohmann::json rules = nlohmann::json::array();
    if (known != info.end())
      for (const std::string& rule : known->second.rules) rules.push_back(rule);
    nlohmann::json where = {{"datapath", datapath},
                            {"placement", megaflow_placement_name(flow.location.placement)},
                            {"offloaded", flow.location.placement == MegaflowPlacement::kInHardware},
                            {"provider", flow.location.provider},
                            {"reason", reason},
                            {"rte_flow", std::string("unavailable: ") + kSwitchRteFlowUnavailable}};
    if (!tc_unavailable.empty()) where["tc"] = "unavailable: " + tc_unavailable;
    reply.result["megaflows"].push_back({{"ufid", std::move(ufid)},
                                         {"match", std::move(match)},
                                         {"actions", std::move(actions)},
                                         {"packets", flow.stats.packets},
                                         {"bytes", flow.stats.bytes},
                                         {"used", used_json(flow.stats, now)},
                                         {"bridge", bridge},
                                         {"rules", rules},
                                         {"where", std::move(where)},
                                         {"counters",
                                          {{"hardware", stats_json(flow.location.hardware)},
                                           {"tc_software", stats_json(flow.location.tc_software)},
                                           {"datapath", stats_json(megaflow_datapath_share(flow))}}}});
  }
  if (as_table) reply.text = format_megaflow_table(std::move(rows), datapath, tc_unavailable);
  return reply;
}

}  // namespace flowlift
