// OpenFlow port numbers as the ovs-ofctl text names them: the reserved ports
// (OVS's 16-bit OFPP_* numbering, which is what OfFlow::in_port holds) and a
// bridge's port names (PortNames), used to read "in_port=p1" / "output:vx1"
// and to print ports back by name when asked to.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "flowlift/status.h"

namespace flowlift {

// Reserved OpenFlow 1.0 port numbers (ofp_port_t in OVS).
enum OfReservedPort : uint32_t {
  kOfPortMax = 0xff00,  // physical/logical ports are below this
  kOfPortInPort = 0xfff8,
  kOfPortTable = 0xfff9,
  kOfPortNormal = 0xfffa,
  kOfPortFlood = 0xfffb,
  kOfPortAll = 0xfffc,
  kOfPortController = 0xfffd,
  kOfPortLocal = 0xfffe,
  kOfPortNone = 0xffff,  // "ANY" in OpenFlow 1.1+
};

// A bridge's port names and numbers. Names are case-sensitive, as in OVS; the
// reserved names (LOCAL, IN_PORT, ...) are recognised case-insensitively and
// take precedence, so a port cannot be named "local".
class PortNames {
 public:
  PortNames() = default;
  // Replaces any previous number for `name`.
  void add(std::string name, uint32_t port);

  std::optional<uint32_t> find_port(std::string_view name) const;
  // The name a port prints as, if it has one.
  std::optional<std::string_view> find_name(uint32_t port) const;

 private:
  std::map<std::string, uint32_t, std::less<>> by_name_;
  std::map<uint32_t, std::string> by_port_;
};

// A port as ovs-ofctl reads it: a reserved name in any case ("LOCAL",
// "in_port"), a decimal number 0..65535 (reserved numbers included), or a
// name from `names`.
Result<uint32_t> parse_of_port(std::string_view token, const PortNames& names);

// Reserved ports print as their uppercase names; others as their name from
// `names` when given and known (and the name reads back as the same port),
// else in decimal.
std::string format_of_port(uint32_t port, const PortNames* names);

}  // namespace flowlift
