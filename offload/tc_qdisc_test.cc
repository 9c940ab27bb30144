// tc_qdisc: the clsact request's bytes (as iproute2's `tc qdisc add dev X
// clsact` sends them: tc/tc_qdisc.c with tc/q_clsact.c) and the
// create/check/delete logic over a scripted kernel that keeps a table of
// qdiscs and answers RTM_GETQDISC dumps from it.
#include "offload/tc_qdisc.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <map>
#include <string>
#include <vector>

#include "offload/tc_netlink_scripted_kernel_for_tests.h"

namespace flowlift {
namespace {

using ::testing::HasSubstr;
using namespace ::flowlift::tc_netlink_scripted;  // NOLINT(google-build-using-namespace)

struct ScriptedQdisc {
  uint32_t parent = 0;
  std::string kind;
};

std::vector<uint8_t> qdisc_message(uint32_t sequence, uint32_t ifindex, const ScriptedQdisc& qdisc) {
  std::vector<uint8_t> out(NLMSG_HDRLEN, 0);
  tcmsg tc{};
  tc.tcm_ifindex = static_cast<int>(ifindex);
  tc.tcm_parent = qdisc.parent;
  tc.tcm_handle = qdisc.parent == TC_H_INGRESS ? 0xffff0000u : 0;
  out.insert(out.end(), reinterpret_cast<uint8_t*>(&tc), reinterpret_cast<uint8_t*>(&tc) + sizeof tc);
  nlattr kind{static_cast<uint16_t>(sizeof(nlattr) + qdisc.kind.size() + 1), TCA_KIND};
  out.insert(out.end(), reinterpret_cast<uint8_t*>(&kind), reinterpret_cast<uint8_t*>(&kind) + sizeof kind);
  out.insert(out.end(), qdisc.kind.begin(), qdisc.kind.end());
  out.push_back(0);
  out.resize(NLMSG_ALIGN(out.size()), 0);
  nlmsghdr header{};
  header.nlmsg_len = static_cast<uint32_t>(out.size());
  header.nlmsg_type = RTM_NEWQDISC;
  header.nlmsg_flags = NLM_F_MULTI;
  header.nlmsg_seq = sequence;
  header.nlmsg_pid = kScriptedPortId;
  std::memcpy(out.data(), &header, sizeof header);
  return out;
}

// A kernel with a qdisc table: dumps list it, RTM_NEWQDISC/RTM_DELQDISC of
// clsact change it (or are refused as `refusal` says).
struct ScriptedQdiscKernel {
  ScriptedSession scripted;
  std::multimap<uint32_t, ScriptedQdisc> table;  // by ifindex
  std::vector<std::vector<uint8_t>> changes;     // NEW/DEL requests received
  int refusal = 0;                               // errno for the next change, once
  bool create_behind_our_back = false;           // another process adds clsact first

  ScriptedQdiscKernel() {
    scripted.kernel->answer = [this](ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                                     std::span<const uint8_t> request) {
      if (header.nlmsg_type == RTM_GETQDISC) {
        EXPECT_TRUE(header.nlmsg_flags & NLM_F_DUMP);
        for (const auto& [ifindex, qdisc] : table)
          kernel.queue_dump_datagram(qdisc_message(header.nlmsg_seq, ifindex, qdisc));
        kernel.queue_dump_datagram(scripted_done(header.nlmsg_seq));
        return;
      }
      changes.emplace_back(request.begin(), request.end());
      tcmsg tc;
      std::memcpy(&tc, request.data() + NLMSG_HDRLEN, sizeof tc);
      uint32_t ifindex = static_cast<uint32_t>(tc.tcm_ifindex);
      if (create_behind_our_back) {
        table.insert({ifindex, {TC_H_INGRESS, "clsact"}});
        kernel.deliver(scripted_ack(header.nlmsg_seq, EEXIST, "Exclusivity flag on, cannot modify."));
        return;
      }
      if (refusal != 0) {
        kernel.deliver(scripted_ack(header.nlmsg_seq, std::exchange(refusal, 0)));
        return;
      }
      if (header.nlmsg_type == RTM_NEWQDISC) {
        table.insert({ifindex, {TC_H_INGRESS, "clsact"}});
      } else {
        std::erase_if(table, [&](const auto& entry) {
          return entry.first == ifindex && entry.second.parent == TC_H_INGRESS;
        });
      }
      kernel.deliver(scripted_ack(header.nlmsg_seq, 0));
    };
  }
};

TEST(TcQdisc, TheClsactRequestIsWhatTcQdiscAddClsactSends) {
  std::vector<uint8_t> request = encode_clsact_request(RTM_NEWQDISC, 5);
  // nlmsghdr: len 48, RTM_NEWQDISC (36), NLM_F_REQUEST|NLM_F_EXCL|NLM_F_CREATE (0x601), seq 0, pid 0.
  // tcmsg: family AF_UNSPEC, ifindex 5, handle ffff:0, parent ffff:fff1 (TC_H_CLSACT), info 0.
  // TCA_KIND (1): "clsact" with its NUL, padded to 12.
  std::vector<uint8_t> expected = {
      48, 0, 0,    0,    36,   0,    0x01, 0x06, 0, 0, 0, 0, 0,  0, 0, 0, 0,   0,   0,   0,   5,   0,   0, 0,
      0,  0, 0xff, 0xff, 0xf1, 0xff, 0xff, 0xff, 0, 0, 0, 0, 11, 0, 1, 0, 'c', 'l', 's', 'a', 'c', 't', 0, 0,
  };
  EXPECT_EQ(request, expected);
  std::vector<uint8_t> deletion = encode_clsact_request(RTM_DELQDISC, 5);
  ASSERT_EQ(deletion.size(), expected.size());
  EXPECT_EQ(deletion[4], RTM_DELQDISC);
  EXPECT_EQ(deletion[6], NLM_F_REQUEST) << "no NLM_F_CREATE/EXCL on a deletion";
  EXPECT_EQ(deletion[7], 0);
}

TEST(TcQdisc, HasClsactLooksAtTheDevicesIngressSlotOnly) {
  ScriptedQdiscKernel kernel;
  kernel.table.insert({2, {TC_H_ROOT, "noqueue"}});
  kernel.table.insert({2, {TC_H_INGRESS, "ingress"}});
  kernel.table.insert({3, {TC_H_INGRESS, "clsact"}});
  kernel.table.insert({4, {TC_H_ROOT, "clsact"}});  // not the ingress slot
  auto on_three = has_clsact(kernel.scripted.session, 3);
  ASSERT_TRUE(on_three.is_ok()) << on_three.status().message();
  EXPECT_TRUE(*on_three);
  EXPECT_FALSE(*has_clsact(kernel.scripted.session, 2));
  EXPECT_FALSE(*has_clsact(kernel.scripted.session, 4));
  EXPECT_FALSE(*has_clsact(kernel.scripted.session, 9));
  EXPECT_EQ(*ingress_qdisc_kind(kernel.scripted.session, 2), "ingress");
  EXPECT_EQ(*ingress_qdisc_kind(kernel.scripted.session, 9), "");
}

TEST(TcQdisc, EnsureClsactCreatesItOnlyWhenMissing) {
  ScriptedQdiscKernel kernel;
  Status created = ensure_clsact(kernel.scripted.session, 7);
  ASSERT_TRUE(created.is_ok()) << created.message();
  ASSERT_EQ(kernel.changes.size(), 1u);
  nlmsghdr header;
  std::memcpy(&header, kernel.changes[0].data(), sizeof header);
  EXPECT_EQ(header.nlmsg_type, RTM_NEWQDISC);
  EXPECT_TRUE(*has_clsact(kernel.scripted.session, 7));

  Status again = ensure_clsact(kernel.scripted.session, 7);
  EXPECT_TRUE(again.is_ok()) << again.message();
  EXPECT_EQ(kernel.changes.size(), 1u) << "present already: nothing sent";
}

TEST(TcQdisc, EnsureClsactRefusesToDisplaceAnIngressQdisc) {
  ScriptedQdiscKernel kernel;
  kernel.table.insert({2, {TC_H_INGRESS, "ingress"}});
  Status refused = ensure_clsact(kernel.scripted.session, 2);
  EXPECT_EQ(refused.code(), EEXIST);
  EXPECT_THAT(refused.message(), HasSubstr("ifindex 2: its ingress slot holds an `ingress` qdisc"));
  EXPECT_TRUE(kernel.changes.empty());
  Status not_deleted = delete_clsact(kernel.scripted.session, 2);
  EXPECT_EQ(not_deleted.code(), EEXIST);
  EXPECT_TRUE(kernel.changes.empty());
}

TEST(TcQdisc, EnsureClsactAcceptsAClsactSomeoneElseCreatedFirst) {
  ScriptedQdiscKernel kernel;
  kernel.create_behind_our_back = true;
  Status created = ensure_clsact(kernel.scripted.session, 7);
  EXPECT_TRUE(created.is_ok()) << created.message();
}

TEST(TcQdisc, AKernelRefusalIsReturnedWithTheDevice) {
  ScriptedQdiscKernel kernel;
  kernel.refusal = ENODEV;
  Status refused = ensure_clsact(kernel.scripted.session, 42);
  EXPECT_EQ(refused.code(), ENODEV);
  EXPECT_THAT(refused.message(), HasSubstr("cannot add clsact on ifindex 42: No such device"));
}

TEST(TcQdisc, DeleteClsactRemovesItAndIsFineWhenAbsent) {
  ScriptedQdiscKernel kernel;
  kernel.table.insert({3, {TC_H_INGRESS, "clsact"}});
  Status deleted = delete_clsact(kernel.scripted.session, 3);
  ASSERT_TRUE(deleted.is_ok()) << deleted.message();
  ASSERT_EQ(kernel.changes.size(), 1u);
  EXPECT_EQ(kernel.changes[0][4], RTM_DELQDISC);
  EXPECT_FALSE(*has_clsact(kernel.scripted.session, 3));
  Status absent = delete_clsact(kernel.scripted.session, 3);
  EXPECT_TRUE(absent.is_ok()) << absent.message();
  EXPECT_EQ(kernel.changes.size(), 1u);
}

TEST(TcQdisc, AMalformedQdiscDumpIsAnErrorNotAnAnswer) {
  ScriptedSession scripted;
  scripted.kernel->answer = [](ScriptedRtnetlinkState& kernel, const nlmsghdr& header,
                               std::span<const uint8_t>) {
    auto message = qdisc_message(header.nlmsg_seq, 3, {TC_H_INGRESS, "clsact"});
    uint16_t bad_attribute_length = 60;  // TCA_KIND runs past the message
    std::memcpy(message.data() + NLMSG_HDRLEN + sizeof(tcmsg), &bad_attribute_length,
                sizeof bad_attribute_length);
    kernel.queue_dump_datagram(message);
    kernel.queue_dump_datagram(scripted_done(header.nlmsg_seq));
  };
  auto present = has_clsact(scripted.session, 3);
  ASSERT_FALSE(present.is_ok());
  EXPECT_EQ(present.status().code(), EPROTO);
  EXPECT_THAT(present.status().message(), HasSubstr("has length 60"));
}

}  // namespace
}  // namespace flowlift
