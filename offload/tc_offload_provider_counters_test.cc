// The bytes TC's software path leaves uncounted per packet, which the
// provider adds so that an offloaded flow's byte counter equals the
// datapath's (the conformance suite's lab run found them missing): the
// Ethernet header always, and 4 more when the megaflow says packets carry a
// VLAN tag (the ingress hook sees the tag already moved into metadata, the
// openvswitch module adds VLAN_HLEN back). Values from those two layouts.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "offload/tc_offload_provider.h"

namespace flowlift {
namespace {

Match match_with_vlan(uint16_t tci, uint16_t tci_mask) {
  FlowKey key{};
  FlowKey mask_bits{};
  key.eth_type = htons(0x0800);
  mask_bits.eth_type = 0xffff;
  key.vlan.tpid = tci ? htons(0x8100) : 0;
  key.vlan.tci = htons(tci);
  mask_bits.vlan.tci = htons(tci_mask);
  return Match(key, FlowMask(mask_bits));
}

TEST(TcSoftwareUncountedBytes, AnUntaggedEthernetFlowMissesItsEthernetHeader) {
  EXPECT_EQ(tc_software_uncounted_bytes_per_packet(match_with_vlan(0, 0)), 14u);
  EXPECT_EQ(tc_software_uncounted_bytes_per_packet(match_with_vlan(0, kVlanCfi)), 14u)
      << "matched as untagged";
}

TEST(TcSoftwareUncountedBytes, AFlowMatchingATagsPresenceAlsoMissesTheTag) {
  EXPECT_EQ(tc_software_uncounted_bytes_per_packet(match_with_vlan(kVlanCfi | 10, 0xffff)), 18u);
  EXPECT_EQ(tc_software_uncounted_bytes_per_packet(match_with_vlan(kVlanCfi | 10, kVlanCfi)), 18u);
  EXPECT_EQ(tc_software_uncounted_bytes_per_packet(match_with_vlan(kVlanCfi | 10, 0x0fff)), 14u)
      << "vid matched without the presence bit: the tag is not known to be there";
}

TEST(TcSoftwareUncountedBytes, ALayer3FlowHasNoEthernetHeaderToAdd) {
  Match match = match_with_vlan(0, 0);
  match.key.mac_proto = kMacProtoNone;
  EXPECT_EQ(tc_software_uncounted_bytes_per_packet(match), 0u);
}

}  // namespace
}  // namespace flowlift
