// kernel_dpif_flow: the ovs_flow family's messages (OVS_FLOW_CMD_NEW, SET,
// DEL, GET, dumps, flush). Keys, masks and actions are written and read by
// the datapath-core codec (netlink_key.h, netlink_actions.h, and
// netlink_flow.h for whole replies); this file only frames them.
//
// Put semantics, as the kernel's ovs_flow_cmd_new/set define them:
//   NEW + NLM_F_CREATE|NLM_F_EXCL  create only (EEXIST when present)
//   NEW + NLM_F_CREATE             create, or replace an existing flow's actions
//   SET                            replace actions only (ENOENT when absent);
//                                  OVS_FLOW_ATTR_CLEAR zeroes its statistics
// The caller picks the command and flags; the payload is the same flow:
// UFID, KEY (the masked key), MASK, ACTIONS.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "flowlift/megaflow.h"
#include "flowlift/status.h"

namespace flowlift {

// OVS_FLOW_CMD_NEW / OVS_FLOW_CMD_SET payload. EINVAL/EMSGSIZE when the
// actions have no attribute form or outgrow a netlink attribute.
Result<std::vector<uint8_t>> build_flow_put(int dp_ifindex, const Megaflow& flow, bool clear_stats);
// OVS_FLOW_CMD_GET / OVS_FLOW_CMD_DEL of the flow named `ufid`, with the
// OVS_UFID_F_* flags that trim the reply (0: key, mask and actions).
std::vector<uint8_t> build_flow_by_ufid(int dp_ifindex, const Ufid& ufid, uint32_t ufid_flags);
// OVS_FLOW_CMD_GET with NLM_F_DUMP; `ufid_flags` OVS_UFID_F_OMIT_KEY |
// OMIT_MASK | OMIT_ACTIONS dumps only UFIDs and statistics.
std::vector<uint8_t> build_flow_dump(int dp_ifindex, uint32_t ufid_flags);
// OVS_FLOW_CMD_DEL with neither UFID nor key: every flow of the datapath.
std::vector<uint8_t> build_flow_flush(int dp_ifindex);

inline constexpr uint32_t kUfidOnlyFlags =
    OVS_UFID_F_OMIT_KEY | OVS_UFID_F_OMIT_MASK | OVS_UFID_F_OMIT_ACTIONS;

// A whole flow from a reply (GET, DEL with NLM_F_ECHO, dump entry), read by
// decode_flow. EPROTO-free errors of the codec keep their code and gain the
// context "flow reply".
Result<Megaflow> parse_flow_reply(std::span<const uint8_t> payload);

// A UFID-only reply (kUfidOnlyFlags): the UFID and statistics.
struct KernelFlowIdentity {
  Ufid ufid;
  FlowStats stats;
};
Result<KernelFlowIdentity> parse_flow_identity_reply(std::span<const uint8_t> payload);

}  // namespace flowlift
