// FlowKey <-> OfFlow and megaflow -> datapath Match: field placement as OVS's
// odp_flow_key_to_flow() has it, the datapath's always-exact fields, and the
// property that a converted megaflow matches its packet and nothing its
// OfMatch would refuse.
#include "slowpath/of_flow_key.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "kmod/flow_extract.h"
#include "kmod/frame_builder_for_tests.h"
#include "kmod/netlink_key.h"
#include "kmod/odp_text_key.h"
#include "slowpath/of_flow_syntax.h"
#include "slowpath/of_flow_units.h"

namespace flowlift {
namespace {

using testing::ArpFields;
using testing::FrameBuilder;
using testing::ipv4_address;
using testing::Ipv4Fields;
using testing::ipv6_address;
using testing::Ipv6Fields;

constexpr EthAddr kHostMac{0x02, 0, 0, 0, 0, 0x01};
constexpr EthAddr kBridgeMac{0x02, 0, 0, 0, 0, 0xb0};
constexpr uint32_t kTunnelDatapathPort = 4789;

// The oracle topology's numbering: p1..p5 are 1..5 on both sides; vx1 (10,
// remote 192.0.2.2) and vx2 (11, remote 192.0.2.3) share datapath port 4789.
std::optional<uint32_t> oracle_of_port(uint32_t datapath_port, const TunnelKey* tunnel) {
  if (datapath_port >= 1 && datapath_port <= 5) return datapath_port;
  if (datapath_port == kTunnelDatapathPort && tunnel) {
    if (tunnel->ipv4_src == ipv4_address(192, 0, 2, 2)) return 10;
    if (tunnel->ipv4_src == ipv4_address(192, 0, 2, 3)) return 11;
  }
  return std::nullopt;
}

std::optional<uint32_t> oracle_datapath_port(uint32_t of_port) {
  if (of_port >= 1 && of_port <= 5) return of_port;
  if (of_port == 10 || of_port == 11) return kTunnelDatapathPort;
  return std::nullopt;
}

FlowKey extract(const FrameBuilder& frame, uint32_t in_port = 1) {
  Packet packet = frame.packet();
  packet.md.in_port = in_port;
  return flow_key_extract(packet);
}

OfFlow of_flow(const FlowKey& key) {
  Result<OfFlow> flow = of_flow_from_key(key, oracle_of_port);
  EXPECT_TRUE(flow.is_ok()) << flow.status().message();
  return flow.is_ok() ? *flow : OfFlow{};
}

FrameBuilder tcp4_frame(Be32 src, Be32 dst, uint16_t sport, uint16_t dport, uint16_t fragment = 0) {
  FrameBuilder f;
  f.ethernet(kBridgeMac, kHostMac, 0x0800);
  f.ipv4(Ipv4Fields{.flags_and_fragment_offset = fragment, .protocol = 6, .src = src, .dst = dst});
  if ((fragment & 0x1fff) == 0) f.tcp(sport, dport, 0x012);
  return f;
}

FrameBuilder tagged_tcp4_frame(uint16_t tci) {
  FrameBuilder f;
  f.ethernet_addresses(kBridgeMac, kHostMac);
  f.vlan_tag(0x8100, tci).be16(0x0800);
  f.ipv4(Ipv4Fields{.protocol = 6, .src = ipv4_address(10, 1, 2, 3), .dst = ipv4_address(10, 2, 3, 5)});
  f.tcp(40001, 80, 0x002);
  return f;
}

OfMatch megaflow(std::string_view text) {
  Result<OfMatch> match = parse_of_match(text, PortNames{});
  EXPECT_TRUE(match.is_ok()) << text << ": " << match.status().message();
  return match.is_ok() ? *match : OfMatch{};
}

Match convert(std::string_view text, const FlowKey& key) {
  Result<Match> match = datapath_match_from_megaflow(megaflow(text), key, oracle_datapath_port);
  EXPECT_TRUE(match.is_ok()) << text << ": " << match.status().message();
  return match.is_ok() ? *match : Match{};
}

std::string differing_bytes(const Match& a, const Match& b) {
  std::string out;
  const auto* ka = reinterpret_cast<const uint8_t*>(&a.key);
  const auto* kb = reinterpret_cast<const uint8_t*>(&b.key);
  const auto* ma = reinterpret_cast<const uint8_t*>(&a.mask.bits());
  const auto* mb = reinterpret_cast<const uint8_t*>(&b.mask.bits());
  for (size_t i = 0; i < sizeof(FlowKey); ++i) {
    if (ka[i] != kb[i])
      out += "key byte " + std::to_string(i) + ": " + std::to_string(ka[i]) + " vs " + std::to_string(kb[i]) +
             "\n";
    if (ma[i] != mb[i])
      out += "mask byte " + std::to_string(i) + ": " + std::to_string(ma[i]) + " vs " +
             std::to_string(mb[i]) + "\n";
  }
  return out;
}

// What the kernel installs is what decode_match makes of the attributes; a
// converted Match must survive that trip unchanged.
void expect_netlink_round_trip(const Match& match) {
  MatchAttributes attributes = encode_match(match);
  Result<Match> decoded = decode_match(attributes.key, std::span<const uint8_t>(attributes.mask));
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().message();
  EXPECT_TRUE(*decoded == match) << format_match(match) << "\n"
                                 << format_match(*decoded) << "\n"
                                 << differing_bytes(match, *decoded);
}

// ---------------------------------------------------------------- FlowKey -> OfFlow

TEST(OfFlowFromKey, ArpOpcodeAndAddressesLandInNwProtoAndNwSrcNwDst) {
  FrameBuilder f;
  f.ethernet(kBridgeMac, kHostMac, 0x0806);
  f.arp(ArpFields{.op = 2,
                  .sha = kHostMac,
                  .sip = ipv4_address(10, 3, 0, 9),
                  .tha = kBridgeMac,
                  .tip = ipv4_address(10, 2, 9, 9)});
  OfFlow flow = of_flow(extract(f));
  EXPECT_EQ(flow.dl_type, htons(0x0806));
  EXPECT_EQ(flow.nw_proto, 2);
  EXPECT_EQ(flow.nw_src, ipv4_address(10, 3, 0, 9));
  EXPECT_EQ(flow.nw_dst, ipv4_address(10, 2, 9, 9));
  EXPECT_EQ(flow.arp_sha, kHostMac);
  EXPECT_EQ(flow.arp_tha, kBridgeMac);
  EXPECT_EQ(flow.nw_frag, 0);
}

TEST(OfFlowFromKey, IcmpTypeAndCodeAreHtonsInTpSrcTpDst) {
  FrameBuilder f;
  f.ethernet(kBridgeMac, kHostMac, 0x0800);
  f.ipv4(Ipv4Fields{.protocol = 1, .src = ipv4_address(10, 9, 0, 1), .dst = ipv4_address(10, 80, 1, 1)});
  f.icmp(3, 1);
  OfFlow flow = of_flow(extract(f));
  EXPECT_EQ(flow.nw_proto, 1);
  EXPECT_EQ(flow.tp_src, htons(3));
  EXPECT_EQ(flow.tp_dst, htons(1));
}

TEST(OfFlowFromKey, NeighborDiscoveryLinkLayerAddressesLandInArpShaArpTha) {
  Ipv6Addr target = ipv6_address({0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 5});
  FrameBuilder f;
  f.ethernet({0x33, 0x33, 0xff, 0, 0, 5}, kHostMac, 0x86dd);
  f.ipv6(Ipv6Fields{.payload_length = 40,
                    .next_header = 58,
                    .hop_limit = 255,
                    .src = ipv6_address({0x2001, 0xdb8, 1, 0, 0, 0, 0, 1}),
                    .dst = ipv6_address({0xff02, 0, 0, 0, 0, 1, 0xff00, 5})});
  f.nd_message(135, target).nd_link_layer_option(1, kHostMac).nd_link_layer_option(2, kBridgeMac);
  OfFlow flow = of_flow(extract(f));
  EXPECT_EQ(flow.nw_proto, 58);
  EXPECT_EQ(flow.tp_src, htons(135));
  EXPECT_EQ(flow.nd_target, target);
  EXPECT_EQ(flow.arp_sha, kHostMac);
  EXPECT_EQ(flow.arp_tha, kBridgeMac);
  EXPECT_EQ(flow.nw_ttl, 255);
}

TEST(OfFlowFromKey, VlanTciKeepsTheCfiBitAndDlTypeIsTheTypeAfterTheTag) {
  OfFlow flow = of_flow(extract(tagged_tcp4_frame(5 << 13 | 10)));
  EXPECT_EQ(flow.vlan_tci, htons(0xb00a));  // pcp 5, CFI, vid 10
  EXPECT_EQ(flow.vlan_tpid, htons(0x8100));
  EXPECT_EQ(flow.dl_type, htons(0x0800));
  EXPECT_EQ(flow.tp_dst, htons(80));
  EXPECT_EQ(of_flow(extract(tcp4_frame(1, 2, 3, 4))).vlan_tci, 0);
}

TEST(OfFlowFromKey, FragmentTypesBecomeNwFragBits) {
  Be32 a = ipv4_address(10, 3, 0, 9), b = ipv4_address(10, 2, 3, 5);
  EXPECT_EQ(of_flow(extract(tcp4_frame(a, b, 1, 80))).nw_frag, 0);
  OfFlow first = of_flow(extract(tcp4_frame(a, b, 1, 80, 0x2000)));
  EXPECT_EQ(first.nw_frag, kOfFragAny);
  EXPECT_EQ(first.tp_dst, htons(80));  // the first fragment keeps its ports, as OVS's flow_extract does
  OfFlow later = of_flow(extract(tcp4_frame(a, b, 1, 80, 0x0010)));
  EXPECT_EQ(later.nw_frag, kOfFragAny | kOfFragLater);
  EXPECT_EQ(later.tp_dst, 0);
}

TEST(OfFlowFromKey, TunnelPortMapsByTunnelMetadataAndCarriesIt) {
  FlowKey key = extract(tcp4_frame(ipv4_address(172, 21, 0, 9), ipv4_address(10, 3, 0, 50), 7001, 7000),
                        kTunnelDatapathPort);
  key.tunnel.tun_id = htobe64(0x1388);
  key.tunnel.ipv4_src = ipv4_address(192, 0, 2, 3);
  key.tunnel.ipv4_dst = ipv4_address(192, 0, 2, 1);
  key.tunnel.ttl = 64;
  key.tunnel.tp_dst = htons(4789);
  key.tunnel.flags = kTunnelKey | kTunnelDontFragment;
  OfFlow flow = of_flow(key);
  EXPECT_EQ(flow.in_port, 11u);  // vx2
  EXPECT_EQ(flow.tun_id, htobe64(0x1388));
  EXPECT_EQ(flow.tun_src, ipv4_address(192, 0, 2, 3));
  EXPECT_EQ(flow.tun_dst, ipv4_address(192, 0, 2, 1));
  EXPECT_EQ(flow.tun_ttl, 64);
  EXPECT_EQ(flow.tun_tp_dst, htons(4789));
  EXPECT_EQ(flow.tun_flags, kTunnelKey | kTunnelDontFragment);
  key.tunnel.ipv4_src = ipv4_address(192, 0, 2, 2);
  EXPECT_EQ(of_flow(key).in_port, 10u);  // vx1
}

TEST(OfFlowFromKey, MplsKeepsTheOutermostLabelStackEntry) {
  FrameBuilder f;
  f.ethernet(kBridgeMac, kHostMac, 0x8847);
  f.mpls(100, 3, false, 64).mpls(200, 0, true, 63);
  OfFlow flow = of_flow(extract(f));
  EXPECT_EQ(flow.dl_type, htons(0x8847));
  EXPECT_EQ(flow.mpls_lse, htonl(100u << 12 | 3u << 9 | 64u));
}

TEST(OfFlowFromKey, RefusesWhatOfFlowCannotHold) {
  FlowKey base = extract(tcp4_frame(1, 2, 3, 4));
  FlowKey layer3 = base;
  layer3.mac_proto = kMacProtoNone;
  EXPECT_NE(of_flow_from_key(layer3, oracle_of_port).status().message().find("layer-3"), std::string::npos);
  FlowKey qinq = extract(tagged_tcp4_frame(10));
  qinq.cvlan = VlanHead{htons(0x8100), htons(0x1000 | 20)};
  EXPECT_NE(of_flow_from_key(qinq, oracle_of_port).status().message().find("QinQ"), std::string::npos);
  FlowKey tracked = base;
  tracked.ct_state = kCtTracked | kCtNew;
  EXPECT_NE(of_flow_from_key(tracked, oracle_of_port).status().message().find("conntrack"),
            std::string::npos);
  FlowKey arp{};
  arp.in_port = 1;
  arp.eth_type = htons(0x0806);
  arp.arp_op = htons(300);
  EXPECT_NE(of_flow_from_key(arp, oracle_of_port).status().message().find("ARP opcode 300"),
            std::string::npos);
  FlowKey unknown_port = base;
  unknown_port.in_port = 77;
  Result<OfFlow> unmapped = of_flow_from_key(unknown_port, oracle_of_port);
  EXPECT_EQ(unmapped.status().code(), ENODEV);
  EXPECT_NE(unmapped.status().message().find("datapath port 77"), std::string::npos);
}

// ---------------------------------------------------------------- OfFlow -> FlowKey

std::vector<FrameBuilder> sample_frames() {
  std::vector<FrameBuilder> frames;
  Be32 a = ipv4_address(10, 3, 0, 9), b = ipv4_address(10, 2, 3, 5);
  frames.push_back(tcp4_frame(a, b, 40001, 80));
  frames.push_back(tcp4_frame(a, b, 40001, 80, 0x2000));
  frames.push_back(tcp4_frame(a, b, 40001, 80, 0x0020));
  frames.push_back(tagged_tcp4_frame(3 << 13 | 300));
  FrameBuilder udp;
  udp.ethernet(kBridgeMac, kHostMac, 0x0800);
  udp.ipv4(Ipv4Fields{.tos = 0xb9, .ttl = 1, .protocol = 17, .src = a, .dst = b}).udp(5353, 53);
  frames.push_back(udp);
  FrameBuilder icmp;
  icmp.ethernet(kBridgeMac, kHostMac, 0x0800);
  icmp.ipv4(Ipv4Fields{.protocol = 1, .src = a, .dst = b}).icmp(8, 0);
  frames.push_back(icmp);
  FrameBuilder arp;
  arp.ethernet({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kHostMac, 0x0806);
  arp.arp(ArpFields{.op = 1, .sha = kHostMac, .sip = a, .tip = b});
  frames.push_back(arp);
  FrameBuilder tcp6;
  tcp6.ethernet(kBridgeMac, kHostMac, 0x86dd);
  tcp6.ipv6(Ipv6Fields{.traffic_class = 0x10,
                       .flow_label = 0x12345,
                       .payload_length = 20,
                       .next_header = 6,
                       .src = ipv6_address({0x2001, 0xdb8, 1, 0, 0, 0, 0, 1}),
                       .dst = ipv6_address({0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 5})});
  tcp6.tcp(40047, 443, 0x010);
  frames.push_back(tcp6);
  FrameBuilder nd;
  nd.ethernet(kBridgeMac, kHostMac, 0x86dd);
  nd.ipv6(Ipv6Fields{.payload_length = 32, .next_header = 58, .hop_limit = 255});
  nd.nd_message(136, ipv6_address({0x2001, 0xdb8, 0, 0, 0, 0, 0, 7})).nd_link_layer_option(2, kHostMac);
  frames.push_back(nd);
  FrameBuilder mpls;
  mpls.ethernet(kBridgeMac, kHostMac, 0x8847).mpls(16, 0, true, 64);
  frames.push_back(mpls);
  FrameBuilder other;
  other.ethernet(kBridgeMac, kHostMac, 0x88b5).zeros(10);
  frames.push_back(other);
  return frames;
}

TEST(KeyFromOfFlow, RoundTripsTheKeysExtractionGives) {
  for (const FrameBuilder& frame : sample_frames()) {
    FlowKey key = extract(frame, 3);
    Result<FlowKey> back = key_from_of_flow(of_flow(key), oracle_datapath_port);
    ASSERT_TRUE(back.is_ok()) << back.status().message();
    EXPECT_TRUE(*back == key) << "eth_type " << std::hex << ntohs(key.eth_type);
  }
}

TEST(KeyFromOfFlow, TunnelFlowGoesToTheTunnelDatapathPort) {
  OfFlow flow{};
  flow.in_port = 10;
  flow.tun_dst = ipv4_address(192, 0, 2, 1);
  flow.tun_src = ipv4_address(192, 0, 2, 2);
  flow.tun_id = htobe64(0x64);
  flow.tun_flags = kTunnelKey;
  flow.dl_type = htons(0x0800);
  Result<FlowKey> key = key_from_of_flow(flow, oracle_datapath_port);
  ASSERT_TRUE(key.is_ok());
  EXPECT_EQ(key->in_port, kTunnelDatapathPort);
  EXPECT_EQ(key->tunnel.tun_id, htobe64(0x64));
  EXPECT_EQ(key->tunnel.flags, kTunnelKey);
}

TEST(KeyFromOfFlow, RefusesVlanBitsWithoutTheCfiBitAndUnmappedPorts) {
  OfFlow flow{};
  flow.in_port = 1;
  flow.vlan_tci = htons(10);
  EXPECT_NE(key_from_of_flow(flow, oracle_datapath_port).status().message().find("CFI"), std::string::npos);
  flow.vlan_tci = 0;
  flow.in_port = 9;
  EXPECT_EQ(key_from_of_flow(flow, oracle_datapath_port).status().code(), ENODEV);
}

// ---------------------------------------------------------------- megaflow -> Match

constexpr char kTcpMegaflow[] = "recirc_id=0,eth,tcp,in_port=1,nw_dst=10.2.3.0/24,nw_frag=no,tp_dst=80";

TEST(DatapathMatchFromMegaflow, UntaggedPacketsFlowMatchesUntaggedPacketsOnly) {
  FlowKey key = extract(tagged_tcp4_frame(0x1000 | 10));
  FlowKey untagged = key;
  untagged.vlan = VlanHead{};
  Match match = convert(kTcpMegaflow, untagged);
  EXPECT_EQ(match.mask.bits().vlan.tci, 0xffff);
  EXPECT_EQ(match.mask.bits().cvlan.tci, 0xffff);
  EXPECT_TRUE(match.matches(untagged));
  EXPECT_FALSE(match.matches(key));  // the same packet with a tag
  expect_netlink_round_trip(match);
}

TEST(DatapathMatchFromMegaflow, TaggedPacketsFlowMatchesTagPresenceAndTpidWhenTheMegaflowIgnoresVlans) {
  FlowKey key = extract(tagged_tcp4_frame(0x1000 | 10));
  Match match = convert(kTcpMegaflow, key);
  EXPECT_EQ(match.mask.bits().vlan.tci, htons(kVlanCfi));
  EXPECT_EQ(match.mask.bits().vlan.tpid, 0xffff);
  FlowKey other_vid = key;
  other_vid.vlan.tci = htons(0x1000 | 20);
  EXPECT_TRUE(match.matches(other_vid));
  FlowKey untagged = key;
  untagged.vlan = VlanHead{};
  EXPECT_FALSE(match.matches(untagged));
  expect_netlink_round_trip(match);

  Match with_vid = convert("recirc_id=0,eth,tcp,in_port=1,dl_vlan=10,nw_frag=no,tp_dst=80", key);
  EXPECT_EQ(with_vid.mask.bits().vlan.tci, htons(0x1fff));
  EXPECT_FALSE(with_vid.matches(other_vid));
  expect_netlink_round_trip(with_vid);
}

TEST(DatapathMatchFromMegaflow, RecircIdInPortAndEthTypeAreAlwaysExact) {
  FlowKey key = extract(tcp4_frame(ipv4_address(10, 3, 0, 9), ipv4_address(10, 2, 3, 5), 40001, 80));
  Match match = convert("in_port=1", key);
  EXPECT_EQ(match.mask.bits().recirc_id, 0xffffffffu);
  EXPECT_EQ(match.mask.bits().in_port, 0xffffffffu);
  EXPECT_EQ(match.mask.bits().eth_type, 0xffff);
  EXPECT_EQ(match.mask.bits().mac_proto, 0xff);
  EXPECT_EQ(match.mask.bits().ipv4_dst, 0u);
  FlowKey arp = key;
  arp.eth_type = htons(0x0806);
  EXPECT_FALSE(match.matches(arp));
  expect_netlink_round_trip(match);
}

TEST(DatapathMatchFromMegaflow, IcmpTypeAndCodeMasksKeepTheirLowByte) {
  FrameBuilder f;
  f.ethernet(kBridgeMac, kHostMac, 0x0800);
  f.ipv4(Ipv4Fields{.protocol = 1, .src = ipv4_address(10, 9, 0, 1), .dst = ipv4_address(10, 3, 1, 1)})
      .icmp(8, 0);
  FlowKey key = extract(f);
  Match exact = convert("recirc_id=0,eth,icmp,in_port=1,nw_frag=no,icmp_type=8,icmp_code=0", key);
  EXPECT_EQ(exact.mask.bits().tp_src, htons(0x00ff));
  EXPECT_EQ(exact.mask.bits().tp_dst, htons(0x00ff));
  Match masked = convert("recirc_id=0,eth,icmp,in_port=1,nw_frag=no,icmp_type=0x8/0xfe", key);
  EXPECT_EQ(masked.mask.bits().tp_src, htons(0x00fe));
  EXPECT_EQ(masked.mask.bits().ip_proto, 0xff);
  expect_netlink_round_trip(exact);
  expect_netlink_round_trip(masked);
}

TEST(DatapathMatchFromMegaflow, AnyNwFragBitMakesIpFragExact) {
  Be32 a = ipv4_address(10, 3, 0, 9), b = ipv4_address(10, 2, 3, 5);
  FlowKey first = extract(tcp4_frame(a, b, 1, 80, 0x2000));
  FlowKey later = extract(tcp4_frame(a, b, 1, 80, 0x0020));
  Match yes = convert("recirc_id=0,eth,ip,in_port=1,nw_frag=yes", first);
  EXPECT_EQ(yes.mask.bits().ip_frag, 0xff);
  EXPECT_TRUE(yes.matches(first));
  EXPECT_FALSE(yes.matches(later));  // narrower than "any fragment": the datapath field is an enumeration
  Match no = convert("recirc_id=0,eth,ip,in_port=1,nw_frag=no", extract(tcp4_frame(a, b, 1, 80)));
  EXPECT_FALSE(no.matches(first));
  expect_netlink_round_trip(yes);
  expect_netlink_round_trip(no);
}

TEST(DatapathMatchFromMegaflow, LaterFragmentsFlowHasNoL4MasksButPinsProtocolAndFragment) {
  Be32 a = ipv4_address(10, 3, 0, 9), b = ipv4_address(10, 2, 3, 5);
  FlowKey later = extract(tcp4_frame(a, b, 1, 80, 0x0020));
  // OVS's classifier may look at ports of a later fragment (they read as 0).
  Match match = convert("recirc_id=0,eth,tcp,in_port=1,nw_frag=later,tp_dst=0x0/0xff00", later);
  EXPECT_EQ(match.mask.bits().tp_dst, 0);
  EXPECT_EQ(match.mask.bits().ip_proto, 0xff);
  EXPECT_EQ(match.mask.bits().ip_frag, 0xff);
  expect_netlink_round_trip(match);
}

TEST(DatapathMatchFromMegaflow, ArpOpcodeMatchAlsoPinsTheOpcodesHighByte) {
  FrameBuilder f;
  f.ethernet(kBridgeMac, kHostMac, 0x0806);
  f.arp(ArpFields{.op = 1, .sip = ipv4_address(10, 3, 0, 9), .tip = ipv4_address(10, 2, 9, 9)});
  FlowKey key = extract(f);
  Match match = convert("recirc_id=0,eth,arp,in_port=1,arp_tpa=10.2.0.0/16,arp_op=1", key);
  EXPECT_EQ(match.mask.bits().arp_op, 0xffff);
  EXPECT_EQ(match.mask.bits().arp_tip, htonl(0xffff0000));
  EXPECT_EQ(match.mask.bits().ipv4_dst, 0u);
  expect_netlink_round_trip(match);
}

TEST(DatapathMatchFromMegaflow, TunnelFieldsPinTheTunnelDestination) {
  FlowKey key = extract(tcp4_frame(ipv4_address(172, 30, 0, 9), ipv4_address(10, 3, 0, 20), 80, 40056),
                        kTunnelDatapathPort);
  key.tunnel.tun_id = htobe64(0x64);
  key.tunnel.ipv4_src = ipv4_address(192, 0, 2, 2);
  key.tunnel.ipv4_dst = ipv4_address(192, 0, 2, 1);
  key.tunnel.ttl = 64;
  key.tunnel.flags = kTunnelKey;
  Match match = convert("recirc_id=0,eth,ip,tun_id=0x64,tun_src=192.0.2.2,in_port=10,nw_frag=no", key);
  EXPECT_EQ(match.mask.bits().tunnel.tun_id, ~uint64_t{0});
  EXPECT_EQ(match.mask.bits().tunnel.ipv4_dst, 0xffffffffu);
  EXPECT_EQ(match.mask.bits().tunnel.ttl, 0);
  EXPECT_EQ(match.mask.bits().in_port, 0xffffffffu);
  FlowKey other_vni = key;
  other_vni.tunnel.tun_id = htobe64(0x65);
  EXPECT_FALSE(match.matches(other_vni));
  expect_netlink_round_trip(match);

  Match flags = convert(
      "recirc_id=0,eth,ip,tun_id=0x64,tun_src=192.0.2.2,tun_dst=192.0.2.1,tun_tos=0,tun_flags=+key,"
      "in_port=10,nw_frag=no",
      key);
  EXPECT_EQ(flags.mask.bits().tunnel.flags, kTunnelKey);
  expect_netlink_round_trip(flags);
}

TEST(DatapathMatchFromMegaflow, NonTunnelPacketsFlowLeavesTunnelFieldsWildcarded) {
  FlowKey key = extract(tcp4_frame(ipv4_address(10, 3, 0, 9), ipv4_address(10, 2, 3, 5), 40001, 80));
  Match match = convert("recirc_id=0,eth,tcp,tun_id=0,in_port=1,nw_frag=no", key);
  const auto* tunnel_mask = reinterpret_cast<const uint8_t*>(&match.mask.bits().tunnel);
  for (size_t i = 0; i < sizeof(TunnelKey); ++i) EXPECT_EQ(tunnel_mask[i], 0) << i;
  expect_netlink_round_trip(match);
}

TEST(DatapathMatchFromMegaflow, RefusesSwitchMetadataMismatchesAndUnmappedPorts) {
  FlowKey key = extract(tcp4_frame(ipv4_address(10, 3, 0, 9), ipv4_address(10, 2, 3, 5), 40001, 80));
  auto error = [&](std::string_view text) {
    return datapath_match_from_megaflow(megaflow(text), key, oracle_datapath_port).status().message();
  };
  EXPECT_NE(error("recirc_id=0,eth,tcp,in_port=1,reg0=0x1").find("reg0 is not a packet field"),
            std::string::npos);
  EXPECT_NE(error("recirc_id=0,eth,tcp,in_port=1,metadata=0x5").find("metadata"), std::string::npos);
  std::string mismatch = error("recirc_id=0,eth,tcp,in_port=1,nw_dst=10.9.0.0/16");
  EXPECT_NE(mismatch.find("does not match the packet"), std::string::npos) << mismatch;
  EXPECT_NE(mismatch.find("nw_dst 10.9.0.0/16 vs the packet's 10.2.3.5"), std::string::npos) << mismatch;
  EXPECT_NE(error("recirc_id=0,eth,tcp,in_port=2").find("in_port"), std::string::npos);
  EXPECT_NE(error("recirc_id=0,eth,tcp,in_port=7").find("has no datapath port"), std::string::npos);
}

TEST(DatapathMatchFromMegaflow, NeighborDiscoveryMasksPinTheIcmpv6Type) {
  FrameBuilder f;
  f.ethernet(kBridgeMac, kHostMac, 0x86dd);
  f.ipv6(Ipv6Fields{.payload_length = 32, .next_header = 58, .hop_limit = 255});
  f.nd_message(135, ipv6_address({0x2001, 0xdb8, 0, 0, 0, 0, 0, 7})).nd_link_layer_option(1, kHostMac);
  FlowKey key = extract(f);
  Match match =
      convert("recirc_id=0,eth,icmp6,in_port=1,nw_frag=no,icmp_type=135,nd_target=2001:db8::7", key);
  EXPECT_EQ(match.mask.bits().tp_src, htons(0x00ff));
  EXPECT_EQ(match.mask.bits().nd_sll, EthAddr{});
  Ipv6Addr all_ones;
  all_ones.fill(0xff);
  EXPECT_EQ(match.mask.bits().nd_target, all_ones);
  expect_netlink_round_trip(match);
}

// ---------------------------------------------------------------- Match -> OfMatch

TEST(OfMatchFromDatapathMatch, ReadsBackWhatTheConversionInstalled) {
  for (const FrameBuilder& frame : sample_frames()) {
    FlowKey key = extract(frame, 2);
    OfFlow flow = of_flow(key);
    OfFlow mask{};
    for (const OfFlowUnit& unit : of_flow_units())
      if (unit.packet_field) write_unit(mask, unit, unit.matchable_bits);
    mask.vlan_tpid = 0;  // not an OpenFlow match field
    Result<Match> match =
        datapath_match_from_megaflow(OfMatch(flow, OfMask(mask)), key, oracle_datapath_port);
    ASSERT_TRUE(match.is_ok()) << match.status().message();
    Result<OfMatch> back = of_match_from_datapath_match(*match, oracle_of_port);
    ASSERT_TRUE(back.is_ok()) << back.status().message();
    EXPECT_TRUE(back->matches(flow)) << format_of_match(*back);
    // Every field the packet's type gives a meaning keeps its exact match.
    for (const char* name : {"in_port", "dl_src", "dl_dst", "dl_type", "vlan_tci"}) {
      const OfFlowUnit* unit = find_of_flow_unit(name);
      EXPECT_EQ(read_unit(back->mask.bits(), *unit), unit->matchable_bits) << name;
    }
  }
}

TEST(OfMatchFromDatapathMatch, UntaggedOnlyBecomesVlanTciExactZeroAndFragExactBecomesBothBits) {
  FlowKey key = extract(tcp4_frame(ipv4_address(10, 3, 0, 9), ipv4_address(10, 2, 3, 5), 40001, 80, 0x2000));
  Match match = convert("recirc_id=0,eth,tcp,in_port=1,nw_frag=first", key);
  Result<OfMatch> back = of_match_from_datapath_match(match, oracle_of_port);
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(format_of_match(*back), "recirc_id=0,tcp,in_port=1,vlan_tci=0x0000,nw_frag=first");
}

TEST(OfMatchFromDatapathMatch, RefusesWhatOfFlowCannotSay) {
  FlowKey key = extract(tcp4_frame(1, 2, 3, 4));
  Match match = convert("recirc_id=0,eth,tcp,in_port=1", key);
  FlowMask with_ct = match.mask;
  with_ct.mutable_bits().ct_state = 0xff;
  with_ct.recompute_range();
  EXPECT_NE(
      of_match_from_datapath_match(Match(key, with_ct), oracle_of_port).status().message().find("conntrack"),
      std::string::npos);
  FlowMask with_hash = match.mask;
  with_hash.mutable_bits().dp_hash = 0xff;
  with_hash.recompute_range();
  EXPECT_NE(
      of_match_from_datapath_match(Match(key, with_hash), oracle_of_port).status().message().find("dp_hash"),
      std::string::npos);
  FlowKey unknown = key;
  unknown.in_port = 50;
  EXPECT_EQ(of_match_from_datapath_match(Match(unknown, match.mask), oracle_of_port).status().code(), ENODEV);
}

// ---------------------------------------------------------------- properties

// Random frames from a few templates over small value pools, so that two
// random packets often agree on many fields.
class RandomFrames {
 public:
  explicit RandomFrames(uint32_t seed) : rng_(seed) {}

  FlowKey next() {
    FrameBuilder f;
    EthAddr src = kHostMac;
    src[5] = pick(4);
    EthAddr dst = kBridgeMac;
    dst[4] = pick(2);
    f.ethernet_addresses(dst, src);
    if (pick(3) == 0)
      f.vlan_tag(pick(2) ? 0x8100 : 0x88a8, static_cast<uint16_t>(pick(8) << 13 | 0x1000 | pick(4)));
    Be32 a = ipv4_address(10, pick(4), 0, pick(4)), b = ipv4_address(10, 2, pick(4), pick(4));
    switch (pick(8)) {
      case 0:
      case 1: {
        f.be16(0x0800);
        uint16_t fragment = pick(4) == 0 ? (pick(2) ? 0x2000 : 0x0020) : 0;
        f.ipv4(Ipv4Fields{.tos = static_cast<uint8_t>(pick(4)),
                          .flags_and_fragment_offset = fragment,
                          .ttl = static_cast<uint8_t>(63 + pick(2)),
                          .protocol = 6,
                          .src = a,
                          .dst = b});
        if (fragment != 0x0020)
          f.tcp(static_cast<uint16_t>(1000 + pick(3)), static_cast<uint16_t>(79 + pick(3)), pick(4));
        break;
      }
      case 2:
        f.be16(0x0800);
        f.ipv4(Ipv4Fields{.protocol = 17, .src = a, .dst = b}).udp(53, static_cast<uint16_t>(53 + pick(2)));
        break;
      case 3:
        f.be16(0x0800);
        f.ipv4(Ipv4Fields{.protocol = 1, .src = a, .dst = b})
            .icmp(static_cast<uint8_t>(pick(2) * 8), pick(2));
        break;
      case 4:
        f.be16(0x0806);
        f.arp(ArpFields{.op = static_cast<uint16_t>(1 + pick(2)), .sha = src, .sip = a, .tip = b});
        break;
      case 5: {
        f.be16(0x86dd);
        Ipv6Addr s = ipv6_address({0x2001, 0xdb8, pick16(2), 0, 0, 0, 0, pick16(3)});
        Ipv6Addr d = ipv6_address({0x2001, 0xdb8, 0xa, 0, 0, 0, 0, pick16(3)});
        f.ipv6(Ipv6Fields{.flow_label = pick(2), .payload_length = 20, .next_header = 6, .src = s, .dst = d});
        f.tcp(1000, static_cast<uint16_t>(80 + pick(2)), 0x002);
        break;
      }
      case 6: {
        f.be16(0x86dd);
        f.ipv6(Ipv6Fields{.payload_length = 32, .next_header = 58, .hop_limit = 255});
        uint8_t type = pick(3) == 0 ? 128 : static_cast<uint8_t>(135 + pick(2));
        f.nd_message(type, ipv6_address({0x2001, 0xdb8, 0, 0, 0, 0, 0, pick16(3)}));
        f.nd_link_layer_option(static_cast<uint8_t>(1 + pick(2)), src);
        break;
      }
      default:
        f.be16(0x8847).mpls(16 + pick(2), 0, true, 64);
        break;
    }
    Packet packet = f.packet();
    bool tunnel = pick(4) == 0;
    packet.md.in_port = tunnel ? kTunnelDatapathPort : 1 + pick(2);
    FlowKey key = flow_key_extract(packet);
    if (tunnel) {
      key.tunnel.tun_id = htobe64(100 + pick(2));
      key.tunnel.ipv4_src = ipv4_address(192, 0, 2, static_cast<uint8_t>(2 + pick(2)));
      key.tunnel.ipv4_dst = ipv4_address(192, 0, 2, 1);
      key.tunnel.ttl = 64;
      key.tunnel.flags = kTunnelKey | (pick(2) ? kTunnelDontFragment : 0);
    }
    return key;
  }

  // A megaflow that matches `flow`: random units at random masks (whole,
  // prefix or random bits), the always-exact ones pinned as xlate does.
  OfMatch megaflow_for(const OfFlow& flow) {
    OfFlow mask{};
    for (const OfFlowUnit& unit : of_flow_units()) {
      if (!unit.packet_field || pick(4) != 0) continue;
      Uint128 bits = unit.matchable_bits;
      switch (pick(3)) {
        case 0:
          break;
        case 1:
          bits &= ~((Uint128{1} << (1 + pick(8))) - 1);  // a prefix: low bits wildcarded
          break;
        default:
          bits &= random128();
          break;
      }
      write_unit(mask, unit, bits);
    }
    mask.in_port = 0xffff;
    mask.recirc_id = 0xffffffff;
    mask.dl_type = 0xffff;
    return OfMatch(flow, OfMask(mask));
  }

  uint32_t pick(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }
  uint16_t pick16(uint32_t n) { return static_cast<uint16_t>(pick(n)); }

 private:
  Uint128 random128() {
    return (Uint128{rng_()} << 96) ^ (Uint128{rng_()} << 64) ^ (Uint128{rng_()} << 32) ^ rng_();
  }
  std::mt19937 rng_;
};

TEST(DatapathMatchFromMegaflow, PropertyFlowMatchesItsPacketAndNothingTheMegaflowRefuses) {
  RandomFrames random(20261121);
  std::vector<FlowKey> others;
  for (int i = 0; i < 300; ++i) others.push_back(random.next());
  int conversions = 0, other_hits = 0;
  for (int i = 0; i < 400; ++i) {
    FlowKey key = random.next();
    OfFlow flow = of_flow(key);
    OfMatch megaflow = random.megaflow_for(flow);
    Result<Match> match = datapath_match_from_megaflow(megaflow, key, oracle_datapath_port);
    ASSERT_TRUE(match.is_ok()) << match.status().message() << "\n" << format_of_match(megaflow);
    ++conversions;
    ASSERT_TRUE(match->matches(key)) << format_of_match(megaflow);
    expect_netlink_round_trip(*match);
    for (const FlowKey& other : others) {
      if (!match->matches(other)) continue;
      ++other_hits;
      EXPECT_TRUE(megaflow.matches(of_flow(other)))
          << "datapath flow wider than its megaflow " << format_of_match(megaflow);
    }
  }
  EXPECT_EQ(conversions, 400);
  EXPECT_GT(other_hits, 100);  // the soundness check saw real overlaps
}

// The forms that write into a caller's OfFlow / Match (a handler's flow
// put) must write every byte: whatever the object held before must not show
// through, in the flow, the match's key or mask, or the mask's range.
TEST(DatapathMatchFromMegaflow, PropertyInPlaceFormsOverwriteWhatTheTargetHeld) {
  RandomFrames random(20261122);
  for (int i = 0; i < 300; ++i) {
    FlowKey key = random.next();
    OfFlow flow;
    std::memset(&flow, 0xa5, sizeof flow);
    ASSERT_TRUE(of_flow_from_key(key, oracle_of_port, flow).is_ok());
    const OfFlow expected_flow = of_flow(key);
    ASSERT_EQ(std::memcmp(&flow, &expected_flow, sizeof flow), 0) << i;

    OfMatch megaflow = random.megaflow_for(flow);
    Match match;
    std::memset(&match.key, 0x5a, sizeof match.key);
    std::memset(&match.mask.mutable_bits(), 0xff, sizeof(FlowKey));
    match.mask.recompute_range();
    ASSERT_TRUE(datapath_match_from_megaflow(megaflow, key, flow, oracle_datapath_port, match).is_ok());
    Result<Match> expected = datapath_match_from_megaflow(megaflow, key, oracle_datapath_port);
    ASSERT_TRUE(expected.is_ok()) << expected.status().message();
    EXPECT_TRUE(match == *expected) << differing_bytes(match, *expected);
    EXPECT_EQ(match.mask.range(), expected->mask.range());
    EXPECT_TRUE(match.matches(key));

    // One masked bit of the megaflow flipped (anywhere but in_port, which is
    // judged through the port mapping): the megaflow no longer matches its
    // packet, wherever in the mask's range the bit lies.
    std::vector<size_t> masked_bits;
    const auto* mask_bytes = reinterpret_cast<const uint8_t*>(&megaflow.mask.bits());
    for (size_t bit = 0; bit < 8 * sizeof(OfFlow); ++bit) {
      const size_t byte = bit / 8;
      if (byte >= offsetof(OfFlow, in_port) && byte < offsetof(OfFlow, in_port) + sizeof(OfFlow::in_port))
        continue;
      if (mask_bytes[byte] & (1u << (bit % 8))) masked_bits.push_back(bit);
    }
    ASSERT_FALSE(masked_bits.empty());  // recirc_id and dl_type are always matched
    const size_t bit = masked_bits[random.pick(static_cast<uint32_t>(masked_bits.size()))];
    OfMatch wrong = megaflow;
    reinterpret_cast<uint8_t*>(&wrong.flow)[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    Status refused = datapath_match_from_megaflow(wrong, key, flow, oracle_datapath_port, match);
    EXPECT_NE(refused.message().find("does not match the packet it was translated for"), std::string::npos)
        << "bit " << bit << ": " << refused.message();
  }
  // Refusals read the same in both forms.
  FlowKey conntrack = random.next();
  conntrack.ct_state = 1;
  OfFlow unused;
  EXPECT_EQ(of_flow_from_key(conntrack, oracle_of_port, unused).message(),
            of_flow_from_key(conntrack, oracle_of_port).status().message());
}

TEST(KeyFromOfFlow, PropertyRoundTripsRandomExtractedKeys) {
  RandomFrames random(7);
  for (int i = 0; i < 500; ++i) {
    FlowKey key = random.next();
    Result<FlowKey> back = key_from_of_flow(of_flow(key), oracle_datapath_port);
    ASSERT_TRUE(back.is_ok()) << back.status().message();
    ASSERT_TRUE(*back == key) << i;
  }
}

}  // namespace
}  // namespace flowlift
