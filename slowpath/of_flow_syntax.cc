// ovs-ofctl rule text: reading add-flow syntax, printing dump-flows syntax.
#include "slowpath/of_flow_syntax.h"

#include <arpa/inet.h>
#include <endian.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <vector>

#include "kmod/odp_text_fields.h"
#include "slowpath/of_field_text.h"
#include "slowpath/of_key_value.h"

namespace flowlift {

namespace {

constexpr uint16_t kEthTypeIp = 0x0800;
constexpr uint16_t kEthTypeIpv6 = 0x86dd;
constexpr uint16_t kEthTypeArp = 0x0806;
constexpr uint16_t kEthTypeRarp = 0x8035;
constexpr uint16_t kEthTypeMpls = 0x8847;
constexpr uint16_t kEthTypeMplsMulticast = 0x8848;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoSctp = 132;
constexpr uint8_t kProtoIcmpv6 = 58;

struct Shorthand {
  std::string_view name;
  uint16_t dl_type;
  uint8_t nw_proto;  // 0: not set
};

// OVS's parse_protocol() table.
constexpr std::array<Shorthand, 17> kShorthands{{
    {"ip", kEthTypeIp, 0},
    {"ipv4", kEthTypeIp, 0},
    {"ip4", kEthTypeIp, 0},
    {"arp", kEthTypeArp, 0},
    {"icmp", kEthTypeIp, kProtoIcmp},
    {"tcp", kEthTypeIp, kProtoTcp},
    {"udp", kEthTypeIp, kProtoUdp},
    {"sctp", kEthTypeIp, kProtoSctp},
    {"ipv6", kEthTypeIpv6, 0},
    {"ip6", kEthTypeIpv6, 0},
    {"icmp6", kEthTypeIpv6, kProtoIcmpv6},
    {"tcp6", kEthTypeIpv6, kProtoTcp},
    {"udp6", kEthTypeIpv6, kProtoUdp},
    {"sctp6", kEthTypeIpv6, kProtoSctp},
    {"rarp", kEthTypeRarp, 0},
    {"mpls", kEthTypeMpls, 0},
    {"mplsm", kEthTypeMplsMulticast, 0},
}};

struct FlagKeyword {
  std::string_view name;
  uint16_t flag;
};
constexpr std::array<FlagKeyword, 5> kFlagKeywords{{
    {"send_flow_rem", kOfRuleSendFlowRemoved},
    {"check_overlap", kOfRuleCheckOverlap},
    {"reset_counts", kOfRuleResetCounts},
    {"no_packet_counts", kOfRuleNoPacketCounts},
    {"no_byte_counts", kOfRuleNoByteCounts},
}};

// dump-flows prints these; reading a dump back skips them, as ovs-ofctl does.
constexpr std::array<std::string_view, 5> kStatisticKeywords{"duration", "n_packets", "n_bytes", "idle_age",
                                                             "hard_age"};

Status item_error(std::string_view item, const std::string& message) {
  return invalid_argument(std::string(item) + ": " + message);
}

// Collects a match field by field; prerequisites are checked once all are in,
// since OVS lets "nw_src=10.0.0.1,ip" name the protocol after the field.
struct MatchBuilder {
  OfFlow flow{};
  OfFlow mask{};
  struct Named {
    const OfField* field;
    std::string_view item;
  };
  std::vector<Named> named;

  void set(const OfField& field, Uint128 value, Uint128 value_mask, bool mask_was_written = false) {
    set_field_in_match(flow, mask, field, value, value_mask, mask_was_written);
  }

  Status check_prerequisites() const {
    for (const Named& n : named) {
      if (!prereqs_ok(*n.field, flow, &mask))
        return item_error(n.item, "needs " + std::string(prereq_requirement(n.field->prereq)));
    }
    return Status::ok();
  }

  OfMatch build() const { return OfMatch(flow, OfMask(mask)); }
};

Status apply_shorthand(const Shorthand& s, MatchBuilder& builder) {
  builder.set(of_field(OfFieldId::kEthType), s.dl_type, 0xffff);
  if (s.nw_proto) builder.set(of_field(OfFieldId::kIpProto), s.nw_proto, 0xff);
  return Status::ok();
}

Status apply_field(const OfField& field, const OfKeyValue& kv, const PortNames& ports,
                   MatchBuilder& builder) {
  if (kv.value.empty()) return item_error(kv.item, "missing value");
  if (field.id == OfFieldId::kDlVlan) {
    // OpenFlow 1.0's dl_vlan: 0..4095, or 0xffff for "no VLAN tag".
    Result<Uint128> vid = parse_integer(kv.value, 16);
    if (!vid) return item_error(kv.item, vid.status().message());
    if (*vid == 0xffff) {
      builder.set(of_field(OfFieldId::kVlanTci), 0, 0xffff);
    } else if (*vid > 4095) {
      return item_error(kv.item, "VLAN id must be between 0 and 4095 (or 0xffff for no VLAN)");
    } else {
      builder.set(field, *vid, field.value_mask());
    }
  } else {
    Result<OfMaskedValue> value = parse_field_value(field, kv.value, ports);
    if (!value) return item_error(kv.item, value.status().message());
    builder.set(field, value->value, value->mask, value->mask_was_written);
  }
  builder.named.push_back({&field, kv.item});
  return Status::ok();
}

// "reg0[0..3]=5": sets those bits of the field, keeping what else it matched.
Status apply_subfield(const OfKeyValue& kv, MatchBuilder& builder) {
  Result<OfSubfield> subfield = parse_subfield(kv.key);
  if (!subfield) return item_error(kv.item, subfield.status().message());
  const OfField& field = of_field(subfield->field);
  if (!field.maskable && subfield->n_bits != field.n_bits)
    return item_error(kv.item,
                      std::string(field.name) + " cannot be masked, so it can only be matched whole");
  Result<Uint128> value = parse_integer(kv.value, subfield->n_bits);
  if (!value) return item_error(kv.item, value.status().message());
  Uint128 bits = (subfield->n_bits >= 128 ? ~Uint128{0} : (Uint128{1} << subfield->n_bits) - 1)
                 << subfield->offset;
  Uint128 old_value = read_field(builder.flow, field);
  Uint128 old_mask = read_field(builder.mask, field);
  builder.set(field, (old_value & ~bits) | (*value << subfield->offset), old_mask | bits);
  builder.named.push_back({&field, kv.item});
  return Status::ok();
}

// A match item: shorthand, field or subfield. *handled is false when the key
// is none of these (the caller may know it as a rule keyword).
Status apply_match_item(const OfKeyValue& kv, const PortNames& ports, MatchBuilder& builder, bool* handled) {
  *handled = true;
  for (const Shorthand& s : kShorthands) {
    if (kv.key == s.name) {
      if (kv.delimiter != '\0') return item_error(kv.item, std::string(s.name) + " takes no value");
      return apply_shorthand(s, builder);
    }
  }
  if (kv.key == "eth" && kv.delimiter == '\0') return Status::ok();  // every flowlift packet is Ethernet
  if (const OfField* field = find_of_field(kv.key)) return apply_field(*field, kv, ports, builder);
  if (kv.key.find('[') != std::string_view::npos) return apply_subfield(kv, builder);
  *handled = false;
  return Status::ok();
}

Result<uint64_t> parse_keyword_number(const OfKeyValue& kv, uint64_t max) {
  if (kv.value.empty()) return item_error(kv.item, "missing value");
  Result<uint64_t> v = odp_text::parse_number(kv.value, UINT64_MAX);
  if (!v) return item_error(kv.item, "invalid number");
  if (*v > max) return item_error(kv.item, "must be between 0 and " + std::to_string(max));
  return *v;
}

Status apply_rule_keyword(const OfKeyValue& kv, OfRule& rule, bool* handled) {
  *handled = true;
  for (const FlagKeyword& f : kFlagKeywords) {
    if (kv.key == f.name && kv.delimiter == '\0') {
      rule.flags |= f.flag;
      return Status::ok();
    }
  }
  for (std::string_view s : kStatisticKeywords)
    if (kv.key == s) return Status::ok();
  auto number = [&](uint64_t max, auto assign) -> Status {
    Result<uint64_t> v = parse_keyword_number(kv, max);
    if (!v) return v.status();
    assign(*v);
    return Status::ok();
  };
  if (kv.key == "table") return number(254, [&](uint64_t v) { rule.table = static_cast<uint8_t>(v); });
  if (kv.key == "priority")
    return number(UINT16_MAX, [&](uint64_t v) { rule.priority = static_cast<uint16_t>(v); });
  if (kv.key == "idle_timeout")
    return number(UINT16_MAX, [&](uint64_t v) { rule.idle_timeout = static_cast<uint16_t>(v); });
  if (kv.key == "hard_timeout")
    return number(UINT16_MAX, [&](uint64_t v) { rule.hard_timeout = static_cast<uint16_t>(v); });
  if (kv.key == "importance")
    return number(UINT16_MAX, [&](uint64_t v) { rule.importance = static_cast<uint16_t>(v); });
  if (kv.key == "cookie") {
    if (kv.value.empty()) return item_error(kv.item, "missing value");
    size_t slash = kv.value.find('/');
    Result<uint64_t> cookie = odp_text::parse_number(kv.value.substr(0, slash), UINT64_MAX);
    if (!cookie) return item_error(kv.item, "invalid cookie");
    rule.cookie = *cookie;
    rule.cookie_mask = 0;
    if (slash != std::string_view::npos) {
      Result<uint64_t> mask = odp_text::parse_number(kv.value.substr(slash + 1), UINT64_MAX);
      if (!mask) return item_error(kv.item, "invalid cookie mask");
      rule.cookie_mask = *mask;
      rule.cookie &= *mask;
    }
    return Status::ok();
  }
  *handled = false;
  return Status::ok();
}

Status unknown_key(const OfKeyValue& kv) {
  return invalid_argument("unknown field \"" + std::string(kv.key) + "\"");
}

}  // namespace

Result<OfMatch> parse_of_match(std::string_view text, const PortNames& ports) {
  MatchBuilder builder;
  OfKeyValueReader reader(text);
  OfKeyValue kv;
  while (reader.next(&kv)) {
    bool handled = false;
    Status s = apply_match_item(kv, ports, builder, &handled);
    if (!s.is_ok()) return s;
    if (!handled) return unknown_key(kv);
  }
  if (!reader.status().is_ok()) return reader.status();
  Status prereqs = builder.check_prerequisites();
  if (!prereqs.is_ok()) return prereqs;
  return builder.build();
}

Result<OfRule> parse_of_rule(std::string_view text, const PortNames& ports) {
  // As OVS's extract_actions(): the actions are whatever follows the first
  // "action...=" in the text.
  size_t action_word = text.find("action");
  size_t equals = action_word == std::string_view::npos ? action_word : text.find('=', action_word);
  if (equals == std::string_view::npos)
    return invalid_argument("missing \"actions=\" (every rule needs actions; actions=drop drops)");
  std::string_view match_text = text.substr(0, action_word);
  std::string_view actions_text = text.substr(equals + 1);

  OfRule rule;
  MatchBuilder builder;
  OfKeyValueReader reader(match_text);
  OfKeyValue kv;
  while (reader.next(&kv)) {
    bool handled = false;
    Status s = apply_rule_keyword(kv, rule, &handled);
    if (!s.is_ok()) return s;
    if (handled) continue;
    s = apply_match_item(kv, ports, builder, &handled);
    if (!s.is_ok()) return s;
    if (!handled) return unknown_key(kv);
  }
  if (!reader.status().is_ok()) return reader.status();
  Status prereqs = builder.check_prerequisites();
  if (!prereqs.is_ok()) return prereqs;
  rule.match = builder.build();

  Result<OfActionList> actions = parse_of_actions(actions_text, ports);
  if (!actions) return actions.status();
  Status consistent = check_of_actions(*actions, rule.match, rule.table);
  if (!consistent.is_ok()) return consistent;
  rule.actions = std::move(*actions);
  return rule;
}

namespace {

// OVS's format_uint32_masked / format_be64_masked: "name=0x..[/0x..]".
void add_hex_masked(std::vector<std::string>& items, std::string_view name, uint64_t value, uint64_t mask,
                    uint64_t all) {
  if (!mask) return;
  std::string item = std::string(name) + "=" + format_hex(value);
  if (mask != all) item += "/" + format_hex(mask);
  items.push_back(std::move(item));
}

// OVS's format_be16_masked: decimal when exact, "0x..../0x...." otherwise.
void add_be16_masked(std::vector<std::string>& items, std::string_view name, Be16 value, Be16 mask) {
  if (!mask) return;
  char buf[32];
  if (mask == 0xffff) {
    std::snprintf(buf, sizeof buf, "%u", static_cast<unsigned>(ntohs(value)));
  } else {
    std::snprintf(buf, sizeof buf, "0x%x/0x%x", static_cast<unsigned>(ntohs(value)),
                  static_cast<unsigned>(ntohs(mask)));
  }
  items.push_back(std::string(name) + "=" + buf);
}

void add_ipv4(std::vector<std::string>& items, std::string_view name, Be32 value, Be32 mask) {
  if (mask) items.push_back(std::string(name) + "=" + format_ipv4_masked(value, mask));
}

void add_ipv6(std::vector<std::string>& items, std::string_view name, const Ipv6Addr& value,
              const Ipv6Addr& mask) {
  for (uint8_t b : mask) {
    if (b) {
      items.push_back(std::string(name) + "=" + format_ipv6_masked(value, mask));
      return;
    }
  }
}

void add_eth(std::vector<std::string>& items, std::string_view name, const EthAddr& value,
             const EthAddr& mask) {
  for (uint8_t b : mask) {
    if (b) {
      items.push_back(std::string(name) + "=" + format_eth_masked(value, mask));
      return;
    }
  }
}

std::string decimal(uint64_t v) { return std::to_string(v); }

void add_vlan(std::vector<std::string>& items, const OfFlow& f, const OfFlow& w) {
  uint16_t tci = ntohs(f.vlan_tci), mask = ntohs(w.vlan_tci);
  if (!mask) return;
  uint16_t vid_mask = mask & 0x0fff, pcp_mask = mask & 0xe000;
  bool cfi = mask & kVlanCfi;
  if (cfi && (tci & kVlanCfi) && (vid_mask == 0 || vid_mask == 0x0fff) &&
      (pcp_mask == 0 || pcp_mask == 0xe000) && (vid_mask || pcp_mask)) {
    if (vid_mask) items.push_back("dl_vlan=" + decimal(tci & 0x0fff));
    if (pcp_mask) items.push_back("dl_vlan_pcp=" + decimal(tci >> 13));
    return;
  }
  char buf[40];
  if (mask == 0xffff) {
    std::snprintf(buf, sizeof buf, "vlan_tci=0x%04x", tci);
  } else {
    std::snprintf(buf, sizeof buf, "vlan_tci=0x%04x/0x%04x", tci, mask);
  }
  items.push_back(buf);
}

}  // namespace

std::string format_of_match(const OfMatch& match, const PortNames* ports, uint16_t priority) {
  const OfFlow& f = match.flow;
  const OfFlow& w = match.mask.bits();
  std::vector<std::string> items;
  if (priority != kOfDefaultPriority) items.push_back("priority=" + decimal(priority));

  add_hex_masked(items, "pkt_mark", f.pkt_mark, w.pkt_mark, UINT32_MAX);
  add_hex_masked(items, "recirc_id", f.recirc_id, w.recirc_id, UINT32_MAX);
  if (w.conj_id) items.push_back("conj_id=" + decimal(f.conj_id));
  add_hex_masked(items, "skb_priority", f.skb_priority, w.skb_priority, UINT32_MAX);

  // The protocol shorthand stands for dl_type (and nw_proto when it names one).
  uint16_t dl_type = w.dl_type ? ntohs(f.dl_type) : 0;
  bool type_printed = false, proto_printed = false;
  if (w.dl_type) {
    type_printed = true;
    std::string_view shorthand;
    if (dl_type == kEthTypeIp || dl_type == kEthTypeIpv6) {
      bool v6 = dl_type == kEthTypeIpv6;
      shorthand = v6 ? "ipv6" : "ip";
      if (w.nw_proto) {
        proto_printed = true;
        switch (f.nw_proto) {
          case kProtoTcp:
            shorthand = v6 ? "tcp6" : "tcp";
            break;
          case kProtoUdp:
            shorthand = v6 ? "udp6" : "udp";
            break;
          case kProtoSctp:
            shorthand = v6 ? "sctp6" : "sctp";
            break;
          case kProtoIcmp:
            if (!v6) {
              shorthand = "icmp";
            } else {
              proto_printed = false;
            }
            break;
          case kProtoIcmpv6:
            if (v6) {
              shorthand = "icmp6";
            } else {
              proto_printed = false;
            }
            break;
          default:
            proto_printed = false;
        }
      }
    } else if (dl_type == kEthTypeArp) {
      shorthand = "arp";
    } else if (dl_type == kEthTypeRarp) {
      shorthand = "rarp";
    } else if (dl_type == kEthTypeMpls) {
      shorthand = "mpls";
    } else if (dl_type == kEthTypeMplsMulticast) {
      shorthand = "mplsm";
    } else {
      type_printed = false;
    }
    if (type_printed) items.emplace_back(shorthand);
  }

  for (int i = 0; i < kOfRegisterCount; ++i)
    add_hex_masked(items, "reg" + std::to_string(i), f.regs[i], w.regs[i], UINT32_MAX);

  // Tunnel.
  {
    uint64_t id = 0, id_mask = 0;
    std::memcpy(&id, &f.tun_id, 8);
    std::memcpy(&id_mask, &w.tun_id, 8);
    add_hex_masked(items, "tun_id", be64toh(id), be64toh(id_mask), UINT64_MAX);
  }
  add_ipv4(items, "tun_src", f.tun_src, w.tun_src);
  add_ipv4(items, "tun_dst", f.tun_dst, w.tun_dst);
  add_ipv6(items, "tun_ipv6_src", f.tun_ipv6_src, w.tun_ipv6_src);
  add_ipv6(items, "tun_ipv6_dst", f.tun_ipv6_dst, w.tun_ipv6_dst);
  // OVS prints tun_tos in hex without "0x", which reads back as decimal; decimal here.
  if (w.tun_tos) items.push_back("tun_tos=" + decimal(f.tun_tos));
  if (w.tun_ttl) items.push_back("tun_ttl=" + decimal(f.tun_ttl));
  if (w.tun_flags & kTunnelAllFlags)
    items.push_back("tun_flags=" +
                    format_tunnel_flags(f.tun_flags & kTunnelAllFlags, w.tun_flags & kTunnelAllFlags));

  add_hex_masked(items, "metadata", f.metadata, w.metadata, UINT64_MAX);
  if (w.in_port) items.push_back("in_port=" + format_of_port(f.in_port, ports));
  add_vlan(items, f, w);
  add_eth(items, "dl_src", f.dl_src, w.dl_src);
  add_eth(items, "dl_dst", f.dl_dst, w.dl_dst);
  if (!type_printed && w.dl_type) items.push_back("dl_type=" + odp_text::hex4(ntohs(f.dl_type)));

  bool arp = dl_type == kEthTypeArp || dl_type == kEthTypeRarp;
  if (dl_type == kEthTypeIpv6) {
    add_ipv6(items, "ipv6_src", f.ipv6_src, w.ipv6_src);
    add_ipv6(items, "ipv6_dst", f.ipv6_dst, w.ipv6_dst);
    if (w.ipv6_label) {
      char buf[48];
      if (w.ipv6_label == 0xffffffffu || ntohl(w.ipv6_label) == 0xfffff) {
        std::snprintf(buf, sizeof buf, "ipv6_label=0x%05x", ntohl(f.ipv6_label));
      } else {
        std::snprintf(buf, sizeof buf, "ipv6_label=0x%05x/0x%05x", ntohl(f.ipv6_label), ntohl(w.ipv6_label));
      }
      items.push_back(buf);
    }
  } else if (arp) {
    add_ipv4(items, "arp_spa", f.nw_src, w.nw_src);
    add_ipv4(items, "arp_tpa", f.nw_dst, w.nw_dst);
  } else {
    add_ipv4(items, "nw_src", f.nw_src, w.nw_src);
    add_ipv4(items, "nw_dst", f.nw_dst, w.nw_dst);
  }
  if (!proto_printed && w.nw_proto) items.push_back((arp ? "arp_op=" : "nw_proto=") + decimal(f.nw_proto));
  if (arp) {
    add_eth(items, "arp_sha", f.arp_sha, w.arp_sha);
    add_eth(items, "arp_tha", f.arp_tha, w.arp_tha);
  }
  if (w.nw_tos & 0xfc) items.push_back("nw_tos=" + decimal(f.nw_tos & 0xfc));
  if (w.nw_tos & 0x03) items.push_back("nw_ecn=" + decimal(f.nw_tos & 0x03));
  if (w.nw_ttl) items.push_back("nw_ttl=" + decimal(f.nw_ttl));

  uint32_t lse = ntohl(f.mpls_lse), lse_mask = ntohl(w.mpls_lse);
  if (lse_mask & 0xfffff000u) items.push_back("mpls_label=" + decimal(lse >> 12));
  if (lse_mask & 0x00000e00u) items.push_back("mpls_tc=" + decimal((lse >> 9) & 7));
  if (lse_mask & 0x000000ffu) items.push_back("mpls_ttl=" + decimal(lse & 0xff));
  if (lse_mask & 0x00000100u) items.push_back("mpls_bos=" + decimal((lse >> 8) & 1));

  if (w.nw_frag & kOfFragMask) items.push_back("nw_frag=" + format_frag(f.nw_frag, w.nw_frag & kOfFragMask));

  bool icmp4 = dl_type == kEthTypeIp && f.nw_proto == kProtoIcmp;
  bool icmp6 = dl_type == kEthTypeIpv6 && f.nw_proto == kProtoIcmpv6;
  if (icmp4 || icmp6) {
    add_be16_masked(items, "icmp_type", f.tp_src, w.tp_src);
    add_be16_masked(items, "icmp_code", f.tp_dst, w.tp_dst);
    if (icmp6) {
      add_ipv6(items, "nd_target", f.nd_target, w.nd_target);
      add_eth(items, "nd_sll", f.arp_sha, w.arp_sha);
      add_eth(items, "nd_tll", f.arp_tha, w.arp_tha);
    }
  } else {
    add_be16_masked(items, "tp_src", f.tp_src, w.tp_src);
    add_be16_masked(items, "tp_dst", f.tp_dst, w.tp_dst);
  }
  if ((dl_type == kEthTypeIp || dl_type == kEthTypeIpv6) && f.nw_proto == kProtoTcp &&
      (w.tcp_flags & htons(0x0fff)))
    items.push_back("tcp_flags=" +
                    format_tcp_flags(ntohs(f.tcp_flags) & 0x0fff, ntohs(w.tcp_flags) & 0x0fff));

  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

std::string format_of_rule(const OfRule& rule, const PortNames* ports) {
  std::string out;
  if (rule.cookie || rule.cookie_mask) {
    out += "cookie=" + odp_text::hex(rule.cookie);
    if (rule.cookie_mask) out += "/" + odp_text::hex(rule.cookie_mask);
    out += ", ";
  }
  if (rule.table) out += "table=" + decimal(rule.table) + ", ";
  if (rule.idle_timeout) out += "idle_timeout=" + decimal(rule.idle_timeout) + ", ";
  if (rule.hard_timeout) out += "hard_timeout=" + decimal(rule.hard_timeout) + ", ";
  for (const FlagKeyword& f : kFlagKeywords)
    if (rule.flags & f.flag) out += std::string(f.name) + ", ";
  if (rule.importance) out += "importance=" + decimal(rule.importance) + ", ";
  out += format_of_match(rule.match, ports, rule.priority);
  if (!out.empty() && out.back() != ' ') out += ' ';
  out += "actions=" + format_of_actions(rule.actions, ports);
  return out;
}

}  // namespace flowlift
