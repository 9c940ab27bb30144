// The offload conformance table (see the header). Frames come from key
// texts through compose_packet(), so a sent frame and the frame a rewrite
// must produce are both written as the key they carry; checksums are computed
// from scratch by the composer, which is what an incremental update by the
// datapath or by TC's csum action must arrive at. MPLS label stacks over a
// real IPv4 packet and VXLAN encapsulation are put together byte by byte
// here, from RFC 3032 and RFC 7348, because no key describes them.
#include "slowpath/offload_conformance_cases.h"

#include <arpa/inet.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>

#include "kmod/checksum.h"
#include "kmod/odp_text_key.h"
#include "kmod/packet_compose.h"

namespace flowlift {

namespace {
// Whether the running kernel's release is at least major.minor (uname).
bool running_kernel_at_least(int major, int minor) {
  utsname name{};
  if (::uname(&name) != 0) return true;
  int found_major = 0, found_minor = 0;
  if (std::sscanf(name.release, "%d.%d", &found_major, &found_minor) != 2) return true;
  return found_major > major || (found_major == major && found_minor >= minor);
}
}  // namespace
namespace {

constexpr const char* kEthAToB = "eth(src=02:00:00:00:00:0a,dst=02:00:00:00:00:0b)";
constexpr size_t kPayload = 32;  // keeps every frame above 60 bytes, so no NIC pads it
constexpr uint16_t kVxlanPort = 4789;
constexpr size_t kOuterIpIdOffset = 14 + 4;
constexpr size_t kOuterIpChecksumOffset = 14 + 10;
constexpr size_t kOuterUdpSourceOffset = 14 + 20;

std::string ipv4_key(std::string_view ipv4_fields, std::string_view l4) {
  std::string text = std::string(kEthAToB) + ",eth_type(0x0800),ipv4(" + std::string(ipv4_fields) + ")";
  if (!l4.empty()) text += "," + std::string(l4);
  return text;
}
const std::string kUdp4Fields = "src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no";
const std::string kUdp4 = ipv4_key(kUdp4Fields, "udp(src=1234,dst=53)");
const std::string kUdp6Fields = "src=2001:db8::1,dst=2001:db8::2,label=0,proto=17,tclass=0,hlimit=64,frag=no";
std::string ipv6_key(std::string_view ipv6_fields, std::string_view l4) {
  return std::string(kEthAToB) + ",eth_type(0x86dd),ipv6(" + std::string(ipv6_fields) + ")," +
         std::string(l4);
}

void put16(std::vector<uint8_t>& out, uint16_t value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}
void put32(std::vector<uint8_t>& out, uint32_t value) {
  put16(out, static_cast<uint16_t>(value >> 16));
  put16(out, static_cast<uint16_t>(value));
}
void put_mac(std::vector<uint8_t>& out, const EthAddr& mac) { out.insert(out.end(), mac.begin(), mac.end()); }

// RFC 3032 label stack entry.
uint32_t mpls_lse(uint32_t label, uint8_t tc, bool bottom, uint8_t ttl) {
  return label << 12 | static_cast<uint32_t>(tc) << 9 | (bottom ? 1u << 8 : 0u) | ttl;
}

// `frame` with one MPLS label put between its MAC addresses and its
// network header (what push_mpls does to an untagged frame).
std::vector<uint8_t> with_mpls_label(const std::vector<uint8_t>& frame, uint32_t lse) {
  if (frame.size() < 14) return frame;  // a key that did not parse: finish() reports it
  std::vector<uint8_t> out(frame.begin(), frame.begin() + 12);
  put16(out, 0x8847);
  put32(out, lse);
  out.insert(out.end(), frame.begin() + 14, frame.end());
  return out;
}

struct VxlanOuter {
  EthAddr dst_mac{}, src_mac{};
  Be32 src_ip = 0, dst_ip = 0;
  uint8_t tos = 0, ttl = 64;
  bool dont_fragment = false;
  uint16_t udp_source = 0;
  uint32_t vni = 0;
};

// RFC 7348: Ethernet, IPv4 (id 0), UDP to 4789 without checksum (what a
// flow without flags(csum) asks for), the VXLAN header with the I flag.
std::vector<uint8_t> vxlan_encapsulated(const VxlanOuter& outer, const std::vector<uint8_t>& inner) {
  std::vector<uint8_t> out;
  put_mac(out, outer.dst_mac);
  put_mac(out, outer.src_mac);
  put16(out, 0x0800);
  const size_t ip_start = out.size();
  out.push_back(0x45);
  out.push_back(outer.tos);
  put16(out, static_cast<uint16_t>(20 + 8 + 8 + inner.size()));
  put16(out, 0);  // id
  put16(out, outer.dont_fragment ? 0x4000 : 0);
  out.push_back(outer.ttl);
  out.push_back(17);
  put16(out, 0);  // header checksum, below
  put32(out, ntohl(outer.src_ip));
  put32(out, ntohl(outer.dst_ip));
  const uint16_t header_checksum =
      checksum_finish(checksum_accumulate(std::span<const uint8_t>(out.data() + ip_start, 20)));
  out[ip_start + 10] = static_cast<uint8_t>(header_checksum >> 8);
  out[ip_start + 11] = static_cast<uint8_t>(header_checksum);
  put16(out, outer.udp_source);
  put16(out, kVxlanPort);
  put16(out, static_cast<uint16_t>(8 + 8 + inner.size()));
  put16(out, 0);
  put32(out, 0x08000000);
  put32(out, outer.vni << 8);
  out.insert(out.end(), inner.begin(), inner.end());
  return out;
}

ConformanceFrame exact(std::vector<uint8_t> bytes) { return ConformanceFrame{std::move(bytes), {}}; }

ConformanceFrame vxlan_leaving(const VxlanOuter& outer, const std::vector<uint8_t>& inner) {
  ConformanceFrame frame{vxlan_encapsulated(outer, inner), {}};
  frame.ignored.push_back({kOuterIpIdOffset, 2, "outer IPv4 id: chosen by the kernel per packet"});
  frame.ignored.push_back({kOuterIpChecksumOffset, 2, "outer IPv4 header checksum: covers the id"});
  frame.ignored.push_back({kOuterUdpSourceOffset, 2, "outer UDP source port: a hash of the inner flow"});
  return frame;
}

// Builds the table, keeping the first text that fails to parse.
class ConformanceTableBuilder {
 public:
  explicit ConformanceTableBuilder(const ConformanceUnderlay& underlay) : underlay_(underlay) {}

  std::vector<uint8_t> frame(std::string_view key_text, size_t payload = kPayload) {
    Result<UnmaskedMatch> parsed = parse_unmasked_match(key_text);
    if (!parsed) {
      fail("frame key \"" + std::string(key_text) + "\": " + parsed.status().message());
      return {};
    }
    Packet packet = compose_packet(parsed->key, payload);
    return std::vector<uint8_t>(packet.bytes().begin(), packet.bytes().end());
  }

  // A case that sends `count` copies of `sent` into {IN}.
  OffloadConformanceCase& add(std::string name, std::string covers, std::string match, std::string actions,
                              const std::vector<uint8_t>& sent, int count = 2) {
    current_name_ = name;
    OffloadConformanceCase& added = cases_.emplace_back();
    added.name = std::move(name);
    added.covers = std::move(covers);
    added.match = "recirc_id(0),in_port({IN})," + match;
    added.actions = std::move(actions);
    added.sent.assign(static_cast<size_t>(count), sent);
    return added;
  }
  // The frames of `added` leave `port` as `frame` each.
  void expect(OffloadConformanceCase& added, ConformancePortRole port, const ConformanceFrame& frame) {
    ConformanceExpectedOutput output{port, {}};
    output.frames.assign(added.sent.size(), frame);
    added.expected.push_back(std::move(output));
  }
  void expect(OffloadConformanceCase& added, ConformancePortRole port, const std::vector<uint8_t>& bytes) {
    expect(added, port, exact(bytes));
  }
  // Forwarded to {OUT} unchanged.
  void forward(std::string name, std::string covers, std::string match, const std::vector<uint8_t>& sent) {
    OffloadConformanceCase& added = add(std::move(name), std::move(covers), std::move(match), "{OUT}", sent);
    expect(added, ConformancePortRole::kOut, sent);
  }
  // Rewritten on the way to {OUT}: `after` is the key the actions leave.
  void rewrite(std::string name, std::string covers, std::string match, std::string actions,
               std::string_view before, std::string_view after) {
    std::vector<uint8_t> sent = frame(before);
    OffloadConformanceCase& added =
        add(std::move(name), std::move(covers), std::move(match), std::move(actions), sent);
    expect(added, ConformancePortRole::kOut, frame(after));
  }

  const ConformanceUnderlay& underlay() const { return underlay_; }
  OffloadConformanceCase& last() { return cases_.back(); }
  Result<std::vector<OffloadConformanceCase>> finish() {
    if (!status_.is_ok()) return status_;
    return std::move(cases_);
  }

 private:
  void fail(const std::string& message) {
    if (status_.is_ok()) status_ = Status(EINVAL, "conformance case " + current_name_ + ": " + message);
  }

  ConformanceUnderlay underlay_;
  std::vector<OffloadConformanceCase> cases_;
  std::string current_name_;
  Status status_ = Status::ok();
};

void add_match_cases(ConformanceTableBuilder& table) {
  const std::vector<uint8_t> udp4 = table.frame(kUdp4);
  table.forward("l2_addresses", "exact Ethernet source and destination",
                std::string(kEthAToB) + ",eth_type(0x0800),ipv4(frag=no)", udp4);
  table.forward("l2_destination_prefix", "masked Ethernet destination (OUI)",
                "eth(dst=02:00:00:00:00:00/ff:ff:ff:00:00:00),eth_type(0x0800),ipv4(frag=no)", udp4);
  const std::string tagged10 = std::string(kEthAToB) +
                               ",eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(" +
                               kUdp4Fields + "),udp(src=1234,dst=53))";
  table.forward("vlan_vid", "802.1Q tag: vid and pcp",
                "eth(),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(frag=no))",
                table.frame(tagged10));
  const std::string qinq =
      std::string(kEthAToB) +
      ",eth_type(0x88a8),vlan(vid=100,pcp=0),encap(eth_type(0x8100),vlan(vid=10,pcp=0),encap("
      "eth_type(0x0800),ipv4(" +
      kUdp4Fields + "),udp(src=1234,dst=53)))";
  table.forward("qinq_both_tags", "802.1ad outer and 802.1Q inner tag",
                "eth(),eth_type(0x88a8),vlan(vid=100,pcp=0),encap(eth_type(0x8100),vlan(vid=10,pcp=0),encap("
                "eth_type(0x0800),"
                "ipv4(frag=no)))",
                table.frame(qinq));
  table.forward("ipv4_prefixes", "IPv4 source /24 and destination /32, ip_proto",
                "eth(),eth_type(0x0800),ipv4(src=10.0.0.0/255.255.255.0,dst=10.0.0.2,proto=17,frag=no)",
                udp4);
  table.forward("ipv4_tos_ttl", "IPv4 DSCP and TTL",
                "eth(),eth_type(0x0800),ipv4(tos=0x20/0xfc,ttl=9,frag=no)",
                table.frame(ipv4_key("src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0x20,ttl=9,frag=no",
                                     "udp(src=1234,dst=53)")));
  const std::vector<uint8_t> first_fragment = table.frame(
      ipv4_key("src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=first", "udp(src=1234,dst=53)"));
  table.forward("ipv4_first_fragment", "frag=first", "eth(),eth_type(0x0800),ipv4(proto=17,frag=first)",
                first_fragment);
  table.forward(
      "refused_first_fragment_ports",
      "frag=first with a UDP port: flower never reads a first fragment's layer 4, the datapath does",
      "eth(),eth_type(0x0800),ipv4(proto=17,frag=first),udp(dst=53)", first_fragment);
  table.last().expected_refusal = "layer-4 fields of a first fragment";
  table.forward("ipv4_later_fragment", "frag=later (no layer 4)",
                "eth(),eth_type(0x0800),ipv4(proto=17,frag=later)",
                table.frame(ipv4_key("src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=later", "")));
  table.forward("ipv6_prefixes", "IPv6 source /32 and destination /128, next header",
                "eth(),eth_type(0x86dd),ipv6(src=2001:db8::/ffff:ffff::,dst=2001:db8::2,proto=17,frag=no)",
                table.frame(ipv6_key(kUdp6Fields, "udp(src=1234,dst=53)")));
  table.forward("tcp_ports", "TCP source and destination ports",
                "eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(src=40000,dst=80)",
                table.frame(ipv4_key("src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no",
                                     "tcp(src=40000,dst=80)")));
  table.forward("tcp_flags", "TCP flags +syn-ack",
                "eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(dst=80),tcp_flags(+syn-ack)",
                table.frame(ipv4_key("src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no",
                                     "tcp(src=40000,dst=80),tcp_flags(syn)")));
  table.forward("udp_port_mask", "UDP destination port under a mask (0x0400/0xff00)",
                "eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=0x0400/0xff00)",
                table.frame(ipv4_key(kUdp4Fields, "udp(src=1234,dst=1029)")));
  table.forward("sctp_ports", "SCTP ports",
                "eth(),eth_type(0x0800),ipv4(proto=132,frag=no),sctp(src=5000,dst=6000)",
                table.frame(ipv4_key("src=10.0.0.1,dst=10.0.0.2,proto=132,tos=0,ttl=64,frag=no",
                                     "sctp(src=5000,dst=6000)")));
  table.forward(
      "icmp_echo", "ICMP type and code", "eth(),eth_type(0x0800),ipv4(proto=1,frag=no),icmp(type=8,code=0)",
      table.frame(ipv4_key("src=10.0.0.1,dst=10.0.0.2,proto=1,tos=0,ttl=64,frag=no", "icmp(type=8,code=0)")));
  table.forward(
      "icmpv6_echo", "ICMPv6 type and code",
      "eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=128,code=0)",
      table.frame(ipv6_key("src=2001:db8::1,dst=2001:db8::2,label=0,proto=58,tclass=0,hlimit=64,frag=no",
                           "icmpv6(type=128,code=0)")));
  table.forward(
      "arp_request", "ARP opcode, sender and target addresses",
      "eth(),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1)",
      table.frame(
          "eth(src=02:00:00:00:00:0a,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,"
          "op=1,sha=02:00:00:00:00:0a,tha=00:00:00:00:00:00)",
          18));
  const std::vector<uint8_t> mpls_udp4 = with_mpls_label(udp4, mpls_lse(100, 0, true, 64));
  table.forward("mpls_label", "outermost MPLS label, tc, ttl, bottom of stack",
                "eth(),eth_type(0x8847),mpls(label=100,tc=0,ttl=64,bos=1)", mpls_udp4);
}

void add_action_cases(ConformanceTableBuilder& table) {
  using Role = ConformancePortRole;
  const std::vector<uint8_t> udp4 = table.frame(kUdp4);
  const std::string udp4_match = "eth(),eth_type(0x0800),ipv4(dst=10.0.0.2,proto=17,frag=no)";
  table.add("drop", "no action: dropped, still counted", udp4_match, "drop", udp4);

  const std::string tagged10 = std::string(kEthAToB) +
                               ",eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(" +
                               kUdp4Fields + "),udp(src=1234,dst=53))";
  const std::string tagged10_match =
      "eth(),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(frag=no))";
  table.rewrite("pop_vlan", "pop_vlan", tagged10_match, "pop_vlan,{OUT}", tagged10, kUdp4);
  table.rewrite("push_vlan", "push_vlan with vid and pcp", udp4_match, "push_vlan(vid=20,pcp=3),{OUT}", kUdp4,
                std::string(kEthAToB) + ",eth_type(0x8100),vlan(vid=20,pcp=3),encap(eth_type(0x0800),ipv4(" +
                    kUdp4Fields + "),udp(src=1234,dst=53))");
  table.rewrite("modify_vlan", "VLAN rewrite (pop_vlan,push_vlan as OVS emits it)", tagged10_match,
                "pop_vlan,push_vlan(vid=30,pcp=5),{OUT}", tagged10,
                std::string(kEthAToB) + ",eth_type(0x8100),vlan(vid=30,pcp=5),encap(eth_type(0x0800),ipv4(" +
                    kUdp4Fields + "),udp(src=1234,dst=53))");
  table.rewrite("qinq_pop_outer", "pop the 802.1ad tag of a QinQ frame",
                "eth(),eth_type(0x88a8),vlan(vid=100,pcp=0),encap(eth_type(0x8100),vlan(vid=10,pcp=0),encap("
                "eth_type(0x0800),"
                "ipv4(frag=no)))",
                "pop_vlan,{OUT}",
                std::string(kEthAToB) +
                    ",eth_type(0x88a8),vlan(vid=100,pcp=0),encap(eth_type(0x8100),vlan(vid=10,pcp=0),encap("
                    "eth_type(0x0800),"
                    "ipv4(" +
                    kUdp4Fields + "),udp(src=1234,dst=53)))",
                tagged10);

  OffloadConformanceCase& push_mpls =
      table.add("push_mpls", "push_mpls over IPv4", udp4_match,
                "push_mpls(label=200,tc=1,ttl=63,bos=1,eth_type=0x8847),{OUT}", udp4);
  table.expect(push_mpls, Role::kOut, with_mpls_label(udp4, mpls_lse(200, 1, true, 63)));
  OffloadConformanceCase& pop_mpls = table.add(
      "pop_mpls", "pop_mpls back to IPv4", "eth(),eth_type(0x8847),mpls(label=100,tc=0,ttl=64,bos=1)",
      "pop_mpls(eth_type=0x800),{OUT}", with_mpls_label(udp4, mpls_lse(100, 0, true, 64)));
  table.expect(pop_mpls, Role::kOut, udp4);

  table.rewrite("set_eth", "set Ethernet source and destination", udp4_match,
                "set(eth(src=02:00:00:00:00:1a,dst=02:00:00:00:00:1b)),{OUT}", kUdp4,
                "eth(src=02:00:00:00:00:1a,dst=02:00:00:00:00:1b),eth_type(0x0800),ipv4(" + kUdp4Fields +
                    "),udp(src=1234,dst=53)");
  table.rewrite(
      "set_ipv4_addresses", "IPv4 source and destination rewrite: IP and UDP checksums", udp4_match,
      "set(ipv4(src=192.0.2.1,dst=198.51.100.7)),{OUT}", kUdp4,
      ipv4_key("src=192.0.2.1,dst=198.51.100.7,proto=17,tos=0,ttl=64,frag=no", "udp(src=1234,dst=53)"));
  table.rewrite(
      "set_ipv4_ttl_tos", "IPv4 TTL and DSCP rewrite: IP checksum", udp4_match,
      "set(ipv4(tos=0xb8/0xfc,ttl=63)),{OUT}", kUdp4,
      ipv4_key("src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0xb8,ttl=63,frag=no", "udp(src=1234,dst=53)"));
  table.rewrite("set_ipv6_addresses_hlimit", "IPv6 destination and hop limit rewrite: UDP checksum",
                "eth(),eth_type(0x86dd),ipv6(dst=2001:db8::2,proto=17,frag=no)",
                "set(ipv6(dst=2001:db8::99,hlimit=63)),{OUT}", ipv6_key(kUdp6Fields, "udp(src=1234,dst=53)"),
                ipv6_key("src=2001:db8::1,dst=2001:db8::99,label=0,proto=17,tclass=0,hlimit=63,frag=no",
                         "udp(src=1234,dst=53)"));
  const std::string tcp4 =
      ipv4_key("src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no", "tcp(src=40000,dst=80)");
  table.rewrite(
      "set_tcp_ports", "TCP port rewrite: TCP checksum",
      "eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(dst=80)", "set(tcp(src=40001,dst=8080)),{OUT}", tcp4,
      ipv4_key("src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no", "tcp(src=40001,dst=8080)"));
  table.rewrite("set_udp_port", "UDP destination port rewrite: UDP checksum",
                "eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=53)", "set(udp(dst=5353)),{OUT}",
                kUdp4, ipv4_key(kUdp4Fields, "udp(src=1234,dst=5353)"));
  table.rewrite(
      "set_ipv4_and_udp", "NAT-like: IPv4 destination and UDP port together", udp4_match,
      "set(ipv4(dst=10.9.9.9)),set(udp(dst=5353)),{OUT}", kUdp4,
      ipv4_key("src=10.0.0.1,dst=10.9.9.9,proto=17,tos=0,ttl=64,frag=no", "udp(src=1234,dst=5353)"));

  OffloadConformanceCase& mirror = table.add(
      "mirror_and_redirect", "two outputs: a copy to {OUT}, then a rewritten frame back out of {IN}",
      udp4_match, "{OUT},set(eth(dst=02:00:00:00:00:cc)),{IN}", udp4);
  table.expect(mirror, Role::kOut, udp4);
  table.expect(mirror, Role::kIn,
               table.frame("eth(src=02:00:00:00:00:0a,dst=02:00:00:00:00:cc),eth_type(0x0800),ipv4(" +
                           kUdp4Fields + "),udp(src=1234,dst=53)"));

  // What TC cannot express: the datapath keeps it in both runs.
  const std::vector<uint8_t> long_udp4 = table.frame(kUdp4, 120);
  OffloadConformanceCase& trunc =
      table.add("refused_trunc", "trunc: no TC action truncates; stays in the datapath", udp4_match,
                "trunc(100),{OUT}", long_udp4);
  table.expect(trunc, Role::kOut, std::vector<uint8_t>(long_udp4.begin(), long_udp4.begin() + 100));
  trunc.expected_refusal = "trunc";
  OffloadConformanceCase& userspace =
      table.add("refused_userspace", "userspace: an upcall TC cannot make; stays in the datapath", udp4_match,
                "userspace(pid=3999999999)", udp4);
  userspace.expected_refusal = "userspace";
}

void add_vxlan_cases(ConformanceTableBuilder& table) {
  using Role = ConformancePortRole;
  const ConformanceUnderlay& underlay = table.underlay();
  const std::vector<uint8_t> udp4 = table.frame(kUdp4);
  const std::string udp4_match = "eth(),eth_type(0x0800),ipv4(dst=10.0.0.2,proto=17,frag=no)";
  auto address = [](Be32 ip) {
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &ip, text, sizeof text);
    return std::string(text);
  };
  const std::string local = address(underlay.local_ip), remote = address(underlay.remote_ip);

  VxlanOuter leaving;
  leaving.dst_mac = underlay.remote_mac;
  leaving.src_mac = underlay.local_mac;
  leaving.src_ip = underlay.local_ip;
  leaving.dst_ip = underlay.remote_ip;
  leaving.ttl = 64;
  leaving.vni = 42;
  OffloadConformanceCase& encap = table.add(
      "vxlan_encap", "set(tunnel(vni 42)) and output to the VXLAN port: the outer frame on the underlay",
      udp4_match,
      "set(tunnel(tun_id=0x2a,src=" + local + ",dst=" + remote + ",ttl=64,tp_dst=4789,flags(key))),{VXLAN}",
      udp4);
  table.expect(encap, Role::kUnderlay, vxlan_leaving(leaving, udp4));
  encap.needs_underlay = true;

  VxlanOuter leaving_df = leaving;
  leaving_df.dont_fragment = true;
  OffloadConformanceCase& encap_df =
      table.add("vxlan_encap_df", "set(tunnel(flags(df))): the outer header's DF bit", udp4_match,
                "set(tunnel(tun_id=0x2a,src=" + local + ",dst=" + remote +
                    ",ttl=64,tp_dst=4789,flags(df|key))),{VXLAN}",
                udp4);
  table.expect(encap_df, Role::kUnderlay, vxlan_leaving(leaving_df, udp4));
  encap_df.needs_underlay = true;
  // On Linux before 6.3 (the lab's 6.1) the kernel accepts
  // TCA_TUNNEL_KEY_NO_FRAG but does not keep it; the provider reads that
  // from the echo and leaves the flow in the datapath, saying so, so both
  // runs send DF. On 6.3 and later TC keeps it and the flow is offloaded.
  if (!running_kernel_at_least(6, 3)) encap_df.expected_refusal = "did not keep nofrag";

  VxlanOuter leaving_tos = leaving;
  leaving_tos.tos = 0x28;
  leaving_tos.ttl = 17;
  leaving_tos.dont_fragment = false;
  leaving_tos.vni = 7000;
  const std::vector<uint8_t> rewritten =
      table.frame("eth(src=02:00:00:00:00:0a,dst=02:00:00:00:00:dd),eth_type(0x0800),ipv4(" + kUdp4Fields +
                  "),udp(src=1234,dst=53)");
  OffloadConformanceCase& encap_rewrite =
      table.add("vxlan_encap_tos_ttl_after_set_eth",
                "set(eth) then encapsulation with outer tos/ttl and no df", udp4_match,
                "set(eth(dst=02:00:00:00:00:dd)),set(tunnel(tun_id=0x1b58,src=" + local + ",dst=" + remote +
                    ",tos=0x28,ttl=17,tp_dst=4789,flags(key))),{VXLAN}",
                udp4);
  table.expect(encap_rewrite, Role::kUnderlay, vxlan_leaving(leaving_tos, rewritten));
  encap_rewrite.needs_underlay = true;

  // Decapsulation: a remote VTEP's frame arrives on the underlay.
  VxlanOuter arriving;
  arriving.dst_mac = underlay.local_mac;
  arriving.src_mac = underlay.remote_mac;
  arriving.src_ip = underlay.remote_ip;
  arriving.dst_ip = underlay.local_ip;
  arriving.ttl = 64;
  arriving.udp_source = 49152;
  arriving.vni = 42;
  // flags(+key): what tc flower can express (the key flag is implied by
  // enc_key_id); Open vSwitch's own megaflows also match -df-csum, which
  // flower has no key for: one case shows that refusal.
  auto decap_case = [&](std::string name, std::string covers, std::string match_rest, std::string actions,
                        const std::vector<uint8_t>& out, std::string flags = "+key") {
    OffloadConformanceCase& added = table.add(std::move(name), std::move(covers), match_rest,
                                              std::move(actions), vxlan_encapsulated(arriving, udp4));
    added.match = "recirc_id(0),tunnel(tun_id=0x2a,src=" + remote + ",dst=" + local + ",tp_dst=4789,flags(" +
                  flags + ")),in_port({VXLAN})," + match_rest;
    added.sent_on = Role::kUnderlay;
    added.needs_underlay = true;
    if (!out.empty()) table.expect(added, Role::kOut, out);
  };
  decap_case("vxlan_decap", "tunnel keys (vni, addresses, port, flags) on the VXLAN port, inner frame out",
             std::string(kEthAToB) + ",eth_type(0x0800),ipv4(frag=no)", "{OUT}", udp4);
  decap_case("vxlan_decap_set_eth_push_vlan", "decapsulated frame rewritten and tagged",
             "eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=53)",
             "set(eth(dst=02:00:00:00:00:ee)),push_vlan(vid=42,pcp=0),{OUT}",
             table.frame("eth(src=02:00:00:00:00:0a,dst=02:00:00:00:00:ee),eth_type(0x8100),vlan(vid=42,pcp="
                         "0),encap(eth_type("
                         "0x0800),ipv4(" +
                         kUdp4Fields + "),udp(src=1234,dst=53))"));
  decap_case("vxlan_decap_drop", "decapsulated and dropped: counted, nothing out",
             std::string(kEthAToB) + ",eth_type(0x0800),ipv4(frag=no)", "drop", {});
  decap_case("refused_vxlan_decap_tunnel_flags", "tunnel flags -df-csum as Open vSwitch matches them",
             std::string(kEthAToB) + ",eth_type(0x0800),ipv4(frag=no)", "{OUT}", udp4, "-df-csum+key");
  table.last().expected_refusal = "tunnel flags df and csum";
}

}  // namespace

const char* conformance_port_role_name(ConformancePortRole role) {
  switch (role) {
    case ConformancePortRole::kIn:
      return "in";
    case ConformancePortRole::kOut:
      return "out";
    case ConformancePortRole::kUnderlay:
      return "underlay";
  }
  return "?";
}

ConformanceUnderlay default_conformance_underlay(const EthAddr& local_mac, const EthAddr& remote_mac) {
  ConformanceUnderlay underlay;
  underlay.local_mac = local_mac;
  underlay.remote_mac = remote_mac;
  underlay.local_ip = htonl(0xc0a84d01);   // 192.168.77.1
  underlay.remote_ip = htonl(0xc0a84d02);  // 192.168.77.2
  return underlay;
}

Result<std::string> resolve_conformance_placeholders(std::string_view text,
                                                     const ConformancePortNumbers& ports) {
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    size_t open = text.find('{', at);
    if (open == std::string_view::npos) {
      out.append(text.substr(at));
      break;
    }
    out.append(text.substr(at, open - at));
    size_t close = text.find('}', open);
    if (close == std::string_view::npos)
      return Status(EINVAL, "unterminated port placeholder in \"" + std::string(text) + "\"");
    std::string_view name = text.substr(open + 1, close - open - 1);
    if (name == "IN") {
      out += std::to_string(ports.in);
    } else if (name == "OUT") {
      out += std::to_string(ports.out);
    } else if (name == "VXLAN") {
      if (!ports.has_vxlan) return Status(EINVAL, "{VXLAN} is used but this run has no VXLAN port");
      out += std::to_string(ports.vxlan);
    } else {
      return Status(EINVAL,
                    "unknown port placeholder {" + std::string(name) + "} in \"" + std::string(text) + "\"");
    }
    at = close + 1;
  }
  return out;
}

Result<std::vector<OffloadConformanceCase>> offload_conformance_cases(const ConformanceUnderlay& underlay) {
  ConformanceTableBuilder table(underlay);
  add_match_cases(table);
  add_action_cases(table);
  add_vxlan_cases(table);
  return table.finish();
}

bool conformance_frame_matches(const ConformanceFrame& expected, const std::vector<uint8_t>& got) {
  if (expected.bytes.size() != got.size()) return false;
  std::vector<bool> ignored(got.size(), false);
  for (const ConformanceIgnoredBytes& range : expected.ignored)
    for (size_t i = range.offset; i < range.offset + range.length && i < ignored.size(); ++i)
      ignored[i] = true;
  for (size_t i = 0; i < got.size(); ++i)
    if (!ignored[i] && expected.bytes[i] != got[i]) return false;
  return true;
}

}  // namespace flowlift
