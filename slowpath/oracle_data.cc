// Loaders for the OVS 3.1 oracle files (see oracle_data.h).
#include "slowpath/oracle_data.h"

#include <arpa/inet.h>

#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace flowlift {

namespace {

using Json = nlohmann::json;

Status file_error(const std::filesystem::path& path, const std::string& message) {
  return invalid_argument(path.filename().string() + ": " + message);
}

Status line_error(const std::filesystem::path& path, size_t line, const std::string& message) {
  return file_error(path, "line " + std::to_string(line) + ": " + message);
}

Result<std::string> read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ENOENT, path.string() + ": cannot open (is the oracle copied into tests/oracle?)");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Calls `each(line_number, line)` for every line; stops at the first error.
template <typename Each>
Status for_each_line(const std::string& text, Each each) {
  size_t number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++number;
    if (Status s = each(number, line); !s) return s;
    start = end + 1;
  }
  return Status::ok();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_comment_or_blank(std::string_view line) {
  line = trim(line);
  return line.empty() || line.front() == '#';
}

std::optional<uint64_t> parse_u64(std::string_view text) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// The leading decimal number of "4789 = vxlan_sys_4789 (...)" or "LOCAL (65534)".
std::optional<uint32_t> number_in(std::string_view text) {
  size_t digit = text.find_first_of("0123456789");
  if (digit == std::string_view::npos) return std::nullopt;
  size_t end = text.find_first_not_of("0123456789", digit);
  std::optional<uint64_t> v =
      parse_u64(text.substr(digit, end == std::string_view::npos ? end : end - digit));
  if (!v || *v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

std::optional<Be32> parse_ipv4(std::string_view text) {
  std::string copy(text);
  in_addr address{};
  if (inet_pton(AF_INET, copy.c_str(), &address) != 1) return std::nullopt;
  return address.s_addr;
}

std::optional<EthAddr> parse_mac(std::string_view text) {
  EthAddr mac{};
  size_t at = 0;
  for (int i = 0; i < 6; ++i) {
    if (i > 0) {
      if (at >= text.size() || text[at] != ':') return std::nullopt;
      ++at;
    }
    if (at + 2 > text.size()) return std::nullopt;
    auto [end, error] = std::from_chars(text.data() + at, text.data() + at + 2, mac[i], 16);
    if (error != std::errc() || end != text.data() + at + 2) return std::nullopt;
    at += 2;
  }
  if (at != text.size()) return std::nullopt;
  return mac;
}

Result<std::vector<uint8_t>> parse_hex_frame(std::string_view hex) {
  if (hex.size() % 2 != 0) return invalid_argument("odd number of hex digits in the frame");
  std::vector<uint8_t> frame(hex.size() / 2);
  for (size_t i = 0; i < frame.size(); ++i) {
    auto [end, error] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, frame[i], 16);
    if (error != std::errc() || end != hex.data() + 2 * i + 2)
      return invalid_argument("not a hex digit at frame offset " + std::to_string(i));
  }
  return frame;
}

bool looks_like_hex_frame(std::string_view packet) {
  return !packet.empty() && packet.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
}

// A JSON object per line; `each(line_number, object)` reads it.
template <typename Each>
Status for_each_json_line(const std::filesystem::path& path, Each each) {
  Result<std::string> text = read_text(path);
  if (!text) return text.status();
  return for_each_line(*text, [&](size_t number, std::string_view line) -> Status {
    if (trim(line).empty()) return Status::ok();
    Json object = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (object.is_discarded()) return line_error(path, number, "not valid JSON");
    if (!object.is_object()) return line_error(path, number, "expected a JSON object");
    return each(number, object);
  });
}

Status get_string(const std::filesystem::path& path, size_t line, const Json& object, const char* key,
                  std::string& out, bool required = true) {
  auto it = object.find(key);
  if (it == object.end()) {
    if (!required) return Status::ok();
    return line_error(path, line, std::string("missing field \"") + key + "\"");
  }
  if (!it->is_string()) return line_error(path, line, std::string("field \"") + key + "\" must be a string");
  out = it->get<std::string>();
  return Status::ok();
}

Status get_u64(const std::filesystem::path& path, size_t line, const Json& object, const char* key,
               uint64_t& out, bool required = true) {
  auto it = object.find(key);
  if (it == object.end()) {
    if (!required) return Status::ok();
    return line_error(path, line, std::string("missing field \"") + key + "\"");
  }
  if (!it->is_number_unsigned())
    return line_error(path, line, std::string("field \"") + key + "\" must be a non-negative integer");
  out = it->get<uint64_t>();
  return Status::ok();
}

// "{key=flow, remote_ip=\"192.0.2.2\"}" -> {key: flow, remote_ip: 192.0.2.2}
std::map<std::string, std::string, std::less<>> parse_options(std::string_view text) {
  std::map<std::string, std::string, std::less<>> options;
  text = trim(text);
  if (!text.empty() && text.front() == '{') text.remove_prefix(1);
  if (!text.empty() && text.back() == '}') text.remove_suffix(1);
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    size_t equals = item.find('=');
    if (equals == std::string_view::npos) continue;
    std::string_view value = trim(item.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    options.emplace(std::string(trim(item.substr(0, equals))), std::string(value));
  }
  return options;
}

}  // namespace

Result<std::vector<OracleTrace>> load_oracle_traces(const std::filesystem::path& path) {
  std::vector<OracleTrace> traces;
  Status s = for_each_json_line(path, [&](size_t line, const Json& object) -> Status {
    OracleTrace t;
    for (auto [key, out] :
         {std::pair{"name", &t.name}, std::pair{"flow", &t.flow}, std::pair{"megaflow", &t.megaflow},
          std::pair{"datapath_actions", &t.datapath_actions}}) {
      if (Status e = get_string(path, line, object, key, *out); !e) return e;
    }
    if (Status e = get_string(path, line, object, "prefixes", t.prefixes, false); !e) return e;
    if (Status e = get_string(path, line, object, "full", t.full, false); !e) return e;
    traces.push_back(std::move(t));
    return Status::ok();
  });
  if (!s) return s;
  return traces;
}

Result<std::vector<OracleFlowMegaflow>> load_oracle_flow_megaflows(const std::filesystem::path& path) {
  std::vector<OracleFlowMegaflow> flows;
  Status s = for_each_json_line(path, [&](size_t line, const Json& object) -> Status {
    OracleFlowMegaflow f;
    uint64_t seq = 0;
    if (Status e = get_u64(path, line, object, "seq", seq); !e) return e;
    if (seq > UINT32_MAX) return line_error(path, line, "seq out of range");
    f.seq = static_cast<uint32_t>(seq);
    for (auto [key, out] :
         {std::pair{"port", &f.port}, std::pair{"flow", &f.flow}, std::pair{"megaflow", &f.megaflow},
          std::pair{"datapath_actions", &f.datapath_actions}}) {
      if (Status e = get_string(path, line, object, key, *out); !e) return e;
    }
    flows.push_back(std::move(f));
    return Status::ok();
  });
  if (!s) return s;
  return flows;
}

Result<std::vector<OraclePacket>> load_oracle_packets(const std::filesystem::path& path) {
  Result<std::string> text = read_text(path);
  if (!text) return text.status();
  std::vector<OraclePacket> packets;
  Status s = for_each_line(*text, [&](size_t number, std::string_view line) -> Status {
    if (is_comment_or_blank(line)) return Status::ok();
    size_t bar = line.find(" | ");
    if (bar == std::string_view::npos) return line_error(path, number, "expected \"<name> | <flow>\"");
    OraclePacket p{std::string(trim(line.substr(0, bar))), std::string(trim(line.substr(bar + 3)))};
    if (p.name.empty() || p.flow.empty()) return line_error(path, number, "empty name or flow");
    packets.push_back(std::move(p));
    return Status::ok();
  });
  if (!s) return s;
  return packets;
}

Result<std::vector<OracleTracePacket>> load_oracle_trace(const std::filesystem::path& path) {
  Result<std::string> text = read_text(path);
  if (!text) return text.status();
  std::vector<OracleTracePacket> packets;
  Status s = for_each_line(*text, [&](size_t number, std::string_view line) -> Status {
    if (is_comment_or_blank(line)) return Status::ok();
    std::vector<std::string_view> columns;
    size_t start = 0;
    while (true) {
      size_t tab = line.find('\t', start);
      columns.push_back(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
    if (columns.size() != 4)
      return line_error(path, number,
                        "expected 4 TAB-separated columns (seq, port, flow, packet), got " +
                            std::to_string(columns.size()));
    OracleTracePacket p;
    std::optional<uint64_t> seq = parse_u64(columns[0]);
    if (!seq || *seq > UINT32_MAX)
      return line_error(path, number, "seq \"" + std::string(columns[0]) + "\" is not a number");
    p.seq = static_cast<uint32_t>(*seq);
    p.port = std::string(columns[1]);
    p.flow = std::string(columns[2]);
    p.packet = std::string(columns[3]);
    if (p.port.empty() || p.flow.empty() || p.packet.empty()) return line_error(path, number, "empty column");
    if (looks_like_hex_frame(p.packet)) {
      Result<std::vector<uint8_t>> frame = parse_hex_frame(p.packet);
      if (!frame) return line_error(path, number, frame.status().message());
      p.frame = std::move(*frame);
    }
    packets.push_back(std::move(p));
    return Status::ok();
  });
  if (!s) return s;
  return packets;
}

const OracleTopologyPort* OracleTopology::find(std::string_view bridge, std::string_view name) const {
  for (const OracleTopologyPort& port : ports)
    if (port.bridge == bridge && port.name == name) return &port;
  return nullptr;
}

Result<OracleTopology> load_oracle_topology(const std::filesystem::path& path) {
  Result<std::string> text = read_text(path);
  if (!text) return text.status();
  Json root = Json::parse(*text, nullptr, false);
  if (root.is_discarded() || !root.is_object()) return file_error(path, "not a valid JSON object");
  OracleTopology topology;
  if (auto v = root.find("ovs_version"); v != root.end() && v->is_string())
    topology.ovs_version = v->get<std::string>();

  auto bridges = root.find("bridges");
  if (bridges == root.end() || !bridges->is_object()) return file_error(path, "missing object \"bridges\"");
  for (const auto& [bridge_name, bridge] : bridges->items()) {
    auto ports = bridge.find("ports");
    if (!bridge.is_object() || ports == bridge.end() || !ports->is_object())
      return file_error(path, "bridge " + bridge_name + ": missing object \"ports\"");
    for (const auto& item : ports->items()) {
      // Named, not a structured binding: the lambda below captures it, which clang 14 refuses for bindings.
      const std::string& port_name = item.key();
      const Json& port = item.value();
      std::string where = "bridge " + bridge_name + " port " + port_name + ": ";
      if (!port.is_object()) return file_error(path, where + "expected an object");
      OracleTopologyPort p;
      p.bridge = bridge_name;
      p.name = port_name;
      if (auto type = port.find("type"); type != port.end() && type->is_string())
        p.type = type->get<std::string>();
      auto number = [&](const char* key, uint32_t& out) -> Status {
        auto v = port.find(key);
        if (v == port.end()) return file_error(path, where + "missing \"" + key + "\"");
        if (v->is_number_unsigned()) {
          out = v->get<uint32_t>();
          return Status::ok();
        }
        std::optional<uint32_t> n = v->is_string() ? number_in(v->get<std::string>()) : std::nullopt;
        if (!n) return file_error(path, where + "\"" + key + "\" has no port number");
        out = *n;
        return Status::ok();
      };
      if (Status s = number("ofport", p.of_port); !s) return s;
      if (Status s = number("datapath_port", p.datapath_port); !s) return s;
      if (auto options = port.find("options"); options != port.end() && options->is_string())
        p.options = parse_options(options->get<std::string>());
      topology.ports.push_back(std::move(p));
    }
  }

  // "vxlan_sys_4789 (4789) ref_cnt=2"
  if (auto lines = root.find("tnl_ports"); lines != root.end() && lines->is_array()) {
    for (const Json& line : *lines) {
      if (!line.is_string()) continue;
      std::string s = line.get<std::string>();
      size_t paren = s.find(" (");
      if (paren == std::string::npos) continue;
      std::optional<uint32_t> port = number_in(std::string_view(s).substr(paren));
      if (!port) continue;
      topology.tunnel_port_name = s.substr(0, paren);
      topology.tunnel_datapath_port = *port;
    }
  }
  if (topology.tunnel_datapath_port == 0) return file_error(path, "\"tnl_ports\" names no tunnel port");
  // "User: 192.0.2.0/24 dev br-ul SRC 192.0.2.1"
  if (auto lines = root.find("routes"); lines != root.end() && lines->is_array()) {
    for (const Json& line : *lines) {
      if (!line.is_string()) continue;
      std::string s = line.get<std::string>();
      size_t src = s.find(" SRC ");
      if (src == std::string::npos) continue;
      std::optional<Be32> ip = parse_ipv4(trim(std::string_view(s).substr(src + 5)));
      if (!ip) return file_error(path, "route \"" + s + "\": SRC is not an IPv4 address");
      topology.local_ip = *ip;
    }
  }
  if (topology.local_ip == 0) return file_error(path, "\"routes\" gives no SRC address");
  // "192.0.2.3      02:00:00:00:0a:03   br-ul"
  if (auto lines = root.find("tnl_neighbours"); lines != root.end() && lines->is_array()) {
    for (const Json& line : *lines) {
      if (!line.is_string()) continue;
      std::istringstream words(line.get<std::string>());
      std::string ip, mac, bridge;
      if (!(words >> ip >> mac >> bridge)) continue;
      std::optional<Be32> address = parse_ipv4(ip);
      std::optional<EthAddr> ethernet = parse_mac(mac);
      if (!address || !ethernet) continue;  // the header lines
      topology.neighbours.push_back({*address, *ethernet, bridge});
    }
  }
  return topology;
}

Result<OracleTraceSummary> load_oracle_trace_summary(const std::filesystem::path& path) {
  Result<std::string> text = read_text(path);
  if (!text) return text.status();
  Json root = Json::parse(*text, nullptr, false);
  if (root.is_discarded() || !root.is_object()) return file_error(path, "not a valid JSON object");
  OracleTraceSummary summary;
  if (auto v = root.find("ovs_version"); v != root.end() && v->is_string())
    summary.ovs_version = v->get<std::string>();
  struct Counter {
    const char* key;
    uint64_t* out;
  };
  for (Counter c :
       {Counter{"packets", &summary.packets}, Counter{"megaflows", &summary.megaflows},
        Counter{"missed", &summary.missed}, Counter{"hits", &summary.hits}, Counter{"lost", &summary.lost},
        Counter{"upcalls", &summary.upcalls}, Counter{"recirculations", &summary.recirculations},
        Counter{"distinct_masks", &summary.distinct_masks},
        Counter{"distinct_in_port_mask_pairs", &summary.distinct_in_port_mask_pairs}}) {
    auto v = root.find(c.key);
    if (v == root.end()) return file_error(path, std::string("missing counter \"") + c.key + "\"");
    if (!v->is_number_unsigned())
      return file_error(path, std::string("counter \"") + c.key + "\" must be a non-negative integer");
    *c.out = v->get<uint64_t>();
  }
  if (auto by_port = root.find("megaflows_by_in_port"); by_port != root.end() && by_port->is_object()) {
    for (const auto& [port, count] : by_port->items()) {
      std::optional<uint64_t> number = parse_u64(port);
      if (!number || *number > UINT32_MAX || !count.is_number_unsigned())
        return file_error(path, "megaflows_by_in_port: \"" + port + "\" is not port -> count");
      summary.megaflows_by_in_port[static_cast<uint32_t>(*number)] = count.get<uint64_t>();
    }
  }
  return summary;
}

Result<std::vector<std::string>> load_oracle_datapath_flows(const std::filesystem::path& path) {
  Result<std::string> text = read_text(path);
  if (!text) return text.status();
  std::vector<std::string> flows;
  bool in_section = false, seen_section = false;
  Status s = for_each_line(*text, [&](size_t, std::string_view line) -> Status {
    if (line.starts_with("== ")) {
      in_section = !seen_section && line.find("dpctl/dump-flows") != std::string_view::npos &&
                   line.find(" -m") == std::string_view::npos;
      seen_section |= in_section;
      return Status::ok();
    }
    if (!in_section || trim(line).empty() || line.starts_with("flow-dump from")) return Status::ok();
    flows.emplace_back(line);
    return Status::ok();
  });
  if (!s) return s;
  if (!seen_section) return file_error(path, "no \"== ovs-appctl dpctl/dump-flows\" section");
  return flows;
}

}  // namespace flowlift
