// XlateBridge: ports, the VXLAN options syntax, and the tunnel receive mapping.
#include "slowpath/xlate_bridge.h"

#include <arpa/inet.h>
#include <endian.h>

#include <algorithm>
#include <array>

#include "kmod/odp_text_fields.h"
#include "slowpath/of_field_text.h"

namespace flowlift {

namespace {

// OVS's enum ip_src_type: how a port treats the address packets arrive at.
enum class TunnelLocalMatch : uint8_t { kConfigured, kAny, kFromFlow };

TunnelLocalMatch local_match_of(const XlateVxlanOptions& options) {
  if (options.local_ip_from_flow) return TunnelLocalMatch::kFromFlow;
  return options.local_ip != 0 ? TunnelLocalMatch::kConfigured : TunnelLocalMatch::kAny;
}

// The fields OVS's struct tnl_match compares, for a port.
struct TunnelReceiveKey {
  uint32_t datapath_port;
  bool key_from_flow;
  uint64_t key;
  bool remote_from_flow;
  Be32 remote_ip;
  TunnelLocalMatch local_match;
  Be32 local_ip;
  bool operator==(const TunnelReceiveKey&) const = default;
};

TunnelReceiveKey receive_key_of(const XlatePort& port) {
  const XlateVxlanOptions& o = *port.vxlan;
  TunnelLocalMatch local = local_match_of(o);
  return TunnelReceiveKey{
      port.datapath_port,
      o.key_mode == XlateTunnelKeyMode::kFlow,
      o.key_mode == XlateTunnelKeyMode::kFixed ? o.key : 0,
      o.remote_ip_from_flow,
      o.remote_ip_from_flow ? 0 : o.remote_ip,
      local,
      local == TunnelLocalMatch::kConfigured ? o.local_ip : 0,
  };
}

bool is_valid_ofp_port(uint32_t port) { return port == kOfPortLocal || (port != 0 && port < kOfPortMax); }

Result<bool> parse_bool_option(std::string_view name, std::string_view value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return invalid_argument("option " + std::string(name) + "=" + std::string(value) +
                          ": expected true or false");
}

}  // namespace

std::string vxlan_tunnel_port_name(uint16_t udp_port) { return "vxlan_sys_" + std::to_string(udp_port); }

Result<XlateVxlanOptions> parse_vxlan_options(std::string_view text) {
  XlateVxlanOptions o;
  bool have_remote = false;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      return invalid_argument("option \"" + std::string(item) + "\": expected name=value");
    std::string_view name = item.substr(0, eq), value = item.substr(eq + 1);
    auto bad = [&](const std::string& why) {
      return invalid_argument("option " + std::string(item) + ": " + why);
    };
    if (name == "remote_ip" || name == "local_ip") {
      bool remote = name == "remote_ip";
      if (value == "flow") {
        (remote ? o.remote_ip_from_flow : o.local_ip_from_flow) = true;
      } else {
        Result<Be32> ip = odp_text::parse_ipv4(value);
        if (!ip) return bad("expected an IPv4 address or \"flow\"");
        (remote ? o.remote_ip : o.local_ip) = *ip;
      }
      have_remote |= remote;
    } else if (name == "key") {
      if (value == "flow") {
        o.key_mode = XlateTunnelKeyMode::kFlow;
      } else {
        Result<Uint128> key = parse_integer(value, 64);
        if (!key) return bad(key.status().message());
        if (*key > 0xffffff) return bad("a VXLAN key (VNI) has 24 bits");
        o.key_mode = XlateTunnelKeyMode::kFixed;
        o.key = static_cast<uint64_t>(*key);
      }
    } else if (name == "dst_port" || name == "ttl" || name == "tos") {
      int bits = name == "dst_port" ? 16 : 8;
      Result<Uint128> v = parse_integer(value, bits);
      if (!v) return bad(v.status().message());
      if (name == "dst_port") {
        if (*v == 0) return bad("the UDP port cannot be 0");
        o.dst_port = static_cast<uint16_t>(*v);
      } else if (name == "ttl") {
        o.ttl = static_cast<uint8_t>(*v);
      } else {
        if (*v & 0x3) return bad("tos sets the DSCP bits; the ECN bits come from the inner packet");
        o.tos = static_cast<uint8_t>(*v);
      }
    } else if (name == "df_default" || name == "csum") {
      Result<bool> b = parse_bool_option(name, value);
      if (!b) return b.status();
      (name == "csum" ? o.csum : o.dont_fragment) = *b;
    } else {
      return invalid_argument("option " + std::string(item) + ": unknown VXLAN option \"" +
                              std::string(name) + "\"");
    }
  }
  if (!have_remote) return invalid_argument("VXLAN options need remote_ip (an address or \"flow\")");
  return o;
}

Status XlateBridge::add_port(XlatePort port) {
  const std::string label = "port " + port.name + " (OpenFlow " + std::to_string(port.ofp_port) + ")";
  if (port.name.empty()) return invalid_argument("a port needs a name");
  if (!is_valid_ofp_port(port.ofp_port))
    return invalid_argument(label + ": OpenFlow port numbers are 1..0xfeff or LOCAL");
  if ((port.type == XlatePortType::kVxlan) != port.vxlan.has_value())
    return invalid_argument(label + (port.vxlan ? ": only VXLAN ports take VXLAN options"
                                                : ": a VXLAN port needs its options (remote_ip, key, ...)"));
  for (const XlatePort& other : ports_) {
    if (other.name == port.name)
      return Status(EEXIST, label + ": the name is taken by OpenFlow port " + std::to_string(other.ofp_port));
    if (other.ofp_port == port.ofp_port)
      return Status(EEXIST, label + ": the OpenFlow number is taken by port " + other.name);
    bool both_tunnels = other.vxlan && port.vxlan;
    if (other.datapath_port == port.datapath_port && !both_tunnels)
      return Status(EEXIST, label + ": datapath port " + std::to_string(port.datapath_port) +
                                " is taken by port " + other.name);
    if (both_tunnels && receive_key_of(other) == receive_key_of(port))
      return Status(EEXIST, label + ": receives the same tunnel packets as port " + other.name);
  }
  names_.add(port.name, port.ofp_port);
  auto at = std::lower_bound(ports_.begin(), ports_.end(), port.ofp_port,
                             [](const XlatePort& p, uint32_t n) { return p.ofp_port < n; });
  ports_.insert(at, std::move(port));
  return Status::ok();
}

Status XlateBridge::remove_port(uint32_t ofp_port) {
  auto it =
      std::find_if(ports_.begin(), ports_.end(), [&](const XlatePort& p) { return p.ofp_port == ofp_port; });
  if (it == ports_.end()) return Status(ENOENT, "no OpenFlow port " + std::to_string(ofp_port));
  ports_.erase(it);
  names_ = PortNames();
  for (const XlatePort& p : ports_) names_.add(p.name, p.ofp_port);
  return Status::ok();
}

const XlatePort* XlateBridge::find_port(uint32_t ofp_port) const {
  auto it = std::lower_bound(ports_.begin(), ports_.end(), ofp_port,
                             [](const XlatePort& p, uint32_t n) { return p.ofp_port < n; });
  return it != ports_.end() && it->ofp_port == ofp_port ? &*it : nullptr;
}

const XlatePort* XlateBridge::find_port_by_name(std::string_view name) const {
  for (const XlatePort& p : ports_)
    if (p.name == name) return &p;
  return nullptr;
}

Result<uint32_t> XlateBridge::receive_port(uint32_t datapath_port, const OfFlow& flow) const {
  if (flow.tun_dst == 0) {
    for (const XlatePort& p : ports_)
      if (!p.vxlan && p.datapath_port == datapath_port) return p.ofp_port;
    return Status(ENODEV,
                  "bridge " + name_ + ": no port has datapath number " + std::to_string(datapath_port));
  }
  // tnl_find(): the twelve ways a port can match, most specific first.
  const uint64_t vni = be64toh(flow.tun_id);
  for (bool key_from_flow : {false, true}) {
    for (bool remote_from_flow : {false, true}) {
      for (TunnelLocalMatch local :
           {TunnelLocalMatch::kConfigured, TunnelLocalMatch::kAny, TunnelLocalMatch::kFromFlow}) {
        TunnelReceiveKey wanted{datapath_port,
                                key_from_flow,
                                key_from_flow ? 0 : vni,
                                remote_from_flow,
                                remote_from_flow ? 0 : flow.tun_src,
                                local,
                                local == TunnelLocalMatch::kConfigured ? flow.tun_dst : 0};
        for (const XlatePort& p : ports_)
          if (p.vxlan && receive_key_of(p) == wanted) return p.ofp_port;
      }
    }
  }
  return Status(ENODEV, "bridge " + name_ + ": no tunnel port on datapath port " +
                            std::to_string(datapath_port) + " receives VNI " + odp_text::hex(vni) + " from " +
                            odp_text::format_ipv4(flow.tun_src) + " to " +
                            odp_text::format_ipv4(flow.tun_dst));
}

}  // namespace flowlift
