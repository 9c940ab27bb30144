// The flower key table: which TCA_FLOWER_KEY_* attribute carries each field,
// its mask attribute, its width, and the names flowlift and iproute2 give it.
// Widths and attribute pairs are <linux/pkt_cls.h>'s; iproute2 names are what
// `tc -j filter show` prints (tc/f_flower.c).
#include <linux/pkt_cls.h>

#include <array>
#include <cstring>

#include "offload/tc_flower_rule.h"

namespace flowlift {
namespace {

using F = TcFlowerField;

constexpr std::array<TcFlowerFieldInfo, static_cast<size_t>(F::kCount)> kTcFlowerFields{{
    {F::kEthDst, "eth_dst", "dst_mac", TCA_FLOWER_KEY_ETH_DST, TCA_FLOWER_KEY_ETH_DST_MASK, 6},
    {F::kEthSrc, "eth_src", "src_mac", TCA_FLOWER_KEY_ETH_SRC, TCA_FLOWER_KEY_ETH_SRC_MASK, 6},
    {F::kEthType, "eth_type", "eth_type", TCA_FLOWER_KEY_ETH_TYPE, 0, 2},
    {F::kVlanId, "vlan_id", "vlan_id", TCA_FLOWER_KEY_VLAN_ID, 0, 2},
    {F::kVlanPrio, "vlan_prio", "vlan_prio", TCA_FLOWER_KEY_VLAN_PRIO, 0, 1},
    {F::kVlanEthType, "vlan_eth_type", "vlan_ethtype", TCA_FLOWER_KEY_VLAN_ETH_TYPE, 0, 2},
    {F::kCvlanId, "cvlan_id", "cvlan_id", TCA_FLOWER_KEY_CVLAN_ID, 0, 2},
    {F::kCvlanPrio, "cvlan_prio", "cvlan_prio", TCA_FLOWER_KEY_CVLAN_PRIO, 0, 1},
    {F::kCvlanEthType, "cvlan_eth_type", "cvlan_ethtype", TCA_FLOWER_KEY_CVLAN_ETH_TYPE, 0, 2},
    {F::kMplsLabel, "mpls_label", "mpls_label", TCA_FLOWER_KEY_MPLS_LABEL, 0, 4},
    {F::kMplsTc, "mpls_tc", "mpls_tc", TCA_FLOWER_KEY_MPLS_TC, 0, 1},
    {F::kMplsBos, "mpls_bos", "mpls_bos", TCA_FLOWER_KEY_MPLS_BOS, 0, 1},
    {F::kMplsTtl, "mpls_ttl", "mpls_ttl", TCA_FLOWER_KEY_MPLS_TTL, 0, 1},
    {F::kIpProto, "ip_proto", "ip_proto", TCA_FLOWER_KEY_IP_PROTO, 0, 1},
    {F::kIpTos, "ip_tos", "ip_tos", TCA_FLOWER_KEY_IP_TOS, TCA_FLOWER_KEY_IP_TOS_MASK, 1},
    {F::kIpTtl, "ip_ttl", "ip_ttl", TCA_FLOWER_KEY_IP_TTL, TCA_FLOWER_KEY_IP_TTL_MASK, 1},
    {F::kIpFlags, "ip_flags", "ip_flags", TCA_FLOWER_KEY_FLAGS, TCA_FLOWER_KEY_FLAGS_MASK, 4},
    {F::kIpv4Src, "ipv4_src", "src_ip", TCA_FLOWER_KEY_IPV4_SRC, TCA_FLOWER_KEY_IPV4_SRC_MASK, 4},
    {F::kIpv4Dst, "ipv4_dst", "dst_ip", TCA_FLOWER_KEY_IPV4_DST, TCA_FLOWER_KEY_IPV4_DST_MASK, 4},
    {F::kIpv6Src, "ipv6_src", "src_ip", TCA_FLOWER_KEY_IPV6_SRC, TCA_FLOWER_KEY_IPV6_SRC_MASK, 16},
    {F::kIpv6Dst, "ipv6_dst", "dst_ip", TCA_FLOWER_KEY_IPV6_DST, TCA_FLOWER_KEY_IPV6_DST_MASK, 16},
    {F::kTcpSrc, "tcp_src", "src_port", TCA_FLOWER_KEY_TCP_SRC, TCA_FLOWER_KEY_TCP_SRC_MASK, 2},
    {F::kTcpDst, "tcp_dst", "dst_port", TCA_FLOWER_KEY_TCP_DST, TCA_FLOWER_KEY_TCP_DST_MASK, 2},
    {F::kUdpSrc, "udp_src", "src_port", TCA_FLOWER_KEY_UDP_SRC, TCA_FLOWER_KEY_UDP_SRC_MASK, 2},
    {F::kUdpDst, "udp_dst", "dst_port", TCA_FLOWER_KEY_UDP_DST, TCA_FLOWER_KEY_UDP_DST_MASK, 2},
    {F::kSctpSrc, "sctp_src", "src_port", TCA_FLOWER_KEY_SCTP_SRC, TCA_FLOWER_KEY_SCTP_SRC_MASK, 2},
    {F::kSctpDst, "sctp_dst", "dst_port", TCA_FLOWER_KEY_SCTP_DST, TCA_FLOWER_KEY_SCTP_DST_MASK, 2},
    {F::kTcpFlags, "tcp_flags", "tcp_flags", TCA_FLOWER_KEY_TCP_FLAGS, TCA_FLOWER_KEY_TCP_FLAGS_MASK, 2},
    {F::kIcmpv4Type, "icmp_type", "icmp_type", TCA_FLOWER_KEY_ICMPV4_TYPE, TCA_FLOWER_KEY_ICMPV4_TYPE_MASK,
     1},
    {F::kIcmpv4Code, "icmp_code", "icmp_code", TCA_FLOWER_KEY_ICMPV4_CODE, TCA_FLOWER_KEY_ICMPV4_CODE_MASK,
     1},
    {F::kIcmpv6Type, "icmpv6_type", "icmp_type", TCA_FLOWER_KEY_ICMPV6_TYPE, TCA_FLOWER_KEY_ICMPV6_TYPE_MASK,
     1},
    {F::kIcmpv6Code, "icmpv6_code", "icmp_code", TCA_FLOWER_KEY_ICMPV6_CODE, TCA_FLOWER_KEY_ICMPV6_CODE_MASK,
     1},
    {F::kArpSip, "arp_sip", "arp_sip", TCA_FLOWER_KEY_ARP_SIP, TCA_FLOWER_KEY_ARP_SIP_MASK, 4},
    {F::kArpTip, "arp_tip", "arp_tip", TCA_FLOWER_KEY_ARP_TIP, TCA_FLOWER_KEY_ARP_TIP_MASK, 4},
    {F::kArpOp, "arp_op", "arp_op", TCA_FLOWER_KEY_ARP_OP, TCA_FLOWER_KEY_ARP_OP_MASK, 1},
    {F::kArpSha, "arp_sha", "arp_sha", TCA_FLOWER_KEY_ARP_SHA, TCA_FLOWER_KEY_ARP_SHA_MASK, 6},
    {F::kArpTha, "arp_tha", "arp_tha", TCA_FLOWER_KEY_ARP_THA, TCA_FLOWER_KEY_ARP_THA_MASK, 6},
    {F::kEncKeyId, "enc_key_id", "enc_key_id", TCA_FLOWER_KEY_ENC_KEY_ID, 0, 4},
    {F::kEncIpv4Src, "enc_ipv4_src", "enc_src_ip", TCA_FLOWER_KEY_ENC_IPV4_SRC,
     TCA_FLOWER_KEY_ENC_IPV4_SRC_MASK, 4},
    {F::kEncIpv4Dst, "enc_ipv4_dst", "enc_dst_ip", TCA_FLOWER_KEY_ENC_IPV4_DST,
     TCA_FLOWER_KEY_ENC_IPV4_DST_MASK, 4},
    {F::kEncIpv6Src, "enc_ipv6_src", "enc_src_ip", TCA_FLOWER_KEY_ENC_IPV6_SRC,
     TCA_FLOWER_KEY_ENC_IPV6_SRC_MASK, 16},
    {F::kEncIpv6Dst, "enc_ipv6_dst", "enc_dst_ip", TCA_FLOWER_KEY_ENC_IPV6_DST,
     TCA_FLOWER_KEY_ENC_IPV6_DST_MASK, 16},
    {F::kEncIpTos, "enc_tos", "enc_tos", TCA_FLOWER_KEY_ENC_IP_TOS, TCA_FLOWER_KEY_ENC_IP_TOS_MASK, 1},
    {F::kEncIpTtl, "enc_ttl", "enc_ttl", TCA_FLOWER_KEY_ENC_IP_TTL, TCA_FLOWER_KEY_ENC_IP_TTL_MASK, 1},
    {F::kEncUdpSrcPort, "enc_src_port", "enc_src_port", TCA_FLOWER_KEY_ENC_UDP_SRC_PORT,
     TCA_FLOWER_KEY_ENC_UDP_SRC_PORT_MASK, 2},
    {F::kEncUdpDstPort, "enc_dst_port", "enc_dst_port", TCA_FLOWER_KEY_ENC_UDP_DST_PORT,
     TCA_FLOWER_KEY_ENC_UDP_DST_PORT_MASK, 2},
}};

constexpr bool table_is_in_enum_order() {
  for (size_t i = 0; i < kTcFlowerFields.size(); ++i)
    if (static_cast<size_t>(kTcFlowerFields[i].field) != i) return false;
  return true;
}
static_assert(table_is_in_enum_order(), "kTcFlowerFields must be indexed by TcFlowerField");

}  // namespace

const TcFlowerFieldInfo& tc_flower_field_info(TcFlowerField field) {
  return kTcFlowerFields[static_cast<size_t>(field)];
}

TcFlowerField tc_flower_field_by_name(std::string_view name) {
  for (const TcFlowerFieldInfo& info : kTcFlowerFields)
    if (info.name == name) return info.field;
  return TcFlowerField::kCount;
}

bool TcFlowerKey::exact() const {
  const uint8_t n = width();
  for (uint8_t i = 0; i < n; ++i)
    if (mask[i] != 0xff) return false;
  return true;
}

const TcFlowerKey* TcFlowerMatch::find(TcFlowerField field) const {
  for (const TcFlowerKey& key : keys)
    if (key.field == field) return &key;
  return nullptr;
}

void TcFlowerMatch::set(const TcFlowerKey& key) {
  auto it = keys.begin();
  while (it != keys.end() && it->field < key.field) ++it;
  if (it != keys.end() && it->field == key.field) {
    *it = key;
  } else {
    keys.insert(it, key);
  }
}

std::string_view tc_action_kind(const TcAction& action) {
  struct KindOf {
    std::string_view operator()(const TcMirredAction&) const { return "mirred"; }
    std::string_view operator()(const TcVlanPushAction&) const { return "vlan"; }
    std::string_view operator()(const TcVlanPopAction&) const { return "vlan"; }
    std::string_view operator()(const TcVlanModifyAction&) const { return "vlan"; }
    std::string_view operator()(const TcMplsPushAction&) const { return "mpls"; }
    std::string_view operator()(const TcMplsPopAction&) const { return "mpls"; }
    std::string_view operator()(const TcMplsModifyAction&) const { return "mpls"; }
    std::string_view operator()(const TcPeditAction&) const { return "pedit"; }
    std::string_view operator()(const TcCsumAction&) const { return "csum"; }
    std::string_view operator()(const TcTunnelKeySetAction&) const { return "tunnel_key"; }
    std::string_view operator()(const TcTunnelKeyUnsetAction&) const { return "tunnel_key"; }
    std::string_view operator()(const TcDropAction&) const { return "gact"; }
    std::string_view operator()(const TcGotoChainAction&) const { return "gact"; }
  };
  return std::visit(KindOf{}, action);
}

std::string_view tc_policy_name(TcPolicy policy) {
  switch (policy) {
    case TcPolicy::kNone:
      return "none";
    case TcPolicy::kSkipSw:
      return "skip_sw";
    case TcPolicy::kSkipHw:
      return "skip_hw";
  }
  return "none";
}

}  // namespace flowlift
