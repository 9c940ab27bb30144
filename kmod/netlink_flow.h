// netlink_flow: a whole Megaflow <-> the OVS_FLOW_ATTR_* attributes of an
// ovs_flow generic netlink message (after the struct ovs_header), so that a
// kernel backend can put flows and read dumps.
//
// Encoding follows ovs_flow_cmd_fill_info: UFID (or, for a flow without one,
// the key as identifier), KEY, MASK, then USED, STATS and TCP_FLAGS when
// non-zero, then ACTIONS. No OVS_FLOW_ATTR_PAD is written (x86 and other
// CPUs with efficient unaligned access get none from the kernel either);
// PAD attributes are skipped when reading.
//
// flowlift's Ufid is 16 bytes; a UFID of another length (the kernel accepts
// 1 to 16) is refused.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "flowlift/megaflow.h"
#include "flowlift/status.h"

namespace flowlift {

// A flow as a dump reply (OVS_FLOW_CMD_GET / _NEW reply) carries it.
Result<std::vector<uint8_t>> encode_flow(const Megaflow& flow);

// Reads a flow put request or a dump reply: KEY is required, MASK is optional
// (exact match without it), ACTIONS optional (an empty list without it).
// The actions are checked against the match as the kernel does on a put
// (decode_actions + validate_actions). Statistics attributes are read into
// Megaflow::stats; CLEAR, PROBE and UFID_FLAGS are accepted and ignored.
Result<Megaflow> decode_flow(std::span<const uint8_t> attributes);

}  // namespace flowlift
