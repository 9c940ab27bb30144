// TcProfileBook: which capability profile judges the TC filters of each
// offload device. A host may carry a ConnectX-6 Dx and an E810 side by side;
// each port is judged by its own NIC's profile, chosen in this order:
//
//   1. explicitly: `flowliftd --offload-profile DEV=NAME|FILE` (repeatable);
//   2. by the device's driver (net_device_driver.h, what `ethtool -i DEV`
//      prints), looked up in the "drivers" lists of the built-in profiles
//      (offload/profiles/*.json: mlx5_core and mlx5e_rep -> mlx5-connectx6dx,
//      ice -> ice-e810), so that the table lives with the capabilities it
//      points to and cites its source as they do;
//   3. the daemon-wide `--offload-profile NAME|FILE` (tc-software unless
//      given), for every driver no built-in profile names: veth, vxlan, tun,
//      a bond, a NIC flowlift has no profile for.
//
// Why tunnel devices are not mapped to tc-software by their driver: a
// decapsulation filter on a VXLAN device is offloaded by the NIC the
// tunnel's underlay leaves through (the driver binds to the tunnel's block
// indirectly: mlx5 en/rep/tc.c mlx5e_rep_indr_setup_block), so the vxlan
// driver name says nothing about the hardware; the daemon-wide default (or
// DEV=) says it.
//
// Policy skip_hw: no NIC sees the filter, so the kernel's own flower judges
// it, whatever the device's driver: software() (the built-in tc-software)
// applies, not the device's profile. The device keeps its own profile in
// the book (and `flowlift show` prints both) so that switching the policy
// back needs nothing else.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flowlift/status.h"
#include "offload/capability_profile.h"

namespace flowlift {

// How a device's profile was chosen.
enum class TcProfileOrigin : uint8_t {
  kExplicit,  // --offload-profile DEV=...
  kDriver,    // the device's driver is in a built-in profile's "drivers"
  kDefault,   // the daemon-wide --offload-profile
};
std::string_view tc_profile_origin_name(TcProfileOrigin origin);  // "explicit", "driver", "default"

// One device's choice.
struct TcDeviceProfile {
  std::shared_ptr<const CapabilityProfile> profile;  // never null
  TcProfileOrigin origin = TcProfileOrigin::kDefault;
  std::string driver;          // as ethtool -i names it; empty when unknown
  std::string driver_problem;  // why the driver is unknown, when it is
};

// `--offload-profile DEV=NAME|FILE` split into (DEV, NAME|FILE). Errors name
// the token: an empty device or profile, a device name longer than
// IFNAMSIZ-1 (15) characters or holding '/' or whitespace.
Result<std::pair<std::string, std::string>> parse_tc_device_profile_argument(std::string_view text);
// Whether an --offload-profile value is the DEV= form: it holds a '=' with
// no '/' before it (a path such as ./my=profile.json stays a path).
bool is_tc_device_profile_argument(std::string_view text);

class TcProfileBook {
 public:
  // Loads the daemon-wide default (a built-in name or a file), each device's
  // explicit profile, and the built-in profiles (the driver table, and
  // tc-software for skip_hw). Errors name the device and the profile.
  static Result<TcProfileBook> load(std::string_view default_profile,
                                    const std::map<std::string, std::string>& device_profiles);
  // From profiles at hand (tests): the driver table is built from the
  // "drivers" of `driver_profiles`; two profiles naming one driver is an
  // error naming both.
  static Result<TcProfileBook> make(CapabilityProfile default_profile,
                                    std::map<std::string, CapabilityProfile> device_profiles,
                                    std::vector<CapabilityProfile> driver_profiles,
                                    CapabilityProfile software);

  // The profile of `device`, whose driver is `driver` (net_device_driver's
  // answer; an error or an empty name means unknown).
  TcDeviceProfile choose(const std::string& device, const Result<std::string>& driver) const;

  // The kernel's own flower: judges every skip_hw filter.
  const std::shared_ptr<const CapabilityProfile>& software() const { return software_; }
  const std::shared_ptr<const CapabilityProfile>& default_profile() const { return default_; }
  // Driver -> the profile its devices get, as read from the profiles.
  std::map<std::string, std::string> driver_table() const;

 private:
  TcProfileBook() = default;

  std::shared_ptr<const CapabilityProfile> default_;
  std::shared_ptr<const CapabilityProfile> software_;
  std::map<std::string, std::shared_ptr<const CapabilityProfile>> by_device_;
  std::map<std::string, std::shared_ptr<const CapabilityProfile>> by_driver_;
};

}  // namespace flowlift
