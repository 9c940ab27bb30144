// TcOffloadProvider: megaflows as TC flower filters on the ingress device of
// each flow, Open vSwitch's netdev-offload-tc in flowlift's shape. It owns
// the decision chain for one flow and the truth of where each filter lives:
//
//   megaflow --megaflow_to_tc--> rule  (or refused: TC cannot express it)
//            --policy of the device--> skip_sw / none / skip_hw
//            --capability profile--> refused for hardware (reason)
//            --priority per (protocol, mask shape)-->
//            --RTM_NEWTFILTER, echoed--> handle and the kernel's flags
//
// A refusal that leaves no way into TC goes back to the caller (the flow
// then lives in the datapath with the reason). Under policy none a profile
// refusal still installs the filter, with skip_hw, so that TC's software
// path keeps it (placement tc_sw, with the profile's reason): that is what
// "hardware if it can, else TC software" means for a rule the hardware
// cannot take. Under skip_sw it is a refusal.
//
// Placement is never guessed: in_hw needs TCA_CLS_FLAGS_IN_HW (and an
// in_hw_count of at least 1 when the kernel gives one); NOT_IN_HW or skip_hw
// is tc_sw; a filter echoed without flags is unknown.
//
// Counters: dumps give each filter's packets and bytes (TCA_STATS_BASIC,
// which includes what hardware counted) and the hardware's own
// (TCA_STATS_BASIC_HW): TC software = basic - hardware. When a filter has to
// be installed again (its qdisc was deleted), what it had counted is carried
// over so that a flow's counters never go backwards.
//
// Devices: at the first sight of a device the provider removes filters that
// carry a 16-byte action cookie under its clsact ingress (a previous
// flowlift's, left by an unclean exit: flowlift owns its ports' ingress
// hooks, as OVS does) and adds a clsact qdisc there (before traffic: adding
// one mid-traffic briefly stops the device's transmit queues), and later
// keeps it while it holds flows on the device, re-creating it and its
// filters if someone deletes it.
//
// Action counters: each filter's actions get per-CPU counters (the
// kernel's default) or one shared counter (TCA_ACT_FLAGS_NO_PERCPU_STATS),
// per TcActionCounters. Shared counters make installing cheaper (the kernel
// allocates no per-CPU memory under its action table's mutex; its authors
// measured 2.2x more tunnel_key+mirred rules per second) and counting in
// TC's software path costlier (every packet takes the action's spinlock).
// kAuto picks shared counters where software sees little traffic: filters
// installed skip_sw, and filters installed without skip_hw under a hardware
// profile (any profile but tc-software); per-CPU ones for filters that TC
// software carries (skip_hw, or any filter under tc-software).
//
// Threading: the callers' threads (upcall handlers) reach the kernel in
// parallel. cls_flower and clsact run without RTNL, so filters sent from
// several sockets are inserted concurrently; each put() therefore borrows
// its own netlink session from a pool (TcNetlinkSessionPool, at most
// config.most_sessions) and sends its batch as one message train over it.
// The provider's state (held flows, ports, priorities, devices) stays under
// one mutex, which put() releases only while its train is with the kernel;
// a UFID being installed is reserved until its answer is settled, so a
// second put of the same UFID waits for the first (and then sees it held),
// get()/del() of it wait likewise, and the whole-table operations (dump,
// flush, maintain, set_ports) wait until no put is in flight. Lost answers
// are settled from a dump over the same session, as with one session.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "flowlift/offload_provider.h"
#include "offload/capability_profile.h"
#include "offload/tc_filter_codec.h"
#include "offload/tc_flower_rule.h"
#include "offload/tc_netlink_session.h"
#include "offload/tc_netlink_session_pool.h"
#include "offload/tc_port_table.h"
#include "offload/tc_priority_allocator.h"

namespace flowlift {

// "none", "skip_sw", "skip_hw".
Result<TcPolicy> parse_tc_policy(std::string_view text);

// The bytes of each packet TC's software path does not count and the
// datapath does; the provider adds them to its software byte counters (found
// by the offload conformance suite). Flower counts at the ingress hook, where
// skb->len starts at the network header and a received VLAN tag has already
// moved into the skb's metadata; the openvswitch module counts the whole
// frame, tag included (ovs_flow_stats_update adds VLAN_HLEN). Whether
// packets carry a tag is known when the megaflow matches the tag's presence
// bit, as every megaflow Open vSwitch makes does; otherwise untagged is
// assumed. Hardware counters are left as the NIC reports them.
uint64_t tc_software_uncounted_bytes_per_packet(const Match& match);

// Which counters the actions of a filter get (see the file comment).
enum class TcActionCounters : uint8_t {
  kAuto,     // shared for skip_sw filters and hardware profiles' filters, else per-CPU
  kPerCpu,   // always per-CPU: the kernel's default
  kNoPerCpu  // always shared (TCA_ACT_FLAGS_NO_PERCPU_STATS)
};
// "auto", "percpu", "no_percpu" (iproute2's word for the flag).
Result<TcActionCounters> parse_tc_action_counters(std::string_view text);
std::string_view tc_action_counters_name(TcActionCounters counters);

struct TcOffloadConfig {
  TcPolicy default_policy = TcPolicy::kNone;
  std::map<std::string, TcPolicy> device_policies;  // by device name
  std::string profile = "tc-software";              // built-in name or file
  TcActionCounters action_counters = TcActionCounters::kAuto;
  TcNetlinkSessionOptions session;
  // Netlink sessions open at most (one per put() in flight). Each holds a
  // socket with a receive buffer of session.receive_buffer_bytes.
  size_t most_sessions = 4;
  // Opens one more session; TcNetlinkSession::open(session) unless a test
  // gives its own.
  std::function<Result<TcNetlinkSession>()> open_session;
  // Device name -> ifindex; if_nametoindex unless a test gives its own.
  std::function<uint32_t(const std::string&)> resolve_ifindex;
};

class TcOffloadProvider final : public OffloadProvider {
 public:
  // Opens the first rtnetlink session and loads the profile. Errors name the profile or the socket.
  static Result<std::unique_ptr<TcOffloadProvider>> open(TcOffloadConfig config);
  // Over a given first session and profile; more sessions come from
  // config.open_session (tests give scripted ones).
  TcOffloadProvider(TcNetlinkSession session, CapabilityProfile profile, TcOffloadConfig config);

  std::string_view name() const override { return "tc"; }
  void set_ports(std::vector<OffloadPort> ports) override;
  std::vector<OffloadPutResult> put(std::span<const DpifFlowPut> puts) override;
  bool holds(const Ufid& ufid) const override;
  Result<Megaflow> get(const Ufid& ufid) const override;
  Result<Megaflow> del(const Ufid& ufid) override;
  size_t flow_count() const override;
  std::vector<Megaflow> dump() const override;
  Status flush() override;
  std::vector<std::string> maintain() override;

  const CapabilityProfile& profile() const { return profile_; }
  TcPolicy policy_of(const std::string& device) const;
  // Filters found carrying a cookie at first sight of a device, and removed.
  size_t stale_filters_removed() const;
  // Netlink sessions opened, and the most in use at once (puts in flight together).
  size_t sessions_open() const { return sessions_.sessions_open(); }
  size_t most_sessions_in_use_at_once() const { return sessions_.most_lent_at_once(); }

 private:
  // One flow the provider holds: the megaflow, the filter as installed, and
  // where the kernel said it is.
  struct HeldFlow {
    Megaflow flow;
    TcFlowerRule rule;  // handle and priority as installed
    MegaflowPlacement placement = MegaflowPlacement::kUnknown;
    std::string reason;
    // Counted by earlier incarnations of the filter (before a re-install).
    TcFilterStats carried_total, carried_hardware;
    TcFilterStats last_total, last_hardware;
    std::optional<uint64_t> last_used_ms;
  };
  struct UfidHasher {
    size_t operator()(const Ufid& ufid) const { return ufid.hash(); }
  };
  // A put on its way to the kernel.
  struct PendingPut {
    size_t index = 0;  // in the caller's span
    TcFlowerRule rule;
    std::string soft_reason;           // why it is not meant for hardware (skip_hw), if so
    std::optional<HeldFlow> replaced;  // the held flow a modify replaces
  };

  // A UFID whose filter request is with the kernel, not yet settled.
  struct InFlightPut {
    uint32_t ifindex = 0;
    bool counts_for_hardware = false;  // a new flow that may land in hardware (profile limits)
  };

  // One round of put(): sends what it can, returns the indices it deferred
  // because their UFID was in flight. Called and returns with `lock` held;
  // releases it while the kernel works.
  std::vector<size_t> put_round(TcNetlinkSession& session, std::unique_lock<std::mutex>& lock,
                                std::span<const DpifFlowPut> puts, std::span<const size_t> indices,
                                std::vector<OffloadPutResult>& results);
  // Waits (lock held on return) until no put is in flight; puts not yet
  // started wait meanwhile. For the operations over the whole table.
  void wait_until_no_put_in_flight(std::unique_lock<std::mutex>& lock) const;
  void wait_until_settled(std::unique_lock<std::mutex>& lock, const Ufid& ufid) const;

  // Everything below runs under mutex_; `session` is the caller's lease.
  OffloadPutResult refuse(const std::string& reason, int error = 0) const;
  Result<PendingPut> prepare(TcNetlinkSession& session, size_t index, const DpifFlowPut& put);
  bool shared_action_counters_for(TcPolicy installed) const;
  Status ensure_device(TcNetlinkSession& session, uint32_t ifindex, const std::string& device);
  void remove_stale_filters(TcNetlinkSession& session, uint32_t ifindex, const std::string& device);
  OffloadPutResult settle(TcNetlinkSession& session, PendingPut& pending, const DpifFlowPut& put,
                          const TcRequestOutcome& outcome);
  Status delete_filter(TcNetlinkSession& session, const TcFlowerRule& rule);
  // The device's filters that carry a cookie, parsed; errors name the device.
  Result<std::vector<TcParsedFilter>> dump_device(TcNetlinkSession& session, uint32_t ifindex) const;
  void place(HeldFlow& held, const TcParsedFilter& filter) const;
  Megaflow report(const HeldFlow& held) const;
  void absorb_counters(HeldFlow& held, const TcParsedFilter& filter) const;
  size_t rules_in_hardware(std::optional<uint32_t> ifindex) const;

  mutable TcNetlinkSessionPool sessions_;  // has its own lock; borrowed before mutex_ is taken
  mutable std::mutex mutex_;
  mutable std::condition_variable settled_;  // a put settled, or a whole-table operation ended
  std::unordered_map<Ufid, InFlightPut, UfidHasher> in_flight_;
  mutable size_t whole_table_waiting_ = 0;  // operations waiting for in_flight_ to drain
  CapabilityProfile profile_;
  TcOffloadConfig config_;
  TcPortTable ports_;
  TcPriorityAllocator priorities_;
  std::map<uint32_t, std::string> seen_devices_;  // ifindex -> name: stale filters already removed
  std::map<uint32_t, bool> clsact_ready_;         // ifindex -> ensured since the last maintenance check
  mutable std::unordered_map<Ufid, HeldFlow, UfidHasher> held_;
  size_t stale_filters_removed_ = 0;
};

}  // namespace flowlift
