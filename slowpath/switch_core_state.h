// SwitchCoreState: what SwitchCore's command handlers share (the Dpif, the
// bridges, the Udpif, and the configuration the datapath cannot tell back:
// which bridge a port belongs to, its OpenFlow number and options, and how
// many VXLAN ports share each vxlan_sys_<udp port> tunnel port).
//
// Why a separate, public struct: SwitchCore::State is private to the class,
// and the handlers live in one file per concern (switch_ports.cc,
// switch_flows.cc, ...) as free functions over this state. Only SwitchCore
// and those files include this header.
//
// Locking: SwitchCore::handle() and apply_config() hold `control_mutex` for
// the whole command, so port records and tunnel records need no lock of
// their own; a bridge's tables and XlateBridge are changed under the
// bridge's exclusive lock, because handler threads read them concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "flowlift/dpif.h"
#include "flowlift/status.h"
#include "slowpath/of_bridge.h"
#include "slowpath/udpif.h"
#include "slowpath/xlate_bridge.h"

namespace flowlift {

// One port as configured (add-port or the configuration file).
struct SwitchPortRecord {
  std::string bridge;
  std::string name;
  DpifPortType type = DpifPortType::kDummy;
  uint32_t ofport = 0;
  uint32_t datapath_port = 0;                  // for VXLAN: the shared tunnel port
  std::map<std::string, std::string> options;  // as given, values as text
  std::optional<XlateVxlanOptions> vxlan;
};

// A shared vxlan_sys_<udp port> datapath port and how many VXLAN ports use it.
struct SwitchTunnelRecord {
  uint32_t datapath_port = 0;
  size_t users = 0;
};

// What one command answers: the structured result and the CLI's text.
struct SwitchReply {
  nlohmann::json result = nlohmann::json::object();
  std::string text;
};

struct SwitchCoreState {
  SwitchCoreState(Dpif& dpif_in, const UdpifConfig& udpif_config)
      : dpif(dpif_in), udpif(dpif_in, bridges, udpif_config) {}

  Dpif& dpif;
  OfBridgeSet bridges;  // before udpif: the Udpif holds a reference to it
  Udpif udpif;
  bool threads_started = false;

  // The clock of OpenFlow rule times: the Udpif's (UdpifConfig::now_ms,
  // monotonic_ms() unless a test set its own), so that rules are created,
  // credited and expired on one clock.
  uint64_t rule_clock_ms() const {
    UdpifConfig config = udpif.config();
    return config.now_ms ? config.now_ms() : monotonic_ms();
  }

  // Why flows are not offloaded through TC, when no TC provider runs; empty
  // when one does (then each flow's location says where it is and why).
  std::string tc_unavailable;

  std::mutex control_mutex;
  std::map<std::string, SwitchPortRecord> ports;   // by port name, across bridges
  std::map<uint16_t, SwitchTunnelRecord> tunnels;  // by VXLAN UDP port
};

}  // namespace flowlift
