// TcNetlinkSession and the clsact helpers against Debian's kernel (lab VM):
// a network namespace with a veth pair, the real sch_ingress (clsact),
// cls_flower and act_gact, and iproute2's tc as the second judge of what
// the kernel holds. The flower requests are encoded here by hand with
// libmnl (protocol ip, one distinct dst_ip each, action gact drop, skip_hw,
// NLM_F_ECHO) so that this test depends on no codec of ours.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_gact.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kmod/lab_test_support.h"
#include "offload/tc_netlink_session.h"
#include "offload/tc_qdisc.h"

namespace flowlift {
namespace {

using ::testing::HasSubstr;

constexpr uint32_t kFirstDestination = 0x0a000000;  // 10.0.0.0 onwards, one per filter
constexpr uint16_t kFilterPriority = 7;

// One RTM_NEWTFILTER: flower, eth_type ipv4, dst_ip exact, gact drop.
std::vector<uint8_t> flower_drop_request(uint32_t ifindex, uint32_t destination, uint32_t cls_flags,
                                         uint32_t chain = 0) {
  std::vector<uint32_t> storage(256);  // 4-byte aligned, as libmnl writes
  auto* buffer = reinterpret_cast<char*>(storage.data());
  nlmsghdr* header = mnl_nlmsg_put_header(buffer);
  header->nlmsg_type = RTM_NEWTFILTER;
  header->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO;
  auto* tc = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(header, sizeof(tcmsg)));
  tc->tcm_family = AF_UNSPEC;
  tc->tcm_ifindex = static_cast<int>(ifindex);
  tc->tcm_parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
  tc->tcm_info = TC_H_MAKE(static_cast<uint32_t>(kFilterPriority) << 16, htons(ETH_P_IP));
  mnl_attr_put_strz(header, TCA_KIND, "flower");
  if (chain != 0) mnl_attr_put_u32(header, TCA_CHAIN, chain);
  nlattr* options = mnl_attr_nest_start(header, TCA_OPTIONS);
  mnl_attr_put_u16(header, TCA_FLOWER_KEY_ETH_TYPE, htons(ETH_P_IP));
  mnl_attr_put_u32(header, TCA_FLOWER_KEY_IPV4_DST, htonl(destination));
  mnl_attr_put_u32(header, TCA_FLOWER_KEY_IPV4_DST_MASK, 0xffffffffu);
  mnl_attr_put_u32(header, TCA_FLOWER_FLAGS, cls_flags);
  nlattr* actions = mnl_attr_nest_start(header, TCA_FLOWER_ACT);
  nlattr* first = mnl_attr_nest_start(header, 1);
  mnl_attr_put_strz(header, TCA_ACT_KIND, "gact");
  nlattr* gact_options = mnl_attr_nest_start(header, TCA_ACT_OPTIONS);
  tc_gact parameters{};
  parameters.action = TC_ACT_SHOT;
  mnl_attr_put(header, TCA_GACT_PARMS, sizeof parameters, &parameters);
  mnl_attr_nest_end(header, gact_options);
  mnl_attr_nest_end(header, first);
  mnl_attr_nest_end(header, actions);
  mnl_attr_nest_end(header, options);
  auto* bytes = reinterpret_cast<const uint8_t*>(buffer);
  return std::vector<uint8_t>(bytes, bytes + header->nlmsg_len);
}

std::vector<uint8_t> filter_dump_request(uint32_t ifindex) {
  std::vector<uint32_t> storage(16);
  auto* buffer = reinterpret_cast<char*>(storage.data());
  nlmsghdr* header = mnl_nlmsg_put_header(buffer);
  header->nlmsg_type = RTM_GETTFILTER;
  auto* tc = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(header, sizeof(tcmsg)));
  tc->tcm_family = AF_UNSPEC;
  tc->tcm_ifindex = static_cast<int>(ifindex);
  tc->tcm_parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
  auto* bytes = reinterpret_cast<const uint8_t*>(buffer);
  return std::vector<uint8_t>(bytes, bytes + header->nlmsg_len);
}

// tcm_handle of an RTM_NEWTFILTER message (0 for the message a dump gives
// for the classifier instance itself, before its filters).
uint32_t filter_handle(const std::vector<uint8_t>& message) {
  if (message.size() < NLMSG_HDRLEN + sizeof(tcmsg)) return 0;
  nlmsghdr header;
  std::memcpy(&header, message.data(), sizeof header);
  if (header.nlmsg_type != RTM_NEWTFILTER) return 0;
  tcmsg tc;
  std::memcpy(&tc, message.data() + NLMSG_HDRLEN, sizeof tc);
  return tc.tcm_handle;
}

std::set<uint32_t> dumped_handles(TcNetlinkSession& session, uint32_t ifindex) {
  auto dumped = session.dump(filter_dump_request(ifindex));
  EXPECT_TRUE(dumped.is_ok()) << dumped.status().message();
  std::set<uint32_t> handles;
  if (!dumped) return handles;
  for (const auto& message : *dumped) {
    if (uint32_t handle = filter_handle(message); handle != 0) handles.insert(handle);
  }
  return handles;
}

class TcNetlinkSessionLab : public LabTest {
 protected:
  void SetUp() override {
    LabTest::SetUp();
    if (IsSkipped()) return;
    netns_.emplace(unique_netns_name("tcs"));
    ASSERT_TRUE(netns_->created());
    netns_->ip("link add tcs0 type veth peer name tcs1");
    netns_->ip("link set tcs0 up");
    netns_->ip("link set tcs1 up");
    nlohmann::json link = netns_->ip_json("link show tcs0");
    ASSERT_TRUE(link.is_array() && !link.empty()) << link.dump();
    ifindex_ = link[0].value("ifindex", 0u);
    ASSERT_NE(ifindex_, 0u);
  }

  Result<TcNetlinkSession> open_session(const TcNetlinkSessionOptions& options = {}) {
    return netns_->inside([&] { return TcNetlinkSession::open(options); });
  }
  NetnsCommandOutput tc(const std::string& arguments) {
    return run_netns_command("tc -n " + netns_->name() + " " + arguments);
  }
  // Filters `tc filter show` lists on tcs0's ingress (lines with a handle).
  int tc_filter_count() {
    NetnsCommandOutput shown = tc("filter show dev tcs0 ingress");
    EXPECT_EQ(shown.exit_code, 0) << shown.output;
    int count = 0;
    size_t position = 0;
    while ((position = shown.output.find(" handle 0x", position)) != std::string::npos) {
      ++count;
      ++position;
    }
    return count;
  }

  std::optional<TestNetns> netns_;
  uint32_t ifindex_ = 0;
};

TEST_F(TcNetlinkSessionLab, EnsureClsactCreatesItOnceAndRecreatesItAfterTcDeletesIt) {
  auto session = open_session();
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  auto before = has_clsact(*session, ifindex_);
  ASSERT_TRUE(before.is_ok()) << before.status().message();
  EXPECT_FALSE(*before);

  Status created = ensure_clsact(*session, ifindex_);
  ASSERT_TRUE(created.is_ok()) << created.message();
  Status again = ensure_clsact(*session, ifindex_);
  EXPECT_TRUE(again.is_ok()) << again.message();
  auto present = has_clsact(*session, ifindex_);
  ASSERT_TRUE(present.is_ok()) << present.status().message();
  EXPECT_TRUE(*present);
  NetnsCommandOutput shown = tc("qdisc show dev tcs0");
  EXPECT_THAT(shown.output, HasSubstr("qdisc clsact ffff: parent ffff:fff1")) << shown.output;

  NetnsCommandOutput deleted = tc("qdisc del dev tcs0 clsact");
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  auto after_delete = has_clsact(*session, ifindex_);
  ASSERT_TRUE(after_delete.is_ok()) << after_delete.status().message();
  EXPECT_FALSE(*after_delete);
  Status recreated = ensure_clsact(*session, ifindex_);
  ASSERT_TRUE(recreated.is_ok()) << recreated.message();
  auto back = has_clsact(*session, ifindex_);
  ASSERT_TRUE(back.is_ok());
  EXPECT_TRUE(*back);

  // An `ingress` qdisc in the slot is someone else's: named, left alone.
  Status removed = delete_clsact(*session, ifindex_);
  ASSERT_TRUE(removed.is_ok()) << removed.message();
  EXPECT_THAT(tc("qdisc show dev tcs0").output, ::testing::Not(HasSubstr("clsact")));
  ASSERT_EQ(tc("qdisc add dev tcs0 ingress").exit_code, 0);
  Status refused = ensure_clsact(*session, ifindex_);
  EXPECT_EQ(refused.code(), EEXIST);
  EXPECT_THAT(refused.message(), HasSubstr("`ingress` qdisc")) << refused.message();
  EXPECT_THAT(tc("qdisc show dev tcs0").output, HasSubstr("qdisc ingress ffff:"));
}

TEST_F(TcNetlinkSessionLab, ABatchOf2000FiltersIsAcknowledgedWithEveryHandleEchoedAndDumpedBack) {
  auto session = open_session();
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  ASSERT_TRUE(ensure_clsact(*session, ifindex_).is_ok());
  constexpr int kFilters = 2000;
  std::vector<std::vector<uint8_t>> requests;
  for (int i = 0; i < kFilters; ++i) {
    requests.push_back(flower_drop_request(ifindex_, kFirstDestination + static_cast<uint32_t>(i) + 1,
                                           TCA_CLS_FLAGS_SKIP_HW));
  }
  size_t datagrams_before = session->datagrams_sent();
  auto started = std::chrono::steady_clock::now();
  std::vector<TcRequestOutcome> outcomes = session->transact(requests);
  auto elapsed = std::chrono::steady_clock::now() - started;
  std::printf("%d filters in %zu sendmsg calls, %lld ms (TCG: for orientation only)\n", kFilters,
              session->datagrams_sent() - datagrams_before,
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
  ASSERT_EQ(outcomes.size(), static_cast<size_t>(kFilters));
  EXPECT_LT(session->datagrams_sent() - datagrams_before, static_cast<size_t>(kFilters) / 10)
      << "requests are not packed many per sendmsg";
  std::set<uint32_t> echoed_handles;
  for (int i = 0; i < kFilters; ++i) {
    const TcRequestOutcome& outcome = outcomes[static_cast<size_t>(i)];
    ASSERT_FALSE(outcome.lost) << "request " << i << ": " << outcome.lost_reason;
    ASSERT_EQ(outcome.error, 0) << "request " << i << ": " << outcome.extack;
    ASSERT_FALSE(outcome.echoed.empty()) << "request " << i << " has no echo";
    uint32_t handle = filter_handle(outcome.echoed);
    EXPECT_NE(handle, 0u) << "request " << i;
    echoed_handles.insert(handle);
  }
  EXPECT_EQ(echoed_handles.size(), static_cast<size_t>(kFilters)) << "handles are not distinct";
  EXPECT_TRUE(session->reply_problems().empty()) << session->reply_problems().front().message();
  EXPECT_EQ(session->overruns(), 0u);
  EXPECT_EQ(tc_filter_count(), kFilters);

  std::set<uint32_t> dumped = dumped_handles(*session, ifindex_);
  EXPECT_EQ(dumped, echoed_handles);
}

TEST_F(TcNetlinkSessionLab, ARefusedFilterCarriesTheErrnoAndTheKernelsText) {
  auto session = open_session();
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  ASSERT_TRUE(ensure_clsact(*session, ifindex_).is_ok());
  std::vector<std::vector<uint8_t>> requests = {
      flower_drop_request(ifindex_, kFirstDestination + 1, TCA_CLS_FLAGS_SKIP_HW),
      // veth cannot offload: hardware only is refused.
      flower_drop_request(ifindex_, kFirstDestination + 2, TCA_CLS_FLAGS_SKIP_SW),
      // TCA_CHAIN above TC_ACT_EXT_VAL_MASK.
      flower_drop_request(ifindex_, kFirstDestination + 3, TCA_CLS_FLAGS_SKIP_HW, 0x20000000u),
      flower_drop_request(ifindex_, kFirstDestination + 4, TCA_CLS_FLAGS_SKIP_HW),
  };
  std::vector<TcRequestOutcome> outcomes = session->transact(requests);
  ASSERT_EQ(outcomes.size(), 4u);
  for (size_t i = 0; i < outcomes.size(); ++i) {
    std::printf("outcome %zu: error %d (%s) extack \"%s\" lost %d echoed %zu\n", i, outcomes[i].error,
                std::strerror(outcomes[i].error), outcomes[i].extack.c_str(), outcomes[i].lost ? 1 : 0,
                outcomes[i].echoed.size());
  }
  EXPECT_EQ(outcomes[0].error, 0);
  // cls_flower's tc_setup_cb_add refuses (no offload-capable device on the
  // block) without extack text: the errno alone (verified in the lab).
  EXPECT_EQ(outcomes[1].error, EOPNOTSUPP);
  EXPECT_FALSE(outcomes[1].lost);
  EXPECT_TRUE(outcomes[1].echoed.empty());
  EXPECT_EQ(outcomes[2].error, EINVAL);
  EXPECT_THAT(outcomes[2].extack, HasSubstr("Specified chain index exceeds upper limit"));
  EXPECT_EQ(outcomes[3].error, 0);
  EXPECT_EQ(tc_filter_count(), 2);
}

TEST_F(TcNetlinkSessionLab, AnOverrunMarksAnswersLostAndNothingReportedInstalledIsMissingFromTheDump) {
  auto session = open_session();
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  ASSERT_TRUE(ensure_clsact(*session, ifindex_).is_ok());
  // A tiny receive buffer and no window: one sendmsg's echoes cannot fit.
  TcNetlinkSessionOptions tiny;
  tiny.receive_buffer_bytes = 4096;
  tiny.answer_window_bytes = size_t{1} << 30;
  auto overrun = open_session(tiny);
  ASSERT_TRUE(overrun.is_ok()) << overrun.status().message();
  constexpr int kFilters = 600;
  std::vector<std::vector<uint8_t>> requests;
  for (int i = 0; i < kFilters; ++i) {
    requests.push_back(flower_drop_request(ifindex_, kFirstDestination + static_cast<uint32_t>(i) + 1,
                                           TCA_CLS_FLAGS_SKIP_HW));
  }
  std::vector<TcRequestOutcome> outcomes = overrun->transact(requests);
  ASSERT_EQ(outcomes.size(), static_cast<size_t>(kFilters));
  EXPECT_GE(overrun->overruns(), 1u);
  std::set<uint32_t> reported_installed;
  size_t lost = 0;
  size_t failed = 0;
  for (const TcRequestOutcome& outcome : outcomes) {
    if (outcome.lost) {
      ++lost;
      EXPECT_EQ(outcome.error, 0);
      EXPECT_THAT(outcome.lost_reason, HasSubstr("ENOBUFS"));
    } else if (outcome.error != 0) {
      ++failed;
    } else if (!outcome.echoed.empty()) {
      reported_installed.insert(filter_handle(outcome.echoed));
    }
  }
  std::printf("overrun: %zu lost, %zu failed, %zu installed with echo, window now %zu\n", lost, failed,
              reported_installed.size(), overrun->answer_window_bytes());
  EXPECT_GT(lost, 0u);
  EXPECT_EQ(failed, 0u);

  // The session still works: one more filter, acknowledged and echoed.
  TcRequestOutcome later = overrun->transact_one(
      flower_drop_request(ifindex_, kFirstDestination + kFilters + 1, TCA_CLS_FLAGS_SKIP_HW));
  EXPECT_FALSE(later.lost) << later.lost_reason;
  EXPECT_EQ(later.error, 0) << later.extack;
  ASSERT_FALSE(later.echoed.empty());
  reported_installed.insert(filter_handle(later.echoed));
  auto clsact = has_clsact(*overrun, ifindex_);
  ASSERT_TRUE(clsact.is_ok()) << clsact.status().message();
  EXPECT_TRUE(*clsact);

  std::set<uint32_t> dumped = dumped_handles(*session, ifindex_);
  for (uint32_t handle : reported_installed) {
    EXPECT_TRUE(dumped.count(handle)) << "handle " << handle << " reported installed but not in the dump";
  }
  EXPECT_EQ(static_cast<int>(dumped.size()), tc_filter_count());
  // The kernel carried out every request (unique keys): a lost answer is an
  // unknown outcome to settle from a dump, not a failure.
  EXPECT_EQ(dumped.size(), static_cast<size_t>(kFilters) + 1);
}

}  // namespace
}  // namespace flowlift
