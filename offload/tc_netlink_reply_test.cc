// tc_netlink_reply: datagrams split, NLMSG_ERROR and NLMSG_DONE read, with
// the byte layouts of <linux/netlink.h> (struct nlmsgerr, NLM_F_CAPPED,
// NLM_F_ACK_TLVS, NLMSGERR_ATTR_*) written out by hand here.
#include "offload/tc_netlink_reply.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <string>
#include <vector>

namespace flowlift {
namespace {

using ::testing::HasSubstr;

void put_bytes(std::vector<uint8_t>& out, const void* data, size_t size) {
  auto* bytes = static_cast<const uint8_t*>(data);
  out.insert(out.end(), bytes, bytes + size);
}

void put_attribute(std::vector<uint8_t>& out, uint16_t type, const void* data, size_t size) {
  nlattr attribute{static_cast<uint16_t>(sizeof(nlattr) + size), type};
  put_bytes(out, &attribute, sizeof attribute);
  put_bytes(out, data, size);
  out.resize(NLA_ALIGN(out.size()), 0);
}

struct ErrorMessageSpec {
  uint32_t sequence = 7;
  uint32_t port_id = 4242;
  int32_t error = 0;
  bool capped = true;
  std::vector<uint8_t> request_payload;  // echoed after the request header when not capped
  std::string extack;
  int64_t blamed_offset = -1;
};

// An NLMSG_ERROR as net/netlink/af_netlink.c's netlink_ack() lays it out.
std::vector<uint8_t> error_message(const ErrorMessageSpec& spec) {
  std::vector<uint8_t> tlvs;
  if (!spec.extack.empty())
    put_attribute(tlvs, NLMSGERR_ATTR_MSG, spec.extack.c_str(), spec.extack.size() + 1);
  if (spec.blamed_offset >= 0) {
    uint32_t offset = static_cast<uint32_t>(spec.blamed_offset);
    put_attribute(tlvs, NLMSGERR_ATTR_OFFS, &offset, sizeof offset);
  }
  nlmsgerr body{};
  body.error = spec.error;
  body.msg.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + spec.request_payload.size());
  body.msg.nlmsg_type = RTM_NEWTFILTER;
  body.msg.nlmsg_seq = spec.sequence;
  std::vector<uint8_t> out(NLMSG_HDRLEN, 0);
  put_bytes(out, &body, sizeof body);
  if (!spec.capped) {
    put_bytes(out, spec.request_payload.data(), spec.request_payload.size());
    out.resize(NLMSG_ALIGN(out.size()), 0);
  }
  out.insert(out.end(), tlvs.begin(), tlvs.end());
  nlmsghdr header{};
  header.nlmsg_len = static_cast<uint32_t>(out.size());
  header.nlmsg_type = NLMSG_ERROR;
  header.nlmsg_flags =
      static_cast<uint16_t>((spec.capped ? NLM_F_CAPPED : 0) | (tlvs.empty() ? 0 : NLM_F_ACK_TLVS));
  header.nlmsg_seq = spec.sequence;
  header.nlmsg_pid = spec.port_id;
  std::memcpy(out.data(), &header, sizeof header);
  return out;
}

template <typename Edit>
ErrorMessageSpec spec_with(Edit edit) {
  ErrorMessageSpec spec;
  edit(spec);
  return spec;
}

std::vector<uint8_t> plain_message(uint16_t type, uint32_t sequence, size_t payload_bytes) {
  std::vector<uint8_t> out(NLMSG_HDRLEN + payload_bytes, 0xab);
  nlmsghdr header{};
  header.nlmsg_len = static_cast<uint32_t>(out.size());
  header.nlmsg_type = type;
  header.nlmsg_seq = sequence;
  std::memcpy(out.data(), &header, sizeof header);
  return out;
}

TEST(TcNetlinkReply, AnErrorZeroIsAnAcknowledgementOfItsSequence) {
  auto parsed = parse_tc_netlink_ack(error_message(spec_with([](ErrorMessageSpec& spec) {
    spec.sequence = 99;
    spec.port_id = 5;
  })));
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  EXPECT_EQ(parsed->error, 0);
  EXPECT_EQ(parsed->sequence, 99u);
  EXPECT_EQ(parsed->port_id, 5u);
  EXPECT_TRUE(parsed->capped);
  EXPECT_EQ(parsed->request_type, RTM_NEWTFILTER);
  EXPECT_TRUE(parsed->extack.empty());
}

TEST(TcNetlinkReply, ARefusalCarriesThePositiveErrnoTheKernelsTextAndTheBlamedOffset) {
  auto parsed = parse_tc_netlink_ack(error_message(spec_with([](ErrorMessageSpec& spec) {
    spec.error = -EOPNOTSUPP;
    spec.extack = "TC offload is disabled on net device";
    spec.blamed_offset = 36;
  })));
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  EXPECT_EQ(parsed->error, EOPNOTSUPP);
  EXPECT_EQ(parsed->extack, "TC offload is disabled on net device");
  ASSERT_TRUE(parsed->blamed_offset.has_value());
  EXPECT_EQ(*parsed->blamed_offset, 36u);
  EXPECT_TRUE(parsed->extack_problem.empty());
}

TEST(TcNetlinkReply, AnAcknowledgementMayCarryAWarning) {
  auto parsed = parse_tc_netlink_ack(error_message(spec_with(
      [](ErrorMessageSpec& spec) { spec.extack = "Filter with specified priority/protocol not found"; })));
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(parsed->error, 0);
  EXPECT_EQ(parsed->extack, "Filter with specified priority/protocol not found");
}

TEST(TcNetlinkReply, AnUncappedErrorSkipsTheEchoedRequestBeforeItsAttributes) {
  // 21 bytes of request payload: padded to 24 before the attributes.
  std::vector<uint8_t> payload(21, 0x5a);
  auto parsed = parse_tc_netlink_ack(error_message(spec_with([&](ErrorMessageSpec& spec) {
    spec.error = -EINVAL;
    spec.capped = false;
    spec.request_payload = payload;
    spec.extack = "Invalid handle";
  })));
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  EXPECT_FALSE(parsed->capped);
  EXPECT_EQ(parsed->error, EINVAL);
  EXPECT_EQ(parsed->extack, "Invalid handle");
}

TEST(TcNetlinkReply, ATruncatedErrorIsRefusedNamingItsSequence) {
  auto bytes = error_message(spec_with([](ErrorMessageSpec& spec) { spec.sequence = 31; }));
  bytes.resize(NLMSG_HDRLEN + 2);
  uint32_t length = static_cast<uint32_t>(bytes.size());
  std::memcpy(bytes.data(), &length, sizeof length);
  auto parsed = parse_tc_netlink_ack(bytes);
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_EQ(parsed.status().code(), EPROTO);
  EXPECT_THAT(parsed.status().message(), HasSubstr("sequence 31 is truncated"));
}

TEST(TcNetlinkReply, ALengthThatDisagreesWithTheBytesIsRefused) {
  auto bytes = error_message(ErrorMessageSpec());
  bytes.resize(bytes.size() + 8, 0);
  auto parsed = parse_tc_netlink_ack(bytes);
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("nlmsg_len 36 but has 44 bytes"));
}

TEST(TcNetlinkReply, APositiveErrorValueIsNotAnErrno) {
  auto parsed =
      parse_tc_netlink_ack(error_message(spec_with([](ErrorMessageSpec& spec) { spec.error = 17; })));
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("carries 17, which is not 0 or a negated errno"));
}

TEST(TcNetlinkReply, AMalformedExtendedAckKeepsTheErrorAndSaysWhatWasWrong) {
  auto bytes = error_message(spec_with([](ErrorMessageSpec& spec) {
    spec.error = -ENOSPC;
    spec.extack = "Too many filters";
  }));
  // The NLMSGERR_ATTR_MSG attribute claims more bytes than follow it.
  size_t attribute_at = NLMSG_HDRLEN + sizeof(nlmsgerr);
  uint16_t bad_length = 200;
  std::memcpy(bytes.data() + attribute_at, &bad_length, sizeof bad_length);
  auto parsed = parse_tc_netlink_ack(bytes);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  EXPECT_EQ(parsed->error, ENOSPC);
  EXPECT_TRUE(parsed->extack.empty());
  EXPECT_THAT(parsed->extack_problem, HasSubstr("has length 200"));
}

TEST(TcNetlinkReply, AnotherMessageTypeIsNotAnAck) {
  auto parsed = parse_tc_netlink_ack(plain_message(RTM_NEWTFILTER, 1, 20));
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("is not NLMSG_ERROR"));
}

TEST(TcNetlinkReply, ADatagramSplitsIntoItsAlignedMessages) {
  std::vector<uint8_t> datagram = plain_message(RTM_NEWTFILTER, 1, 13);  // 29 bytes, padded to 32
  datagram.resize(NLMSG_ALIGN(datagram.size()), 0);
  auto ack = error_message(spec_with([](ErrorMessageSpec& spec) { spec.sequence = 1; }));
  datagram.insert(datagram.end(), ack.begin(), ack.end());
  TcNetlinkDatagram split = split_tc_netlink_datagram(datagram);
  ASSERT_TRUE(split.problem.is_ok()) << split.problem.message();
  ASSERT_EQ(split.messages.size(), 2u);
  EXPECT_EQ(split.messages[0].bytes.size(), 29u);
  EXPECT_EQ(split.messages[1].offset, 32u);
  EXPECT_EQ(split.messages[1].header.nlmsg_type, NLMSG_ERROR);
  EXPECT_EQ(split.messages[1].bytes.size(), ack.size());
}

TEST(TcNetlinkReply, ATruncatedDatagramKeepsTheMessagesBeforeTheDamage) {
  std::vector<uint8_t> datagram = error_message(spec_with([](ErrorMessageSpec& spec) { spec.sequence = 1; }));
  auto second = error_message(spec_with([](ErrorMessageSpec& spec) { spec.sequence = 2; }));
  datagram.insert(datagram.end(), second.begin(), second.end() - 6);
  TcNetlinkDatagram split = split_tc_netlink_datagram(datagram);
  ASSERT_EQ(split.messages.size(), 1u);
  EXPECT_EQ(split.messages[0].header.nlmsg_seq, 1u);
  EXPECT_EQ(split.problem.code(), EPROTO);
  EXPECT_THAT(split.problem.message(), HasSubstr("nlmsg_len 36 runs past the 30 bytes left at byte 36"));
}

TEST(TcNetlinkReply, AHeaderShorterThanItselfOrCutShortIsNamed) {
  std::vector<uint8_t> too_short = plain_message(RTM_NEWTFILTER, 1, 0);
  uint32_t length = 8;
  std::memcpy(too_short.data(), &length, sizeof length);
  EXPECT_THAT(split_tc_netlink_datagram(too_short).problem.message(), HasSubstr("nlmsg_len 8 is below"));
  std::vector<uint8_t> cut(10, 0);
  EXPECT_THAT(split_tc_netlink_datagram(cut).problem.message(),
              HasSubstr("truncated message header (10 bytes)"));
}

TEST(TcNetlinkReply, ADoneMessageCarriesADumpsLateError) {
  std::vector<uint8_t> done(NLMSG_HDRLEN, 0);
  int32_t error = -EMSGSIZE;
  put_bytes(done, &error, sizeof error);
  std::string text = "Dump truncated";
  put_attribute(done, NLMSGERR_ATTR_MSG, text.c_str(), text.size() + 1);
  nlmsghdr header{};
  header.nlmsg_len = static_cast<uint32_t>(done.size());
  header.nlmsg_type = NLMSG_DONE;
  header.nlmsg_flags = NLM_F_MULTI | NLM_F_ACK_TLVS;
  header.nlmsg_seq = 12;
  std::memcpy(done.data(), &header, sizeof header);
  auto parsed = parse_tc_netlink_done(done);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  EXPECT_EQ(parsed->sequence, 12u);
  EXPECT_EQ(parsed->error, EMSGSIZE);
  EXPECT_EQ(parsed->extack, "Dump truncated");

  auto bare = parse_tc_netlink_done(plain_message(NLMSG_DONE, 3, 0));
  ASSERT_TRUE(bare.is_ok());
  EXPECT_EQ(bare->error, 0);
}

TEST(TcNetlinkReply, ErrorTextQuotesTheKernelThenStrerror) {
  EXPECT_EQ(tc_netlink_error_text(EINVAL, "Invalid handle"), "kernel: Invalid handle (Invalid argument)");
  EXPECT_EQ(tc_netlink_error_text(ENOENT, ""), "No such file or directory");
}

}  // namespace
}  // namespace flowlift
