// The OpenFlow field registry (Open vSwitch's meta-flow): one table entry per
// field a rule can match, set_field/load can write or move can copy. An entry
// says what the field is called (ovs-ofctl name, alias, NXM and OXM names),
// where its value lives in OfFlow, how wide it is, whether it can be masked,
// what the match must already say for the field to make sense (OVS's
// prerequisites) and how its value is written in text.
//
// Storage model: a field's value is `n_bits` wide. It sits in a storage unit
// of OfFlow (`storage_bytes` at `offset`, network or host byte order) at bit
// `shift` of that unit read as an integer. Fields that share a unit are
// sub-ranges of it: ip_dscp (shift 2, 6 bits) and nw_ecn (2 bits) in nw_tos;
// vlan_vid (13 bits, CFI included), dl_vlan (12 bits) and vlan_pcp (shift 13,
// 3 bits) in vlan_tci; mpls_label/tc/bos/ttl in the top LSE; icmp_type (8
// bits) in tp_src. Values travel as Uint128 (right-aligned), the widest field
// being an IPv6 address.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "flowlift/status.h"
#include "slowpath/of_flow.h"

namespace flowlift {

using Uint128 = unsigned __int128;

enum class OfFieldId : uint8_t {
  // metadata
  kRecircId,
  kConjId,
  kTunId,
  kTunSrc,
  kTunDst,
  kTunIpv6Src,
  kTunIpv6Dst,
  kTunFlags,
  kTunTtl,
  kTunTos,
  kMetadata,
  kInPort,
  kSkbPriority,
  kPktMark,
  kReg0,
  kReg15 = kReg0 + 15,
  kXreg0,  // OpenFlow 1.5 64-bit registers: xregN is regN*2 (high half) and regN*2+1
  kXreg7 = kXreg0 + 7,
  // L2
  kEthSrc,
  kEthDst,
  kEthType,
  kVlanTci,
  kDlVlan,
  kVlanVid,
  kDlVlanPcp,
  kVlanPcp,
  kMplsLabel,
  kMplsTc,
  kMplsBos,
  kMplsTtl,
  // L3
  kIpv4Src,
  kIpv4Dst,
  kIpv6Src,
  kIpv6Dst,
  kIpv6Label,
  kIpProto,
  kIpTos,   // "nw_tos": the DSCP bits in place (ECN bits zero)
  kIpDscp,  // "ip_dscp": the DSCP shifted down
  kIpEcn,
  kIpTtl,
  kIpFrag,
  kArpOp,
  kArpSpa,
  kArpTpa,
  kArpSha,
  kArpTha,
  kNdTarget,
  kNdSll,
  kNdTll,
  // L4
  kTpSrc,  // "tp_src": the port of whichever of TCP/UDP/SCTP the match names
  kTpDst,
  kTcpSrc,
  kTcpDst,
  kTcpFlags,
  kUdpSrc,
  kUdpDst,
  kSctpSrc,
  kSctpDst,
  kIcmpType,  // "icmp_type": ICMPv4 or ICMPv6 type, as OVS accepts it with icmp6
  kIcmpCode,
  kIcmpv6Type,
  kIcmpv6Code,
  kCount,
};

inline constexpr size_t kOfFieldCount = static_cast<size_t>(OfFieldId::kCount);

inline OfFieldId of_register(int index) {
  return static_cast<OfFieldId>(static_cast<int>(OfFieldId::kReg0) + index);
}
inline OfFieldId of_extended_register(int index) {
  return static_cast<OfFieldId>(static_cast<int>(OfFieldId::kXreg0) + index);
}

// What the match must establish before a field can be matched or written
// (OVS's enum mf_prereqs, plus the combined forms OVS's parser tolerates).
enum class OfPrereq : uint8_t {
  kNone,
  kVlan,  // a tag present: vlan_tci's CFI bit matched as 1
  kIpv4,
  kIpv6,
  kIpAny,
  kArp,  // ARP or RARP
  kMpls,
  kTcp,
  kUdp,
  kSctp,
  kTcpUdpSctp,
  kIcmpv4,
  kIcmpv6,
  kIcmpAny,
  kNd,  // ICMPv6 neighbor solicitation or advertisement, code 0
  kNdSolicit,
  kNdAdvert,
};

// How a value is written in text (OVS's enum mf_string).
enum class OfFieldFormat : uint8_t {
  kDecimal,
  kHex,
  kEthernet,
  kIpv4,
  kIpv6,
  kPort,  // OpenFlow port number or name
  kFrag,  // no, yes, first, later, not_later
  kTcpFlags,
  kTunnelFlags,
};

// Field behaviours that a (offset, shift, width) triple cannot express.
enum OfFieldQuirk : uint8_t {
  kOfQuirkNone = 0,
  // Writing or matching the field also sets vlan_tci's CFI bit ("a tag is
  // present"), as OVS's dl_vlan, dl_vlan_pcp and vlan_pcp do.
  kOfQuirkSetsVlanPresent = 1 << 0,
  // An exact match covers the whole 16-bit tp_src/tp_dst unit, as OVS's
  // match_set_icmp_type() does; a masked one only the low 8 bits.
  kOfQuirkExactCoversUnit = 1 << 1,
  // The 8-byte unit is two host-order 32-bit registers, the first one the
  // high half (OVS's flow_get_xreg()).
  kOfQuirkRegisterPair = 1 << 2,
};

struct OfField {
  OfFieldId id;
  std::string_view name;      // ovs-fields(7) name; printed by set_field
  std::string_view alias;     // other accepted name ("dl_src" for eth_src), or empty
  std::string_view nxm_name;  // NXM_OF_* / NXM_NX_*, or empty
  std::string_view oxm_name;  // OXM_OF_*, or empty
  uint16_t offset;            // storage unit's byte offset in OfFlow
  uint8_t storage_bytes;      // 1, 2, 4, 6, 8 or 16
  bool network_order;         // storage unit holds network byte order
  uint8_t shift;              // value's bit 0 within the unit
  uint8_t n_bits;             // value width
  uint8_t unit_bits_kept;     // for nw_tos only: which unit bits a write changes (0 = the value's bits)
  bool maskable;
  bool writable;
  OfPrereq prereq;
  OfFieldFormat format;
  uint8_t quirks;  // OfFieldQuirk

  // The name subfields print with (OVS prints NXM names, else OXM, else the field name).
  std::string_view subfield_name() const {
    return !nxm_name.empty() ? nxm_name : !oxm_name.empty() ? oxm_name : name;
  }
  // All ones over the value's width.
  Uint128 value_mask() const { return n_bits >= 128 ? ~Uint128{0} : (Uint128{1} << n_bits) - 1; }
};

std::span<const OfField> all_of_fields();
const OfField& of_field(OfFieldId id);
// By ovs-fields name, alias, NXM or OXM name; nullptr when unknown.
const OfField* find_of_field(std::string_view name);

// The field's value in `flow`.
Uint128 read_field(const OfFlow& flow, const OfField& field);
// Writes the value's n_bits (higher bits are ignored) and nothing else,
// except that kOfQuirkSetsVlanPresent fields also set the CFI bit.
void write_field(OfFlow& flow, const OfField& field, Uint128 value);

// Makes a match require (packet.field & mask) == (value & mask): updates
// `flow` and `mask` (both OfFlow) for the field's bits only. For
// kOfQuirkExactCoversUnit fields, an exact match covers the whole unit unless
// `mask_was_written` (the text gave an explicit mask, as in "icmp_type=8/0xff").
void set_field_in_match(OfFlow& flow, OfFlow& mask, const OfField& field, Uint128 value, Uint128 value_mask,
                        bool mask_was_written = false);

// Value as 16 big-endian bytes (right-aligned) and back.
std::array<uint8_t, 16> to_big_endian(Uint128 value);
Uint128 from_big_endian(std::span<const uint8_t> bytes);

// OVS's mf_are_prereqs_ok(): with `mask`, the match must pin the
// prerequisite fields exactly (a rule's match); without, only the values of
// `flow` are looked at (an action list checked against the flow its rule
// matches, after its own pushes and pops).
bool prereqs_ok(const OfField& field, const OfFlow& flow, const OfFlow* mask);
// "a TCP, UDP or SCTP match (add tcp, udp or sctp)": what is missing and how to add it.
std::string_view prereq_requirement(OfPrereq prereq);

// A bit range of a field: OVS's mf_subfield ("NXM_NX_REG0[0..15]").
struct OfSubfield {
  OfFieldId field = OfFieldId::kReg0;
  uint16_t offset = 0;
  uint16_t n_bits = 0;
  bool operator==(const OfSubfield&) const = default;
};

// "FIELD[]" (the whole field), "FIELD[a..b]" (bits a through b), "FIELD[a]"
// (one bit); FIELD by any of its names. Errors for unknown fields, missing or
// malformed brackets, and bits beyond the field's width.
Result<OfSubfield> parse_subfield(std::string_view text);
// "NXM_NX_REG0[]", "NXM_NX_REG2[0..15]", "NXM_OF_IP_SRC[0]" as OVS prints them.
std::string format_subfield(const OfSubfield& subfield);

Uint128 read_subfield(const OfFlow& flow, const OfSubfield& subfield);
void write_subfield(OfFlow& flow, const OfSubfield& subfield, Uint128 value);

}  // namespace flowlift
