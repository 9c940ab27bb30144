// The datapath flowliftd runs on, as its options choose: the in-process
// userspace datapath, Linux's openvswitch module, or the module behind TC
// flower offload (--offload tc). Kept out of the daemon's main so that the
// main stays a list of calls and the choice is tested like the rest.
#pragma once

#include <memory>

#include "flowlift/dpif.h"
#include "flowlift/status.h"
#include "slowpath/daemon.h"

namespace flowlift {

// Errors name what could not be opened (the datapath, the offload profile,
// the netlink session) and why.
Result<std::unique_ptr<Dpif>> open_daemon_datapath(const DaemonOptions& options, DaemonLog& log);

}  // namespace flowlift
