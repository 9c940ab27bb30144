// Fuzz target for key extraction: any byte string is a frame. Checks that
// extraction never reads out of bounds (ASan) and that the key and layer
// offsets keep the invariants other modules rely on.
#include <arpa/inet.h>
#include <linux/if_ether.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "kmod/flow_extract.h"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

// Inputs whose first byte has the top bit set get an Ethernet header with a
// type from this list in front of the remaining bytes, so that most runs reach
// the L3 parsers even where the library is built without coverage feedback.
constexpr uint16_t kEthTypes[] = {ETH_P_IP,      ETH_P_IPV6,  ETH_P_ARP,    ETH_P_RARP,
                                  ETH_P_MPLS_UC, ETH_P_8021Q, ETH_P_8021AD, 0x0026};

std::vector<uint8_t> frame_from_input(std::span<const uint8_t> input) {
  if (input.empty() || (input[0] & 0x80) == 0) return {input.begin(), input.end()};
  uint16_t type = kEthTypes[input[0] % std::size(kEthTypes)];
  std::vector<uint8_t> frame(12, 0x02);
  frame.push_back(static_cast<uint8_t>(type >> 8));
  frame.push_back(static_cast<uint8_t>(type));
  frame.insert(frame.end(), input.begin() + 1, input.end());
  return frame;
}

bool offset_within(uint16_t offset, size_t size) {
  return offset == flowlift::Packet::kNoOffset || offset <= size;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using flowlift::FlowKey;
  using flowlift::Packet;

  const std::vector<uint8_t> frame = frame_from_input({data, size});
  size = frame.size();
  Packet packet(frame);
  packet.md.in_port = 5;
  packet.md.recirc_id = 9;
  packet.l4_ofs = 1;  // stale offsets must not survive extraction
  FlowKey key = flowlift::flow_key_extract(packet);

  require(key.in_port == 5 && key.recirc_id == 9);
  require(std::equal(frame.begin(), frame.end(), packet.bytes().begin(), packet.bytes().end()));
  require(offset_within(packet.l2_5_ofs, packet.size()));
  require(offset_within(packet.l3_ofs, packet.size()));
  require(offset_within(packet.l4_ofs, packet.size()));

  if (size < ETH_HLEN) {
    require(key.eth_type == 0);
    require(packet.l3_ofs == Packet::kNoOffset && packet.l4_ofs == Packet::kNoOffset);
    return 0;
  }
  require(key.eth_type != 0);
  require(packet.l3_ofs != Packet::kNoOffset && packet.l3_ofs >= ETH_HLEN);
  require(packet.l4_ofs == Packet::kNoOffset || packet.l4_ofs >= packet.l3_ofs);
  require(packet.l2_5_ofs == Packet::kNoOffset || packet.l2_5_ofs <= packet.l3_ofs);
  require(key.mpls_depth <= flowlift::kMaxMplsLabels);
  require((key.tcp_flags & htons(0xf000)) == 0);
  require(key.ip_frag <= flowlift::kFragLater);
  if (key.ip_frag == flowlift::kFragLater) require(key.tp_src == 0 && key.tp_dst == 0 && key.tcp_flags == 0);
  if (key.vlan.tpid == 0) require(key.vlan.tci == 0 && key.cvlan.tpid == 0);

  // Extraction is a function of the frame and metadata alone.
  Packet again(frame);
  again.md = packet.md;
  require(flowlift::flow_key_extract(again) == key);
  return 0;
}
