// Property of megaflow_to_tc over random masks of the fields flower can
// match (fixed seed): the filter admits exactly the packets the megaflow
// admits. Checked at every packet one bit away from a packet the megaflow
// matches: flipping a masked bit must make the filter miss (no masked bit
// was dropped silently), flipping an unmasked one must keep it matching (no
// constraint was invented). Packets are FlowKeys a real frame can produce;
// the filter is judged by a small model of cls_flower's dissection written
// here from the kernel's flow dissector, not from the translation.
//
// A mask on a field flower has no key for (skb_mark, ipv6_label, dp_hash,
// ct_state, skb_priority) is added to some megaflows: those must be refused
// with a reason naming that field.
#include <arpa/inet.h>
#include <endian.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include <array>
#include <cstring>
#include <optional>
#include <random>
#include <string>

#include "offload/megaflow_to_tc.h"

namespace flowlift {
namespace {

using F = TcFlowerField;

constexpr uint16_t kVxlanUdpPort = 4789;

TcPortTable property_ports() {
  TcPortTable ports;
  ports.set(1, TcPortInfo{21, "p1", false, 0});
  ports.set(2, TcPortInfo{22, "p2", false, 0});
  ports.set(3, TcPortInfo{23, "vx", true, kVxlanUdpPort});
  return ports;
}

bool is_zero(const void* bytes, size_t size) {
  const auto* p = static_cast<const uint8_t*>(bytes);
  for (size_t i = 0; i < size; ++i)
    if (p[i]) return false;
  return true;
}

uint16_t host16(Be16 value) { return ntohs(value); }

// ---- which FlowKeys a real frame can produce ----

bool vlan_tpid(uint16_t type) { return type == ETH_P_8021Q || type == ETH_P_8021AD; }

bool tag_realizable(const VlanHead& tag) {
  if (host16(tag.tci) & kVlanCfi) return vlan_tpid(host16(tag.tpid));
  return tag.tci == 0 && tag.tpid == 0;
}

bool realizable(const FlowKey& k, const TcPortTable& ports) {
  if (k.mac_proto != kMacProtoEthernet) return false;
  if (!tag_realizable(k.vlan) || !tag_realizable(k.cvlan)) return false;
  const bool tagged = host16(k.vlan.tci) & kVlanCfi;
  if (!tagged && k.cvlan.tci) return false;
  const uint16_t type = host16(k.eth_type);
  if (type < 0x0600 || vlan_tpid(type)) return false;
  const bool ipv4 = type == ETH_P_IP, ipv6 = type == ETH_P_IPV6;
  const bool arp = type == ETH_P_ARP || type == ETH_P_RARP;
  const bool mpls = type == ETH_P_MPLS_UC || type == ETH_P_MPLS_MC;
  if (!ipv4 && (k.ipv4_src || k.ipv4_dst)) return false;
  if (!ipv6 && (!is_zero(&k.ipv6_src, 16) || !is_zero(&k.ipv6_dst, 16) || k.ipv6_label)) return false;
  if (ipv6 && (ntohl(k.ipv6_label) & ~0xfffffu)) return false;
  if (!ipv4 && !ipv6 && (k.ip_proto || k.ip_tos || k.ip_ttl || k.ip_frag)) return false;
  if (!arp && (k.arp_op || k.arp_sip || k.arp_tip || !is_zero(&k.arp_sha, 6) || !is_zero(&k.arp_tha, 6)))
    return false;
  if (arp && (host16(k.arp_op) > 0xff)) return false;
  if (!mpls && (k.mpls_depth || !is_zero(k.mpls_lse, sizeof k.mpls_lse))) return false;
  if (mpls) {
    if (k.mpls_depth < 1 || k.mpls_depth > 3) return false;
    for (int i = 0; i < kMaxMplsLabels; ++i) {
      const bool bos = ntohl(k.mpls_lse[i]) & 0x100;
      if (i >= k.mpls_depth && k.mpls_lse[i]) return false;
      if (i + 1 < k.mpls_depth && bos) return false;
      if (i + 1 == k.mpls_depth && k.mpls_depth < 3 && !bos) return false;
    }
  }
  if (k.ip_frag > kFragLater) return false;
  const bool ports_present = (ipv4 || ipv6) && k.ip_frag != kFragLater;
  const uint8_t proto = k.ip_proto;
  const bool has_ports = proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
  const bool icmp = (ipv4 && proto == IPPROTO_ICMP) || (ipv6 && proto == IPPROTO_ICMPV6);
  if ((!ports_present || (!has_ports && !icmp)) && (k.tp_src || k.tp_dst)) return false;
  if (icmp && (host16(k.tp_src) > 0xff || host16(k.tp_dst) > 0xff)) return false;
  if ((!ports_present || proto != IPPROTO_TCP) && k.tcp_flags) return false;
  if (host16(k.tcp_flags) & 0xf000) return false;
  const bool neighbor = ports_present && ipv6 && proto == IPPROTO_ICMPV6 &&
                        (host16(k.tp_src) == 135 || host16(k.tp_src) == 136) && k.tp_dst == 0;
  if (!neighbor && (!is_zero(&k.nd_target, 16) || !is_zero(&k.nd_sll, 6) || !is_zero(&k.nd_tll, 6)))
    return false;
  if (!is_zero(&k.tunnel.pad, sizeof k.tunnel.pad) || k.pad1) return false;
  const TcPortInfo* port = ports.find(k.in_port);
  if (port && port->vxlan) {
    const TunnelKey& t = k.tunnel;
    if (!(t.flags & kTunnelKey) || (t.flags & ~kTunnelAllFlags) || (t.flags & kTunnelOam)) return false;
    if (host16(t.tp_dst) != port->vxlan_udp_port) return false;
    uint8_t id[8];
    std::memcpy(id, &t.tun_id, 8);
    if (!is_zero(id, 5)) return false;                                         // a 24-bit VNI
    if (!is_zero(&t.ipv6_src, 16) || !is_zero(&t.ipv6_dst, 16)) return false;  // IPv4 underlay here
  } else if (!is_zero(&k.tunnel, sizeof k.tunnel)) {
    return false;
  }
  return true;
}

// ---- cls_flower's view of a packet ----

struct FlowerView {
  Be16 protocol = 0;  // tc_skb_protocol: the outer TPID, or the ethertype
  std::array<std::array<uint8_t, 16>, static_cast<size_t>(F::kCount)> fields{};

  template <typename T>
  void put(F field, const T& value) {
    std::memcpy(fields[static_cast<size_t>(field)].data(), &value, sizeof value);
  }
  void put8(F field, uint8_t value) { fields[static_cast<size_t>(field)][0] = value; }
  void put_be16(F field, uint16_t host_value) { put(field, static_cast<uint16_t>(htons(host_value))); }
  void put_be32(F field, uint32_t host_value) { put(field, static_cast<uint32_t>(htonl(host_value))); }
};

FlowerView dissect(const FlowKey& k) {
  FlowerView view;
  const bool tagged = host16(k.vlan.tci) & kVlanCfi;
  const bool double_tagged = tagged && (host16(k.cvlan.tci) & kVlanCfi);
  view.protocol = tagged ? k.vlan.tpid : k.eth_type;
  view.put(F::kEthDst, k.eth_dst);
  view.put(F::kEthSrc, k.eth_src);
  view.put(F::kEthType, view.protocol);
  if (tagged) {
    view.put_be16(F::kVlanId, host16(k.vlan.tci) & 0x0fff);
    view.put8(F::kVlanPrio, static_cast<uint8_t>(host16(k.vlan.tci) >> 13));
    view.put(F::kVlanEthType, double_tagged ? k.cvlan.tpid : k.eth_type);
  }
  if (double_tagged) {
    view.put_be16(F::kCvlanId, host16(k.cvlan.tci) & 0x0fff);
    view.put8(F::kCvlanPrio, static_cast<uint8_t>(host16(k.cvlan.tci) >> 13));
    view.put(F::kCvlanEthType, k.eth_type);
  }
  const uint32_t lse = ntohl(k.mpls_lse[0]);
  view.put_be32(F::kMplsLabel, lse >> 12);
  view.put8(F::kMplsTc, (lse >> 9) & 7);
  view.put8(F::kMplsBos, (lse >> 8) & 1);
  view.put8(F::kMplsTtl, lse & 0xff);
  view.put8(F::kIpProto, k.ip_proto);
  view.put8(F::kIpTos, k.ip_tos);
  view.put8(F::kIpTtl, k.ip_ttl);
  uint32_t flags = 0;
  if (k.ip_frag == kFragFirst) flags = kTcFlowerIsFragment | kTcFlowerFragIsFirst;
  if (k.ip_frag == kFragLater) flags = kTcFlowerIsFragment;
  view.put_be32(F::kIpFlags, flags);
  view.put(F::kIpv4Src, k.ipv4_src);
  view.put(F::kIpv4Dst, k.ipv4_dst);
  view.put(F::kIpv6Src, k.ipv6_src);
  view.put(F::kIpv6Dst, k.ipv6_dst);
  switch (k.ip_proto) {
    case IPPROTO_TCP:
      view.put(F::kTcpSrc, k.tp_src);
      view.put(F::kTcpDst, k.tp_dst);
      view.put(F::kTcpFlags, k.tcp_flags);
      break;
    case IPPROTO_UDP:
      view.put(F::kUdpSrc, k.tp_src);
      view.put(F::kUdpDst, k.tp_dst);
      break;
    case IPPROTO_SCTP:
      view.put(F::kSctpSrc, k.tp_src);
      view.put(F::kSctpDst, k.tp_dst);
      break;
    case IPPROTO_ICMP:
      view.put8(F::kIcmpv4Type, static_cast<uint8_t>(host16(k.tp_src)));
      view.put8(F::kIcmpv4Code, static_cast<uint8_t>(host16(k.tp_dst)));
      break;
    case IPPROTO_ICMPV6:
      view.put8(F::kIcmpv6Type, static_cast<uint8_t>(host16(k.tp_src)));
      view.put8(F::kIcmpv6Code, static_cast<uint8_t>(host16(k.tp_dst)));
      break;
  }
  view.put(F::kArpSip, k.arp_sip);
  view.put(F::kArpTip, k.arp_tip);
  view.put8(F::kArpOp, static_cast<uint8_t>(host16(k.arp_op)));
  view.put(F::kArpSha, k.arp_sha);
  view.put(F::kArpTha, k.arp_tha);
  uint8_t id[8];
  std::memcpy(id, &k.tunnel.tun_id, 8);
  std::memcpy(view.fields[static_cast<size_t>(F::kEncKeyId)].data(), id + 4, 4);
  view.put(F::kEncIpv4Src, k.tunnel.ipv4_src);
  view.put(F::kEncIpv4Dst, k.tunnel.ipv4_dst);
  view.put(F::kEncIpv6Src, k.tunnel.ipv6_src);
  view.put(F::kEncIpv6Dst, k.tunnel.ipv6_dst);
  view.put8(F::kEncIpTos, k.tunnel.tos);
  view.put8(F::kEncIpTtl, k.tunnel.ttl);
  view.put(F::kEncUdpSrcPort, k.tunnel.tp_src);
  view.put(F::kEncUdpDstPort, k.tunnel.tp_dst);
  return view;
}

bool filter_matches(const TcFlowerRule& rule, const FlowKey& packet, const TcPortTable& ports) {
  const TcPortInfo* port = ports.find(packet.in_port);
  if (!port || port->ifindex != rule.ifindex || packet.recirc_id != rule.chain) return false;
  const FlowerView view = dissect(packet);
  if (rule.protocol != htons(ETH_P_ALL) && rule.protocol != view.protocol) return false;
  for (const TcFlowerKey& key : rule.match.keys) {
    const auto& seen = view.fields[static_cast<size_t>(key.field)];
    for (int i = 0; i < key.width(); ++i)
      if ((seen[i] & key.mask[i]) != key.value[i]) return false;
  }
  return true;
}

// ---- random megaflows ----

class RandomMegaflows {
 public:
  explicit RandomMegaflows(uint32_t seed) : random_(seed) {}

  uint32_t below(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(random_); }
  bool chance(uint32_t one_in) { return below(one_in) == 0; }
  uint8_t byte() { return static_cast<uint8_t>(below(256)); }

  template <typename T>
  void fill(T& field) {
    auto* p = reinterpret_cast<uint8_t*>(&field);
    for (size_t i = 0; i < sizeof field; ++i) p[i] = byte();
  }
  // A maskable field's mask: none, all, or random bits.
  template <typename T>
  void maskable(T& mask) {
    switch (below(3)) {
      case 0:
        std::memset(&mask, 0, sizeof mask);
        break;
      case 1:
        std::memset(&mask, 0xff, sizeof mask);
        break;
      default:
        fill(mask);
    }
  }
  template <typename T>
  void exact_or_none(T& mask) {
    std::memset(&mask, chance(2) ? 0xff : 0, sizeof mask);
  }

  // A packet key of one of several shapes, and a kernel-shaped mask for it.
  void make(FlowKey& packet, FlowKey& mask) {
    packet = FlowKey{};
    mask = FlowKey{};
    mask.in_port = mask.recirc_id = 0xffffffff;
    mask.mac_proto = 0xff;
    mask.eth_type = 0xffff;
    mask.vlan.tci = mask.cvlan.tci = 0xffff;
    packet.in_port = 1 + below(2);
    packet.recirc_id = below(3);
    fill(packet.eth_src);
    fill(packet.eth_dst);
    maskable(mask.eth_src);
    maskable(mask.eth_dst);

    const uint32_t shape = below(8);
    if (shape == 7) vxlan_ingress(packet, mask);
    switch (below(3)) {  // tagging
      case 0:
        break;
      case 1:
        tag(packet.vlan, mask.vlan, ETH_P_8021Q);
        break;
      default:
        tag(packet.vlan, mask.vlan, ETH_P_8021AD);
        tag(packet.cvlan, mask.cvlan, ETH_P_8021Q);
    }
    switch (shape % 7) {
      case 0:
        ip(packet, mask, ETH_P_IP, IPPROTO_TCP);
        break;
      case 1:
        ip(packet, mask, ETH_P_IP, IPPROTO_UDP);
        break;
      case 2:
        ip(packet, mask, ETH_P_IPV6, chance(2) ? IPPROTO_SCTP : IPPROTO_TCP);
        break;
      case 3:
        ip(packet, mask, ETH_P_IP, IPPROTO_ICMP);
        break;
      case 4:
        ip(packet, mask, ETH_P_IPV6, IPPROTO_ICMPV6);
        break;
      case 5:
        arp(packet, mask);
        break;
      default:
        mpls(packet, mask);
    }
  }

 private:
  void tag(VlanHead& packet, VlanHead& mask, uint16_t tpid) {
    packet.tpid = htons(tpid);
    packet.tci = htons(static_cast<uint16_t>(kVlanCfi | below(0x1000) | below(8) << 13));
    mask.tpid = 0xffff;
    uint16_t tci_mask = kVlanCfi;
    if (chance(2)) tci_mask |= 0x0fff;
    if (chance(2)) tci_mask |= 0xe000;
    mask.tci = htons(tci_mask);
  }

  void vxlan_ingress(FlowKey& packet, FlowKey& mask) {
    packet.in_port = 3;
    TunnelKey& t = packet.tunnel;
    TunnelKey& m = mask.tunnel;
    t.tun_id = htobe64(below(1u << 24));
    fill(t.ipv4_src);
    fill(t.ipv4_dst);
    fill(t.tos);
    fill(t.ttl);
    fill(t.tp_src);
    t.tp_dst = htons(kVxlanUdpPort);
    t.flags = kTunnelKey | (chance(2) ? kTunnelCsum : 0) | (chance(2) ? kTunnelDontFragment : 0);
    exact_or_none(m.tun_id);
    maskable(m.ipv4_src);
    maskable(m.ipv4_dst);
    maskable(m.tos);
    maskable(m.ttl);
    maskable(m.tp_src);
    exact_or_none(m.tp_dst);
    m.flags = chance(2) ? kTunnelKey : 0;
  }

  void ip(FlowKey& packet, FlowKey& mask, uint16_t eth_type, uint8_t proto) {
    packet.eth_type = htons(eth_type);
    packet.ip_proto = proto;
    fill(packet.ip_tos);
    fill(packet.ip_ttl);
    packet.ip_frag = static_cast<uint8_t>(below(6) == 0   ? kFragLater
                                          : below(5) == 0 ? kFragFirst
                                                          : kFragNone);
    maskable(mask.ip_tos);
    maskable(mask.ip_ttl);
    exact_or_none(mask.ip_frag);
    if (eth_type == ETH_P_IP) {
      fill(packet.ipv4_src);
      fill(packet.ipv4_dst);
      maskable(mask.ipv4_src);
      maskable(mask.ipv4_dst);
    } else {
      fill(packet.ipv6_src);
      fill(packet.ipv6_dst);
      packet.ipv6_label = htonl(below(1u << 20));
      maskable(mask.ipv6_src);
      maskable(mask.ipv6_dst);
    }
    exact_or_none(mask.ip_proto);
    if (packet.ip_frag == kFragLater) return;  // no transport header
    if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
      packet.tp_src = htons(byte());
      packet.tp_dst = htons(byte());
      if (packet.tp_src == htons(135) || packet.tp_src == htons(136)) packet.tp_src = htons(128);
      mask.tp_src = htons(static_cast<uint16_t>((chance(2) ? 0xff00 : 0) | (chance(2) ? 0xff : 0)));
      mask.tp_dst = htons(static_cast<uint16_t>((chance(2) ? 0xff00 : 0) | (chance(2) ? 0xff : 0)));
    } else {
      fill(packet.tp_src);
      fill(packet.tp_dst);
      maskable(mask.tp_src);
      maskable(mask.tp_dst);
      if (proto == IPPROTO_TCP) {
        packet.tcp_flags = htons(static_cast<uint16_t>(below(0x1000)));
        maskable(mask.tcp_flags);
      }
    }
    if (mask.tp_src || mask.tp_dst || mask.tcp_flags) {
      mask.ip_proto = 0xff;  // as the kernel's layering requires
      // Flower never reads a first fragment's layer 4 (the datapath does), so
      // a layer-4 match admitting first fragments is refused (see
      // MegaflowToTc.PortsOrTcpFlagsMatchedWhereFirstFragmentsAdmittedAreRefused):
      // the flows this property is about exclude them.
      mask.ip_frag = 0xff;
      if (packet.ip_frag == kFragFirst) packet.ip_frag = kFragNone;
    }
  }

  void arp(FlowKey& packet, FlowKey& mask) {
    packet.eth_type = htons(chance(4) ? ETH_P_RARP : ETH_P_ARP);
    packet.arp_op = htons(static_cast<uint16_t>(1 + below(4)));
    fill(packet.arp_sip);
    fill(packet.arp_tip);
    fill(packet.arp_sha);
    fill(packet.arp_tha);
    mask.arp_op = htons(static_cast<uint16_t>(chance(2) ? 0xff : 0));
    maskable(mask.arp_sip);
    maskable(mask.arp_tip);
    maskable(mask.arp_sha);
    maskable(mask.arp_tha);
  }

  void mpls(FlowKey& packet, FlowKey& mask) {
    packet.eth_type = htons(chance(2) ? ETH_P_MPLS_UC : ETH_P_MPLS_MC);
    packet.mpls_depth = 1;
    packet.mpls_lse[0] = htonl(below(1u << 20) << 12 | below(8) << 9 | 1u << 8 | below(256));
    uint32_t lse_mask = 0;
    if (chance(2)) lse_mask |= 0xfffff000u;
    if (chance(2)) lse_mask |= 0x00000e00u;
    if (chance(2)) lse_mask |= 0x00000100u;
    if (chance(2)) lse_mask |= 0x000000ffu;
    mask.mpls_lse[0] = htonl(lse_mask);
    mask.mpls_depth = 0xff;
  }

  std::mt19937 random_;
};

struct InjectedField {
  const char* name;
  void (*inject)(FlowKey& packet, FlowKey& mask);
};

const InjectedField kUnsupportedFields[] = {
    {"skb_mark",
     [](FlowKey& p, FlowKey& m) {
       p.skb_mark = 7;
       m.skb_mark = 0xffffffff;
     }},
    {"skb_priority",
     [](FlowKey& p, FlowKey& m) {
       p.priority = 3;
       m.priority = 0xff;
     }},
    {"dp_hash",
     [](FlowKey& p, FlowKey& m) {
       p.dp_hash = 5;
       m.dp_hash = 0xf;
     }},
    {"ct_state",
     [](FlowKey& p, FlowKey& m) {
       p.ct_state = kCtTracked | kCtEstablished;
       m.ct_state = kCtTracked | kCtEstablished;
     }},
};

TEST(MegaflowToTcProperty, FilterAdmitsExactlyThePacketsTheMegaflowAdmitsOneBitAway) {
  const TcPortTable ports = property_ports();
  RandomMegaflows random(20261122);
  int accepted = 0, refused = 0, flips_checked = 0;
  for (int round = 0; round < 400; ++round) {
    FlowKey packet, mask_bits;
    random.make(packet, mask_bits);
    const InjectedField* injected = nullptr;
    if (random.chance(6)) {
      injected = &kUnsupportedFields[random.below(std::size(kUnsupportedFields))];
      injected->inject(packet, mask_bits);
    }
    ASSERT_TRUE(realizable(packet, ports))
        << "round " << round << ": the generator made an impossible packet";
    Megaflow flow;
    flow.match = Match(packet, FlowMask(mask_bits));
    flow.actions.push_back(OutputAction{2});
    Result<TcFlowerRule> rule = megaflow_to_tc(flow, ports);

    if (injected) {
      ASSERT_FALSE(rule.is_ok()) << "round " << round << ": " << injected->name << " was masked";
      EXPECT_EQ(rule.status().code(), EOPNOTSUPP);
      EXPECT_EQ(rule.status().message(), std::string("tc flower has no key for ") + injected->name)
          << "round " << round;
      ++refused;
      continue;
    }
    ASSERT_TRUE(rule.is_ok()) << "round " << round << ": " << rule.status().message();
    ++accepted;
    ASSERT_TRUE(filter_matches(*rule, packet, ports))
        << "round " << round << ": the filter misses its own packet";

    for (size_t byte = 0; byte < sizeof(FlowKey); ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        FlowKey flipped = packet;
        reinterpret_cast<uint8_t*>(&flipped)[byte] ^= static_cast<uint8_t>(1u << bit);
        if (!realizable(flipped, ports)) continue;
        ++flips_checked;
        const bool megaflow_matches = flow.match.matches(flipped);
        ASSERT_EQ(filter_matches(*rule, flipped, ports), megaflow_matches)
            << "round " << round << ": byte " << byte << " bit " << bit
            << (megaflow_matches ? " (unmasked) is constrained by the filter"
                                 : " (masked) is not constrained by the filter");
      }
    }
  }
  // The generator must exercise both outcomes, and many flips.
  EXPECT_GT(accepted, 250);
  EXPECT_GT(refused, 30);
  EXPECT_GT(flips_checked, 100000);
}

}  // namespace
}  // namespace flowlift
