#include "offload/tc_offload_provider.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <set>
#include <utility>
#include <variant>

#include "offload/megaflow_to_tc.h"
#include "offload/net_device_driver.h"
#include "offload/offload_decision.h"
#include "offload/tc_qdisc.h"

namespace flowlift {

namespace {

std::string errno_name(int error) { return std::strerror(error); }

// What the kernel said about a refused request: its extack text (the
// driver's, thanks to TCA_CLS_FLAGS_VERBOSE) or, without one, the errno.
std::string kernel_refusal(const TcRequestOutcome& outcome) {
  std::string text = "kernel: ";
  text += outcome.extack.empty() ? errno_name(outcome.error) : outcome.extack;
  if (!outcome.extack.empty()) text += " (" + errno_name(outcome.error) + ")";
  return text;
}

uint64_t counter_share(uint64_t total, uint64_t part) { return total > part ? total - part : 0; }

// What the kernel accepted but did not keep, read from its echo: a filter
// that would act differently from the megaflow. Today one case: Linux before
// 6.3 ignores TCA_TUNNEL_KEY_NO_FRAG, so an encapsulation meant to set DF
// would leave without it (the openvswitch module sets it). Empty when the
// echo holds everything asked for.
std::string setting_the_kernel_dropped(const TcFlowerRule& sent, const TcParsedFilter& echoed) {
  const size_t n = std::min(sent.actions.size(), echoed.rule.actions.size());
  for (size_t i = 0; i < n; ++i) {
    const auto* asked = std::get_if<TcTunnelKeySetAction>(&sent.actions[i]);
    const auto* kept = std::get_if<TcTunnelKeySetAction>(&echoed.rule.actions[i]);
    if (asked && kept && asked->dont_fragment && !kept->dont_fragment)
      return "kernel: tunnel_key set did not keep nofrag (Linux before 6.3 ignores TCA_TUNNEL_KEY_NO_FRAG): "
             "the "
             "encapsulated packets would lose DF";
  }
  return "";
}

bool same_place(const TcFlowerRule& a, const TcFlowerRule& b) {
  return a.ifindex == b.ifindex && a.parent == b.parent && a.chain == b.chain && a.priority == b.priority &&
         a.protocol == b.protocol;
}

}  // namespace

uint64_t tc_software_uncounted_bytes_per_packet(const Match& match) {
  if (match.key.mac_proto != kMacProtoEthernet) return 0;
  uint64_t bytes = 14;  // ETH_HLEN
  if ((ntohs(match.mask.bits().vlan.tci) & kVlanCfi) && (ntohs(match.key.vlan.tci) & kVlanCfi)) bytes += 4;
  return bytes;
}

Result<TcPolicy> parse_tc_policy(std::string_view text) {
  if (text == "none") return TcPolicy::kNone;
  if (text == "skip_sw") return TcPolicy::kSkipSw;
  if (text == "skip_hw") return TcPolicy::kSkipHw;
  return invalid_argument("tc policy " + std::string(text) + ": expected none, skip_sw or skip_hw");
}

Result<TcActionCounters> parse_tc_action_counters(std::string_view text) {
  if (text == "auto") return TcActionCounters::kAuto;
  if (text == "percpu") return TcActionCounters::kPerCpu;
  if (text == "no_percpu") return TcActionCounters::kNoPerCpu;
  return invalid_argument("tc action counters " + std::string(text) + ": expected auto, percpu or no_percpu");
}

std::string_view tc_action_counters_name(TcActionCounters counters) {
  switch (counters) {
    case TcActionCounters::kAuto:
      return "auto";
    case TcActionCounters::kPerCpu:
      return "percpu";
    case TcActionCounters::kNoPerCpu:
      return "no_percpu";
  }
  return "auto";
}

Result<std::unique_ptr<TcOffloadProvider>> TcOffloadProvider::open(TcOffloadConfig config) {
  Result<TcProfileBook> profiles = TcProfileBook::load(config.profile, config.device_profiles);
  if (!profiles) return profiles.status();
  Result<TcNetlinkSession> session = TcNetlinkSession::open(config.session);
  if (!session) return session.status().with_context("tc netlink session");
  return std::make_unique<TcOffloadProvider>(std::move(*session), std::move(*profiles), std::move(config));
}

namespace {

TcNetlinkSessionPool::Opener session_opener(const TcOffloadConfig& config) {
  if (config.open_session) return config.open_session;
  return [options = config.session] { return TcNetlinkSession::open(options); };
}

}  // namespace

TcOffloadProvider::TcOffloadProvider(TcNetlinkSession session, TcProfileBook profiles, TcOffloadConfig config)
    : sessions_(std::move(session), session_opener(config), config.most_sessions),
      profiles_(std::move(profiles)),
      config_(std::move(config)) {
  if (!config_.resolve_ifindex)
    config_.resolve_ifindex = [](const std::string& name) {
      return static_cast<uint32_t>(if_nametoindex(name.c_str()));
    };
  if (!config_.read_driver)
    config_.read_driver = [](const std::string& name) { return net_device_driver(name); };
}

TcDeviceProfile TcOffloadProvider::profile_of(const std::string& device) const {
  if (auto it = device_profiles_.find(device); it != device_profiles_.end()) return it->second;
  return profiles_.choose(device, Status(ENODEV, "not a port the provider was given"));
}

std::vector<TcOffloadDeviceReport> TcOffloadProvider::device_reports() const {
  std::lock_guard lock(mutex_);
  std::vector<TcOffloadDeviceReport> reports;
  for (const auto& [device, chosen] : device_profiles_) {
    TcOffloadDeviceReport report;
    report.device = device;
    report.driver = chosen.driver;
    report.driver_problem = chosen.driver_problem;
    report.profile = chosen.profile->name;
    report.origin = chosen.origin;
    report.policy = policy_of(device);
    report.judged_by = report.policy == TcPolicy::kSkipHw ? profiles_.software()->name : chosen.profile->name;
    reports.push_back(std::move(report));
  }
  return reports;
}

TcPolicy TcOffloadProvider::policy_of(const std::string& device) const {
  auto it = config_.device_policies.find(device);
  return it != config_.device_policies.end() ? it->second : config_.default_policy;
}

size_t TcOffloadProvider::stale_filters_removed() const {
  std::lock_guard lock(mutex_);
  return stale_filters_removed_;
}

void TcOffloadProvider::wait_until_no_put_in_flight(std::unique_lock<std::mutex>& lock) const {
  ++whole_table_waiting_;
  settled_.wait(lock, [this] { return in_flight_.empty(); });
  --whole_table_waiting_;
  // Puts held back by this wait look again (they run once the lock is free).
  settled_.notify_all();
}

void TcOffloadProvider::wait_until_settled(std::unique_lock<std::mutex>& lock, const Ufid& ufid) const {
  settled_.wait(lock, [&] { return in_flight_.count(ufid) == 0; });
}

void TcOffloadProvider::set_ports(std::vector<OffloadPort> ports) {
  Result<TcNetlinkSessionPool::Lease> lease = sessions_.borrow();
  std::unique_lock lock(mutex_);
  wait_until_no_put_in_flight(lock);
  ports_.clear();
  device_profiles_.clear();
  for (const OffloadPort& port : ports) {
    // Dummy ports have no device; a port whose device is gone cannot carry filters.
    if (port.type == DpifPortType::kDummy) continue;
    const uint32_t ifindex = config_.resolve_ifindex(port.name);
    if (ifindex == 0) continue;
    // Asked again at every port change: a device deleted and created again
    // under its name may be another kind of device.
    device_profiles_[port.name] = profiles_.choose(port.name, config_.read_driver(port.name));
    ports_.set(port.number,
               TcPortInfo{ifindex, port.name, port.type == DpifPortType::kVxlan, port.vxlan_udp_port});
    if (!seen_devices_.count(ifindex)) {
      seen_devices_[ifindex] = port.name;
      // Without a session nothing can be removed now; flush() still finds them.
      if (lease) remove_stale_filters(lease->session(), ifindex, port.name);
    }
    // The clsact qdisc now, before traffic, not at the port's first filter
    // (Open vSwitch likewise adds its ingress qdisc at port add): grafting
    // it deactivates the device's transmit queues for a moment
    // (qdisc_graft calls dev_deactivate for an ingress-slot qdisc as for a
    // root one, Linux 6.1 net/sched/sch_api.c), and packets other filters
    // redirect to the device then are dropped (mirred counts them as
    // overlimits, the kernel logs nothing). Most likely how the lab's switch
    // test lost bursts: an ARP drop filter, the first on its egress port,
    // was put mid-burst. A failure here (an `ingress` qdisc in the slot) is
    // reported by the first put on the device.
    if (lease) (void)ensure_device(lease->session(), ifindex, port.name);
  }
}

void TcOffloadProvider::remove_stale_filters(TcNetlinkSession& session, uint32_t ifindex,
                                             const std::string& device) {
  Result<bool> present = has_clsact(session, ifindex);
  if (!present || !*present) return;  // no hook, no filters; nothing to create for now
  Result<std::vector<TcParsedFilter>> filters = dump_device(session, ifindex);
  if (!filters) return;
  std::vector<std::vector<uint8_t>> deletes;
  for (TcParsedFilter& filter : *filters) {
    filter.rule.ifindex = ifindex;
    filter.rule.device = device;
    deletes.push_back(encode_tc_filter_delete(filter.rule, 0));
  }
  for (const TcRequestOutcome& outcome : session.transact(deletes))
    if (outcome.error == 0 && !outcome.lost) ++stale_filters_removed_;
}

OffloadPutResult TcOffloadProvider::refuse(const std::string& reason, int error) const {
  return OffloadPutResult{MegaflowPlacement::kDatapath, reason, error};
}

size_t TcOffloadProvider::rules_in_hardware(std::optional<uint32_t> ifindex) const {
  size_t count = 0;
  for (const auto& [ufid, held] : held_)
    if (held.placement == MegaflowPlacement::kInHardware && (!ifindex || held.rule.ifindex == *ifindex))
      ++count;
  // New flows on their way may land in hardware too: counted, so that
  // concurrent batches cannot together pass a profile's limit.
  for (const auto& [ufid, put] : in_flight_)
    if (put.counts_for_hardware && (!ifindex || put.ifindex == *ifindex)) ++count;
  return count;
}

size_t TcOffloadProvider::rules_in_hardware_judged_by(const std::string& profile) const {
  size_t count = 0;
  for (const auto& [ufid, held] : held_) {
    if (held.placement != MegaflowPlacement::kInHardware) continue;
    auto device = device_profiles_.find(held.rule.device);
    if (device != device_profiles_.end() && device->second.profile->name == profile) ++count;
  }
  // As rules_in_hardware: puts on their way count too.
  for (const auto& [ufid, put] : in_flight_)
    if (put.counts_for_hardware && put.profile == profile) ++count;
  return count;
}

bool TcOffloadProvider::shared_action_counters_for(TcPolicy installed, const std::string& device_profile) const {
  switch (config_.action_counters) {
    case TcActionCounters::kPerCpu:
      return false;
    case TcActionCounters::kNoPerCpu:
      return true;
    case TcActionCounters::kAuto:
      break;
  }
  if (installed == TcPolicy::kSkipSw) return true;  // software never runs the actions
  // Without skip_hw under a hardware profile the NIC carries (and counts)
  // the traffic; TC software sees what it misses.
  return installed == TcPolicy::kNone && device_profile != profiles_.software()->name;
}

Status TcOffloadProvider::ensure_device(TcNetlinkSession& session, uint32_t ifindex,
                                        const std::string& device) {
  if (clsact_ready_[ifindex]) return Status::ok();
  Status status = ensure_clsact(session, ifindex);
  if (!status) return status.with_context("cannot add a clsact qdisc to " + device);
  clsact_ready_[ifindex] = true;
  return Status::ok();
}

Result<TcOffloadProvider::PendingPut> TcOffloadProvider::prepare(TcNetlinkSession& session, size_t index,
                                                                 const DpifFlowPut& put) {
  PendingPut pending;
  pending.index = index;
  Result<TcFlowerRule> rule = megaflow_to_tc(put.flow, ports_);
  if (!rule) return Status(EOPNOTSUPP, "tc: " + rule.status().message());
  pending.rule = std::move(*rule);
  TcFlowerRule& filter = pending.rule;

  const TcPolicy policy = policy_of(filter.device);
  filter.policy = policy;
  // TC's software path is the kernel's own flower: tc-software judges what
  // goes there, whatever NIC the device is. Rules in hardware do not count
  // against it (software flower has no rule limit of its own).
  const CapabilityProfile& software = *profiles_.software();
  if (policy == TcPolicy::kSkipHw) {
    OffloadDecision in_software = decide_offload(filter, software, OffloadUsage{});
    if (!in_software.accepted) return Status(EOPNOTSUPP, in_software.reason + " (policy skip_hw)");
    pending.soft_reason = "policy skip_hw on " + filter.device;
  } else {
    const TcDeviceProfile device = profile_of(filter.device);
    OffloadUsage usage;
    usage.rules_on_device = rules_in_hardware_judged_by(device.profile->name);
    usage.rules_on_port = rules_in_hardware(filter.ifindex);
    OffloadDecision decision = decide_offload(filter, *device.profile, usage);
    if (!decision.accepted) {
      if (policy == TcPolicy::kSkipSw) return Status(EOPNOTSUPP, decision.reason + " (policy skip_sw)");
      // Policy none: TC's software path takes what the hardware cannot,
      // when the kernel's flower can (the device's profile may be
      // tc-software itself: then its refusal is final).
      if (device.profile->name != software.name) {
        OffloadDecision in_software = decide_offload(filter, software, OffloadUsage{});
        if (!in_software.accepted) return Status(EOPNOTSUPP, decision.reason + "; " + in_software.reason);
      } else {
        return Status(EOPNOTSUPP, decision.reason);
      }
      filter.policy = TcPolicy::kSkipHw;
      pending.soft_reason = decision.reason;
    }
  }

  filter.actions_without_percpu_stats =
      shared_action_counters_for(filter.policy, profile_of(filter.device).profile->name);

  Result<uint16_t> priority = priorities_.priority_for(filter);
  if (!priority) return Status(priority.status().code(), "tc: " + priority.status().message());
  filter.priority = *priority;
  if (Status ready = ensure_device(session, filter.ifindex, filter.device); !ready)
    return Status(ready.code(), "tc: " + ready.message());
  return pending;
}

void TcOffloadProvider::place(HeldFlow& held, const TcParsedFilter& filter) const {
  held.rule.handle = filter.rule.handle;
  const bool counted_in_hw = !filter.in_hw_count || *filter.in_hw_count >= 1;
  if (!filter.has_flags) {
    held.placement = MegaflowPlacement::kUnknown;
    held.reason = "the kernel reported no flags for the filter";
  } else if (filter.in_hw && counted_in_hw) {
    held.placement = MegaflowPlacement::kInHardware;
    held.reason.clear();
  } else {
    held.placement = MegaflowPlacement::kTcSoftware;
    if (held.reason.empty()) held.reason = "kernel: not in hardware (NOT_IN_HW)";
  }
}

OffloadPutResult TcOffloadProvider::settle(TcNetlinkSession& session, PendingPut& pending,
                                           const DpifFlowPut& put, const TcRequestOutcome& outcome) {
  const Ufid& ufid = put.flow.ufid;
  std::optional<TcParsedFilter> installed;
  if (outcome.lost) {
    // The kernel's answer was dropped (overrun): whether the filter is there
    // is read from the device itself, never assumed.
    Result<std::vector<TcParsedFilter>> filters = dump_device(session, pending.rule.ifindex);
    if (filters) {
      for (TcParsedFilter& filter : *filters)
        if (filter.rule.cookie == ufid && same_place(filter.rule, pending.rule))
          installed = std::move(filter);
    }
    if (!installed) {
      // Not there: send it once more, alone.
      TcRequestOutcome again =
          session.transact_one(encode_tc_filter_new(pending.rule, TcFilterWrite::kCreate, 0));
      if (again.lost || again.error) {
        held_.erase(ufid);
        return refuse(again.lost ? "tc: the kernel's answer was lost twice (" + again.lost_reason + ")"
                                 : kernel_refusal(again));
      }
      Result<TcParsedFilter> parsed = parse_tc_filter_message(again.echoed);
      if (parsed) installed = std::move(*parsed);
    }
  } else if (outcome.error) {
    if (pending.replaced) {
      // A refused replace leaves the old filter in place: remove it, so that
      // a refusal leaves nothing of the flow behind.
      (void)delete_filter(session, pending.replaced->rule);
    }
    held_.erase(ufid);
    return refuse(kernel_refusal(outcome), outcome.error == EEXIST ? EEXIST : 0);
  } else {
    Result<TcParsedFilter> parsed = parse_tc_filter_message(outcome.echoed);
    if (parsed) installed = std::move(*parsed);
  }

  if (installed) {
    if (std::string lost = setting_the_kernel_dropped(pending.rule, *installed); !lost.empty()) {
      TcFlowerRule placed = pending.rule;
      placed.handle = installed->rule.handle;
      (void)delete_filter(session, placed);
      held_.erase(ufid);
      return refuse(lost);
    }
  }

  HeldFlow held;
  if (pending.replaced) {
    held = std::move(*pending.replaced);
    // A replaced filter comes with new actions, whose counters start at
    // zero (even under NLM_F_REPLACE): the flow's counters continue from
    // what the old ones had counted.
    held.carried_total.packets += held.last_total.packets;
    held.carried_total.bytes += held.last_total.bytes;
    held.carried_hardware.packets += held.last_hardware.packets;
    held.carried_hardware.bytes += held.last_hardware.bytes;
    held.last_total = held.last_hardware = {};
  }
  held.flow.ufid = ufid;
  held.flow.match = put.flow.match;
  held.flow.actions = put.flow.actions;
  held.rule = pending.rule;
  held.reason = pending.soft_reason;
  if (installed) {
    place(held, *installed);
  } else {
    // Acknowledged without an echo we could read: in TC, but where is unknown.
    held.placement = MegaflowPlacement::kUnknown;
    held.reason = "no readable echo from the kernel";
  }
  if (!pending.soft_reason.empty() && held.placement == MegaflowPlacement::kTcSoftware)
    held.reason = pending.soft_reason;
  OffloadPutResult result{held.placement, held.reason, 0};
  held_[ufid] = std::move(held);
  return result;
}

std::vector<OffloadPutResult> TcOffloadProvider::put(std::span<const DpifFlowPut> puts) {
  std::vector<OffloadPutResult> results(puts.size());
  // The session first, the lock second: waiting for a session while holding
  // the lock would keep the session's holder from settling and returning it.
  Result<TcNetlinkSessionPool::Lease> lease = sessions_.borrow();
  if (!lease) {
    for (OffloadPutResult& result : results) result = refuse("tc: " + lease.status().message());
    return results;
  }
  std::unique_lock lock(mutex_);
  settled_.wait(lock, [this] { return whole_table_waiting_ == 0; });
  std::vector<size_t> round(puts.size());
  std::iota(round.begin(), round.end(), size_t{0});
  while (!round.empty()) {
    std::vector<size_t> deferred = put_round(lease->session(), lock, puts, round, results);
    if (deferred.empty()) break;
    // Their UFIDs were being installed (by another caller, or earlier in this
    // batch): once that is settled they are handled as if they came after it.
    settled_.wait(lock, [&] {
      if (whole_table_waiting_ != 0) return false;
      for (size_t i : deferred)
        if (in_flight_.count(puts[i].flow.ufid)) return false;
      return true;
    });
    round = std::move(deferred);
  }
  return results;
}

std::vector<size_t> TcOffloadProvider::put_round(TcNetlinkSession& session,
                                                 std::unique_lock<std::mutex>& lock,
                                                 std::span<const DpifFlowPut> puts,
                                                 std::span<const size_t> indices,
                                                 std::vector<OffloadPutResult>& results) {
  std::vector<size_t> deferred;
  std::vector<PendingPut> pending;
  std::vector<std::vector<uint8_t>> requests;
  for (size_t i : indices) {
    const DpifFlowPut& put = puts[i];
    if (in_flight_.count(put.flow.ufid)) {
      deferred.push_back(i);
      continue;
    }
    auto held = held_.find(put.flow.ufid);
    if (held != held_.end() && !put.modify) {
      results[i] = refuse("tc: the flow is already offloaded", EEXIST);
      continue;
    }
    Result<PendingPut> prepared = prepare(session, i, put);
    if (!prepared) {
      if (held != held_.end()) {
        (void)delete_filter(session, held->second.rule);
        held_.erase(held);
      }
      results[i] = refuse(prepared.status().message());
      continue;
    }
    TcFilterWrite write = TcFilterWrite::kCreate;
    if (held != held_.end()) {
      prepared->replaced = held->second;
      if (same_place(held->second.rule, prepared->rule)) {
        prepared->rule.handle = held->second.rule.handle;
        write = TcFilterWrite::kReplace;
      } else {
        // Another priority or chain: the new filter goes in beside the old
        // one, which goes once the new one is in.
        (void)delete_filter(session, held->second.rule);
      }
    }
    in_flight_[put.flow.ufid] =
        InFlightPut{prepared->rule.ifindex, held == held_.end() && prepared->rule.policy != TcPolicy::kSkipHw,
                    profile_of(prepared->rule.device).profile->name};
    requests.push_back(encode_tc_filter_new(prepared->rule, write, 0));
    pending.push_back(std::move(*prepared));
  }
  if (requests.empty()) return deferred;
  // The kernel's part, the long one, without the lock: other callers'
  // batches go to the kernel meanwhile over their own sessions.
  lock.unlock();
  std::vector<TcRequestOutcome> outcomes = session.transact(requests);
  lock.lock();
  for (size_t k = 0; k < pending.size(); ++k) {
    const DpifFlowPut& put = puts[pending[k].index];
    results[pending[k].index] = settle(session, pending[k], put, outcomes[k]);
    in_flight_.erase(put.flow.ufid);
  }
  settled_.notify_all();
  return deferred;
}

bool TcOffloadProvider::holds(const Ufid& ufid) const {
  std::lock_guard lock(mutex_);
  return held_.count(ufid) != 0;
}

size_t TcOffloadProvider::flow_count() const {
  std::lock_guard lock(mutex_);
  return held_.size();
}

void TcOffloadProvider::absorb_counters(HeldFlow& held, const TcParsedFilter& filter) const {
  held.last_total = filter.total;
  held.last_hardware = filter.hardware;
  if (filter.last_used_ms_ago && (filter.total.packets > 0)) {
    const uint64_t now = monotonic_ms();
    held.last_used_ms = now > *filter.last_used_ms_ago ? now - *filter.last_used_ms_ago : 1;
  }
}

Megaflow TcOffloadProvider::report(const HeldFlow& held) const {
  Megaflow flow = held.flow;
  const uint64_t total_packets = held.carried_total.packets + held.last_total.packets;
  const uint64_t total_bytes = held.carried_total.bytes + held.last_total.bytes;
  const uint64_t hardware_packets = held.carried_hardware.packets + held.last_hardware.packets;
  const uint64_t hardware_bytes = held.carried_hardware.bytes + held.last_hardware.bytes;
  flow.stats.packets = total_packets;
  flow.stats.used_ms = held.last_used_ms.value_or(0);
  flow.location.placement = held.placement;
  flow.location.reason = held.reason;
  flow.location.provider = "tc";
  flow.location.hardware = FlowStats{hardware_packets, hardware_bytes, 0, 0};
  // So that a megaflow's bytes mean the same in every place, each packet TC
  // counted in software gets back what its count leaves out and the
  // datapath's includes: the Ethernet header, and a received VLAN tag (see
  // tc_software_uncounted_bytes_per_packet). Hardware counters are the NIC's
  // own and are taken as they come.
  const uint64_t software_packets = counter_share(total_packets, hardware_packets);
  const uint64_t software_bytes = counter_share(total_bytes, hardware_bytes) +
                                  software_packets * tc_software_uncounted_bytes_per_packet(held.flow.match);
  flow.stats.bytes = hardware_bytes + software_bytes;
  flow.location.tc_software = FlowStats{software_packets, software_bytes, 0, 0};
  return flow;
}

Result<std::vector<TcParsedFilter>> TcOffloadProvider::dump_device(TcNetlinkSession& session,
                                                                   uint32_t ifindex) const {
  Result<std::vector<std::vector<uint8_t>>> messages =
      session.dump(encode_tc_filter_dump(ifindex, kTcIngressParent, 0));
  if (!messages) return messages.status();
  std::vector<TcParsedFilter> filters;
  for (const std::vector<uint8_t>& message : *messages) {
    Result<TcParsedFilter> filter = parse_tc_filter_message(message);
    // Other classifiers and the per-priority headers are not ours; a flower
    // filter we cannot read is not ours either (ours use only what we model).
    if (!filter || !filter->has_cookie) continue;
    filters.push_back(std::move(*filter));
  }
  return filters;
}

Result<Megaflow> TcOffloadProvider::get(const Ufid& ufid) const {
  Result<TcNetlinkSessionPool::Lease> lease = sessions_.borrow();
  std::unique_lock lock(mutex_);
  wait_until_settled(lock, ufid);
  auto it = held_.find(ufid);
  if (it == held_.end()) return Status(ENOENT, "flow is not offloaded");
  HeldFlow& held = it->second;
  if (!lease) return report(held);  // the last counters read
  TcRequestOutcome outcome = lease->session().transact_one(encode_tc_filter_get(held.rule, 0));
  if (!outcome.lost && !outcome.error) {
    Result<TcParsedFilter> filter = parse_tc_filter_message(outcome.echoed);
    if (filter) {
      place(held, *filter);
      absorb_counters(held, *filter);
    }
  }
  return report(held);
}

Status TcOffloadProvider::delete_filter(TcNetlinkSession& session, const TcFlowerRule& rule) {
  TcRequestOutcome outcome = session.transact_one(encode_tc_filter_delete(rule, 0));
  if (outcome.lost)
    return Status(EIO, "tc: deleting the filter on " + rule.device + ": " + outcome.lost_reason);
  // Already gone (ENOENT), or its device is (ENODEV): nothing left to delete.
  if (outcome.error && outcome.error != ENOENT && outcome.error != ENODEV)
    return Status(outcome.error,
                  "tc: deleting the filter on " + rule.device + ": " + kernel_refusal(outcome));
  return Status::ok();
}

Result<Megaflow> TcOffloadProvider::del(const Ufid& ufid) {
  Result<TcNetlinkSessionPool::Lease> lease = sessions_.borrow();
  if (!lease) return Status(lease.status().code(), "tc: " + lease.status().message());
  TcNetlinkSession& session = lease->session();
  std::unique_lock lock(mutex_);
  wait_until_settled(lock, ufid);
  auto it = held_.find(ufid);
  if (it == held_.end()) return Status(ENOENT, "flow is not offloaded");
  HeldFlow& held = it->second;
  // The final counters first, as OVS reads a filter's stats before deleting it.
  TcRequestOutcome got = session.transact_one(encode_tc_filter_get(held.rule, 0));
  if (!got.lost && !got.error) {
    Result<TcParsedFilter> filter = parse_tc_filter_message(got.echoed);
    if (filter) absorb_counters(held, *filter);
  }
  Megaflow last = report(held);
  Status deleted = delete_filter(session, held.rule);
  if (!deleted) return deleted;
  held_.erase(it);
  return last;
}

std::vector<Megaflow> TcOffloadProvider::dump() const {
  Result<TcNetlinkSessionPool::Lease> lease = sessions_.borrow();
  std::unique_lock lock(mutex_);
  wait_until_no_put_in_flight(lock);
  std::set<uint32_t> devices;
  // Without a session the flows keep their last counters, shown as missing.
  if (lease)
    for (const auto& [ufid, held] : held_) devices.insert(held.rule.ifindex);
  std::unordered_map<Ufid, bool, UfidHasher> seen;
  for (uint32_t ifindex : devices) {
    Result<std::vector<TcParsedFilter>> filters = dump_device(lease->session(), ifindex);
    if (!filters) continue;  // the flows keep their last counters; maintain() reports the device
    for (const TcParsedFilter& filter : *filters) {
      auto it = held_.find(filter.rule.cookie);
      if (it == held_.end() || it->second.rule.ifindex != ifindex) continue;
      place(it->second, filter);
      absorb_counters(it->second, filter);
      seen[filter.rule.cookie] = true;
    }
  }
  std::vector<Megaflow> flows;
  flows.reserve(held_.size());
  for (const auto& [ufid, held] : held_) {
    Megaflow flow = report(held);
    if (!seen.count(ufid)) {
      flow.location.placement = MegaflowPlacement::kUnknown;
      flow.location.reason =
          "the filter is missing from TC on " + held.rule.device + " (maintenance re-installs it)";
    }
    flows.push_back(std::move(flow));
  }
  return flows;
}

Status TcOffloadProvider::flush() {
  Result<TcNetlinkSessionPool::Lease> lease = sessions_.borrow();
  if (!lease) return Status(lease.status().code(), "tc: " + lease.status().message());
  TcNetlinkSession& session = lease->session();
  std::unique_lock lock(mutex_);
  wait_until_no_put_in_flight(lock);
  Status first;
  for (const auto& [ifindex, device] : seen_devices_) {
    Result<bool> present = has_clsact(session, ifindex);
    if (!present || !*present) continue;
    Result<std::vector<TcParsedFilter>> filters = dump_device(session, ifindex);
    if (!filters) {
      if (first) first = filters.status().with_context("tc: dumping " + device);
      continue;
    }
    for (TcParsedFilter& filter : *filters) {
      filter.rule.device = device;
      Status deleted = delete_filter(session, filter.rule);
      if (!deleted && first) first = deleted;
    }
  }
  held_.clear();
  return first;
}

std::vector<std::string> TcOffloadProvider::maintain() {
  Result<TcNetlinkSessionPool::Lease> lease = sessions_.borrow();
  if (!lease) return {"tc: " + lease.status().message()};
  TcNetlinkSession& session = lease->session();
  std::unique_lock lock(mutex_);
  wait_until_no_put_in_flight(lock);
  std::vector<std::string> problems;
  std::map<uint32_t, std::vector<Ufid>> by_device;
  for (const auto& [ufid, held] : held_) by_device[held.rule.ifindex].push_back(ufid);
  for (auto& [ifindex, ufids] : by_device) {
    const std::string device = held_.at(ufids.front()).rule.device;
    Result<bool> present = has_clsact(session, ifindex);
    if (!present) {
      problems.push_back("cannot read the qdiscs of " + device + ": " + present.status().message());
      continue;
    }
    std::set<std::array<uint8_t, 16>> in_tc;
    if (!*present) {
      clsact_ready_[ifindex] = false;
      if (Status ready = ensure_device(session, ifindex, device); !ready) {
        problems.push_back("the clsact qdisc of " + device +
                           " was deleted and cannot be re-created: " + ready.message());
        continue;
      }
    } else {
      Result<std::vector<TcParsedFilter>> filters = dump_device(session, ifindex);
      if (!filters) {
        problems.push_back("cannot dump the filters of " + device + ": " + filters.status().message());
        continue;
      }
      for (const TcParsedFilter& filter : *filters) in_tc.insert(filter.rule.cookie.bytes);
    }
    // Re-install what is missing, counters carried over.
    std::vector<std::vector<uint8_t>> requests;
    std::vector<Ufid> reinstalled;
    for (const Ufid& ufid : ufids) {
      if (in_tc.count(ufid.bytes)) continue;
      HeldFlow& held = held_.at(ufid);
      held.carried_total.packets += held.last_total.packets;
      held.carried_total.bytes += held.last_total.bytes;
      held.carried_hardware.packets += held.last_hardware.packets;
      held.carried_hardware.bytes += held.last_hardware.bytes;
      held.last_total = held.last_hardware = {};
      TcFlowerRule rule = held.rule;
      rule.handle = 0;
      requests.push_back(encode_tc_filter_new(rule, TcFilterWrite::kCreate, 0));
      reinstalled.push_back(ufid);
    }
    if (requests.empty()) continue;
    std::vector<TcRequestOutcome> outcomes = session.transact(requests);
    size_t failed = 0;
    for (size_t k = 0; k < outcomes.size(); ++k) {
      HeldFlow& held = held_.at(reinstalled[k]);
      Result<TcParsedFilter> filter = parse_tc_filter_message(outcomes[k].echoed);
      if (outcomes[k].error || outcomes[k].lost || !filter) {
        ++failed;
        continue;
      }
      place(held, *filter);
    }
    problems.push_back(std::string(*present ? "" : "the clsact qdisc of " + device + " had been deleted; ") +
                       std::to_string(reinstalled.size() - failed) + " of " +
                       std::to_string(reinstalled.size()) + " missing filters re-installed on " + device);
  }
  return problems;
}

}  // namespace flowlift
