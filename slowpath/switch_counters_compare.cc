// counters --compare: offloaded versus software counters, side by side.
//
// Per megaflow: what the NIC counted (TCA_STATS_BASIC_HW), what TC's
// software path counted (basic less hardware), and what the datapath
// counted. Per OpenFlow rule: the same three summed over the live megaflows
// that rule contributed to (a rule's own n_packets also holds megaflows long
// expired, which no longer have a place to split by). Totals, then the
// ports' counters: packets TC redirects never reach the datapath's ports, so
// the datapath's port rx equals its lookups (hits and misses), while the
// megaflow totals cover every place.
#include <cinttypes>
#include <cstdio>
#include <map>
#include <string>

#include "kmod/odp_text_flow.h"
#include "slowpath/switch_commands.h"

namespace flowlift {

namespace {

struct PlaceCounters {
  FlowStats hardware, tc_software, datapath;
  size_t megaflows = 0;

  void add(const Megaflow& flow) {
    const FlowStats share = megaflow_datapath_share(flow);
    hardware.packets += flow.location.hardware.packets;
    hardware.bytes += flow.location.hardware.bytes;
    tc_software.packets += flow.location.tc_software.packets;
    tc_software.bytes += flow.location.tc_software.bytes;
    datapath.packets += share.packets;
    datapath.bytes += share.bytes;
    ++megaflows;
  }
  uint64_t total_packets() const { return hardware.packets + tc_software.packets + datapath.packets; }
  uint64_t total_bytes() const { return hardware.bytes + tc_software.bytes + datapath.bytes; }

  nlohmann::json json() const {
    auto pair = [](const FlowStats& s) { return nlohmann::json{{"packets", s.packets}, {"bytes", s.bytes}}; };
    return {{"hardware", pair(hardware)},
            {"tc_software", pair(tc_software)},
            {"datapath", pair(datapath)},
            {"total", {{"packets", total_packets()}, {"bytes", total_bytes()}}},
            {"megaflows", megaflows}};
  }
  // "HW / TC-SW / DATAPATH / TOTAL" packet columns, right-aligned.
  std::string columns() const {
    char text[96];
    std::snprintf(text, sizeof text, "%12" PRIu64 " %12" PRIu64 " %12" PRIu64 " %12" PRIu64, hardware.packets,
                  tc_software.packets, datapath.packets, total_packets());
    return text;
  }
};

constexpr const char* kColumnsHeader = "          HW        TC-SW     DATAPATH        TOTAL";

}  // namespace

SwitchCommandResult switch_counters_compare(SwitchCoreState& state) {
  std::map<std::array<uint8_t, 16>, UdpifFlowInfo> info;
  for (UdpifFlowInfo& flow : state.udpif.flow_info()) info.emplace(flow.ufid.bytes, std::move(flow));

  SwitchReply reply;
  reply.result["megaflows"] = nlohmann::json::array();
  std::string megaflow_lines;
  PlaceCounters totals;
  // (bridge, rule) -> counters, in a stable order for the text.
  std::map<std::pair<std::string, std::string>, PlaceCounters> rules;
  for (const Megaflow& flow : state.dpif.flow_dump()) {
    PlaceCounters one;
    one.add(flow);
    totals.add(flow);
    auto known = info.find(flow.ufid.bytes);
    const std::string bridge = known != info.end() ? known->second.bridge : "";
    if (known != info.end())
      for (const std::string& rule : known->second.rules) rules[{bridge, rule}].add(flow);
    const std::string ufid = format_ufid(flow.ufid).substr(5);
    nlohmann::json entry = one.json();
    entry.erase("megaflows");
    entry["ufid"] = ufid;
    entry["bridge"] = bridge;
    entry["placement"] = megaflow_placement_name(flow.location.placement);
    entry["reason"] = flow.location.reason;
    reply.result["megaflows"].push_back(std::move(entry));
    char placement[16];
    std::snprintf(placement, sizeof placement, "%-8s", megaflow_placement_name(flow.location.placement));
    megaflow_lines += "  " + ufid.substr(0, 8) + "  " + placement + one.columns() + "  " +
                      (bridge.empty() ? "-" : bridge) + "\n";
  }

  reply.result["rules"] = nlohmann::json::array();
  std::string rule_lines;
  for (const auto& [key, counters] : rules) {
    nlohmann::json entry = counters.json();
    entry["bridge"] = key.first;
    entry["rule"] = key.second;
    reply.result["rules"].push_back(std::move(entry));
    rule_lines += "  " + counters.columns() + "  " + key.first + " " + key.second + "\n";
  }
  reply.result["totals"] = totals.json();

  DpifPortStats ports;
  for (const DpifPort& port : state.dpif.port_dump()) {
    ports.rx_packets += port.stats.rx_packets;
    ports.rx_bytes += port.stats.rx_bytes;
    ports.tx_packets += port.stats.tx_packets;
    ports.tx_bytes += port.stats.tx_bytes;
  }
  const DpifStats datapath = state.dpif.stats();
  reply.result["ports"] = {{"rx_packets", ports.rx_packets},
                           {"rx_bytes", ports.rx_bytes},
                           {"tx_packets", ports.tx_packets},
                           {"tx_bytes", ports.tx_bytes}};
  reply.result["datapath_lookups"] = {{"hit", datapath.hit}, {"missed", datapath.missed}};

  std::string& text = reply.text;
  text += "megaflows (packets):\n  UFID      WHERE   " + std::string(kColumnsHeader) + "  BRIDGE\n" +
          megaflow_lines;
  text += "rules (packets, over their live megaflows):\n  " + std::string(kColumnsHeader) + "  RULE\n" +
          rule_lines;
  text += "totals:   " + std::string(" ") + totals.columns() + "\n";
  char buffer[256];
  std::snprintf(buffer, sizeof buffer,
                "ports (the datapath's view): rx %" PRIu64 " packets, tx %" PRIu64
                " packets; datapath lookups: hit %" PRIu64 ", missed %" PRIu64 "\n",
                ports.rx_packets, ports.tx_packets, datapath.hit, datapath.missed);
  text += buffer;
  text +=
      "Packets TC handles (hardware or software) never reach the datapath's ports; HW counters can trail by "
      "about 2 s.\n";
  return reply;
}

}  // namespace flowlift
