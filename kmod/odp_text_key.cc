// Match text: attribute order, VLAN/encap layering, and the set(...) attribute.
#include "kmod/odp_text_key.h"

#include <arpa/inet.h>

#include <array>
#include <optional>
#include <vector>

#include "flowlift/masked_words.h"
#include "kmod/odp_text_key_attrs.h"

namespace flowlift {
namespace {

using odp_text::Cursor;

constexpr uint16_t kEthTypeIpv4 = 0x0800;
constexpr uint16_t kEthTypeIpv6 = 0x86dd;
constexpr uint16_t kEthTypeArp = 0x0806;
constexpr uint16_t kEthTypeRarp = 0x8035;
constexpr uint16_t kEthTypeMpls = 0x8847;
constexpr uint16_t kEthTypeMplsMulticast = 0x8848;
// FlowKey's EtherType for an 802.3 frame without SNAP (no EtherType on the wire).
constexpr uint16_t kEthType8022 = 0x05ff;
constexpr uint8_t kIpProtoIcmp = 1, kIpProtoTcp = 6, kIpProtoUdp = 17, kIpProtoIcmpv6 = 58,
                  kIpProtoSctp = 132;
constexpr uint8_t kNeighbourSolicitation = 135, kNeighbourAdvertisement = 136;
constexpr uint16_t kEthTypeMinimum = 0x0600;  // ETH_P_802_3_MIN
// packet_type namespaces (OpenFlow's OFPHTN_*).
constexpr uint64_t kPacketTypeNsEthernet = 0, kPacketTypeNsEthertype = 1;

bool is_vlan_tpid(uint16_t eth_type) { return eth_type == 0x8100 || eth_type == 0x88a8; }
bool is_mpls(uint16_t eth_type) { return eth_type == kEthTypeMpls || eth_type == kEthTypeMplsMulticast; }

// ct_labels hold the attribute's bytes; odp-util reads them as a host-order
// (x86: little-endian) 128-bit number and prints it most significant first.
std::array<uint8_t, 16> labels_to_number(const std::array<uint8_t, 16>& labels) {
  std::array<uint8_t, 16> number;
  for (size_t i = 0; i < 16; ++i) number[i] = labels[15 - i];
  return number;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

// ---------------------------------------------------------------- printing

// Values print from `key` as given; which attributes exist follows the masked
// key, as the datapath decides it.
class MatchPrinter {
 public:
  MatchPrinter(const FlowKey& key, const FlowMask& mask, OdpTextStyle style)
      : k_(key), m_(mask.bits()), s_(apply_mask(key, mask)), style_(style) {}

  std::string print() {
    std::vector<std::string> items;
    if (style_ == OdpTextStyle::kKernel) {
      number("recirc_id", k_.recirc_id, m_.recirc_id, items);
      number("dp_hash", k_.dp_hash, m_.dp_hash, items);
      number("skb_priority", k_.priority, m_.priority, items);
      tunnel(items);
      in_port(items);
      number("skb_mark", k_.skb_mark, m_.skb_mark, items);
      conntrack(items);
      ethernet(items);
    } else {
      number("skb_priority", k_.priority, m_.priority, items);
      tunnel(items);
      number("skb_mark", k_.skb_mark, m_.skb_mark, items);
      conntrack(items);
      number("recirc_id", k_.recirc_id, m_.recirc_id, items);
      number("dp_hash", k_.dp_hash, m_.dp_hash, items);
      in_port(items);
      packet_type(items);
      ethernet(items);
    }
    std::string tail;
    layer2(items, tail);
    return join(items) + tail;
  }

 private:
  static void number(const char* name, uint32_t key, uint32_t mask, std::vector<std::string>& items) {
    if (!mask) return;
    std::string text = std::string(name) + "(" + odp_text::hex(key);
    if (mask != UINT32_MAX) text += "/" + odp_text::hex(mask);
    items.push_back(text + ")");
  }

  void tunnel(std::vector<std::string>& items) const {
    if (all_bytes_zero(m_.tunnel)) return;
    items.push_back("tunnel(" + odp_text::format_tunnel_match(k_.tunnel, m_.tunnel) + ")");
  }

  void in_port(std::vector<std::string>& items) const {
    if (!m_.in_port) return;
    std::string text = "in_port(" + odp_text::decimal(k_.in_port);
    if (m_.in_port != UINT32_MAX) text += "/" + odp_text::hex(m_.in_port);
    items.push_back(text + ")");
  }

  void conntrack(std::vector<std::string>& items) const {
    if (m_.ct_state) {
      std::string flags = m_.ct_state == UINT32_MAX
                              ? odp_text::format_flags(odp_text::ct_state_names(), k_.ct_state, '|')
                              : odp_text::format_flags_masked(odp_text::ct_state_names(), k_.ct_state,
                                                              m_.ct_state, UINT32_MAX);
      items.push_back("ct_state(" + flags + ")");
    }
    if (m_.ct_zone) {
      std::string text = "ct_zone(" + odp_text::hex(k_.ct_zone);
      if (m_.ct_zone != 0xffff) text += "/" + odp_text::hex(m_.ct_zone);
      items.push_back(text + ")");
    }
    number("ct_mark", k_.ct_mark, m_.ct_mark, items);
    if (!all_bytes_zero(m_.ct_labels)) {
      std::string text = "ct_label(" + odp_text::format_u128(labels_to_number(k_.ct_labels));
      if (!all_bytes_ones(m_.ct_labels)) text += "/" + odp_text::format_u128(labels_to_number(m_.ct_labels));
      items.push_back(text + ")");
    }
    // The kernel adds the original tuple only for a tracked IP flow.
    uint16_t eth_type = ntohs(s_.eth_type);
    if (s_.ct_orig_proto && (eth_type == kEthTypeIpv4 || eth_type == kEthTypeIpv6)) {
      const auto* spec = odp_text::find_field_list(
          eth_type == kEthTypeIpv4 ? OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4 : OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6);
      if (!odp_text::field_list_mask_is_zero(*spec, m_))
        items.push_back(std::string(spec->name) + "(" + odp_text::format_field_list(*spec, k_, &m_) + ")");
    }
  }

  bool layer3() const { return s_.mac_proto == kMacProtoNone; }

  // odp-util prints packet_type(ns=N,id=X): ns=0,id=0 for Ethernet,
  // ns=1 (OFPHTN_ETHERTYPE) with the ethertype as id for a layer-3 packet.
  void packet_type(std::vector<std::string>& items) const {
    if (!layer3()) {
      items.push_back("packet_type(ns=0,id=0)");
      return;
    }
    items.push_back("packet_type(ns=1,id=" + odp_text::hex(ntohs(s_.eth_type)) + ")");
  }

  void ethernet(std::vector<std::string>& items) const {
    // A layer-3 packet has no MAC header: its key has no eth attribute.
    if (layer3()) return;
    const auto* spec = odp_text::find_field_list(OVS_KEY_ATTR_ETHERNET);
    if (!odp_text::field_list_mask_is_zero(*spec, m_)) {
      items.push_back("eth(" + odp_text::format_field_list(*spec, k_, &m_) + ")");
    } else if (style_ == OdpTextStyle::kKernel) {
      // Without a packet_type attribute the presence of eth is what says
      // "Ethernet frame", so odp-util prints it even when wildcarded.
      items.push_back("eth()");
    }
  }

  // VLAN tags: eth_type(TPID),vlan(TCI),encap(...) per tag, as the kernel nests them.
  void layer2(std::vector<std::string>& items, std::string& tail) const {
    uint16_t eth_type = ntohs(s_.eth_type);
    if (layer3() || (!s_.vlan.tci && !is_vlan_tpid(eth_type))) {
      innermost(items, tail);
      return;
    }
    tag(k_.vlan, m_.vlan, items);
    std::vector<std::string> inner;
    std::string inner_tail;
    if (s_.vlan.tci) {
      if (s_.cvlan.tci || is_vlan_tpid(eth_type)) {
        tag(k_.cvlan, m_.cvlan, inner);
        std::vector<std::string> innermost_items;
        std::string innermost_tail;
        if (s_.cvlan.tci) innermost(innermost_items, innermost_tail);
        inner.push_back("encap(" + join(innermost_items) + innermost_tail + ")");
      } else {
        innermost(inner, inner_tail);
      }
    }
    items.push_back("encap(" + join(inner) + inner_tail + ")");
  }

  static void tag(const VlanHead& key, const VlanHead& mask, std::vector<std::string>& items) {
    // The kernel always reports a TPID's mask as exact.
    items.push_back("eth_type(" + odp_text::hex4(ntohs(key.tpid)) + ")");
    if (mask.tci) items.push_back("vlan(" + odp_text::format_vlan_tci(key.tci, mask.tci) + ")");
  }

  void innermost(std::vector<std::string>& items, std::string& tail) const {
    uint16_t eth_type = ntohs(s_.eth_type);
    uint16_t eth_type_mask = ntohs(m_.eth_type);
    if (eth_type == kEthType8022) {
      // No EtherType in the key, only in the mask: odp-util appends it after
      // everything else at this level, comma first.
      if (eth_type_mask) tail = ",eth_type(0/" + odp_text::hex4(eth_type_mask) + ")";
      return;
    }
    if (eth_type_mask) {
      std::string text = "eth_type(" + odp_text::hex4(ntohs(k_.eth_type));
      if (eth_type_mask != 0xffff) text += "/" + odp_text::hex4(eth_type_mask);
      items.push_back(text + ")");
    }
    if (is_vlan_tpid(eth_type)) return;  // a third tag: the kernel stops here

    if (eth_type == kEthTypeIpv4) {
      field_list(OVS_KEY_ATTR_IPV4, items);
    } else if (eth_type == kEthTypeIpv6) {
      field_list(OVS_KEY_ATTR_IPV6, items);
    } else if (eth_type == kEthTypeArp || eth_type == kEthTypeRarp) {
      field_list(OVS_KEY_ATTR_ARP, items);
    } else if (is_mpls(eth_type)) {
      mpls(items);
    }
    if ((eth_type != kEthTypeIpv4 && eth_type != kEthTypeIpv6) || s_.ip_frag == kFragLater) return;
    switch (s_.ip_proto) {
      case kIpProtoTcp:
        field_list(OVS_KEY_ATTR_TCP, items);
        tcp_flags(items);
        break;
      case kIpProtoUdp:
        field_list(OVS_KEY_ATTR_UDP, items);
        break;
      case kIpProtoSctp:
        field_list(OVS_KEY_ATTR_SCTP, items);
        break;
      case kIpProtoIcmp:
        if (eth_type == kEthTypeIpv4) field_list(OVS_KEY_ATTR_ICMP, items);
        break;
      case kIpProtoIcmpv6:
        if (eth_type == kEthTypeIpv6) {
          field_list(OVS_KEY_ATTR_ICMPV6, items);
          uint8_t type = ntohs(s_.tp_src) & 0xff;
          if (type == kNeighbourSolicitation || type == kNeighbourAdvertisement)
            field_list(OVS_KEY_ATTR_ND, items);
        }
        break;
      default:
        break;
    }
  }

  void field_list(ovs_key_attr attr, std::vector<std::string>& items) const {
    const auto* spec = odp_text::find_field_list(attr);
    if (odp_text::field_list_mask_is_zero(*spec, m_)) return;
    items.push_back(std::string(spec->name) + "(" + odp_text::format_field_list(*spec, k_, &m_) + ")");
  }

  void tcp_flags(std::vector<std::string>& items) const {
    uint32_t mask = ntohs(m_.tcp_flags) & 0x0fff;
    if (!mask) return;
    uint32_t flags = ntohs(k_.tcp_flags);
    std::string text = mask == 0x0fff
                           ? odp_text::format_flags(odp_text::tcp_flag_names(), flags, '|')
                           : odp_text::format_flags_masked(odp_text::tcp_flag_names(), flags, mask, 0x0fff);
    items.push_back("tcp_flags(" + text + ")");
  }

  void mpls(std::vector<std::string>& items) const {
    int count = (s_.mpls_depth >= 1 && s_.mpls_depth <= kMaxMplsLabels) ? s_.mpls_depth : 1;
    for (int i = 0; i < kMaxMplsLabels; ++i)
      if (m_.mpls_lse[i] && i + 1 > count) count = i + 1;
    bool any = m_.mpls_depth != 0;
    for (int i = 0; i < count; ++i) any = any || m_.mpls_lse[i];
    if (!any) return;
    items.push_back("mpls(" + odp_text::format_mpls(k_.mpls_lse, m_.mpls_lse, count) + ")");
  }

  const FlowKey& k_;
  const FlowKey& m_;
  const FlowKey s_;  // k_ & m_
  OdpTextStyle style_;
};

// ---------------------------------------------------------------- parsing

uint64_t attr_bit(ovs_key_attr attr) { return uint64_t{1} << attr; }

// Attributes about the packet's metadata or outer headers: top level only.
constexpr uint64_t kTopLevelOnly =
    (uint64_t{1} << OVS_KEY_ATTR_PRIORITY) | (uint64_t{1} << OVS_KEY_ATTR_SKB_MARK) |
    (uint64_t{1} << OVS_KEY_ATTR_RECIRC_ID) | (uint64_t{1} << OVS_KEY_ATTR_DP_HASH) |
    (uint64_t{1} << OVS_KEY_ATTR_IN_PORT) | (uint64_t{1} << OVS_KEY_ATTR_TUNNEL) |
    (uint64_t{1} << OVS_KEY_ATTR_CT_STATE) | (uint64_t{1} << OVS_KEY_ATTR_CT_ZONE) |
    (uint64_t{1} << OVS_KEY_ATTR_CT_MARK) | (uint64_t{1} << OVS_KEY_ATTR_CT_LABELS) |
    (uint64_t{1} << OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4) | (uint64_t{1} << OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6) |
    (uint64_t{1} << OVS_KEY_ATTR_ETHERNET) | (uint64_t{1} << OVS_KEY_ATTR_PACKET_TYPE);

// Attributes about what the innermost EtherType carries.
constexpr uint64_t kInnermostOnly = (uint64_t{1} << OVS_KEY_ATTR_IPV4) | (uint64_t{1} << OVS_KEY_ATTR_IPV6) |
                                    (uint64_t{1} << OVS_KEY_ATTR_ARP) | (uint64_t{1} << OVS_KEY_ATTR_MPLS) |
                                    (uint64_t{1} << OVS_KEY_ATTR_TCP) |
                                    (uint64_t{1} << OVS_KEY_ATTR_TCP_FLAGS) |
                                    (uint64_t{1} << OVS_KEY_ATTR_UDP) | (uint64_t{1} << OVS_KEY_ATTR_SCTP) |
                                    (uint64_t{1} << OVS_KEY_ATTR_ICMP) |
                                    (uint64_t{1} << OVS_KEY_ATTR_ICMPV6) | (uint64_t{1} << OVS_KEY_ATTR_ND);

struct NamedAttr {
  const char* name;
  ovs_key_attr attr;
};
constexpr NamedAttr kSingleAttrs[] = {
    {"skb_priority", OVS_KEY_ATTR_PRIORITY},
    {"skb_mark", OVS_KEY_ATTR_SKB_MARK},
    {"recirc_id", OVS_KEY_ATTR_RECIRC_ID},
    {"dp_hash", OVS_KEY_ATTR_DP_HASH},
    {"in_port", OVS_KEY_ATTR_IN_PORT},
    {"ct_state", OVS_KEY_ATTR_CT_STATE},
    {"ct_zone", OVS_KEY_ATTR_CT_ZONE},
    {"ct_mark", OVS_KEY_ATTR_CT_MARK},
    {"ct_label", OVS_KEY_ATTR_CT_LABELS},
    {"tunnel", OVS_KEY_ATTR_TUNNEL},
    {"vlan", OVS_KEY_ATTR_VLAN},
    {"eth_type", OVS_KEY_ATTR_ETHERTYPE},
    {"mpls", OVS_KEY_ATTR_MPLS},
    {"tcp_flags", OVS_KEY_ATTR_TCP_FLAGS},
    {"packet_type", OVS_KEY_ATTR_PACKET_TYPE},
    {"encap", OVS_KEY_ATTR_ENCAP},
};
// Attributes odp-util knows that FlowKey has no place for.
constexpr const char* kUnsupportedAttrs[] = {"nd_ext", "nsh"};

struct Level {
  uint64_t attrs = 0;
  Be16 eth_type = 0, eth_type_mask = 0;
  Be16 tci = 0, tci_mask = 0;
};

class MatchParser {
 public:
  explicit MatchParser(std::string_view text) : c_(text) {}

  Result<UnmaskedMatch> parse(bool whole_text, size_t* consumed) {
    if (Status s = parse_level(0, whole_text); !s) return s;
    if (Status s = resolve_packet_type(); !s) return s;
    if (Status s = mac_proto_ == kMacProtoNone ? resolve_layer3() : resolve_tags(); !s) return s;
    if (Status s = check_layers(); !s) return s;
    if (consumed) *consumed = end_;
    return UnmaskedMatch{key_, FlowMask(mask_)};
  }

 private:
  static std::string named(std::string_view name) { return std::string(name) + "(...)"; }

  Status parse_level(int depth, bool whole_text) {
    for (;;) {
      size_t before = c_.position();
      c_.skip_separators();
      if (depth > 0) {
        if (c_.consume(')')) return Status::ok();
        if (c_.at_end()) return invalid_argument("encap(...): missing ')'");
      } else if (c_.at_end()) {
        return Status::ok();
      }
      std::string_view name = c_.take_name();
      if (!c_.consume('(')) {
        if (depth == 0 && !whole_text) {
          c_.rewind(before);
          return Status::ok();
        }
        if (name.empty())
          return invalid_argument("unexpected \"" + std::string(c_.rest().substr(0, 20)) + "\"");
        return invalid_argument("expected '(' after \"" + std::string(name) + "\"");
      }
      if (Status s = parse_attribute(depth, name); !s) return s;
      if (depth == 0) end_ = c_.position();
    }
  }

  Status parse_attribute(int depth, std::string_view name) {
    ovs_key_attr attr = OVS_KEY_ATTR_UNSPEC;
    const odp_text::FieldListSpec* list = odp_text::find_field_list(name);
    if (list) attr = list->attr;
    for (const NamedAttr& a : kSingleAttrs)
      if (name == a.name) attr = a.attr;
    if (attr == OVS_KEY_ATTR_UNSPEC) {
      for (const char* unsupported : kUnsupportedAttrs)
        if (name == unsupported)
          return invalid_argument("unsupported key attribute \"" + std::string(name) + "\"");
      return invalid_argument("unknown key attribute \"" + std::string(name) + "\"");
    }
    Level& level = levels_[depth];
    if (level.attrs & attr_bit(attr))
      return invalid_argument("duplicate key attribute \"" + std::string(name) + "\"");
    level.attrs |= attr_bit(attr);
    if (depth > 0 && (attr_bit(attr) & kTopLevelOnly))
      return invalid_argument(named(name) + " is not allowed inside encap(...)");

    if (list) return odp_text::parse_field_list(c_, *list, key_, mask_);
    odp_text::MaskedNumber n;
    switch (attr) {
      case OVS_KEY_ATTR_PRIORITY:
        return number(name, UINT32_MAX, true, key_.priority, mask_.priority);
      case OVS_KEY_ATTR_SKB_MARK:
        return number(name, UINT32_MAX, true, key_.skb_mark, mask_.skb_mark);
      case OVS_KEY_ATTR_RECIRC_ID:
        return number(name, UINT32_MAX, false, key_.recirc_id, mask_.recirc_id);
      case OVS_KEY_ATTR_DP_HASH:
        return number(name, UINT32_MAX, true, key_.dp_hash, mask_.dp_hash);
      case OVS_KEY_ATTR_IN_PORT:
        return number(name, UINT32_MAX, true, key_.in_port, mask_.in_port);
      case OVS_KEY_ATTR_CT_MARK:
        return number(name, UINT32_MAX, true, key_.ct_mark, mask_.ct_mark);
      case OVS_KEY_ATTR_CT_ZONE:
        return number(name, 0xffff, true, key_.ct_zone, mask_.ct_zone);
      case OVS_KEY_ATTR_CT_STATE: {
        std::string_view token = c_.take_until(")");
        if (!c_.consume(')')) return odp_text::field_error(name, token, "missing ')'");
        auto flags = odp_text::parse_flags(odp_text::ct_state_names(), token, 0xff, true, "ct_state");
        if (!flags) return odp_text::field_error(name, token, flags.status().message());
        key_.ct_state = flags->flags;
        mask_.ct_state = flags->mask;
        return Status::ok();
      }
      case OVS_KEY_ATTR_CT_LABELS:
        return ct_label(name);
      case OVS_KEY_ATTR_TUNNEL:
        return odp_text::parse_tunnel(c_, key_.tunnel, mask_.tunnel, true);
      case OVS_KEY_ATTR_ETHERTYPE: {
        if (Status s = odp_text::parse_masked_number(c_, name, 0xffff, true, &n); !s) return s;
        level.eth_type = htons(static_cast<uint16_t>(n.value));
        level.eth_type_mask = htons(static_cast<uint16_t>(n.mask));
        if (n.mask != 0 && n.mask != 0xffff)
          return invalid_argument("eth_type(" + odp_text::hex4(static_cast<uint16_t>(n.value)) + "/" +
                                  odp_text::hex4(static_cast<uint16_t>(n.mask)) +
                                  "): the datapath matches the EtherType exactly or not at all");
        return Status::ok();
      }
      case OVS_KEY_ATTR_VLAN:
        return odp_text::parse_vlan_tci(c_, level.tci, level.tci_mask);
      case OVS_KEY_ATTR_MPLS: {
        int count = 0;
        if (Status s = odp_text::parse_mpls(c_, key_.mpls_lse, mask_.mpls_lse, &count); !s) return s;
        key_.mpls_depth = static_cast<uint8_t>(count);
        mask_.mpls_depth = 0xff;
        return Status::ok();
      }
      case OVS_KEY_ATTR_TCP_FLAGS: {
        std::string_view token = c_.take_until(")");
        if (!c_.consume(')')) return odp_text::field_error(name, token, "missing ')'");
        auto flags = odp_text::parse_flags(odp_text::tcp_flag_names(), token, 0x0fff, true, "tcp_flags");
        if (!flags) return odp_text::field_error(name, token, flags.status().message());
        key_.tcp_flags = htons(static_cast<uint16_t>(flags->flags));
        mask_.tcp_flags = htons(static_cast<uint16_t>(flags->mask));
        return Status::ok();
      }
      case OVS_KEY_ATTR_PACKET_TYPE:
        return packet_type();
      case OVS_KEY_ATTR_ENCAP:
        if (depth + 1 >= static_cast<int>(levels_.size()))
          return invalid_argument("encap(...) nested deeper than two VLAN tags");
        return parse_level(depth + 1, true);
      default:
        return invalid_argument("unknown key attribute \"" + std::string(name) + "\"");
    }
  }

  template <typename T>
  Status number(std::string_view name, uint64_t max, bool allow_mask, T& key, T& mask) {
    odp_text::MaskedNumber n;
    if (Status s = odp_text::parse_masked_number(c_, name, max, allow_mask, &n); !s) return s;
    key = static_cast<T>(n.value);
    mask = static_cast<T>(n.mask);
    return Status::ok();
  }

  Status ct_label(std::string_view name) {
    std::string_view token = c_.take_until(")");
    if (!c_.consume(')')) return odp_text::field_error(name, token, "missing ')'");
    size_t slash = token.find('/');
    auto value = odp_text::parse_u128(token.substr(0, slash));
    if (!value) return odp_text::field_error(name, token, value.status().message());
    std::array<uint8_t, 16> mask;
    mask.fill(0xff);
    if (slash != std::string_view::npos) {
      auto parsed = odp_text::parse_u128(token.substr(slash + 1));
      if (!parsed) return odp_text::field_error(name, token, parsed.status().message());
      mask = *parsed;
    }
    key_.ct_labels = labels_to_number(*value);  // the same byte reversal both ways
    mask_.ct_labels = labels_to_number(mask);
    return Status::ok();
  }

  Status packet_type() {
    std::string_view token = c_.take_until(")");
    if (!c_.consume(')')) return odp_text::field_error("packet_type", token, "missing ')'");
    uint64_t ns = 0, ns_mask = 0, id = 0, id_mask = 0;
    Cursor fields(token);
    while (!fields.at_end()) {
      std::string_view item_name = fields.take_name();
      bool has_equals = fields.consume('=');
      std::string_view item = fields.take_until(",");
      fields.consume(',');
      uint64_t *value, *mask;
      if (item_name == "ns") {
        value = &ns, mask = &ns_mask;
      } else if (item_name == "id") {
        value = &id, mask = &id_mask;
      } else {
        return odp_text::field_error("packet_type", token,
                                     "unknown field \"" + std::string(item_name) + "\"");
      }
      if (!has_equals) return odp_text::field_error("packet_type", token, "expected '='");
      size_t slash = item.find('/');
      auto v = odp_text::parse_number(item.substr(0, slash), 0xffff);
      if (!v) return odp_text::field_error("packet_type", token, v.status().message());
      *value = *v;
      *mask = 0xffff;
      if (slash != std::string_view::npos) {
        auto m = odp_text::parse_number(item.substr(slash + 1), 0xffff);
        if (!m) return odp_text::field_error("packet_type", token, m.status().message());
        *mask = *m;
      }
    }
    if (ns_mask != 0xffff || id_mask != 0xffff)
      return odp_text::field_error(
          "packet_type", token, "the datapath matches the packet type exactly: give ns and id without masks");
    if (ns == kPacketTypeNsEthernet && id == 0) {
      packet_type_ = kMacProtoEthernet;
      return Status::ok();
    }
    if (ns == kPacketTypeNsEthertype && id >= kEthTypeMinimum) {
      packet_type_ = kMacProtoNone;
      packet_type_eth_type_ = static_cast<uint16_t>(id);
      return Status::ok();
    }
    return odp_text::field_error("packet_type", token,
                                 "the datapath matches Ethernet frames (ns=0,id=0) and layer-3 packets named "
                                 "by their EtherType (ns=1,id=0x0600 or above) only");
  }

  // odp-util: eth(...) makes an Ethernet packet; without it, eth_type(...)
  // names a layer-3 packet (the kernel's "no OVS_KEY_ATTR_ETHERNET"), as does
  // packet_type(ns=1,id=...). packet_type(ns=0,id=0) alone is Ethernet.
  Status resolve_packet_type() {
    bool has_eth = levels_[0].attrs & attr_bit(OVS_KEY_ATTR_ETHERNET);
    if (packet_type_) {
      if (*packet_type_ == kMacProtoNone && has_eth)
        return invalid_argument("packet_type(ns=1,...) names a layer-3 packet, which cannot have eth(...)");
      mac_proto_ = *packet_type_;
    } else {
      mac_proto_ = has_eth ? kMacProtoEthernet : kMacProtoNone;
    }
    key_.mac_proto = mac_proto_;
    mask_.mac_proto = 0xff;  // the kernel always matches mac_proto exactly
    return Status::ok();
  }

  // A layer-3 packet: no VLAN tags, and the EtherType (from eth_type(...) or
  // packet_type(ns=1,id=...)) matched exactly, as the kernel requires it.
  Status resolve_layer3() {
    Level& level = levels_[0];
    if (level.attrs & (attr_bit(OVS_KEY_ATTR_VLAN) | attr_bit(OVS_KEY_ATTR_ENCAP)))
      return invalid_argument(
          "vlan(...) and encap(...) need eth(...): a match without eth(...) is a layer-3 packet, which has "
          "no VLAN tags");
    bool has_eth_type = (level.attrs & attr_bit(OVS_KEY_ATTR_ETHERTYPE)) && level.eth_type_mask != 0;
    if (packet_type_eth_type_) {
      if (has_eth_type && ntohs(level.eth_type) != *packet_type_eth_type_)
        return invalid_argument("eth_type(" + odp_text::hex4(ntohs(level.eth_type)) +
                                ") contradicts packet_type(ns=1,id=" + odp_text::hex(*packet_type_eth_type_) +
                                ")");
      key_.eth_type = htons(*packet_type_eth_type_);
      mask_.eth_type = 0xffff;
      return Status::ok();
    }
    if (!has_eth_type)
      return invalid_argument(
          "a match without eth(...) is a layer-3 packet and needs eth_type(...) matched exactly; write eth() "
          "for an Ethernet frame");
    uint16_t value = ntohs(level.eth_type);
    if (value < kEthTypeMinimum)
      return invalid_argument("eth_type(" + odp_text::hex4(value) +
                              "): a layer-3 packet's EtherType must be 0x0600 or above");
    key_.eth_type = level.eth_type;
    mask_.eth_type = 0xffff;
    return Status::ok();
  }

  // Turns the eth_type/vlan/encap levels into FlowKey's vlan, cvlan and eth_type.
  Status resolve_tags() {
    innermost_ = 0;
    if (!(levels_[0].attrs & attr_bit(OVS_KEY_ATTR_VLAN))) {
      if (levels_[0].attrs & attr_bit(OVS_KEY_ATTR_ENCAP))
        return invalid_argument("encap(...) must follow eth_type(TPID),vlan(...)");
      return set_eth_type(levels_[0], false);
    }
    bool present = false;
    if (Status s = tag(levels_[0], key_.vlan, mask_.vlan, &present); !s) return s;
    if (!present) return truncated_tag(levels_[0], levels_[1]);
    if (!(levels_[1].attrs & attr_bit(OVS_KEY_ATTR_VLAN))) {
      innermost_ = 1;
      if (levels_[1].attrs & attr_bit(OVS_KEY_ATTR_ENCAP))
        return invalid_argument("encap(...) must follow eth_type(TPID),vlan(...)");
      return set_eth_type(levels_[1], false);
    }
    if (Status s = tag(levels_[1], key_.cvlan, mask_.cvlan, &present); !s) return s;
    if (!present) return truncated_tag(levels_[1], levels_[2]);
    innermost_ = 2;
    if (levels_[2].attrs & attr_bit(OVS_KEY_ATTR_VLAN))
      return invalid_argument("vlan(...): the datapath matches at most two VLAN tags");
    return set_eth_type(levels_[2], true);
  }

  static Status tag(const Level& level, VlanHead& key, VlanHead& mask, bool* present) {
    if (!(level.attrs & attr_bit(OVS_KEY_ATTR_ETHERTYPE)) || !is_vlan_tpid(ntohs(level.eth_type)) ||
        level.eth_type_mask != 0xffff)
      return invalid_argument("vlan(...) must follow eth_type(0x8100) or eth_type(0x88a8)");
    if (!(level.attrs & attr_bit(OVS_KEY_ATTR_ENCAP)))
      return invalid_argument("vlan(...) must be followed by encap(...)");
    key.tpid = level.eth_type;
    mask.tpid = 0xffff;
    key.tci = level.tci;
    mask.tci = level.tci_mask;
    *present = ntohs(level.tci) & kVlanCfi;
    return Status::ok();
  }

  // A tag without the CFI bit is a frame cut short inside the tag: nothing is
  // known past it and the EtherType stays the TPID.
  Status truncated_tag(const Level& outer, const Level& inner) {
    if (inner.attrs) return invalid_argument("encap(...) after a truncated VLAN tag (cfi=0) must be empty");
    key_.eth_type = outer.eth_type;
    mask_.eth_type = 0xffff;
    innermost_ = -1;
    return Status::ok();
  }

  // `after_two_tags`: a TPID here is a third tag, which the kernel reports
  // and stops at; anywhere else a TPID must come with its vlan(...).
  Status set_eth_type(const Level& level, bool after_two_tags) {
    if (!(level.attrs & attr_bit(OVS_KEY_ATTR_ETHERTYPE)) || !level.eth_type_mask) return Status::ok();
    uint16_t value = ntohs(level.eth_type);
    if (is_vlan_tpid(value) && !after_two_tags)
      return invalid_argument("eth_type(" + odp_text::hex4(value) +
                              ") must be followed by vlan(...),encap(...)");
    if (value < 0x0600) {
      // odp-util's 802.2 spelling is eth_type(0/0xffff); 0x05ff is FlowKey's own.
      if (value != 0 && value != kEthType8022)
        return invalid_argument("eth_type(" + odp_text::hex4(value) +
                                "): not an EtherType (values below 0x0600 are 802.3 lengths)");
      value = kEthType8022;
    }
    key_.eth_type = htons(value);
    mask_.eth_type = 0xffff;
    return Status::ok();
  }

  // Refuses attributes the masked key gives no place to, as the kernel does.
  Status check_layers() const {
    for (int i = 0; i < static_cast<int>(levels_.size()); ++i) {
      if (i == innermost_ || !(levels_[i].attrs & kInnermostOnly)) continue;
      for (const auto* spec : {"ipv4", "ipv6", "arp", "tcp", "udp", "sctp", "icmp", "icmpv6", "nd"}) {
        if (levels_[i].attrs & attr_bit(odp_text::find_field_list(spec)->attr))
          return invalid_argument(named(spec) + " must be inside the innermost encap(...)");
      }
      return invalid_argument("mpls(...) or tcp_flags(...) must be inside the innermost encap(...)");
    }
    uint64_t inner = innermost_ >= 0 ? levels_[innermost_].attrs : 0;
    uint64_t top = levels_[0].attrs;
    FlowKey k = apply_mask(key_, FlowMask(mask_));
    uint16_t eth_type = ntohs(k.eth_type);
    bool ip = eth_type == kEthTypeIpv4 || eth_type == kEthTypeIpv6;
    bool l4 = ip && k.ip_frag != kFragLater;
    uint8_t icmp_type = ntohs(k.tp_src) & 0xff;

    struct Rule {
      uint64_t attrs;
      ovs_key_attr attr;
      bool ok;
      const char* message;
    };
    const Rule rules[] = {
        {inner, OVS_KEY_ATTR_IPV4, eth_type == kEthTypeIpv4, "ipv4(...) requires eth_type(0x0800)"},
        {inner, OVS_KEY_ATTR_IPV6, eth_type == kEthTypeIpv6, "ipv6(...) requires eth_type(0x86dd)"},
        {inner, OVS_KEY_ATTR_ARP, eth_type == kEthTypeArp || eth_type == kEthTypeRarp,
         "arp(...) requires eth_type(0x0806) or eth_type(0x8035)"},
        {inner, OVS_KEY_ATTR_MPLS, is_mpls(eth_type),
         "mpls(...) requires eth_type(0x8847) or eth_type(0x8848)"},
        {inner, OVS_KEY_ATTR_TCP, l4 && k.ip_proto == kIpProtoTcp,
         "tcp(...) requires ipv4(proto=6) or ipv6(proto=6) with frag other than later"},
        {inner, OVS_KEY_ATTR_TCP_FLAGS, l4 && k.ip_proto == kIpProtoTcp,
         "tcp_flags(...) requires ipv4(proto=6) or ipv6(proto=6) with frag other than later"},
        {inner, OVS_KEY_ATTR_UDP, l4 && k.ip_proto == kIpProtoUdp,
         "udp(...) requires ipv4(proto=17) or ipv6(proto=17) with frag other than later"},
        {inner, OVS_KEY_ATTR_SCTP, l4 && k.ip_proto == kIpProtoSctp,
         "sctp(...) requires ipv4(proto=132) or ipv6(proto=132) with frag other than later"},
        {inner, OVS_KEY_ATTR_ICMP, l4 && eth_type == kEthTypeIpv4 && k.ip_proto == kIpProtoIcmp,
         "icmp(...) requires ipv4(proto=1) with frag other than later"},
        {inner, OVS_KEY_ATTR_ICMPV6, l4 && eth_type == kEthTypeIpv6 && k.ip_proto == kIpProtoIcmpv6,
         "icmpv6(...) requires ipv6(proto=58) with frag other than later"},
        {inner, OVS_KEY_ATTR_ND,
         l4 && eth_type == kEthTypeIpv6 && k.ip_proto == kIpProtoIcmpv6 &&
             (icmp_type == kNeighbourSolicitation || icmp_type == kNeighbourAdvertisement),
         "nd(...) requires icmpv6(type=135) or icmpv6(type=136)"},
        {top, OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4, eth_type == kEthTypeIpv4 && k.ct_orig_proto != 0,
         "ct_tuple4(...) requires eth_type(0x0800) and a non-zero proto"},
        {top, OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6, eth_type == kEthTypeIpv6 && k.ct_orig_proto != 0,
         "ct_tuple6(...) requires eth_type(0x86dd) and a non-zero proto"},
    };
    for (const Rule& rule : rules)
      if ((rule.attrs & attr_bit(rule.attr)) && !rule.ok) return invalid_argument(rule.message);
    return Status::ok();
  }

  Cursor c_;
  FlowKey key_{};
  FlowKey mask_{};
  std::array<Level, 3> levels_{};
  int innermost_ = 0;  // level holding the innermost EtherType; -1 after a truncated tag
  size_t end_ = 0;
  std::optional<MacProto> packet_type_;  // what packet_type(...) said, if given
  std::optional<uint16_t> packet_type_eth_type_;
  MacProto mac_proto_ = kMacProtoEthernet;
};

// Key attributes a set(...) action can carry.
bool settable(ovs_key_attr attr) {
  switch (attr) {
    case OVS_KEY_ATTR_ETHERNET:
    case OVS_KEY_ATTR_IPV4:
    case OVS_KEY_ATTR_IPV6:
    case OVS_KEY_ATTR_TCP:
    case OVS_KEY_ATTR_UDP:
    case OVS_KEY_ATTR_SCTP:
    case OVS_KEY_ATTR_ICMP:
    case OVS_KEY_ATTR_ICMPV6:
    case OVS_KEY_ATTR_ARP:
    case OVS_KEY_ATTR_ND:
      return true;
    default:
      return false;
  }
}

std::string set_number(const char* name, uint32_t value, uint32_t mask, bool masked) {
  std::string text = std::string(name) + "(" + odp_text::hex(value);
  if (masked && mask != UINT32_MAX) text += "/" + odp_text::hex(mask);
  return text + ")";
}

}  // namespace

std::string format_match(const Match& match, OdpTextStyle style) {
  return MatchPrinter(match.key, match.mask, style).print();
}

std::string format_match(const UnmaskedMatch& match, OdpTextStyle style) {
  return MatchPrinter(match.key, match.mask, style).print();
}

namespace {

// A flow that names no VLAN tag matches untagged frames only: the kernel's
// ovs_nla_get_match always matches the tci of both tags exactly unless the
// mask says otherwise ("Always match on tci"), and prints nothing for it.
// Doing the same here gives text and netlink the same Match, and keeps
// `eth_type(0x0800)` from matching a tagged IPv4 frame.
Result<UnmaskedMatch> with_implicit_vlan_match(Result<UnmaskedMatch> m) {
  if (!m) return m;
  if (m->mask.bits().vlan.tci == 0 || m->mask.bits().cvlan.tci == 0) {
    if (m->mask.bits().vlan.tci == 0) m->mask.mutable_bits().vlan.tci = 0xffff;
    if (m->mask.bits().cvlan.tci == 0) m->mask.mutable_bits().cvlan.tci = 0xffff;
    m->mask.recompute_range();
  }
  return m;
}

}  // namespace

Result<UnmaskedMatch> parse_unmasked_match(std::string_view text) {
  return with_implicit_vlan_match(MatchParser(text).parse(true, nullptr));
}

Result<Match> parse_match(std::string_view text) {
  Result<UnmaskedMatch> m = parse_unmasked_match(text);
  if (!m) return m.status();
  return m->to_match();
}

Result<Match> parse_match_prefix(std::string_view text, size_t* consumed) {
  Result<UnmaskedMatch> m = with_implicit_vlan_match(MatchParser(text).parse(false, consumed));
  if (!m) return m.status();
  return m->to_match();
}

Result<SetAction> parse_set_attribute(std::string_view text, size_t* consumed) {
  Cursor c(text);
  std::string_view name = c.take_name();
  if (!c.consume('(')) return invalid_argument("set(...): expected a key attribute such as ipv4(...)");
  SetAction set;
  const odp_text::FieldListSpec* list = odp_text::find_field_list(name);
  if (list && settable(list->attr)) {
    if (Status s = odp_text::parse_field_list(c, *list, set.value, set.mask); !s) return s;
    set.attr = list->attr;
    set.masked = !odp_text::field_list_mask_is_full(*list, set.mask);
  } else if (name == "tunnel") {
    if (Status s = odp_text::parse_tunnel(c, set.value->tunnel, set.mask->tunnel, false); !s) return s;
    set.attr = OVS_KEY_ATTR_TUNNEL;
    set.mask->tunnel = TunnelKey{};
    std::memset(&set.mask->tunnel, 0xff, offsetof(TunnelKey, pad));
    set.mask->tunnel.flags = kTunnelAllFlags;  // the defined flag bits, as the netlink decoder has them
  } else if (name == "skb_priority" || name == "skb_mark") {
    bool priority = name == "skb_priority";
    odp_text::MaskedNumber n;
    if (Status s = odp_text::parse_masked_number(c, name, UINT32_MAX, true, &n); !s) return s;
    set.attr = priority ? OVS_KEY_ATTR_PRIORITY : OVS_KEY_ATTR_SKB_MARK;
    (priority ? set.value->priority : set.value->skb_mark) = static_cast<uint32_t>(n.value);
    (priority ? set.mask->priority : set.mask->skb_mark) = static_cast<uint32_t>(n.mask);
    set.masked = n.mask != UINT32_MAX;
  } else if (name == "mpls") {
    int count = 0;
    Be32 lse[kMaxMplsLabels], mask[kMaxMplsLabels];
    if (Status s = odp_text::parse_mpls(c, lse, mask, &count); !s) return s;
    if (count != 1) return invalid_argument("set(mpls(...)): sets exactly one label stack entry");
    set.attr = OVS_KEY_ATTR_MPLS;
    set.value->mpls_lse[0] = lse[0];
    set.mask->mpls_lse[0] = mask[0];
    set.masked = mask[0] != 0xffffffffu;
  } else if (list || name == "recirc_id" || name == "dp_hash" || name == "in_port" || name == "eth_type" ||
             name == "vlan" || name == "encap" || name == "tcp_flags" || name.substr(0, 3) == "ct_") {
    return invalid_argument("set(" + std::string(name) + "(...)): the datapath cannot set this attribute");
  } else {
    return invalid_argument("set(...): unknown key attribute \"" + std::string(name) + "\"");
  }
  // The kernel applies a masked set as value | (old & ~mask): a value bit
  // outside its mask would be forced on. odp-util never writes one, and the
  // text cannot show one (fields with a zero mask do not print), so store the
  // value masked.
  if (set.masked) set.value = apply_mask(set.value, FlowMask(set.mask));
  *consumed = c.position();
  return set;
}

std::string format_set_attribute(const SetAction& set) {
  if (const odp_text::FieldListSpec* list = odp_text::find_field_list(set.attr)) {
    return std::string(list->name) + "(" +
           odp_text::format_field_list(*list, set.value, set.masked ? &*set.mask : nullptr) + ")";
  }
  switch (set.attr) {
    case OVS_KEY_ATTR_TUNNEL:
      // The kernel has no masked tunnel set; the value is what it would carry.
      return "tunnel(" + odp_text::format_tunnel_set(set.value->tunnel) + ")";
    case OVS_KEY_ATTR_PRIORITY:
      return set_number("skb_priority", set.value->priority, set.mask->priority, set.masked);
    case OVS_KEY_ATTR_SKB_MARK:
      return set_number("skb_mark", set.value->skb_mark, set.mask->skb_mark, set.masked);
    case OVS_KEY_ATTR_MPLS:
      return "mpls(" +
             odp_text::format_mpls(&set.value->mpls_lse[0], set.masked ? &set.mask->mpls_lse[0] : nullptr,
                                   1) +
             ")";
    default:
      // odp-util's spelling for an attribute it has no text for.
      return "key" + std::to_string(static_cast<unsigned>(set.attr)) + "()";
  }
}

}  // namespace flowlift
