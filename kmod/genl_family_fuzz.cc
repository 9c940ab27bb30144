// Fuzz target: the generic netlink controller's reply parser takes any bytes
// without reading outside them, and what it accepts describes the family that
// was asked for. The sequence number is taken from the input so that the
// fuzzer gets past that check and into the attributes.
#include <cstdint>
#include <cstring>
#include <span>

#include "kmod/genl_family.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint32_t sequence = 0;
  if (size >= 12) std::memcpy(&sequence, data + 8, sizeof sequence);
  flowlift::Result<flowlift::GenlFamily> family =
      flowlift::parse_genl_family_reply(std::span<const uint8_t>(data, size), "ovs_vport", sequence);
  if (family.is_ok() && family->name != "ovs_vport") __builtin_trap();
  if (!family.is_ok() && family.status().message().empty()) __builtin_trap();
  return 0;
}
