// Parsing and running a DatapathScript (see datapath_script.h).
#include "kmod/datapath_script.h"

#include <arpa/inet.h>

#include <charconv>
#include <iomanip>
#include <map>
#include <sstream>

#include "kmod/checksum_verify.h"
#include "kmod/flow_extract.h"
#include "kmod/netlink_flow.h"
#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_fields.h"
#include "kmod/odp_text_flow.h"
#include "kmod/odp_text_key.h"
#include "kmod/packet_compose.h"
#include "kmod/vxlan.h"

namespace flowlift {
namespace {

using odp_text::format_ipv4;
using odp_text::parse_eth;
using odp_text::parse_ipv4;

std::vector<std::string_view> split_words(std::string_view line, size_t max_words) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size() && words.size() + 1 < max_words) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == line.size()) break;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    words.push_back(line.substr(i, j - i));
    i = j;
  }
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  if (i < line.size()) words.push_back(line.substr(i));
  return words;
}

Result<uint32_t> parse_u32(std::string_view word, std::string_view what) {
  uint32_t value = 0;
  int base = 10;
  std::string_view digits = word;
  if (digits.starts_with("0x")) {
    base = 16;
    digits.remove_prefix(2);
  }
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty())
    return invalid_argument(std::string(what) + ": \"" + std::string(word) + "\" is not a number");
  return value;
}

// Splits "<key> payload=N" into the key text and the payload size.
Status take_payload(std::string_view& text, size_t& payload) {
  size_t at = text.rfind(" payload=");
  if (at == std::string_view::npos) return Status::ok();
  Result<uint32_t> n = parse_u32(text.substr(at + 9), "payload");
  if (!n) return n.status();
  if (*n > 9000) return invalid_argument("payload=" + std::to_string(*n) + ": larger than a jumbo frame");
  payload = *n;
  text = text.substr(0, at);
  return Status::ok();
}

// A packet's key: every field given is exact, the rest zero. Packets become
// frames, so the key must be an Ethernet one (text with eth(...)).
Result<FlowKey> parse_packet_key(std::string_view text) {
  Result<Match> match = parse_match(text);
  if (!match) return match.status();
  if (match->key.mac_proto != kMacProtoEthernet) {
    return invalid_argument(
        "the packet's key has no eth(...), which makes it a layer-3 packet; the datapath receives Ethernet "
        "frames: write eth(...) (eth() for zero addresses)");
  }
  return match->key;
}

Status parse_port(const std::vector<std::string_view>& w, DatapathScript& script) {
  if (w.size() < 4) return invalid_argument("port: expected \"port <n> <name> dummy|vxlan ...\"");
  ScriptPort port;
  Result<uint32_t> number = parse_u32(w[1], "port number");
  if (!number) return number.status();
  port.number = *number;
  port.name = std::string(w[2]);
  std::vector<std::string_view> rest = split_words(w[3], 16);
  if (rest[0] == "dummy" && rest.size() == 1) {
    port.type = PortType::kDummy;
  } else if (rest[0] == "vxlan" && rest.size() == 6) {
    port.type = PortType::kVxlan;
    VxlanPortConfig vxlan;
    Result<Be32> local_ip = parse_ipv4(rest[1]);
    if (!local_ip) return local_ip.status().with_context("vxlan local_ip");
    Result<uint32_t> udp = parse_u32(rest[2], "vxlan udp_port");
    if (!udp) return udp.status();
    if (*udp == 0 || *udp > 65535) return invalid_argument("vxlan udp_port " + std::to_string(*udp) + ": out of range");
    Result<uint32_t> underlay = parse_u32(rest[3], "vxlan underlay_port");
    if (!underlay) return underlay.status();
    Result<EthAddr> local_mac = parse_eth(rest[4]);
    if (!local_mac) return local_mac.status().with_context("vxlan local_mac");
    Result<EthAddr> next_hop = parse_eth(rest[5]);
    if (!next_hop) return next_hop.status().with_context("vxlan next_hop_mac");
    vxlan.endpoint.local_ipv4 = *local_ip;
    vxlan.endpoint.udp_port = static_cast<uint16_t>(*udp);
    vxlan.endpoint.src_mac = *local_mac;
    vxlan.endpoint.dst_mac = *next_hop;
    vxlan.underlay_port = *underlay;
    port.vxlan = vxlan;
  } else {
    return invalid_argument("port " + port.name + ": expected \"dummy\" or \"vxlan <local_ip> <udp_port> "
                            "<underlay_port> <local_mac> <next_hop_mac>\"");
  }
  script.ports.push_back(std::move(port));
  return Status::ok();
}

Status parse_flow(std::string_view rest, int line, DatapathScript& script) {
  size_t at = rest.find(" actions:");
  if (at == std::string_view::npos) return invalid_argument("flow: missing \" actions:\"");
  Result<Match> match = parse_match(rest.substr(0, at));
  if (!match) return match.status();
  Result<ActionList> actions = parse_actions(rest.substr(at + 9));
  if (!actions) return actions.status();
  script.flows.push_back(ScriptFlow{line, *match, *actions});
  return Status::ok();
}

Status parse_packet(const std::vector<std::string_view>& w, int line, bool vxlan, DatapathScript& script) {
  ScriptPacket packet;
  packet.line = line;
  packet.vxlan = vxlan;
  size_t fixed = vxlan ? 4 : 2;  // words before the key
  if (w.size() < fixed + 1)
    return invalid_argument(vxlan ? "vxlan-packet: expected <underlay_port> <remote_ip> <vni> <inner key>"
                                  : "packet: expected <port> <key>");
  Result<uint32_t> port = parse_u32(w[1], "packet port");
  if (!port) return port.status();
  packet.port = *port;
  if (vxlan) {
    Result<Be32> remote = parse_ipv4(w[2]);
    if (!remote) return remote.status().with_context("vxlan-packet remote_ip");
    Result<uint32_t> vni = parse_u32(w[3], "vxlan-packet vni");
    if (!vni) return vni.status();
    if (*vni > 0xffffff) return invalid_argument("vxlan-packet vni " + std::string(w[3]) + ": VNIs have 24 bits");
    packet.remote_ip = *remote;
    packet.vni = *vni;
  }
  std::string_view key_text = w[fixed];
  if (Status s = take_payload(key_text, packet.payload); !s) return s;
  Result<FlowKey> key = parse_packet_key(key_text);
  if (!key) return key.status();
  packet.key = *key;
  if (!vxlan) packet.key.in_port = packet.port;
  script.packets.push_back(packet);
  return Status::ok();
}

std::string port_label(const std::map<uint32_t, std::string>& names, uint32_t port) {
  auto it = names.find(port);
  return std::to_string(port) + (it == names.end() ? "" : " (" + it->second + ")");
}

// A one-line description of a frame, from its own extracted key: its headers
// only, not the metadata the datapath carries beside it.
std::string describe_frame(const Packet& frame_in) {
  Packet frame = frame_in;
  FlowKey key = flow_key_extract(frame);
  FlowMask headers = FlowMask::exact();
  FlowKey& bits = headers.mutable_bits();
  bits.tunnel = TunnelKey{};
  bits.priority = bits.skb_mark = bits.in_port = bits.recirc_id = bits.dp_hash = 0;
  bits.ct_state = bits.ct_mark = 0;
  bits.ct_zone = 0;
  bits.ct_orig_proto = 0;
  bits.ct_labels = {};
  bits.ct_orig_ipv4_src = bits.ct_orig_ipv4_dst = 0;
  bits.ct_orig_ipv6_src = bits.ct_orig_ipv6_dst = {};
  bits.ct_orig_tp_src = bits.ct_orig_tp_dst = 0;
  headers.recompute_range();
  return format_match(Match(key, headers));
}

std::string checksum_note(const Packet& frame) {
  Status s = verify_frame_checksums(frame);
  return s ? "checksums ok" : "CHECKSUM ERROR: " + s.message();
}

Ufid ufid_for_index(uint32_t index) {
  Ufid ufid;
  std::memcpy(ufid.bytes.data() + 12, &index, 4);  // printed as the UUID's last word
  return ufid;
}

uint32_t index_of_ufid(const Ufid& ufid) {
  uint32_t index;
  std::memcpy(&index, ufid.bytes.data() + 12, 4);
  return index;
}

std::string describe_output(const Packet& frame) {
  std::ostringstream out;
  out << frame.size() << " bytes, " << checksum_note(frame) << "\n" << std::string(10, ' ') << describe_frame(frame);
  Packet copy = frame;
  FlowKey outer = flow_key_extract(copy);
  if (outer.eth_type == htons(0x0800) && outer.ip_proto == 17) {
    Result<TunnelKey> tunnel = vxlan_decapsulate(copy, ntohs(outer.tp_dst));
    if (tunnel) {
      out << "\n" << std::string(10, ' ') << "VXLAN vni " << (be64toh(tunnel->tun_id) & 0xffffff) << ", inner "
          << copy.size() << " bytes, " << checksum_note(copy) << "\n"
          << std::string(10, ' ') << describe_frame(copy);
    }
  }
  return out.str();
}

}  // namespace

Result<DatapathScript> parse_datapath_script(std::string_view text) {
  DatapathScript script;
  int line_number = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_number;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t')) line.remove_suffix(1);
    std::vector<std::string_view> w = split_words(line, 2);
    if (w.empty()) continue;
    Status s;
    if (w[0] == "port") {
      s = parse_port(split_words(line, 4), script);
    } else if (w[0] == "flow") {
      s = w.size() < 2 ? invalid_argument("flow: missing match") : parse_flow(w[1], line_number, script);
    } else if (w[0] == "packet") {
      s = parse_packet(split_words(line, 3), line_number, false, script);
    } else if (w[0] == "vxlan-packet") {
      s = parse_packet(split_words(line, 5), line_number, true, script);
    } else {
      s = invalid_argument("unknown statement \"" + std::string(w[0]) +
                           "\" (expected port, flow, packet or vxlan-packet)");
    }
    if (!s) return s.with_context("line " + std::to_string(line_number));
  }
  return script;
}

Result<ScriptRunResult> run_datapath_script(const DatapathScript& script, std::ostream& out) {
  UserspaceDatapath datapath;
  LookupContext context(datapath.flow_table());
  ScriptRunResult result;
  std::map<uint32_t, std::string> names;
  std::map<uint32_t, VxlanPortConfig> vxlan_by_underlay;

  out << "== Ports\n";
  for (const ScriptPort& port : script.ports) {
    if (Status s = datapath.add_port(port.number, port.name, port.type, port.vxlan); !s) return s;
    names[port.number] = port.name;
    out << "  " << std::setw(5) << port.number << "  " << std::left << std::setw(16) << port.name << std::right;
    if (port.vxlan) {
      out << "vxlan: local " << format_ipv4(port.vxlan->endpoint.local_ipv4) << ", udp "
          << port.vxlan->endpoint.udp_port << ", via port " << port.vxlan->underlay_port;
      vxlan_by_underlay[port.vxlan->underlay_port] = *port.vxlan;
    } else {
      out << "dummy";
    }
    out << "\n";
  }

  out << "\n== Megaflows installed (validated, then checked through the kernel's netlink attributes)\n";
  size_t index = 0;
  for (const ScriptFlow& flow : script.flows) {
    Megaflow megaflow;
    ++index;
    // Deterministic UFIDs for a readable demo: the flow's index in the script.
    megaflow.ufid = ufid_for_index(static_cast<uint32_t>(index));
    megaflow.match = flow.match;
    megaflow.actions = flow.actions;
    Result<std::vector<uint8_t>> attributes = encode_flow(megaflow);
    if (!attributes) return attributes.status().with_context("line " + std::to_string(flow.line));
    Result<Megaflow> decoded = decode_flow(*attributes);
    if (!decoded) return decoded.status().with_context("line " + std::to_string(flow.line) + ": netlink decode");
    if (!(decoded->match == megaflow.match) || !(decoded->actions == megaflow.actions) ||
        !(decoded->ufid == megaflow.ufid))
      return Status(EPROTO, "line " + std::to_string(flow.line) + ": flow changed through netlink encoding");
    Result<InsertOutcome> put = datapath.put_flow(megaflow, MaskedFlowTable::kCreate);
    if (!put) return put.status().with_context("line " + std::to_string(flow.line));
    out << "  " << std::setw(2) << index << "  " << format_match(megaflow.match) << "\n"
        << "      actions:" << format_actions(megaflow.actions) << "   [" << attributes->size()
        << " bytes of OVS_FLOW_ATTR_*]\n";
  }
  out << "  " << datapath.flow_table().count() << " megaflows under " << datapath.flow_table().mask_count()
      << " masks\n";

  size_t current = 0;
  datapath.set_transmit_hook([&](uint32_t port, const Packet& frame) {
    result.transmitted.push_back({current, port, frame});
  });

  out << "\n== Packets\n";
  for (size_t i = 0; i < script.packets.size(); ++i) {
    const ScriptPacket& spec = script.packets[i];
    current = i;
    Packet frame = compose_packet(spec.key, spec.payload);
    out << "  #" << i + 1 << " in port " << port_label(names, spec.port) << ": " << frame.size() << " bytes\n"
        << std::string(10, ' ') << describe_frame(frame) << "\n";
    if (spec.vxlan) {
      auto vtep = vxlan_by_underlay.find(spec.port);
      if (vtep == vxlan_by_underlay.end())
        return invalid_argument("line " + std::to_string(spec.line) + ": port " + std::to_string(spec.port) +
                                " is no VXLAN port's underlay");
      // The remote VTEP's encapsulation, towards our local address.
      TunnelKey tunnel{};
      tunnel.tun_id = htobe64(spec.vni);
      tunnel.ipv4_src = spec.remote_ip;
      tunnel.ipv4_dst = vtep->second.endpoint.local_ipv4;
      tunnel.tp_dst = htons(vtep->second.endpoint.udp_port);
      tunnel.ttl = 64;
      tunnel.flags = kTunnelKey;
      VxlanEndpoint remote = vtep->second.endpoint;
      std::swap(remote.src_mac, remote.dst_mac);
      remote.local_ipv4 = spec.remote_ip;
      if (Status s = vxlan_encapsulate(frame, tunnel, remote); !s)
        return s.with_context("line " + std::to_string(spec.line));
      out << "      sent by VTEP " << format_ipv4(spec.remote_ip) << " as VXLAN vni " << spec.vni << ": "
          << frame.size() << " bytes\n";
    }
    size_t before = result.transmitted.size();
    ReceiveOutcome outcome = datapath.receive(context, spec.port, std::move(frame));
    context.quiescent();
    if (outcome.malformed) {
      out << "      dropped: malformed\n";
      continue;
    }
    if (outcome.decapsulated) out << "      decapsulated, continues on the VXLAN port\n";
    if (!outcome.hit) {
      out << "      MISS after " << outcome.masks_visited << " masks: queued as an upcall (no slowpath yet)\n";
      result.missed.push_back(i);
      continue;
    }
    out << "      hit megaflow " << index_of_ufid(outcome.ufid) << " ("
        << outcome.masks_visited << " mask" << (outcome.masks_visited == 1 ? "" : "s") << " visited"
        << (outcome.cache_hit ? ", mask cache hit" : "") << ")\n";
    if (result.transmitted.size() == before) out << "      dropped by its actions\n";
    for (size_t t = before; t < result.transmitted.size(); ++t)
      out << "      -> port " << port_label(names, result.transmitted[t].port) << ": "
          << describe_output(result.transmitted[t].frame) << "\n";
  }

  result.final_flows = datapath.flow_table().dump();
  result.stats = datapath.stats();
  uint64_t now = monotonic_ms();
  out << "\n== Megaflow dump (ovs-dpctl dump-flows form), all in the software masked table\n";
  for (const Megaflow& flow : result.final_flows) out << "  " << format_dumped_flow(flow, now) << "\n";

  const DatapathStats& s = result.stats;
  uint64_t lookups = s.hit + s.missed;
  out << "\n== Datapath\n"
      << "  lookups: hit:" << s.hit << " missed:" << s.missed << " lost:" << s.lost << "\n"
      << "  masks: hit:" << s.masks_visited << " total:" << datapath.flow_table().mask_count()
      << " hit/pkt:" << std::fixed << std::setprecision(2)
      << (lookups ? static_cast<double>(s.masks_visited) / static_cast<double>(lookups) : 0.0)
      << "  cache-hit:" << s.cache_hit << "\n"
      << "  malformed:" << s.malformed << " action errors:" << s.action_errors << "\n";
  out << "  ports:\n";
  for (const PortInfo& port : datapath.ports())
    out << "    " << std::left << std::setw(16) << port.name << std::right << " rx " << port.stats.rx_packets
        << " pkts / " << port.stats.rx_bytes << " bytes, tx " << port.stats.tx_packets << " pkts / "
        << port.stats.tx_bytes << " bytes\n";
  return result;
}

}  // namespace flowlift
