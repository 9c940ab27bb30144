// TcPortTable: the datapath's ports as the TC flower translation sees them:
// which netdev (ifindex and name) a datapath port number is, and whether it
// is a VXLAN port with which UDP port.
//
// Why its own small table rather than OffloadPort: the translation needs the
// ifindex (a filter is attached to a device, mirred redirects to one), which
// only the provider can resolve (if_nametoindex at set_ports time); keeping
// that resolution out of the translation keeps megaflow_to_tc a pure function
// that tests can drive with made-up devices.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace flowlift {

struct TcPortInfo {
  uint32_t ifindex = 0;
  std::string device;
  bool vxlan = false;
  uint16_t vxlan_udp_port = 0;  // host order; the UDP port the VXLAN netdev listens on and sends to
  bool operator==(const TcPortInfo&) const = default;
};

class TcPortTable {
 public:
  // Adds or replaces datapath port `dp_port`.
  void set(uint32_t dp_port, TcPortInfo info);
  void remove(uint32_t dp_port);
  void clear() { ports_.clear(); }
  // nullptr when the datapath has no such port (or the provider could not resolve it).
  const TcPortInfo* find(uint32_t dp_port) const;
  size_t size() const { return ports_.size(); }

 private:
  std::map<uint32_t, TcPortInfo> ports_;
};

}  // namespace flowlift
