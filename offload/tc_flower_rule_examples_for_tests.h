// Test-only: TcFlowerRules shaped like what the translation writes for
// typical megaflows, shared by the codec's unit test, its lab test (where
// the kernel and iproute2 judge them), its benchmark and the fuzzer's seed
// corpus. Each rule is valid for Linux's cls_flower as it stands (ethertype
// and ip_proto set wherever flower needs them to read the keys after them),
// and keys are in the model's normal form (network order, value masked,
// exact-only keys with an all-ones mask, a VLAN rule's kEthType the
// innermost ethertype), so that parse(encode(rule)) == rule holds.
#pragma once

#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_csum.h>
#include <linux/tc_act/tc_pedit.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>

#include "offload/tc_flower_rule.h"

namespace flowlift {

// A key from its value bytes and mask bytes (no mask: all ones of the
// field's width). The value is masked here, as the model wants.
inline TcFlowerKey tc_example_key(TcFlowerField field, std::initializer_list<uint8_t> value,
                                  std::initializer_list<uint8_t> mask = {}) {
  TcFlowerKey key;
  key.field = field;
  const uint8_t width = key.width();
  std::copy(value.begin(), value.end(), key.value.begin());
  if (mask.size() == 0) {
    std::fill_n(key.mask.begin(), width, uint8_t{0xff});
  } else {
    std::copy(mask.begin(), mask.end(), key.mask.begin());
  }
  for (uint8_t i = 0; i < width; ++i) key.value[i] &= key.mask[i];
  return key;
}

inline Ufid tc_example_ufid(uint8_t seed) {
  Ufid ufid;
  for (size_t i = 0; i < ufid.bytes.size(); ++i) ufid.bytes[i] = static_cast<uint8_t>(seed * 16 + i + 1);
  return ufid;
}

inline TcFlowerRule tc_example_rule_base(uint32_t ifindex, uint16_t priority, uint16_t ethertype) {
  TcFlowerRule rule;
  rule.ifindex = ifindex;
  rule.priority = priority;
  rule.protocol = htons(ethertype);
  rule.policy = TcPolicy::kSkipHw;
  rule.cookie = tc_example_ufid(static_cast<uint8_t>(priority));
  return rule;
}

// The typical kernel megaflow: Ethernet addresses, IPv4 /24 and /32, TCP
// destination port exact, TCP flags and TTL masked, not a fragment; output
// to one port (mirred redirect).
inline TcFlowerRule tc_example_ipv4_tcp_rule(uint32_t ifindex = 2, uint32_t out_ifindex = 3) {
  using F = TcFlowerField;
  TcFlowerRule rule = tc_example_rule_base(ifindex, 1, 0x0800);
  TcFlowerMatch& m = rule.match;
  m.set(tc_example_key(F::kEthDst, {0x02, 0x00, 0x00, 0x00, 0x00, 0x02}));
  m.set(
      tc_example_key(F::kEthSrc, {0x02, 0x00, 0x00, 0x00, 0x00, 0x01}, {0xff, 0xff, 0xff, 0x00, 0x00, 0x00}));
  m.set(tc_example_key(F::kEthType, {0x08, 0x00}));
  m.set(tc_example_key(F::kIpProto, {6}));
  m.set(tc_example_key(F::kIpTos, {0x10}, {0xfc}));
  m.set(tc_example_key(F::kIpTtl, {64}, {0xff}));
  m.set(tc_example_key(F::kIpFlags, {0, 0, 0, 0}, {0, 0, 0, kTcFlowerIsFragment}));
  m.set(tc_example_key(F::kIpv4Src, {10, 1, 2, 0}, {255, 255, 255, 0}));
  m.set(tc_example_key(F::kIpv4Dst, {10, 1, 3, 4}));
  m.set(tc_example_key(F::kTcpDst, {0x01, 0xbb}));
  m.set(tc_example_key(F::kTcpSrc, {0x80, 0x00}, {0x80, 0x00}));
  m.set(tc_example_key(F::kTcpFlags, {0x00, 0x02}, {0x00, 0x12}));
  rule.actions.push_back(TcMirredAction{out_ifindex, "", true});
  return rule;
}

// A tagged frame: outer VLAN id and priority, the inner ethertype, UDP
// ports; the tag is popped and the frame mirrored to one port and
// redirected to another.
inline TcFlowerRule tc_example_vlan_rule(uint32_t ifindex = 2, uint32_t out_ifindex = 3) {
  using F = TcFlowerField;
  TcFlowerRule rule = tc_example_rule_base(ifindex, 2, 0x8100);
  TcFlowerMatch& m = rule.match;
  m.set(tc_example_key(F::kEthType, {0x08, 0x00}));
  m.set(tc_example_key(F::kVlanId, {0x00, 0x64}));
  m.set(tc_example_key(F::kVlanPrio, {3}));
  m.set(tc_example_key(F::kVlanEthType, {0x08, 0x00}));
  m.set(tc_example_key(F::kIpProto, {17}));
  m.set(tc_example_key(F::kUdpDst, {0x00, 0x35}));
  rule.actions.push_back(TcVlanPopAction{});
  rule.actions.push_back(TcMirredAction{out_ifindex, "", false});
  rule.actions.push_back(TcMirredAction{out_ifindex, "", true});
  return rule;
}

// QinQ: 802.1ad outer tag, 802.1Q inner tag, IPv4 inside; the outer tag is
// rewritten and a tag pushed.
inline TcFlowerRule tc_example_qinq_rule(uint32_t ifindex = 2, uint32_t out_ifindex = 3) {
  using F = TcFlowerField;
  TcFlowerRule rule = tc_example_rule_base(ifindex, 3, 0x88a8);
  TcFlowerMatch& m = rule.match;
  m.set(tc_example_key(F::kEthType, {0x08, 0x00}));
  m.set(tc_example_key(F::kVlanId, {0x00, 0x0a}));
  m.set(tc_example_key(F::kVlanEthType, {0x81, 0x00}));
  m.set(tc_example_key(F::kCvlanId, {0x01, 0x00}));
  m.set(tc_example_key(F::kCvlanPrio, {5}));
  m.set(tc_example_key(F::kCvlanEthType, {0x08, 0x00}));
  rule.actions.push_back(TcVlanModifyAction{htons(0x88a8), 20, 1});
  rule.actions.push_back(TcVlanPushAction{htons(0x8100), 30, 2});
  rule.actions.push_back(TcMirredAction{out_ifindex, "", true});
  return rule;
}

// IPv6 with prefixes, ICMPv6 type/code; dropped.
inline TcFlowerRule tc_example_ipv6_rule(uint32_t ifindex = 2) {
  using F = TcFlowerField;
  TcFlowerRule rule = tc_example_rule_base(ifindex, 4, 0x86dd);
  TcFlowerMatch& m = rule.match;
  m.set(tc_example_key(F::kEthType, {0x86, 0xdd}));
  m.set(tc_example_key(F::kIpProto, {58}));
  m.set(tc_example_key(F::kIpv6Src, {0x20, 0x01, 0x0d, 0xb8, 0, 1}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
  m.set(tc_example_key(F::kIpv6Dst, {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  m.set(tc_example_key(F::kIcmpv6Type, {128}));
  m.set(tc_example_key(F::kIcmpv6Code, {0}, {0xff}));
  rule.actions.push_back(TcDropAction{});
  return rule;
}

// ARP request from a /24 for one target, sender MAC masked.
inline TcFlowerRule tc_example_arp_rule(uint32_t ifindex = 2, uint32_t out_ifindex = 3) {
  using F = TcFlowerField;
  TcFlowerRule rule = tc_example_rule_base(ifindex, 5, 0x0806);
  TcFlowerMatch& m = rule.match;
  m.set(tc_example_key(F::kEthType, {0x08, 0x06}));
  m.set(tc_example_key(F::kArpSip, {10, 1, 2, 0}, {255, 255, 255, 0}));
  m.set(tc_example_key(F::kArpTip, {10, 1, 2, 1}));
  m.set(tc_example_key(F::kArpOp, {1}, {0xff}));
  m.set(tc_example_key(F::kArpSha, {0x02, 0, 0, 0, 0, 0x01}, {0xff, 0xff, 0xff, 0, 0, 0}));
  m.set(tc_example_key(F::kArpTha, {0, 0, 0, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
  rule.actions.push_back(TcMirredAction{out_ifindex, "", true});
  return rule;
}

// MPLS: the outer LSE matched, popped to IPv4; also pushes and rewrites.
inline TcFlowerRule tc_example_mpls_rule(uint32_t ifindex = 2, uint32_t out_ifindex = 3) {
  using F = TcFlowerField;
  TcFlowerRule rule = tc_example_rule_base(ifindex, 6, 0x8847);
  TcFlowerMatch& m = rule.match;
  m.set(tc_example_key(F::kEthType, {0x88, 0x47}));
  m.set(tc_example_key(F::kMplsLabel, {0x00, 0x01, 0xe2, 0x40}));  // 123456
  m.set(tc_example_key(F::kMplsTc, {2}));
  m.set(tc_example_key(F::kMplsBos, {1}));
  m.set(tc_example_key(F::kMplsTtl, {63}));
  rule.actions.push_back(TcMplsModifyAction{1000, 1, 32, 1});
  rule.actions.push_back(TcMplsPopAction{htons(0x0800)});
  rule.actions.push_back(TcMplsPushAction{htons(0x8847), 2000, 3, 64, 1});
  rule.actions.push_back(TcMirredAction{out_ifindex, "", true});
  return rule;
}

// VXLAN encapsulation: an IPv4/UDP flow sent into a VXLAN tunnel (tunnel
// metadata, then redirect to the VXLAN netdev).
inline TcFlowerRule tc_example_vxlan_encap_rule(uint32_t ifindex = 2, uint32_t vxlan_ifindex = 4) {
  using F = TcFlowerField;
  TcFlowerRule rule = tc_example_rule_base(ifindex, 7, 0x0800);
  TcFlowerMatch& m = rule.match;
  m.set(tc_example_key(F::kEthDst, {0x02, 0, 0, 0, 0, 0x09}));
  m.set(tc_example_key(F::kEthType, {0x08, 0x00}));
  m.set(tc_example_key(F::kIpProto, {17}));
  m.set(tc_example_key(F::kIpv4Dst, {10, 9, 0, 0}, {255, 255, 0, 0}));
  m.set(tc_example_key(F::kUdpSrc, {0x13, 0x88}));
  TcTunnelKeySetAction set;
  set.key_id = htonl(5000);
  set.ipv4_src = htonl(0xc0a80001);  // 192.168.0.1
  set.ipv4_dst = htonl(0xc0a80002);
  set.dst_port = htons(4789);
  set.tos = 0x10;
  set.ttl = 64;
  set.checksum = true;
  rule.actions.push_back(set);
  rule.actions.push_back(TcMirredAction{vxlan_ifindex, "", true});
  return rule;
}

// VXLAN decapsulation, matched on a VXLAN netdev: the tunnel keys of the
// outer headers, the inner Ethernet type; metadata released, output.
inline TcFlowerRule tc_example_vxlan_decap_rule(uint32_t vxlan_ifindex = 4, uint32_t out_ifindex = 3) {
  using F = TcFlowerField;
  TcFlowerRule rule = tc_example_rule_base(vxlan_ifindex, 8, 0x0800);
  TcFlowerMatch& m = rule.match;
  m.set(tc_example_key(F::kEthType, {0x08, 0x00}));
  m.set(tc_example_key(F::kEncKeyId, {0, 0, 0x13, 0x88}));
  m.set(tc_example_key(F::kEncIpv4Src, {192, 168, 0, 2}));
  m.set(tc_example_key(F::kEncIpv4Dst, {192, 168, 0, 0}, {255, 255, 255, 0}));
  m.set(tc_example_key(F::kEncIpTos, {0}, {0xfc}));
  m.set(tc_example_key(F::kEncIpTtl, {64}, {0xff}));
  m.set(tc_example_key(F::kEncUdpSrcPort, {0xc0, 0x00}, {0xf0, 0x00}));
  m.set(tc_example_key(F::kEncUdpDstPort, {0x12, 0xb5}));
  rule.actions.push_back(TcTunnelKeyUnsetAction{});
  rule.actions.push_back(TcMirredAction{out_ifindex, "", true});
  return rule;
}

// IPv6 underlay tunnel keys (match and set).
inline TcFlowerRule tc_example_ipv6_tunnel_rule(uint32_t vxlan_ifindex = 4) {
  using F = TcFlowerField;
  TcFlowerRule rule = tc_example_rule_base(vxlan_ifindex, 9, 0x86dd);
  TcFlowerMatch& m = rule.match;
  m.set(tc_example_key(F::kEthType, {0x86, 0xdd}));
  m.set(tc_example_key(F::kEncKeyId, {0, 0, 0, 7}));
  m.set(tc_example_key(F::kEncIpv6Src, {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  m.set(tc_example_key(F::kEncIpv6Dst, {0xfd, 0, 0, 0, 0, 0, 0, 0},
                       {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
  m.set(tc_example_key(F::kEncUdpDstPort, {0x12, 0xb5}));
  TcTunnelKeySetAction set;
  set.key_id = htonl(8);
  set.ipv6_src = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  set.ipv6_dst = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  set.dst_port = htons(4789);
  set.checksum = false;
  set.dont_fragment = true;
  rule.actions.push_back(set);
  rule.actions.push_back(TcMirredAction{vxlan_ifindex, "", true});
  return rule;
}

// A rewrite: IPv4 destination and TTL through pedit, the checksums it
// breaks fixed by csum, then output.
inline TcFlowerRule tc_example_pedit_rule(uint32_t ifindex = 2, uint32_t out_ifindex = 3) {
  using F = TcFlowerField;
  TcFlowerRule rule = tc_example_rule_base(ifindex, 10, 0x0800);
  TcFlowerMatch& m = rule.match;
  m.set(tc_example_key(F::kEthType, {0x08, 0x00}));
  m.set(tc_example_key(F::kIpProto, {17}));
  m.set(tc_example_key(F::kIpv4Dst, {10, 1, 3, 4}));
  m.set(tc_example_key(F::kUdpDst, {0x00, 0x35}));
  TcPeditAction pedit;
  // ttl: the byte at offset 8 of the IPv4 header; the word's other bytes kept.
  pedit.keys.push_back(TcPeditKey{TCA_PEDIT_KEY_EX_HDR_TYPE_IP4, 8, htonl(0x3f000000), htonl(0x00ffffff)});
  pedit.keys.push_back(TcPeditKey{TCA_PEDIT_KEY_EX_HDR_TYPE_IP4, 16, htonl(0x0a010305), 0});
  pedit.keys.push_back(TcPeditKey{TCA_PEDIT_KEY_EX_HDR_TYPE_ETH, 0, htonl(0x02000000), 0});
  pedit.keys.push_back(TcPeditKey{TCA_PEDIT_KEY_EX_HDR_TYPE_ETH, 4, htonl(0x00070000), htonl(0x0000ffff)});
  rule.actions.push_back(pedit);
  rule.actions.push_back(TcCsumAction{TCA_CSUM_UPDATE_FLAG_IPV4HDR | TCA_CSUM_UPDATE_FLAG_UDP});
  rule.actions.push_back(TcMirredAction{out_ifindex, "", true});
  return rule;
}

// A recirculation: the megaflow of recirc_id 0 hands over to chain 1, and a
// rule in chain 1 (with SCTP ports and ICMP-free IPv4) finishes it.
inline TcFlowerRule tc_example_goto_chain_rule(uint32_t ifindex = 2) {
  using F = TcFlowerField;
  TcFlowerRule rule = tc_example_rule_base(ifindex, 11, 0x0800);
  TcFlowerMatch& m = rule.match;
  m.set(tc_example_key(F::kEthType, {0x08, 0x00}));
  m.set(tc_example_key(F::kIpProto, {132}));
  m.set(tc_example_key(F::kSctpSrc, {0x0b, 0xb8}));
  m.set(tc_example_key(F::kSctpDst, {0x0b, 0xb9}, {0xff, 0x00}));
  rule.actions.push_back(TcGotoChainAction{1});
  return rule;
}

inline TcFlowerRule tc_example_icmp_in_chain_rule(uint32_t ifindex = 2, uint32_t out_ifindex = 3) {
  using F = TcFlowerField;
  TcFlowerRule rule = tc_example_rule_base(ifindex, 12, 0x0800);
  rule.chain = 1;
  rule.policy = TcPolicy::kNone;
  TcFlowerMatch& m = rule.match;
  m.set(tc_example_key(F::kEthType, {0x08, 0x00}));
  m.set(tc_example_key(F::kIpProto, {1}));
  m.set(tc_example_key(F::kIcmpv4Type, {8}));
  m.set(tc_example_key(F::kIcmpv4Code, {0}, {0xff}));
  rule.actions.push_back(TcMirredAction{out_ifindex, "", false});
  rule.actions.push_back(TcDropAction{});
  return rule;
}

}  // namespace flowlift
