// The capability profiles flowlift ships (offload/profiles/*.json), embedded
// in the library at build time (offload/embed_capability_profiles.cmake
// generates the definition into the build directory) so that the daemon
// needs no install path to find them. load_capability_profile() is the
// interface; this is its raw material.
#pragma once

#include <span>
#include <string_view>

namespace flowlift {

struct BuiltinCapabilityProfileText {
  std::string_view name;  // the file's stem: "tc-software", "mlx5-connectx6dx", "ice-e810"
  std::string_view json;
};

// In file-name order (the CMake glob sorts).
std::span<const BuiltinCapabilityProfileText> builtin_capability_profile_texts();

}  // namespace flowlift
