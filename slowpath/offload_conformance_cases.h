// The offload conformance table: each case is one megaflow (a match and
// datapath actions in the ovs-dpctl text form), the frames sent into it and
// the frames that must come out of each port, written from protocol
// semantics (a frame composed from the key the action leaves, an MPLS label
// or VXLAN header put in front by hand), never copied from a run. The same
// table runs through the openvswitch module's table and through TC, and on a
// user's NIC through `flowlift conformance`.
//
// It lives in slowpath/ and not offload/ because it needs kmod's text codec
// and frame composer (offload/ depends on include/ only).
//
// Ports are placeholders resolved per run, since each datapath numbers its
// ports itself: {IN} (frames are sent into it from its peer), {OUT} (a
// second port), {VXLAN} (a flow-based VXLAN port whose packets cross an
// underlay device). Every match has recirc_id(0), as every megaflow of a
// first pass does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/flow_key.h"
#include "flowlift/status.h"

namespace flowlift {

// Where a frame is sent or captured: always on the peer side of the port
// (the far end of a veth, or a representor's VF), never on the port itself.
enum class ConformancePortRole : uint8_t { kIn, kOut, kUnderlay };
const char* conformance_port_role_name(ConformancePortRole role);

// The addresses VXLAN frames depend on: the underlay device's MAC and IPv4
// address (the local VTEP) and the remote VTEP's (its neighbour entry).
struct ConformanceUnderlay {
  EthAddr local_mac{};
  EthAddr remote_mac{};
  Be32 local_ip{};
  Be32 remote_ip{};
};
// 192.168.77.1 (local, on the underlay) and 192.168.77.2 (remote), with the
// MACs given; what the lab sets up and what README asks of a real NIC's run.
ConformanceUnderlay default_conformance_underlay(const EthAddr& local_mac, const EthAddr& remote_mac);

// Bytes of an expected frame that legitimately differ from run to run and
// are left out of every comparison: the outer IPv4 id of a VXLAN frame (the
// kernel's ip_select_ident), the outer IPv4 header checksum (covers the id)
// and the outer UDP source port (a hash of the inner flow with a per-boot
// seed). Nothing else is ever masked.
struct ConformanceIgnoredBytes {
  size_t offset = 0;
  size_t length = 0;
  std::string why;
};

struct ConformanceFrame {
  std::vector<uint8_t> bytes;
  std::vector<ConformanceIgnoredBytes> ignored;
};

struct ConformanceExpectedOutput {
  ConformancePortRole port = ConformancePortRole::kOut;
  std::vector<ConformanceFrame> frames;  // in the order sent
};

struct OffloadConformanceCase {
  std::string name;     // short, unique: "set_ipv4_ttl"
  std::string covers;   // one line: what the case proves
  std::string match;    // ovs-dpctl text with port placeholders
  std::string actions;  // likewise; "drop" for no action
  ConformancePortRole sent_on = ConformancePortRole::kIn;
  std::vector<std::vector<uint8_t>> sent;
  // Ports not listed must stay silent.
  std::vector<ConformanceExpectedOutput> expected;
  // Non-empty: TC is expected to refuse the flow, and its reason contains
  // this text; the flow then runs in the datapath in both runs.
  std::string expected_refusal;
  bool needs_underlay = false;  // VXLAN cases: skipped without an underlay
  // Non-empty: TC is known to differ from the datapath here on some kernels,
  // and why. The case still runs and reports what it saw; the lab test does
  // not fail on it.
  std::string known_divergence;
};

// Port numbers of one run.
struct ConformancePortNumbers {
  uint32_t in = 0;
  uint32_t out = 0;
  uint32_t vxlan = 0;
  bool has_vxlan = false;
};

// Replaces {IN}, {OUT} and {VXLAN} in `text`. Any other {...}, or {VXLAN}
// without a VXLAN port, is an error naming the placeholder.
Result<std::string> resolve_conformance_placeholders(std::string_view text,
                                                     const ConformancePortNumbers& ports);

// The whole table. An error names the case and the text that did not parse
// (a bug in the table; the unit tests keep it from happening).
Result<std::vector<OffloadConformanceCase>> offload_conformance_cases(const ConformanceUnderlay& underlay);

// True when `got` equals `expected` outside its ignored bytes.
bool conformance_frame_matches(const ConformanceFrame& expected, const std::vector<uint8_t>& got);

}  // namespace flowlift
