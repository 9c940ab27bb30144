// netlink_key_fields: one key attribute's payload <-> the FlowKey fields it
// carries.
#include "kmod/netlink_key_fields.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>

#include "kmod/protocol_numbers.h"

namespace flowlift {
namespace {

// A uapi struct serialised field by field into zeroed bytes. Building the
// struct itself and copying it out would leave its padding (ovs_key_arp,
// the conntrack tuples) to whatever the compiler's copies put there.
template <typename T>
struct StructBytes {
  template <typename Field>
  StructBytes&& at(size_t offset, const Field& field) && {
    std::memcpy(bytes.data() + offset, &field, sizeof field);
    return std::move(*this);
  }
  std::vector<uint8_t> bytes = std::vector<uint8_t>(sizeof(T), 0);
};

template <typename T>
std::vector<uint8_t> bytes_of(const T& value) {
  const auto* p = reinterpret_cast<const uint8_t*>(&value);
  return {p, p + sizeof value};
}

}  // namespace

int key_attribute_length(uint16_t type) {
  switch (type) {
    case OVS_KEY_ATTR_ENCAP:
    case OVS_KEY_ATTR_TUNNEL:
    case OVS_KEY_ATTR_NSH:
      return kNestedLength;
    case OVS_KEY_ATTR_MPLS:
      return kVariableLength;
    case OVS_KEY_ATTR_PRIORITY:
    case OVS_KEY_ATTR_IN_PORT:
    case OVS_KEY_ATTR_SKB_MARK:
    case OVS_KEY_ATTR_RECIRC_ID:
    case OVS_KEY_ATTR_DP_HASH:
    case OVS_KEY_ATTR_CT_STATE:
    case OVS_KEY_ATTR_CT_MARK:
      return 4;
    case OVS_KEY_ATTR_VLAN:
    case OVS_KEY_ATTR_ETHERTYPE:
    case OVS_KEY_ATTR_TCP_FLAGS:
    case OVS_KEY_ATTR_CT_ZONE:
      return 2;
    case OVS_KEY_ATTR_ETHERNET:
      return sizeof(ovs_key_ethernet);
    case OVS_KEY_ATTR_IPV4:
      return sizeof(ovs_key_ipv4);
    case OVS_KEY_ATTR_IPV6:
      return sizeof(ovs_key_ipv6);
    case OVS_KEY_ATTR_TCP:
      return sizeof(ovs_key_tcp);
    case OVS_KEY_ATTR_UDP:
      return sizeof(ovs_key_udp);
    case OVS_KEY_ATTR_SCTP:
      return sizeof(ovs_key_sctp);
    case OVS_KEY_ATTR_ICMP:
      return sizeof(ovs_key_icmp);
    case OVS_KEY_ATTR_ICMPV6:
      return sizeof(ovs_key_icmpv6);
    case OVS_KEY_ATTR_ARP:
      return sizeof(ovs_key_arp);
    case OVS_KEY_ATTR_ND:
      return sizeof(ovs_key_nd);
    case OVS_KEY_ATTR_CT_LABELS:
      return sizeof(ovs_key_ct_labels);
    case OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4:
      return sizeof(ovs_key_ct_tuple_ipv4);
    case OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6:
      return sizeof(ovs_key_ct_tuple_ipv6);
    case OVS_KEY_ATTR_IPV6_EXTHDRS:
      return sizeof(ovs_key_ipv6_exthdrs);
    default:
      return 0;
  }
}

bool key_attribute_has_fields(uint16_t type) {
  switch (type) {
    case OVS_KEY_ATTR_UNSPEC:
    case OVS_KEY_ATTR_ENCAP:
    case OVS_KEY_ATTR_TUNNEL:
    case OVS_KEY_ATTR_NSH:
    case OVS_KEY_ATTR_PACKET_TYPE:
    case OVS_KEY_ATTR_ND_EXTENSIONS:
    case OVS_KEY_ATTR_TUNNEL_INFO:
    case OVS_KEY_ATTR_IPV6_EXTHDRS:
      return false;
    default:
      return type <= OVS_KEY_ATTR_MAX;
  }
}

std::vector<uint8_t> key_attribute_payload(uint16_t type, const FlowKey& f, int mpls_labels) {
  switch (type) {
    case OVS_KEY_ATTR_PRIORITY:
      return bytes_of(f.priority);
    case OVS_KEY_ATTR_IN_PORT:
      return bytes_of(f.in_port);
    case OVS_KEY_ATTR_SKB_MARK:
      return bytes_of(f.skb_mark);
    case OVS_KEY_ATTR_RECIRC_ID:
      return bytes_of(f.recirc_id);
    case OVS_KEY_ATTR_DP_HASH:
      return bytes_of(f.dp_hash);
    case OVS_KEY_ATTR_CT_STATE:
      return bytes_of(f.ct_state);
    case OVS_KEY_ATTR_CT_ZONE:
      return bytes_of(f.ct_zone);
    case OVS_KEY_ATTR_CT_MARK:
      return bytes_of(f.ct_mark);
    case OVS_KEY_ATTR_CT_LABELS:
      return bytes_of(f.ct_labels);
    case OVS_KEY_ATTR_VLAN:
      return bytes_of(f.vlan.tci);
    case OVS_KEY_ATTR_ETHERTYPE:
      return bytes_of(f.eth_type);
    case OVS_KEY_ATTR_TCP_FLAGS:
      return bytes_of(f.tcp_flags);
    case OVS_KEY_ATTR_ETHERNET:
      return StructBytes<ovs_key_ethernet>()
          .at(offsetof(ovs_key_ethernet, eth_src), f.eth_src)
          .at(offsetof(ovs_key_ethernet, eth_dst), f.eth_dst)
          .bytes;
    case OVS_KEY_ATTR_IPV4:
      return StructBytes<ovs_key_ipv4>()
          .at(offsetof(ovs_key_ipv4, ipv4_src), f.ipv4_src)
          .at(offsetof(ovs_key_ipv4, ipv4_dst), f.ipv4_dst)
          .at(offsetof(ovs_key_ipv4, ipv4_proto), f.ip_proto)
          .at(offsetof(ovs_key_ipv4, ipv4_tos), f.ip_tos)
          .at(offsetof(ovs_key_ipv4, ipv4_ttl), f.ip_ttl)
          .at(offsetof(ovs_key_ipv4, ipv4_frag), f.ip_frag)
          .bytes;
    case OVS_KEY_ATTR_IPV6:
      return StructBytes<ovs_key_ipv6>()
          .at(offsetof(ovs_key_ipv6, ipv6_src), f.ipv6_src)
          .at(offsetof(ovs_key_ipv6, ipv6_dst), f.ipv6_dst)
          .at(offsetof(ovs_key_ipv6, ipv6_label), f.ipv6_label)
          .at(offsetof(ovs_key_ipv6, ipv6_proto), f.ip_proto)
          .at(offsetof(ovs_key_ipv6, ipv6_tclass), f.ip_tos)
          .at(offsetof(ovs_key_ipv6, ipv6_hlimit), f.ip_ttl)
          .at(offsetof(ovs_key_ipv6, ipv6_frag), f.ip_frag)
          .bytes;
    case OVS_KEY_ATTR_TCP:
    case OVS_KEY_ATTR_UDP:
    case OVS_KEY_ATTR_SCTP:
      // ovs_key_tcp, ovs_key_udp and ovs_key_sctp are all {src, dst}.
      return StructBytes<ovs_key_tcp>()
          .at(offsetof(ovs_key_tcp, tcp_src), f.tp_src)
          .at(offsetof(ovs_key_tcp, tcp_dst), f.tp_dst)
          .bytes;
    case OVS_KEY_ATTR_ICMP:
    case OVS_KEY_ATTR_ICMPV6:
      // The key keeps htons(type) and htons(code); the attribute one byte each.
      return StructBytes<ovs_key_icmp>()
          .at(offsetof(ovs_key_icmp, icmp_type), static_cast<uint8_t>(host16(f.tp_src)))
          .at(offsetof(ovs_key_icmp, icmp_code), static_cast<uint8_t>(host16(f.tp_dst)))
          .bytes;
    case OVS_KEY_ATTR_ARP:
      return StructBytes<ovs_key_arp>()
          .at(offsetof(ovs_key_arp, arp_sip), f.arp_sip)
          .at(offsetof(ovs_key_arp, arp_tip), f.arp_tip)
          .at(offsetof(ovs_key_arp, arp_op), f.arp_op)
          .at(offsetof(ovs_key_arp, arp_sha), f.arp_sha)
          .at(offsetof(ovs_key_arp, arp_tha), f.arp_tha)
          .bytes;
    case OVS_KEY_ATTR_ND:
      return StructBytes<ovs_key_nd>()
          .at(offsetof(ovs_key_nd, nd_target), f.nd_target)
          .at(offsetof(ovs_key_nd, nd_sll), f.nd_sll)
          .at(offsetof(ovs_key_nd, nd_tll), f.nd_tll)
          .bytes;
    case OVS_KEY_ATTR_MPLS: {
      int labels = std::clamp(mpls_labels, 1, kMaxMplsLabels);
      const auto* first = reinterpret_cast<const uint8_t*>(f.mpls_lse);
      return {first, first + labels * sizeof(ovs_key_mpls)};
    }
    case OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4:
      return StructBytes<ovs_key_ct_tuple_ipv4>()
          .at(offsetof(ovs_key_ct_tuple_ipv4, ipv4_src), f.ct_orig_ipv4_src)
          .at(offsetof(ovs_key_ct_tuple_ipv4, ipv4_dst), f.ct_orig_ipv4_dst)
          .at(offsetof(ovs_key_ct_tuple_ipv4, src_port), f.ct_orig_tp_src)
          .at(offsetof(ovs_key_ct_tuple_ipv4, dst_port), f.ct_orig_tp_dst)
          .at(offsetof(ovs_key_ct_tuple_ipv4, ipv4_proto), f.ct_orig_proto)
          .bytes;
    case OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6:
      return StructBytes<ovs_key_ct_tuple_ipv6>()
          .at(offsetof(ovs_key_ct_tuple_ipv6, ipv6_src), f.ct_orig_ipv6_src)
          .at(offsetof(ovs_key_ct_tuple_ipv6, ipv6_dst), f.ct_orig_ipv6_dst)
          .at(offsetof(ovs_key_ct_tuple_ipv6, src_port), f.ct_orig_tp_src)
          .at(offsetof(ovs_key_ct_tuple_ipv6, dst_port), f.ct_orig_tp_dst)
          .at(offsetof(ovs_key_ct_tuple_ipv6, ipv6_proto), f.ct_orig_proto)
          .bytes;
    default:
      return {};
  }
}

void key_attribute_to_fields(uint16_t type, std::span<const uint8_t> payload, FlowKey& f) {
  switch (type) {
    case OVS_KEY_ATTR_PRIORITY:
      f.priority = read_payload<uint32_t>(payload);
      break;
    case OVS_KEY_ATTR_IN_PORT:
      f.in_port = read_payload<uint32_t>(payload);
      break;
    case OVS_KEY_ATTR_SKB_MARK:
      f.skb_mark = read_payload<uint32_t>(payload);
      break;
    case OVS_KEY_ATTR_RECIRC_ID:
      f.recirc_id = read_payload<uint32_t>(payload);
      break;
    case OVS_KEY_ATTR_DP_HASH:
      f.dp_hash = read_payload<uint32_t>(payload);
      break;
    case OVS_KEY_ATTR_CT_STATE:
      f.ct_state = read_payload<uint32_t>(payload);
      break;
    case OVS_KEY_ATTR_CT_ZONE:
      f.ct_zone = read_payload<uint16_t>(payload);
      break;
    case OVS_KEY_ATTR_CT_MARK:
      f.ct_mark = read_payload<uint32_t>(payload);
      break;
    case OVS_KEY_ATTR_CT_LABELS:
      f.ct_labels = read_payload<std::array<uint8_t, 16>>(payload);
      break;
    case OVS_KEY_ATTR_VLAN:
      f.vlan.tci = read_payload<Be16>(payload);
      break;
    case OVS_KEY_ATTR_ETHERTYPE:
      f.eth_type = read_payload<Be16>(payload);
      break;
    case OVS_KEY_ATTR_TCP_FLAGS:
      f.tcp_flags = read_payload<Be16>(payload);
      break;
    case OVS_KEY_ATTR_ETHERNET: {
      auto eth = read_payload<ovs_key_ethernet>(payload);
      std::memcpy(f.eth_src.data(), eth.eth_src, 6);
      std::memcpy(f.eth_dst.data(), eth.eth_dst, 6);
      break;
    }
    case OVS_KEY_ATTR_IPV4: {
      auto ipv4 = read_payload<ovs_key_ipv4>(payload);
      f.ipv4_src = ipv4.ipv4_src;
      f.ipv4_dst = ipv4.ipv4_dst;
      f.ip_proto = ipv4.ipv4_proto;
      f.ip_tos = ipv4.ipv4_tos;
      f.ip_ttl = ipv4.ipv4_ttl;
      f.ip_frag = ipv4.ipv4_frag;
      break;
    }
    case OVS_KEY_ATTR_IPV6: {
      auto ipv6 = read_payload<ovs_key_ipv6>(payload);
      std::memcpy(f.ipv6_src.data(), ipv6.ipv6_src, 16);
      std::memcpy(f.ipv6_dst.data(), ipv6.ipv6_dst, 16);
      f.ipv6_label = ipv6.ipv6_label;
      f.ip_proto = ipv6.ipv6_proto;
      f.ip_tos = ipv6.ipv6_tclass;
      f.ip_ttl = ipv6.ipv6_hlimit;
      f.ip_frag = ipv6.ipv6_frag;
      break;
    }
    case OVS_KEY_ATTR_TCP:
    case OVS_KEY_ATTR_UDP:
    case OVS_KEY_ATTR_SCTP: {
      auto ports = read_payload<ovs_key_tcp>(payload);
      f.tp_src = ports.tcp_src;
      f.tp_dst = ports.tcp_dst;
      break;
    }
    case OVS_KEY_ATTR_ICMP:
    case OVS_KEY_ATTR_ICMPV6: {
      auto icmp = read_payload<ovs_key_icmp>(payload);
      f.tp_src = be16(icmp.icmp_type);
      f.tp_dst = be16(icmp.icmp_code);
      break;
    }
    case OVS_KEY_ATTR_ARP: {
      auto arp = read_payload<ovs_key_arp>(payload);
      f.arp_sip = arp.arp_sip;
      f.arp_tip = arp.arp_tip;
      f.arp_op = arp.arp_op;
      std::memcpy(f.arp_sha.data(), arp.arp_sha, 6);
      std::memcpy(f.arp_tha.data(), arp.arp_tha, 6);
      break;
    }
    case OVS_KEY_ATTR_ND: {
      auto nd = read_payload<ovs_key_nd>(payload);
      std::memcpy(f.nd_target.data(), nd.nd_target, 16);
      std::memcpy(f.nd_sll.data(), nd.nd_sll, 6);
      std::memcpy(f.nd_tll.data(), nd.nd_tll, 6);
      break;
    }
    case OVS_KEY_ATTR_MPLS: {
      size_t labels = std::min<size_t>(payload.size() / sizeof(ovs_key_mpls), kMaxMplsLabels);
      std::memcpy(f.mpls_lse, payload.data(), labels * sizeof(ovs_key_mpls));
      f.mpls_depth = static_cast<uint8_t>(labels);
      break;
    }
    case OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4: {
      auto tuple = read_payload<ovs_key_ct_tuple_ipv4>(payload);
      f.ct_orig_ipv4_src = tuple.ipv4_src;
      f.ct_orig_ipv4_dst = tuple.ipv4_dst;
      f.ct_orig_tp_src = tuple.src_port;
      f.ct_orig_tp_dst = tuple.dst_port;
      f.ct_orig_proto = tuple.ipv4_proto;
      break;
    }
    case OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6: {
      auto tuple = read_payload<ovs_key_ct_tuple_ipv6>(payload);
      std::memcpy(f.ct_orig_ipv6_src.data(), tuple.ipv6_src, 16);
      std::memcpy(f.ct_orig_ipv6_dst.data(), tuple.ipv6_dst, 16);
      f.ct_orig_tp_src = tuple.src_port;
      f.ct_orig_tp_dst = tuple.dst_port;
      f.ct_orig_proto = tuple.ipv6_proto;
      break;
    }
    default:
      break;
  }
}

}  // namespace flowlift
