// The ground between OpenFlow translation and the datapath: a packet's
// datapath FlowKey (what flow_key_extract gives) as the OfFlow translation
// reads, and back; and a translated megaflow (an OfMatch over OfFlow) as the
// datapath Match (FlowKey + FlowMask) that the masked flow table and the
// netlink codec install.
//
// FlowKey -> OfFlow follows OVS's odp_flow_key_to_flow(): the ARP opcode
// goes to nw_proto (opcodes above 255 are refused, as OVS refuses them) and
// the ARP addresses to nw_src/nw_dst/arp_sha/arp_tha; ND's sll/tll to
// arp_sha/arp_tha; ICMP type/code stay in tp_src/tp_dst; ip_frag becomes the
// nw_frag bits (first = ANY, later = ANY|LATER); vlan_tci keeps its CFI
// ("tag present") bit; dl_type is the type after the VLAN tag; the outermost
// MPLS label stack entry goes to mpls_lse; the datapath in_port becomes an
// OpenFlow port through a caller's mapping (a tunnel port maps by the
// packet's tunnel metadata, as OVS's tnl_port_receive() picks vx1 or vx2 for
// the shared vxlan_sys_4789). What OfFlow cannot hold is refused rather than
// dropped: a layer-3 (non-Ethernet) packet, an inner QinQ tag, conntrack
// state, dp_hash, a VXLAN GBP policy.
//
// OfMatch -> Match follows what OVS's odp_flow_key_from_mask() and the
// kernel's ovs_nla_get_match() make of a megaflow, given the key of the
// packet it was translated for (the datapath installs a flow for that
// packet's key; values come from it, masks from the megaflow):
//  - recirc_id, in_port (mapped to the datapath port), eth_type and
//    mac_proto are matched exactly whatever the megaflow says;
//  - VLAN: the tag's presence is always exact. An untagged packet's flow
//    matches untagged packets only (the kernel's "no VLAN attribute = tci
//    exactly 0", README quirk 10): tci mask 0xffff. A tagged packet's flow
//    matches the TPID exactly and the CFI bit plus whatever tci bits the
//    megaflow matched; the inner (C-VLAN) tci is exactly 0;
//  - ICMP type/code are 8 bits in the datapath: the mask keeps its low byte;
//  - nw_frag: any frag bit in the mask makes ip_frag exact (the datapath
//    field is an enumeration, not bits);
//  - ARP: nw_proto's mask applies to the opcode's low byte, and the high
//    byte is then matched as 0 (OpenFlow cannot see opcodes above 255);
//  - L4 and ND masks pin ip_proto and ip_frag, and ND masks the ICMPv6
//    type, as the kernel requires before it accepts those attributes; a
//    later fragment's flow has no L4 masks (its key has no L4 fields); a
//    mask dropped because the packet lacks the field stays sound because
//    what is pinned rules out every packet that has it;
//  - a tunnel packet's flow matches exactly the fields a tunnel port lookup
//    reads (tun_src, tun_dst, tun_id and the key flag, as OVS's
//    tnl_port_receive() does): they decide which OpenFlow port a packet on a
//    shared tunnel datapath port (vxlan_sys_4789) belongs to. A packet from
//    a non-tunnel port carries no tunnel, and its flow leaves tunnel fields
//    wildcarded (in_port already rules tunnels out, as OVS's
//    xlate_wc_finish() does).
// Narrowing is always safe (the flow only misses more), widening never is:
// where the datapath cannot say exactly what the megaflow says, the flow is
// narrowed to the packet's value, never widened. Errors: a megaflow that
// does not match its packet, one that matches registers/metadata/conj_id
// (not packet fields: translation clears them, as xlate_wc_finish() does),
// an in_port with no datapath port.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "flowlift/flow_key.h"
#include "flowlift/status.h"
#include "slowpath/of_flow.h"

namespace flowlift {

// Datapath port (and, for a packet received on a tunnel port, its tunnel
// metadata; nullptr otherwise) -> OpenFlow port; nullopt when the port is unknown.
using DatapathToOfPort =
    std::function<std::optional<uint32_t>(uint32_t datapath_port, const TunnelKey* tunnel)>;
// OpenFlow port -> datapath port; nullopt when the port has none.
using OfToDatapathPort = std::function<std::optional<uint32_t>(uint32_t of_port)>;

// The OfFlow OVS's xlate would see for a packet with this key.
Result<OfFlow> of_flow_from_key(const FlowKey& key, const DatapathToOfPort& to_of_port);
// The same, written into `out` (every byte of it; on an error `out` holds no
// useful flow): returning an OfFlow through a Result copied it twice, and a
// handler converts a key on every upcall.
Status of_flow_from_key(const FlowKey& key, const DatapathToOfPort& to_of_port, OfFlow& out);

// The FlowKey flow_key_extract gives for a packet whose OfFlow is `flow`
// (the inverse of of_flow_from_key for every key it accepts with an MPLS
// stack of at most one entry; OfFlow keeps only the outermost entry).
// Fields that do not belong to the flow's dl_type are left zero, as
// extraction leaves them.
Result<FlowKey> key_from_of_flow(const OfFlow& flow, const OfToDatapathPort& to_datapath_port);

// The datapath flow match for `megaflow`, translated for the packet whose key
// is `packet_key` (see the rules above). The result always matches
// `packet_key`, and never matches a key whose OfFlow `megaflow` does not
// match (given that only tunnel ports receive packets with tunnel metadata).
Result<Match> datapath_match_from_megaflow(const OfMatch& megaflow, const FlowKey& packet_key,
                                           const OfToDatapathPort& to_datapath_port);
// The same, for a caller that holds the packet's OfFlow already
// (of_flow_from_key of `packet_key`, as a handler has it from translating):
// saves converting the key a second time on every flow setup.
Result<Match> datapath_match_from_megaflow(const OfMatch& megaflow, const FlowKey& packet_key,
                                           const OfFlow& packet_flow,
                                           const OfToDatapathPort& to_datapath_port);
// The same, written into `out` (every byte of it; on an error `out` holds
// no useful match): a handler builds the match where its flow put holds it,
// saving the copies of a ~600-byte Match through a Result and into the put.
Status datapath_match_from_megaflow(const OfMatch& megaflow, const FlowKey& packet_key,
                                    const OfFlow& packet_flow, const OfToDatapathPort& to_datapath_port,
                                    Match& out);

// The other way, for reading datapath flows in OpenFlow terms (comparing
// an `ovs-dpctl dump-flows` line with a megaflow): what `match` matches, as
// an OfMatch, the way OVS's odp_flow_key_to_mask() reads a datapath mask.
// The kernel's implicit constraints become explicit fields: an untagged-only
// flow matches vlan_tci=0x0000/0xffff; an exactly matched ip_frag is nw_frag
// with both bits. The in_port goes through `to_of_port` (with the flow's
// tunnel metadata when it matches a tunnel); pass a function that returns
// the port unchanged to keep datapath numbers. Errors for what OfFlow cannot
// say: conntrack or dp_hash matches, an inner (QinQ) tag, a layer-3 flow.
Result<OfMatch> of_match_from_datapath_match(const Match& match, const DatapathToOfPort& to_of_port);

}  // namespace flowlift
