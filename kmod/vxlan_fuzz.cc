// Fuzz target: VXLAN decapsulation of arbitrary frames refuses or succeeds
// without reading out of bounds, leaves refused frames untouched, and what it
// accepts encapsulates again.
#include <cstdint>
#include <vector>

#include "kmod/vxlan.h"

using flowlift::Packet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool gbp = data[0] & 1;
  Packet packet(std::span<const uint8_t>(data + 1, size - 1));
  const std::vector<uint8_t> before(packet.data(), packet.data() + packet.size());
  flowlift::Result<flowlift::TunnelKey> key = flowlift::vxlan_decapsulate(packet, 4789, gbp);
  if (!key.is_ok()) {
    if (std::vector<uint8_t>(packet.data(), packet.data() + packet.size()) != before) __builtin_trap();
    return 0;
  }
  flowlift::VxlanEndpoint endpoint;
  endpoint.local_ipv4 = 0x01020304;
  endpoint.local_ipv6[15] = 1;
  endpoint.gbp_extension = gbp;
  (void)flowlift::vxlan_encapsulate(packet, *key, endpoint, 1);
  return 0;
}
