// TcNetlinkSession over the scripted kernel of
// tc_netlink_scripted_kernel_for_tests.h: batching, the answer window,
// overruns, malformed and stray answers, dumps and their restarts.
#include "offload/tc_netlink_session.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "offload/tc_netlink_reply.h"
#include "offload/tc_netlink_scripted_kernel_for_tests.h"

namespace flowlift {
namespace {

using ::testing::HasSubstr;
using namespace ::flowlift::tc_netlink_scripted;  // NOLINT(google-build-using-namespace)

TEST(TcNetlinkSession, EveryRequestGetsItsOwnOutcomeInOrderWithItsEchoAndTheKernelsText) {
  ScriptedSession scripted;
  scripted.kernel->answer = [](ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                               std::span<const uint8_t> request) {
    if (request_id(request) == 4) {
      kernel.deliver(scripted_ack(header.nlmsg_seq, EEXIST, "Filter already exists"));
    } else if (request_id(request) == 6) {
      kernel.carried_out.insert(6);
      kernel.deliver(scripted_message(RTM_NEWTFILTER, header.nlmsg_seq, 6));
      kernel.deliver(scripted_ack(header.nlmsg_seq, 0, "Warning: offload refused, kept in software"));
    } else {
      kernel.carry_out(header, request);
    }
  };
  auto requests = scripted_requests(10);
  std::vector<TcRequestOutcome> outcomes = scripted.session.transact(requests);
  ASSERT_EQ(outcomes.size(), 10u);
  for (uint32_t i = 0; i < 10; ++i) {
    const TcRequestOutcome& outcome = outcomes[i];
    uint32_t id = i + 1;
    EXPECT_FALSE(outcome.lost) << id;
    if (id == 4) {
      EXPECT_EQ(outcome.error, EEXIST);
      EXPECT_EQ(outcome.extack, "Filter already exists");
      EXPECT_TRUE(outcome.echoed.empty());
      continue;
    }
    EXPECT_EQ(outcome.error, 0) << id;
    ASSERT_FALSE(outcome.echoed.empty()) << id;
    EXPECT_EQ(request_id(outcome.echoed), id) << "request " << id << " got another request's echo";
    EXPECT_EQ(header_of(outcome.echoed).nlmsg_type, RTM_NEWTFILTER);
  }
  EXPECT_EQ(outcomes[5].extack, "Warning: offload refused, kept in software");
  EXPECT_TRUE(scripted.session.reply_problems().empty());
}

TEST(TcNetlinkSession, TheSessionSetsSequencePortAndAckButKeepsTheRequestsFlags) {
  ScriptedSession scripted;
  auto requests = scripted_requests(5);
  (void)scripted.session.transact(requests);
  auto more = scripted_requests(2, 100);
  (void)scripted.session.transact(more);
  const auto& seen = scripted.kernel->requests;
  ASSERT_EQ(seen.size(), 7u);
  std::set<uint32_t> sequences;
  for (const nlmsghdr& header : seen) {
    sequences.insert(header.nlmsg_seq);
    EXPECT_EQ(header.nlmsg_pid, kScriptedPortId);
    EXPECT_EQ(header.nlmsg_flags & (NLM_F_REQUEST | NLM_F_ACK), NLM_F_REQUEST | NLM_F_ACK);
    EXPECT_EQ(header.nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO),
              NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO);
  }
  EXPECT_EQ(sequences.size(), 7u) << "a sequence number was reused";
  EXPECT_FALSE(sequences.count(0xdeadbeef));
}

TEST(TcNetlinkSession, ManyRequestsGoInOneSendmsgUpToTheSendBound) {
  TcNetlinkSessionOptions options;
  options.max_send_bytes = 1000;
  ScriptedSession scripted(options);
  auto requests = scripted_requests(100);  // 116 bytes each: 8 per sendmsg
  std::vector<TcRequestOutcome> outcomes = scripted.session.transact(requests);
  for (const TcRequestOutcome& outcome : outcomes) EXPECT_EQ(outcome.error, 0);
  const auto& sizes = scripted.kernel->sent_datagram_sizes;
  EXPECT_EQ(sizes.size(), 13u);  // ceil(100 / 8)
  for (size_t size : sizes) EXPECT_LE(size, 1000u);
  EXPECT_EQ(sizes.front(), 8 * 116u);
  EXPECT_EQ(scripted.session.datagrams_sent(), 13u);
}

TEST(TcNetlinkSession, TheWindowKeepsUnreadAnswersWithinTheReceiveBuffer) {
  // 40 KiB of receive buffer; 500 echoing requests would queue ~450 KiB.
  ScriptedSession scripted({}, 40 << 10);
  auto requests = scripted_requests(500);
  std::vector<TcRequestOutcome> outcomes = scripted.session.transact(requests);
  for (const TcRequestOutcome& outcome : outcomes) {
    EXPECT_FALSE(outcome.lost) << outcome.lost_reason;
    EXPECT_EQ(outcome.error, 0);
    EXPECT_FALSE(outcome.echoed.empty());
  }
  EXPECT_EQ(scripted.session.overruns(), 0u);
  EXPECT_LE(scripted.kernel->most_queued_bytes, size_t{40} << 10);
  EXPECT_GT(scripted.kernel->sent_datagram_sizes.size(), 1u);
  EXPECT_LT(scripted.kernel->sent_datagram_sizes.size(), 500u) << "one request per sendmsg: no batching";
}

TEST(TcNetlinkSession, AnOverrunMarksUnansweredRequestsLostNeverSucceededOrFailed) {
  TcNetlinkSessionOptions options;
  options.answer_window_bytes = size_t{1} << 30;  // no window: force the overrun
  ScriptedSession scripted(options, 8 << 10);
  // Every seventh request is refused, so a lost refusal could be told apart.
  scripted.kernel->answer = [](ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                               std::span<const uint8_t> request) {
    if (request_id(request) % 7 == 0) {
      kernel.deliver(scripted_ack(header.nlmsg_seq, EINVAL, "refused"));
    } else {
      kernel.carry_out(header, request);
    }
  };
  auto requests = scripted_requests(200);
  std::vector<TcRequestOutcome> outcomes = scripted.session.transact(requests);
  ASSERT_EQ(outcomes.size(), 200u);
  size_t lost = 0;
  for (uint32_t i = 0; i < 200; ++i) {
    const TcRequestOutcome& outcome = outcomes[i];
    uint32_t id = i + 1;
    if (outcome.lost) {
      ++lost;
      EXPECT_EQ(outcome.error, 0);
      EXPECT_THAT(outcome.lost_reason, HasSubstr("ENOBUFS"));
      continue;
    }
    if (id % 7 == 0) {
      EXPECT_EQ(outcome.error, EINVAL) << id;
    } else {
      EXPECT_EQ(outcome.error, 0) << id;
      EXPECT_TRUE(scripted.kernel->carried_out.count(id))
          << id << " reported installed but never carried out";
      EXPECT_EQ(request_id(outcome.echoed), id);
    }
  }
  EXPECT_GT(lost, 0u);
  EXPECT_LT(lost, 200u);
  EXPECT_EQ(scripted.session.overruns(), 1u);
  EXPECT_EQ(scripted.session.answer_window_bytes(), size_t{1} << 29)
      << "the window is halved after an overrun";

  // The session goes on: nothing of the old batch leaks into the next one.
  scripted.kernel->answer = nullptr;
  auto next = scripted_requests(3, 1000);
  std::vector<TcRequestOutcome> later = scripted.session.transact(next);
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(later[i].lost);
    EXPECT_EQ(later[i].error, 0);
    EXPECT_EQ(request_id(later[i].echoed), 1000 + i);
  }
  EXPECT_TRUE(scripted.session.reply_problems().empty());
}

TEST(TcNetlinkSession, AnEchoWhoseAckWasDroppedIsLostNotInstalled) {
  TcNetlinkSessionOptions options;
  options.answer_window_bytes = size_t{1} << 30;
  ScriptedSession scripted(options);
  scripted.kernel->answer = [](ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                               std::span<const uint8_t> request) {
    kernel.deliver(scripted_message(RTM_NEWTFILTER, header.nlmsg_seq, request_id(request)));
    if (request_id(request) == 2) {
      kernel.report_overrun = true;  // the ack was dropped
      return;
    }
    kernel.deliver(scripted_ack(header.nlmsg_seq, 0));
  };
  auto requests = scripted_requests(3);
  std::vector<TcRequestOutcome> outcomes = scripted.session.transact(requests);
  EXPECT_FALSE(outcomes[0].lost);
  EXPECT_TRUE(outcomes[1].lost);
  EXPECT_EQ(request_id(outcomes[1].echoed), 2u) << "the echo that came is kept for the caller";
  EXPECT_FALSE(outcomes[2].lost);
}

TEST(TcNetlinkSession, AnAckForASequenceNeverSentIsReportedAndIgnored) {
  ScriptedSession scripted;
  scripted.kernel->answer = [](ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                               std::span<const uint8_t> request) {
    if (request_id(request) == 2) {
      kernel.deliver(scripted_ack(header.nlmsg_seq + 1000, EPERM, "stray"));
      kernel.deliver(scripted_ack(header.nlmsg_seq, 0, "", kScriptedPortId + 1));  // another port's
    }
    kernel.carry_out(header, request);
  };
  auto requests = scripted_requests(3);
  std::vector<TcRequestOutcome> outcomes = scripted.session.transact(requests);
  for (const TcRequestOutcome& outcome : outcomes) {
    EXPECT_FALSE(outcome.lost);
    EXPECT_EQ(outcome.error, 0);
  }
  const auto& problems = scripted.session.reply_problems();
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_THAT(problems[0].message(), HasSubstr("never sent"));
  EXPECT_THAT(problems[1].message(), HasSubstr("not this session's"));
}

TEST(TcNetlinkSession, ASecondAckForASettledRequestDoesNotChangeItsOutcome) {
  ScriptedSession scripted;
  scripted.kernel->answer = [](ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                               std::span<const uint8_t> request) {
    kernel.carry_out(header, request);
    if (request_id(request) == 1) kernel.deliver(scripted_ack(header.nlmsg_seq, ENOENT, "late"));
  };
  auto requests = scripted_requests(2);
  std::vector<TcRequestOutcome> outcomes = scripted.session.transact(requests);
  EXPECT_EQ(outcomes[0].error, 0);
  EXPECT_EQ(outcomes[1].error, 0);
  ASSERT_EQ(scripted.session.reply_problems().size(), 1u);
  EXPECT_THAT(scripted.session.reply_problems()[0].message(), HasSubstr("after it was settled"));
}

TEST(TcNetlinkSession, AMalformedAnswerDatagramLosesOnlyWhatItHidAndTheSessionStaysInStep) {
  ScriptedSession scripted;
  scripted.kernel->answer = [](ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                               std::span<const uint8_t> request) {
    if (request_id(request) == 3) {
      auto cut = scripted_ack(header.nlmsg_seq, 0);
      cut.resize(cut.size() - 10);  // nlmsg_len runs past the datagram
      kernel.deliver(cut);
      return;
    }
    kernel.carry_out(header, request);
  };
  auto requests = scripted_requests(5);
  std::vector<TcRequestOutcome> outcomes = scripted.session.transact(requests);
  for (uint32_t i = 0; i < 5; ++i) {
    if (i == 2) {
      EXPECT_TRUE(outcomes[i].lost);
      EXPECT_THAT(outcomes[i].lost_reason, HasSubstr("malformed"));
    } else {
      EXPECT_FALSE(outcomes[i].lost) << i;
      EXPECT_EQ(request_id(outcomes[i].echoed), i + 1);
    }
  }
  ASSERT_FALSE(scripted.session.reply_problems().empty());
  EXPECT_THAT(scripted.session.reply_problems()[0].message(), HasSubstr("runs past"));

  scripted.kernel->answer = nullptr;
  auto next = scripted_requests(2, 50);
  std::vector<TcRequestOutcome> later = scripted.session.transact(next);
  EXPECT_EQ(request_id(later[0].echoed), 50u);
  EXPECT_EQ(request_id(later[1].echoed), 51u);
}

TEST(TcNetlinkSession, AnUnreadableAckLeavesItsRequestLost) {
  ScriptedSession scripted;
  scripted.kernel->answer = [](ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                               std::span<const uint8_t>) {
    auto ack = scripted_ack(header.nlmsg_seq, 0);
    ack.resize(NLMSG_HDRLEN + 4);  // the error but not the echoed header
    uint32_t length = static_cast<uint32_t>(ack.size());
    std::memcpy(ack.data(), &length, sizeof length);
    kernel.deliver(ack);
  };
  TcRequestOutcome outcome = scripted.session.transact_one(scripted_request(1));
  EXPECT_TRUE(outcome.lost);
  EXPECT_EQ(outcome.error, 0);
  EXPECT_THAT(outcome.lost_reason, HasSubstr("unreadable"));
  EXPECT_THAT(outcome.lost_reason, HasSubstr("is truncated"));
}

TEST(TcNetlinkSession, ARequestTheKernelNeverAnswersIsLostAfterTheWait) {
  ScriptedSession scripted;
  scripted.kernel->answer = [](ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                               std::span<const uint8_t> request) {
    if (request_id(request) != 2) kernel.carry_out(header, request);
  };
  auto requests = scripted_requests(3);
  std::vector<TcRequestOutcome> outcomes = scripted.session.transact(requests);
  EXPECT_FALSE(outcomes[0].lost);
  EXPECT_TRUE(outcomes[1].lost);
  EXPECT_THAT(outcomes[1].lost_reason, HasSubstr("no answer"));
  EXPECT_FALSE(outcomes[2].lost);
}

TEST(TcNetlinkSession, ARequestThatIsNotAWholeMessageIsRefusedUnsent) {
  ScriptedSession scripted;
  std::vector<std::vector<uint8_t>> requests = {scripted_request(1), std::vector<uint8_t>(10, 0),
                                                scripted_request(3)};
  uint32_t wrong_length = 500;
  std::memcpy(requests[2].data(), &wrong_length, sizeof wrong_length);
  requests.push_back(scripted_request(4));
  std::vector<TcRequestOutcome> outcomes = scripted.session.transact(requests);
  EXPECT_EQ(outcomes[0].error, 0);
  EXPECT_EQ(outcomes[1].error, EINVAL);
  EXPECT_THAT(outcomes[1].extack, HasSubstr("not sent: the request has 10 bytes"));
  EXPECT_EQ(outcomes[2].error, EINVAL);
  EXPECT_THAT(outcomes[2].extack, HasSubstr("nlmsg_len 500 does not match its 116 bytes"));
  EXPECT_EQ(outcomes[3].error, 0);
  EXPECT_EQ(scripted.kernel->requests.size(), 2u);
}

TEST(TcNetlinkSession, AFailedSendmsgIsAFailureNotALoss) {
  ScriptedSession scripted;
  scripted.kernel->send_failure = Status(EMSGSIZE, "netlink sendmsg failed: Message too long");
  TcRequestOutcome outcome = scripted.session.transact_one(scripted_request(1));
  EXPECT_FALSE(outcome.lost);
  EXPECT_EQ(outcome.error, EMSGSIZE);
  EXPECT_THAT(outcome.extack, HasSubstr("not sent"));
  EXPECT_TRUE(scripted.kernel->carried_out.empty());
}

// --- dumps ---

std::vector<uint8_t> scripted_dump_request() { return scripted_request(0, 0, sizeof(uint32_t)); }

// Answers a dump with `entries` messages, `per_datagram` to a datagram, then
// NLMSG_DONE; `interrupt` marks the first datagram NLM_F_DUMP_INTR.
void answer_dump(ScriptedRtnetlinkState& kernel, const nlmsghdr& header, uint32_t entries,
                 uint32_t per_datagram, bool interrupt) {
  std::vector<uint8_t> datagram;
  for (uint32_t i = 0; i < entries; ++i) {
    uint16_t flags = NLM_F_MULTI | (interrupt && i < per_datagram ? NLM_F_DUMP_INTR : 0);
    auto message = scripted_message(RTM_NEWTFILTER, header.nlmsg_seq, i, flags);
    datagram.insert(datagram.end(), message.begin(), message.end());
    if ((i + 1) % per_datagram == 0) {
      kernel.queue_dump_datagram(std::move(datagram));
      datagram.clear();
    }
  }
  auto done = scripted_done(header.nlmsg_seq);
  datagram.insert(datagram.end(), done.begin(), done.end());
  kernel.queue_dump_datagram(std::move(datagram));
}

TEST(TcNetlinkSession, ADumpReturnsEveryMessageUpToDone) {
  ScriptedSession scripted;
  scripted.kernel->answer = [](ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                               std::span<const uint8_t>) {
    EXPECT_TRUE(header.nlmsg_flags & NLM_F_DUMP);
    answer_dump(kernel, header, 25, 10, false);
  };
  auto dumped = scripted.session.dump(scripted_dump_request());
  ASSERT_TRUE(dumped.is_ok()) << dumped.status().message();
  ASSERT_EQ(dumped->size(), 25u);
  for (uint32_t i = 0; i < 25; ++i) EXPECT_EQ(request_id((*dumped)[i]), i);
}

TEST(TcNetlinkSession, AnInterruptedDumpIsRestartedNotReturnedPartOrTwice) {
  ScriptedSession scripted;
  int attempts = 0;
  scripted.kernel->answer = [&](ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                                std::span<const uint8_t>) {
    ++attempts;
    if (attempts == 1) {
      answer_dump(kernel, header, 25, 10, true);
    } else if (attempts == 2) {
      // The overrun lands mid-dump; the dump itself goes on to its end.
      answer_dump(kernel, header, 25, 10, false);
      kernel.report_overrun = true;
    } else {
      answer_dump(kernel, header, 30, 10, false);
    }
  };
  auto dumped = scripted.session.dump(scripted_dump_request());
  ASSERT_TRUE(dumped.is_ok()) << dumped.status().message();
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(dumped->size(), 30u);
  EXPECT_EQ(scripted.session.overruns(), 1u);
}

TEST(TcNetlinkSession, ADumpInterruptedEveryTimeFailsWithoutPartialResults) {
  TcNetlinkSessionOptions options;
  options.dump_retries = 2;
  ScriptedSession scripted(options);
  scripted.kernel->answer = [](ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                               std::span<const uint8_t>) { answer_dump(kernel, header, 5, 2, true); };
  auto dumped = scripted.session.dump(scripted_dump_request());
  ASSERT_FALSE(dumped.is_ok());
  EXPECT_EQ(dumped.status().code(), EAGAIN);
  EXPECT_THAT(dumped.status().message(), HasSubstr("interrupted 3 times"));
  EXPECT_THAT(dumped.status().message(), HasSubstr("NLM_F_DUMP_INTR"));
  EXPECT_EQ(scripted.kernel->requests.size(), 3u);
}

TEST(TcNetlinkSession, ARefusedDumpCarriesTheErrnoAndText) {
  ScriptedSession scripted;
  scripted.kernel->answer = [](ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                               std::span<const uint8_t>) {
    kernel.deliver(
        scripted_ack(header.nlmsg_seq, EINVAL, "Invalid values in header for filter dump request"));
  };
  auto dumped = scripted.session.dump(scripted_dump_request());
  ASSERT_FALSE(dumped.is_ok());
  EXPECT_EQ(dumped.status().code(), EINVAL);
  EXPECT_THAT(dumped.status().message(),
              HasSubstr("kernel: Invalid values in header for filter dump request"));

  scripted.kernel->answer = [](ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                               std::span<const uint8_t>) {
    kernel.queue_dump_datagram(scripted_message(RTM_NEWTFILTER, header.nlmsg_seq, 1, NLM_F_MULTI));
    kernel.queue_dump_datagram(scripted_done(header.nlmsg_seq, EMSGSIZE));
  };
  auto failed = scripted.session.dump(scripted_dump_request());
  ASSERT_FALSE(failed.is_ok());
  EXPECT_EQ(failed.status().code(), EMSGSIZE);
  EXPECT_THAT(failed.status().message(), HasSubstr("dump failed"));
}

TEST(TcNetlinkSession, AStaleAnswerDuringADumpIsSkipped) {
  ScriptedSession scripted;
  scripted.kernel->answer = [](ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                               std::span<const uint8_t>) {
    kernel.queue_dump_datagram(scripted_ack(header.nlmsg_seq - 1, 0));  // a late ack of an earlier request
    answer_dump(kernel, header, 4, 4, false);
  };
  auto dumped = scripted.session.dump(scripted_dump_request());
  ASSERT_TRUE(dumped.is_ok()) << dumped.status().message();
  EXPECT_EQ(dumped->size(), 4u);
  ASSERT_EQ(scripted.session.reply_problems().size(), 1u);
  EXPECT_THAT(scripted.session.reply_problems()[0].message(), HasSubstr("during the dump"));
}

}  // namespace
}  // namespace flowlift
