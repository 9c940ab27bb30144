// netlink_key: the codec between a megaflow's Match (FlowKey + FlowMask) and
// the OVS_KEY_ATTR_* attribute streams carried in OVS_FLOW_ATTR_KEY and
// OVS_FLOW_ATTR_MASK, byte for byte as net/openvswitch/flow_netlink.c emits
// them (ovs_nla_put_key / ovs_nla_put_mask) and with the checks of
// ovs_nla_get_match when reading them.
//
// Where flowlift's vocabulary cannot say what the kernel's can, the codec
// refuses with an error rather than guessing:
//  - layer-3 flows (OVS_KEY_ATTR_ETHERTYPE without OVS_KEY_ATTR_ETHERNET),
//    NSH, Geneve/ERSPAN tunnel options and IPv4 "info bridge" tunnels;
//  - a mask that matches OVS_KEY_ATTR_IPV6_EXTHDRS (the key's value is
//    accepted and dropped, as it is when the mask wildcards it; the encoder
//    never writes the attribute, as kernels before 5.16 did not);
//  - a tunnel mask that wildcards the tunnel destination while matching other
//    tunnel fields (FlowKey has no tun_proto, so "some tunnel" cannot be told
//    from "no tunnel" once the destination is masked away), or that matches
//    addresses of the other family (the kernel overlays them in a union);
//  - an MPLS mask with a different number of label entries than the key.
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
// A packet's key (execute, upcall replies): decode_match without a mask,
// returning the key unmasked, so that a key without OVS_KEY_ATTR_IN_PORT has
// kNoInPort and an 802.3 frame eth_type 0x05ff.
Result<FlowKey> decode_key(std::span<const uint8_t> key_attributes);

// --- Single key attributes, shared with the SET actions codec. ---

inline constexpr int kNestedLength = -1;
inline constexpr int kVariableLength = -2;
// The payload length the kernel's ovs_key_lens expects for a key attribute
// type (kNestedLength / kVariableLength), or 0 for a type with no entry.
int key_attribute_length(uint16_t type);
// Whether the attribute maps onto FlowKey fields one to one (all fixed-size
// attributes plus MPLS); TUNNEL, ENCAP, NSH, ... are not.
bool key_attribute_has_fields(uint16_t type);
// Serialises the fields of one attribute. For MPLS, `mpls_labels` entries.
std::vector<uint8_t> key_attribute_payload(uint16_t type, const FlowKey& fields, int mpls_labels = 1);
// Copies a payload whose length was checked into the attribute's fields of
// `fields`; for MPLS it also stores the number of entries in mpls_depth.
void key_attribute_to_fields(uint16_t type, std::span<const uint8_t> payload, FlowKey& fields);

// OVS_KEY_ATTR_TUNNEL's nested OVS_TUNNEL_KEY_ATTR_* stream (ip_tun_from_nlattr):
// a key must name a non-zero destination and a TTL; a mask need not.
Status decode_tunnel_attributes(std::span<const uint8_t> nested, bool is_mask, TunnelKey& tunnel);
// Writes the nested tunnel attributes of `tunnel` (not the OVS_KEY_ATTR_TUNNEL
// header) as __ip_tun_to_nlattr does: addresses of `ipv6` or IPv4 family and
// non-zero fields only, TTL always, VXLAN options when asked.
void put_tunnel_attributes(AttributeWriter& writer, const TunnelKey& tunnel, bool ipv6, bool vxlan_options);

}  // namespace flowlift
