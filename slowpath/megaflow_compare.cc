// Megaflows as packet sets, compared field by field (see megaflow_compare.h).
#include "slowpath/megaflow_compare.h"

#include <arpa/inet.h>

#include <array>
#include <cstdio>

#include "kmod/odp_text_key.h"
#include "slowpath/of_field_text.h"
#include "slowpath/of_fields.h"
#include "slowpath/of_flow_key.h"
#include "slowpath/of_flow_syntax.h"
#include "slowpath/of_flow_units.h"

namespace flowlift {

namespace {

constexpr std::string_view kPacketType = "packet_type";

// Rule keywords and dump-flows statistics: not part of what a flow matches.
constexpr std::array<std::string_view, 17> kNotMatchKeywords{
    "priority",      "table",         "cookie",           "duration",       "n_packets",  "n_bytes",
    "idle_age",      "hard_age",      "idle_timeout",     "hard_timeout",   "importance", "reset_counts",
    "send_flow_rem", "check_overlap", "no_packet_counts", "no_byte_counts", "out_port"};

bool is_separator(char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Items separated by commas or white space, parentheses kept together
// ("packet_type=(0,0x800)").
std::vector<std::string_view> split_items(std::string_view text) {
  std::vector<std::string_view> items;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_separator(text[i])) ++i;
    size_t start = i;
    int depth = 0;
    while (i < text.size() && (depth > 0 || !is_separator(text[i]))) {
      if (text[i] == '(') ++depth;
      if (text[i] == ')' && depth > 0) --depth;
      ++i;
    }
    if (i > start) items.push_back(text.substr(start, i - start));
  }
  return items;
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  return true;
}

// "(0,0x800)" -> 0x800; "(1,0x86dd)" -> 0x186dd.
Result<uint32_t> parse_packet_type(std::string_view item, std::string_view value) {
  auto bad = [&] { return invalid_argument(std::string(item) + ": expected packet_type=(namespace,type)"); };
  if (value.size() < 5 || value.front() != '(' || value.back() != ')') return bad();
  std::string_view inside = value.substr(1, value.size() - 2);
  size_t comma = inside.find(',');
  if (comma == std::string_view::npos) return bad();
  Result<Uint128> ns = parse_integer(inside.substr(0, comma), 16);
  Result<Uint128> id = parse_integer(inside.substr(comma + 1), 16);
  if (!ns || !id) return bad();
  return static_cast<uint32_t>(*ns << 16 | *id);
}

std::string format_packet_type(uint32_t packet_type) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "(%u,0x%x)", packet_type >> 16, packet_type & 0xffff);
  if ((packet_type & 0xffff) == 0) std::snprintf(buf, sizeof buf, "(%u,0)", packet_type >> 16);
  return buf;
}

const OfFlowUnit* unit_at(uint16_t offset) {
  for (const OfFlowUnit& unit : of_flow_units())
    if (unit.offset == offset) return &unit;
  return nullptr;
}

struct IgnoreSet {
  bool packet_type = false;
  std::vector<const OfFlowUnit*> units;
  bool has(const OfFlowUnit& unit) const {
    for (const OfFlowUnit* u : units)
      if (u == &unit) return true;
    return false;
  }
};

Result<IgnoreSet> resolve_ignore(const std::vector<std::string>& names) {
  IgnoreSet set;
  for (const std::string& name : names) {
    if (name == kPacketType) {
      set.packet_type = true;
      continue;
    }
    const OfFlowUnit* unit = find_of_flow_unit(name);
    if (!unit) {
      if (const OfField* field = find_of_field(name)) unit = unit_at(field->offset);
    }
    if (!unit) return invalid_argument("ignore: unknown field \"" + name + "\"");
    set.units.push_back(unit);
  }
  return set;
}

std::string hex(Uint128 value) { return format_hex(value); }

}  // namespace

CanonicalMegaflow canonical_megaflow(const OfMatch& match, std::optional<uint32_t> packet_type) {
  OfFlow flow = match.flow;
  OfFlow mask = match.mask.bits();
  uint16_t type = ntohs(flow.dl_type);
  bool icmp = mask.dl_type == 0xffff && mask.nw_proto == 0xff &&
              ((type == 0x0800 && flow.nw_proto == 1) || (type == 0x86dd && flow.nw_proto == 58));
  if (icmp) {
    mask.tp_src &= htons(0x00ff);
    mask.tp_dst &= htons(0x00ff);
  }
  return CanonicalMegaflow{OfMatch(flow, OfMask(mask)), packet_type};
}

namespace {

// What megaflow_cmp.py takes for datapath syntax: the attributes a dump line can start with.
bool is_datapath_syntax(std::string_view text) {
  for (std::string_view start :
       {"ufid:", "recirc_id(", "skb_priority(", "tunnel(", "in_port(", "dp_hash(", "skb_mark(", "eth("}) {
    if (text.starts_with(start)) return true;
  }
  return false;
}

// A dpctl/dump-flows line: the match up to the statistics, in OpenFlow
// terms, in_port kept as the datapath number.
Result<CanonicalMegaflow> parse_datapath_megaflow(std::string_view text) {
  if (text.starts_with("ufid:")) {
    size_t comma = text.find(',');
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    while (!text.empty() && is_separator(text.front())) text.remove_prefix(1);
  }
  size_t consumed = 0;
  Result<Match> match = parse_match_prefix(text, &consumed);
  if (!match) return match.status();
  Result<OfMatch> of_match = of_match_from_datapath_match(
      *match, [](uint32_t port, const TunnelKey*) -> std::optional<uint32_t> { return port; });
  if (!of_match) return of_match.status();
  std::optional<uint32_t> packet_type;
  if (text.substr(0, consumed).find("packet_type(ns=0,id=0)") != std::string_view::npos) packet_type = 0;
  return canonical_megaflow(*of_match, packet_type);
}

}  // namespace

Result<CanonicalMegaflow> parse_megaflow(std::string_view text, const PortNames& ports) {
  while (!text.empty() && is_separator(text.front())) text.remove_prefix(1);
  if (starts_with_ignoring_case(text, "megaflow:")) text.remove_prefix(9);
  while (!text.empty() && is_separator(text.front())) text.remove_prefix(1);
  if (is_datapath_syntax(text)) return parse_datapath_megaflow(text);
  std::optional<uint32_t> packet_type;
  std::string match_text;
  for (std::string_view item : split_items(text)) {
    size_t equals = item.find_first_of("=:");
    std::string_view key = item.substr(0, equals);
    std::string_view value = equals == std::string_view::npos ? std::string_view() : item.substr(equals + 1);
    if (key == "actions") break;  // a dump-flows line: the actions end the match
    bool skip = false;
    for (std::string_view keyword : kNotMatchKeywords) skip |= key == keyword;
    if (skip) continue;
    if (item == "eth") {
      packet_type = 0;
      continue;
    }
    if (key == kPacketType) {
      Result<uint32_t> parsed = parse_packet_type(item, value);
      if (!parsed) return parsed.status();
      packet_type = *parsed;
      continue;
    }
    if (!match_text.empty()) match_text += ',';
    match_text += item;
  }
  Result<OfMatch> match = parse_of_match(match_text, ports);
  if (!match) return match.status();
  return canonical_megaflow(*match, packet_type);
}

std::string_view megaflow_relation_name(MegaflowRelation relation) {
  switch (relation) {
    case MegaflowRelation::kEqual:
      return "equal";
    case MegaflowRelation::kFirstWider:
      return "A wider than B";
    case MegaflowRelation::kSecondWider:
      return "B wider than A";
    case MegaflowRelation::kOverlapping:
      return "incomparable (overlapping)";
    case MegaflowRelation::kDisjoint:
      return "incomparable (disjoint)";
  }
  return "?";
}

std::string MegaflowComparison::to_string() const {
  std::string out(megaflow_relation_name(relation));
  for (const MegaflowFieldDifference& d : differences)
    out += "\n  " + d.to_string() + " (" + d.relation + ")";
  return out;
}

Result<MegaflowComparison> compare_megaflows(const CanonicalMegaflow& first, const CanonicalMegaflow& second,
                                             const MegaflowCompareOptions& options) {
  Result<IgnoreSet> ignore = resolve_ignore(options.ignore);
  if (!ignore) return ignore.status();

  MegaflowComparison result;
  bool first_wider = true, second_wider = true, disjoint = false;
  // One field: value and mask of each side; a zero mask is "not constrained".
  auto compare_field = [&](std::string_view name, Uint128 va, Uint128 ma, Uint128 vb, Uint128 mb,
                           auto format) {
    va &= ma;
    vb &= mb;
    if (va == vb && ma == mb) return;
    Uint128 conflict = (va ^ vb) & ma & mb;
    std::string relation;
    auto add = [&relation](const std::string& what) { relation += (relation.empty() ? "" : "; ") + what; };
    if ((ma & ~mb) || conflict) first_wider = false;
    if ((mb & ~ma) || conflict) second_wider = false;
    if (conflict) {
      disjoint = true;
      add("conflicting values on common mask bits " + hex(conflict));
    }
    if (ma & ~mb) add("A matches bits B wildcards (" + hex(ma & ~mb) + ")");
    if (mb & ~ma) add("B matches bits A wildcards (" + hex(mb & ~ma) + ")");
    result.differences.push_back(MegaflowFieldDifference{std::string(name), ma ? format(va, ma) : "*",
                                                         mb ? format(vb, mb) : "*", relation});
  };

  if (!ignore->packet_type) {
    auto format = [](Uint128 value, Uint128) { return format_packet_type(static_cast<uint32_t>(value)); };
    compare_field(kPacketType, first.packet_type.value_or(0), first.packet_type ? 0xffffffff : 0,
                  second.packet_type.value_or(0), second.packet_type ? 0xffffffff : 0, format);
  }
  const OfFlow& fa = first.match.flow;
  const OfFlow& fb = second.match.flow;
  const OfFlow& ma = first.match.mask.bits();
  const OfFlow& mb = second.match.mask.bits();
  for (const OfFlowUnit& unit : of_flow_units()) {
    if (ignore->has(unit)) continue;
    auto format = [&unit](Uint128 value, Uint128 mask) { return format_unit_value(unit, value, mask); };
    compare_field(unit.name, read_unit(fa, unit), read_unit(ma, unit), read_unit(fb, unit),
                  read_unit(mb, unit), format);
  }

  if (result.differences.empty()) {
    result.relation = MegaflowRelation::kEqual;
  } else if (first_wider) {
    result.relation = MegaflowRelation::kFirstWider;
  } else if (second_wider) {
    result.relation = MegaflowRelation::kSecondWider;
  } else {
    result.relation = disjoint ? MegaflowRelation::kDisjoint : MegaflowRelation::kOverlapping;
  }
  return result;
}

Result<MegaflowComparison> compare_megaflow_texts(std::string_view first, std::string_view second,
                                                  const PortNames& ports,
                                                  const MegaflowCompareOptions& options) {
  Result<CanonicalMegaflow> a = parse_megaflow(first, ports);
  if (!a) return a.status().with_context("A");
  Result<CanonicalMegaflow> b = parse_megaflow(second, ports);
  if (!b) return b.status().with_context("B");
  return compare_megaflows(*a, *b, options);
}

}  // namespace flowlift
