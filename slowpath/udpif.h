// Udpif: the upcall handlers and the revalidator (Open vSwitch's
// ofproto/ofproto-dpif-upcall.c), between one Dpif and the OpenFlow bridges.
//
// Handlers (UdpifConfig::n_handlers threads) take upcalls from the Dpif in
// batches (the Dpif drains its per-port queues round robin, so one port
// cannot starve the others). For each miss:
//   datapath key -> OfFlow (the bridge owning key.in_port, or for a tunnel
//   packet the bridge whose VXLAN port accepts its tunnel metadata)
//   -> translate() at the bridge's current version -> datapath Match
//   (datapath_match_from_megaflow) -> flow_put with a UFID derived from the
//   match, plus a UdpifKey ("ukey") remembering the rules, version and change
//   sequence the flow came from -> execute the packet with the actions.
// Every upcalled packet is executed, also when its flow already exists
// (another handler installed it first: EEXIST is not an error), so packets
// that arrive while their megaflow is being set up are not lost. When the
// datapath holds flow_limit flows or more, misses are translated and
// executed but nothing is installed (OVS's "upcall: datapath flow limit
// reached"). Translations that must stay in userspace (slow_path reasons,
// errors) are executed and installed with the actions OVS installs for them
// (drop for errors).
//
// The revalidator (one thread) runs a round every revalidate_interval_ms,
// and at once when asked (revalidate_now, or a bridge's change sequence
// moved):
//   - dumps the datapath's flows with their counters;
//   - credits each flow's new packets/bytes/used since the last round to the
//     OpenFlow rules it came from (OfTables::credit);
//   - deletes flows idle longer than max_idle_ms, and flows with no ukey;
//   - expires OpenFlow rules (OfTables::expire) on every bridge;
//   - re-translates every flow whose bridge changed since its translation:
//     a flow whose new translation needs bits the installed mask does not
//     have, or that now has a different match, is deleted; one whose actions
//     changed gets the new actions in place (flow_put with modify), so a
//     modified rule takes effect on existing megaflows within one round;
//   - frees retired OpenFlow rules no ukey can still name
//     (OfTables::reclaim at the oldest version a ukey holds);
//   - adjusts the dynamic flow limit as OVS does from the round's duration:
//     over 2 s divides the limit by the seconds taken, over 1.3 s cuts it by
//     a quarter, under 1 s with more flows than the pace allows grows it by
//     1000; never under 1000 nor over the configured flow_limit.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "flowlift/dpif.h"
#include "flowlift/megaflow.h"
#include "flowlift/status.h"
#include "slowpath/of_bridge.h"

namespace flowlift {

struct UdpifConfig {
  size_t n_handlers = 2;
  size_t upcall_batch = 64;           // upcalls one handler takes at a time
  uint32_t flow_limit = 200000;       // OVS's other_config:flow-limit
  uint32_t max_idle_ms = 10000;       // OVS's other_config:max-idle
  uint32_t revalidate_interval_ms = 500;
  bool dynamic_flow_limit = true;
  // The clock of rule times, idle ages and the round's duration, in
  // monotonic milliseconds (the Dpif's FlowStats::used_ms clock). Empty:
  // monotonic_ms(). Tests set their own so that expiry needs no sleeping.
  std::function<uint64_t()> now_ms;
};

struct UdpifStats {
  uint64_t upcalls = 0;               // upcalls taken from the datapath
  uint64_t action_upcalls = 0;        // of them, userspace-action upcalls (no controller: dropped)
  uint64_t flows_installed = 0;
  uint64_t flows_already_present = 0; // put found the flow installed by another handler
  uint64_t limit_refusals = 0;        // misses handled without install: flow limit reached
  uint64_t translation_errors = 0;    // misses whose translation failed (installed as drop)
  uint64_t upcall_errors = 0;         // misses that could not be handled (unknown port, put refused...)
  uint64_t executes = 0;
  uint64_t execute_errors = 0;
  uint64_t revalidation_rounds = 0;
  uint64_t flows_deleted_idle = 0;
  uint64_t flows_deleted_revalidated = 0;   // translation changed the match or needs more bits
  uint64_t flows_modified_revalidated = 0;  // new actions installed in place
  uint64_t rules_expired = 0;               // OpenFlow rules removed by idle/hard timeout
  uint32_t flow_limit = 0;                  // the dynamic limit now
  uint32_t last_dump_duration_ms = 0;
  uint64_t ukeys = 0;
  std::string last_error;                   // the latest upcall or revalidation error, for `counters`
};

// What the upcall layer knows about one installed megaflow (dump-megaflows).
struct UdpifFlowInfo {
  Ufid ufid;
  std::string bridge;
  uint64_t change_sequence = 0;   // the bridge's sequence at the last translation
  std::vector<std::string> rules; // the rules it came from, "table=T,priority=P,MATCH" (OVS dump form)
};

class Udpif {
 public:
  Udpif(Dpif& dpif, OfBridgeSet& bridges, UdpifConfig config);
  ~Udpif();  // stops the threads
  Udpif(const Udpif&) = delete;
  Udpif& operator=(const Udpif&) = delete;

  // Starts the handler and revalidator threads; stop() joins them. Without
  // start(), handle_upcalls() and revalidate() drive everything from the
  // caller (unit tests, benchmarks).
  void start();
  void stop();

  // One handler batch in the calling thread: returns how many upcalls it took.
  size_t handle_upcalls(size_t max);
  // One revalidation round in the calling thread (the threads may be running:
  // rounds never overlap).
  void revalidate();
  // Asks the revalidator thread for a round and waits until one that began
  // after this call has finished (OVS's revalidator/wait).
  void revalidate_and_wait();
  // Deletes every megaflow and ukey (OVS's revalidator/purge); counters of
  // the deleted flows are credited first.
  void purge();

  void set_flow_limit(uint32_t flow_limit);
  void set_max_idle_ms(uint32_t max_idle_ms);
  UdpifConfig config() const;
  UdpifStats stats() const;
  std::vector<UdpifFlowInfo> flow_info() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace flowlift
