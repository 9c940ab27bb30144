// Text of single key attributes (field lists, tunnel, vlan, mpls, numbers).
#include "kmod/odp_text_key_attrs.h"

#include <arpa/inet.h>

#include <cstddef>
#include <cstdio>

#include "flowlift/masked_words.h"

namespace flowlift::odp_text {
namespace {

#define KEY_OFFSET(field) static_cast<uint16_t>(offsetof(FlowKey, field))

constexpr FieldSpec kEthFields[] = {
    {"src", FieldKind::kEth, KEY_OFFSET(eth_src)},
    {"dst", FieldKind::kEth, KEY_OFFSET(eth_dst)},
};
constexpr FieldSpec kIpv4Fields[] = {
    {"src", FieldKind::kIpv4, KEY_OFFSET(ipv4_src)}, {"dst", FieldKind::kIpv4, KEY_OFFSET(ipv4_dst)},
    {"proto", FieldKind::kU8, KEY_OFFSET(ip_proto)}, {"tos", FieldKind::kU8Hex, KEY_OFFSET(ip_tos)},
    {"ttl", FieldKind::kU8, KEY_OFFSET(ip_ttl)},     {"frag", FieldKind::kFrag, KEY_OFFSET(ip_frag)},
};
constexpr FieldSpec kIpv6Fields[] = {
    {"src", FieldKind::kIpv6, KEY_OFFSET(ipv6_src)},          {"dst", FieldKind::kIpv6, KEY_OFFSET(ipv6_dst)},
    {"label", FieldKind::kIpv6Label, KEY_OFFSET(ipv6_label)}, {"proto", FieldKind::kU8, KEY_OFFSET(ip_proto)},
    {"tclass", FieldKind::kU8Hex, KEY_OFFSET(ip_tos)},        {"hlimit", FieldKind::kU8, KEY_OFFSET(ip_ttl)},
    {"frag", FieldKind::kFrag, KEY_OFFSET(ip_frag)},
};
constexpr FieldSpec kPortFields[] = {
    {"src", FieldKind::kBe16, KEY_OFFSET(tp_src)},
    {"dst", FieldKind::kBe16, KEY_OFFSET(tp_dst)},
};
constexpr FieldSpec kIcmpFields[] = {
    {"type", FieldKind::kBe16LowByte, KEY_OFFSET(tp_src)},
    {"code", FieldKind::kBe16LowByte, KEY_OFFSET(tp_dst)},
};
constexpr FieldSpec kArpFields[] = {
    {"sip", FieldKind::kIpv4, KEY_OFFSET(arp_sip)}, {"tip", FieldKind::kIpv4, KEY_OFFSET(arp_tip)},
    {"op", FieldKind::kBe16, KEY_OFFSET(arp_op)},   {"sha", FieldKind::kEth, KEY_OFFSET(arp_sha)},
    {"tha", FieldKind::kEth, KEY_OFFSET(arp_tha)},
};
constexpr FieldSpec kNdFields[] = {
    {"target", FieldKind::kIpv6, KEY_OFFSET(nd_target)},
    {"sll", FieldKind::kEth, KEY_OFFSET(nd_sll)},
    {"tll", FieldKind::kEth, KEY_OFFSET(nd_tll)},
};
constexpr FieldSpec kCtTuple4Fields[] = {
    {"src", FieldKind::kIpv4, KEY_OFFSET(ct_orig_ipv4_src)},
    {"dst", FieldKind::kIpv4, KEY_OFFSET(ct_orig_ipv4_dst)},
    {"proto", FieldKind::kU8, KEY_OFFSET(ct_orig_proto)},
    {"tp_src", FieldKind::kBe16, KEY_OFFSET(ct_orig_tp_src)},
    {"tp_dst", FieldKind::kBe16, KEY_OFFSET(ct_orig_tp_dst)},
};
// odp-util prints the IPv6 tuple's ports as src_port/dst_port but reads them
// as tp_src/tp_dst; both spellings are accepted here.
constexpr FieldSpec kCtTuple6Fields[] = {
    {"src", FieldKind::kIpv6, KEY_OFFSET(ct_orig_ipv6_src)},
    {"dst", FieldKind::kIpv6, KEY_OFFSET(ct_orig_ipv6_dst)},
    {"proto", FieldKind::kU8, KEY_OFFSET(ct_orig_proto)},
    {"src_port", FieldKind::kBe16, KEY_OFFSET(ct_orig_tp_src), "tp_src"},
    {"dst_port", FieldKind::kBe16, KEY_OFFSET(ct_orig_tp_dst), "tp_dst"},
};

#undef KEY_OFFSET

constexpr FieldListSpec kFieldLists[] = {
    {"eth", OVS_KEY_ATTR_ETHERNET, kEthFields},
    {"ipv4", OVS_KEY_ATTR_IPV4, kIpv4Fields},
    {"ipv6", OVS_KEY_ATTR_IPV6, kIpv6Fields},
    {"tcp", OVS_KEY_ATTR_TCP, kPortFields},
    {"udp", OVS_KEY_ATTR_UDP, kPortFields},
    {"sctp", OVS_KEY_ATTR_SCTP, kPortFields},
    {"icmp", OVS_KEY_ATTR_ICMP, kIcmpFields},
    {"icmpv6", OVS_KEY_ATTR_ICMPV6, kIcmpFields},
    {"arp", OVS_KEY_ATTR_ARP, kArpFields},
    {"nd", OVS_KEY_ATTR_ND, kNdFields},
    {"ct_tuple4", OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4, kCtTuple4Fields},
    {"ct_tuple6", OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6, kCtTuple6Fields},
};

size_t field_size(FieldKind kind) {
  switch (kind) {
    case FieldKind::kIpv4:
    case FieldKind::kIpv6Label:
      return 4;
    case FieldKind::kIpv6:
      return 16;
    case FieldKind::kEth:
      return 6;
    case FieldKind::kU8:
    case FieldKind::kU8Hex:
    case FieldKind::kFrag:
      return 1;
    case FieldKind::kBe16:
    case FieldKind::kBe16LowByte:
      return 2;
  }
  return 0;
}

bool bytes_are(const FlowKey& key, size_t offset, size_t size, uint8_t byte) {
  const auto* p = reinterpret_cast<const uint8_t*>(&key) + offset;
  for (size_t i = 0; i < size; ++i)
    if (p[i] != byte) return false;
  return true;
}

// The mask as odp-util sees the netlink field: an ICMP type/code is one byte.
bool mask_is_zero(const FieldSpec& f, const FlowKey& mask) {
  if (f.kind == FieldKind::kBe16LowByte) return (ntohs(read_at<Be16>(mask, f.offset)) & 0xff) == 0;
  return bytes_are(mask, f.offset, field_size(f.kind), 0);
}

// "No /mask needed" when printing.
bool mask_prints_exact(const FieldSpec& f, const FlowKey& mask) {
  switch (f.kind) {
    case FieldKind::kBe16LowByte:
      return (ntohs(read_at<Be16>(mask, f.offset)) & 0xff) == 0xff;
    case FieldKind::kIpv6Label:
      return (ntohl(read_at<Be32>(mask, f.offset)) & 0xfffff) == 0xfffff;
    default:
      return bytes_are(mask, f.offset, field_size(f.kind), 0xff);
  }
}

// Every byte of the netlink field all-ones.
bool mask_is_full(const FieldSpec& f, const FlowKey& mask) {
  if (f.kind == FieldKind::kBe16LowByte) return (ntohs(read_at<Be16>(mask, f.offset)) & 0xff) == 0xff;
  return bytes_are(mask, f.offset, field_size(f.kind), 0xff);
}

void set_mask_full(const FieldSpec& f, FlowKey& mask) {
  if (f.kind == FieldKind::kBe16LowByte) {
    write_at<Be16>(mask, f.offset, htons(0x00ff));
    return;
  }
  std::memset(reinterpret_cast<uint8_t*>(&mask) + f.offset, 0xff, field_size(f.kind));
}

const char* frag_name(uint8_t frag) {
  switch (frag) {
    case kFragNone:
      return "no";
    case kFragFirst:
      return "first";
    case kFragLater:
      return "later";
    default:
      return "<error>";
  }
}

std::string format_value(const FieldSpec& f, const FlowKey& key) {
  switch (f.kind) {
    case FieldKind::kIpv4:
      return format_ipv4(read_at<Be32>(key, f.offset));
    case FieldKind::kIpv6:
      return format_ipv6(read_at<Ipv6Addr>(key, f.offset));
    case FieldKind::kEth:
      return format_eth(read_at<EthAddr>(key, f.offset));
    case FieldKind::kU8:
      return decimal(read_at<uint8_t>(key, f.offset));
    case FieldKind::kU8Hex:
      return hex(read_at<uint8_t>(key, f.offset));
    case FieldKind::kBe16:
      return decimal(ntohs(read_at<Be16>(key, f.offset)));
    case FieldKind::kBe16LowByte:
      return decimal(ntohs(read_at<Be16>(key, f.offset)) & 0xff);
    case FieldKind::kFrag:
      return frag_name(read_at<uint8_t>(key, f.offset));
    case FieldKind::kIpv6Label:
      return hex(ntohl(read_at<Be32>(key, f.offset)));
  }
  return "";
}

std::string format_mask(const FieldSpec& f, const FlowKey& mask) {
  switch (f.kind) {
    case FieldKind::kIpv4:
    case FieldKind::kIpv6:
    case FieldKind::kEth:
      return format_value(f, mask);
    case FieldKind::kU8:
    case FieldKind::kU8Hex:
    case FieldKind::kFrag:
      return hex(read_at<uint8_t>(mask, f.offset));
    case FieldKind::kBe16:
      return hex(ntohs(read_at<Be16>(mask, f.offset)));
    case FieldKind::kBe16LowByte:
      return hex(ntohs(read_at<Be16>(mask, f.offset)) & 0xff);
    case FieldKind::kIpv6Label:
      return hex(ntohl(read_at<Be32>(mask, f.offset)));
  }
  return "";
}

// Parses one value (or mask) token of `f` into `key` at the field's place.
Status parse_value(const FieldSpec& f, std::string_view token, FlowKey& key) {
  switch (f.kind) {
    case FieldKind::kIpv4: {
      Result<Be32> v = parse_ipv4(token);
      if (!v) return v.status();
      write_at(key, f.offset, *v);
      return Status::ok();
    }
    case FieldKind::kIpv6: {
      Result<Ipv6Addr> v = parse_ipv6(token);
      if (!v) return v.status();
      write_at(key, f.offset, *v);
      return Status::ok();
    }
    case FieldKind::kEth: {
      Result<EthAddr> v = parse_eth(token);
      if (!v) return v.status();
      write_at(key, f.offset, *v);
      return Status::ok();
    }
    case FieldKind::kU8:
    case FieldKind::kU8Hex: {
      Result<uint64_t> v = parse_number(token, 0xff);
      if (!v) return v.status();
      write_at(key, f.offset, static_cast<uint8_t>(*v));
      return Status::ok();
    }
    case FieldKind::kBe16:
    case FieldKind::kBe16LowByte: {
      Result<uint64_t> v = parse_number(token, f.kind == FieldKind::kBe16 ? 0xffff : 0xff);
      if (!v) return v.status();
      write_at<Be16>(key, f.offset, htons(static_cast<uint16_t>(*v)));
      return Status::ok();
    }
    case FieldKind::kFrag: {
      uint8_t frag;
      if (token == "no") {
        frag = kFragNone;
      } else if (token == "first") {
        frag = kFragFirst;
      } else if (token == "later") {
        frag = kFragLater;
      } else {
        return invalid_argument("frag must be no, first or later, not \"" + std::string(token) + "\"");
      }
      write_at(key, f.offset, frag);
      return Status::ok();
    }
    case FieldKind::kIpv6Label: {
      Result<uint64_t> v = parse_number(token, 0xfffff);
      if (!v) return v.status();
      write_at<Be32>(key, f.offset, htonl(static_cast<uint32_t>(*v)));
      return Status::ok();
    }
  }
  return invalid_argument("unsupported field");
}

void set_mask_default(const FieldSpec& f, FlowKey& mask) {
  if (f.kind == FieldKind::kIpv6Label) {
    write_at<Be32>(mask, f.offset, htonl(0xfffff));
    return;
  }
  set_mask_full(f, mask);
}

const FieldSpec* find_field(const FieldListSpec& spec, std::string_view name) {
  for (const FieldSpec& f : spec.fields)
    if (name == f.name || (f.alias && name == f.alias)) return &f;
  return nullptr;
}

}  // namespace

const FieldListSpec* find_field_list(std::string_view name) {
  for (const FieldListSpec& spec : kFieldLists)
    if (name == spec.name) return &spec;
  return nullptr;
}

const FieldListSpec* find_field_list(ovs_key_attr attr) {
  for (const FieldListSpec& spec : kFieldLists)
    if (attr == spec.attr) return &spec;
  return nullptr;
}

Status parse_field_list(Cursor& c, const FieldListSpec& spec, FlowKey& value, FlowKey& mask) {
  size_t inner_start = c.position();
  uint32_t seen = 0;
  if (c.consume(')')) return Status::ok();
  for (;;) {
    size_t item_start = c.position();
    std::string_view name = c.take_name();
    if (!c.consume('=')) {
      c.take_until(",)");
      if (name.empty()) return field_error(spec.name, c.text_since(inner_start), "expected a field name");
      return field_error(spec.name, c.text_since(item_start),
                         "expected '=' after \"" + std::string(name) + "\"");
    }
    std::string_view token = c.take_until(",)");
    std::string_view item = c.text_since(item_start);
    const FieldSpec* f = find_field(spec, name);
    if (!f) return field_error(spec.name, item, "unknown field \"" + std::string(name) + "\"");
    size_t index = static_cast<size_t>(f - spec.fields.data());
    if (seen & (1u << index))
      return field_error(spec.name, item, "duplicate field \"" + std::string(name) + "\"");
    seen |= 1u << index;

    size_t slash = token.find('/');
    std::string_view value_text = token.substr(0, slash);
    if (Status s = parse_value(*f, value_text, value); !s) return field_error(spec.name, item, s.message());
    if (slash == std::string_view::npos) {
      set_mask_default(*f, mask);
    } else if (f->kind == FieldKind::kFrag) {
      return field_error(spec.name, item, "frag cannot be masked");
    } else {
      std::string_view mask_text = token.substr(slash + 1);
      if (Status s = parse_value(*f, mask_text, mask); !s) return field_error(spec.name, item, s.message());
    }

    if (c.consume(')')) return Status::ok();
    if (!c.consume(',')) return field_error(spec.name, c.text_since(inner_start), "missing ')'");
  }
}

std::string format_field_list(const FieldListSpec& spec, const FlowKey& value, const FlowKey* mask) {
  std::string out;
  for (const FieldSpec& f : spec.fields) {
    if (mask && mask_is_zero(f, *mask)) continue;
    std::string item;
    if (f.kind == FieldKind::kFrag && mask && !mask_prints_exact(f, *mask)) {
      // odp-util has no text for a partially masked frag; it says so inline.
      item = "error: partial mask not supported for frag (" + format_mask(f, *mask) + ")";
    } else {
      item = std::string(f.name) + "=" + format_value(f, value);
      if (mask && !mask_prints_exact(f, *mask)) item += "/" + format_mask(f, *mask);
    }
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

bool field_list_mask_is_zero(const FieldListSpec& spec, const FlowKey& mask) {
  for (const FieldSpec& f : spec.fields)
    if (!mask_is_zero(f, mask)) return false;
  return true;
}

bool field_list_mask_is_full(const FieldListSpec& spec, const FlowKey& mask) {
  for (const FieldSpec& f : spec.fields)
    if (!mask_is_full(f, mask)) return false;
  return true;
}

void set_field_list_mask_full(const FieldListSpec& spec, FlowKey& mask) {
  for (const FieldSpec& f : spec.fields) set_mask_full(f, mask);
}

// ---- numbers ----

Status parse_masked_number(Cursor& c, std::string_view attribute, uint64_t max, bool allow_mask,
                           MaskedNumber* out) {
  std::string_view token = c.take_until(")");
  if (!c.consume(')')) return field_error(attribute, token, "missing ')'");
  size_t slash = token.find('/');
  Result<uint64_t> value = parse_number(token.substr(0, slash), max);
  if (!value) return field_error(attribute, token, value.status().message());
  out->value = *value;
  out->mask = max;
  if (slash != std::string_view::npos) {
    if (!allow_mask) return field_error(attribute, token, std::string(attribute) + " cannot be masked");
    Result<uint64_t> mask = parse_number(token.substr(slash + 1), max);
    if (!mask) return field_error(attribute, token, mask.status().message());
    out->mask = *mask;
  }
  return Status::ok();
}

// ---- flag sets ----

namespace {

// odp-util's bit order for tunnel flags (FLOW_TNL_F_OAM is bit 0 there).
constexpr uint32_t kOvsTunnelOam = 1, kOvsTunnelDf = 2, kOvsTunnelCsum = 4, kOvsTunnelKey = 8;
constexpr FlagName kOvsTunnelFlagNames[] = {
    {kOvsTunnelOam, "oam"}, {kOvsTunnelDf, "df"}, {kOvsTunnelCsum, "csum"}, {kOvsTunnelKey, "key"}};
constexpr uint32_t kOvsTunnelAll = 0xf;

uint32_t to_ovs_tunnel_flags(uint16_t flags) {
  return ((flags & kTunnelOam) ? kOvsTunnelOam : 0) | ((flags & kTunnelDontFragment) ? kOvsTunnelDf : 0) |
         ((flags & kTunnelCsum) ? kOvsTunnelCsum : 0) | ((flags & kTunnelKey) ? kOvsTunnelKey : 0);
}

uint16_t from_ovs_tunnel_flags(uint32_t flags) {
  return static_cast<uint16_t>(
      ((flags & kOvsTunnelOam) ? kTunnelOam : 0) | ((flags & kOvsTunnelDf) ? kTunnelDontFragment : 0) |
      ((flags & kOvsTunnelCsum) ? kTunnelCsum : 0) | ((flags & kOvsTunnelKey) ? kTunnelKey : 0));
}

constexpr FlagName kTcpFlagNames[] = {
    {0x001, "fin"}, {0x002, "syn"}, {0x004, "rst"}, {0x008, "psh"},   {0x010, "ack"},   {0x020, "urg"},
    {0x040, "ece"}, {0x080, "cwr"}, {0x100, "ns"},  {0x200, "[200]"}, {0x400, "[400]"}, {0x800, "[800]"},
};

constexpr FlagName kCtStateNames[] = {
    {kCtNew, "new"},     {kCtEstablished, "est"}, {kCtRelated, "rel"}, {kCtReplyDir, "rpl"},
    {kCtInvalid, "inv"}, {kCtTracked, "trk"},     {kCtSrcNat, "snat"}, {kCtDstNat, "dnat"},
};

}  // namespace

std::span<const FlagName> tcp_flag_names() { return kTcpFlagNames; }
std::span<const FlagName> ct_state_names() { return kCtStateNames; }

// ---- tunnel ----

namespace {

void append(std::string& out, const std::string& item) {
  if (!out.empty()) out += ',';
  out += item;
}

std::string hex64_always_prefixed(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

uint64_t be64_to_host(Be64 v) {
  uint8_t b[8];
  std::memcpy(b, &v, 8);
  uint64_t h = 0;
  for (uint8_t x : b) h = (h << 8) | x;
  return h;
}

Be64 host_to_be64(uint64_t h) {
  uint8_t b[8];
  for (int i = 7; i >= 0; --i, h >>= 8) b[i] = static_cast<uint8_t>(h);
  Be64 v;
  std::memcpy(&v, b, 8);
  return v;
}

// Splits "value[/mask]"; the mask is refused where `allow_mask` is false.
struct Split {
  std::string_view value;
  std::string_view mask;
  bool has_mask = false;
};

Split split_mask(std::string_view token) {
  Split s;
  size_t slash = token.find('/');
  s.value = token.substr(0, slash);
  if (slash != std::string_view::npos) {
    s.has_mask = true;
    s.mask = token.substr(slash + 1);
  }
  return s;
}

Status parse_vxlan_gbp(Cursor& c, uint32_t& value, uint32_t& mask, bool allow_masks) {
  // After "vxlan(gbp(": [id=N[/M]][,][flags=N[/M]]"))"
  size_t start = c.position();
  uint32_t id = 0, id_mask = 0, flags = 0, flags_mask = 0;
  auto field = [&](std::string_view name, uint64_t max, uint32_t& v, uint32_t& m) -> Status {
    if (!c.consume(name)) return Status::ok();
    Split s = split_mask(c.take_until(",)"));
    Result<uint64_t> parsed = parse_number(s.value, max);
    if (!parsed) return parsed.status();
    v = static_cast<uint32_t>(*parsed);
    m = static_cast<uint32_t>(max);
    if (s.has_mask) {
      if (!allow_masks) return invalid_argument("masked tunnel fields are not supported in set(tunnel(...))");
      Result<uint64_t> pm = parse_number(s.mask, max);
      if (!pm) return pm.status();
      m = static_cast<uint32_t>(*pm);
    }
    return Status::ok();
  };
  if (Status s = field("id=", 0xffff, id, id_mask); !s)
    return field_error("vxlan(gbp", c.text_since(start), s.message());
  c.consume(',');
  if (Status s = field("flags=", 0xff, flags, flags_mask); !s)
    return field_error("vxlan(gbp", c.text_since(start), s.message());
  if (!c.consume("))")) return field_error("vxlan(gbp", c.text_since(start), "missing '))'");
  value = flags << 16 | id;
  mask = flags_mask << 16 | id_mask;
  return Status::ok();
}

}  // namespace

Status parse_tunnel(Cursor& c, TunnelKey& value, TunnelKey& mask, bool allow_masks) {
  size_t inner_start = c.position();
  uint32_t seen = 0;
  if (c.consume(')')) return Status::ok();
  for (;;) {
    size_t item_start = c.position();
    auto fail = [&](std::string_view message) {
      return field_error("tunnel", c.text_since(item_start), message);
    };
    std::string_view name = c.take_name();
    enum Field : uint32_t { kId, kSrc, kDst, kIpv6Src, kIpv6Dst, kTos, kTtl, kTpSrc, kTpDst, kVxlan, kFlags };
    Field field;
    if (name == "vxlan" && c.consume("(gbp(")) {
      field = kVxlan;
    } else if (name == "flags" && c.consume('(')) {
      field = kFlags;
    } else if (name == "geneve" || name == "erspan" || name == "gtpu") {
      c.take_until(")");
      return fail(std::string(name) + " tunnel options are not supported");
    } else if (!c.consume('=')) {
      c.take_until(",)");
      return fail(name.empty() ? "expected a tunnel field"
                               : "expected '=' after \"" + std::string(name) + "\"");
    } else if (name == "tun_id") {
      field = kId;
    } else if (name == "src") {
      field = kSrc;
    } else if (name == "dst") {
      field = kDst;
    } else if (name == "ipv6_src") {
      field = kIpv6Src;
    } else if (name == "ipv6_dst") {
      field = kIpv6Dst;
    } else if (name == "tos") {
      field = kTos;
    } else if (name == "ttl") {
      field = kTtl;
    } else if (name == "tp_src") {
      field = kTpSrc;
    } else if (name == "tp_dst") {
      field = kTpDst;
    } else {
      c.take_until(",)");
      return fail("unknown field \"" + std::string(name) + "\"");
    }
    if (seen & (1u << field)) {
      c.take_until(",)");
      return fail("duplicate field \"" + std::string(name) + "\"");
    }
    seen |= 1u << field;

    if (field == kVxlan) {
      if (Status s = parse_vxlan_gbp(c, value.vxlan_gbp, mask.vxlan_gbp, allow_masks); !s)
        return field_error("tunnel", c.text_since(item_start), s.message());
    } else if (field == kFlags) {
      std::string_view token = c.take_until(")");
      if (!c.consume(')')) return fail("missing ')'");
      Result<MaskedFlags> flags =
          parse_flags(kOvsTunnelFlagNames, token, kOvsTunnelAll, allow_masks, "tunnel");
      if (!flags) return fail(flags.status().message());
      uint16_t key_bit = value.flags & kTunnelKey;  // tun_id may already have set it
      uint16_t key_mask_bit = mask.flags & kTunnelKey;
      value.flags = from_ovs_tunnel_flags(flags->flags) | key_bit;
      mask.flags = from_ovs_tunnel_flags(flags->mask & kOvsTunnelAll) | key_mask_bit;
    } else {
      Split s = split_mask(c.take_until(",)"));
      if (s.has_mask && !allow_masks)
        return fail("masked tunnel fields are not supported in set(tunnel(...))");
      auto number = [&](uint64_t max, uint64_t& v, uint64_t& m) -> Status {
        Result<uint64_t> pv = parse_number(s.value, max);
        if (!pv) return pv.status();
        v = *pv;
        m = max;
        if (s.has_mask) {
          Result<uint64_t> pm = parse_number(s.mask, max);
          if (!pm) return pm.status();
          m = *pm;
        }
        return Status::ok();
      };
      uint64_t v = 0, m = 0;
      Status st;
      switch (field) {
        case kId:
          st = number(UINT64_MAX, v, m);
          value.tun_id = host_to_be64(v);
          mask.tun_id = host_to_be64(m);
          // odp-util marks a key present whenever tun_id is given.
          value.flags |= kTunnelKey;
          mask.flags |= kTunnelKey;
          break;
        case kSrc:
        case kDst: {
          Result<Be32> a = parse_ipv4(s.value);
          if (!a) return fail(a.status().message());
          Be32 am = 0xffffffffu;
          if (s.has_mask) {
            Result<Be32> pm = parse_ipv4(s.mask);
            if (!pm) return fail(pm.status().message());
            am = *pm;
          }
          (field == kSrc ? value.ipv4_src : value.ipv4_dst) = *a;
          (field == kSrc ? mask.ipv4_src : mask.ipv4_dst) = am;
          break;
        }
        case kIpv6Src:
        case kIpv6Dst: {
          Result<Ipv6Addr> a = parse_ipv6(s.value);
          if (!a) return fail(a.status().message());
          Ipv6Addr am;
          am.fill(0xff);
          if (s.has_mask) {
            Result<Ipv6Addr> pm = parse_ipv6(s.mask);
            if (!pm) return fail(pm.status().message());
            am = *pm;
          }
          (field == kIpv6Src ? value.ipv6_src : value.ipv6_dst) = *a;
          (field == kIpv6Src ? mask.ipv6_src : mask.ipv6_dst) = am;
          break;
        }
        case kTos:
        case kTtl:
          st = number(0xff, v, m);
          (field == kTos ? value.tos : value.ttl) = static_cast<uint8_t>(v);
          (field == kTos ? mask.tos : mask.ttl) = static_cast<uint8_t>(m);
          break;
        case kTpSrc:
        case kTpDst:
          st = number(0xffff, v, m);
          (field == kTpSrc ? value.tp_src : value.tp_dst) = htons(static_cast<uint16_t>(v));
          (field == kTpSrc ? mask.tp_src : mask.tp_dst) = htons(static_cast<uint16_t>(m));
          break;
        default:
          break;
      }
      if (!st) return fail(st.message());
    }

    if (c.consume(')')) return Status::ok();
    if (!c.consume(',')) return field_error("tunnel", c.text_since(inner_start), "missing ')'");
  }
}

std::string format_tunnel_match(const TunnelKey& key, const TunnelKey& mask) {
  std::string out;
  // Presence follows the masked key (the kernel dumps that); values print as held.
  bool has_key_id = key.flags & mask.flags & kTunnelKey;
  if (has_key_id && mask.tun_id) {
    std::string item = "tun_id=" + hex64_always_prefixed(be64_to_host(key.tun_id));
    if (mask.tun_id != ~Be64{0}) item += "/" + hex(be64_to_host(mask.tun_id));
    append(out, item);
  }
  auto ipv4 = [&](const char* name, Be32 k, Be32 m) {
    if (!(k & m)) return;
    std::string item = std::string(name) + "=" + format_ipv4(k);
    if (m != 0xffffffffu) item += "/" + format_ipv4(m);
    append(out, item);
  };
  auto ipv6 = [&](const char* name, const Ipv6Addr& k, const Ipv6Addr& m) {
    bool present = false;
    for (size_t i = 0; i < k.size(); ++i) present = present || (k[i] & m[i]);
    if (!present) return;
    std::string item = std::string(name) + "=" + format_ipv6(k);
    Ipv6Addr exact;
    exact.fill(0xff);
    if (m != exact) item += "/" + format_ipv6(m);
    append(out, item);
  };
  ipv4("src", key.ipv4_src, mask.ipv4_src);
  ipv4("dst", key.ipv4_dst, mask.ipv4_dst);
  ipv6("ipv6_src", key.ipv6_src, mask.ipv6_src);
  ipv6("ipv6_dst", key.ipv6_dst, mask.ipv6_dst);
  if (key.tos & mask.tos) append(out, "tos=" + hex(key.tos) + (mask.tos != 0xff ? "/" + hex(mask.tos) : ""));
  if (mask.ttl) append(out, "ttl=" + decimal(key.ttl) + (mask.ttl != 0xff ? "/" + hex(mask.ttl) : ""));
  auto port = [&](const char* name, Be16 k, Be16 m) {
    if (!(k & m)) return;
    append(out, std::string(name) + "=" + decimal(ntohs(k)) + (m != 0xffff ? "/" + hex(ntohs(m)) : ""));
  };
  port("tp_src", key.tp_src, mask.tp_src);
  port("tp_dst", key.tp_dst, mask.tp_dst);
  if (key.vxlan_gbp & mask.vxlan_gbp) {
    std::string gbp;
    uint32_t id = key.vxlan_gbp & 0xffff, id_mask = mask.vxlan_gbp & 0xffff;
    uint32_t fl = key.vxlan_gbp >> 16 & 0xff, fl_mask = mask.vxlan_gbp >> 16 & 0xff;
    if (id_mask) append(gbp, "id=" + decimal(id) + (id_mask != 0xffff ? "/" + hex(id_mask) : ""));
    if (fl_mask) append(gbp, "flags=" + hex(fl) + (fl_mask != 0xff ? "/" + hex(fl_mask) : ""));
    append(out, "vxlan(gbp(" + gbp + "))");
  }
  // The kernel reports df/csum/oam in the mask as attributes of their own; the
  // key bit is implied by tun_id being in the key, and then counts as masked.
  uint32_t key_flags = to_ovs_tunnel_flags(key.flags);
  uint32_t mask_flags = to_ovs_tunnel_flags(mask.flags & (kTunnelDontFragment | kTunnelCsum | kTunnelOam)) |
                        (has_key_id ? kOvsTunnelKey : 0);
  if (mask_flags)
    append(out,
           "flags(" + format_flags_masked(kOvsTunnelFlagNames, key_flags, mask_flags, kOvsTunnelAll) + ")");
  return out;
}

std::string format_tunnel_set(const TunnelKey& value) {
  std::string out;
  bool has_id = value.tun_id || (value.flags & kTunnelKey);
  if (has_id) append(out, "tun_id=" + hex64_always_prefixed(be64_to_host(value.tun_id)));
  if (value.ipv4_src) append(out, "src=" + format_ipv4(value.ipv4_src));
  if (value.ipv4_dst) append(out, "dst=" + format_ipv4(value.ipv4_dst));
  if (!all_bytes_zero(value.ipv6_src)) append(out, "ipv6_src=" + format_ipv6(value.ipv6_src));
  if (!all_bytes_zero(value.ipv6_dst)) append(out, "ipv6_dst=" + format_ipv6(value.ipv6_dst));
  if (value.tos) append(out, "tos=" + hex(value.tos));
  append(out, "ttl=" + decimal(value.ttl));
  if (value.tp_src) append(out, "tp_src=" + decimal(ntohs(value.tp_src)));
  if (value.tp_dst) append(out, "tp_dst=" + decimal(ntohs(value.tp_dst)));
  if (value.vxlan_gbp)
    append(out, "vxlan(gbp(id=" + decimal(value.vxlan_gbp & 0xffff) +
                    ",flags=" + hex(value.vxlan_gbp >> 16 & 0xff) + "))");
  uint32_t flags = to_ovs_tunnel_flags(value.flags & (kTunnelDontFragment | kTunnelCsum | kTunnelOam)) |
                   (has_id ? kOvsTunnelKey : 0);
  append(out, "flags(" + format_flags(kOvsTunnelFlagNames, flags, '|') + ")");
  return out;
}

// ---- vlan ----

Status parse_vlan_tci(Cursor& c, Be16& tci_be, Be16& mask_be) {
  size_t inner_start = c.position();
  uint16_t tci = kVlanCfi, mask = kVlanCfi;
  uint32_t seen = 0;
  if (!c.consume(')')) {
    for (;;) {
      size_t item_start = c.position();
      std::string_view name = c.take_name();
      int bits, shift, index;
      if (name == "vid") {
        bits = 12, shift = 0, index = 0;
      } else if (name == "pcp") {
        bits = 3, shift = 13, index = 1;
      } else if (name == "cfi") {
        bits = 1, shift = 12, index = 2;
      } else {
        c.take_until(",)");
        return field_error("vlan", c.text_since(item_start), "unknown field \"" + std::string(name) + "\"");
      }
      bool has_equals = c.consume('=');
      Split s = split_mask(c.take_until(",)"));
      auto fail = [&](std::string_view m) { return field_error("vlan", c.text_since(item_start), m); };
      if (!has_equals) return fail("expected '=' after \"" + std::string(name) + "\"");
      if (seen & (1u << index)) return fail("duplicate field \"" + std::string(name) + "\"");
      seen |= 1u << index;
      uint64_t field_max = (1u << bits) - 1;
      uint16_t field_mask = static_cast<uint16_t>(field_max << shift);
      Result<uint64_t> v = parse_number(s.value, field_max);
      if (!v) return fail(v.status().message());
      tci = static_cast<uint16_t>((tci & ~field_mask) | (*v << shift));
      if (s.has_mask) {
        Result<uint64_t> m = parse_number(s.mask, field_max);
        if (!m) return fail(m.status().message());
        mask = static_cast<uint16_t>((mask & ~field_mask) | (*m << shift));
      } else {
        mask |= field_mask;
      }
      if (c.consume(')')) break;
      if (!c.consume(',')) return field_error("vlan", c.text_since(inner_start), "missing ')'");
    }
  }
  std::string_view inner = c.text_since(inner_start);
  inner.remove_suffix(1);
  // The kernel refuses both: the CFI bit is what says "a tag is here".
  if (!(mask & kVlanCfi)) return field_error("vlan", inner, "the cfi bit must be matched exactly");
  if (!(tci & kVlanCfi) && tci != 0)
    return field_error("vlan", inner, "a TCI without cfi=1 (truncated tag) must have vid=0 and pcp=0");
  tci_be = htons(tci);
  mask_be = htons(mask);
  return Status::ok();
}

std::string format_vlan_tci(Be16 tci_be, Be16 mask_be) {
  uint16_t tci = ntohs(tci_be), mask = ntohs(mask_be);
  std::string out;
  uint16_t vid = tci & 0xfff, vid_mask = mask & 0xfff;
  uint16_t pcp = tci >> 13, pcp_mask = mask >> 13;
  char buf[16];
  if (vid || vid_mask) {
    out += "vid=" + decimal(vid);
    if (vid_mask != 0xfff) {
      std::snprintf(buf, sizeof buf, "/0x%x", vid_mask);
      out += buf;
    }
  }
  if (pcp || pcp_mask) {
    if (!out.empty()) out += ',';
    out += "pcp=" + decimal(pcp);
    if (pcp_mask != 7) {
      std::snprintf(buf, sizeof buf, "/0x%x", pcp_mask);
      out += buf;
    }
  }
  if (!(tci & kVlanCfi)) {
    if (!out.empty()) out += ',';
    out += "cfi=0";
  }
  return out;
}

// ---- mpls ----

Be32 make_mpls_lse(uint32_t label, uint32_t tc, uint32_t ttl, uint32_t bos) {
  return htonl(label << 12 | tc << 9 | bos << 8 | ttl);
}

std::string format_mpls_lse(Be32 lse_be) {
  uint32_t lse = ntohl(lse_be);
  return "label=" + decimal(lse >> 12) + ",tc=" + decimal(lse >> 9 & 7) + ",ttl=" + decimal(lse & 0xff) +
         ",bos=" + decimal(lse >> 8 & 1);
}

Status parse_mpls(Cursor& c, Be32 (&lse)[kMaxMplsLabels], Be32 (&mask)[kMaxMplsLabels], int* count) {
  struct Part {
    const char* name;
    int bits, shift;
  };
  static constexpr Part kParts[] = {{"label", 20, 12}, {"tc", 3, 9}, {"ttl", 8, 0}, {"bos", 1, 8}};
  size_t inner_start = c.position();
  uint32_t host[kMaxMplsLabels] = {}, host_mask[kMaxMplsLabels] = {};
  int index = 0;
  uint32_t seen = 0;
  bool any = false;
  if (!c.consume(')')) {
    for (;;) {
      size_t item_start = c.position();
      std::string_view name = c.take_name();
      auto fail = [&](std::string_view m) { return field_error("mpls", c.text_since(item_start), m); };
      int part = -1;
      for (int i = 0; i < 4; ++i)
        if (name == kParts[i].name) part = i;
      bool has_equals = c.consume('=');
      Split s = split_mask(c.take_until(",)"));
      if (part < 0) return fail("unknown field \"" + std::string(name) + "\"");
      if (!has_equals) return fail("expected '=' after \"" + std::string(name) + "\"");
      // A field seen again starts the next label stack entry, as in odp-util.
      if (seen & (1u << part)) {
        seen = 0;
        if (++index == kMaxMplsLabels) return fail("more than 3 MPLS labels");
      }
      seen |= 1u << part;
      any = true;
      uint64_t field_max = (1ull << kParts[part].bits) - 1;
      uint32_t field_mask = static_cast<uint32_t>(field_max << kParts[part].shift);
      Result<uint64_t> v = parse_number(s.value, field_max);
      if (!v) return fail(v.status().message());
      host[index] = (host[index] & ~field_mask) | static_cast<uint32_t>(*v << kParts[part].shift);
      if (s.has_mask) {
        Result<uint64_t> m = parse_number(s.mask, field_max);
        if (!m) return fail(m.status().message());
        host_mask[index] = (host_mask[index] & ~field_mask) | static_cast<uint32_t>(*m << kParts[part].shift);
      } else {
        host_mask[index] |= field_mask;
      }
      if (c.consume(')')) break;
      if (!c.consume(',')) return field_error("mpls", c.text_since(inner_start), "missing ')'");
    }
  }
  *count = any ? index + 1 : 1;
  for (int i = 0; i < kMaxMplsLabels; ++i) {
    lse[i] = htonl(host[i]);
    mask[i] = htonl(host_mask[i]);
  }
  return Status::ok();
}

std::string format_mpls(const Be32* lse, const Be32* mask, int count) {
  bool exact = true;
  if (mask)
    for (int i = 0; i < count; ++i)
      if (mask[i] != 0xffffffffu) exact = false;
  std::string out;
  char buf[96];
  for (int i = 0; i < count; ++i) {
    if (!out.empty()) out += ',';
    if (exact) {
      out += format_mpls_lse(lse[i]);
      continue;
    }
    uint32_t k = ntohl(lse[i]), m = ntohl(mask[i]);
    std::snprintf(buf, sizeof buf, "label=%u/0x%x,tc=%u/%x,ttl=%u/0x%x,bos=%u/%x", k >> 12, m >> 12,
                  k >> 9 & 7, m >> 9 & 7, k & 0xff, m & 0xff, k >> 8 & 1, m >> 8 & 1);
    out += buf;
  }
  return out;
}

}  // namespace flowlift::odp_text
