// The control commands of docs/control-protocol.md, one function each, over
// SwitchCoreState (the caller holds its control_mutex). Errors are the
// "what was wrong" part; SwitchCore::handle prefixes the command's name.
//
// Grouped by what they own: switch_ports.cc (bridges, ports, show),
// switch_flows.cc (OpenFlow rules, trace), switch_megaflow_dump.cc,
// switch_packets.cc (inject, capture), switch_datapath_commands.cc
// (counters, set, revalidate).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flowlift/status.h"
#include "slowpath/of_flow_mod.h"
#include "slowpath/switch_command_args.h"
#include "slowpath/switch_core_state.h"

namespace flowlift {

using SwitchCommandResult = Result<SwitchReply>;

SwitchCommandResult switch_show(SwitchCoreState& state, const SwitchCommandArgs& args);
SwitchCommandResult switch_add_bridge_command(SwitchCoreState& state, const SwitchCommandArgs& args);
SwitchCommandResult switch_del_bridge_command(SwitchCoreState& state, const SwitchCommandArgs& args);
SwitchCommandResult switch_add_port_command(SwitchCoreState& state, const SwitchCommandArgs& args);
SwitchCommandResult switch_del_port_command(SwitchCoreState& state, const SwitchCommandArgs& args);

SwitchCommandResult switch_add_flow(SwitchCoreState& state, const SwitchCommandArgs& args);
SwitchCommandResult switch_add_flows(SwitchCoreState& state, const SwitchCommandArgs& args);
SwitchCommandResult switch_mod_flows(SwitchCoreState& state, const SwitchCommandArgs& args);
SwitchCommandResult switch_del_flows(SwitchCoreState& state, const SwitchCommandArgs& args);
SwitchCommandResult switch_dump_flows(SwitchCoreState& state, const SwitchCommandArgs& args);
SwitchCommandResult switch_trace(SwitchCoreState& state, const SwitchCommandArgs& args);

SwitchCommandResult switch_dump_megaflows(SwitchCoreState& state, const SwitchCommandArgs& args);

SwitchCommandResult switch_inject(SwitchCoreState& state, const SwitchCommandArgs& args);
SwitchCommandResult switch_capture(SwitchCoreState& state, const SwitchCommandArgs& args);

SwitchCommandResult switch_counters(SwitchCoreState& state, const SwitchCommandArgs& args);
// counters --compare: per megaflow and per OpenFlow rule, what the hardware,
// TC's software path and the datapath counted, with totals and the ports'.
SwitchCommandResult switch_counters_compare(SwitchCoreState& state);

// What the datapath itself counted of a megaflow: its total less what TC
// (hardware and software) counted.
FlowStats megaflow_datapath_share(const Megaflow& flow);
SwitchCommandResult switch_set(SwitchCoreState& state, const SwitchCommandArgs& args);
SwitchCommandResult switch_revalidate(SwitchCoreState& state, const SwitchCommandArgs& args);

// ---- Shared by the commands and the configuration (switch_ports.cc) ----

// A port to add, as add-port and the configuration file give it.
struct SwitchPortSpec {
  std::string bridge;
  std::string name;
  std::string type;                            // "system", "dummy", "vxlan"
  std::optional<uint32_t> ofport;              // fixed OpenFlow number, else the lowest free
  std::map<std::string, std::string> options;  // values as text
};

// A port's "options" object (JSON) as the text values SwitchPortSpec keeps:
// strings as they are, integers and booleans as JSON prints them. A value
// of any other type makes it return false, with `bad_key` naming its key, so
// that each caller can say where it was (a JSON path, or an argument).
bool switch_port_option_texts(const nlohmann::json& options, std::map<std::string, std::string>& texts,
                              std::string& bad_key);

// The checks that need no datapath: the type, the options (VXLAN's through
// parse_vxlan_options), the OpenFlow number's range. Errors name the port
// and the option.
Status switch_check_port_spec(const SwitchPortSpec& spec, DpifPortType* type,
                              std::optional<XlateVxlanOptions>* vxlan);

Status switch_add_bridge(SwitchCoreState& state, const std::string& name);
// Deletes the bridge's ports (datapath ports included) and the bridge.
Status switch_del_bridge(SwitchCoreState& state, const std::string& name);
Result<SwitchPortRecord> switch_add_port(SwitchCoreState& state, const SwitchPortSpec& spec);
Status switch_del_port(SwitchCoreState& state, const std::string& name);

// Applies parsed flow-mods to a bridge: one by one (what ovs-ofctl add-flows
// does: those before a failing one stay), or as one atomic bundle. Returns
// how many were applied. Errors name the failing flow-mod's line.
// `now_ms` is SwitchCoreState::rule_clock_ms().
Result<size_t> switch_apply_flow_mods(OfBridge& bridge, const std::vector<OfFlowMod>& mods, bool bundle,
                                      uint64_t now_ms);

// The rte_flow status of this build.
inline constexpr const char* kSwitchRteFlowUnavailable = "no DPDK rte_flow provider in this build (planned)";

}  // namespace flowlift
