// Test-only: what the lab tests that drive Linux's openvswitch module over
// veth pairs share (kmod/kernel_dpif_lab_test.cc and
// offload/tc_offload_provider_lab_test.cc; offload's lab binary links
// flowlift_kmod, so its *_lab_test.cc files may include this): a megaflow put
// written in ovs-dpctl's text form, a UFID tagged by the test file that made
// it, and a veth pair whose far end lives in a peer namespace.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "flowlift/dpif.h"
#include "kmod/netns_test_support.h"
#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_key.h"

namespace flowlift::testing {

// First byte `id`, last byte `tag`: each test file uses its own tag, so that
// a flow left in a datapath says which file put it there.
inline Ufid lab_ufid(uint8_t id, uint8_t tag) {
  Ufid ufid;
  ufid.bytes[0] = id;
  ufid.bytes[15] = tag;
  return ufid;
}

// A put of MATCH and ACTIONS as `ovs-dpctl add-flow` takes them; a text that
// does not parse fails the test, naming the text and why.
inline DpifFlowPut dpctl_text_put(const Ufid& ufid, const std::string& match, const std::string& actions) {
  DpifFlowPut put;
  put.flow.ufid = ufid;
  auto parsed_match = parse_match(match);
  EXPECT_TRUE(parsed_match) << match << ": " << parsed_match.status().message();
  if (parsed_match) put.flow.match = *parsed_match;
  auto parsed_actions = parse_actions(actions);
  EXPECT_TRUE(parsed_actions) << actions << ": " << parsed_actions.status().message();
  if (parsed_actions) put.flow.actions = *parsed_actions;
  return put;
}

// The veth `name` here and `name`p in `peer`, both up. False when ip refuses
// to create it or bring it up here (a failure in the peer is recorded by
// TestNetns::ip); the caller deletes `name` either way.
inline bool add_peer_veth(const std::string& name, const TestNetns& peer) {
  if (!run_ip("link add " + name + " type veth peer name " + name + "p netns " + peer.name())) return false;
  if (!run_ip("link set " + name + " up")) return false;
  peer.ip("link set " + name + "p up");
  return true;
}

}  // namespace flowlift::testing
