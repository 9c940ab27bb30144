// megaflow_to_tc: the match half and the action half, joined into one rule.
#include "offload/megaflow_to_tc.h"

#include <string>

namespace flowlift {

Result<TcFlowerRule> megaflow_to_tc(const Megaflow& flow, const TcPortTable& ports) {
  // Key attributes FlowKey does not hold come only with dumped flows; a
  // mask on one is a match nothing here can carry.
  for (const UnheldKeyAttribute& attribute : flow.unheld_key_attributes) {
    for (uint8_t byte : attribute.mask) {
      if (byte) {
        return Status(EOPNOTSUPP, "tc flower has no key for key attribute " + std::to_string(attribute.type) +
                                      " (matched by the flow, not held by flowlift)");
      }
    }
  }
  TcFlowerRule rule;
  if (Status s = megaflow_match_to_tc(flow.match, ports, rule); !s) return s;
  if (Status s = megaflow_actions_to_tc(flow.match, flow.actions, ports, rule); !s) return s;
  rule.cookie = flow.ufid;
  return rule;
}

}  // namespace flowlift
