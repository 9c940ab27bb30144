// The driver behind a network device: the name `ethtool -i DEV` prints on
// its "driver:" line (mlx5_core, mlx5e_rep, ice, veth, vxlan, tun, ...). The
// TC provider picks a device's capability profile by it (tc_profile_book.h).
//
// Why the SIOCETHTOOL ETHTOOL_GDRVINFO ioctl and not
// /sys/class/net/DEV/device/driver: the sysfs link exists only for devices
// with a bus device behind them (a PCI function), so a veth, a VXLAN or a tap
// device has none and sysfs cannot tell "veth" from "no such device"; and
// /sys/class/net shows the devices of the network namespace sysfs was mounted
// in, not necessarily the caller's (flowliftd under `ip netns exec` sees the
// namespace's devices through the ioctl, which acts in the socket's
// namespace). GDRVINFO is answered by the driver's own get_drvinfo for every
// kind of device (the kernel falls back to the parent bus device's driver
// name when a driver has none: net/ethtool/ioctl.c ethtool_get_drvinfo), and
// it is the same fact ethtool prints, so a user can check what flowlift saw.
#pragma once

#include <string>
#include <string_view>

#include "flowlift/status.h"

namespace flowlift {

// The driver's name. Errors name the device: ENODEV when there is no such
// device, EOPNOTSUPP when its driver answers no driver information (the
// loopback device), and the ioctl's errno otherwise.
Result<std::string> net_device_driver(std::string_view device);

}  // namespace flowlift
