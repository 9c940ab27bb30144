// The offload side of `flowlift show`: for each port whose device carries TC
// filters, the driver flowlift read, the capability profile that judges its
// filters, how that profile was chosen, and the device's tc-policy.
//
// Why the switch asks the Dpif by dynamic_cast rather than through an
// interface: only an OffloadingDpif over a TcOffloadProvider has such
// ports, the control plane holds a plain Dpif, and adding a member to the
// shared Dpif / OffloadProvider contracts for one listing would widen every
// datapath for the sake of one provider.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "flowlift/dpif.h"
#include "offload/tc_offload_provider.h"

namespace flowlift {

// By device (the datapath port's netdev name); empty when `dpif` does not
// offload through TC.
std::map<std::string, TcOffloadDeviceReport> switch_tc_offload_devices(Dpif& dpif);

// {"provider": "tc", "driver": "ice", "profile": "ice-e810", "profile_from": "driver",
//  "policy": "none", "judged_by": "ice-e810"} (+ "driver_problem" when the driver is unknown).
nlohmann::json switch_tc_offload_device_json(const TcOffloadDeviceReport& report);
// "tc, profile ice-e810 (by driver ice), policy none"
std::string switch_tc_offload_device_text(const TcOffloadDeviceReport& report);

}  // namespace flowlift
