// Bridges and ports: add-bridge, del-bridge, add-port, del-port and show.
//
// A port lives in three places that must agree: the datapath (Dpif port),
// the bridge's XlateBridge (what translation sees) and the SwitchPortRecord
// (what the datapath cannot say: the bridge, the OpenFlow number, the
// options as given). add-port creates the datapath port first, because its
// number goes into the XlatePort, and removes it again when the bridge
// refuses the port, so a failed add-port leaves nothing behind. VXLAN ports
// share one vxlan_sys_<udp port> datapath port per UDP port, as in OVS: it
// is created with the first VXLAN port using it and deleted with the last.
#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "slowpath/of_ports.h"
#include "slowpath/switch_commands.h"
#include "slowpath/switch_offload_ports.h"

namespace flowlift {

namespace {

std::optional<DpifPortType> port_type_from_name(std::string_view name) {
  for (DpifPortType type : {DpifPortType::kSystem, DpifPortType::kDummy, DpifPortType::kVxlan})
    if (dpif_port_type_name(type) == name) return type;
  return std::nullopt;
}

std::string options_text(const std::map<std::string, std::string>& options) {
  std::string text;
  for (const auto& [key, value] : options) text += (text.empty() ? "" : ",") + key + "=" + value;
  return text;
}

// The remote VTEPs of every VXLAN port on tunnel port `udp_port`, for
// Dpif::set_tunnel_remotes (remote_ip=flow ports name none).
std::vector<Be32> tunnel_remotes(const SwitchCoreState& state, uint16_t udp_port) {
  std::vector<Be32> remotes;
  for (const auto& [name, record] : state.ports) {
    if (!record.vxlan || record.vxlan->dst_port != udp_port || record.vxlan->remote_ip_from_flow) continue;
    if (std::find(remotes.begin(), remotes.end(), record.vxlan->remote_ip) == remotes.end())
      remotes.push_back(record.vxlan->remote_ip);
  }
  return remotes;
}

uint32_t lowest_free_ofport(const XlateBridge& bridge) {
  uint32_t number = 1;
  while (bridge.find_port(number) != nullptr) ++number;
  return number;
}

XlatePortType xlate_port_type(DpifPortType type) {
  switch (type) {
    case DpifPortType::kDummy:
      return XlatePortType::kDummy;
    case DpifPortType::kSystem:
      return XlatePortType::kSystem;
    case DpifPortType::kVxlan:
      return XlatePortType::kVxlan;
  }
  return XlatePortType::kDummy;
}

// Releases the datapath side of a port: its own datapath port, or its share
// of a tunnel port (deleted with its last user; otherwise its remotes shrink).
Status release_datapath_port(SwitchCoreState& state, const SwitchPortRecord& record) {
  if (!record.vxlan) return state.dpif.port_del(record.datapath_port);
  auto tunnel = state.tunnels.find(record.vxlan->dst_port);
  if (tunnel == state.tunnels.end()) return Status::ok();
  if (--tunnel->second.users == 0) {
    uint32_t number = tunnel->second.datapath_port;
    state.tunnels.erase(tunnel);
    return state.dpif.port_del(number);
  }
  return state.dpif.set_tunnel_remotes(tunnel->second.datapath_port,
                                       tunnel_remotes(state, record.vxlan->dst_port));
}

std::string format_counter_line(const DpifPortStats& stats) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer,
                "     rx pkts=%" PRIu64 ", bytes=%" PRIu64 ", drop=%" PRIu64 ", errs=%" PRIu64
                "\n     tx pkts=%" PRIu64 ", bytes=%" PRIu64 ", drop=%" PRIu64 "\n",
                stats.rx_packets, stats.rx_bytes, stats.rx_dropped, stats.rx_malformed, stats.tx_packets,
                stats.tx_bytes, stats.tx_dropped);
  return buffer;
}

nlohmann::json counters_json(const DpifPortStats& stats) {
  return {{"rx_packets", stats.rx_packets}, {"rx_bytes", stats.rx_bytes},
          {"rx_dropped", stats.rx_dropped}, {"rx_errors", stats.rx_malformed},
          {"tx_packets", stats.tx_packets}, {"tx_bytes", stats.tx_bytes},
          {"tx_dropped", stats.tx_dropped}};
}

// ovs-vsctl's map form: {key="100", remote_ip="192.0.2.2"}.
std::string format_options(const std::map<std::string, std::string>& options) {
  std::string text = "{";
  for (const auto& [key, value] : options) text += (text.size() > 1 ? ", " : "") + key + "=\"" + value + "\"";
  return text + "}";
}

}  // namespace

bool switch_port_option_texts(const nlohmann::json& options, std::map<std::string, std::string>& texts,
                              std::string& bad_key) {
  for (const auto& [key, value] : options.items()) {
    if (value.is_string()) {
      texts[key] = value.get<std::string>();
    } else if (value.is_number_integer() || value.is_boolean()) {
      texts[key] = value.dump();
    } else {
      bad_key = key;
      return false;
    }
  }
  return true;
}

Status switch_check_port_spec(const SwitchPortSpec& spec, DpifPortType* type,
                              std::optional<XlateVxlanOptions>* vxlan) {
  const std::string label = "port " + spec.name;
  if (spec.name.empty()) return invalid_argument("a port needs a name");
  // Flow text names ports ("in_port=p1", "output:vx1"): a name that reads
  // as a number or a reserved port, or that holds the syntax's separators,
  // could never be named there.
  if (spec.name[0] >= '0' && spec.name[0] <= '9')
    return invalid_argument(label +
                            ": the name may not start with a digit (flow text reads it as a port number)");
  if (parse_of_port(spec.name, PortNames()).is_ok())
    return invalid_argument(label + ": the name is a reserved OpenFlow port name");
  if (spec.name.find_first_of(",=:() \t") != std::string::npos)
    return invalid_argument(label + ": the name may not contain , = : ( ) or white space");
  std::optional<DpifPortType> parsed = port_type_from_name(spec.type);
  if (!parsed)
    return invalid_argument(label + ": unknown type \"" + spec.type + "\" (system, dummy or vxlan)");
  *type = *parsed;
  if (spec.ofport && (*spec.ofport == 0 || *spec.ofport >= kOfPortMax))
    return invalid_argument(label + ": ofport " + std::to_string(*spec.ofport) +
                            " is out of range (OpenFlow port numbers are 1 to 65279)");
  vxlan->reset();
  if (*parsed == DpifPortType::kVxlan) {
    Result<XlateVxlanOptions> options = parse_vxlan_options(options_text(spec.options));
    if (!options) return options.status().with_context(label);
    *vxlan = *options;
  } else if (!spec.options.empty()) {
    return invalid_argument(label + ": option " + spec.options.begin()->first + ": a " + spec.type +
                            " port takes no options (only vxlan ports do)");
  }
  return Status::ok();
}

Status switch_add_bridge(SwitchCoreState& state, const std::string& name) {
  if (name.empty()) return invalid_argument("a bridge needs a name");
  if (state.bridges.find(name)) return Status(EEXIST, "bridge " + name + " already exists");
  return state.bridges.add(std::make_shared<OfBridge>(name));
}

Result<SwitchPortRecord> switch_add_port(SwitchCoreState& state, const SwitchPortSpec& spec) {
  std::shared_ptr<OfBridge> bridge = state.bridges.find(spec.bridge);
  if (!bridge) return Status(ENOENT, "bridge " + spec.bridge + " does not exist");
  SwitchPortRecord record;
  if (Status s = switch_check_port_spec(spec, &record.type, &record.vxlan); !s) return s;
  const std::string label = "port " + spec.name;
  if (auto it = state.ports.find(spec.name); it != state.ports.end())
    return Status(EEXIST, label + " already exists on bridge " + it->second.bridge);
  record.bridge = spec.bridge;
  record.name = spec.name;
  record.options = spec.options;
  {
    std::shared_lock lock(bridge->mutex());
    if (spec.ofport) {
      if (const XlatePort* taken = bridge->ports().find_port(*spec.ofport))
        return Status(EEXIST, label + ": ofport " + std::to_string(*spec.ofport) + " is taken by port " +
                                  taken->name + " on bridge " + spec.bridge);
      record.ofport = *spec.ofport;
    } else {
      record.ofport = lowest_free_ofport(bridge->ports());
    }
  }

  // The datapath side.
  bool created_tunnel = false;
  if (record.vxlan) {
    uint16_t udp_port = record.vxlan->dst_port;
    auto tunnel = state.tunnels.find(udp_port);
    if (tunnel == state.tunnels.end()) {
      DpifPortRequest request;
      request.name = vxlan_tunnel_port_name(udp_port);
      request.type = DpifPortType::kVxlan;
      request.vxlan_udp_port = udp_port;
      Result<uint32_t> number = state.dpif.port_add(request);
      if (!number) return number.status().with_context(label + ": datapath port " + request.name);
      tunnel = state.tunnels.emplace(udp_port, SwitchTunnelRecord{*number, 0}).first;
      created_tunnel = true;
    }
    record.datapath_port = tunnel->second.datapath_port;
  } else {
    DpifPortRequest request;
    request.name = spec.name;
    request.type = record.type;
    Result<uint32_t> number = state.dpif.port_add(request);
    if (!number) return number.status().with_context(label + ": datapath");
    record.datapath_port = *number;
  }

  XlatePort port;
  port.name = record.name;
  port.ofp_port = record.ofport;
  port.datapath_port = record.datapath_port;
  port.type = xlate_port_type(record.type);
  port.vxlan = record.vxlan;
  Status added;
  {
    std::unique_lock lock(bridge->mutex());
    added = bridge->ports().add_port(std::move(port));
    if (added) bridge->note_change();
  }
  if (!added) {
    // Undo the datapath side; the bridge's refusal is the error to report.
    if (record.vxlan) {
      if (created_tunnel) {
        (void)state.dpif.port_del(record.datapath_port);
        state.tunnels.erase(record.vxlan->dst_port);
      }
    } else {
      (void)state.dpif.port_del(record.datapath_port);
    }
    return added.with_context("bridge " + spec.bridge);
  }
  state.ports.emplace(record.name, record);
  if (record.vxlan) {
    SwitchTunnelRecord& tunnel = state.tunnels.at(record.vxlan->dst_port);
    ++tunnel.users;
    if (Status s = state.dpif.set_tunnel_remotes(tunnel.datapath_port,
                                                 tunnel_remotes(state, record.vxlan->dst_port));
        !s) {
      // The port exists and works for remotes the datapath already knows;
      // say why the new remote is not listened for rather than undo it.
      return s.with_context(label + ": added, but its remote could not be set up");
    }
  }
  return record;
}

Status switch_del_port(SwitchCoreState& state, const std::string& name) {
  auto it = state.ports.find(name);
  if (it == state.ports.end()) return Status(ENOENT, "port " + name + " does not exist");
  SwitchPortRecord record = it->second;
  if (std::shared_ptr<OfBridge> bridge = state.bridges.find(record.bridge)) {
    std::unique_lock lock(bridge->mutex());
    (void)bridge->ports().remove_port(record.ofport);
    bridge->note_change();
  }
  state.ports.erase(it);
  return release_datapath_port(state, record).with_context("port " + name + ": datapath");
}

Status switch_del_bridge(SwitchCoreState& state, const std::string& name) {
  std::shared_ptr<OfBridge> bridge = state.bridges.find(name);
  if (!bridge) return Status(ENOENT, "bridge " + name + " does not exist");
  std::vector<std::string> names;
  for (const auto& [port_name, record] : state.ports)
    if (record.bridge == name) names.push_back(port_name);
  Status first_error;
  for (const std::string& port_name : names)
    if (Status s = switch_del_port(state, port_name); !s && first_error) first_error = s;
  {
    // Bump the sequence so the revalidator looks at the bridge's megaflows
    // now; it finds the bridge gone and deletes them.
    std::unique_lock lock(bridge->mutex());
    bridge->note_change();
  }
  if (Status s = state.bridges.remove(name); !s) return s;
  return first_error;
}

SwitchCommandResult switch_add_bridge_command(SwitchCoreState& state, const SwitchCommandArgs& args) {
  Result<std::string> name = args.required_string("bridge");
  if (!name) return name.status();
  if (Status s = switch_add_bridge(state, *name); !s) return s;
  return SwitchReply{};
}

SwitchCommandResult switch_del_bridge_command(SwitchCoreState& state, const SwitchCommandArgs& args) {
  Result<std::string> name = args.required_string("bridge");
  if (!name) return name.status();
  if (Status s = switch_del_bridge(state, *name); !s) return s;
  return SwitchReply{};
}

SwitchCommandResult switch_add_port_command(SwitchCoreState& state, const SwitchCommandArgs& args) {
  SwitchPortSpec spec;
  Result<std::string> bridge = args.required_string("bridge");
  if (!bridge) return bridge.status();
  Result<std::string> port = args.required_string("port");
  if (!port) return port.status();
  Result<std::string> type = args.required_string("type");
  if (!type) return type.status();
  Result<std::optional<uint64_t>> ofport = args.optional_unsigned("ofport", kOfPortMax - 1);
  if (!ofport) return ofport.status();
  spec.bridge = *bridge;
  spec.name = *port;
  spec.type = *type;
  if (*ofport) spec.ofport = static_cast<uint32_t>(**ofport);
  if (const nlohmann::json* options = args.find("options")) {
    if (!options->is_object()) return invalid_argument("argument \"options\" must be an object");
    std::string bad_key;
    if (!switch_port_option_texts(*options, spec.options, bad_key))
      return invalid_argument("option " + bad_key + " must be a string, an integer or a boolean");
  }
  Result<SwitchPortRecord> record = switch_add_port(state, spec);
  if (!record) return record.status();
  SwitchReply reply;
  reply.result = {{"ofport", record->ofport}, {"datapath_port", record->datapath_port}};
  reply.text = "port " + record->name + ": ofport " + std::to_string(record->ofport) + ", datapath port " +
               std::to_string(record->datapath_port) + "\n";
  return reply;
}

SwitchCommandResult switch_del_port_command(SwitchCoreState& state, const SwitchCommandArgs& args) {
  Result<std::optional<std::string>> bridge = args.optional_string("bridge");
  if (!bridge) return bridge.status();
  Result<std::string> port = args.required_string("port");
  if (!port) return port.status();
  auto it = state.ports.find(*port);
  if (it == state.ports.end()) return Status(ENOENT, "port " + *port + " does not exist");
  if (*bridge && it->second.bridge != **bridge)
    return Status(ENOENT, "port " + *port + " is on bridge " + it->second.bridge + ", not on " + **bridge);
  if (Status s = switch_del_port(state, *port); !s) return s;
  return SwitchReply{};
}

SwitchCommandResult switch_show(SwitchCoreState& state, const SwitchCommandArgs& args) {
  Result<std::optional<std::string>> only = args.optional_string("bridge");
  if (!only) return only.status();
  std::vector<std::shared_ptr<OfBridge>> bridges;
  if (*only) {
    std::shared_ptr<OfBridge> bridge = state.bridges.find(**only);
    if (!bridge) return Status(ENOENT, "bridge " + **only + " does not exist");
    bridges.push_back(bridge);
  } else {
    bridges = state.bridges.all();
  }
  std::map<uint32_t, DpifPort> datapath_ports;
  for (DpifPort& port : state.dpif.port_dump()) datapath_ports.emplace(port.number, std::move(port));
  const std::map<std::string, TcOffloadDeviceReport> offload_devices = switch_tc_offload_devices(state.dpif);

  SwitchReply reply;
  reply.result["datapath"] = std::string(state.dpif.type());
  reply.result["bridges"] = nlohmann::json::array();
  reply.text = "datapath: " + std::string(state.dpif.type()) + "\n";
  for (const std::shared_ptr<OfBridge>& bridge : bridges) {
    std::vector<XlatePort> ports;
    size_t n_rules = 0;
    {
      std::shared_lock lock(bridge->mutex());
      ports.assign(bridge->ports().ports().begin(), bridge->ports().ports().end());
      n_rules = bridge->tables().n_rules();
    }
    nlohmann::json bridge_json = {
        {"name", bridge->name()}, {"flows", n_rules}, {"ports", nlohmann::json::array()}};
    reply.text += "bridge " + bridge->name() + ": " + std::to_string(ports.size()) + " ports, " +
                  std::to_string(n_rules) + " flows\n";
    for (const XlatePort& port : ports) {
      auto record = state.ports.find(port.name);
      std::map<std::string, std::string> options;
      DpifPortType type = DpifPortType::kDummy;
      if (record != state.ports.end()) {
        options = record->second.options;
        type = record->second.type;
      }
      auto datapath = datapath_ports.find(port.datapath_port);
      std::string datapath_name = datapath != datapath_ports.end() ? datapath->second.name : "";
      std::string error =
          datapath != datapath_ports.end()
              ? datapath->second.error
              : "datapath port " + std::to_string(port.datapath_port) + " is missing from the datapath";
      DpifPortStats stats = datapath != datapath_ports.end() ? datapath->second.stats : DpifPortStats{};
      nlohmann::json port_json = {{"name", port.name},
                                  {"ofport", port.ofp_port},
                                  {"datapath_port", port.datapath_port},
                                  {"datapath_port_name", datapath_name},
                                  {"type", std::string(dpif_port_type_name(type))},
                                  {"options", options},
                                  {"error", error},
                                  {"counters", counters_json(stats)},
                                  {"counters_shared", type == DpifPortType::kVxlan}};
      // By the datapath port's netdev: VXLAN ports share vxlan_sys_<port>'s.
      auto offload = offload_devices.find(datapath_name);
      if (offload != offload_devices.end())
        port_json["offload"] = switch_tc_offload_device_json(offload->second);
      bridge_json["ports"].push_back(std::move(port_json));
      reply.text += " " + std::to_string(port.ofp_port) + "(" + port.name + "): type " +
                    std::string(dpif_port_type_name(type)) + ", datapath port " +
                    std::to_string(port.datapath_port);
      if (type == DpifPortType::kVxlan) reply.text += " (" + datapath_name + ", counters shared)";
      if (!options.empty()) reply.text += ", options: " + format_options(options);
      reply.text += "\n" + format_counter_line(stats);
      if (offload != offload_devices.end())
        reply.text += "     offload: " + switch_tc_offload_device_text(offload->second) + "\n";
      if (!error.empty()) reply.text += "     error: " + error + "\n";
    }
    reply.result["bridges"].push_back(std::move(bridge_json));
  }
  return reply;
}

}  // namespace flowlift
