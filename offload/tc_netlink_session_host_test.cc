// TcNetlinkSession and the clsact helpers against this machine's own kernel
// (root, a fresh network namespace with a veth pair). The development
// kernel has sch_ingress (clsact) but no classifiers, so filters are left
// to the lab test; what this proves without booting the lab: the real
// socket's options, clsact created/checked/deleted as `tc` sees it, the
// kernel's extack text reaching an outcome, and a real overrun (a tiny
// receive buffer) reported as lost answers with the session still usable.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "kmod/netns_test_support.h"
#include "offload/tc_netlink_session.h"
#include "offload/tc_qdisc.h"

namespace flowlift {
namespace {

using ::testing::HasSubstr;

class TcNetlinkSessionHost : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string reason = netns_unusable_reason(); !reason.empty()) GTEST_SKIP() << reason;
    netns_.emplace(unique_netns_name("tch"));
    ASSERT_TRUE(netns_->created());
    netns_->ip("link add tch0 type veth peer name tch1");
    nlohmann::json link = netns_->ip_json("link show tch0");
    ASSERT_TRUE(link.is_array() && !link.empty()) << link.dump();
    ifindex_ = link[0].value("ifindex", 0u);
    ASSERT_NE(ifindex_, 0u);
  }
  Result<TcNetlinkSession> open_session(const TcNetlinkSessionOptions& options = {}) {
    return netns_->inside([&] { return TcNetlinkSession::open(options); });
  }
  std::string tc(const std::string& arguments) {
    return run_netns_command("tc -n " + netns_->name() + " " + arguments).output;
  }

  std::optional<TestNetns> netns_;
  uint32_t ifindex_ = 0;
};

TEST_F(TcNetlinkSessionHost, ClsactIsCreatedCheckedRecreatedAndDeletedAsTcSeesIt) {
  auto session = open_session();
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  auto before = has_clsact(*session, ifindex_);
  ASSERT_TRUE(before.is_ok()) << before.status().message();
  EXPECT_FALSE(*before);
  ASSERT_TRUE(ensure_clsact(*session, ifindex_).is_ok());
  EXPECT_TRUE(ensure_clsact(*session, ifindex_).is_ok());
  EXPECT_THAT(tc("qdisc show dev tch0"), HasSubstr("qdisc clsact ffff: parent ffff:fff1"));
  EXPECT_TRUE(*has_clsact(*session, ifindex_));

  ASSERT_THAT(tc("qdisc del dev tch0 clsact"), ::testing::IsEmpty());
  EXPECT_FALSE(*has_clsact(*session, ifindex_));
  ASSERT_TRUE(ensure_clsact(*session, ifindex_).is_ok());
  EXPECT_TRUE(*has_clsact(*session, ifindex_));

  ASSERT_TRUE(delete_clsact(*session, ifindex_).is_ok());
  EXPECT_THAT(tc("qdisc show dev tch0"), ::testing::Not(HasSubstr("clsact")));
  EXPECT_TRUE(delete_clsact(*session, ifindex_).is_ok()) << "absent already is fine";
}

TEST_F(TcNetlinkSessionHost, TheKernelsExtackTextReachesTheOutcome) {
  auto session = open_session();
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  ASSERT_TRUE(ensure_clsact(*session, ifindex_).is_ok());
  // A second exclusive create: net/sched/sch_api.c's tc_modify_qdisc says why.
  TcRequestOutcome outcome = session->transact_one(encode_clsact_request(RTM_NEWQDISC, ifindex_));
  EXPECT_FALSE(outcome.lost);
  EXPECT_EQ(outcome.error, EEXIST);
  EXPECT_THAT(outcome.extack, HasSubstr("Exclusivity flag on, cannot modify"));

  TcRequestOutcome no_device = session->transact_one(encode_clsact_request(RTM_NEWQDISC, 999999));
  EXPECT_EQ(no_device.error, ENODEV);
  Status refused = ensure_clsact(*session, 999999);
  EXPECT_EQ(refused.code(), ENODEV);
  EXPECT_THAT(refused.message(), HasSubstr("ifindex 999999"));
}

TEST_F(TcNetlinkSessionHost, ARealOverrunLosesAnswersNotTheSession) {
  TcNetlinkSessionOptions tiny;
  tiny.receive_buffer_bytes = 4096;
  tiny.answer_window_bytes = size_t{1} << 30;  // no window: one sendmsg, 600 answers
  auto session = open_session(tiny);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  std::vector<uint8_t> create = encode_clsact_request(RTM_NEWQDISC, ifindex_);
  // NLM_F_ECHO: the first create is echoed, every later one refused (EEXIST).
  uint16_t flags = 0;
  std::memcpy(&flags, create.data() + 6, sizeof flags);
  flags |= NLM_F_ECHO;
  std::memcpy(create.data() + 6, &flags, sizeof flags);
  std::vector<std::vector<uint8_t>> requests(600, create);
  std::vector<TcRequestOutcome> outcomes = session->transact(requests);
  ASSERT_EQ(outcomes.size(), 600u);
  size_t lost = 0;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i].lost) {
      ++lost;
      EXPECT_EQ(outcomes[i].error, 0);
      EXPECT_THAT(outcomes[i].lost_reason, HasSubstr("ENOBUFS"));
    } else if (i == 0) {
      EXPECT_EQ(outcomes[i].error, 0);
    } else {
      EXPECT_EQ(outcomes[i].error, EEXIST) << i;
    }
  }
  EXPECT_GT(lost, 0u);
  EXPECT_GE(session->overruns(), 1u);
  auto present = has_clsact(*session, ifindex_);
  ASSERT_TRUE(present.is_ok()) << present.status().message();
  EXPECT_TRUE(*present);
  TcRequestOutcome again = session->transact_one(create);
  EXPECT_FALSE(again.lost) << again.lost_reason;
  EXPECT_EQ(again.error, EEXIST);
}

}  // namespace
}  // namespace flowlift
