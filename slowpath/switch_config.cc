// The configuration document: checking it completely, then applying it (see
// switch_config.h and docs/configuration.md).
//
// Why a plan: the check phase produces everything the apply phase needs
// (ports with their final OpenFlow numbers, parsed flow-mods), so applying
// cannot fail for a reason the check could have found. Automatic OpenFlow
// numbers are given after the fixed ones are reserved, so a port's number
// does not depend on where in the list a fixed-number port appears.
#include "slowpath/switch_config.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "slowpath/of_flow_mod.h"
#include "slowpath/of_tables.h"
#include "slowpath/switch_commands.h"

namespace flowlift {

namespace {

struct SwitchConfigBridgePlan {
  std::string name;
  std::vector<SwitchPortSpec> ports;  // ofport always set
  std::vector<OfFlowMod> flows;       // inline lines, then flows_file's
};

struct SwitchConfigPlan {
  std::optional<uint32_t> flow_limit;
  std::optional<uint32_t> max_idle_ms;
  std::optional<size_t> n_handlers;
  std::vector<SwitchConfigBridgePlan> bridges;
};

Status at(const std::string& path, const std::string& message) {
  return invalid_argument(path + ": " + message);
}

Status check_keys(const nlohmann::json& object, const std::string& path,
                  std::initializer_list<std::string_view> allowed) {
  if (!object.is_object()) return at(path.empty() ? "document" : path, "must be a JSON object");
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (std::string_view name : allowed) known = known || name == key;
    if (known) continue;
    std::string takes;
    for (std::string_view name : allowed) takes += (takes.empty() ? "" : ", ") + std::string(name);
    return at(path.empty() ? key : path + "." + key, "unknown key (expected one of " + takes + ")");
  }
  return Status::ok();
}

std::string child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

Result<std::optional<uint64_t>> optional_unsigned(const nlohmann::json& object, const std::string& path,
                                                  std::string_view key, uint64_t min, uint64_t max) {
  auto it = object.find(std::string(key));
  if (it == object.end()) return std::optional<uint64_t>();
  bool non_negative = it->is_number_unsigned() || (it->is_number_integer() && it->get<int64_t>() >= 0);
  if (!non_negative || it->get<uint64_t>() < min || it->get<uint64_t>() > max)
    return at(child(path, key),
              "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  return std::optional<uint64_t>(it->get<uint64_t>());
}

Result<std::string> required_string(const nlohmann::json& object, const std::string& path,
                                    std::string_view key) {
  auto it = object.find(std::string(key));
  if (it == object.end()) return at(child(path, key), "missing");
  if (!it->is_string()) return at(child(path, key), "must be a string");
  return it->get<std::string>();
}

Status check_version(const nlohmann::json& config) {
  if (!config.is_object()) return at("document", "must be a JSON object");
  auto version = config.find("flowlift_config");
  if (version == config.end())
    return at("flowlift_config", "missing (the document's format version; this flowliftd reads version " +
                                     std::to_string(kSwitchConfigVersion) + ")");
  if (!version->is_number_integer())
    return at("flowlift_config",
              "must be an integer (the format version, " + std::to_string(kSwitchConfigVersion) + ")");
  if (version->get<int64_t>() != kSwitchConfigVersion)
    return at("flowlift_config", "version " + version->dump() +
                                     " is not supported (this flowliftd reads version " +
                                     std::to_string(kSwitchConfigVersion) + ")");
  return Status::ok();
}

Status plan_datapath(const nlohmann::json& config, SwitchConfigPlan& plan) {
  auto datapath = config.find("datapath");
  if (datapath == config.end()) return Status::ok();
  if (Status s = check_keys(*datapath, "datapath", {"flow_limit", "max_idle_ms", "n_handlers"}); !s) return s;
  Result<std::optional<uint64_t>> flow_limit =
      optional_unsigned(*datapath, "datapath", "flow_limit", 1, UINT32_MAX);
  if (!flow_limit) return flow_limit.status();
  Result<std::optional<uint64_t>> max_idle =
      optional_unsigned(*datapath, "datapath", "max_idle_ms", 1, UINT32_MAX);
  if (!max_idle) return max_idle.status();
  Result<std::optional<uint64_t>> handlers = optional_unsigned(*datapath, "datapath", "n_handlers", 1, 64);
  if (!handlers) return handlers.status();
  if (*flow_limit) plan.flow_limit = static_cast<uint32_t>(**flow_limit);
  if (*max_idle) plan.max_idle_ms = static_cast<uint32_t>(**max_idle);
  if (*handlers) plan.n_handlers = static_cast<size_t>(**handlers);
  return Status::ok();
}

Result<SwitchPortSpec> plan_port(const nlohmann::json& port, const std::string& path,
                                 const std::string& bridge) {
  if (Status s = check_keys(port, path, {"name", "type", "ofport", "options"}); !s) return s;
  SwitchPortSpec spec;
  spec.bridge = bridge;
  Result<std::string> name = required_string(port, path, "name");
  if (!name) return name.status();
  Result<std::string> type = required_string(port, path, "type");
  if (!type) return type.status();
  spec.name = *name;
  spec.type = *type;
  Result<std::optional<uint64_t>> ofport = optional_unsigned(port, path, "ofport", 1, kOfPortMax - 1);
  if (!ofport) return ofport.status();
  if (*ofport) spec.ofport = static_cast<uint32_t>(**ofport);
  if (auto options = port.find("options"); options != port.end()) {
    if (!options->is_object()) return at(path + ".options", "must be an object");
    std::string bad_key;
    if (!switch_port_option_texts(*options, spec.options, bad_key))
      return at(path + ".options." + bad_key, "must be a string, an integer or a boolean");
  }
  DpifPortType parsed_type;
  std::optional<XlateVxlanOptions> vxlan;
  if (Status s = switch_check_port_spec(spec, &parsed_type, &vxlan); !s) return at(path, s.message());
  return spec;
}

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ENOENT, "cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Ports get fixed numbers first; the others the lowest numbers left, in order.
Status assign_ofports(std::vector<SwitchPortSpec>& ports, const std::string& path) {
  std::map<uint32_t, std::string> taken;
  for (const SwitchPortSpec& port : ports) {
    if (!port.ofport) continue;
    auto [it, fresh] = taken.emplace(*port.ofport, port.name);
    if (!fresh)
      return at(path, "ports " + it->second + " and " + port.name + " both ask for ofport " +
                          std::to_string(*port.ofport));
  }
  uint32_t next = 1;
  for (SwitchPortSpec& port : ports) {
    if (port.ofport) continue;
    while (taken.count(next)) ++next;
    port.ofport = next;
    taken.emplace(next, port.name);
  }
  return Status::ok();
}

// The bridge's ports as translation would see them, with stand-in datapath
// numbers (distinct per port, shared per VXLAN UDP port), to find port
// clashes and to give the flows their port names.
Result<XlateBridge> scratch_bridge(const SwitchConfigBridgePlan& bridge, const std::string& path) {
  XlateBridge scratch(bridge.name);
  uint32_t next_datapath_port = 1;
  std::map<uint16_t, uint32_t> tunnel_ports;
  for (size_t i = 0; i < bridge.ports.size(); ++i) {
    const SwitchPortSpec& spec = bridge.ports[i];
    DpifPortType type;
    std::optional<XlateVxlanOptions> vxlan;
    (void)switch_check_port_spec(spec, &type, &vxlan);  // checked in plan_port
    XlatePort port;
    port.name = spec.name;
    port.ofp_port = *spec.ofport;
    port.vxlan = vxlan;
    port.type = type == DpifPortType::kVxlan    ? XlatePortType::kVxlan
                : type == DpifPortType::kSystem ? XlatePortType::kSystem
                                                : XlatePortType::kDummy;
    if (vxlan) {
      auto [it, fresh] = tunnel_ports.emplace(vxlan->dst_port, next_datapath_port);
      if (fresh) ++next_datapath_port;
      port.datapath_port = it->second;
    } else {
      port.datapath_port = next_datapath_port++;
    }
    if (Status s = scratch.add_port(std::move(port)); !s)
      return at(path + ".ports[" + std::to_string(i) + "]", s.message());
  }
  return scratch;
}

Result<std::vector<OfFlowMod>> plan_flow_text(const std::string& text, const PortNames& names,
                                              OfTables& scratch, const std::string& context) {
  OfFlowModParseOptions options;
  options.protocol = OfFlowModProtocol::kOpenFlow14;  // applied as a bundle, as --bundle add-flows
  Result<std::vector<OfFlowMod>> mods = parse_of_flow_mod_file(text, names, options);
  if (!mods) return at(context, mods.status().message());
  Result<OfTablesChange> applied = scratch.apply_bundle(*mods, monotonic_ms());
  if (!applied) return at(context, applied.status().message());
  return mods;
}

Status plan_bridge(const nlohmann::json& bridge, const std::string& path, const SwitchCoreState& state,
                   std::set<std::string>& bridge_names, std::set<std::string>& port_names,
                   SwitchConfigBridgePlan& out) {
  if (Status s = check_keys(bridge, path, {"name", "ports", "flows", "flows_file"}); !s) return s;
  Result<std::string> name = required_string(bridge, path, "name");
  if (!name) return name.status();
  if (name->empty()) return at(path + ".name", "must not be empty");
  if (!bridge_names.insert(*name).second) return at(path + ".name", "bridge " + *name + " is named twice");
  if (state.bridges.find(*name)) return at(path + ".name", "bridge " + *name + " already exists");
  out.name = *name;

  if (auto ports = bridge.find("ports"); ports != bridge.end()) {
    if (!ports->is_array()) return at(path + ".ports", "must be an array");
    for (size_t i = 0; i < ports->size(); ++i) {
      std::string port_path = path + ".ports[" + std::to_string(i) + "]";
      Result<SwitchPortSpec> spec = plan_port((*ports)[i], port_path, *name);
      if (!spec) return spec.status();
      if (!port_names.insert(spec->name).second)
        return at(port_path + ".name", "port " + spec->name + " is named twice");
      if (auto existing = state.ports.find(spec->name); existing != state.ports.end())
        return at(port_path + ".name",
                  "port " + spec->name + " already exists on bridge " + existing->second.bridge);
      out.ports.push_back(std::move(*spec));
    }
  }
  if (Status s = assign_ofports(out.ports, path + ".ports"); !s) return s;
  Result<XlateBridge> scratch = scratch_bridge(out, path);
  if (!scratch) return scratch.status();

  OfTables scratch_tables;
  if (auto flows = bridge.find("flows"); flows != bridge.end()) {
    if (!flows->is_array()) return at(path + ".flows", "must be an array of strings");
    std::string text;
    for (size_t i = 0; i < flows->size(); ++i) {
      if (!(*flows)[i].is_string()) return at(path + ".flows[" + std::to_string(i) + "]", "must be a string");
      text += (*flows)[i].get<std::string>() + "\n";
    }
    Result<std::vector<OfFlowMod>> mods =
        plan_flow_text(text, scratch->port_names(), scratch_tables, path + ".flows (bridge " + *name + ")");
    if (!mods) return mods.status();
    out.flows = std::move(*mods);
  }
  if (auto file = bridge.find("flows_file"); file != bridge.end()) {
    if (!file->is_string()) return at(path + ".flows_file", "must be a string (a path)");
    std::string file_path = file->get<std::string>();
    Result<std::string> text = read_text_file(file_path);
    if (!text) return at(path + ".flows_file", text.status().message());
    Result<std::vector<OfFlowMod>> mods =
        plan_flow_text(*text, scratch->port_names(), scratch_tables,
                       path + ".flows_file " + file_path + " (bridge " + *name + ")");
    if (!mods) return mods.status();
    out.flows.insert(out.flows.end(), mods->begin(), mods->end());
  }
  return Status::ok();
}

Result<SwitchConfigPlan> plan_config(const nlohmann::json& config, const SwitchCoreState& state) {
  if (Status s = check_version(config); !s) return s;
  if (Status s = check_keys(config, "", {"flowlift_config", "datapath", "bridges"}); !s) return s;
  SwitchConfigPlan plan;
  if (Status s = plan_datapath(config, plan); !s) return s;
  if (plan.n_handlers && *plan.n_handlers != state.udpif.config().n_handlers)
    return at("datapath.n_handlers", std::to_string(*plan.n_handlers) + " differs from the " +
                                         std::to_string(state.udpif.config().n_handlers) +
                                         " handler threads running; the handler count is read only at start");
  auto bridges = config.find("bridges");
  if (bridges == config.end()) return plan;
  if (!bridges->is_array()) return at("bridges", "must be an array");
  std::set<std::string> bridge_names, port_names;
  for (size_t i = 0; i < bridges->size(); ++i) {
    SwitchConfigBridgePlan bridge;
    if (Status s = plan_bridge((*bridges)[i], "bridges[" + std::to_string(i) + "]", state, bridge_names,
                               port_names, bridge);
        !s)
      return s;
    plan.bridges.push_back(std::move(bridge));
  }
  return plan;
}

}  // namespace

Result<nlohmann::json> load_switch_config_file(const std::string& path) {
  Result<std::string> text = read_text_file(path);
  if (!text) return text.status();
  nlohmann::json config = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded()) return invalid_argument(path + ": not valid JSON");
  if (config.is_object()) {
    auto bridges = config.find("bridges");
    if (bridges != config.end() && bridges->is_array()) {
      std::filesystem::path base = std::filesystem::path(path).parent_path();
      for (nlohmann::json& bridge : *bridges) {
        if (!bridge.is_object()) continue;
        auto file = bridge.find("flows_file");
        if (file == bridge.end() || !file->is_string()) continue;
        std::filesystem::path flows = file->get<std::string>();
        if (flows.is_relative()) *file = (base / flows).lexically_normal().string();
      }
    }
  }
  return config;
}

Result<UdpifConfig> switch_config_udpif_settings(const nlohmann::json& config, UdpifConfig defaults) {
  if (Status s = check_version(config); !s) return s;
  SwitchConfigPlan plan;
  if (Status s = plan_datapath(config, plan); !s) return s;
  if (plan.flow_limit) defaults.flow_limit = *plan.flow_limit;
  if (plan.max_idle_ms) defaults.max_idle_ms = *plan.max_idle_ms;
  if (plan.n_handlers) defaults.n_handlers = *plan.n_handlers;
  return defaults;
}

Status apply_switch_config(SwitchCoreState& state, const nlohmann::json& config) {
  Result<SwitchConfigPlan> plan = plan_config(config, state);
  if (!plan) return plan.status();
  std::vector<std::string> created;
  auto undo = [&]() {
    for (const std::string& name : created) (void)switch_del_bridge(state, name);
  };
  for (size_t i = 0; i < plan->bridges.size(); ++i) {
    const SwitchConfigBridgePlan& bridge = plan->bridges[i];
    std::string path = "bridges[" + std::to_string(i) + "]";
    if (Status s = switch_add_bridge(state, bridge.name); !s) {
      undo();
      return at(path, s.message() + " (nothing of the configuration was applied)");
    }
    created.push_back(bridge.name);
    for (size_t p = 0; p < bridge.ports.size(); ++p) {
      Result<SwitchPortRecord> added = switch_add_port(state, bridge.ports[p]);
      if (!added) {
        undo();
        return at(path + ".ports[" + std::to_string(p) + "]",
                  added.status().message() + " (nothing of the configuration was applied)");
      }
    }
    if (!bridge.flows.empty()) {
      std::shared_ptr<OfBridge> live = state.bridges.find(bridge.name);
      Result<size_t> applied =
          switch_apply_flow_mods(*live, bridge.flows, /*bundle=*/true, state.rule_clock_ms());
      if (!applied) {
        undo();
        return at(path + ".flows",
                  applied.status().message() + " (nothing of the configuration was applied)");
      }
    }
  }
  if (plan->flow_limit) state.udpif.set_flow_limit(*plan->flow_limit);
  if (plan->max_idle_ms) state.udpif.set_max_idle_ms(*plan->max_idle_ms);
  return Status::ok();
}

}  // namespace flowlift
