# Writes OUTPUT, a .cc holding every capability profile JSON file (INPUTS, a
# ;-separated list) as a string, so that the daemon finds its built-in
# profiles without an install path. Run at build time by offload/CMakeLists.txt
# (cmake -P), so editing a profile rebuilds the library.
set(delimiter "flowlift_json")  # a raw-string delimiter is at most 16 characters
set(entries "")
foreach(input IN LISTS INPUTS)
  get_filename_component(profile_name ${input} NAME_WE)
  file(READ ${input} text)
  string(FIND "${text}" ")${delimiter}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${input} contains the raw-string delimiter )${delimiter}\"")
  endif()
  string(APPEND entries "    {\"${profile_name}\", R\"${delimiter}(${text})${delimiter}\"},\n")
endforeach()
file(WRITE ${OUTPUT}
"// Generated from offload/profiles/*.json by offload/embed_capability_profiles.cmake: do not edit.
#include \"offload/builtin_capability_profiles.h\"

namespace flowlift {
namespace {

constexpr BuiltinCapabilityProfileText kBuiltinCapabilityProfiles[] = {
${entries}};

}  // namespace

std::span<const BuiltinCapabilityProfileText> builtin_capability_profile_texts() {
  return kBuiltinCapabilityProfiles;
}

}  // namespace flowlift
")
