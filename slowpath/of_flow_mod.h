// One OpenFlow flow table modification (OVS's struct ofputil_flow_mod, as
// ofproto receives it after decoding) and the text ovs-ofctl reads it from:
// `add-flows` / `--bundle add-flows` files (each line optionally starting
// with add, modify, modify_strict, delete or delete_strict), `mod-flows` and
// `del-flows` lines, and `ovs-ofctl bundle` files ("flow [command] ...").
//
// Why a protocol choice: what ovs-ofctl sends for the same text depends on
// the OpenFlow version on the wire, and OVS 3.1 behaves differently for each
// (tests/ofproto.at and ofproto-dpif.at pin this down):
//   - OpenFlow 1.0 with Nicira extensions (ovs-ofctl's default): a flow-mod
//     without "table=" names every table (modify and delete touch all tables,
//     add goes to table 0); modify sets the cookie (to 0 when none is given)
//     and adds the rule when nothing matches unless a cookie mask is given;
//     add always resets counters (implicit reset_counts); importance is lost;
//     reset_counts, no_packet_counts and no_byte_counts cannot be sent.
//   - OpenFlow 1.4 (-O OpenFlow14, which --bundle needs; 1.2 and 1.3 behave
//     the same except for importance): add and modify without "table=" go to
//     table 0, delete without it to every table; modify never changes the
//     cookie and never adds; reset_counts is honoured as given.
// Parsing resolves all of this, so OfFlowMod carries plain semantics.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/status.h"
#include "slowpath/of_flow_syntax.h"
#include "slowpath/of_ports.h"

namespace flowlift {

enum class OfFlowModCommand : uint8_t { kAdd, kModify, kModifyStrict, kDelete, kDeleteStrict };

// "add", "modify", "modify_strict", "delete", "delete_strict".
std::string_view of_flow_mod_command_name(OfFlowModCommand command);

// OFPTT_ALL: every table for modify and delete; table 0 for add.
inline constexpr uint8_t kOfTableAll = 255;
// A new_cookie that leaves cookies alone (OVS's OVS_BE64_MAX).
inline constexpr uint64_t kOfCookieUnchanged = UINT64_MAX;

struct OfFlowMod {
  OfFlowModCommand command = OfFlowModCommand::kAdd;

  // add: the rule to add (rule.cookie is its cookie; cookie_mask is ignored).
  // modify/delete: rule.match (and rule.priority for the strict forms)
  // select rules; rule.cookie/cookie_mask select rules whose
  // (cookie ^ rule.cookie) & cookie_mask is 0. rule.table may be kOfTableAll.
  // modify: rule.actions replace the selected rules' actions; timeouts,
  // importance and flags only matter for a rule that modify adds.
  OfRule rule;

  // modify: the cookie the modified rules get (kOfCookieUnchanged keeps
  // theirs). Nothing matched, no cookie mask and a new_cookie other than
  // kOfCookieUnchanged: modify adds rule with this cookie (OVS's
  // modify_may_add_flow).
  uint64_t new_cookie = kOfCookieUnchanged;

  // delete: only rules with an output or enqueue to this port (controller
  // counts as CONTROLLER), OVS's out_port. kOfPortNone (OFPP_ANY) selects all.
  uint32_t out_port = kOfPortNone;

  // Where the flow-mod came from (1-based line of its file), 0 if not a file;
  // bundle errors name it.
  int line = 0;

  bool operator==(const OfFlowMod&) const = default;
};

// The OpenFlow version ovs-ofctl would speak (see the top of this file).
enum class OfFlowModProtocol : uint8_t {
  kOpenFlow10,  // OpenFlow 1.0 + NXM, ovs-ofctl's default
  kOpenFlow14,  // -O OpenFlow14, what --bundle uses
};

struct OfFlowModParseOptions {
  // Unset: the text may start with a command keyword (add-flows and bundle
  // files), defaulting to add. Set: the command of mod-flows / del-flows
  // (with --strict, the strict form); a leading keyword is then not allowed.
  std::optional<OfFlowModCommand> command;
  OfFlowModProtocol protocol = OfFlowModProtocol::kOpenFlow14;
  // `ovs-ofctl bundle` files: every line starts with "flow" (then an optional
  // command keyword); group and packet-out lines are refused.
  bool bundle_file = false;
};

// One flow-mod. add and modify text is parse_of_rule()'s syntax (actions
// required); delete text is a match (parse_of_match()) plus table, cookie
// (with a mask), out_port and, for delete_strict, priority. Statistics that
// dump-flows prints are skipped, as ovs-ofctl does.
Result<OfFlowMod> parse_of_flow_mod(std::string_view text, const PortNames& ports,
                                    const OfFlowModParseOptions& options = {});

// A whole file: one flow-mod per line; "#" starts a comment anywhere on a
// line; blank lines are skipped. Errors read "line N: ...". Every flow-mod
// records its line.
Result<std::vector<OfFlowMod>> parse_of_flow_mod_file(std::string_view text, const PortNames& ports,
                                                      const OfFlowModParseOptions& options = {});

}  // namespace flowlift
