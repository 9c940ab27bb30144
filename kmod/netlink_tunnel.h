// netlink_tunnel: the nested OVS_TUNNEL_KEY_ATTR_* stream inside
// OVS_KEY_ATTR_TUNNEL (in keys, masks and set(tunnel) actions) and the
// TunnelKey it describes, as ip_tun_from_nlattr reads it and
// __ip_tun_to_nlattr writes it. Geneve and ERSPAN options and the IPv4 "info
// bridge" mode have no TunnelKey field and are refused.
#pragma once

#include <cstdint>
#include <span>

#include "flowlift/flow_key.h"
#include "flowlift/status.h"
#include "kmod/netlink_attr.h"

namespace flowlift {

// A key (is_mask false) must name a non-zero destination and a TTL; a mask
// need not. Either may not mix IPv4 and IPv6 addresses. Sets the fields the
// stream names and tunnel.flags from the ID/DONT_FRAGMENT/CSUM/OAM present.
Status decode_tunnel_attributes(std::span<const uint8_t> nested, bool is_mask, TunnelKey& tunnel);

// Writes the nested attributes (not the OVS_KEY_ATTR_TUNNEL header): ID when
// kTunnelKey is set, the addresses of the `ipv6` or IPv4 family and TOS, TP
// ports when non-zero, TTL always, the flag attributes, and VXLAN options
// when `vxlan_options`.
void put_tunnel_attributes(AttributeWriter& writer, const TunnelKey& tunnel, bool ipv6, bool vxlan_options);

}  // namespace flowlift
