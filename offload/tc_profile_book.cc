// TcProfileBook: the per-device choice of capability profile (see
// tc_profile_book.h for the order and why the driver table is data).
#include "offload/tc_profile_book.h"

#include <net/if.h>

#include <algorithm>
#include <cctype>
#include <optional>

namespace flowlift {

namespace {

constexpr std::string_view kSoftwareProfileName = "tc-software";

Status check_device_name(std::string_view device, std::string_view token) {
  const std::string quoted = "--offload-profile " + std::string(token);
  if (device.empty()) return invalid_argument(quoted + ": no device before '=' (expected DEV=NAME|FILE)");
  if (device.size() >= IFNAMSIZ)
    return invalid_argument(quoted + ": device name " + std::string(device) + " is longer than " +
                            std::to_string(IFNAMSIZ - 1) + " characters");
  if (device == "." || device == "..")
    return invalid_argument(quoted + ": " + std::string(device) + " is not a device name");
  // As the kernel's dev_valid_name refuses.
  for (char c : device)
    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)))
      return invalid_argument(quoted + ": device name " + std::string(device) +
                              " holds a character a device name cannot ('/', ':' or a space)");
  return Status::ok();
}

}  // namespace

std::string_view tc_profile_origin_name(TcProfileOrigin origin) {
  switch (origin) {
    case TcProfileOrigin::kExplicit:
      return "explicit";
    case TcProfileOrigin::kDriver:
      return "driver";
    case TcProfileOrigin::kDefault:
      return "default";
  }
  return "default";
}

bool is_tc_device_profile_argument(std::string_view text) {
  const size_t equals = text.find('=');
  return equals != std::string_view::npos && text.substr(0, equals).find('/') == std::string_view::npos;
}

Result<std::pair<std::string, std::string>> parse_tc_device_profile_argument(std::string_view text) {
  const size_t equals = text.find('=');
  if (equals == std::string_view::npos)
    return invalid_argument("--offload-profile " + std::string(text) + ": expected DEV=NAME|FILE");
  const std::string_view device = text.substr(0, equals);
  const std::string_view profile = text.substr(equals + 1);
  if (Status s = check_device_name(device, text); !s) return s;
  if (profile.empty())
    return invalid_argument("--offload-profile " + std::string(text) + ": no profile after '=' (expected " +
                            std::string(device) + "=NAME|FILE)");
  return std::pair<std::string, std::string>(std::string(device), std::string(profile));
}

Result<TcProfileBook> TcProfileBook::load(std::string_view default_profile,
                                          const std::map<std::string, std::string>& device_profiles) {
  Result<CapabilityProfile> fallback = load_capability_profile(default_profile);
  if (!fallback) return fallback.status().with_context("offload profile");
  std::map<std::string, CapabilityProfile> explicit_profiles;
  for (const auto& [device, name_or_path] : device_profiles) {
    Result<CapabilityProfile> profile = load_capability_profile(name_or_path);
    if (!profile) return profile.status().with_context("offload profile of " + device);
    explicit_profiles.emplace(device, std::move(*profile));
  }
  std::vector<CapabilityProfile> builtins;
  std::optional<CapabilityProfile> software;
  for (const std::string& name : builtin_capability_profile_names()) {
    Result<CapabilityProfile> profile = load_capability_profile(name);
    if (!profile) return profile.status();
    if (name == kSoftwareProfileName) software = *profile;
    builtins.push_back(std::move(*profile));
  }
  if (!software) return Status(ENOENT, "the built-in profile tc-software is missing");
  return make(std::move(*fallback), std::move(explicit_profiles), std::move(builtins), std::move(*software));
}

Result<TcProfileBook> TcProfileBook::make(CapabilityProfile default_profile,
                                          std::map<std::string, CapabilityProfile> device_profiles,
                                          std::vector<CapabilityProfile> driver_profiles,
                                          CapabilityProfile software) {
  TcProfileBook book;
  book.default_ = std::make_shared<const CapabilityProfile>(std::move(default_profile));
  book.software_ = std::make_shared<const CapabilityProfile>(std::move(software));
  for (auto& [device, profile] : device_profiles)
    book.by_device_.emplace(device, std::make_shared<const CapabilityProfile>(std::move(profile)));
  for (CapabilityProfile& profile : driver_profiles) {
    auto shared = std::make_shared<const CapabilityProfile>(std::move(profile));
    for (const std::string& driver : shared->drivers) {
      auto [it, inserted] = book.by_driver_.emplace(driver, shared);
      if (!inserted)
        return invalid_argument("driver " + driver + " is named by two profiles, " + it->second->name +
                                " and " + shared->name + " (drivers.names)");
    }
  }
  return book;
}

TcDeviceProfile TcProfileBook::choose(const std::string& device, const Result<std::string>& driver) const {
  TcDeviceProfile chosen;
  if (driver && !driver->empty()) {
    chosen.driver = *driver;
  } else {
    chosen.driver_problem = driver ? "the driver gave an empty name" : driver.status().message();
  }
  if (auto it = by_device_.find(device); it != by_device_.end()) {
    chosen.profile = it->second;
    chosen.origin = TcProfileOrigin::kExplicit;
  } else if (auto by_driver = by_driver_.find(chosen.driver);
             !chosen.driver.empty() && by_driver != by_driver_.end()) {
    chosen.profile = by_driver->second;
    chosen.origin = TcProfileOrigin::kDriver;
  } else {
    chosen.profile = default_;
    chosen.origin = TcProfileOrigin::kDefault;
  }
  return chosen;
}

std::map<std::string, std::string> TcProfileBook::driver_table() const {
  std::map<std::string, std::string> table;
  for (const auto& [driver, profile] : by_driver_) table.emplace(driver, profile->name);
  return table;
}

}  // namespace flowlift
