// SwitchCore: the daemon's control plane (what ovs-vswitchd's bridge.c and
// ofproto's unixctl commands are to Open vSwitch). It owns the OpenFlow
// bridges and the upcall layer over one Dpif, applies the configuration
// file, and answers every control-socket command (docs/control-protocol.md)
// with a structured result and the human text the CLI prints.
//
// Threading: handle() may be called from any thread, concurrently.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "flowlift/dpif.h"
#include "flowlift/status.h"
#include "slowpath/udpif.h"

namespace flowlift {

// Why no flow is offloaded through TC when no TC provider runs: the default
// of SwitchCoreOptions::tc_unavailable.
inline constexpr const char* kSwitchTcOff = "TC offload is off (flowliftd --datapath kernel --offload tc)";

struct SwitchCoreOptions {
  UdpifConfig udpif;
  // Start the handler and revalidator threads (tests may drive Udpif by hand).
  bool start_threads = true;
  // Why flows are not offloaded through TC (dump-megaflows says it for each
  // datapath flow); empty when the Dpif offloads through TC.
  std::string tc_unavailable = kSwitchTcOff;
};

class SwitchCore {
 public:
  // `dpif` must outlive the core.
  SwitchCore(Dpif& dpif, SwitchCoreOptions options);
  ~SwitchCore();  // stops the threads; removes nothing from the datapath
  SwitchCore(const SwitchCore&) = delete;
  SwitchCore& operator=(const SwitchCore&) = delete;

  // A configuration document (docs/configuration.md), already parsed from
  // JSON. All or nothing: on error the Status names the bridge, port or flow
  // (with its line) that was wrong, and nothing of the document is applied.
  Status apply_config(const nlohmann::json& config);

  // One control request -> one response (docs/control-protocol.md). Never
  // throws; bad requests get {"ok": false, "error": "..."}.
  nlohmann::json handle(const nlohmann::json& request);

  Udpif& udpif();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace flowlift
