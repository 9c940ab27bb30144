// Udpif: upcall handlers and the revalidator (see udpif.h for what they do).
//
// What this file owns: the ukeys (UdpifKey, one per megaflow this layer
// installed), the handler and revalidator threads, and the counters.
//
// Locks, and the one order they are taken in (never the other way round):
//
//   round_mutex  ->  a bridge's shared_mutex  ->  ukeys_mutex  ->  error_mutex
//
//   - round_mutex: one revalidation round (or purge, or flow_info) at a time.
//     Every field of a published ukey that can change (installed actions,
//     rules, version, change sequence, credited counters) is written only
//     under it, so rounds need no per-ukey lock.
//   - a bridge's lock: shared to translate or credit, exclusive to expire
//     or reclaim rules. At most one bridge's lock is held at any time.
//   - ukeys_mutex: the ukey map (insert, erase, snapshot); held only for
//     map operations, never across a Dpif call or a bridge lock.
//   - control_mutex (threads, round requests and round numbers) and
//     error_mutex (last_error) are leaves: nothing is locked under them.
// Dpif calls are made with no bridge lock and no ukeys_mutex held.
//
// Why handlers create the ukey under the bridge's shared lock: the ukey
// names the rules the translation used and the version it read them at.
// Reclaiming retired rules takes the exclusive lock and then looks for the
// oldest version any ukey of the bridge holds; a ukey published before the
// shared lock is released is therefore always seen, and its rules stay
// allocated as long as it does.
//
// Why a ukey is published (pending) before its flow is put: the round
// deletes every dumped flow that has no ukey; putting first would let a round
// that dumps between the put and the ukey delete a brand-new flow. A pending
// ukey whose put fails is withdrawn again.
#include "slowpath/udpif.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <map>
#include <set>
#include <shared_mutex>
#include <utility>

#include "flowlift/masked_words.h"
#include "flowlift/thread_name.h"
#include "slowpath/of_flow_key.h"
#include "slowpath/of_flow_syntax.h"
#include "slowpath/oracle_trace_replay.h"
#include "slowpath/slow_path_cookie.h"
#include "slowpath/udpif_key_index.h"
#include "slowpath/udpif_lookup_hints.h"
#include "slowpath/udpif_round_policy.h"
#include "slowpath/xlate.h"

namespace flowlift {

namespace {

// How long an idle handler sleeps in wait_for_upcalls before it looks at
// the stop flag again, and how often the revalidator looks at the bridges'
// change sequences between rounds.
constexpr std::chrono::milliseconds kHandlerWaitTimeout{100};
constexpr std::chrono::milliseconds kRevalidatorTick{20};
// How much longer than max_idle a flow in hardware may look idle before it
// is deleted: a NIC's counters reach TC in periodic batches (mlx5 polls its
// flow counters about once a second), so a busy offloaded flow can show an
// old `used` for a while. Open vSwitch allows 2 s for the same reason. Flows
// in TC's software path or the datapath are counted as packets pass.
uint64_t stats_lag_ms(MegaflowPlacement placement) {
  return placement == MegaflowPlacement::kInHardware || placement == MegaflowPlacement::kUnknown ? 2000 : 0;
}

// OVS's max_idle while the datapath holds more flows than the limit.
constexpr uint64_t kOverLimitMaxIdleMs = 100;

// Conntrack is FlowKey's tail (flow_key.h). A ukey's packet key has none
// (of_flow_from_key refuses keys with conntrack fields, so no ukey is made
// for them) and neither has its mask (datapath_match_from_megaflow never
// sets them; prepare_miss checks the mask), so a ukey keeps only the bytes
// before the tail. The 144 bytes saved put a ukey with its shared_ptr
// control block in the allocator's 640-byte size class instead of 768,
// whose slabs hold half as many objects: at 768 bytes, allocating the ukey
// cost ~310 instructions per setup in jemalloc's refill and slab paths.
constexpr size_t kUkeyKeyBytes = offsetof(FlowKey, ct_state);
static_assert(kUkeyKeyBytes % 8 == 0);

bool conntrack_tail_is_zero(const FlowKey& key) {
  static constexpr std::array<uint8_t, sizeof(FlowKey) - kUkeyKeyBytes> kZeros{};
  return std::memcmp(reinterpret_cast<const uint8_t*>(&key) + kUkeyKeyBytes, kZeros.data(), kZeros.size()) ==
         0;
}

// One megaflow this layer installed (OVS's struct udpif_key).
struct UdpifKey {
  // Key and mask are copied in as the ukey is made (their conntrack tails
  // must be zero: see kUkeyKeyBytes).
  UdpifKey(const FlowKey& packet_key_, const FlowMask& mask_) {
    std::memcpy(packet_key_head.data(), &packet_key_, kUkeyKeyBytes);
    std::memcpy(mask_head.data(), &mask_.bits(), kUkeyKeyBytes);
  }

  Ufid ufid;
  // Not a shared_ptr: copying one was an atomic increment (and a decrement
  // at the ukey's end) on a line every handler and the bridge set touch, per
  // setup. The bridge stays alive because Udpif::State::ukey_bridges holds a
  // reference to every bridge a published ukey may name (see there).
  OfBridge* bridge = nullptr;
  // The key of the packet it was first translated for, and the mask as
  // installed (the match is that key under this mask), without their
  // all-zero conntrack tails. Only revalidation reads them back.
  std::array<uint8_t, kUkeyKeyBytes> packet_key_head;
  std::array<uint8_t, kUkeyKeyBytes> mask_head;
  FlowKey packet_key() const {
    FlowKey key{};
    std::memcpy(&key, packet_key_head.data(), kUkeyKeyBytes);
    return key;
  }
  FlowMask mask() const {
    FlowKey bits{};
    std::memcpy(&bits, mask_head.data(), kUkeyKeyBytes);
    return FlowMask(bits);
  }
  // Not stored: a second masked FlowKey made the ukey too big for the
  // allocator's per-thread cache, and every setup paid for it.
  Match match() const { return Match(packet_key(), mask()); }
  uint64_t created_ms = 0;
  // False until the flow_put succeeded. operational_dump_sequence is the
  // round sequence read after it did: a round whose dump began before that
  // may not have seen the flow, and must not take its absence for deletion.
  std::atomic<bool> operational{false};
  std::atomic<uint64_t> operational_dump_sequence{0};

  // Written under round_mutex once published (by the creating handler before).
  ActionList actions;                        // as installed
  std::vector<const OfPipelineRule*> rules;  // the translation's rules, to credit
  OfVersion version = 0;                     // the tables' version the rules were read at
  uint64_t change_sequence = 0;              // the bridge's sequence at that translation
  FlowStats credited{};                      // datapath counters already credited to `rules`
};

using UdpifKeyMap = UdpifKeyIndex<std::shared_ptr<UdpifKey>>;

// The UFID of a datapath match: a 128-bit hash of its masked key and mask
// (OVS hashes the flow key the same way, odp_flow_key_hash), so that every
// handler that translates a packet into the same megaflow names it alike.
// Only the words inside the mask's range are read: outside it key and mask
// are both zero (Match keeps its key masked), and the range itself is hashed
// in, so two matches differing only in where their zeros are still differ.
// Two lanes that mix key and mask words differently make the 128 bits.
Ufid ufid_of_match(const Match& match) {
  const KeyRange& range = match.mask.range();
  uint64_t low = word_hash_start(0x243f6a8885a308d3ull ^ range.start);
  uint64_t high = word_hash_start(0x13198a2e03707344ull ^ (uint64_t{range.end} << 20));
  for (size_t i = range.start; i < range.end; i += 8) {
    const uint64_t key = load_word(match.key, i), mask = load_word(match.mask.bits(), i);
    low = word_hash_add(word_hash_add(low, key), mask);
    high = word_hash_add(high, key * 0x9e3779b97f4a7c15ull + (mask ^ (mask >> 29)));
  }
  low = word_hash_finish(low);
  high = word_hash_finish(high ^ low);
  Ufid ufid;
  std::memcpy(ufid.bytes.data(), &low, 8);
  std::memcpy(ufid.bytes.data() + 8, &high, 8);
  if (ufid.is_zero()) ufid.bytes[0] = 1;  // all-zero means "no UFID" to the datapath
  return ufid;
}

// Whether `wanted` has a bit `installed` does not (OVS's flow_wildcards_has_extra).
bool mask_needs_more_bits(const FlowMask& installed, const FlowMask& wanted) {
  const auto* have = reinterpret_cast<const uint8_t*>(&installed.bits());
  const auto* want = reinterpret_cast<const uint8_t*>(&wanted.bits());
  for (size_t i = 0; i < sizeof(FlowKey); ++i)
    if (want[i] & ~have[i]) return true;
  return false;
}

bool has_tunnel(const TunnelKey& tunnel) { return tunnel.ipv4_dst != 0 || tunnel.is_ipv6(); }

std::string port_description(const FlowKey& key) {
  std::string text = "datapath port " + std::to_string(key.in_port);
  if (has_tunnel(key.tunnel)) text += " (a tunnel packet)";
  return text;
}

// What a handler learns from translating one packet, taken while the owning
// bridge's shared lock is held.
struct UpcallTranslation {
  // The set's own pointer, not a copy: a copy per upcall was two atomic
  // reference-count updates on a line every other thread touches too.
  const std::shared_ptr<OfBridge>* bridge = nullptr;
  uint32_t ofp_in_port = 0;
  const OfFlow* packet_flow = nullptr;  // the packet's OfFlow, valid while the lock is held
  XlateResult result;
  OfVersion version = 0;
  uint64_t change_sequence = 0;
};

// The datapath actions a translation is installed with: its own, or for a
// translation the datapath cannot run, the one slow-path upcall (OVS's
// compose_slow_path()).
ActionList put_actions_of(const XlateResult& result, uint32_t ofp_in_port) {
  if (result.slow_path == 0) return result.actions;
  UserspaceAction userspace;
  userspace.pid = 0;
  userspace.userdata = encode_slow_path_cookie(SlowPathCookie{result.slow_path, ofp_in_port});
  userspace.has_userdata = true;
  return ActionList{Action(std::move(userspace))};
}

// a - b, or 0 when the counter went backwards (a flow whose statistics were cleared).
uint64_t counter_delta(uint64_t now, uint64_t before) { return now > before ? now - before : 0; }

}  // namespace

struct Udpif::State {
  State(Dpif& dpif_, OfBridgeSet& bridges_, UdpifConfig config_)
      : dpif(dpif_), bridges(bridges_), config(std::move(config_)) {
    if (!config.now_ms) config.now_ms = [] { return monotonic_ms(); };
    clock = config.now_ms;
    configured_flow_limit = config.flow_limit;
    flow_limit =
        config.dynamic_flow_limit ? std::min(config.flow_limit, kUdpifInitialFlowLimit) : config.flow_limit;
    max_idle_ms = config.max_idle_ms;
  }

  uint64_t now() const { return clock(); }

  void note_error(const std::string& message) {
    std::lock_guard lock(error_mutex);
    last_error = message;
  }

  // ---- Handlers ----
  // The counters every setup bumps, summed over one handler batch and added
  // to `counters` once at its end: one atomic update per batch instead of
  // two per setup on the line all handlers share. Counters of rare events
  // (errors, refusals) are still added as they happen.
  struct BatchTally {
    uint64_t flows_installed = 0;
    uint64_t executes = 0;
  };
  size_t handle_upcalls(size_t max);
  // The flow puts of one handler batch, in slots kept from batch to batch:
  // a DpifFlowPut is ~840 bytes that value-initialisation zeroed, and its
  // Match constructor zeroed again, on every setup. A reused slot keeps at
  // their defaults the fields no setup writes (stats, location, modify,
  // clear_stats: the datapath takes the puts as const and cannot change
  // them); prepare_miss writes all the others (ufid, the whole match,
  // actions, create) before a slot goes to the datapath.
  struct BatchPuts {
    std::vector<DpifFlowPut>& slots;
    size_t used = 0;

    DpifFlowPut& add() {
      if (used == slots.size()) slots.emplace_back();
      return slots[used++];
    }
    void drop_last() { slots[--used].flow.actions = ActionList{}; }
    std::span<const DpifFlowPut> all() const { return {slots.data(), used}; }
    // The batch is done: its actions go now, as its packets do.
    void release() {
      for (size_t i = 0; i < used; ++i) slots[i].flow.actions = ActionList{};
      used = 0;
    }
  };
  // A miss between its translation and its execution: the ukey published
  // for it and the put that installs its megaflow (the put is in the
  // handler's batch of puts, at put_index), or none.
  struct PreparedMiss {
    DpifUpcall* upcall = nullptr;
    std::shared_ptr<UdpifKey> pending;
    size_t put_index = SIZE_MAX;
    // The packet runs the put's own actions when they are the translation's
    // (no slow path): the batch's puts outlive the executes, so the list is
    // not copied for the execute. Otherwise execute_actions.
    bool execute_put_actions = false;
    ActionList execute_actions;
  };
  // Translates one miss and publishes its ukey; appends its put to `puts`.
  // What every upcall of one handler batch shares: the bridge list and the
  // time, taken once per batch (per upcall they were a mutex, two reference
  // count updates and a clock read each).
  struct UpcallBatch {
    OfBridgeSet::Snapshot bridges;
    uint64_t now_ms = 0;
  };
  void prepare_miss(const UpcallBatch& batch, DpifUpcall& upcall, const HintedFlow& hinted,
                    PreparedMiss& prepared, BatchPuts& puts);
  // After the batch's puts: marks the ukey operational or withdraws it, then executes the packet.
  void finish_miss(PreparedMiss& prepared, const Result<DpifPutOutcome>* outcome,
                   std::span<const DpifFlowPut> puts, BatchTally& tally);
  void handle_action_upcall(const UpcallBatch& batch, DpifUpcall& upcall, BatchTally& tally);
  // Translates `key` on the bridge that owns its input port and calls
  // `use` with the translation while that bridge's shared lock is held.
  template <typename Use>
  Status translate_owned(const OfBridgeSet::Snapshot& all_bridges, const FlowKey& key,
                         const HintedFlow* hinted, Use&& use);
  void execute(DpifUpcall& upcall, const ActionList& actions, BatchTally& tally);
  // Takes the ukey out of `ukeys` (if it is still the one published under
  // its UFID) into retired_ukeys.
  void withdraw(const UdpifKey* ukey);

  // ---- Revalidator ----
  void run_round();
  void credit(OfBridge& bridge, const UdpifKey& ukey, uint64_t packets, uint64_t bytes, uint64_t used_ms);
  // Deletes the ukey's flow, credits its last counters and forgets the ukey.
  void delete_flow(UdpifKey* ukey);
  // The published ukeys by UFID, as plain pointers (valid until the caller,
  // which holds round_mutex, is done: see retired_ukeys).
  UdpifKeyIndex<UdpifKey*> snapshot_ukeys() const;
  // Frees the ukeys withdrawn so far; at the end of a round or purge only.
  void free_retired_ukeys();
  void reclaim_rules(OfBridge& bridge);
  // Drops the pins of bridges that left the set and that no ukey names (see ukey_bridges).
  void release_bridges_without_ukeys();
  void purge();
  bool bridges_changed_since_round() const;
  void remember_bridge_sequences();

  void handler_main();
  void revalidator_main();

  Dpif& dpif;
  OfBridgeSet& bridges;

  mutable std::mutex config_mutex;
  UdpifConfig config;
  std::function<uint64_t()> clock;
  std::atomic<uint32_t> configured_flow_limit{0};
  std::atomic<uint32_t> flow_limit{0};
  std::atomic<uint32_t> max_idle_ms{0};

  mutable std::mutex ukeys_mutex;
  UdpifKeyMap ukeys;
  // Under ukeys_mutex: a reference to every bridge a ukey names, taken by
  // the handler that publishes a bridge's first ukey, in the same critical
  // section as the publication. Why that keeps every UdpifKey::bridge valid:
  //  - a published ukey's bridge is pinned from its publication on;
  //  - a pin goes only in release_bridges_without_ukeys(), which runs at the
  //    end of a round or purge (under round_mutex, after every use the round
  //    made of its ukeys) and drops a pin only when no published ukey names
  //    that bridge and the bridge has left the bridge set (checked under
  //    ukeys_mutex, so no handler publishes one meanwhile);
  //  - ukeys no longer published are used only by their holder: a handler
  //    between its put and finish_miss (its batch snapshot holds the bridge),
  //    or a round or flow_info that copied them out of the index (both under
  //    round_mutex, so no release runs until they are done).
  std::vector<std::shared_ptr<OfBridge>> ukey_bridges;
  // Under ukeys_mutex: the ukeys withdrawn from `ukeys` since the last round
  // or purge ended. Rounds, purge and flow_info (all under round_mutex) work
  // on plain pointers to the ukeys they found published: their snapshot
  // copies no reference count, where a copy of shared_ptrs was one atomic
  // update per ukey on as many cache lines, under ukeys_mutex, while the
  // handlers wait for it. A withdrawn ukey therefore stays allocated until
  // free_retired_ukeys(), called at the end of a round or purge under
  // round_mutex, after the last use any of them can make of its snapshot.
  std::vector<std::shared_ptr<UdpifKey>> retired_ukeys;
  std::atomic<uint64_t> n_ukeys{0};

  mutable std::mutex round_mutex;
  // Bumped as each round begins, before its dump (see UdpifKey).
  std::atomic<uint64_t> dump_sequence{1};
  std::atomic<uint64_t> last_round_duration_ms{0};
  // Each bridge's change sequence when the last round finished (revalidator side).
  std::vector<std::pair<std::shared_ptr<OfBridge>, uint64_t>> sequences_after_round;
  mutable std::mutex sequences_mutex;

  std::mutex control_mutex;
  std::condition_variable control_changed;
  bool running = false;
  bool stopping = false;
  bool round_requested = false;
  uint64_t rounds_begun = 0;
  uint64_t rounds_finished = 0;
  std::vector<std::thread> handler_threads;
  std::thread revalidator_thread;

  struct Counters {
    std::atomic<uint64_t> upcalls{0}, action_upcalls{0}, flows_installed{0}, flows_already_present{0},
        limit_refusals{0}, translation_errors{0}, upcall_errors{0}, executes{0}, execute_errors{0},
        revalidation_rounds{0}, flows_deleted_idle{0}, flows_deleted_revalidated{0},
        flows_modified_revalidated{0}, rules_expired{0};
  } counters;
  mutable std::mutex error_mutex;
  std::string last_error;
};

// ---------------------------------------------------------------- handlers

size_t Udpif::State::handle_upcalls(size_t max) {
  // One batch buffer per thread, kept between calls: a fresh vector grew
  // (and moved its upcalls) on every call, a malloc/free churn per batch.
  thread_local std::vector<DpifUpcall> batch;
  batch.clear();
  size_t n = dpif.recv_upcalls(max, batch);
  counters.upcalls.fetch_add(n, std::memory_order_relaxed);
  // As OVS's handlers do: translate the whole batch, install its megaflows
  // in one request to the datapath (an offloading datapath sends them to TC
  // as one message train), then execute the packets, in their order.
  thread_local std::vector<PreparedMiss> misses;
  thread_local std::vector<DpifFlowPut> put_slots;
  BatchPuts puts{.slots = put_slots};
  misses.clear();
  misses.reserve(batch.size());
  const UpcallBatch shared{.bridges = bridges.snapshot(), .now_ms = now()};
  // The batch's lookups overlap their cache misses, and the misses' flows
  // are converted once, for the hints and translation (udpif_lookup_hints.h).
  thread_local std::vector<HintedFlow> hinted;
  hint_batch_lookups(shared.bridges, batch, hinted);
  BatchTally tally;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].kind == DpifUpcall::Kind::kMiss)
      prepare_miss(shared, batch[i], hinted[i], misses.emplace_back(), puts);
    else
      handle_action_upcall(shared, batch[i], tally);
  }
  if (puts.used != 0) {
    std::vector<Result<DpifPutOutcome>> outcomes = dpif.flow_put_batch(puts.all());
    for (PreparedMiss& miss : misses)
      finish_miss(miss, miss.put_index < outcomes.size() ? &outcomes[miss.put_index] : nullptr, puts.all(),
                  tally);
  } else {
    for (PreparedMiss& miss : misses) finish_miss(miss, nullptr, puts.all(), tally);
  }
  if (tally.flows_installed != 0)
    counters.flows_installed.fetch_add(tally.flows_installed, std::memory_order_relaxed);
  if (tally.executes != 0) counters.executes.fetch_add(tally.executes, std::memory_order_relaxed);
  misses.clear();
  puts.release();
  batch.clear();  // the packets and actions go now, not at the next batch
  return n;
}

template <typename Use>
Status Udpif::State::translate_owned(const OfBridgeSet::Snapshot& all_bridges, const FlowKey& key,
                                     const HintedFlow* hinted, Use&& use) {
  for (const std::shared_ptr<OfBridge>& bridge : *all_bridges) {
    // A hinted flow names the one bridge that has the key's port: the
    // others would all have said ENODEV.
    if (hinted != nullptr && hinted->bridge != nullptr && hinted->bridge != bridge.get()) continue;
    std::shared_lock lock(bridge->mutex());
    OfFlow converted_here;
    const OfFlow* converted = &converted_here;
    if (hinted != nullptr && hinted->bridge == bridge.get() &&
        hinted->change_sequence == bridge->change_sequence()) {
      converted = &hinted->flow;  // the ports have not changed since
    } else if (Status status = of_flow_from_key(key, receive_port_mapping(bridge->ports()), converted_here);
               !status) {
      if (status.code() == ENODEV) continue;  // another bridge's port
      return status.with_context(bridge->name() + ": " + port_description(key));
    }
    const OfFlow& flow = *converted;
    // No flow-mod can publish while the shared lock is held: this is the
    // version translate() reads too. The result is built in place (a
    // prvalue initialising the member): assigning it was a move of ~900 bytes.
    UpcallTranslation translation{.bridge = &bridge,
                                  .ofp_in_port = flow.in_port,
                                  .packet_flow = &flow,
                                  .result = translate(bridge->ports(), bridge->tables(), flow),
                                  .version = bridge->tables().current_version(),
                                  .change_sequence = bridge->change_sequence()};
    return use(translation);
  }
  return Status(ENODEV, port_description(key) + " belongs to no bridge");
}

void Udpif::State::withdraw(const UdpifKey* ukey) {
  std::lock_guard lock(ukeys_mutex);
  std::shared_ptr<UdpifKey>* published = ukeys.find(ukey->ufid);
  if (published != nullptr && published->get() == ukey) {
    retired_ukeys.push_back(std::move(*published));
    ukeys.erase(ukey->ufid);
    n_ukeys.fetch_sub(1, std::memory_order_relaxed);
  }
}

UdpifKeyIndex<UdpifKey*> Udpif::State::snapshot_ukeys() const {
  // Under the lock, only a scan that copies each UFID and pointer; the
  // lookup index is built after it.
  std::vector<std::pair<Ufid, UdpifKey*>> published;
  {
    std::lock_guard lock(ukeys_mutex);
    published.reserve(ukeys.size());
    ukeys.for_each([&](const Ufid& ufid, const std::shared_ptr<UdpifKey>& ukey) {
      published.emplace_back(ufid, ukey.get());
    });
  }
  UdpifKeyIndex<UdpifKey*> snapshot;
  snapshot.reserve(published.size());
  for (auto& [ufid, ukey] : published) snapshot.try_insert(ufid, std::move(ukey));
  return snapshot;
}

void Udpif::State::free_retired_ukeys() {
  std::vector<std::shared_ptr<UdpifKey>> retired;
  {
    std::lock_guard lock(ukeys_mutex);
    retired.swap(retired_ukeys);
  }
  // Destroyed here, outside ukeys_mutex.
}

void Udpif::State::prepare_miss(const UpcallBatch& batch, DpifUpcall& upcall, const HintedFlow& hinted,
                                PreparedMiss& prepared, BatchPuts& puts) {
  const uint64_t now_ms = batch.now_ms;
  prepared.upcall = &upcall;
  ActionList& execute_actions = prepared.execute_actions;
  std::shared_ptr<UdpifKey>& pending = prepared.pending;  // published, to be put
  Status translated =
      translate_owned(batch.bridges, upcall.key, &hinted, [&](UpcallTranslation& t) -> Status {
        OfBridge& bridge = **t.bridge;
        XlateResult& result = t.result;
        // The upcalled packet itself counts for the rules (OVS's resubmit_stats):
        // executing it does not touch any datapath flow's counters.
        for (const OfPipelineRule* rule : result.rules)
          bridge.tables().credit(*rule, 1, upcall.packet.size(), now_ms);
        if (result.error != XlateError::kNone) {
          // translate() already made the actions a drop, as OVS installs for a failed translation.
          counters.translation_errors.fetch_add(1, std::memory_order_relaxed);
          note_error(bridge.name() + ": translation failed: " +
                     (result.error_message.empty() ? xlate_error_text(result.error) : result.error_message));
        }
        if (n_ukeys.load(std::memory_order_relaxed) >= flow_limit.load(std::memory_order_relaxed)) {
          counters.limit_refusals.fetch_add(1, std::memory_order_relaxed);
          execute_actions = std::move(result.actions);
          return Status::ok();
        }
        // The put is built in its slot of the batch (its match is ~600 bytes:
        // building it elsewhere and moving it in was two more copies), and the
        // slot given back if this miss installs nothing.
        DpifFlowPut& put = puts.add();
        Status matched = datapath_match_from_megaflow(result.megaflow, upcall.key, *t.packet_flow,
                                                      datapath_port_mapping(bridge.ports()), put.flow.match);
        if (!matched) {
          puts.drop_last();
          execute_actions = std::move(result.actions);
          return matched.with_context(bridge.name() + ": megaflow");
        }
        const Match& match = put.flow.match;
        // The packet key's tail is zero: of_flow_from_key checked the same
        // bytes before translating. The mask's cannot be set either (see
        // kUkeyKeyBytes), but nothing else would notice if it were.
        if (!conntrack_tail_is_zero(match.mask.bits())) {
          puts.drop_last();
          execute_actions = std::move(result.actions);
          return Status(EINVAL, bridge.name() + ": megaflow: conntrack fields, which a ukey does not keep");
        }

        auto ukey = std::make_shared<UdpifKey>(upcall.key, match.mask);
        ukey->ufid = ufid_of_match(match);
        ukey->bridge = &bridge;
        ukey->created_ms = now_ms;
        // The ukey's list is the one copy this layer makes: it must be complete
        // before the ukey is published (a round may read it at once), and the
        // translation's own list then goes to the put, which the packet also
        // executes (see PreparedMiss).
        const bool slow_path = result.slow_path != 0;
        ukey->actions = put_actions_of(result, t.ofp_in_port);
        ukey->rules = std::move(result.rules);
        ukey->version = t.version;
        ukey->change_sequence = t.change_sequence;
        {
          std::lock_guard lock(ukeys_mutex);
          if (!ukeys.try_insert(ukey->ufid, std::shared_ptr<UdpifKey>(ukey))) {
            // Another handler set this megaflow up (or is doing so) already.
            counters.flows_already_present.fetch_add(1, std::memory_order_relaxed);
            puts.drop_last();
            execute_actions = std::move(result.actions);
            return Status::ok();
          }
          n_ukeys.fetch_add(1, std::memory_order_relaxed);
          // A handful of bridges: one compare each, no reference count touched.
          if (std::none_of(ukey_bridges.begin(), ukey_bridges.end(),
                           [&](const std::shared_ptr<OfBridge>& pinned) { return pinned.get() == &bridge; }))
            ukey_bridges.push_back(*t.bridge);
        }
        put.flow.ufid = ukey->ufid;
        put.create = true;
        if (slow_path) {
          put.flow.actions = ukey->actions;
          execute_actions = std::move(result.actions);
        } else {
          put.flow.actions = std::move(result.actions);
          prepared.execute_put_actions = true;
        }
        prepared.put_index = puts.used - 1;
        pending = std::move(ukey);
        return Status::ok();
      });
  if (!translated) {
    counters.upcall_errors.fetch_add(1, std::memory_order_relaxed);
    note_error("upcall: " + translated.message());
    // Without a translation (no bridge has the port, or the key has what
    // OpenFlow cannot say) the actions stay empty and the packet is
    // dropped, as OVS drops a packet whose input port it cannot find. A
    // translation whose megaflow the datapath cannot hold still runs.
  }
}

void Udpif::State::finish_miss(PreparedMiss& prepared, const Result<DpifPutOutcome>* outcome_of_put,
                               std::span<const DpifFlowPut> puts, BatchTally& tally) {
  std::shared_ptr<UdpifKey>& pending = prepared.pending;
  if (pending && !outcome_of_put) {
    withdraw(pending.get());  // a datapath that answered fewer puts than it was given
    counters.upcall_errors.fetch_add(1, std::memory_order_relaxed);
    note_error("upcall: the datapath gave no outcome for a flow put on " + pending->bridge->name());
  } else if (pending) {
    const Result<DpifPutOutcome>& outcome = *outcome_of_put;
    if (outcome) {
      pending->operational_dump_sequence.store(dump_sequence.load(std::memory_order_acquire),
                                               std::memory_order_release);
      pending->operational.store(true, std::memory_order_release);
      ++tally.flows_installed;
    } else {
      withdraw(pending.get());
      if (outcome.status().code() == EEXIST) {
        // The datapath has an overlapping flow for this packet under
        // another UFID (installed from a packet translated to a different
        // mask); it will carry the next packets.
        counters.flows_already_present.fetch_add(1, std::memory_order_relaxed);
      } else {
        counters.upcall_errors.fetch_add(1, std::memory_order_relaxed);
        note_error("upcall: flow put on " + pending->bridge->name() + ": " + outcome.status().message());
      }
    }
  }
  execute(*prepared.upcall,
          prepared.execute_put_actions ? puts[prepared.put_index].flow.actions : prepared.execute_actions,
          tally);
}

void Udpif::State::execute(DpifUpcall& upcall, const ActionList& actions, BatchTally& tally) {
  // An empty list is a drop: there is nothing for the datapath to do (OVS
  // queues no execute for it either).
  if (actions.empty()) return;
  Status executed = dpif.execute(std::move(upcall.packet), upcall.key, actions);
  if (executed) {
    ++tally.executes;
  } else {
    counters.execute_errors.fetch_add(1, std::memory_order_relaxed);
    note_error("execute: " + executed.message());
  }
}

void Udpif::State::handle_action_upcall(const UpcallBatch& batch, DpifUpcall& upcall, BatchTally& tally) {
  counters.action_upcalls.fetch_add(1, std::memory_order_relaxed);
  std::optional<SlowPathCookie> slow_path;
  if (upcall.action && upcall.action->has_userdata)
    slow_path = decode_slow_path_cookie(upcall.action->userdata);
  // A controller (or any other) userspace action: flowlift has no
  // controller connection, so the packet-in it asks for goes nowhere.
  if (!slow_path) return;
  // A packet of a slow-pathed megaflow: the datapath counted it on that
  // flow already (the revalidator credits it), so translate without credit
  // and run the actions the datapath could not.
  ActionList actions;
  Status translated =
      translate_owned(batch.bridges, upcall.key, nullptr, [&](UpcallTranslation& t) -> Status {
        actions = std::move(t.result.actions);
        return Status::ok();
      });
  if (!translated) {
    counters.upcall_errors.fetch_add(1, std::memory_order_relaxed);
    note_error("slow-path upcall: " + translated.message());
    return;
  }
  execute(upcall, actions, tally);
}

// ------------------------------------------------------------- revalidator

void Udpif::State::credit(OfBridge& bridge, const UdpifKey& ukey, uint64_t packets, uint64_t bytes,
                          uint64_t used_ms) {
  if (packets == 0 && bytes == 0) return;
  for (const OfPipelineRule* rule : ukey.rules) bridge.tables().credit(*rule, packets, bytes, used_ms);
}

void Udpif::State::delete_flow(UdpifKey* ukey) {
  Result<Megaflow> deleted = dpif.flow_del(ukey->ufid);
  if (deleted) {
    // The ukey is still published: its rules cannot have been reclaimed.
    std::shared_lock lock(ukey->bridge->mutex());
    credit(*ukey->bridge, *ukey, counter_delta(deleted->stats.packets, ukey->credited.packets),
           counter_delta(deleted->stats.bytes, ukey->credited.bytes), deleted->stats.used_ms);
  } else if (deleted.status().code() != ENOENT) {
    note_error("revalidator: deleting a flow of " + ukey->bridge->name() + ": " + deleted.status().message());
  }
  withdraw(ukey);
}

void Udpif::State::reclaim_rules(OfBridge& bridge) {
  std::unique_lock lock(bridge.mutex());
  if (bridge.tables().n_retired() == 0) return;
  OfVersion oldest = bridge.tables().current_version();
  {
    std::lock_guard ukeys_lock(ukeys_mutex);
    ukeys.for_each([&](const Ufid&, const std::shared_ptr<UdpifKey>& ukey) {
      if (ukey->bridge == &bridge) oldest = std::min(oldest, ukey->version);
    });
  }
  bridge.tables().reclaim(oldest);
}

void Udpif::State::release_bridges_without_ukeys() {
  const OfBridgeSet::Snapshot current = bridges.snapshot();
  // The last reference to a bridge may go here: it is dropped after the
  // lock (declared first, destroyed last), not inside ukeys_mutex.
  std::vector<std::shared_ptr<OfBridge>> released;
  std::lock_guard lock(ukeys_mutex);
  for (auto it = ukey_bridges.begin(); it != ukey_bridges.end();) {
    OfBridge* pinned = it->get();
    bool keep = std::any_of(current->begin(), current->end(),
                            [&](const std::shared_ptr<OfBridge>& bridge) { return bridge.get() == pinned; });
    if (!keep) {  // gone from the set: kept only while a ukey names it
      ukeys.for_each(
          [&](const Ufid&, const std::shared_ptr<UdpifKey>& ukey) { keep |= ukey->bridge == pinned; });
    }
    if (keep) {
      ++it;
    } else {
      released.push_back(std::move(*it));
      it = ukey_bridges.erase(it);
    }
  }
}

void Udpif::State::run_round() {
  const uint64_t start_ms = now();
  {
    std::lock_guard lock(control_mutex);
    ++rounds_begun;
  }
  for (const std::string& problem : dpif.maintain()) note_error("revalidator: " + problem);
  const uint64_t sequence = dump_sequence.fetch_add(1, std::memory_order_acq_rel) + 1;
  std::vector<Megaflow> dumped = dpif.flow_dump();
  const UdpifKeyIndex<UdpifKey*> snapshot = snapshot_ukeys();

  const uint32_t limit = flow_limit.load(std::memory_order_relaxed);
  const uint64_t n_flows = dumped.size();
  // As OVS: over the limit, flows idle for 100 ms go; over twice the limit, all go.
  const bool delete_all = n_flows > uint64_t{limit} * 2;
  const uint64_t max_idle =
      n_flows > limit ? kOverLimitMaxIdleMs : max_idle_ms.load(std::memory_order_relaxed);
  const uint64_t previous_duration = last_round_duration_ms.load(std::memory_order_relaxed);
  uint32_t revalidate_interval;
  {
    std::lock_guard lock(config_mutex);
    revalidate_interval = config.revalidate_interval_ms;
  }

  struct DumpedFlow {
    UdpifKey* ukey;
    FlowStats stats;
    MegaflowPlacement placement = MegaflowPlacement::kDatapath;
    uint64_t new_packets = 0;
    uint64_t previous_used_ms = 0;
  };
  // Grouped by bridge, so that each bridge's lock is taken once per step.
  std::map<OfBridge*, std::vector<DumpedFlow>> by_bridge;
  std::set<const UdpifKey*> seen;
  std::vector<Ufid> without_ukey;
  for (Megaflow& flow : dumped) {
    UdpifKey* const* ukey = snapshot.find(flow.ufid);
    if (ukey == nullptr) {
      without_ukey.push_back(flow.ufid);
      continue;
    }
    seen.insert(*ukey);
    by_bridge[(*ukey)->bridge].push_back(DumpedFlow{*ukey, flow.stats, flow.location.placement});
  }

  std::vector<UdpifKey*> delete_idle, delete_revalidated;

  // 1. Credit what each flow carried since the last round to the rules it
  //    came from; pick the idle flows and those whose bridge is gone.
  for (auto& [bridge, flows] : by_bridge) {
    const bool bridge_gone = bridges.find(bridge->name()).get() != bridge;
    std::shared_lock lock(bridge->mutex());
    for (DumpedFlow& flow : flows) {
      UdpifKey& ukey = *flow.ukey;
      flow.new_packets = counter_delta(flow.stats.packets, ukey.credited.packets);
      flow.previous_used_ms = ukey.credited.used_ms;
      credit(*bridge, ukey, flow.new_packets, counter_delta(flow.stats.bytes, ukey.credited.bytes),
             flow.stats.used_ms);
      ukey.credited = flow.stats;
      const uint64_t used = flow.stats.used_ms ? flow.stats.used_ms : ukey.created_ms;
      const uint64_t idle_limit = max_idle + stats_lag_ms(flow.placement);
      if (delete_all || (start_ms > idle_limit && used < start_ms - idle_limit)) {
        delete_idle.push_back(flow.ukey);
        flow.ukey = nullptr;
      } else if (bridge_gone) {
        delete_revalidated.push_back(flow.ukey);
        flow.ukey = nullptr;
      }
    }
  }

  // 2. OpenFlow idle and hard timeouts, on every bridge.
  for (const std::shared_ptr<OfBridge>& bridge : bridges.all()) {
    std::unique_lock lock(bridge->mutex());
    OfTablesChange change = bridge->tables().expire(now());
    if (!change.removed.empty()) {
      counters.rules_expired.fetch_add(change.removed.size(), std::memory_order_relaxed);
      bridge->note_change();
    }
  }

  // 3. Translate again every flow whose bridge changed since its translation.
  struct Modification {
    UdpifKey* ukey;
    ActionList actions;
  };
  std::vector<Modification> modifications;
  for (auto& [bridge, flows] : by_bridge) {
    std::shared_lock lock(bridge->mutex());
    const uint64_t change_sequence = bridge->change_sequence();
    const OfVersion version = bridge->tables().current_version();
    for (DumpedFlow& flow : flows) {
      if (flow.ukey == nullptr) continue;
      UdpifKey& ukey = *flow.ukey;
      if (ukey.change_sequence == change_sequence) continue;
      if (!udpif_should_revalidate(flow.previous_used_ms, flow.new_packets, start_ms, previous_duration,
                                   revalidate_interval)) {
        delete_revalidated.push_back(flow.ukey);
        continue;
      }
      const FlowKey packet_key = ukey.packet_key();
      Result<OfFlow> of_flow = of_flow_from_key(packet_key, receive_port_mapping(bridge->ports()));
      if (!of_flow) {  // its port left the bridge
        delete_revalidated.push_back(flow.ukey);
        continue;
      }
      XlateResult result = translate(bridge->ports(), bridge->tables(), *of_flow);
      Result<Match> match =
          datapath_match_from_megaflow(result.megaflow, packet_key, datapath_port_mapping(bridge->ports()));
      // A translation that needs bits the installed mask lacks: the flow
      // now covers packets the new rules treat differently. A narrower new
      // mask is fine (OVS keeps such flows): the installed flow is inside it.
      if (!match || mask_needs_more_bits(ukey.mask(), match->mask)) {
        delete_revalidated.push_back(flow.ukey);
        continue;
      }
      uint32_t ofp_in_port = of_flow->in_port;
      ActionList actions = put_actions_of(result, ofp_in_port);
      ukey.rules = std::move(result.rules);
      ukey.version = version;
      ukey.change_sequence = change_sequence;
      if (actions != ukey.actions) modifications.push_back(Modification{flow.ukey, std::move(actions)});
    }
  }
  for (Modification& modification : modifications) {
    DpifFlowPut put;
    put.flow.ufid = modification.ukey->ufid;
    put.flow.match = modification.ukey->match();
    put.flow.actions = modification.actions;
    put.create = false;
    put.modify = true;
    Result<DpifPutOutcome> outcome = dpif.flow_put(put);
    if (outcome) {
      modification.ukey->actions = std::move(modification.actions);
      counters.flows_modified_revalidated.fetch_add(1, std::memory_order_relaxed);
    } else {
      note_error("revalidator: new actions for a flow of " + modification.ukey->bridge->name() + ": " +
                 outcome.status().message());
      delete_revalidated.push_back(modification.ukey);
    }
  }

  // 4. Deletions, crediting each flow's last packets to its rules.
  for (UdpifKey* ukey : delete_idle) delete_flow(ukey);
  counters.flows_deleted_idle.fetch_add(delete_idle.size(), std::memory_order_relaxed);
  for (UdpifKey* ukey : delete_revalidated) delete_flow(ukey);
  counters.flows_deleted_revalidated.fetch_add(delete_revalidated.size(), std::memory_order_relaxed);
  for (const Ufid& ufid : without_ukey) {
    // Not ours (or left over from before a restart): nothing says what it
    // should do, so it goes, as OVS deletes flows it cannot revalidate.
    Result<Megaflow> deleted = dpif.flow_del(ufid);
    if (!deleted && deleted.status().code() != ENOENT)
      note_error("revalidator: deleting a flow without ukey: " + deleted.status().message());
  }
  // Ukeys whose flow was installed before this dump began but is not in
  // it: the flow went (a flush, a port removed); so does the ukey.
  snapshot.for_each([&](const Ufid&, UdpifKey* const& ukey) {
    if (seen.count(ukey) || !ukey->operational.load(std::memory_order_acquire)) return;
    if (ukey->operational_dump_sequence.load(std::memory_order_acquire) >= sequence) return;
    delete_flow(ukey);
  });

  // 5. Free retired rules no ukey can still name.
  for (const std::shared_ptr<OfBridge>& bridge : bridges.all()) reclaim_rules(*bridge);
  free_retired_ukeys();  // the round's last use of its snapshot was above
  release_bridges_without_ukeys();

  // 6. The dynamic flow limit, from how long this round took.
  const uint64_t duration = std::max<uint64_t>(now() - start_ms, 1);
  last_round_duration_ms.store(duration, std::memory_order_relaxed);
  const uint32_t configured = configured_flow_limit.load(std::memory_order_relaxed);
  bool dynamic;
  {
    std::lock_guard lock(config_mutex);
    dynamic = config.dynamic_flow_limit;
  }
  flow_limit.store(dynamic ? udpif_next_flow_limit(limit, duration, n_flows, configured) : configured,
                   std::memory_order_relaxed);

  remember_bridge_sequences();
  counters.revalidation_rounds.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(control_mutex);
    ++rounds_finished;
  }
  control_changed.notify_all();
}

void Udpif::State::remember_bridge_sequences() {
  std::vector<std::pair<std::shared_ptr<OfBridge>, uint64_t>> sequences;
  for (std::shared_ptr<OfBridge>& bridge : bridges.all()) {
    uint64_t sequence = bridge->change_sequence();
    sequences.emplace_back(std::move(bridge), sequence);
  }
  std::lock_guard lock(sequences_mutex);
  sequences_after_round = std::move(sequences);
}

bool Udpif::State::bridges_changed_since_round() const {
  std::vector<std::shared_ptr<OfBridge>> now_bridges = bridges.all();
  std::lock_guard lock(sequences_mutex);
  if (now_bridges.size() != sequences_after_round.size()) return true;
  for (size_t i = 0; i < now_bridges.size(); ++i) {
    if (now_bridges[i] != sequences_after_round[i].first) return true;
    if (now_bridges[i]->change_sequence() != sequences_after_round[i].second) return true;
  }
  return false;
}

void Udpif::State::purge() {
  std::vector<Megaflow> dumped = dpif.flow_dump();
  const UdpifKeyIndex<UdpifKey*> snapshot = snapshot_ukeys();
  snapshot.for_each([&](const Ufid&, UdpifKey* const& ukey) { delete_flow(ukey); });
  for (const Megaflow& flow : dumped) {
    if (snapshot.contains(flow.ufid)) continue;
    Result<Megaflow> deleted = dpif.flow_del(flow.ufid);
    if (!deleted && deleted.status().code() != ENOENT)
      note_error("purge: deleting a flow without ukey: " + deleted.status().message());
  }
  for (const std::shared_ptr<OfBridge>& bridge : bridges.all()) reclaim_rules(*bridge);
  free_retired_ukeys();
  release_bridges_without_ukeys();
}

// ----------------------------------------------------------------- threads

void Udpif::State::handler_main() {
  size_t batch;
  {
    std::lock_guard lock(config_mutex);
    batch = std::max<size_t>(config.upcall_batch, 1);
  }
  for (;;) {
    {
      std::lock_guard lock(control_mutex);
      if (stopping) return;
    }
    if (handle_upcalls(batch) == 0) dpif.wait_for_upcalls(kHandlerWaitTimeout);
  }
}

void Udpif::State::revalidator_main() {
  std::unique_lock lock(control_mutex);
  uint64_t next_round_ms = now();  // the first round right away
  while (!stopping) {
    control_changed.wait_for(lock, kRevalidatorTick, [&] { return stopping || round_requested; });
    if (stopping) break;
    uint32_t interval;
    {
      std::lock_guard config_lock(config_mutex);
      interval = config.revalidate_interval_ms;
    }
    lock.unlock();
    const bool due = now() >= next_round_ms || bridges_changed_since_round();
    lock.lock();
    if (!due && !round_requested) continue;
    round_requested = false;
    lock.unlock();
    {
      std::lock_guard round(round_mutex);
      run_round();
    }
    next_round_ms = now() + interval;
    lock.lock();
  }
}

// ------------------------------------------------------------------- Udpif

Udpif::Udpif(Dpif& dpif, OfBridgeSet& bridges, UdpifConfig config)
    : state_(std::make_unique<State>(dpif, bridges, std::move(config))) {}

Udpif::~Udpif() { stop(); }

void Udpif::start() {
  std::lock_guard lock(state_->control_mutex);
  if (state_->running) return;
  state_->running = true;
  state_->stopping = false;
  size_t n_handlers;
  {
    std::lock_guard config_lock(state_->config_mutex);
    n_handlers = state_->config.n_handlers;
  }
  for (size_t i = 0; i < n_handlers; ++i) {
    state_->handler_threads.emplace_back([this, i] {
      set_thread_name("handler" + std::to_string(i));
      state_->handler_main();
    });
  }
  state_->revalidator_thread = std::thread([this] {
    set_thread_name("revalidator");
    state_->revalidator_main();
  });
}

void Udpif::stop() {
  {
    std::lock_guard lock(state_->control_mutex);
    if (!state_->running || state_->stopping) return;
    state_->stopping = true;
  }
  state_->control_changed.notify_all();
  state_->dpif.wake_upcall_waiters();
  for (std::thread& thread : state_->handler_threads) thread.join();
  state_->handler_threads.clear();
  if (state_->revalidator_thread.joinable()) state_->revalidator_thread.join();
  {
    std::lock_guard lock(state_->control_mutex);
    state_->running = false;
    state_->stopping = false;
  }
  state_->control_changed.notify_all();
}

size_t Udpif::handle_upcalls(size_t max) { return state_->handle_upcalls(max); }

void Udpif::revalidate() {
  std::lock_guard round(state_->round_mutex);
  state_->run_round();
}

void Udpif::revalidate_and_wait() {
  {
    std::unique_lock lock(state_->control_mutex);
    if (state_->running && !state_->stopping) {
      const uint64_t wanted = state_->rounds_begun + 1;
      state_->round_requested = true;
      state_->control_changed.notify_all();
      state_->control_changed.wait(lock,
                                   [&] { return state_->rounds_finished >= wanted || !state_->running; });
      if (state_->rounds_finished >= wanted) return;
    }
  }
  // No revalidator thread (or it stopped meanwhile): run the round here.
  revalidate();
}

void Udpif::purge() {
  std::lock_guard round(state_->round_mutex);
  state_->purge();
}

void Udpif::set_flow_limit(uint32_t flow_limit) {
  std::lock_guard lock(state_->config_mutex);
  state_->config.flow_limit = flow_limit;
  state_->configured_flow_limit.store(flow_limit, std::memory_order_relaxed);
  uint32_t current = state_->flow_limit.load(std::memory_order_relaxed);
  // Lowering takes effect at once; raising lets the dynamic limit grow
  // towards it round by round, as OVS does.
  if (!state_->config.dynamic_flow_limit || flow_limit < current)
    state_->flow_limit.store(flow_limit, std::memory_order_relaxed);
}

void Udpif::set_max_idle_ms(uint32_t max_idle_ms) {
  std::lock_guard lock(state_->config_mutex);
  state_->config.max_idle_ms = max_idle_ms;
  state_->max_idle_ms.store(max_idle_ms, std::memory_order_relaxed);
}

UdpifConfig Udpif::config() const {
  std::lock_guard lock(state_->config_mutex);
  return state_->config;
}

UdpifStats Udpif::stats() const {
  const State::Counters& c = state_->counters;
  UdpifStats stats;
  stats.upcalls = c.upcalls.load(std::memory_order_relaxed);
  stats.action_upcalls = c.action_upcalls.load(std::memory_order_relaxed);
  stats.flows_installed = c.flows_installed.load(std::memory_order_relaxed);
  stats.flows_already_present = c.flows_already_present.load(std::memory_order_relaxed);
  stats.limit_refusals = c.limit_refusals.load(std::memory_order_relaxed);
  stats.translation_errors = c.translation_errors.load(std::memory_order_relaxed);
  stats.upcall_errors = c.upcall_errors.load(std::memory_order_relaxed);
  stats.executes = c.executes.load(std::memory_order_relaxed);
  stats.execute_errors = c.execute_errors.load(std::memory_order_relaxed);
  stats.revalidation_rounds = c.revalidation_rounds.load(std::memory_order_relaxed);
  stats.flows_deleted_idle = c.flows_deleted_idle.load(std::memory_order_relaxed);
  stats.flows_deleted_revalidated = c.flows_deleted_revalidated.load(std::memory_order_relaxed);
  stats.flows_modified_revalidated = c.flows_modified_revalidated.load(std::memory_order_relaxed);
  stats.rules_expired = c.rules_expired.load(std::memory_order_relaxed);
  stats.flow_limit = state_->flow_limit.load(std::memory_order_relaxed);
  stats.last_dump_duration_ms = static_cast<uint32_t>(
      std::min<uint64_t>(state_->last_round_duration_ms.load(std::memory_order_relaxed), UINT32_MAX));
  stats.ukeys = state_->n_ukeys.load(std::memory_order_relaxed);
  std::lock_guard lock(state_->error_mutex);
  stats.last_error = state_->last_error;
  return stats;
}

std::vector<UdpifFlowInfo> Udpif::flow_info() const {
  // No round runs meanwhile, so no ukey's rules change and none is reclaimed.
  std::lock_guard round(state_->round_mutex);
  const UdpifKeyIndex<UdpifKey*> snapshot = state_->snapshot_ukeys();
  std::map<OfBridge*, std::vector<const UdpifKey*>> by_bridge;
  snapshot.for_each([&](const Ufid&, UdpifKey* const& ukey) { by_bridge[ukey->bridge].push_back(ukey); });
  std::vector<UdpifFlowInfo> out;
  out.reserve(snapshot.size());
  for (const auto& [bridge, ukeys] : by_bridge) {
    std::shared_lock lock(bridge->mutex());
    const PortNames& ports = bridge->ports().port_names();
    for (const UdpifKey* ukey : ukeys) {
      UdpifFlowInfo info;
      info.ufid = ukey->ufid;
      info.bridge = bridge->name();
      info.change_sequence = ukey->change_sequence;
      for (const OfPipelineRule* rule : ukey->rules) {
        const OfRule& of_rule = rule->rule();
        std::string text =
            "table=" + std::to_string(of_rule.table) + ",priority=" + std::to_string(of_rule.priority);
        std::string match = format_of_match(of_rule.match, &ports);
        if (!match.empty()) text += "," + match;
        info.rules.push_back(std::move(text));
      }
      out.push_back(std::move(info));
    }
  }
  std::sort(out.begin(), out.end(), [](const UdpifFlowInfo& a, const UdpifFlowInfo& b) {
    return a.bridge != b.bridge ? a.bridge < b.bridge : a.ufid.bytes < b.ufid.bytes;
  });
  return out;
}

}  // namespace flowlift
