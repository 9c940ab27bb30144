// One datapath flow as a line of `ovs-dpctl dump-flows`, both ways:
//
//   [ufid:UUID, ]MATCH, packets:N, bytes:N, used:X.XXXs|never[, flags:F], actions:ACTIONS
//
// MATCH is odp_text_key's, ACTIONS odp_text_actions'. The statistics follow
// OVS's dpif_flow_stats_format(): "used" is the time since the last hit at
// `now_ms`, in seconds with three decimals, or "never"; "flags" (the TCP
// flags seen, tcpdump letters S F P R U . E C N) appears only when non-zero.
// The ufid prints first when the flow has one (a non-zero UFID), as
// odp_format_ufid() does: the four 32-bit words of the 128-bit id, read from
// the attribute bytes in host order, laid out as a UUID.
//
// Not read: the verbose-only extras (", dp:...", ", offloaded:...",
// ", dp-extra-info:..."), port names instead of numbers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "flowlift/megaflow.h"
#include "flowlift/status.h"
#include "kmod/odp_text_key.h"

namespace flowlift {

std::string format_ufid(const Ufid& ufid);
// Accepts "ufid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" or the bare UUID.
Result<Ufid> parse_ufid(std::string_view text);

// The flow's match as ovs-dpctl prints it: format_match(), plus the key
// attributes the datapath reported that FlowKey does not hold, in Open
// vSwitch 3.1's form for an attribute it does not know ("key32(00 00/00 00)"),
// where the kernel's message has them (IPV6_EXTHDRS: right after ipv6(...)).
// parse_dumped_flow does not read that form back.
std::string format_megaflow_match(const Megaflow& flow, OdpTextStyle style = OdpTextStyle::kKernel);

// `now_ms` is the monotonic clock FlowStats::used_ms counts in.
std::string format_dumped_flow(const Megaflow& flow, uint64_t now_ms,
                               OdpTextStyle style = OdpTextStyle::kKernel);
// The inverse; `now_ms` turns "used:X.XXXs" back into FlowStats::used_ms.
Result<Megaflow> parse_dumped_flow(std::string_view line, uint64_t now_ms);

}  // namespace flowlift
