// kernel_dpif_vport: the ovs_vport family's messages (OVS_VPORT_CMD_NEW,
// DEL, GET, SET, dump) and the reply describing one vport: number, type,
// name, upcall PIDs, counters and, for VXLAN, its UDP port.
//
// A VXLAN vport's OVS_TUNNEL_ATTR_DST_PORT is a u16 in host order (the
// kernel's vxlan_configure_exts/vxlan_tnl_create read it with nla_get_u16
// and convert it with htons), unlike every port in a flow key.
#pragma once

#include <linux/openvswitch.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/status.h"

namespace flowlift {

struct KernelVportCreate {
  int dp_ifindex = 0;
  std::string name;
  uint32_t type = OVS_VPORT_TYPE_NETDEV;   // OVS_VPORT_TYPE_*
  uint32_t number = 0;                     // 0: the kernel picks the lowest free number
  std::vector<uint32_t> upcall_pids;       // required by the kernel; at least one entry
  std::optional<uint16_t> vxlan_udp_port;  // OVS_VPORT_TYPE_VXLAN: OVS_TUNNEL_ATTR_DST_PORT
};

std::vector<uint8_t> build_vport_new(const KernelVportCreate& create);
// OVS_VPORT_CMD_DEL / OVS_VPORT_CMD_GET of port `number`.
std::vector<uint8_t> build_vport_by_number(int dp_ifindex, uint32_t number);
// OVS_VPORT_CMD_GET by name (the datapath need not be known).
std::vector<uint8_t> build_vport_by_name(std::string_view name);
// The dump request of every vport of a datapath.
std::vector<uint8_t> build_vport_dump(int dp_ifindex);
// OVS_VPORT_CMD_SET of port `number`'s upcall PIDs.
std::vector<uint8_t> build_vport_set_upcall_pids(int dp_ifindex, uint32_t number,
                                                 std::span<const uint32_t> upcall_pids);

struct KernelVportInfo {
  int dp_ifindex = 0;
  uint32_t number = 0;
  uint32_t type = OVS_VPORT_TYPE_UNSPEC;
  std::string name;
  std::vector<uint32_t> upcall_pids;
  ovs_vport_stats stats{};
  std::optional<uint16_t> vxlan_udp_port;
  uint32_t ifindex = 0;  // OVS_VPORT_ATTR_IFINDEX (Linux 4.x+), 0 when absent
};

// A vport reply's payload. PORT_NO, TYPE, NAME and STATS are required;
// unknown attributes are skipped, malformed ones are EPROTO.
Result<KernelVportInfo> parse_vport_reply(std::span<const uint8_t> payload);

// "netdev", "internal", "gre", "vxlan", "geneve" (ovs-dpctl's words).
std::string_view kernel_vport_type_name(uint32_t type);

}  // namespace flowlift
