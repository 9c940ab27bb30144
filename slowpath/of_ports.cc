// OpenFlow port names and numbers in ovs-ofctl's text.
#include "slowpath/of_ports.h"

#include <array>
#include <cctype>

namespace flowlift {

namespace {

struct ReservedPortName {
  uint32_t port;
  std::string_view name;
};

// OVS accepts "ANY" and "NONE" for the same number and prints "ANY".
constexpr std::array<ReservedPortName, 9> kReservedPorts{{
    {kOfPortInPort, "IN_PORT"},
    {kOfPortTable, "TABLE"},
    {kOfPortNormal, "NORMAL"},
    {kOfPortFlood, "FLOOD"},
    {kOfPortAll, "ALL"},
    {kOfPortController, "CONTROLLER"},
    {kOfPortLocal, "LOCAL"},
    {kOfPortNone, "ANY"},
    {kOfPortNone, "NONE"},
}};

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

void PortNames::add(std::string name, uint32_t port) {
  auto old = by_name_.find(name);
  if (old != by_name_.end()) by_port_.erase(old->second);
  by_port_[port] = name;
  by_name_[std::move(name)] = port;
}

std::optional<uint32_t> PortNames::find_port(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string_view> PortNames::find_name(uint32_t port) const {
  auto it = by_port_.find(port);
  if (it == by_port_.end()) return std::nullopt;
  return std::string_view(it->second);
}

Result<uint32_t> parse_of_port(std::string_view token, const PortNames& names) {
  if (token.empty()) return invalid_argument("missing port");
  for (const ReservedPortName& reserved : kReservedPorts)
    if (equal_ignoring_case(token, reserved.name)) return reserved.port;
  if (token[0] >= '0' && token[0] <= '9') {
    uint32_t value = 0;
    for (char c : token) {
      if (c < '0' || c > '9') return invalid_argument("invalid port \"" + std::string(token) + "\"");
      value = value * 10 + static_cast<uint32_t>(c - '0');
      if (value > kOfPortNone)
        return invalid_argument("port " + std::string(token) + " is outside the range 0 through 65535");
    }
    return value;
  }
  if (std::optional<uint32_t> port = names.find_port(token)) return *port;
  return invalid_argument("unknown port \"" + std::string(token) + "\"");
}

std::string format_of_port(uint32_t port, const PortNames* names) {
  for (const ReservedPortName& reserved : kReservedPorts)
    if (reserved.port == port) return std::string(reserved.name);
  if (names) {
    std::optional<std::string_view> name = names->find_name(port);
    // A name such as "7" or "a,b" would read back as something else.
    if (name && name->find_first_of(", \t\r\n=:()[]") == std::string_view::npos) {
      Result<uint32_t> back = parse_of_port(*name, *names);
      if (back.is_ok() && *back == port) return std::string(*name);
    }
  }
  return std::to_string(port);
}

}  // namespace flowlift
