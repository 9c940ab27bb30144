// Action text: format_odp_actions() / odp_actions_from_string() over ActionList.
#include "kmod/odp_text_actions.h"

#include <arpa/inet.h>

#include <charconv>
#include <cmath>
#include <cstdio>

#include "kmod/odp_text_fields.h"
#include "kmod/odp_text_key.h"
#include "kmod/odp_text_key_attrs.h"

namespace flowlift {
namespace {

using odp_text::Cursor;

// odp-util's MAX_ODP_NESTED: also keeps hostile input off the stack.
constexpr int kMaxNesting = 32;
constexpr std::string_view kSeparators = ", \t\r\n";
// Open vSwitch's kHashAlgSymL4; the kernel's uapi header stops at L4.
constexpr uint32_t kHashAlgSymL4 = 1;

void format_list(const ActionList& actions, std::string& out);

struct ActionPrinter {
  std::string& out;

  void operator()(const OutputAction& a) { out += odp_text::decimal(a.port); }
  void operator()(const UserspaceAction& a) {
    out += "userspace(pid=" + odp_text::decimal(a.pid);
    if (a.has_userdata || !a.userdata.empty()) {
      out += ",userdata(";
      char buf[4];
      for (uint8_t b : a.userdata) {
        std::snprintf(buf, sizeof buf, "%02x", b);
        out += buf;
      }
      out += ')';
    }
    if (a.actions) out += ",actions";
    if (a.has_egress_tun_port) out += ",tunnel_out_port=" + odp_text::decimal(a.egress_tun_port);
    out += ')';
  }
  void operator()(const SetAction& a) { out += "set(" + format_set_attribute(a) + ")"; }
  void operator()(const PushVlanAction& a) {
    out += "push_vlan(";
    if (ntohs(a.tpid) != 0x8100) out += "tpid=" + odp_text::hex4(ntohs(a.tpid)) + ",";
    out += odp_text::format_vlan_tci(a.tci, 0xffff) + ")";
  }
  void operator()(const PopVlanAction&) { out += "pop_vlan"; }
  void operator()(const PushMplsAction& a) {
    out +=
        "push_mpls(" + odp_text::format_mpls_lse(a.lse) + ",eth_type=" + hex_plain(ntohs(a.ethertype)) + ")";
  }
  void operator()(const PopMplsAction& a) {
    out += "pop_mpls(eth_type=" + hex_plain(ntohs(a.ethertype)) + ")";
  }
  void operator()(const RecircAction& a) { out += "recirc(" + odp_text::hex(a.recirc_id) + ")"; }
  void operator()(const HashAction& a) {
    if (a.algorithm == OVS_HASH_ALG_L4) {
      out += "hash(l4(" + odp_text::decimal(a.basis) + "))";
    } else if (a.algorithm == kHashAlgSymL4) {
      out += "hash(sym_l4(" + odp_text::decimal(a.basis) + "))";
    } else {
      out += "hash(Unknown hash algorithm(" + odp_text::decimal(a.algorithm) + "))";
    }
  }
  void operator()(const TruncAction& a) { out += "trunc(" + odp_text::decimal(a.max_len) + ")"; }
  void operator()(const SampleAction& a) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", 100.0 * a.probability / UINT32_MAX);
    out += "sample(sample=" + std::string(buf) + "%,actions(";
    format_list(a.actions, out);
    out += "))";
  }
  void operator()(const CloneAction& a) {
    out += "clone(";
    format_list(a.actions, out);
    out += ')';
  }
  void operator()(const CheckPktLenAction& a) {
    out += "check_pkt_len(size=" + odp_text::decimal(a.pkt_len) + ",gt(";
    format_list(a.if_greater, out);
    out += "),le(";
    format_list(a.if_less_equal, out);
    out += "))";
  }
  void operator()(const DropAction&) { out += "drop"; }

  // printf "0x%x" (odp-util's spelling for the MPLS ethertypes).
  static std::string hex_plain(uint16_t v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%x", v);
    return buf;
  }
};

void format_list(const ActionList& actions, std::string& out) {
  if (actions.empty()) {
    out += "drop";
    return;
  }
  for (size_t i = 0; i < actions.size(); ++i) {
    if (i) out += ',';
    std::visit(ActionPrinter{out}, actions[i].v);
  }
}

bool starts_with_drop(std::string_view text) {
  if (text.size() < 4) return false;
  for (size_t i = 0; i < 4; ++i)
    if ((text[i] | 0x20) != "drop"[i]) return false;
  return true;
}

class ActionParser {
 public:
  explicit ActionParser(std::string_view text) : c_(text) {}

  Result<ActionList> parse_top() {
    c_.skip_separators();
    // The whole text "drop" is the empty list.
    if (starts_with_drop(c_.rest())) {
      size_t mark = c_.position();
      c_.consume(std::string_view(c_.rest().substr(0, 4)));
      c_.skip_separators();
      if (c_.at_end()) return ActionList{};
      c_.rewind(mark);
    }
    return parse_list(false, 0);
  }

 private:
  // A list ends at the end of the text (top level) or at ')' (nested; the ')'
  // is consumed).
  Result<ActionList> parse_list(bool nested, int depth) {
    if (depth >= kMaxNesting) return invalid_argument("actions nested more than 32 deep");
    ActionList actions;
    if (nested) {
      // A nested list that is just "drop" is empty, as odp-util prints it.
      size_t mark = c_.position();
      c_.skip_separators();
      if (starts_with_drop(c_.rest())) {
        c_.consume(c_.rest().substr(0, 4));
        c_.skip_separators();
        if (c_.consume(')')) return actions;
      }
      c_.rewind(mark);
    }
    for (;;) {
      c_.skip_separators();
      if (nested) {
        if (c_.consume(')')) return actions;
        if (c_.at_end()) return invalid_argument("missing ')' after nested actions");
      } else if (c_.at_end()) {
        return actions;
      }
      Result<Action> action = parse_action(depth);
      if (!action) return action.status();
      actions.push_back(std::move(*action));
      char next = c_.peek();
      if (!c_.at_end() && kSeparators.find(next) == std::string_view::npos && !(nested && next == ')'))
        return invalid_argument("unexpected \"" + std::string(c_.rest().substr(0, 20)) +
                                "\" after an action");
    }
  }

  Result<Action> parse_action(int depth) {
    if (c_.peek() >= '0' && c_.peek() <= '9') {
      std::string_view token = c_.take_until(", \t\r\n)");
      Result<uint64_t> port = odp_text::parse_number(token, UINT32_MAX);
      if (!port)
        return invalid_argument("output port \"" + std::string(token) + "\": " + port.status().message());
      return Action(OutputAction{static_cast<uint32_t>(*port)});
    }
    size_t start = c_.position();
    std::string_view name = c_.take_name();
    if (name == "pop_vlan") return Action(PopVlanAction{});
    if (name.size() == 4 && starts_with_drop(name)) return Action(DropAction{0});
    if (!c_.consume('(')) {
      if (name == "ct_clear" || name == "pop_eth" || name == "ct")
        return invalid_argument("unsupported action \"" + std::string(name) + "\"");
      if (name.empty())
        return invalid_argument("unexpected \"" + std::string(c_.rest().substr(0, 20)) + "\"");
      return invalid_argument("unknown action \"" + std::string(name) + "\"");
    }
    if (name == "userspace") return userspace();
    if (name == "set") return set();
    if (name == "push_vlan") return push_vlan();
    if (name == "push_mpls") return push_mpls();
    if (name == "pop_mpls") return pop_mpls();
    if (name == "recirc") return single_number<RecircAction>("recirc", UINT32_MAX);
    if (name == "trunc") return single_number<TruncAction>("trunc", UINT32_MAX);
    if (name == "hash") return hash();
    if (name == "sample") return sample(depth);
    if (name == "clone") {
      Result<ActionList> list = parse_list(true, depth + 1);
      if (!list) return invalid_argument("clone(...): " + list.status().message());
      return Action(CloneAction{std::move(*list)});
    }
    if (name == "check_pkt_len") return check_pkt_len(depth);
    for (const char* unsupported :
         {"ct", "meter", "tnl_push", "tnl_pop", "push_eth", "push_nsh", "pop_nsh", "lb_output"}) {
      if (name == unsupported) return invalid_argument("unsupported action \"" + std::string(name) + "\"");
    }
    c_.rewind(start);
    return invalid_argument("unknown action \"" + std::string(name) + "\"");
  }

  // "key=value" items up to ')', for the actions whose arguments are named.
  struct Item {
    std::string_view name;
    std::string_view value;
  };
  Status named_items(std::string_view action, std::vector<Item>& items) {
    size_t inner_start = c_.position();
    if (c_.consume(')')) return Status::ok();
    for (;;) {
      Item item;
      item.name = c_.take_name();
      if (!c_.consume('=')) {
        c_.take_until(",)");
        return odp_text::field_error(action, c_.text_since(inner_start), "expected name=value");
      }
      item.value = c_.take_until(",)");
      for (const Item& seen : items)
        if (seen.name == item.name)
          return odp_text::field_error(action, c_.text_since(inner_start),
                                       "duplicate field \"" + std::string(item.name) + "\"");
      items.push_back(item);
      if (c_.consume(')')) return Status::ok();
      if (!c_.consume(',')) return odp_text::field_error(action, c_.text_since(inner_start), "missing ')'");
    }
  }

  // Looks up `name` among `items`, parses it as a number no larger than `max`.
  static Status item_number(std::string_view action, const std::vector<Item>& items, std::string_view name,
                            uint64_t max, bool required, uint64_t* out) {
    for (const Item& item : items) {
      if (item.name != name) continue;
      Result<uint64_t> v = odp_text::parse_number(item.value, max);
      if (!v)
        return odp_text::field_error(action, std::string(name) + "=" + std::string(item.value),
                                     v.status().message());
      *out = *v;
      return Status::ok();
    }
    if (required) return invalid_argument(std::string(action) + "(...): missing " + std::string(name) + "=");
    return Status::ok();
  }

  static Status only_known(std::string_view action, const std::vector<Item>& items,
                           std::initializer_list<std::string_view> known) {
    for (const Item& item : items) {
      bool ok = false;
      for (std::string_view k : known) ok = ok || item.name == k;
      if (!ok)
        return odp_text::field_error(action, std::string(item.name) + "=" + std::string(item.value),
                                     "unknown field \"" + std::string(item.name) + "\"");
    }
    return Status::ok();
  }

  Result<Action> userspace() {
    size_t inner_start = c_.position();
    auto fail = [&](std::string_view m) {
      return odp_text::field_error("userspace", c_.text_since(inner_start), m);
    };
    if (!c_.consume("pid=")) return fail("expected pid=");
    Result<uint64_t> pid = odp_text::parse_number(c_.take_until(",)"), UINT32_MAX);
    if (!pid) return fail(pid.status().message());
    UserspaceAction a;
    a.pid = static_cast<uint32_t>(*pid);
    if (c_.consume(",userdata(")) {
      std::string_view hex = c_.take_until(")");
      if (!c_.consume(')')) return fail("missing ')'");
      if (hex.size() % 2) return fail("userdata must be pairs of hex digits");
      for (size_t i = 0; i < hex.size(); i += 2) {
        Result<uint64_t> byte = odp_text::parse_number("0x" + std::string(hex.substr(i, 2)), 0xff);
        if (!byte) return fail("userdata must be pairs of hex digits");
        a.userdata.push_back(static_cast<uint8_t>(*byte));
      }
      a.has_userdata = true;
    } else {
      for (const char* cookie : {",controller(", ",sFlow(", ",slow_path(", ",flow_sample(", ",ipfix("})
        if (c_.rest().substr(0, std::string_view(cookie).size()) == cookie)
          return fail(std::string(cookie + 1) +
                      "...): decoded OVS cookies are not supported; use userdata(HEX)");
    }
    if (c_.consume(",actions")) a.actions = true;
    if (c_.consume(",tunnel_out_port=")) {
      Result<uint64_t> port = odp_text::parse_number(c_.take_until(")"), UINT32_MAX);
      if (!port) return fail(port.status().message());
      a.has_egress_tun_port = true;
      a.egress_tun_port = static_cast<uint32_t>(*port);
    }
    if (!c_.consume(')')) return fail("missing ')'");
    return Action(std::move(a));
  }

  Result<Action> set() {
    size_t consumed = 0;
    Result<SetAction> s = parse_set_attribute(c_.rest(), &consumed);
    if (!s) return s.status();
    c_.consume(c_.rest().substr(0, consumed));
    if (!c_.consume(')')) return invalid_argument("set(...): missing ')' after the key attribute");
    return Action(std::move(*s));
  }

  Result<Action> push_vlan() {
    std::vector<Item> items;
    if (Status s = named_items("push_vlan", items); !s) return s;
    if (Status s = only_known("push_vlan", items, {"tpid", "vid", "pcp", "cfi"}); !s) return s;
    uint64_t tpid = 0x8100, vid = 0, pcp = 0, cfi = 1;
    if (Status s = item_number("push_vlan", items, "tpid", 0xffff, false, &tpid); !s) return s;
    if (Status s = item_number("push_vlan", items, "vid", 0xfff, true, &vid); !s) return s;
    if (Status s = item_number("push_vlan", items, "pcp", 7, true, &pcp); !s) return s;
    if (Status s = item_number("push_vlan", items, "cfi", 1, false, &cfi); !s) return s;
    PushVlanAction a;
    a.tpid = htons(static_cast<uint16_t>(tpid));
    a.tci = htons(static_cast<uint16_t>(vid | pcp << 13 | (cfi ? kVlanCfi : 0)));
    return Action(a);
  }

  Result<Action> push_mpls() {
    std::vector<Item> items;
    if (Status s = named_items("push_mpls", items); !s) return s;
    if (Status s = only_known("push_mpls", items, {"label", "tc", "ttl", "bos", "eth_type"}); !s) return s;
    uint64_t label = 0, tc = 0, ttl = 0, bos = 0, eth_type = 0;
    if (Status s = item_number("push_mpls", items, "label", 0xfffff, true, &label); !s) return s;
    if (Status s = item_number("push_mpls", items, "tc", 7, true, &tc); !s) return s;
    if (Status s = item_number("push_mpls", items, "ttl", 0xff, true, &ttl); !s) return s;
    if (Status s = item_number("push_mpls", items, "bos", 1, true, &bos); !s) return s;
    if (Status s = item_number("push_mpls", items, "eth_type", 0xffff, true, &eth_type); !s) return s;
    if (eth_type != 0x8847 && eth_type != 0x8848)
      return invalid_argument("push_mpls(...): eth_type must be 0x8847 or 0x8848, not " +
                              odp_text::hex4(static_cast<uint16_t>(eth_type)));
    PushMplsAction a;
    a.lse = odp_text::make_mpls_lse(static_cast<uint32_t>(label), static_cast<uint32_t>(tc),
                                    static_cast<uint32_t>(ttl), static_cast<uint32_t>(bos));
    a.ethertype = htons(static_cast<uint16_t>(eth_type));
    return Action(a);
  }

  Result<Action> pop_mpls() {
    std::vector<Item> items;
    if (Status s = named_items("pop_mpls", items); !s) return s;
    if (Status s = only_known("pop_mpls", items, {"eth_type"}); !s) return s;
    uint64_t eth_type = 0;
    if (Status s = item_number("pop_mpls", items, "eth_type", 0xffff, true, &eth_type); !s) return s;
    return Action(PopMplsAction{htons(static_cast<uint16_t>(eth_type))});
  }

  template <typename A>
  Result<Action> single_number(std::string_view action, uint64_t max) {
    std::string_view token = c_.take_until(")");
    if (!c_.consume(')')) return odp_text::field_error(action, token, "missing ')'");
    Result<uint64_t> v = odp_text::parse_number(token, max);
    if (!v) return odp_text::field_error(action, token, v.status().message());
    return Action(A{static_cast<uint32_t>(*v)});
  }

  Result<Action> hash() {
    size_t inner_start = c_.position();
    HashAction a;
    if (c_.consume("l4(")) {
      a.algorithm = OVS_HASH_ALG_L4;
    } else if (c_.consume("sym_l4(")) {
      a.algorithm = kHashAlgSymL4;
    } else {
      c_.take_until(")");
      c_.consume(')');
      return odp_text::field_error("hash", c_.text_since(inner_start), "expected l4(N) or sym_l4(N)");
    }
    std::string_view token = c_.take_until(")");
    if (!c_.consume("))")) return odp_text::field_error("hash", c_.text_since(inner_start), "missing ')'");
    Result<uint64_t> basis = odp_text::parse_number(token, UINT32_MAX);
    if (!basis) return odp_text::field_error("hash", c_.text_since(inner_start), basis.status().message());
    a.basis = static_cast<uint32_t>(*basis);
    return Action(a);
  }

  Result<Action> sample(int depth) {
    size_t inner_start = c_.position();
    auto fail = [&](std::string_view m) {
      return odp_text::field_error("sample", c_.text_since(inner_start), m);
    };
    if (!c_.consume("sample=")) return fail("expected sample=N%");
    std::string_view number = c_.take_until("%,)");
    if (!c_.consume("%,actions(")) return fail("expected sample=N%,actions(...)");
    double percentage = 0;
    auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), percentage);
    if (error != std::errc() || end != number.data() + number.size() ||
        !(percentage >= 0.0 && percentage <= 100.0))
      return fail("sample must be a percentage from 0 to 100");
    // odp-util's rounding from percent to a fraction of UINT32_MAX.
    double probability = std::floor(UINT32_MAX * (percentage / 100.0) + .5);
    SampleAction a;
    a.probability = probability <= 0            ? 0
                    : probability >= UINT32_MAX ? UINT32_MAX
                                                : static_cast<uint32_t>(probability);
    Result<ActionList> list = parse_list(true, depth + 1);
    if (!list) return invalid_argument("sample(...): " + list.status().message());
    if (!c_.consume(')')) return invalid_argument("sample(...): missing ')'");
    a.actions = std::move(*list);
    return Action(std::move(a));
  }

  Result<Action> check_pkt_len(int depth) {
    size_t inner_start = c_.position();
    auto fail = [&](std::string_view m) {
      return odp_text::field_error("check_pkt_len", c_.text_since(inner_start), m);
    };
    if (!c_.consume("size=")) return fail("expected size=N");
    Result<uint64_t> size = odp_text::parse_number(c_.take_until(",)"), 0xffff);
    if (!size) return fail(size.status().message());
    if (!c_.consume(",gt(")) return fail("expected ,gt(...)");
    CheckPktLenAction a;
    a.pkt_len = static_cast<uint16_t>(*size);
    Result<ActionList> greater = parse_list(true, depth + 1);
    if (!greater) return invalid_argument("check_pkt_len(...): " + greater.status().message());
    if (!c_.consume(",le(")) return fail("expected ,le(...)");
    Result<ActionList> less_equal = parse_list(true, depth + 1);
    if (!less_equal) return invalid_argument("check_pkt_len(...): " + less_equal.status().message());
    if (!c_.consume(')')) return fail("missing ')'");
    a.if_greater = std::move(*greater);
    a.if_less_equal = std::move(*less_equal);
    return Action(std::move(a));
  }

  Cursor c_;
};

}  // namespace

std::string format_actions(const ActionList& actions) {
  std::string out;
  format_list(actions, out);
  return out;
}

Result<ActionList> parse_actions(std::string_view text) { return ActionParser(text).parse_top(); }

}  // namespace flowlift
