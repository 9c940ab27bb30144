// Running the offload conformance table through one Dpif on real devices:
// for each case, install its megaflow, send its frames from the ingress
// port's peer, capture what arrives on every port's peer, read the flow's
// counters and location (placement, reason), remove the flow. The lab test
// and `flowlift conformance` run it twice on the same devices, once through
// the bare openvswitch-module datapath and once through OffloadingDpif with
// TC, and compare the two runs (offload_conformance_report.h).
//
// "Peer" is where a port's frames are seen from outside the switch: the far
// end of a veth pair in the lab, or, on a NIC in switchdev mode, the VF (or
// the link partner) behind the representor the datapath owns. Frames are
// injected and captured there with AF_PACKET, never on the port itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flowlift/dpif.h"
#include "slowpath/offload_conformance_cases.h"

namespace flowlift {

struct ConformanceDevices {
  std::string in, in_peer;
  std::string out, out_peer;
  // Optional: the device carrying VXLAN (with the local VTEP's address
  // 192.168.77.1/24 and a neighbour entry for 192.168.77.2) and its peer.
  // Without both, VXLAN cases are skipped, saying so.
  std::string underlay, underlay_peer;
  bool has_underlay() const { return !underlay.empty() && !underlay_peer.empty(); }
};

struct ConformanceRunOptions {
  int settle_ms = 250;     // how long to wait for frames that must not come
  int deadline_ms = 3000;  // longest wait for the frames that must come
  std::string only_case;   // non-empty: run just this case
};

struct ConformanceCapture {
  ConformancePortRole port = ConformancePortRole::kOut;
  std::vector<std::vector<uint8_t>> frames;
};

struct ConformanceCaseResult {
  std::string name;
  bool skipped = false;
  std::string error;      // non-empty: the case could not run (install failed, ...)
  std::string placement;  // megaflow_placement_name()
  std::string reason;
  uint64_t packets_in = 0;
  uint64_t packets_out = 0;   // frames captured on all peers
  uint64_t link_chatter = 0;  // IPv6 multicast / LLDP frames seen and left out
  FlowStats counters;
  std::vector<ConformanceCapture> captured;  // one per port role, in role order
  bool as_expected = false;                  // captured == expected (outside ignored bytes)
  std::string mismatch;                      // the first difference from the expected frames
};

struct ConformanceRun {
  std::string label;                         // "datapath", "tc skip_hw"
  std::vector<ConformanceCaseResult> cases;  // in table order
};

// Adds {IN}, {OUT} and (with an underlay) a VXLAN port named
// `vxlan_port_name` on UDP 4789 to `dpif`.
Result<ConformancePortNumbers> add_conformance_ports(Dpif& dpif, const ConformanceDevices& devices,
                                                     const std::string& vxlan_port_name);

// Runs `cases` through `dpif` (whose ports `ports` are). Fails only when a
// peer device cannot be opened; a case that cannot run says why in its result.
Result<ConformanceRun> run_offload_conformance(Dpif& dpif, const ConformancePortNumbers& ports,
                                               const ConformanceDevices& devices,
                                               const std::vector<OffloadConformanceCase>& cases,
                                               std::string label, const ConformanceRunOptions& options = {});

// Compares one case's captured frames with its expected ones: empty when
// equal, else the first difference ("out: frame 1 of 2 differs at byte 22").
std::string conformance_capture_mismatch(const OffloadConformanceCase& expected,
                                         const std::vector<ConformanceCapture>& captured);

// IPv6 multicast (33:33:..) and IEEE link-local (01:80:c2:00:00:0x) frames
// a host or a switch may send by itself; no case sends or expects them.
bool is_conformance_link_chatter(const std::vector<uint8_t>& frame);

}  // namespace flowlift
