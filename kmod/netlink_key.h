// netlink_key: the codec between a megaflow's Match (FlowKey + FlowMask) and
// the OVS_KEY_ATTR_* attribute streams carried in OVS_FLOW_ATTR_KEY and
// OVS_FLOW_ATTR_MASK, byte for byte as net/openvswitch/flow_netlink.c emits
// them (ovs_nla_put_key / ovs_nla_put_mask) and with the checks of
// ovs_nla_get_match when reading them.
//
// Where flowlift's vocabulary cannot say what the kernel's can, the codec
// refuses with an error rather than guessing:
//  - NSH, Geneve/ERSPAN tunnel options and IPv4 "info bridge" tunnels;
//  - a layer-3 key whose mask wildcards the ethertype (the kernel takes it,
//    but dumps it as ETHERTYPE 0, which nothing can read back);
//  - a mask that matches OVS_KEY_ATTR_IPV6_EXTHDRS (the key's value is
//    accepted and dropped, as it is when the mask wildcards it; the encoder
//    never writes the attribute, as kernels before 5.16 did not);
//  - a tunnel mask that wildcards the tunnel destination while matching other
//    tunnel fields (FlowKey has no tun_proto, so "some tunnel" cannot be told
//    from "no tunnel" once the destination is masked away), or that matches
//    addresses of the other family (the kernel overlays them in a union);
//  - an MPLS mask with a different number of label entries than the key.
// A key without OVS_KEY_ATTR_ETHERNET but with OVS_KEY_ATTR_ETHERTYPE is a
// layer-3 packet (mac_proto kMacProtoNone): the ethertype names it, VLAN and
// ENCAP are refused, and the encoder writes no ETHERNET for it. Every
// decoded mask matches mac_proto exactly, as the kernel's does.
// OVS_KEY_ATTR_PACKET_TYPE belongs to userspace OVS: the kernel's attribute
// table has no length for it, so it is refused here as there.
// Decoding is also stricter than the kernel where the task asks for it: an
// L3/L4 attribute the key's eth_type/ip_proto does not call for (IPV4 with
// eth_type 0x0806, TCP with ip_proto 17, ...) is an error even when the mask
// would have wildcarded it.
//
// The encoder follows the kernel's dump, except for masked keys the kernel
// itself could not read back: a wildcarded in_port (the kernel writes
// in_port(0)/0xffff0000), ethertype (ETHERTYPE 0) or TPID, and a conntrack
// tuple with protocol 0. There it writes what decode_match turns back into
// the same Match: no IN_PORT, no ETHERTYPE in the key, a mask without the
// tag's ETHERTYPE/VLAN/ENCAP and 802.1Q as the key's TPID, the tuple.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "flowlift/flow_key.h"
#include "flowlift/status.h"
#include "kmod/netlink_attr.h"
#include "kmod/netlink_key_fields.h"
#include "kmod/netlink_tunnel.h"

namespace flowlift {

// DP_MAX_PORTS: the in_port of a key that carries no OVS_KEY_ATTR_IN_PORT.
// Ports at or above it are rejected.
inline constexpr uint32_t kNoInPort = 0xffff;

// The contents of OVS_FLOW_ATTR_KEY and OVS_FLOW_ATTR_MASK (the attribute
// streams inside the nests, without the nest headers).
struct MatchAttributes {
  std::vector<uint8_t> key;
  std::vector<uint8_t> mask;
};

// A megaflow's key and mask as a flow dump reports them: the key attributes
// carry the masked key, the mask attributes follow the key's shape.
MatchAttributes encode_match(const Match& match);
void put_match_key(AttributeWriter& writer, const Match& match);
void put_match_mask(AttributeWriter& writer, const Match& match);

// A packet's full key (upcall, execute), as ovs_nla_put_key(key, key) emits it.
std::vector<uint8_t> encode_key(const FlowKey& key);
void put_packet_key(AttributeWriter& writer, const FlowKey& key);

// ovs_nla_get_match: parses the key attributes and, when given, the mask
// attributes. Without a mask the match is exact on every attribute the key
// carries (the kernel's behaviour when OVS_FLOW_ATTR_MASK is absent). Errors
// name the attribute and what was wrong with it.
Result<Match> decode_match(std::span<const uint8_t> key_attributes,
                           std::optional<std::span<const uint8_t>> mask_attributes);
// A packet's key (an upcall's or an execute's OVS_PACKET_ATTR_KEY): the key
// half of decode_match, without deriving a mask, so keys no flow could be
// installed with (a truncated VLAN tag, IPV6_EXTHDRS) still decode. A key
// without OVS_KEY_ATTR_IN_PORT has kNoInPort, an 802.3 frame eth_type 0x05ff.
Result<FlowKey> decode_key(std::span<const uint8_t> key_attributes);

}  // namespace flowlift
