// One run of the conformance table through one Dpif (see the header). Cases
// run one at a time, each with the only flow of its run installed, so that a
// frame's fate is decided by that flow alone: a miss goes to the datapath's
// upcall queue, which nobody reads here, and is lost in both runs alike.
#include "slowpath/offload_conformance_runner.h"

#include <poll.h>

#include <chrono>
#include <map>
#include <memory>

#include "kmod/netdev_afpacket.h"
#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_key.h"

namespace flowlift {
namespace {

constexpr ConformancePortRole kAllRoles[] = {ConformancePortRole::kIn, ConformancePortRole::kOut,
                                             ConformancePortRole::kUnderlay};

Ufid conformance_ufid(size_t case_index) {
  Ufid ufid;
  ufid.bytes[0] = static_cast<uint8_t>(case_index);
  ufid.bytes[1] = static_cast<uint8_t>(case_index >> 8);
  ufid.bytes[14] = 0xc0;  // "conformance": no daemon flow has it
  ufid.bytes[15] = 0xf0;
  return ufid;
}

size_t expected_count(const OffloadConformanceCase& c) {
  size_t total = 0;
  for (const ConformanceExpectedOutput& output : c.expected) total += output.frames.size();
  return total;
}

// The peers' packet sockets of one run, by role.
class ConformancePeerSockets {
 public:
  static Result<ConformancePeerSockets> open(const ConformanceDevices& devices) {
    ConformancePeerSockets sockets;
    std::vector<std::pair<ConformancePortRole, std::string>> wanted = {
        {ConformancePortRole::kIn, devices.in_peer}, {ConformancePortRole::kOut, devices.out_peer}};
    if (devices.has_underlay()) wanted.emplace_back(ConformancePortRole::kUnderlay, devices.underlay_peer);
    for (const auto& [role, device] : wanted) {
      auto port = AfPacketPort::open(device);
      if (!port)
        return Status(port.status().code(), std::string("peer of the ") + conformance_port_role_name(role) +
                                                " port: " + port.status().message());
      sockets.ports_[role] = std::move(*port);
    }
    return sockets;
  }

  AfPacketPort* port(ConformancePortRole role) {
    auto found = ports_.find(role);
    return found == ports_.end() ? nullptr : found->second.get();
  }

  // Reads whatever is queued on every peer, for up to `wait_ms`; stops early
  // once `enough` frames (not chatter) were read, after a short grace for
  // frames beyond them.
  void collect(std::map<ConformancePortRole, std::vector<std::vector<uint8_t>>>& out, size_t enough,
               int wait_ms, int grace_ms, uint64_t& chatter) {
    using Clock = std::chrono::steady_clock;
    auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
    bool grace_started = false;
    while (Clock::now() < deadline) {
      std::vector<pollfd> waiting;
      std::vector<ConformancePortRole> roles;
      for (auto& [role, port] : ports_) {
        waiting.push_back({port->fd(), POLLIN, 0});
        roles.push_back(role);
      }
      int remaining = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
      ::poll(waiting.data(), waiting.size(), std::max(1, std::min(remaining, 20)));
      size_t total = 0;
      for (size_t i = 0; i < roles.size(); ++i) {
        std::vector<Packet> packets;
        ports_[roles[i]]->receive_batch(64, packets);
        for (const Packet& packet : packets) {
          std::vector<uint8_t> bytes(packet.bytes().begin(), packet.bytes().end());
          if (is_conformance_link_chatter(bytes)) {
            ++chatter;
            continue;
          }
          out[roles[i]].push_back(std::move(bytes));
        }
      }
      for (const auto& [role, frames] : out) total += frames.size();
      if (!grace_started && enough > 0 && total >= enough) {
        grace_started = true;
        deadline = std::min(deadline, Clock::now() + std::chrono::milliseconds(grace_ms));
      }
    }
  }

 private:
  std::map<ConformancePortRole, std::unique_ptr<AfPacketPort>> ports_;
};

ConformanceCaseResult run_case(Dpif& dpif, const ConformancePortNumbers& ports,
                               const ConformanceDevices& devices, ConformancePeerSockets& sockets,
                               const OffloadConformanceCase& c, size_t index,
                               const ConformanceRunOptions& options) {
  ConformanceCaseResult result;
  result.name = c.name;
  if (c.needs_underlay && !devices.has_underlay()) {
    result.skipped = true;
    result.error = "skipped: VXLAN cases need --underlay and --underlay-peer";
    return result;
  }
  auto match_text = resolve_conformance_placeholders(c.match, ports);
  auto actions_text = resolve_conformance_placeholders(c.actions, ports);
  if (!match_text || !actions_text) {
    result.error = (!match_text ? match_text.status() : actions_text.status()).message();
    return result;
  }
  auto match = parse_match(*match_text);
  auto actions = parse_actions(*actions_text);
  if (!match || !actions) {
    result.error = (!match ? match.status() : actions.status()).message();
    return result;
  }
  DpifFlowPut put;
  put.flow.ufid = conformance_ufid(index);
  put.flow.match = *match;
  put.flow.actions = *actions;
  auto installed = dpif.flow_put(put);
  if (!installed) {
    result.error = "flow_put: " + installed.status().message();
    return result;
  }

  std::map<ConformancePortRole, std::vector<std::vector<uint8_t>>> captured;
  uint64_t chatter = 0;
  sockets.collect(captured, 0, 20, 0, chatter);  // leftovers of earlier cases are not this case's
  captured.clear();
  chatter = 0;

  AfPacketPort* sender = sockets.port(c.sent_on);
  for (const std::vector<uint8_t>& frame : c.sent) {
    Status sent = sender->send(Packet(frame));
    if (!sent.is_ok()) {
      result.error = "send: " + sent.message();
      break;
    }
    ++result.packets_in;
  }
  const size_t wanted = expected_count(c);
  sockets.collect(captured, wanted, wanted == 0 ? options.settle_ms : options.deadline_ms, options.settle_ms,
                  chatter);
  result.link_chatter = chatter;

  auto flow = dpif.flow_get(put.flow.ufid);
  if (flow) {
    result.counters = flow->stats;
    result.placement = megaflow_placement_name(flow->location.placement);
    result.reason = flow->location.reason;
  } else if (result.error.empty()) {
    result.error = "flow_get: " + flow.status().message();
  }
  auto removed = dpif.flow_del(put.flow.ufid);
  if (!removed && result.error.empty()) result.error = "flow_del: " + removed.status().message();

  for (ConformancePortRole role : kAllRoles) {
    ConformanceCapture capture{role, std::move(captured[role])};
    result.packets_out += capture.frames.size();
    result.captured.push_back(std::move(capture));
  }
  result.mismatch = conformance_capture_mismatch(c, result.captured);
  result.as_expected = result.error.empty() && result.mismatch.empty();
  return result;
}

}  // namespace

bool is_conformance_link_chatter(const std::vector<uint8_t>& frame) {
  if (frame.size() < 6) return false;
  if (frame[0] == 0x33 && frame[1] == 0x33) return true;
  return frame[0] == 0x01 && frame[1] == 0x80 && frame[2] == 0xc2 && frame[3] == 0 && frame[4] == 0 &&
         (frame[5] & 0xf0) == 0;
}

std::string conformance_capture_mismatch(const OffloadConformanceCase& expected,
                                         const std::vector<ConformanceCapture>& captured) {
  for (ConformancePortRole role : kAllRoles) {
    const std::vector<ConformanceFrame>* want = nullptr;
    for (const ConformanceExpectedOutput& output : expected.expected)
      if (output.port == role) want = &output.frames;
    const std::vector<std::vector<uint8_t>>* got = nullptr;
    for (const ConformanceCapture& capture : captured)
      if (capture.port == role) got = &capture.frames;
    const size_t want_count = want ? want->size() : 0;
    const size_t got_count = got ? got->size() : 0;
    const std::string port = conformance_port_role_name(role);
    if (want_count != got_count)
      return port + ": " + std::to_string(got_count) + " frames, expected " + std::to_string(want_count);
    for (size_t i = 0; i < want_count; ++i) {
      const ConformanceFrame& frame = (*want)[i];
      const std::vector<uint8_t>& bytes = (*got)[i];
      if (conformance_frame_matches(frame, bytes)) continue;
      std::string where = port + ": frame " + std::to_string(i + 1) + " of " + std::to_string(want_count);
      if (frame.bytes.size() != bytes.size())
        return where + " is " + std::to_string(bytes.size()) + " bytes, expected " +
               std::to_string(frame.bytes.size());
      for (size_t at = 0; at < bytes.size(); ++at)
        if (frame.bytes[at] != bytes[at]) {
          bool ignored = false;
          for (const ConformanceIgnoredBytes& range : frame.ignored)
            ignored = ignored || (at >= range.offset && at < range.offset + range.length);
          if (!ignored) return where + " differs at byte " + std::to_string(at);
        }
    }
  }
  return "";
}

Result<ConformancePortNumbers> add_conformance_ports(Dpif& dpif, const ConformanceDevices& devices,
                                                     const std::string& vxlan_port_name) {
  ConformancePortNumbers ports;
  auto in = dpif.port_add({.name = devices.in, .type = DpifPortType::kSystem});
  if (!in) return Status(in.status().code(), "adding " + devices.in + ": " + in.status().message());
  ports.in = *in;
  auto out = dpif.port_add({.name = devices.out, .type = DpifPortType::kSystem});
  if (!out) return Status(out.status().code(), "adding " + devices.out + ": " + out.status().message());
  ports.out = *out;
  if (devices.has_underlay()) {
    auto vxlan =
        dpif.port_add({.name = vxlan_port_name, .type = DpifPortType::kVxlan, .vxlan_udp_port = 4789});
    if (!vxlan)
      return Status(vxlan.status().code(),
                    "adding VXLAN port " + vxlan_port_name + ": " + vxlan.status().message());
    ports.vxlan = *vxlan;
    ports.has_vxlan = true;
  }
  return ports;
}

Result<ConformanceRun> run_offload_conformance(Dpif& dpif, const ConformancePortNumbers& ports,
                                               const ConformanceDevices& devices,
                                               const std::vector<OffloadConformanceCase>& cases,
                                               std::string label, const ConformanceRunOptions& options) {
  auto sockets = ConformancePeerSockets::open(devices);
  if (!sockets) return sockets.status();
  ConformanceRun run;
  run.label = std::move(label);
  for (size_t i = 0; i < cases.size(); ++i) {
    if (!options.only_case.empty() && cases[i].name != options.only_case) continue;
    run.cases.push_back(run_case(dpif, ports, devices, *sockets, cases[i], i, options));
  }
  return run;
}

}  // namespace flowlift
