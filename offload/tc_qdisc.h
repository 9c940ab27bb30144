// tc_qdisc: the clsact qdisc our ingress filters hang from (parent
// TC_H_CLSACT, handle ffff:, kind "clsact", as iproute2's
// `tc qdisc add dev X clsact` makes it).
//
// Why read before create: the ingress slot (ffff:fff1) is shared by clsact
// and the older `ingress` qdisc. has_clsact dumps the qdiscs and looks at
// the device's ingress slot, so ensure_clsact can tell "already there"
// (fine) from "an ingress qdisc holds the slot" (an error naming it: we do
// not delete someone else's qdisc and its filters). Deleting a clsact
// deletes every filter under it; re-creating it is the caller's cue to
// re-install them (the provider's reconcile).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flowlift/status.h"
#include "offload/tc_netlink_session.h"

namespace flowlift {

// The kind of qdisc in `ifindex`'s ingress slot ("clsact", "ingress"), or
// "" when there is none.
Result<std::string> ingress_qdisc_kind(TcNetlinkSession& session, uint32_t ifindex);
Result<bool> has_clsact(TcNetlinkSession& session, uint32_t ifindex);
// Creates it when missing; present already is fine. ENODEV for a device
// that does not exist, EEXIST when another qdisc holds the ingress slot.
Status ensure_clsact(TcNetlinkSession& session, uint32_t ifindex);
// Deletes it (and so every filter under it); absent already is fine. For
// tests and for `flush`.
Status delete_clsact(TcNetlinkSession& session, uint32_t ifindex);

// The RTM_NEWQDISC (NLM_F_CREATE|NLM_F_EXCL) / RTM_DELQDISC request for
// `ifindex`'s clsact (sequence and port left 0: the session sets them).
std::vector<uint8_t> encode_clsact_request(uint16_t message_type, uint32_t ifindex);

}  // namespace flowlift
