// netlink_tunnel: TunnelKey <-> the nested OVS_TUNNEL_KEY_ATTR_* stream.
#include "kmod/netlink_tunnel.h"

#include <string>

#include "flowlift/masked_words.h"

namespace flowlift {
namespace {

int tunnel_attribute_length(uint16_t type) {
  switch (type) {
    case OVS_TUNNEL_KEY_ATTR_ID:
      return 8;
    case OVS_TUNNEL_KEY_ATTR_IPV4_SRC:
    case OVS_TUNNEL_KEY_ATTR_IPV4_DST:
      return 4;
    case OVS_TUNNEL_KEY_ATTR_TOS:
    case OVS_TUNNEL_KEY_ATTR_TTL:
      return 1;
    case OVS_TUNNEL_KEY_ATTR_TP_SRC:
    case OVS_TUNNEL_KEY_ATTR_TP_DST:
      return 2;
    case OVS_TUNNEL_KEY_ATTR_IPV6_SRC:
    case OVS_TUNNEL_KEY_ATTR_IPV6_DST:
      return 16;
    case OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS:
      return kNestedLength;
    case OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS:
    case OVS_TUNNEL_KEY_ATTR_ERSPAN_OPTS:
      return kVariableLength;
    default:
      return 0;  // the flags, PAD and IPV4_INFO_BRIDGE carry nothing
  }
}

Status decode_vxlan_options(std::span<const uint8_t> nested, TunnelKey& tunnel) {
  bool have_gbp = false;
  return for_each_attribute(nested, "", [&](const Attribute& attribute) -> Status {
    if (attribute.type != OVS_VXLAN_EXT_GBP) {
      return invalid_argument("unknown VXLAN extension attribute type " + std::to_string(attribute.type) +
                              " (only OVS_VXLAN_EXT_GBP = 1 exists)");
    }
    if (have_gbp) return invalid_argument("OVS_VXLAN_EXT_GBP: duplicate attribute");
    if (Status s = check_payload_length(attribute, 4, "OVS_VXLAN_EXT_GBP"); !s) return s;
    tunnel.vxlan_gbp = attribute.as<uint32_t>();
    have_gbp = true;
    return Status::ok();
  });
}

}  // namespace

Status decode_tunnel_attributes(std::span<const uint8_t> nested, bool is_mask, TunnelKey& tunnel) {
  uint32_t seen = 0;
  bool ttl = false, ipv4 = false, ipv6 = false;
  uint16_t flags = 0;
  Status walked = for_each_attribute(nested, "", [&](const Attribute& attribute) -> Status {
    uint16_t type = attribute.type;
    if (type > OVS_TUNNEL_KEY_ATTR_MAX) {
      return invalid_argument("unknown tunnel attribute type " + std::to_string(type) +
                              " (OVS_TUNNEL_KEY_ATTR_MAX is " + std::to_string(OVS_TUNNEL_KEY_ATTR_MAX) +
                              ")");
    }
    std::string name = tunnel_attr_name(type);
    if (seen & (1u << type)) return invalid_argument(name + ": duplicate attribute");
    seen |= 1u << type;
    if (Status s = check_payload_length(attribute, tunnel_attribute_length(type), name); !s) return s;
    switch (type) {
      case OVS_TUNNEL_KEY_ATTR_ID:
        tunnel.tun_id = attribute.as<Be64>();
        flags |= kTunnelKey;
        break;
      case OVS_TUNNEL_KEY_ATTR_IPV4_SRC:
        tunnel.ipv4_src = attribute.as<Be32>();
        ipv4 = true;
        break;
      case OVS_TUNNEL_KEY_ATTR_IPV4_DST:
        tunnel.ipv4_dst = attribute.as<Be32>();
        ipv4 = true;
        break;
      case OVS_TUNNEL_KEY_ATTR_IPV6_SRC:
        tunnel.ipv6_src = attribute.as<Ipv6Addr>();
        ipv6 = true;
        break;
      case OVS_TUNNEL_KEY_ATTR_IPV6_DST:
        tunnel.ipv6_dst = attribute.as<Ipv6Addr>();
        ipv6 = true;
        break;
      case OVS_TUNNEL_KEY_ATTR_TOS:
        tunnel.tos = attribute.as<uint8_t>();
        break;
      case OVS_TUNNEL_KEY_ATTR_TTL:
        tunnel.ttl = attribute.as<uint8_t>();
        ttl = true;
        break;
      case OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT:
        flags |= kTunnelDontFragment;
        break;
      case OVS_TUNNEL_KEY_ATTR_CSUM:
        flags |= kTunnelCsum;
        break;
      case OVS_TUNNEL_KEY_ATTR_OAM:
        flags |= kTunnelOam;
        break;
      case OVS_TUNNEL_KEY_ATTR_TP_SRC:
        tunnel.tp_src = attribute.as<Be16>();
        break;
      case OVS_TUNNEL_KEY_ATTR_TP_DST:
        tunnel.tp_dst = attribute.as<Be16>();
        break;
      case OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS:
        return decode_vxlan_options(attribute.payload, tunnel).with_context(name);
      case OVS_TUNNEL_KEY_ATTR_PAD:
        break;
      default:  // GENEVE_OPTS, ERSPAN_OPTS, IPV4_INFO_BRIDGE
        return invalid_argument(name + ": not supported by flowlift (TunnelKey has no field for it)");
    }
    return Status::ok();
  });
  if (!walked) return walked;
  tunnel.flags = flags;
  if (ipv4 && ipv6) return invalid_argument("both IPv4 and IPv6 tunnel addresses are present");
  if (is_mask) return Status::ok();
  if (!ipv4 && !ipv6)
    return invalid_argument("no tunnel destination address (IPV4_DST or IPV6_DST) is present");
  if (ipv4 && tunnel.ipv4_dst == 0)
    return invalid_argument("OVS_TUNNEL_KEY_ATTR_IPV4_DST: the destination is zero");
  if (ipv6 && all_bytes_zero(tunnel.ipv6_dst)) {
    return invalid_argument("OVS_TUNNEL_KEY_ATTR_IPV6_DST: the destination is zero");
  }
  if (!ttl) return invalid_argument("OVS_TUNNEL_KEY_ATTR_TTL missing: a tunnel key needs a TTL");
  return Status::ok();
}

void put_tunnel_attributes(AttributeWriter& writer, const TunnelKey& tunnel, bool ipv6, bool vxlan_options) {
  if (tunnel.flags & kTunnelKey) writer.put_u64(OVS_TUNNEL_KEY_ATTR_ID, tunnel.tun_id);
  if (!ipv6) {
    if (tunnel.ipv4_src) writer.put_u32(OVS_TUNNEL_KEY_ATTR_IPV4_SRC, tunnel.ipv4_src);
    if (tunnel.ipv4_dst) writer.put_u32(OVS_TUNNEL_KEY_ATTR_IPV4_DST, tunnel.ipv4_dst);
  } else {
    if (!all_bytes_zero(tunnel.ipv6_src))
      writer.put(OVS_TUNNEL_KEY_ATTR_IPV6_SRC, tunnel.ipv6_src.data(), 16);
    if (!all_bytes_zero(tunnel.ipv6_dst))
      writer.put(OVS_TUNNEL_KEY_ATTR_IPV6_DST, tunnel.ipv6_dst.data(), 16);
  }
  if (tunnel.tos) writer.put_u8(OVS_TUNNEL_KEY_ATTR_TOS, tunnel.tos);
  writer.put_u8(OVS_TUNNEL_KEY_ATTR_TTL, tunnel.ttl);
  if (tunnel.flags & kTunnelDontFragment) writer.put_flag(OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT);
  if (tunnel.flags & kTunnelCsum) writer.put_flag(OVS_TUNNEL_KEY_ATTR_CSUM);
  if (tunnel.tp_src) writer.put_u16(OVS_TUNNEL_KEY_ATTR_TP_SRC, tunnel.tp_src);
  if (tunnel.tp_dst) writer.put_u16(OVS_TUNNEL_KEY_ATTR_TP_DST, tunnel.tp_dst);
  if (tunnel.flags & kTunnelOam) writer.put_flag(OVS_TUNNEL_KEY_ATTR_OAM);
  if (vxlan_options) {
    size_t options = writer.begin_nested(OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS);
    writer.put_u32(OVS_VXLAN_EXT_GBP, tunnel.vxlan_gbp);
    writer.end_nested(options);
  }
}

}  // namespace flowlift
