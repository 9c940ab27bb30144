// TcOffloadProvider: megaflows as TC flower filters on the ingress device of
// each flow, Open vSwitch's netdev-offload-tc in flowlift's shape. It owns
// the decision chain for one flow and the truth of where each filter lives:
//
//   megaflow --megaflow_to_tc--> rule  (or refused: TC cannot express it)
//            --policy of the device--> skip_sw / none / skip_hw
//            --the device's capability profile--> refused for hardware (reason)
//            --tc-software, for what goes to TC's software path--> refused (reason)
//            --priority per (protocol, mask shape)-->
//            --RTM_NEWTFILTER, echoed--> handle and the kernel's flags
//
// Each device has its own profile (tc_profile_book.h: DEV= given, else by
// the device's driver, else the daemon-wide default), read at set_ports; a
// refusal names the profile that refused ("refused by profile ice-e810:
// ..."). A refusal that leaves no way into TC goes back to the caller (the
// flow then lives in the datapath with the reason). Under policy none a
// hardware profile's refusal still installs the filter, with skip_hw, so
// that TC's software path keeps it (placement tc_sw, with the profile's
// reason): that is what "hardware if it can, else TC software" means for a
// rule the hardware cannot take. Under skip_sw it is a refusal. Whatever
// goes to TC's software path (skip_hw, or that fallback) is judged by
// tc-software, the kernel's own flower, whatever the device's NIC.
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
#include "offload/tc_profile_book.h"

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
  // The daemon-wide profile (built-in name or file): for devices with no
  // profile of their own and a driver no built-in profile names.
  std::string profile = "tc-software";
  std::map<std::string, std::string> device_profiles;  // device name -> built-in name or file
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
  // Device name -> its driver; net_device_driver unless a test gives its own.
  std::function<Result<std::string>(const std::string&)> read_driver;
};

// One offload device as the provider judges it, for `flowlift show`.
struct TcOffloadDeviceReport {
  std::string device;
  std::string driver;          // empty when unknown
  std::string driver_problem;  // why it is unknown
  std::string profile;         // the device's own profile
  TcProfileOrigin origin = TcProfileOrigin::kDefault;
  TcPolicy policy = TcPolicy::kNone;
  std::string judged_by;  // the profile that judges its filters: tc-software under skip_hw
};

class TcOffloadProvider final : public OffloadProvider {
 public:
  // Opens the first rtnetlink session and loads the profiles
  // (TcProfileBook::load). Errors name the profile (and its device) or the socket.
  static Result<std::unique_ptr<TcOffloadProvider>> open(TcOffloadConfig config);
  // Over a given first session and profiles (tests); config.profile and
  // config.device_profiles are not read, and more sessions come from
  // config.open_session (tests give scripted ones).
  TcOffloadProvider(TcNetlinkSession session, TcProfileBook profiles, TcOffloadConfig config);

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

  const TcProfileBook& profiles() const { return profiles_; }
  // The profile of each device set_ports gave, with its driver and policy.
  std::vector<TcOffloadDeviceReport> device_reports() const;
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
    std::string profile;               // the profile judging its device, for NIC-wide limits
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
  // Whether a filter installed with `installed` on a device whose own
  // profile is `device_profile` gets shared (no_percpu) action counters.
  bool shared_action_counters_for(TcPolicy installed, const std::string& device_profile) const;
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
  // The NIC-wide rule count a profile's rules_per_device bounds: flowlift
  // cannot tell which ports share one physical NIC (that is the switchdev
  // parent id, not read here), so it counts the rules in hardware on every
  // device judged by the same profile: two NICs of one model share one
  // count, which errs on the side of refusing early.
  size_t rules_in_hardware_judged_by(const std::string& profile) const;
  // The device's choice; the daemon-wide default for a device set_ports did not give.
  TcDeviceProfile profile_of(const std::string& device) const;

  mutable TcNetlinkSessionPool sessions_;  // has its own lock; borrowed before mutex_ is taken
  mutable std::mutex mutex_;
  mutable std::condition_variable settled_;  // a put settled, or a whole-table operation ended
  std::unordered_map<Ufid, InFlightPut, UfidHasher> in_flight_;
  mutable size_t whole_table_waiting_ = 0;  // operations waiting for in_flight_ to drain
  TcProfileBook profiles_;
  TcOffloadConfig config_;
  std::map<std::string, TcDeviceProfile> device_profiles_;  // by device name, chosen at set_ports
  TcPortTable ports_;
  TcPriorityAllocator priorities_;
  std::map<uint32_t, std::string> seen_devices_;  // ifindex -> name: stale filters already removed
  std::map<uint32_t, bool> clsact_ready_;         // ifindex -> ensured since the last maintenance check
  mutable std::unordered_map<Ufid, HeldFlow, UfidHasher> held_;
  size_t stale_filters_removed_ = 0;
};

}  // namespace flowlift
