// OpenFlow action text (ovs-actions(7)) both ways, and the action list's
// consistency with its rule's match.
#include "slowpath/of_actions.h"

#include <arpa/inet.h>

#include <array>
#include <cctype>
#include <cstring>

#include "kmod/odp_text_fields.h"
#include "slowpath/of_field_text.h"
#include "slowpath/of_key_value.h"

namespace flowlift {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

Status item_error(std::string_view item, const std::string& message) {
  return invalid_argument(std::string(item) + ": " + message);
}

// An unsigned number in [0, max] ("%i" style); `what` names it in errors.
Result<uint64_t> parse_ranged(std::string_view text, uint64_t max, std::string_view what) {
  if (text.empty()) return invalid_argument("missing " + std::string(what));
  Result<uint64_t> v = odp_text::parse_number(text, UINT64_MAX);
  if (!v) return invalid_argument("invalid " + std::string(what) + " \"" + std::string(text) + "\"");
  if (*v > max)
    return invalid_argument(std::string(what) + " must be between 0 and " + std::to_string(max) + " (got " +
                            std::string(text) + ")");
  return *v;
}

constexpr std::array<std::string_view, 6> kReasonNames{"no_match",   "action", "invalid_ttl",
                                                       "action_set", "group",  "packet_out"};

// "xx.xx.xx" or "xxxxxx": hex byte pairs, dots optional between them (OVS's note/userdata syntax).
Result<std::vector<uint8_t>> parse_hex_bytes(std::string_view text) {
  std::vector<uint8_t> bytes;
  size_t i = 0;
  auto hex_digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  while (i < text.size()) {
    if (text[i] == '.') {
      ++i;
      continue;
    }
    if (i + 1 >= text.size() || hex_digit(text[i]) < 0 || hex_digit(text[i + 1]) < 0)
      return invalid_argument("expected pairs of hex digits, optionally separated by '.'");
    bytes.push_back(static_cast<uint8_t>(hex_digit(text[i]) * 16 + hex_digit(text[i + 1])));
    i += 2;
  }
  return bytes;
}

std::string format_hex_bytes(const std::vector<uint8_t>& bytes) {
  std::string out;
  char buf[4];
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i) out += '.';
    std::snprintf(buf, sizeof buf, "%02x", bytes[i]);
    out += buf;
  }
  return out;
}

Result<uint32_t> parse_output_port(std::string_view text, const PortNames& ports) {
  if (equal_ignoring_case(text, "normal")) return invalid_argument("MAC learning is not supported yet");
  Result<uint32_t> port = parse_of_port(text, ports);
  if (!port) return port.status();
  if (*port == kOfPortNone || (*port >= kOfPortMax && *port < kOfPortInPort))
    return invalid_argument(format_of_port(*port, nullptr) + " is not a valid output port");
  return *port;
}

OfAction output_to(uint32_t port) {
  if (port == kOfPortController) return OfControllerAction{};
  return OfOutputAction{port};
}

Result<OfAction> parse_controller(const OfKeyValue& kv) {
  OfControllerAction c;
  if (kv.delimiter == '\0') return OfAction(c);
  if (kv.delimiter != '(') {
    Result<uint64_t> max_len = parse_ranged(kv.value, UINT16_MAX, "max_len");
    if (!max_len) return max_len.status();
    c.max_len = static_cast<uint16_t>(*max_len);
    return OfAction(c);
  }
  OfKeyValueReader reader(kv.value);
  OfKeyValue arg;
  while (reader.next(&arg)) {
    if (arg.key == "reason") {
      bool found = false;
      for (size_t i = 0; i < kReasonNames.size(); ++i) {
        if (kReasonNames[i] == arg.value) {
          c.reason = static_cast<uint8_t>(i);
          found = true;
        }
      }
      if (!found)
        return invalid_argument(
            "unknown reason \"" + std::string(arg.value) +
            "\" (expected no_match, action, invalid_ttl, action_set, group or packet_out)");
    } else if (arg.key == "max_len") {
      Result<uint64_t> max_len = parse_ranged(arg.value, UINT16_MAX, "max_len");
      if (!max_len) return max_len.status();
      c.max_len = static_cast<uint16_t>(*max_len);
    } else if (arg.key == "id") {
      Result<uint64_t> id = parse_ranged(arg.value, UINT16_MAX, "controller id");
      if (!id) return id.status();
      c.controller_id = static_cast<uint16_t>(*id);
    } else if (arg.key == "userdata") {
      Result<std::vector<uint8_t>> bytes = parse_hex_bytes(arg.value);
      if (!bytes) return invalid_argument("userdata: " + bytes.status().message());
      c.userdata = std::move(*bytes);
    } else if (arg.key == "pause" && arg.delimiter == '\0') {
      c.pause = true;
    } else {
      return invalid_argument("unknown controller option \"" + std::string(arg.item) + "\"");
    }
  }
  if (!reader.status().is_ok()) return reader.status();
  return OfAction(c);
}

Result<OfAction> parse_resubmit(const OfKeyValue& kv, const PortNames& ports) {
  OfResubmitAction r;
  if (kv.delimiter != '(') {
    Result<uint32_t> port = parse_of_port(kv.value, ports);
    if (!port) return port.status();
    if (*port == kOfPortInPort)
      return invalid_argument("at least one of the port and the table must be given");
    r.in_port = *port;
    return OfAction(r);
  }
  std::string_view args = kv.value;
  size_t comma = args.find(',');
  std::string_view port_text = args.substr(0, comma);
  std::string_view table_text = comma == std::string_view::npos ? std::string_view() : args.substr(comma + 1);
  if (table_text.find(',') != std::string_view::npos)
    return invalid_argument("expected resubmit(PORT,TABLE) (the ct option is not supported)");
  if (!port_text.empty()) {
    Result<uint32_t> port = parse_of_port(port_text, ports);
    if (!port) return port.status();
    r.in_port = *port;
  }
  if (!table_text.empty()) {
    Result<uint64_t> table = parse_ranged(table_text, 254, "table");
    if (!table) return table.status();
    r.table = static_cast<uint8_t>(*table);
  }
  // Resubmitting on the same port to the same table would loop (OVS refuses it too).
  if (r.in_port == kOfPortInPort && r.table == 255)
    return invalid_argument("at least one of the port and the table must be given");
  return OfAction(r);
}

// Splits "A->B"; errors when the arrow is missing.
Result<std::pair<std::string_view, std::string_view>> split_arrow(std::string_view text) {
  size_t arrow = text.find("->");
  if (arrow == std::string_view::npos) return invalid_argument("expected SOURCE->DESTINATION");
  return std::pair(text.substr(0, arrow), text.substr(arrow + 2));
}

Result<OfAction> parse_set_field(std::string_view text, const PortNames& ports) {
  Result<std::pair<std::string_view, std::string_view>> parts = split_arrow(text);
  if (!parts) return parts.status();
  const OfField* field = find_of_field(parts->second);
  if (!field) return invalid_argument("unknown field \"" + std::string(parts->second) + "\"");
  if (!field->writable) return invalid_argument("field " + std::string(field->name) + " is read-only");
  Result<OfMaskedValue> value = parse_field_value(*field, parts->first, ports);
  if (!value) return value.status();
  return OfAction(OfSetFieldAction{field->id, value->value & value->mask, value->mask});
}

Result<OfAction> parse_load(std::string_view text) {
  Result<std::pair<std::string_view, std::string_view>> parts = split_arrow(text);
  if (!parts) return parts.status();
  Result<OfSubfield> destination = parse_subfield(parts->second);
  if (!destination) return destination.status();
  const OfField& field = of_field(destination->field);
  if (!field.writable)
    return invalid_argument("destination field " + std::string(field.name) + " is read-only");
  Result<Uint128> value = parse_integer(parts->first, destination->n_bits);
  if (!value) return value.status();
  return OfAction(OfLoadAction{*destination, *value});
}

Result<OfAction> parse_move(std::string_view text) {
  Result<std::pair<std::string_view, std::string_view>> parts = split_arrow(text);
  if (!parts) return parts.status();
  Result<OfSubfield> source = parse_subfield(parts->first);
  if (!source) return source.status();
  Result<OfSubfield> destination = parse_subfield(parts->second);
  if (!destination) return destination.status();
  if (source->n_bits != destination->n_bits)
    return invalid_argument("source and destination widths differ (" + std::to_string(source->n_bits) +
                            " vs " + std::to_string(destination->n_bits) + ")");
  const OfField& field = of_field(destination->field);
  if (!field.writable)
    return invalid_argument("destination field " + std::string(field.name) + " is read-only");
  return OfAction(OfMoveAction{*source, *destination});
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Result<OfAction> parse_conjunction(const OfKeyValue& kv) {
  // conjunction(ID,K/N); OVS's scanf format allows spaces around the numbers.
  std::string_view args = kv.value;
  size_t comma = args.find(',');
  size_t slash = args.find('/');
  if (kv.delimiter != '(' || comma == std::string_view::npos || slash == std::string_view::npos ||
      slash < comma)
    return invalid_argument("expected conjunction(id,k/n)");
  Result<uint64_t> id = parse_ranged(trim_spaces(args.substr(0, comma)), UINT32_MAX, "conjunction id");
  if (!id) return id.status();
  Result<uint64_t> k =
      parse_ranged(trim_spaces(args.substr(comma + 1, slash - comma - 1)), UINT8_MAX, "clause number k");
  if (!k) return k.status();
  Result<uint64_t> n = parse_ranged(trim_spaces(args.substr(slash + 1)), UINT8_MAX, "number of clauses n");
  if (!n) return n.status();
  if (*n < 2 || *n > 64) return invalid_argument("n must be between 2 and 64");
  if (*k < 1 || *k > *n) return invalid_argument("k must be between 1 and n");
  return OfAction(
      OfConjunctionAction{static_cast<uint32_t>(*id), static_cast<uint8_t>(*k), static_cast<uint8_t>(*n)});
}

Result<OfAction> parse_dec_ttl(const OfKeyValue& kv) {
  OfDecTtlAction d;
  if (kv.delimiter != '(' || kv.value.empty()) return OfAction(d);
  d.controller_ids.clear();
  std::string_view rest = kv.value;
  while (true) {
    size_t comma = rest.find(',');
    Result<uint64_t> id = parse_ranged(rest.substr(0, comma), UINT16_MAX, "controller id");
    if (!id) return id.status();
    d.controller_ids.push_back(static_cast<uint16_t>(*id));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return OfAction(d);
}

Result<OfAction> parse_action(const OfKeyValue& kv, const PortNames& ports) {
  std::string_view key = kv.key;
  std::string_view value = kv.value;
  auto ranged = [&](uint64_t max, std::string_view what) { return parse_ranged(value, max, what); };

  if (key == "output") {
    if (kv.delimiter == '(') return invalid_argument("output(port=...,max_len=...) is not supported");
    Result<uint32_t> port = parse_output_port(value, ports);
    if (!port) return port.status();
    return output_to(*port);
  }
  if (equal_ignoring_case(key, "controller")) return parse_controller(kv);
  if (key == "resubmit") return parse_resubmit(kv, ports);
  if (key == "goto_table") {
    Result<uint64_t> table = ranged(254, "table");
    if (!table) return table.status();
    return OfAction(OfGotoTableAction{static_cast<uint8_t>(*table)});
  }
  if (key == "set_field") return parse_set_field(value, ports);
  if (key == "load") return parse_load(value);
  if (key == "move") return parse_move(value);
  if (key == "mod_dl_src" || key == "mod_dl_dst") {
    Result<EthAddr> mac = odp_text::parse_eth(value);
    if (!mac) return invalid_argument("invalid Ethernet address");
    if (key == "mod_dl_src") return OfAction(OfSetEthSrcAction{*mac});
    return OfAction(OfSetEthDstAction{*mac});
  }
  if (key == "mod_nw_src" || key == "mod_nw_dst") {
    Result<Be32> ip = odp_text::parse_ipv4(value);
    if (!ip) return invalid_argument("invalid IPv4 address");
    if (key == "mod_nw_src") return OfAction(OfSetIpv4SrcAction{*ip});
    return OfAction(OfSetIpv4DstAction{*ip});
  }
  if (key == "mod_nw_tos") {
    Result<uint64_t> tos = ranged(255, "TOS");
    if (!tos) return tos.status();
    if (*tos & 0x03) return invalid_argument("the low 2 (ECN) bits must be zero (use mod_nw_ecn)");
    return OfAction(OfSetIpDscpAction{static_cast<uint8_t>(*tos)});
  }
  if (key == "mod_nw_ecn") {
    Result<uint64_t> ecn = ranged(3, "ECN");
    if (!ecn) return ecn.status();
    return OfAction(OfSetIpEcnAction{static_cast<uint8_t>(*ecn)});
  }
  if (key == "mod_nw_ttl") {
    Result<uint64_t> ttl = ranged(255, "TTL");
    if (!ttl) return ttl.status();
    return OfAction(OfSetIpTtlAction{static_cast<uint8_t>(*ttl)});
  }
  if (key == "mod_tp_src" || key == "mod_tp_dst") {
    Result<uint64_t> port = ranged(UINT16_MAX, "port");
    if (!port) return port.status();
    if (key == "mod_tp_src") return OfAction(OfSetL4SrcPortAction{static_cast<uint16_t>(*port)});
    return OfAction(OfSetL4DstPortAction{static_cast<uint16_t>(*port)});
  }
  if (key == "dec_ttl") return parse_dec_ttl(kv);
  if (key == "push_vlan") {
    Result<uint64_t> type = ranged(UINT16_MAX, "ethertype");
    if (!type) return type.status();
    if (*type != 0x8100 && *type != 0x88a8)
      return invalid_argument("not a VLAN ethertype (expected 0x8100 or 0x88a8)");
    return OfAction(OfPushVlanAction{static_cast<uint16_t>(*type)});
  }
  if (key == "pop_vlan" || key == "strip_vlan") {
    if (kv.delimiter != '\0') return invalid_argument("takes no argument");
    return OfAction(OfPopVlanAction{});
  }
  if (key == "mod_vlan_vid") {
    Result<uint64_t> vid = ranged(4095, "VLAN id");
    if (!vid) return vid.status();
    return OfAction(OfSetVlanVidAction{static_cast<uint16_t>(*vid)});
  }
  if (key == "mod_vlan_pcp") {
    Result<uint64_t> pcp = ranged(7, "VLAN priority");
    if (!pcp) return pcp.status();
    return OfAction(OfSetVlanPcpAction{static_cast<uint8_t>(*pcp)});
  }
  if (key == "push_mpls") {
    Result<uint64_t> type = ranged(UINT16_MAX, "ethertype");
    if (!type) return type.status();
    if (*type != 0x8847 && *type != 0x8848)
      return invalid_argument("not an MPLS ethertype (expected 0x8847 or 0x8848)");
    return OfAction(OfPushMplsAction{static_cast<uint16_t>(*type)});
  }
  if (key == "pop_mpls") {
    Result<uint64_t> type = ranged(UINT16_MAX, "ethertype");
    if (!type) return type.status();
    return OfAction(OfPopMplsAction{static_cast<uint16_t>(*type)});
  }
  if (key == "set_mpls_label") {
    Result<uint64_t> label = ranged(0xfffff, "MPLS label");
    if (!label) return label.status();
    return OfAction(OfSetMplsLabelAction{static_cast<uint32_t>(*label)});
  }
  if (key == "set_mpls_tc") {
    Result<uint64_t> tc = ranged(7, "MPLS TC");
    if (!tc) return tc.status();
    return OfAction(OfSetMplsTcAction{static_cast<uint8_t>(*tc)});
  }
  if (key == "set_mpls_ttl") {
    Result<uint64_t> ttl = ranged(255, "MPLS TTL");
    if (!ttl) return ttl.status();
    return OfAction(OfSetMplsTtlAction{static_cast<uint8_t>(*ttl)});
  }
  if (key == "dec_mpls_ttl") {
    if (kv.delimiter != '\0') return invalid_argument("takes no argument");
    return OfAction(OfDecMplsTtlAction{});
  }
  if (key == "set_tunnel" || key == "set_tunnel64") {
    Result<uint64_t> id = ranged(UINT64_MAX, "tunnel id");
    if (!id) return id.status();
    return OfAction(OfSetTunnelAction{*id, key == "set_tunnel64" || *id > UINT32_MAX});
  }
  if (key == "conjunction") return parse_conjunction(kv);
  if (key == "note") {
    Result<std::vector<uint8_t>> bytes = parse_hex_bytes(value);
    if (!bytes) return bytes.status();
    return OfAction(OfNoteAction{std::move(*bytes)});
  }
  // A bare port: "2", "p1", "in_port", "LOCAL".
  if (kv.delimiter == '\0') {
    if (equal_ignoring_case(key, "normal")) return invalid_argument("MAC learning is not supported yet");
    Result<uint32_t> port = parse_of_port(key, ports);
    if (port.is_ok()) {
      Result<uint32_t> valid = parse_output_port(key, ports);
      if (!valid) return valid.status();
      return output_to(*valid);
    }
  }
  return invalid_argument("unknown action \"" + std::string(key) + "\"");
}

}  // namespace

Result<OfActionList> parse_of_actions(std::string_view text, const PortNames& ports) {
  OfActionList actions;
  OfKeyValueReader reader(text);
  OfKeyValue kv;
  bool drop = false;
  std::string_view drop_item, goto_item, conjunction_item, other_item;
  while (reader.next(&kv)) {
    if (kv.key == "drop" && kv.delimiter == '\0') {
      drop = true;
      drop_item = kv.item;
      continue;
    }
    if (!goto_item.empty())
      return item_error(goto_item, "goto_table must be the last action (it ends the action list)");
    Result<OfAction> action = parse_action(kv, ports);
    if (!action) return item_error(kv.item, action.status().message());
    if (action->is<OfGotoTableAction>()) goto_item = kv.item;
    if (action->is<OfConjunctionAction>()) {
      conjunction_item = kv.item;
    } else if (!action->is<OfNoteAction>() && other_item.empty()) {
      other_item = kv.item;
    }
    actions.push_back(std::move(*action));
  }
  if (!reader.status().is_ok()) return reader.status();
  if (drop && !actions.empty())
    return item_error(drop_item, "\"drop\" must not be accompanied by any other action");
  if (!conjunction_item.empty() && !other_item.empty())
    return item_error(other_item,
                      "conjunction actions may only be combined with other conjunction and note actions");
  return actions;
}

std::string format_of_action(const OfAction& action, const PortNames* ports) {
  auto num = [](uint64_t v) { return std::to_string(v); };
  return std::visit(
      Overloaded{
          [&](const OfOutputAction& a) {
            if (a.port < kOfPortMax) return "output:" + format_of_port(a.port, ports);
            return format_of_port(a.port, ports);
          },
          [&](const OfControllerAction& a) {
            if (a.reason == kOfReasonAction && a.controller_id == 0 && a.userdata.empty() && !a.pause)
              return "CONTROLLER:" + num(a.max_len);
            std::string out = "controller(";
            std::string sep;
            if (a.reason != kOfReasonAction) {
              out += "reason=" +
                     (a.reason < kReasonNames.size() ? std::string(kReasonNames[a.reason]) : num(a.reason));
              sep = ",";
            }
            if (a.max_len != UINT16_MAX) out += std::exchange(sep, ",") + "max_len=" + num(a.max_len);
            if (a.controller_id != 0) out += std::exchange(sep, ",") + "id=" + num(a.controller_id);
            if (!a.userdata.empty())
              out += std::exchange(sep, ",") + "userdata=" + format_hex_bytes(a.userdata);
            if (a.pause) out += std::exchange(sep, ",") + "pause";
            return out + ")";
          },
          [&](const OfResubmitAction& a) {
            if (a.in_port != kOfPortInPort && a.table == 255)
              return "resubmit:" + format_of_port(a.in_port, ports);
            std::string out = "resubmit(";
            if (a.in_port != kOfPortInPort) out += format_of_port(a.in_port, ports);
            out += ",";
            if (a.table != 255) out += num(a.table);
            return out + ")";
          },
          [&](const OfGotoTableAction& a) { return "goto_table:" + num(a.table); },
          [&](const OfSetFieldAction& a) {
            const OfField& f = of_field(a.field);
            return "set_field:" + format_field_value(f, a.value, a.mask, ports) + "->" + std::string(f.name);
          },
          [&](const OfLoadAction& a) {
            return "load:" + format_hex(a.value) + "->" + format_subfield(a.destination);
          },
          [&](const OfMoveAction& a) {
            return "move:" + format_subfield(a.source) + "->" + format_subfield(a.destination);
          },
          [&](const OfSetEthSrcAction& a) { return "mod_dl_src:" + odp_text::format_eth(a.address); },
          [&](const OfSetEthDstAction& a) { return "mod_dl_dst:" + odp_text::format_eth(a.address); },
          [&](const OfSetIpv4SrcAction& a) { return "mod_nw_src:" + odp_text::format_ipv4(a.address); },
          [&](const OfSetIpv4DstAction& a) { return "mod_nw_dst:" + odp_text::format_ipv4(a.address); },
          [&](const OfSetIpDscpAction& a) { return "mod_nw_tos:" + num(a.tos); },
          [&](const OfSetIpEcnAction& a) { return "mod_nw_ecn:" + num(a.ecn); },
          [&](const OfSetIpTtlAction& a) { return "mod_nw_ttl:" + num(a.ttl); },
          [&](const OfSetL4SrcPortAction& a) { return "mod_tp_src:" + num(a.port); },
          [&](const OfSetL4DstPortAction& a) { return "mod_tp_dst:" + num(a.port); },
          [&](const OfDecTtlAction& a) {
            if (a.controller_ids == std::vector<uint16_t>{0}) return std::string("dec_ttl");
            std::string out = "dec_ttl(";
            for (size_t i = 0; i < a.controller_ids.size(); ++i)
              out += (i ? "," : "") + num(a.controller_ids[i]);
            return out + ")";
          },
          [&](const OfPushVlanAction& a) { return "push_vlan:" + odp_text::hex4(a.ethertype); },
          [&](const OfPopVlanAction&) { return std::string("pop_vlan"); },
          [&](const OfSetVlanVidAction& a) { return "mod_vlan_vid:" + num(a.vid); },
          [&](const OfSetVlanPcpAction& a) { return "mod_vlan_pcp:" + num(a.pcp); },
          [&](const OfPushMplsAction& a) { return "push_mpls:" + odp_text::hex4(a.ethertype); },
          [&](const OfPopMplsAction& a) { return "pop_mpls:" + odp_text::hex4(a.ethertype); },
          [&](const OfSetMplsLabelAction& a) { return "set_mpls_label(" + num(a.label) + ")"; },
          [&](const OfSetMplsTcAction& a) { return "set_mpls_tc(" + num(a.tc) + ")"; },
          [&](const OfSetMplsTtlAction& a) { return "set_mpls_ttl(" + num(a.ttl) + ")"; },
          [&](const OfDecMplsTtlAction&) { return std::string("dec_mpls_ttl"); },
          [&](const OfSetTunnelAction& a) {
            return std::string(a.wide ? "set_tunnel64:" : "set_tunnel:") + odp_text::hex(a.tun_id);
          },
          [&](const OfConjunctionAction& a) {
            return "conjunction(" + num(a.id) + "," + num(a.clause) + "/" + num(a.n_clauses) + ")";
          },
          [&](const OfNoteAction& a) { return "note:" + format_hex_bytes(a.bytes); },
      },
      action.v);
}

std::string format_of_actions(const OfActionList& actions, const PortNames* ports) {
  if (actions.empty()) return "drop";
  std::string out;
  for (const OfAction& a : actions) {
    if (!out.empty()) out += ',';
    out += format_of_action(a, ports);
  }
  return out;
}

namespace {

bool flow_is_ip_any(const OfFlow& flow) {
  return flow.dl_type == htons(0x0800) || flow.dl_type == htons(0x86dd);
}
bool flow_is_mpls(const OfFlow& flow) {
  return flow.dl_type == htons(0x8847) || flow.dl_type == htons(0x8848);
}
bool flow_has_vlan(const OfFlow& flow) { return (ntohs(flow.vlan_tci) & kVlanCfi) != 0; }

Status needs(const OfAction& action, OfPrereq prereq) {
  return invalid_argument(format_of_action(action, nullptr) + ": needs " +
                          std::string(prereq_requirement(prereq)));
}

Status check_field(const OfAction& action, const OfFlow& flow, OfFieldId id) {
  const OfField& field = of_field(id);
  if (!prereqs_ok(field, flow, nullptr)) return needs(action, field.prereq);
  return Status::ok();
}

// mod_tp_*: as OVS's check_set_l4_port(), also refused for later fragments,
// which carry no L4 header.
Status check_l4_port(const OfAction& action, const OfFlow& flow, OfFieldId id) {
  Status s = check_field(action, flow, id);
  if (!s.is_ok()) return s;
  if (flow.nw_frag & kOfFragLater)
    return invalid_argument(format_of_action(action, nullptr) +
                            ": the match admits later fragments, which have no L4 header");
  return Status::ok();
}

}  // namespace

Status check_of_actions(const OfActionList& actions, const OfMatch& match, uint8_t table_id) {
  // The flow as the actions leave it: OVS's ofpacts_check() updates a copy of
  // the match's flow as pushes and pops change what the packet is.
  OfFlow flow = match.flow;
  for (const OfAction& action : actions) {
    Status status = std::visit(
        Overloaded{
            [&](const OfSetFieldAction& a) {
              Status s = check_field(action, flow, a.field);
              if (!s.is_ok()) return s;
              if (a.field == OfFieldId::kVlanVid) {
                if (!flow_has_vlan(flow)) return needs(action, OfPrereq::kVlan);
                write_field(flow, of_field(a.field), a.value);
              }
              return Status::ok();
            },
            [&](const OfLoadAction& a) { return check_field(action, flow, a.destination.field); },
            [&](const OfMoveAction& a) {
              Status s = check_field(action, flow, a.source.field);
              return s.is_ok() ? check_field(action, flow, a.destination.field) : s;
            },
            [&](const OfSetIpv4SrcAction&) {
              return flow.dl_type == htons(0x0800) ? Status::ok() : needs(action, OfPrereq::kIpv4);
            },
            [&](const OfSetIpv4DstAction&) {
              return flow.dl_type == htons(0x0800) ? Status::ok() : needs(action, OfPrereq::kIpv4);
            },
            [&](const OfSetIpDscpAction&) {
              return flow_is_ip_any(flow) ? Status::ok() : needs(action, OfPrereq::kIpAny);
            },
            [&](const OfSetIpEcnAction&) {
              return flow_is_ip_any(flow) ? Status::ok() : needs(action, OfPrereq::kIpAny);
            },
            [&](const OfSetIpTtlAction&) {
              return flow_is_ip_any(flow) ? Status::ok() : needs(action, OfPrereq::kIpAny);
            },
            [&](const OfDecTtlAction&) {
              return flow_is_ip_any(flow) ? Status::ok() : needs(action, OfPrereq::kIpAny);
            },
            [&](const OfSetL4SrcPortAction&) { return check_l4_port(action, flow, OfFieldId::kTpSrc); },
            [&](const OfSetL4DstPortAction&) { return check_l4_port(action, flow, OfFieldId::kTpDst); },
            [&](const OfPushVlanAction& a) {
              flow.vlan_tpid = htons(a.ethertype);
              flow.vlan_tci = htons(kVlanCfi);
              return Status::ok();
            },
            [&](const OfPopVlanAction&) {
              if (!flow_has_vlan(flow)) return needs(action, OfPrereq::kVlan);
              flow.vlan_tci = 0;
              flow.vlan_tpid = 0;
              return Status::ok();
            },
            [&](const OfSetVlanVidAction&) {
              flow.vlan_tci = htons(static_cast<uint16_t>(ntohs(flow.vlan_tci) | kVlanCfi));
              return Status::ok();
            },
            [&](const OfSetVlanPcpAction&) {
              flow.vlan_tci = htons(static_cast<uint16_t>(ntohs(flow.vlan_tci) | kVlanCfi));
              return Status::ok();
            },
            [&](const OfPushMplsAction& a) {
              flow.dl_type = htons(a.ethertype);
              return Status::ok();
            },
            [&](const OfPopMplsAction& a) {
              if (!flow_is_mpls(flow)) return needs(action, OfPrereq::kMpls);
              flow.dl_type = htons(a.ethertype);
              return Status::ok();
            },
            [&](const OfSetMplsLabelAction&) {
              return flow_is_mpls(flow) ? Status::ok() : needs(action, OfPrereq::kMpls);
            },
            [&](const OfSetMplsTcAction&) {
              return flow_is_mpls(flow) ? Status::ok() : needs(action, OfPrereq::kMpls);
            },
            [&](const OfSetMplsTtlAction&) {
              return flow_is_mpls(flow) ? Status::ok() : needs(action, OfPrereq::kMpls);
            },
            [&](const OfDecMplsTtlAction&) {
              return flow_is_mpls(flow) ? Status::ok() : needs(action, OfPrereq::kMpls);
            },
            [&](const OfGotoTableAction& a) {
              if (a.table > table_id) return Status::ok();
              return invalid_argument(format_of_action(action, nullptr) +
                                      ": must go to a later table than the rule's own (table " +
                                      std::to_string(table_id) + ")");
            },
            [&](const auto&) { return Status::ok(); },
        },
        action.v);
    if (!status.is_ok()) return status;
  }
  return Status::ok();
}

}  // namespace flowlift
