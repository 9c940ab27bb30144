// megaflow_to_tc: the match half and the action half, joined into one rule.
#include "offload/megaflow_to_tc.h"

namespace flowlift {

Result<TcFlowerRule> megaflow_to_tc(const Megaflow& flow, const TcPortTable& ports) {
  TcFlowerRule rule;
  if (Status s = megaflow_match_to_tc(flow.match, ports, rule); !s) return s;
  if (Status s = megaflow_actions_to_tc(flow.match, flow.actions, ports, rule); !s) return s;
  rule.cookie = flow.ufid;
  return rule;
}

}  // namespace flowlift
