// Fuzz target for the kernel Dpif's reply parsers: every input is fed as a
// received datagram to the reply collector (as a request and as a dump) and
// to the upcall splitter, and each generic netlink message found, as well
// as the raw input itself, is read as a datapath, vport, flow (whole and
// UFID-only) and upcall reply, and as an error message. Parsing must never
// crash or read out of bounds; a datapath or vport reply that parses must
// name what the parser promises (a name, stats).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "kmod/genl_socket.h"
#include "kmod/kernel_dpif_datapath.h"
#include "kmod/kernel_dpif_families.h"
#include "kmod/kernel_dpif_flow.h"
#include "kmod/kernel_dpif_packet.h"
#include "kmod/kernel_dpif_vport.h"

namespace flowlift {
namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

void parse_payload(std::span<const uint8_t> payload, uint8_t command) {
  if (auto datapath = parse_datapath_reply(payload); datapath && datapath->name.empty()) {
    fail("a datapath reply parsed without a name");
  }
  if (auto vport = parse_vport_reply(payload); vport && vport->name.empty()) {
    fail("a vport reply parsed without a name");
  }
  (void)parse_flow_reply(payload);
  (void)parse_flow_identity_reply(payload);
  (void)parse_family_reply("ovs_flow", payload);
  GenlMessage message;
  message.command = command;
  message.payload.assign(payload.begin(), payload.end());
  (void)parse_upcall(message);
}

}  // namespace
}  // namespace flowlift

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace flowlift;
  std::span<const uint8_t> input(data, size);
  (void)genl_status_from_error_message(input);
  for (bool dump : {false, true}) {
    GenlReplyCollector collector(0, 0, dump);
    (void)collector.feed(input);
    for (const GenlMessage& message : collector.take_messages())
      parse_payload(message.payload, message.command);
  }
  if (auto messages = split_genl_datagram(input)) {
    for (const GenlMessage& message : *messages) parse_payload(message.payload, message.command);
  }
  parse_payload(input, size > 0 ? data[0] % 4 : OVS_PACKET_CMD_MISS);
  return 0;
}
