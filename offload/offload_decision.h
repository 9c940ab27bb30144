// The offload decision: may this TC flower rule go to this target, and if
// not, why. The provider asks before it sends a filter; a refusal puts the
// megaflow in the openvswitch module's table with the reason shown by
// `flowlift dump-megaflows`, so every reason names the profile and says what
// in the flow the target cannot take, in words a user can act on:
//   "refused by profile ice-e810: one action per rule, flow has 3"
//   "refused by profile ice-e810: ipv4_dst needs an exact mask, flow has /24"
//   "refused by profile mlx5-connectx6dx: at most 2 VLAN push/pop actions per rule, flow has 3"
// The profile is named first because a host may judge its ports by
// different profiles (tc_profile_book.h): the reason must say which one.
//
// The provider picks the profile by the device and its tc-policy: a skip_hw
// rule is judged against tc-software, since no NIC sees it.
//
// Structural reasons (match, actions, chain, priority) are checked before
// the rule counts: a flow the target can never take should say so, rather
// than blame a table that happens to be full today.
#pragma once

#include <cstddef>
#include <string>

#include "offload/capability_profile.h"
#include "offload/tc_flower_rule.h"

namespace flowlift {

// What the provider counts on the target when it asks.
struct OffloadUsage {
  size_t rules_on_device = 0;  // rules in hardware on the whole NIC (all its ports)
  size_t rules_on_port = 0;    // rules on the rule's own device
};

struct OffloadDecision {
  bool accepted = false;
  std::string reason;  // set when refused: "refused by profile <name>: <why>"
};

OffloadDecision decide_offload(const TcFlowerRule& rule, const CapabilityProfile& profile,
                               const OffloadUsage& usage);

}  // namespace flowlift
