// The match (key and mask) of a datapath flow in the text `ovs-dpctl
// dump-flows` prints, both ways: Open vSwitch's odp_flow_format() and
// odp_flow_from_string() in lib/odp-util.c, applied to the attributes the
// kernel's flow_netlink.c dumps for a masked key.
//
// What prints: an attribute appears when its mask is not all-zero, in the
// order the datapath dumps attributes; within it, the fields with a non-zero
// mask, as "value" when fully masked and "value/mask" otherwise. Layering
// follows the masked key: ipv4(...) only under eth_type(0x0800), tcp(...)
// only when proto is 6 and frag is not "later", nd(...) only for ICMPv6
// neighbour solicitation/advertisement, VLAN tags as eth_type(TPID),vlan(..),
// encap(...). The parser refuses text that breaks this layering (the kernel
// would refuse the attributes too), so what it reads prints back the same,
// with one exception taken from the kernel: a tunnel address, tos or port
// matched exactly against zero does not print, because the kernel leaves
// zero-valued tunnel attributes out of the key it dumps (tunnel(tos=0) reads
// as a match on tos but prints as tunnel()).
//
// Ethernet or layer 3: as in odp-util, a match with eth(...) (even eth()) is
// an Ethernet frame and one without it a layer-3 packet (the kernel's key
// without OVS_KEY_ATTR_ETHERNET, mac_proto none) named by its eth_type(...);
// a layer-3 match has no vlan/encap and prints no eth. Every parsed mask
// matches mac_proto exactly, as the kernel's does.
//
// Forced/odd cases reproduced from odp-util: the kernel style always shows
// eth() for an Ethernet key even when wildcarded; an 802.2 frame (eth_type
// 0x05ff in FlowKey) has no EtherType in the key and prints
// ",eth_type(0/0xffff)" at the end of its level; recirc_id(...) cannot carry a
// mask; numbers print as odp-util does (recirc_id(0), recirc_id(0x1),
// ct_zone(0x5), tos=0x4/0xfc).
#pragma once

#include <string>
#include <string_view>

#include "flowlift/actions.h"
#include "flowlift/flow_key.h"
#include "flowlift/status.h"

namespace flowlift {

// Whose dump to reproduce.
//  kKernel: `ovs-dpctl dump-flows` on the Linux datapath (what flowlift twins):
//    recirc_id, dp_hash, skb_priority, tunnel, in_port, skb_mark, ct_state,
//    ct_zone, ct_mark, ct_label, ct_tuple, eth (eth() when wildcarded), ...
//  kUserspace: `ovs-appctl dpctl/dump-flows` on the userspace datapath (OVS's
//    own test oracle): skb_priority, tunnel, skb_mark, ct_*, recirc_id,
//    dp_hash, in_port, packet_type(ns=0,id=0) (layer 3: packet_type(ns=1,
//    id=0x800)), eth only when matched, ...
enum class OdpTextStyle { kKernel, kUserspace };

// A Match's key is masked, as the kernel dumps it.
std::string format_match(const Match& match, OdpTextStyle style = OdpTextStyle::kKernel);

// A key with bits outside its mask kept, as OVS's userspace datapath dumps
// the key of the packet that created the flow ("src=10.15.106.251/255.248.0.1").
struct UnmaskedMatch {
  FlowKey key{};
  FlowMask mask;
  Match to_match() const { return Match(key, mask); }
};
// Values print exactly as held; which attributes print follows key & mask.
std::string format_match(const UnmaskedMatch& match, OdpTextStyle style = OdpTextStyle::kKernel);
// Like parse_match, keeping every value as written.
Result<UnmaskedMatch> parse_unmasked_match(std::string_view text);

// Reads a whole match. Attributes may come in any order, separated by ',' or
// white space. A field not named is wildcarded; "field=value" is exact.
// Without eth(...) the match is a layer-3 packet and needs eth_type(...).
// packet_type(ns=0,id=0) says Ethernet (eth may then be left out);
// packet_type(ns=1,id=T) says layer 3 with EtherType T.
Result<Match> parse_match(std::string_view text);

// Reads the match at the front of `text` and stops before the first item that
// is not a key attribute (such as ", packets:" in a dumped flow line).
// `*consumed` is the length used, separators after the last attribute excluded.
Result<Match> parse_match_prefix(std::string_view text, size_t* consumed);

// The key attribute inside set(...): "ipv4(ttl=63)". As in odp-util, a set
// whose every field is given with a full mask is OVS_ACTION_ATTR_SET
// (masked=false, mask all-ones over the attribute's fields); otherwise it is
// OVS_ACTION_ATTR_SET_MASKED with the masks as written and the values masked
// (the kernel ORs a masked set's value in, so it must stay inside its mask).
// `*consumed` ends after the attribute's ')'.
Result<SetAction> parse_set_attribute(std::string_view text, size_t* consumed);
// SET prints every field of the attribute, no masks; SET_MASKED prints the
// fields with a non-zero mask, "value/mask" where partial.
std::string format_set_attribute(const SetAction& set);

}  // namespace flowlift
