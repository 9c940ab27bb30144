// ETHTOOL_GDRVINFO over an AF_INET datagram socket, as ethtool itself asks
// (see net_device_driver.h for why the ioctl rather than sysfs).
#include "offload/net_device_driver.h"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace flowlift {

Result<std::string> net_device_driver(std::string_view device) {
  const std::string name(device);
  if (name.empty() || name.size() >= IFNAMSIZ)
    return invalid_argument("device name \"" + name + "\" is not 1 to " + std::to_string(IFNAMSIZ - 1) +
                            " characters");
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status(errno, "cannot read the driver of " + name + ": socket: " + std::strerror(errno));
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), name.size());
  request.ifr_data = reinterpret_cast<char*>(&info);
  const int result = ::ioctl(fd, SIOCETHTOOL, &request);
  const int error = errno;
  ::close(fd);
  if (result != 0) {
    if (error == ENODEV) return Status(ENODEV, "no device " + name);
    if (error == EOPNOTSUPP)
      return Status(EOPNOTSUPP, "the driver of " + name + " gives no driver information (ETHTOOL_GDRVINFO)");
    return Status(error, "cannot read the driver of " + name + ": " + std::strerror(error));
  }
  // The kernel NUL-terminates driver[] (strscpy); bound the read anyway.
  return std::string(info.driver, strnlen(info.driver, sizeof info.driver));
}

}  // namespace flowlift
