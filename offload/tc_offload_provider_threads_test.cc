// TcOffloadProvider from several threads at once, against a scripted
// rtnetlink that keeps flower filters as the kernel does (one store shared
// by every socket, a handle per new filter, echo then ack, dumps): batches
// from different threads reach the kernel together over their own sessions,
// while the provider's guarantees hold as with one thread -- every flow held
// once with the handle the kernel gave it, one filter per UFID, a UFID being
// installed never sent twice, a lost answer settled from a dump, one
// priority per mask shape. Also the action counters each filter is given.
//
// The waits here (a rendezvous of two senders, a gate) have generous
// timeouts that only end a test that would otherwise hang; nothing is timed.
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_key.h"
#include "offload/capability_profile.h"
#include "offload/tc_filter_codec.h"
#include "offload/tc_netlink_reply.h"
#include "offload/tc_netlink_scripted_kernel_for_tests.h"
#include "offload/tc_offload_provider.h"
#include "offload/tc_profile_book.h"

namespace flowlift {
namespace {

using tc_netlink_scripted::kScriptedPortId;
using tc_netlink_scripted::scripted_ack;
using tc_netlink_scripted::scripted_done;

constexpr auto kHangGuard = std::chrono::seconds(20);
constexpr uint32_t kIfindexP1 = 11, kIfindexP2 = 12;

tcmsg tcmsg_in(std::span<const uint8_t> message) {
  tcmsg tc{};
  std::memcpy(&tc, message.data() + NLMSG_HDRLEN, sizeof tc);
  return tc;
}

// One filter as the scripted kernel keeps it: the request's bytes with the
// handle it chose, and what the codec reads from them.
struct ScriptedFlowerFilter {
  std::vector<uint8_t> message;
  TcFlowerRule rule;
};

// The kernel's side, shared by every socket of a test.
class ScriptedFlowerKernel {
 public:
  // A datagram carrying RTM_NEWTFILTER waits in sendmsg until this many
  // such datagrams are inside at once (0: no rendezvous).
  size_t rendezvous = 0;
  // A datagram carrying a filter with this cookie waits until open_gate().
  std::optional<Ufid> gated;
  // Requests for filters with this cookie are carried out, their answers dropped.
  std::optional<Ufid> answers_lost_for;

  // Handles one datagram of requests; returns the answers queued for the socket.
  std::vector<std::vector<uint8_t>> handle(std::span<const uint8_t> datagram) {
    TcNetlinkDatagram split = split_tc_netlink_datagram(datagram);
    EXPECT_TRUE(split.problem.is_ok()) << split.problem.message();
    bool carries_filters = false, carries_gated = false;
    for (const TcNetlinkMessageView& request : split.messages) {
      if (request.header.nlmsg_type != RTM_NEWTFILTER) continue;
      carries_filters = true;
      Result<TcParsedFilter> parsed = parse_tc_filter_message(request.bytes);
      if (parsed && gated && parsed->rule.cookie == *gated) carries_gated = true;
    }
    std::unique_lock lock(mutex_);
    if (carries_filters) {
      most_inside_ = std::max(most_inside_, ++inside_);
      changed_.notify_all();
      if (rendezvous > 0)
        changed_.wait_for(lock, kHangGuard, [&] { return inside_ >= rendezvous || rendezvous_met_; });
      if (inside_ >= rendezvous) rendezvous_met_ = true;
      if (carries_gated) {
        gate_waiting_ = true;
        changed_.notify_all();
        changed_.wait_for(lock, kHangGuard, [&] { return gate_open_; });
      }
    }
    std::vector<std::vector<uint8_t>> answers;
    for (const TcNetlinkMessageView& request : split.messages) answer(request, answers);
    if (carries_filters) --inside_;
    changed_.notify_all();
    return answers;
  }

  void open_gate() {
    std::lock_guard lock(mutex_);
    gate_open_ = true;
    changed_.notify_all();
  }
  // Waits until a datagram holding the gated filter is at the gate.
  bool wait_for_gate() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kHangGuard, [&] { return gate_waiting_; });
  }
  // Waits until an RTM_NEWTFILTER for `cookie` has arrived.
  bool wait_for_request_of(const Ufid& cookie) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kHangGuard, [&] { return new_requests_.count(cookie.bytes) != 0; });
  }

  bool has_clsact(uint32_t ifindex) const {
    std::lock_guard lock(mutex_);
    return clsact_.count(ifindex) != 0;
  }
  size_t most_inside() const {
    std::lock_guard lock(mutex_);
    return most_inside_;
  }
  size_t new_requests_for(const Ufid& cookie) const {
    std::lock_guard lock(mutex_);
    auto it = new_requests_.find(cookie.bytes);
    return it == new_requests_.end() ? 0 : it->second;
  }
  std::vector<TcFlowerRule> filters() const {
    std::lock_guard lock(mutex_);
    std::vector<TcFlowerRule> all;
    for (const auto& [key, filter] : filters_) all.push_back(filter.rule);
    return all;
  }
  size_t filters_with(const Ufid& cookie) const {
    size_t count = 0;
    for (const TcFlowerRule& rule : filters()) count += rule.cookie == cookie;
    return count;
  }

 private:
  using FilterKey = std::pair<uint32_t, uint32_t>;  // ifindex, handle

  static std::vector<uint8_t> with_sequence(std::vector<uint8_t> message, uint32_t sequence, uint16_t flags) {
    nlmsghdr header;
    std::memcpy(&header, message.data(), sizeof header);
    header.nlmsg_seq = sequence;
    header.nlmsg_pid = kScriptedPortId;
    header.nlmsg_flags = flags;
    std::memcpy(message.data(), &header, sizeof header);
    return message;
  }

  // Called with mutex_ held.
  void answer(const TcNetlinkMessageView& request, std::vector<std::vector<uint8_t>>& answers) {
    const nlmsghdr& header = request.header;
    const tcmsg tc = tcmsg_in(request.bytes);
    const uint32_t ifindex = static_cast<uint32_t>(tc.tcm_ifindex);
    switch (header.nlmsg_type) {
      case RTM_GETQDISC: {
        for (uint32_t device : clsact_) answers.push_back(clsact_message(header.nlmsg_seq, device));
        answers.push_back(scripted_done(header.nlmsg_seq));
        return;
      }
      case RTM_NEWQDISC:
        clsact_.insert(ifindex);
        answers.push_back(scripted_ack(header.nlmsg_seq, 0));
        return;
      case RTM_NEWTFILTER: {
        Result<TcParsedFilter> parsed = parse_tc_filter_message(request.bytes);
        if (!parsed) {
          answers.push_back(scripted_ack(header.nlmsg_seq, EINVAL, parsed.status().message()));
          return;
        }
        ++new_requests_[parsed->rule.cookie.bytes];
        changed_.notify_all();
        uint32_t handle = tc.tcm_handle;
        if (handle == 0) {
          handle = ++last_handle_;
        } else if (!(header.nlmsg_flags & NLM_F_REPLACE) || !filters_.count({ifindex, handle})) {
          answers.push_back(scripted_ack(header.nlmsg_seq, EEXIST));
          return;
        }
        std::vector<uint8_t> kept(request.bytes.begin(), request.bytes.end());
        tcmsg stored = tc;
        stored.tcm_handle = handle;
        std::memcpy(kept.data() + NLMSG_HDRLEN, &stored, sizeof stored);
        parsed->rule.handle = handle;
        parsed->rule.ifindex = ifindex;
        const bool lost = answers_lost_for && parsed->rule.cookie == *answers_lost_for;
        filters_[{ifindex, handle}] = ScriptedFlowerFilter{kept, parsed->rule};
        if (lost) return;
        if (header.nlmsg_flags & NLM_F_ECHO) answers.push_back(with_sequence(kept, header.nlmsg_seq, 0));
        answers.push_back(scripted_ack(header.nlmsg_seq, 0));
        return;
      }
      case RTM_DELTFILTER: {
        const bool erased = filters_.erase({ifindex, tc.tcm_handle}) != 0;
        answers.push_back(scripted_ack(header.nlmsg_seq, erased ? 0 : ENOENT));
        return;
      }
      case RTM_GETTFILTER: {
        if (header.nlmsg_flags & NLM_F_DUMP) {
          for (const auto& [key, filter] : filters_)
            if (key.first == ifindex)
              answers.push_back(with_sequence(filter.message, header.nlmsg_seq, NLM_F_MULTI));
          answers.push_back(scripted_done(header.nlmsg_seq));
          return;
        }
        auto it = filters_.find({ifindex, tc.tcm_handle});
        if (it == filters_.end()) {
          answers.push_back(scripted_ack(header.nlmsg_seq, ENOENT));
          return;
        }
        answers.push_back(with_sequence(it->second.message, header.nlmsg_seq, 0));
        answers.push_back(scripted_ack(header.nlmsg_seq, 0));
        return;
      }
      default:
        answers.push_back(scripted_ack(header.nlmsg_seq, EOPNOTSUPP));
    }
  }

  static std::vector<uint8_t> clsact_message(uint32_t sequence, uint32_t ifindex) {
    std::vector<uint8_t> buffer(256, 0);
    nlmsghdr* header = mnl_nlmsg_put_header(buffer.data());
    header->nlmsg_type = RTM_NEWQDISC;
    header->nlmsg_flags = NLM_F_MULTI;
    header->nlmsg_seq = sequence;
    header->nlmsg_pid = kScriptedPortId;
    auto* tc = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(header, sizeof(tcmsg)));
    tc->tcm_ifindex = static_cast<int>(ifindex);
    tc->tcm_parent = TC_H_INGRESS;
    tc->tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
    mnl_attr_put_strz(header, TCA_KIND, "clsact");
    buffer.resize(header->nlmsg_len);
    return buffer;
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  size_t inside_ = 0, most_inside_ = 0;
  bool rendezvous_met_ = false;
  bool gate_waiting_ = false, gate_open_ = false;
  std::set<uint32_t> clsact_;
  uint32_t last_handle_ = 0;
  std::map<FilterKey, ScriptedFlowerFilter> filters_;
  std::map<std::array<uint8_t, 16>, size_t> new_requests_;
};

// One socket: the answers to what it sent, in order. Nothing queued means
// nothing will come (the session then calls the outstanding answers lost).
class ScriptedFlowerSocket final : public TcNetlinkTransport {
 public:
  explicit ScriptedFlowerSocket(std::shared_ptr<ScriptedFlowerKernel> kernel) : kernel_(std::move(kernel)) {}
  uint32_t port_id() const override { return kScriptedPortId; }
  size_t receive_buffer_bytes() const override { return 4 << 20; }
  Status send(std::span<const uint8_t> datagram) override {
    for (std::vector<uint8_t>& answer : kernel_->handle(datagram)) queue_.push_back(std::move(answer));
    return Status::ok();
  }
  Result<size_t> receive(std::span<uint8_t> buffer, bool) override {
    if (queue_.empty()) return Status(EAGAIN, "no answer within the scripted timeout");
    std::vector<uint8_t> datagram = std::move(queue_.front());
    queue_.pop_front();
    if (datagram.size() > buffer.size()) return Status(EMSGSIZE, "datagram too large");
    std::memcpy(buffer.data(), datagram.data(), datagram.size());
    return datagram.size();
  }

 private:
  std::shared_ptr<ScriptedFlowerKernel> kernel_;
  std::deque<std::vector<uint8_t>> queue_;
};

Ufid ufid_of(uint32_t id) {
  Ufid ufid;
  std::memcpy(ufid.bytes.data(), &id, sizeof id);
  ufid.bytes[15] = 0x7e;
  return ufid;
}

// UDP to 10.x.y.z (from id) arriving on port 1 (p1), out of port 2.
DpifFlowPut put_of(uint32_t id, std::string_view actions = "2") {
  DpifFlowPut put;
  put.flow.ufid = ufid_of(id);
  const std::string destination = "10." + std::to_string((id >> 16) & 0xff) + "." +
                                  std::to_string((id >> 8) & 0xff) + "." + std::to_string(id & 0xff);
  Result<Match> match = parse_match(
      "recirc_id(0),in_port(1),eth(src=02:00:00:00:00:0a,dst=02:00:00:00:00:0b),eth_type(0x0800),ipv4(dst=" +
      destination + ",proto=17,frag=no),udp(dst=53)");
  EXPECT_TRUE(match) << match.status().message();
  if (match) put.flow.match = *match;
  Result<ActionList> parsed = parse_actions(actions);
  EXPECT_TRUE(parsed) << parsed.status().message();
  if (parsed) put.flow.actions = *parsed;
  return put;
}

struct ScriptedProvider {
  std::shared_ptr<ScriptedFlowerKernel> kernel = std::make_shared<ScriptedFlowerKernel>();
  std::unique_ptr<TcOffloadProvider> provider;

  explicit ScriptedProvider(TcOffloadConfig config = {}) {
    Result<TcProfileBook> profiles = TcProfileBook::load(config.profile, config.device_profiles);
    EXPECT_TRUE(profiles) << profiles.status().message();
    config.resolve_ifindex = [](const std::string& name) {
      return name == "p1" ? kIfindexP1 : name == "p2" ? kIfindexP2 : 0u;
    };
    auto shared = kernel;
    config.open_session = [shared]() -> Result<TcNetlinkSession> {
      return TcNetlinkSession::over(std::make_unique<ScriptedFlowerSocket>(shared));
    };
    TcNetlinkSession first = TcNetlinkSession::over(std::make_unique<ScriptedFlowerSocket>(kernel));
    provider = std::make_unique<TcOffloadProvider>(std::move(first), std::move(*profiles), std::move(config));
    provider->set_ports({{.number = 1, .name = "p1", .type = DpifPortType::kSystem},
                         {.number = 2, .name = "p2", .type = DpifPortType::kSystem}});
  }
};

TcOffloadConfig skip_hw_config(size_t most_sessions) {
  TcOffloadConfig config;
  config.default_policy = TcPolicy::kSkipHw;
  config.most_sessions = most_sessions;
  return config;
}

std::vector<DpifFlowPut> puts_from(uint32_t first_id, uint32_t count) {
  std::vector<DpifFlowPut> puts;
  for (uint32_t id = first_id; id < first_id + count; ++id) puts.push_back(put_of(id));
  return puts;
}

void expect_all_in_tc_software(const std::vector<OffloadPutResult>& results) {
  for (const OffloadPutResult& result : results)
    EXPECT_EQ(result.placement, MegaflowPlacement::kTcSoftware) << result.reason;
}

TEST(TcOffloadProviderThreads, BatchesFromTwoThreadsReachTheKernelTogether) {
  ScriptedProvider scripted(skip_hw_config(2));
  scripted.kernel->rendezvous = 2;  // each train waits in sendmsg for the other
  std::vector<OffloadPutResult> first, second;
  std::thread other([&] { second = scripted.provider->put(puts_from(100, 8)); });
  first = scripted.provider->put(puts_from(200, 8));
  other.join();
  EXPECT_EQ(scripted.kernel->most_inside(), 2u)
      << "the second batch never reached the kernel while the first was there";
  EXPECT_EQ(scripted.provider->most_sessions_in_use_at_once(), 2u);
  expect_all_in_tc_software(first);
  expect_all_in_tc_software(second);
  EXPECT_EQ(scripted.provider->flow_count(), 16u);
  EXPECT_EQ(scripted.kernel->filters().size(), 16u);
}

TEST(TcOffloadProviderThreads, ManyThreadsLeaveEveryFlowHeldOnceWithTheHandleTheKernelGaveIt) {
  ScriptedProvider scripted(skip_hw_config(2));  // fewer sessions than threads: some wait for one
  constexpr uint32_t kThreads = 4, kBatches = 6, kBatch = 16;
  std::vector<std::thread> threads;
  std::vector<std::vector<OffloadPutResult>> results(kThreads * kBatches);
  for (uint32_t t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (uint32_t b = 0; b < kBatches; ++b)
        results[t * kBatches + b] = scripted.provider->put(puts_from(1000 * (t + 1) + b * kBatch, kBatch));
    });
  for (std::thread& thread : threads) thread.join();
  for (const auto& batch : results) expect_all_in_tc_software(batch);
  EXPECT_LE(scripted.provider->sessions_open(), 2u);

  constexpr size_t kFlows = kThreads * kBatches * kBatch;
  EXPECT_EQ(scripted.provider->flow_count(), kFlows);
  std::vector<TcFlowerRule> in_kernel = scripted.kernel->filters();
  ASSERT_EQ(in_kernel.size(), kFlows);
  std::set<std::array<uint8_t, 16>> cookies;
  for (const TcFlowerRule& rule : in_kernel) {
    cookies.insert(rule.cookie.bytes);
    EXPECT_EQ(rule.priority, in_kernel.front().priority) << "one mask shape, one priority";
  }
  EXPECT_EQ(cookies.size(), kFlows) << "one filter per UFID";
  for (const Megaflow& flow : scripted.provider->dump())
    EXPECT_EQ(flow.location.placement, MegaflowPlacement::kTcSoftware) << flow.location.reason;

  // Each flow's delete names its own filter: the kernel's handle was kept
  // with the right flow.
  for (uint32_t t = 0; t < kThreads; ++t)
    for (uint32_t id = 1000 * (t + 1); id < 1000 * (t + 1) + kBatches * kBatch; ++id) {
      ASSERT_EQ(scripted.kernel->filters_with(ufid_of(id)), 1u) << id;
      ASSERT_TRUE(scripted.provider->del(ufid_of(id))) << id;
      ASSERT_EQ(scripted.kernel->filters_with(ufid_of(id)), 0u) << id;
    }
  EXPECT_TRUE(scripted.kernel->filters().empty());
  EXPECT_EQ(scripted.provider->flow_count(), 0u);
}

TEST(TcOffloadProviderThreads, AUfidBeingInstalledIsNotSentAgainAndIsThenSeenHeld) {
  ScriptedProvider scripted(skip_hw_config(2));
  scripted.kernel->gated = ufid_of(7);
  std::vector<OffloadPutResult> first;
  std::thread installer([&] { first = scripted.provider->put(std::vector<DpifFlowPut>{put_of(7)}); });
  ASSERT_TRUE(scripted.kernel->wait_for_gate());
  // The same UFID again (as a second handler would) and another one: the
  // other goes to the kernel at once, the same one waits for the first.
  std::vector<OffloadPutResult> second;
  std::thread again([&] { second = scripted.provider->put(std::vector<DpifFlowPut>{put_of(7), put_of(8)}); });
  EXPECT_TRUE(scripted.kernel->wait_for_request_of(ufid_of(8)));
  scripted.kernel->open_gate();
  installer.join();
  again.join();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].placement, MegaflowPlacement::kTcSoftware) << first[0].reason;
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].placement, MegaflowPlacement::kDatapath);
  EXPECT_EQ(second[0].error, EEXIST) << second[0].reason;
  EXPECT_EQ(second[1].placement, MegaflowPlacement::kTcSoftware) << second[1].reason;
  EXPECT_EQ(scripted.kernel->new_requests_for(ufid_of(7)), 1u) << "sent once only";
  EXPECT_EQ(scripted.kernel->filters_with(ufid_of(7)), 1u);
  EXPECT_EQ(scripted.provider->flow_count(), 2u);
}

TEST(TcOffloadProviderThreads, AUfidTwiceInOneBatchIsSentOnceAndTheSecondIsAnEexist) {
  ScriptedProvider scripted(skip_hw_config(1));
  std::vector<OffloadPutResult> results =
      scripted.provider->put(std::vector<DpifFlowPut>{put_of(5), put_of(6), put_of(5)});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].placement, MegaflowPlacement::kTcSoftware) << results[0].reason;
  EXPECT_EQ(results[1].placement, MegaflowPlacement::kTcSoftware) << results[1].reason;
  EXPECT_EQ(results[2].error, EEXIST) << results[2].reason;
  EXPECT_EQ(scripted.kernel->new_requests_for(ufid_of(5)), 1u);
  EXPECT_EQ(scripted.kernel->filters_with(ufid_of(5)), 1u);
}

TEST(TcOffloadProviderThreads, ALostAnswerIsSettledFromADumpWhileAnotherThreadPuts) {
  ScriptedProvider scripted(skip_hw_config(2));
  scripted.kernel->answers_lost_for = ufid_of(42);
  std::vector<OffloadPutResult> with_lost, others;
  std::thread other([&] { others = scripted.provider->put(puts_from(300, 20)); });
  with_lost = scripted.provider->put(puts_from(30, 20));  // 42 among them
  other.join();
  expect_all_in_tc_software(with_lost);
  expect_all_in_tc_software(others);
  EXPECT_EQ(scripted.kernel->new_requests_for(ufid_of(42)), 1u) << "found in the dump, so not sent again";
  EXPECT_EQ(scripted.kernel->filters_with(ufid_of(42)), 1u);
  EXPECT_EQ(scripted.provider->flow_count(), 40u);
  // Its handle is the kernel's: deleting it removes its filter.
  ASSERT_TRUE(scripted.provider->del(ufid_of(42)));
  EXPECT_EQ(scripted.kernel->filters_with(ufid_of(42)), 0u);
}

TEST(TcOffloadProviderThreads, FlushWaitsForPutsInFlightAndLeavesNothingBehind) {
  ScriptedProvider scripted(skip_hw_config(2));
  scripted.kernel->gated = ufid_of(9);
  std::vector<OffloadPutResult> results;
  std::thread installer([&] { results = scripted.provider->put(puts_from(1, 10)); });  // 9 among them
  ASSERT_TRUE(scripted.kernel->wait_for_gate());
  std::thread flusher([&] { EXPECT_TRUE(scripted.provider->flush()); });
  scripted.kernel->open_gate();
  installer.join();
  flusher.join();
  expect_all_in_tc_software(results);
  // The flush ran after the batch settled (it waits for puts in flight):
  // nothing held and nothing in the kernel, not a filter held but deleted.
  EXPECT_EQ(scripted.provider->flow_count(), 0u);
  EXPECT_TRUE(scripted.kernel->filters().empty());
}

TEST(TcOffloadProviderPorts, EveryPortGetsItsClsactBeforeAnyFilterIsPut) {
  // Grafting a clsact stops the device's transmit queues for a moment; done
  // at port setup, it never happens under traffic redirected to the port.
  ScriptedProvider scripted(skip_hw_config(1));
  EXPECT_TRUE(scripted.kernel->has_clsact(kIfindexP1));
  EXPECT_TRUE(scripted.kernel->has_clsact(kIfindexP2));
  EXPECT_TRUE(scripted.kernel->filters().empty());
}

// ---- Action counters (TCA_ACT_FLAGS_NO_PERCPU_STATS) ----

bool installed_without_percpu_counters(TcPolicy policy, const std::string& profile,
                                       TcActionCounters counters) {
  TcOffloadConfig config;
  config.default_policy = policy;
  config.profile = profile;
  config.action_counters = counters;
  ScriptedProvider scripted(config);
  std::vector<OffloadPutResult> results = scripted.provider->put(std::vector<DpifFlowPut>{put_of(1)});
  EXPECT_EQ(results.at(0).placement, MegaflowPlacement::kTcSoftware) << results[0].reason;
  std::vector<TcFlowerRule> filters = scripted.kernel->filters();
  EXPECT_EQ(filters.size(), 1u);
  return !filters.empty() && filters[0].actions_without_percpu_stats;
}

TEST(TcOffloadProviderActionCounters, AutoSharesCountersOnlyWhereHardwareCarriesTheTraffic) {
  constexpr auto kAuto = TcActionCounters::kAuto;
  EXPECT_FALSE(installed_without_percpu_counters(TcPolicy::kSkipHw, "tc-software", kAuto))
      << "TC software carries a skip_hw filter's packets";
  EXPECT_FALSE(installed_without_percpu_counters(TcPolicy::kNone, "tc-software", kAuto))
      << "no hardware: TC software carries them";
  EXPECT_TRUE(installed_without_percpu_counters(TcPolicy::kSkipSw, "tc-software", kAuto))
      << "skip_sw: software never runs the actions";
  EXPECT_TRUE(installed_without_percpu_counters(TcPolicy::kNone, "mlx5-connectx6dx", kAuto))
      << "a hardware profile without skip_hw: the NIC counts";
  EXPECT_FALSE(installed_without_percpu_counters(TcPolicy::kSkipHw, "mlx5-connectx6dx", kAuto));
}

TEST(TcOffloadProviderActionCounters, AnExplicitChoiceHoldsForEveryPolicy) {
  for (TcPolicy policy : {TcPolicy::kNone, TcPolicy::kSkipSw, TcPolicy::kSkipHw}) {
    EXPECT_TRUE(installed_without_percpu_counters(policy, "tc-software", TcActionCounters::kNoPerCpu))
        << tc_policy_name(policy);
    EXPECT_FALSE(installed_without_percpu_counters(policy, "mlx5-connectx6dx", TcActionCounters::kPerCpu))
        << tc_policy_name(policy);
  }
}

TEST(TcOffloadProviderActionCounters, TheOptionIsParsedByIproute2sWords) {
  EXPECT_EQ(*parse_tc_action_counters("auto"), TcActionCounters::kAuto);
  EXPECT_EQ(*parse_tc_action_counters("percpu"), TcActionCounters::kPerCpu);
  EXPECT_EQ(*parse_tc_action_counters("no_percpu"), TcActionCounters::kNoPerCpu);
  Result<TcActionCounters> wrong = parse_tc_action_counters("nopercpu");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.status().message().find("nopercpu"), std::string::npos) << wrong.status().message();
  for (TcActionCounters counters :
       {TcActionCounters::kAuto, TcActionCounters::kPerCpu, TcActionCounters::kNoPerCpu})
    EXPECT_EQ(*parse_tc_action_counters(tc_action_counters_name(counters)), counters);
}

}  // namespace
}  // namespace flowlift
