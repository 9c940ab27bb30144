// The configuration file (docs/configuration.md): a versioned JSON document
// naming the datapath settings, the bridges, their ports and their flows.
//
// Applying is all or nothing: the whole document is checked first (JSON
// shape with the path of anything wrong, port types and options, OpenFlow
// numbers, every flow through a scratch copy of the bridge's tables), and
// only then applied; if the datapath still refuses something (a system
// port's device is missing), everything the document had created is removed
// again before the error is returned.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "flowlift/status.h"
#include "slowpath/switch_core_state.h"
#include "slowpath/udpif.h"

namespace flowlift {

inline constexpr int kSwitchConfigVersion = 1;

// Reads and parses a configuration file, and makes every relative
// flows_file absolute against the file's directory (apply_config resolves a
// still-relative one against the working directory).
Result<nlohmann::json> load_switch_config_file(const std::string& path);

// The document's datapath settings over `defaults`, for the daemon's main
// to build the Udpif with (n_handlers only takes effect at start). Checks
// the version and the datapath section only.
Result<UdpifConfig> switch_config_udpif_settings(const nlohmann::json& config, UdpifConfig defaults);

// SwitchCore::apply_config (the caller holds state.control_mutex).
Status apply_switch_config(SwitchCoreState& state, const nlohmann::json& config);

}  // namespace flowlift
