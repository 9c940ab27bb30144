// The megaflow's promise, checked on random packets: every packet the
// megaflow matches translates to the same datapath actions as the packet it
// was made for. Packets come from the oracle's 60 and from random tables;
// the variants change only bits the megaflow leaves wildcarded, in fields
// the packet really has (a datapath key of that packet type could differ
// there). Fixed seeds.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "kmod/protocol_numbers.h"
#include "slowpath/xlate.h"
#include "slowpath/xlate_test_support.h"
#include "slowpath/xlate_trace.h"

namespace flowlift {
namespace {

struct ByteRange {
  size_t offset;
  size_t size;
};

// Where a packet of this type has header bits a datapath key would carry
// (OVS's flow_wildcards_init_for_packet(), minus what every megaflow pins:
// in_port, dl_type, recirc_id, IP protocol and fragment type).
std::vector<ByteRange> packet_fields(const OfFlow& f) {
  std::vector<ByteRange> out{{offsetof(OfFlow, dl_src), 6}, {offsetof(OfFlow, dl_dst), 6}};
  if (f.tun_dst) {
    out.push_back({offsetof(OfFlow, tun_ttl), 1});
    out.push_back({offsetof(OfFlow, tun_tos), 1});
  }
  uint16_t type = host16(f.dl_type);
  bool ip = type == kEthTypeIpv4 || type == kEthTypeIpv6;
  if (type == kEthTypeIpv4 || type == kEthTypeArp) {
    out.push_back({offsetof(OfFlow, nw_src), 4});
    out.push_back({offsetof(OfFlow, nw_dst), 4});
  }
  if (type == kEthTypeIpv6) {
    out.push_back({offsetof(OfFlow, ipv6_src), 16});
    out.push_back({offsetof(OfFlow, ipv6_dst), 16});
  }
  if (type == kEthTypeArp) {
    out.push_back({offsetof(OfFlow, nw_proto), 1});  // the opcode
    out.push_back({offsetof(OfFlow, arp_sha), 6});
    out.push_back({offsetof(OfFlow, arp_tha), 6});
  }
  if (ip) {
    out.push_back({offsetof(OfFlow, nw_tos), 1});
    out.push_back({offsetof(OfFlow, nw_ttl), 1});
    bool ports = !(f.nw_frag & kOfFragLater) &&
                 (f.nw_proto == kIpProtoTcp || f.nw_proto == kIpProtoUdp || f.nw_proto == kIpProtoSctp);
    bool icmp = !(f.nw_frag & kOfFragLater) && (f.nw_proto == kIpProtoIcmp || f.nw_proto == kIpProtoIcmpv6);
    if (ports) {
      out.push_back({offsetof(OfFlow, tp_src), 2});
      out.push_back({offsetof(OfFlow, tp_dst), 2});
    }
    if (icmp) {  // 8-bit type and code: the low byte of each unit
      out.push_back({offsetof(OfFlow, tp_src) + 1, 1});
      out.push_back({offsetof(OfFlow, tp_dst) + 1, 1});
    }
  }
  return out;
}

OfFlow random_inside(const OfMatch& megaflow, const OfFlow& packet, std::mt19937_64& rng) {
  OfFlow out = packet;
  auto* o = reinterpret_cast<uint8_t*>(&out);
  const auto* m = reinterpret_cast<const uint8_t*>(&megaflow.mask.bits());
  for (const ByteRange& r : packet_fields(packet))
    for (size_t i = r.offset; i < r.offset + r.size; ++i)
      o[i] = static_cast<uint8_t>((o[i] & m[i]) | (rng() & ~m[i]));
  // A tagged packet stays tagged (the datapath pins the tag's presence);
  // its VID and PCP may vary where the megaflow allows.
  if (host16(packet.vlan_tci) & kVlanCfi) {
    uint16_t mask = host16(megaflow.mask.bits().vlan_tci) | kVlanCfi;
    uint16_t tci = static_cast<uint16_t>((host16(packet.vlan_tci) & mask) | (rng() & ~mask));
    out.vlan_tci = be16(tci | kVlanCfi);
  }
  return out;
}

XlateOptions deterministic() {
  XlateOptions options;
  options.allocate_recirc_id = [] { return 1u; };
  return options;
}

// Returns how many variants were checked.
int check_variants(const XlateBridge& bridge, const OfPipeline& pipeline, const OfFlow& packet, int variants,
                   std::mt19937_64& rng, const std::string& label) {
  XlateResult original = translate(bridge, pipeline, packet, deterministic());
  EXPECT_TRUE(original.megaflow.matches(packet)) << label;
  std::string expected = format_datapath_actions(original.actions);
  int checked = 0;
  for (int i = 0; i < variants; ++i) {
    OfFlow variant = random_inside(original.megaflow, packet, rng);
    EXPECT_TRUE(original.megaflow.matches(variant)) << label;
    XlateResult again = translate(bridge, pipeline, variant, deterministic());
    EXPECT_EQ(format_datapath_actions(again.actions), expected)
        << label << "\n  packet:  " << format_trace_flow(packet)
        << "\n  variant: " << format_trace_flow(variant)
        << "\n  megaflow: " << format_megaflow(original.megaflow);
    EXPECT_EQ(again.error, original.error) << label;
    ++checked;
  }
  return checked;
}

TEST(XlateProperty, PacketsInsideAnOracleMegaflowGetTheSameActions) {
  Result<XlateBridge> bridge = xlate_test::oracle_bridge();
  ASSERT_TRUE(bridge);
  OfTables tables;
  ASSERT_TRUE(
      xlate_test::add_flows_from_file(tables, xlate_test::oracle_dir() + "/flows.txt", bridge->port_names()));
  std::mt19937_64 rng(20261121);
  int checked = 0;
  for (const auto& t : xlate_test::oracle_traces("traces.jsonl")) {
    Result<OfFlow> packet = parse_trace_flow(t.flow, bridge->port_names());
    ASSERT_TRUE(packet);
    checked += check_variants(*bridge, tables, *packet, 40, rng, t.name);
  }
  EXPECT_EQ(checked, 60 * 40);
}

// Random tables over a small universe of values, so that packets hit rules
// and near misses: three tables, registers carried between them, sets,
// TTL decrements, moves of address bits, outputs (the input port included).
class RandomTables {
 public:
  explicit RandomTables(uint64_t seed) : rng_(seed) {}

  std::vector<std::string> rules() {
    std::vector<std::string> out;
    for (int table = 0; table < 3; ++table) {
      int n = pick(2, 7);
      for (int i = 0; i < n; ++i) out.push_back(rule(table));
      if (coin())
        out.push_back("table=" + std::to_string(table) + ",priority=0 actions=" + actions(table, false));
    }
    return out;
  }

  std::string packet() {
    std::string p = "in_port=p" + std::to_string(pick(1, 3)) + ",dl_src=02:00:00:00:00:0" +
                    std::to_string(pick(1, 3)) + ",dl_dst=02:00:00:00:00:0" + std::to_string(pick(1, 3));
    int kind = pick(0, 3);
    if (kind == 0) return p + ",dl_type=0x88b5";
    if (kind == 3)
      return p + ",arp,arp_spa=10.0.0." + std::to_string(pick(1, 4)) +
             ",arp_tpa=10.0.1.1,arp_op=" + std::to_string(pick(1, 2));
    p += kind == 1 ? ",tcp" : ",udp";
    p += ",nw_src=10." + std::to_string(pick(0, 1)) + ".0." + std::to_string(pick(1, 4));
    p += ",nw_dst=10.0." + std::to_string(pick(0, 3)) + "." + std::to_string(pick(1, 9));
    p += ",nw_tos=" + std::to_string(4 * pick(0, 2)) + ",nw_ttl=" + std::to_string(pick(1, 3));
    if (coin()) p += std::string(",nw_frag=") + (coin() ? "first" : "later");
    if (p.find("later") == std::string::npos)
      p += ",tp_src=" + std::to_string(pick(1000, 1003)) + ",tp_dst=" + std::to_string(pick(79, 82));
    return p;
  }

 private:
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool coin() { return pick(0, 1) == 1; }

  std::string rule(int table) {
    std::string r = "table=" + std::to_string(table) + ",priority=" + std::to_string(pick(1, 5));
    bool ip = false;
    switch (pick(0, 5)) {
      case 0:
        r += ",in_port=p" + std::to_string(pick(1, 3));
        break;
      case 1:
        r += ",ip,nw_dst=10.0." + std::to_string(pick(0, 3)) + ".0/" + std::to_string(pick(16, 24));
        ip = true;
        break;
      case 2:
        r += std::string(coin() ? ",tcp" : ",udp") + ",tp_dst=" + std::to_string(pick(79, 82));
        ip = true;
        break;
      case 3:
        r += ",dl_dst=02:00:00:00:00:0" + std::to_string(pick(1, 3));
        break;
      case 4:
        r += ",reg0=" + std::to_string(pick(0, 2));
        break;
      default:
        r += ",ip,nw_src=10." + std::to_string(pick(0, 1)) +
             ".0.0/16,nw_tos=" + std::to_string(4 * pick(0, 2));
        ip = true;
    }
    return r + " actions=" + actions(table, ip);
  }

  std::string actions(int table, bool ip) {
    std::vector<std::string> a;
    int n = pick(1, 4);
    for (int i = 0; i < n; ++i) {
      switch (pick(0, ip ? 8 : 5)) {
        case 0:
        case 1:
          a.push_back("output:p" + std::to_string(pick(1, 4)));
          break;
        case 2:
          a.push_back("mod_dl_dst:02:00:00:00:00:0" + std::to_string(pick(1, 3)));
          break;
        case 3:
          a.push_back("load:" + std::to_string(pick(0, 2)) + "->NXM_NX_REG0[]");
          break;
        case 4:
          if (table < 2) a.push_back("resubmit(," + std::to_string(pick(table + 1, 2)) + ")");
          break;
        case 5:
          a.push_back("mod_vlan_vid:" + std::to_string(pick(1, 3)));
          break;
        case 6:
          a.push_back("dec_ttl");
          break;
        case 7:
          a.push_back("move:NXM_OF_IP_SRC[0..1]->NXM_NX_REG0[0..1]");
          break;
        default:
          a.push_back("mod_nw_tos:" + std::to_string(4 * pick(0, 2)));
      }
    }
    if (table < 2 && coin()) a.push_back("goto_table:" + std::to_string(table + 1));
    std::string out;
    for (const std::string& s : a) out += (out.empty() ? "" : ",") + s;
    return out.empty() ? "drop" : out;
  }

  std::mt19937_64 rng_;
};

TEST(XlateProperty, PacketsInsideARandomTablesMegaflowGetTheSameActions) {
  Result<XlateBridge> bridge = xlate_test::oracle_bridge();
  ASSERT_TRUE(bridge);
  int checked = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    RandomTables random(seed);
    OfTables tables;
    std::vector<std::string> rules = random.rules();
    std::string text;
    for (const std::string& rule : rules) text += rule + "\n";
    Status s = xlate_test::add_flows(tables, text, bridge->port_names());
    ASSERT_TRUE(s) << s.message();
    std::mt19937_64 rng(seed);
    for (int p = 0; p < 15; ++p) {
      std::string text = random.packet();
      Result<OfFlow> packet = parse_trace_flow(text, bridge->port_names());
      ASSERT_TRUE(packet) << text << ": " << packet.status().message();
      std::string label = "seed " + std::to_string(seed) + " packet " + text;
      for (const std::string& rule : rules) label += "\n  " + rule;
      checked += check_variants(*bridge, tables, *packet, 10, rng, label);
    }
  }
  EXPECT_EQ(checked, 40 * 15 * 10);
}

}  // namespace
}  // namespace flowlift
