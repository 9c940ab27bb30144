// The offload side of `flowlift show` (see switch_offload_ports.h).
#include "slowpath/switch_offload_ports.h"

#include "offload/offloading_dpif.h"

namespace flowlift {

std::map<std::string, TcOffloadDeviceReport> switch_tc_offload_devices(Dpif& dpif) {
  std::map<std::string, TcOffloadDeviceReport> devices;
  auto* offloading = dynamic_cast<OffloadingDpif*>(&dpif);
  if (!offloading) return devices;
  auto* tc = dynamic_cast<TcOffloadProvider*>(&offloading->provider());
  if (!tc) return devices;
  for (TcOffloadDeviceReport& report : tc->device_reports()) {
    std::string device = report.device;
    devices.emplace(std::move(device), std::move(report));
  }
  return devices;
}

nlohmann::json switch_tc_offload_device_json(const TcOffloadDeviceReport& report) {
  nlohmann::json json = {{"provider", "tc"},
                         {"driver", report.driver},
                         {"profile", report.profile},
                         {"profile_from", std::string(tc_profile_origin_name(report.origin))},
                         {"policy", std::string(tc_policy_name(report.policy))},
                         {"judged_by", report.judged_by}};
  if (!report.driver_problem.empty()) json["driver_problem"] = report.driver_problem;
  return json;
}

std::string switch_tc_offload_device_text(const TcOffloadDeviceReport& report) {
  const std::string driver =
      report.driver.empty() ? "driver unknown: " + report.driver_problem : "driver " + report.driver;
  std::string text = "tc, profile " + report.profile + " (";
  switch (report.origin) {
    case TcProfileOrigin::kExplicit:
      text += "given for " + report.device + "; " + driver;
      break;
    case TcProfileOrigin::kDriver:
      text += "by " + driver;
      break;
    case TcProfileOrigin::kDefault:
      text += "daemon default; " + driver;
      break;
  }
  text += "), policy " + std::string(tc_policy_name(report.policy));
  if (report.judged_by != report.profile) text += ": judged by " + report.judged_by;
  return text;
}

}  // namespace flowlift
