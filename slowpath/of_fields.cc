// The OpenFlow field table and the bit plumbing that reads and writes a field
// (or a bit range of one) in an OfFlow or in a match.
#include "slowpath/of_fields.h"

#include <arpa/inet.h>

#include <cstddef>
#include <cstring>

namespace flowlift {

namespace {

// constexpr builder so that each table line states only what differs from
// "a maskable, writable field without prerequisites that fills its unit".
struct Def {
  OfField f;

  constexpr Def(OfFieldId id, std::string_view name, size_t offset, uint8_t bytes, bool network_order,
                OfFieldFormat format)
      : f{id,     name,
          {},     {},
          {},     static_cast<uint16_t>(offset),
          bytes,  network_order,
          0,      static_cast<uint8_t>(bytes * 8 > 255 ? 128 : bytes * 8),
          0,      true,
          true,   OfPrereq::kNone,
          format, kOfQuirkNone} {}
  constexpr Def alias(std::string_view a) const {
    Def d = *this;
    d.f.alias = a;
    return d;
  }
  constexpr Def nxm(std::string_view n) const {
    Def d = *this;
    d.f.nxm_name = n;
    return d;
  }
  constexpr Def oxm(std::string_view n) const {
    Def d = *this;
    d.f.oxm_name = n;
    return d;
  }
  constexpr Def bits(uint8_t shift, uint8_t n_bits) const {
    Def d = *this;
    d.f.shift = shift;
    d.f.n_bits = n_bits;
    return d;
  }
  constexpr Def keeps(uint8_t unit_bits) const {
    Def d = *this;
    d.f.unit_bits_kept = unit_bits;
    return d;
  }
  constexpr Def exact_only() const {
    Def d = *this;
    d.f.maskable = false;
    return d;
  }
  constexpr Def read_only() const {
    Def d = *this;
    d.f.writable = false;
    return d;
  }
  constexpr Def needs(OfPrereq p) const {
    Def d = *this;
    d.f.prereq = p;
    return d;
  }
  constexpr Def quirk(uint8_t q) const {
    Def d = *this;
    d.f.quirks = static_cast<uint8_t>(d.f.quirks | q);
    return d;
  }
};

using enum OfFieldFormat;
using Id = OfFieldId;
constexpr bool kNet = true;
constexpr bool kHost = false;

constexpr std::string_view kRegNames[16] = {"reg0",  "reg1",  "reg2",  "reg3", "reg4",  "reg5",
                                            "reg6",  "reg7",  "reg8",  "reg9", "reg10", "reg11",
                                            "reg12", "reg13", "reg14", "reg15"};
constexpr std::string_view kRegNxmNames[16] = {
    "NXM_NX_REG0",  "NXM_NX_REG1",  "NXM_NX_REG2",  "NXM_NX_REG3", "NXM_NX_REG4",  "NXM_NX_REG5",
    "NXM_NX_REG6",  "NXM_NX_REG7",  "NXM_NX_REG8",  "NXM_NX_REG9", "NXM_NX_REG10", "NXM_NX_REG11",
    "NXM_NX_REG12", "NXM_NX_REG13", "NXM_NX_REG14", "NXM_NX_REG15"};

constexpr std::string_view kXregNames[8] = {"xreg0", "xreg1", "xreg2", "xreg3",
                                            "xreg4", "xreg5", "xreg6", "xreg7"};
constexpr std::string_view kXregOxmNames[8] = {"OXM_OF_PKT_REG0", "OXM_OF_PKT_REG1", "OXM_OF_PKT_REG2",
                                               "OXM_OF_PKT_REG3", "OXM_OF_PKT_REG4", "OXM_OF_PKT_REG5",
                                               "OXM_OF_PKT_REG6", "OXM_OF_PKT_REG7"};

constexpr Def xreg(int i) {
  return Def(static_cast<Id>(static_cast<int>(Id::kXreg0) + i), kXregNames[i],
             offsetof(OfFlow, regs) + 8 * static_cast<size_t>(i), 8, kHost, kHex)
      .oxm(kXregOxmNames[i])
      .quirk(kOfQuirkRegisterPair);
}

constexpr Def reg(int i) {
  return Def(static_cast<Id>(static_cast<int>(Id::kReg0) + i), kRegNames[i],
             offsetof(OfFlow, regs) + 4 * static_cast<size_t>(i), 4, kHost, kHex)
      .nxm(kRegNxmNames[i]);
}

#define AT(member) offsetof(OfFlow, member)

constexpr Def kTable[] = {
    // metadata
    Def(Id::kRecircId, "recirc_id", AT(recirc_id), 4, kHost, kDecimal)
        .nxm("NXM_NX_RECIRC_ID")
        .exact_only()
        .read_only(),
    Def(Id::kConjId, "conj_id", AT(conj_id), 4, kHost, kDecimal)
        .nxm("NXM_NX_CONJ_ID")
        .exact_only()
        .read_only(),
    Def(Id::kTunId, "tun_id", AT(tun_id), 8, kNet, kHex)
        .alias("tunnel_id")
        .nxm("NXM_NX_TUN_ID")
        .oxm("OXM_OF_TUNNEL_ID"),
    Def(Id::kTunSrc, "tun_src", AT(tun_src), 4, kNet, kIpv4).nxm("NXM_NX_TUN_IPV4_SRC"),
    Def(Id::kTunDst, "tun_dst", AT(tun_dst), 4, kNet, kIpv4).nxm("NXM_NX_TUN_IPV4_DST"),
    Def(Id::kTunIpv6Src, "tun_ipv6_src", AT(tun_ipv6_src), 16, kNet, kIpv6).nxm("NXM_NX_TUN_IPV6_SRC"),
    Def(Id::kTunIpv6Dst, "tun_ipv6_dst", AT(tun_ipv6_dst), 16, kNet, kIpv6).nxm("NXM_NX_TUN_IPV6_DST"),
    Def(Id::kTunFlags, "tun_flags", AT(tun_flags), 2, kHost, kTunnelFlags).nxm("NXM_NX_TUN_FLAGS").bits(0, 4),
    Def(Id::kTunTtl, "tun_ttl", AT(tun_ttl), 1, kHost, kDecimal).exact_only().read_only(),
    Def(Id::kTunTos, "tun_tos", AT(tun_tos), 1, kHost, kDecimal).exact_only().read_only(),
    Def(Id::kMetadata, "metadata", AT(metadata), 8, kHost, kHex).oxm("OXM_OF_METADATA"),
    // NXM_OF_IN_PORT is the 16-bit OpenFlow 1.0 view of the port.
    Def(Id::kInPort, "in_port", AT(in_port), 4, kHost, kPort).nxm("NXM_OF_IN_PORT").bits(0, 16).exact_only(),
    Def(Id::kSkbPriority, "skb_priority", AT(skb_priority), 4, kHost, kHex).exact_only().read_only(),
    Def(Id::kPktMark, "pkt_mark", AT(pkt_mark), 4, kHost, kHex).nxm("NXM_NX_PKT_MARK"),
    reg(0),
    reg(1),
    reg(2),
    reg(3),
    reg(4),
    reg(5),
    reg(6),
    reg(7),
    reg(8),
    reg(9),
    reg(10),
    reg(11),
    reg(12),
    reg(13),
    reg(14),
    reg(15),
    xreg(0),
    xreg(1),
    xreg(2),
    xreg(3),
    xreg(4),
    xreg(5),
    xreg(6),
    xreg(7),
    // L2
    Def(Id::kEthSrc, "eth_src", AT(dl_src), 6, kNet, kEthernet)
        .alias("dl_src")
        .nxm("NXM_OF_ETH_SRC")
        .oxm("OXM_OF_ETH_SRC"),
    Def(Id::kEthDst, "eth_dst", AT(dl_dst), 6, kNet, kEthernet)
        .alias("dl_dst")
        .nxm("NXM_OF_ETH_DST")
        .oxm("OXM_OF_ETH_DST"),
    Def(Id::kEthType, "eth_type", AT(dl_type), 2, kNet, kHex)
        .alias("dl_type")
        .nxm("NXM_OF_ETH_TYPE")
        .oxm("OXM_OF_ETH_TYPE")
        .exact_only()
        .read_only(),
    Def(Id::kVlanTci, "vlan_tci", AT(vlan_tci), 2, kNet, kHex).nxm("NXM_OF_VLAN_TCI"),
    Def(Id::kDlVlan, "dl_vlan", AT(vlan_tci), 2, kNet, kDecimal)
        .bits(0, 12)
        .exact_only()
        .quirk(kOfQuirkSetsVlanPresent),
    // OXM's VID carries the "present" bit 0x1000 as its 13th bit.
    Def(Id::kVlanVid, "vlan_vid", AT(vlan_tci), 2, kNet, kDecimal).oxm("OXM_OF_VLAN_VID").bits(0, 13),
    Def(Id::kDlVlanPcp, "dl_vlan_pcp", AT(vlan_tci), 2, kNet, kDecimal)
        .bits(13, 3)
        .exact_only()
        .quirk(kOfQuirkSetsVlanPresent),
    Def(Id::kVlanPcp, "vlan_pcp", AT(vlan_tci), 2, kNet, kDecimal)
        .oxm("OXM_OF_VLAN_PCP")
        .bits(13, 3)
        .exact_only()
        .needs(OfPrereq::kVlan)
        .quirk(kOfQuirkSetsVlanPresent),
    Def(Id::kMplsLabel, "mpls_label", AT(mpls_lse), 4, kNet, kDecimal)
        .oxm("OXM_OF_MPLS_LABEL")
        .bits(12, 20)
        .exact_only()
        .needs(OfPrereq::kMpls),
    Def(Id::kMplsTc, "mpls_tc", AT(mpls_lse), 4, kNet, kDecimal)
        .oxm("OXM_OF_MPLS_TC")
        .bits(9, 3)
        .exact_only()
        .needs(OfPrereq::kMpls),
    Def(Id::kMplsBos, "mpls_bos", AT(mpls_lse), 4, kNet, kDecimal)
        .oxm("OXM_OF_MPLS_BOS")
        .bits(8, 1)
        .exact_only()
        .read_only()
        .needs(OfPrereq::kMpls),
    Def(Id::kMplsTtl, "mpls_ttl", AT(mpls_lse), 4, kNet, kDecimal)
        .nxm("NXM_NX_MPLS_TTL")
        .bits(0, 8)
        .exact_only()
        .needs(OfPrereq::kMpls),
    // L3
    Def(Id::kIpv4Src, "ip_src", AT(nw_src), 4, kNet, kIpv4)
        .alias("nw_src")
        .nxm("NXM_OF_IP_SRC")
        .oxm("OXM_OF_IPV4_SRC")
        .needs(OfPrereq::kIpv4),
    Def(Id::kIpv4Dst, "ip_dst", AT(nw_dst), 4, kNet, kIpv4)
        .alias("nw_dst")
        .nxm("NXM_OF_IP_DST")
        .oxm("OXM_OF_IPV4_DST")
        .needs(OfPrereq::kIpv4),
    Def(Id::kIpv6Src, "ipv6_src", AT(ipv6_src), 16, kNet, kIpv6)
        .nxm("NXM_NX_IPV6_SRC")
        .oxm("OXM_OF_IPV6_SRC")
        .needs(OfPrereq::kIpv6),
    Def(Id::kIpv6Dst, "ipv6_dst", AT(ipv6_dst), 16, kNet, kIpv6)
        .nxm("NXM_NX_IPV6_DST")
        .oxm("OXM_OF_IPV6_DST")
        .needs(OfPrereq::kIpv6),
    Def(Id::kIpv6Label, "ipv6_label", AT(ipv6_label), 4, kNet, kHex)
        .nxm("NXM_NX_IPV6_LABEL")
        .oxm("OXM_OF_IPV6_FLABEL")
        .bits(0, 20)
        .needs(OfPrereq::kIpv6),
    Def(Id::kIpProto, "nw_proto", AT(nw_proto), 1, kNet, kDecimal)
        .alias("ip_proto")
        .nxm("NXM_OF_IP_PROTO")
        .oxm("OXM_OF_IP_PROTO")
        .exact_only()
        .read_only()
        .needs(OfPrereq::kIpAny),
    Def(Id::kIpTos, "nw_tos", AT(nw_tos), 1, kNet, kDecimal)
        .nxm("NXM_OF_IP_TOS")
        .keeps(0xfc)
        .exact_only()
        .needs(OfPrereq::kIpAny),
    Def(Id::kIpDscp, "ip_dscp", AT(nw_tos), 1, kNet, kDecimal)
        .oxm("OXM_OF_IP_DSCP")
        .bits(2, 6)
        .exact_only()
        .needs(OfPrereq::kIpAny),
    Def(Id::kIpEcn, "nw_ecn", AT(nw_tos), 1, kNet, kDecimal)
        .alias("ip_ecn")
        .nxm("NXM_NX_IP_ECN")
        .oxm("OXM_OF_IP_ECN")
        .bits(0, 2)
        .exact_only()
        .needs(OfPrereq::kIpAny),
    Def(Id::kIpTtl, "nw_ttl", AT(nw_ttl), 1, kNet, kDecimal)
        .nxm("NXM_NX_IP_TTL")
        .exact_only()
        .needs(OfPrereq::kIpAny),
    Def(Id::kIpFrag, "ip_frag", AT(nw_frag), 1, kNet, kFrag)
        .alias("nw_frag")
        .nxm("NXM_NX_IP_FRAG")
        .bits(0, 2)
        .read_only()
        .needs(OfPrereq::kIpAny),
    // OVS's arp_op is 16 bits wide but only opcodes up to 255 fit where it is stored.
    Def(Id::kArpOp, "arp_op", AT(nw_proto), 1, kNet, kDecimal)
        .nxm("NXM_OF_ARP_OP")
        .oxm("OXM_OF_ARP_OP")
        .exact_only()
        .needs(OfPrereq::kArp),
    Def(Id::kArpSpa, "arp_spa", AT(nw_src), 4, kNet, kIpv4)
        .nxm("NXM_OF_ARP_SPA")
        .oxm("OXM_OF_ARP_SPA")
        .needs(OfPrereq::kArp),
    Def(Id::kArpTpa, "arp_tpa", AT(nw_dst), 4, kNet, kIpv4)
        .nxm("NXM_OF_ARP_TPA")
        .oxm("OXM_OF_ARP_TPA")
        .needs(OfPrereq::kArp),
    Def(Id::kArpSha, "arp_sha", AT(arp_sha), 6, kNet, kEthernet)
        .nxm("NXM_NX_ARP_SHA")
        .oxm("OXM_OF_ARP_SHA")
        .needs(OfPrereq::kArp),
    Def(Id::kArpTha, "arp_tha", AT(arp_tha), 6, kNet, kEthernet)
        .nxm("NXM_NX_ARP_THA")
        .oxm("OXM_OF_ARP_THA")
        .needs(OfPrereq::kArp),
    Def(Id::kNdTarget, "nd_target", AT(nd_target), 16, kNet, kIpv6)
        .nxm("NXM_NX_ND_TARGET")
        .oxm("OXM_OF_IPV6_ND_TARGET")
        .needs(OfPrereq::kNd),
    Def(Id::kNdSll, "nd_sll", AT(arp_sha), 6, kNet, kEthernet)
        .nxm("NXM_NX_ND_SLL")
        .oxm("OXM_OF_IPV6_ND_SLL")
        .needs(OfPrereq::kNdSolicit),
    Def(Id::kNdTll, "nd_tll", AT(arp_tha), 6, kNet, kEthernet)
        .nxm("NXM_NX_ND_TLL")
        .oxm("OXM_OF_IPV6_ND_TLL")
        .needs(OfPrereq::kNdAdvert),
    // L4
    Def(Id::kTpSrc, "tp_src", AT(tp_src), 2, kNet, kDecimal).needs(OfPrereq::kTcpUdpSctp),
    Def(Id::kTpDst, "tp_dst", AT(tp_dst), 2, kNet, kDecimal).needs(OfPrereq::kTcpUdpSctp),
    Def(Id::kTcpSrc, "tcp_src", AT(tp_src), 2, kNet, kDecimal)
        .nxm("NXM_OF_TCP_SRC")
        .oxm("OXM_OF_TCP_SRC")
        .needs(OfPrereq::kTcp),
    Def(Id::kTcpDst, "tcp_dst", AT(tp_dst), 2, kNet, kDecimal)
        .nxm("NXM_OF_TCP_DST")
        .oxm("OXM_OF_TCP_DST")
        .needs(OfPrereq::kTcp),
    Def(Id::kTcpFlags, "tcp_flags", AT(tcp_flags), 2, kNet, kTcpFlags)
        .nxm("NXM_NX_TCP_FLAGS")
        .oxm("OXM_OF_TCP_FLAGS")
        .bits(0, 12)
        .read_only()
        .needs(OfPrereq::kTcp),
    Def(Id::kUdpSrc, "udp_src", AT(tp_src), 2, kNet, kDecimal)
        .nxm("NXM_OF_UDP_SRC")
        .oxm("OXM_OF_UDP_SRC")
        .needs(OfPrereq::kUdp),
    Def(Id::kUdpDst, "udp_dst", AT(tp_dst), 2, kNet, kDecimal)
        .nxm("NXM_OF_UDP_DST")
        .oxm("OXM_OF_UDP_DST")
        .needs(OfPrereq::kUdp),
    Def(Id::kSctpSrc, "sctp_src", AT(tp_src), 2, kNet, kDecimal)
        .oxm("OXM_OF_SCTP_SRC")
        .needs(OfPrereq::kSctp),
    Def(Id::kSctpDst, "sctp_dst", AT(tp_dst), 2, kNet, kDecimal)
        .oxm("OXM_OF_SCTP_DST")
        .needs(OfPrereq::kSctp),
    // OVS refuses masks on ICMP type/code in rules, but megaflows carry
    // 8-bit masks on them (icmp_type=0x8/0xff), so masks are accepted here.
    Def(Id::kIcmpType, "icmp_type", AT(tp_src), 2, kNet, kDecimal)
        .nxm("NXM_OF_ICMP_TYPE")
        .oxm("OXM_OF_ICMPV4_TYPE")
        .bits(0, 8)
        .needs(OfPrereq::kIcmpAny)
        .quirk(kOfQuirkExactCoversUnit),
    Def(Id::kIcmpCode, "icmp_code", AT(tp_dst), 2, kNet, kDecimal)
        .nxm("NXM_OF_ICMP_CODE")
        .oxm("OXM_OF_ICMPV4_CODE")
        .bits(0, 8)
        .needs(OfPrereq::kIcmpAny)
        .quirk(kOfQuirkExactCoversUnit),
    Def(Id::kIcmpv6Type, "icmpv6_type", AT(tp_src), 2, kNet, kDecimal)
        .nxm("NXM_NX_ICMPV6_TYPE")
        .oxm("OXM_OF_ICMPV6_TYPE")
        .bits(0, 8)
        .needs(OfPrereq::kIcmpv6)
        .quirk(kOfQuirkExactCoversUnit),
    Def(Id::kIcmpv6Code, "icmpv6_code", AT(tp_dst), 2, kNet, kDecimal)
        .nxm("NXM_NX_ICMPV6_CODE")
        .oxm("OXM_OF_ICMPV6_CODE")
        .bits(0, 8)
        .needs(OfPrereq::kIcmpv6)
        .quirk(kOfQuirkExactCoversUnit),
};

#undef AT

constexpr bool table_in_id_order() {
  for (size_t i = 0; i < std::size(kTable); ++i)
    if (static_cast<size_t>(kTable[i].f.id) != i) return false;
  return std::size(kTable) == kOfFieldCount;
}
static_assert(table_in_id_order(), "kTable must list every OfFieldId once, in enum order");

struct FieldArray {
  std::array<OfField, kOfFieldCount> fields;
  constexpr FieldArray() : fields{} {
    for (size_t i = 0; i < kOfFieldCount; ++i) fields[i] = kTable[i].f;
  }
};
constexpr FieldArray kFields;

constexpr uint16_t kCfiBit = kVlanCfi;

const uint8_t* unit_pointer(const OfFlow& flow, const OfField& field) {
  return reinterpret_cast<const uint8_t*>(&flow) + field.offset;
}
uint8_t* unit_pointer(OfFlow& flow, const OfField& field) {
  return reinterpret_cast<uint8_t*>(&flow) + field.offset;
}

Uint128 load_unit(const OfFlow& flow, const OfField& field) {
  const uint8_t* p = unit_pointer(flow, field);
  if (field.quirks & kOfQuirkRegisterPair) {
    uint32_t high, low;
    std::memcpy(&high, p, 4);
    std::memcpy(&low, p + 4, 4);
    return Uint128{high} << 32 | low;
  }
  if (!field.network_order && field.storage_bytes > 1) {
    switch (field.storage_bytes) {
      case 2: {
        uint16_t v;
        std::memcpy(&v, p, 2);
        return v;
      }
      case 4: {
        uint32_t v;
        std::memcpy(&v, p, 4);
        return v;
      }
      default: {
        uint64_t v;
        std::memcpy(&v, p, 8);
        return v;
      }
    }
  }
  Uint128 v = 0;
  for (size_t i = 0; i < field.storage_bytes; ++i) v = (v << 8) | p[i];
  return v;
}

void store_unit(OfFlow& flow, const OfField& field, Uint128 value) {
  uint8_t* p = unit_pointer(flow, field);
  if (field.quirks & kOfQuirkRegisterPair) {
    auto high = static_cast<uint32_t>(value >> 32);
    auto low = static_cast<uint32_t>(value);
    std::memcpy(p, &high, 4);
    std::memcpy(p + 4, &low, 4);
    return;
  }
  if (!field.network_order && field.storage_bytes > 1) {
    switch (field.storage_bytes) {
      case 2: {
        auto v = static_cast<uint16_t>(value);
        std::memcpy(p, &v, 2);
        return;
      }
      case 4: {
        auto v = static_cast<uint32_t>(value);
        std::memcpy(p, &v, 4);
        return;
      }
      default: {
        auto v = static_cast<uint64_t>(value);
        std::memcpy(p, &v, 8);
        return;
      }
    }
  }
  for (size_t i = field.storage_bytes; i-- > 0;) {
    p[i] = static_cast<uint8_t>(value);
    value >>= 8;
  }
}

Uint128 unit_all_ones(const OfField& field) {
  return field.storage_bytes >= 16 ? ~Uint128{0} : (Uint128{1} << (8 * field.storage_bytes)) - 1;
}

// The bits of the storage unit that the field's value occupies.
Uint128 unit_bits(const OfField& field) {
  if (field.unit_bits_kept) return field.unit_bits_kept;
  return (field.value_mask() << field.shift) & unit_all_ones(field);
}

bool dl_type_is(const OfFlow& flow, const OfFlow* mask, uint16_t type) {
  return flow.dl_type == htons(type) && (!mask || mask->dl_type == 0xffff);
}
bool is_ipv4(const OfFlow& flow, const OfFlow* mask) { return dl_type_is(flow, mask, 0x0800); }
bool is_ipv6(const OfFlow& flow, const OfFlow* mask) { return dl_type_is(flow, mask, 0x86dd); }
bool is_ip_any(const OfFlow& flow, const OfFlow* mask) { return is_ipv4(flow, mask) || is_ipv6(flow, mask); }
bool proto_is(const OfFlow& flow, const OfFlow* mask, uint8_t proto) {
  return flow.nw_proto == proto && (!mask || mask->nw_proto == 0xff);
}
bool is_icmpv6(const OfFlow& flow, const OfFlow* mask) {
  return is_ipv6(flow, mask) && proto_is(flow, mask, 58);
}
// ICMPv6 ND: type 135/136 pinned, code 0 (a wildcarded code reads as 0 in a masked flow).
bool is_nd_type(const OfFlow& flow, const OfFlow* mask, uint16_t type) {
  return is_icmpv6(flow, mask) && flow.tp_src == htons(type) &&
         (!mask || (ntohs(mask->tp_src) & 0xff) == 0xff) && flow.tp_dst == 0;
}

}  // namespace

std::span<const OfField> all_of_fields() { return kFields.fields; }

const OfField& of_field(OfFieldId id) { return kFields.fields[static_cast<size_t>(id)]; }

const OfField* find_of_field(std::string_view name) {
  if (name.empty()) return nullptr;
  for (const OfField& f : kFields.fields) {
    if (f.name == name || f.alias == name || f.nxm_name == name || f.oxm_name == name) return &f;
  }
  return nullptr;
}

Uint128 read_field(const OfFlow& flow, const OfField& field) {
  return (load_unit(flow, field) & unit_bits(field)) >> field.shift;
}

void write_field(OfFlow& flow, const OfField& field, Uint128 value) {
  Uint128 bits = unit_bits(field);
  Uint128 unit = (load_unit(flow, field) & ~bits) | ((value << field.shift) & bits);
  if (field.quirks & kOfQuirkSetsVlanPresent) unit |= kCfiBit;
  store_unit(flow, field, unit);
}

void set_field_in_match(OfFlow& flow, OfFlow& mask, const OfField& field, Uint128 value, Uint128 value_mask,
                        bool mask_was_written) {
  value_mask &= field.value_mask();
  value &= value_mask;
  Uint128 bits = unit_bits(field);
  // An ICMP type/code match owns its whole port unit, so that a masked match
  // written after an exact one leaves no stale high byte behind.
  if (field.quirks & kOfQuirkExactCoversUnit) bits = unit_all_ones(field);
  Uint128 flow_unit = (load_unit(flow, field) & ~bits) | ((value << field.shift) & bits);
  Uint128 mask_unit = (load_unit(mask, field) & ~bits) | ((value_mask << field.shift) & bits);
  if ((field.quirks & kOfQuirkExactCoversUnit) && !mask_was_written && value_mask == field.value_mask()) {
    flow_unit = value << field.shift;
    mask_unit = unit_all_ones(field);
  }
  if (field.quirks & kOfQuirkSetsVlanPresent) {
    flow_unit |= kCfiBit;
    mask_unit |= kCfiBit;
  }
  store_unit(flow, field, flow_unit);
  store_unit(mask, field, mask_unit);
}

std::array<uint8_t, 16> to_big_endian(Uint128 value) {
  std::array<uint8_t, 16> out{};
  for (size_t i = 16; i-- > 0;) {
    out[i] = static_cast<uint8_t>(value);
    value >>= 8;
  }
  return out;
}

Uint128 from_big_endian(std::span<const uint8_t> bytes) {
  Uint128 v = 0;
  for (uint8_t b : bytes) v = (v << 8) | b;
  return v;
}

bool prereqs_ok(const OfField& field, const OfFlow& flow, const OfFlow* mask) {
  switch (field.prereq) {
    case OfPrereq::kNone:
      return true;
    case OfPrereq::kVlan:
      return (ntohs(flow.vlan_tci) & kCfiBit) && (!mask || (ntohs(mask->vlan_tci) & kCfiBit));
    case OfPrereq::kIpv4:
      return is_ipv4(flow, mask);
    case OfPrereq::kIpv6:
      return is_ipv6(flow, mask);
    case OfPrereq::kIpAny:
      return is_ip_any(flow, mask);
    case OfPrereq::kArp:
      return dl_type_is(flow, mask, 0x0806) || dl_type_is(flow, mask, 0x8035);
    case OfPrereq::kMpls:
      return dl_type_is(flow, mask, 0x8847) || dl_type_is(flow, mask, 0x8848);
    case OfPrereq::kTcp:
      return is_ip_any(flow, mask) && proto_is(flow, mask, 6);
    case OfPrereq::kUdp:
      return is_ip_any(flow, mask) && proto_is(flow, mask, 17);
    case OfPrereq::kSctp:
      return is_ip_any(flow, mask) && proto_is(flow, mask, 132);
    case OfPrereq::kTcpUdpSctp:
      return is_ip_any(flow, mask) &&
             (proto_is(flow, mask, 6) || proto_is(flow, mask, 17) || proto_is(flow, mask, 132));
    case OfPrereq::kIcmpv4:
      return is_ipv4(flow, mask) && proto_is(flow, mask, 1);
    case OfPrereq::kIcmpv6:
      return is_icmpv6(flow, mask);
    case OfPrereq::kIcmpAny:
      return (is_ipv4(flow, mask) && proto_is(flow, mask, 1)) || is_icmpv6(flow, mask);
    case OfPrereq::kNd:
      return is_nd_type(flow, mask, 135) || is_nd_type(flow, mask, 136);
    case OfPrereq::kNdSolicit:
      return is_nd_type(flow, mask, 135);
    case OfPrereq::kNdAdvert:
      return is_nd_type(flow, mask, 136);
  }
  return false;
}

std::string_view prereq_requirement(OfPrereq prereq) {
  switch (prereq) {
    case OfPrereq::kNone:
      return "nothing";
    case OfPrereq::kVlan:
      return "a VLAN tag match (add dl_vlan=N or vlan_tci=0x1000/0x1000)";
    case OfPrereq::kIpv4:
      return "an IPv4 match (add ip)";
    case OfPrereq::kIpv6:
      return "an IPv6 match (add ipv6)";
    case OfPrereq::kIpAny:
      return "an IPv4 or IPv6 match (add ip or ipv6)";
    case OfPrereq::kArp:
      return "an ARP match (add arp or rarp)";
    case OfPrereq::kMpls:
      return "an MPLS match (add mpls or mplsm)";
    case OfPrereq::kTcp:
      return "a TCP match (add tcp or tcp6)";
    case OfPrereq::kUdp:
      return "a UDP match (add udp or udp6)";
    case OfPrereq::kSctp:
      return "an SCTP match (add sctp or sctp6)";
    case OfPrereq::kTcpUdpSctp:
      return "a TCP, UDP or SCTP match (add tcp, udp or sctp)";
    case OfPrereq::kIcmpv4:
      return "an ICMP match (add icmp)";
    case OfPrereq::kIcmpv6:
      return "an ICMPv6 match (add icmp6)";
    case OfPrereq::kIcmpAny:
      return "an ICMP match (add icmp or icmp6)";
    case OfPrereq::kNd:
      return "an IPv6 neighbor discovery match (add icmp6,icmp_type=135 or icmp6,icmp_type=136)";
    case OfPrereq::kNdSolicit:
      return "an IPv6 neighbor solicitation match (add icmp6,icmp_type=135)";
    case OfPrereq::kNdAdvert:
      return "an IPv6 neighbor advertisement match (add icmp6,icmp_type=136)";
  }
  return "?";
}

Result<OfSubfield> parse_subfield(std::string_view text) {
  size_t bracket = text.find('[');
  std::string_view name = text.substr(0, bracket);
  const OfField* field = find_of_field(name);
  if (!field) return invalid_argument("unknown field \"" + std::string(name) + "\"");
  if (bracket == std::string_view::npos)
    return invalid_argument(std::string(text) + ": missing bit range (write " + std::string(name) +
                            "[] for the whole field)");
  std::string_view range = text.substr(bracket + 1);
  if (range.empty() || range.back() != ']')
    return invalid_argument(std::string(text) + ": malformed bit range (expected [], [a..b] or [a])");
  range.remove_suffix(1);
  OfSubfield sf{field->id, 0, field->n_bits};
  if (range.empty()) return sf;

  auto parse_bit = [&](std::string_view digits, unsigned* out) {
    if (digits.empty() || digits.size() > 3) return false;
    unsigned v = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    *out = v;
    return true;
  };
  unsigned first = 0, last = 0;
  size_t dots = range.find("..");
  bool ok = dots == std::string_view::npos
                ? parse_bit(range, &first) && (last = first, true)
                : parse_bit(range.substr(0, dots), &first) && parse_bit(range.substr(dots + 2), &last);
  if (!ok) return invalid_argument(std::string(text) + ": malformed bit range (expected [], [a..b] or [a])");
  if (first > last)
    return invalid_argument(std::string(text) + ": bit range " + std::to_string(first) + ".." +
                            std::to_string(last) + " is backwards");
  if (last >= field->n_bits)
    return invalid_argument(std::string(text) + ": bit " + std::to_string(last) + " is beyond the " +
                            std::to_string(field->n_bits) + "-bit field " + std::string(field->name));
  sf.offset = static_cast<uint16_t>(first);
  sf.n_bits = static_cast<uint16_t>(last - first + 1);
  return sf;
}

std::string format_subfield(const OfSubfield& subfield) {
  const OfField& field = of_field(subfield.field);
  std::string out(field.subfield_name());
  if (subfield.offset == 0 && subfield.n_bits == field.n_bits) return out + "[]";
  if (subfield.n_bits == 1) return out + "[" + std::to_string(subfield.offset) + "]";
  return out + "[" + std::to_string(subfield.offset) + ".." +
         std::to_string(subfield.offset + subfield.n_bits - 1) + "]";
}

Uint128 read_subfield(const OfFlow& flow, const OfSubfield& subfield) {
  const OfField& field = of_field(subfield.field);
  Uint128 bits = subfield.n_bits >= 128 ? ~Uint128{0} : (Uint128{1} << subfield.n_bits) - 1;
  return (read_field(flow, field) >> subfield.offset) & bits;
}

void write_subfield(OfFlow& flow, const OfSubfield& subfield, Uint128 value) {
  const OfField& field = of_field(subfield.field);
  Uint128 bits = subfield.n_bits >= 128 ? ~Uint128{0} : (Uint128{1} << subfield.n_bits) - 1;
  Uint128 whole = read_field(flow, field);
  whole = (whole & ~(bits << subfield.offset)) | ((value & bits) << subfield.offset);
  write_field(flow, field, whole);
}

}  // namespace flowlift
