// XlateBridge: a bridge's ports as flow translation sees them (OVS's xbridge
// and xport in ofproto-dpif-xlate.c, plus ofproto/tunnel.c's table of tunnel
// ports): each port's OpenFlow number, datapath number, name and type, and
// for a VXLAN port the options that decide what an output to it puts in the
// packet's tunnel metadata and which received tunnel packets belong to it.
//
// Why VXLAN ports look like this: all of a bridge's VXLAN ports with the same
// UDP port share one datapath port (OVS's vxlan_sys_4789). Output to a VXLAN
// port is therefore "set the tunnel metadata, output to the shared port"
// (the kernel-style set(tunnel(...)),4789, which the userspace datapath's
// VXLAN port encapsulates), and a packet the shared port receives is mapped
// back to one OpenFlow port by its tunnel metadata, in OVS's tnl_find() order:
// a fixed key before key=flow, a fixed remote_ip before remote_ip=flow, a
// configured local_ip before "any" before local_ip=flow.
//
// Only IPv4 underlays are modelled (remote_ip/local_ip are IPv4 addresses).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/flow_key.h"
#include "flowlift/status.h"
#include "slowpath/of_flow.h"
#include "slowpath/of_ports.h"

namespace flowlift {

enum class XlatePortType : uint8_t {
  kDummy,     // a netdev-dummy port (tests, the oracle's topology)
  kSystem,    // a kernel network device
  kInternal,  // the bridge's own port (OpenFlow LOCAL)
  kVxlan,
};

// What "key" says (OVS's in_key/out_key options, which flowlift keeps equal).
enum class XlateTunnelKeyMode : uint8_t {
  kNone,   // no key option: sends VNI 0 without the key flag, receives only VNI 0
  kFixed,  // key=N: sends N, receives only N
  kFlow,   // key=flow: sends the flow's tun_id, receives any VNI (rules match tun_id)
};

inline constexpr uint16_t kXlateVxlanDefaultUdpPort = 4789;

struct XlateVxlanOptions {
  Be32 remote_ip = 0;                // remote_ip=A.B.C.D (network order)
  bool remote_ip_from_flow = false;  // remote_ip=flow: tun_dst from the flow
  Be32 local_ip = 0;                 // local_ip=A.B.C.D; 0 = unset (the underlay route picks it)
  bool local_ip_from_flow = false;   // local_ip=flow: tun_src from the flow
  XlateTunnelKeyMode key_mode = XlateTunnelKeyMode::kNone;
  uint64_t key = 0;  // the VNI with kFixed
  uint16_t dst_port = kXlateVxlanDefaultUdpPort;
  uint8_t ttl = 64;
  uint8_t tos = 0;            // DSCP bits; the ECN bits always come from the inner packet
  bool dont_fragment = true;  // OVS's df_default=true
  bool csum = false;

  bool operator==(const XlateVxlanOptions&) const = default;
};

// ovs-vsctl's options text: "remote_ip=192.0.2.2,key=flow", also local_ip,
// dst_port, ttl, tos, df_default (true/false), csum (true/false). Errors name
// the option. remote_ip is required, as OVS requires it.
Result<XlateVxlanOptions> parse_vxlan_options(std::string_view text);

// "vxlan_sys_4789": the name OVS gives the shared datapath port.
std::string vxlan_tunnel_port_name(uint16_t udp_port);

struct XlatePort {
  std::string name;
  uint32_t ofp_port = 0;  // OpenFlow number; kOfPortLocal for the bridge's own port
  // The datapath port output goes to; for a VXLAN port the shared tunnel
  // port (vxlan_sys_4789), which is also where its packets are received.
  uint32_t datapath_port = 0;
  XlatePortType type = XlatePortType::kDummy;
  std::optional<XlateVxlanOptions> vxlan;  // exactly for kVxlan

  bool operator==(const XlatePort&) const = default;
};

class XlateBridge {
 public:
  explicit XlateBridge(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  // Errors: EEXIST for a name or OpenFlow number already present, for a
  // non-tunnel datapath port already in use (VXLAN ports share theirs), or
  // for a VXLAN port that would receive exactly what another one receives
  // (OVS refuses such a port too); EINVAL for an OpenFlow number that is 0,
  // reserved (other than LOCAL) or above the physical range, or VXLAN
  // options on a non-VXLAN port or missing on a VXLAN one.
  Status add_port(XlatePort port);
  Status remove_port(uint32_t ofp_port);

  // Ports in OpenFlow number order (the order FLOOD and ALL output in).
  std::span<const XlatePort> ports() const { return ports_; }
  const XlatePort* find_port(uint32_t ofp_port) const;
  const XlatePort* find_port_by_name(std::string_view name) const;
  // Names for the rule and action syntax ("in_port=p1", "output:vx1").
  const PortNames& port_names() const { return names_; }

  // Which OpenFlow port a packet the datapath received on `datapath_port`
  // came in on: for a tunnel packet (flow.tun_dst set) the VXLAN port whose
  // options accept its tunnel metadata (OVS's tnl_port_receive()), else the
  // port with that datapath number. ENODEV when none does, naming the port
  // and, for a tunnel packet, its VNI and addresses.
  Result<uint32_t> receive_port(uint32_t datapath_port, const OfFlow& flow) const;

 private:
  std::string name_;
  std::vector<XlatePort> ports_;  // sorted by ofp_port
  PortNames names_;
};

}  // namespace flowlift
