// genl_socket: request framing and reply collection against messages laid
// out by hand as <linux/netlink.h> and <linux/genetlink.h> define them
// (nlmsghdr, genlmsghdr, struct nlmsgerr, extended-ack attributes).
#include "kmod/genl_socket.h"

#include <gtest/gtest.h>
#include <linux/genetlink.h>

#include <cstring>
#include <string>
#include <vector>

#include "kmod/kernel_dpif_families.h"
#include "kmod/test_attribute_bytes.h"

namespace flowlift {
namespace {

using testing::AttrBytes;

constexpr uint32_t kSequence = 77;
constexpr uint32_t kPort = 4242;

// One netlink message: nlmsghdr then `body`, padded to 4 bytes.
std::vector<uint8_t> netlink_message(uint16_t type, uint16_t flags, uint32_t sequence, uint32_t port,
                                     const std::vector<uint8_t>& body) {
  nlmsghdr header{};
  header.nlmsg_len = static_cast<uint32_t>(sizeof header + body.size());
  header.nlmsg_type = type;
  header.nlmsg_flags = flags;
  header.nlmsg_seq = sequence;
  header.nlmsg_pid = port;
  std::vector<uint8_t> bytes(sizeof header);
  std::memcpy(bytes.data(), &header, sizeof header);
  bytes.insert(bytes.end(), body.begin(), body.end());
  while (bytes.size() % 4) bytes.push_back(0);
  return bytes;
}

std::vector<uint8_t> genl_body(uint8_t command, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> body = {command, 1, 0, 0};  // genlmsghdr: cmd, version, reserved
  body.insert(body.end(), payload.begin(), payload.end());
  return body;
}

std::vector<uint8_t> reply(uint16_t family, const std::vector<uint8_t>& payload,
                           uint32_t sequence = kSequence, uint16_t flags = 0) {
  return netlink_message(family, flags, sequence, kPort, genl_body(3, payload));
}

// struct nlmsgerr with a capped echo of the request's header, then `tlvs`.
std::vector<uint8_t> error_message(int32_t error, const AttrBytes& tlvs = {}, uint32_t sequence = kSequence) {
  std::vector<uint8_t> body(sizeof(int32_t) + sizeof(nlmsghdr), 0);
  std::memcpy(body.data(), &error, sizeof error);
  nlmsghdr echoed{};
  echoed.nlmsg_len = 64;  // the request was longer; capped acks echo its header only
  echoed.nlmsg_seq = sequence;
  std::memcpy(body.data() + sizeof error, &echoed, sizeof echoed);
  body.insert(body.end(), tlvs.bytes.begin(), tlvs.bytes.end());
  uint16_t flags = NLM_F_CAPPED | (tlvs.bytes.empty() ? 0 : NLM_F_ACK_TLVS);
  return netlink_message(NLMSG_ERROR, flags, sequence, kPort, body);
}

std::vector<uint8_t> done_message(int32_t error = 0, uint32_t sequence = kSequence) {
  std::vector<uint8_t> body(sizeof error);
  std::memcpy(body.data(), &error, sizeof error);
  return netlink_message(NLMSG_DONE, NLM_F_MULTI, sequence, kPort, body);
}

std::vector<uint8_t> concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

AttrBytes extack_text(const std::string& text) {
  AttrBytes tlvs;
  tlvs.put(NLMSGERR_ATTR_MSG, text.c_str(), text.size() + 1);
  return tlvs;
}

TEST(GenlMessage, RequestHasNetlinkAndGenericHeadersThenThePayloadPadded) {
  std::vector<uint8_t> payload = {1, 2, 3, 4, 5};
  auto bytes = build_genl_message(0x1d, NLM_F_REQUEST | NLM_F_ACK, 9, 0, 7, 2, payload);
  ASSERT_EQ(bytes.size(), 16u + 4u + 8u);  // 25 bytes padded to 28
  nlmsghdr header;
  std::memcpy(&header, bytes.data(), sizeof header);
  EXPECT_EQ(header.nlmsg_len, 25u);  // the unpadded length, as nlmsg_len counts
  EXPECT_EQ(header.nlmsg_type, 0x1d);
  EXPECT_EQ(header.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
  EXPECT_EQ(header.nlmsg_seq, 9u);
  EXPECT_EQ(header.nlmsg_pid, 0u);
  EXPECT_EQ(bytes[16], 7);  // genlmsghdr.cmd
  EXPECT_EQ(bytes[17], 2);  // genlmsghdr.version
  EXPECT_EQ(bytes[18], 0);
  EXPECT_EQ(bytes[19], 0);
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 20, bytes.begin() + 25), payload);
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 25, bytes.end()), std::vector<uint8_t>(3, 0));
}

TEST(GenlErrorMessage, AZeroErrorIsAnAck) { EXPECT_TRUE(genl_status_from_error_message(error_message(0))); }

TEST(GenlErrorMessage, AnErrorCarriesTheErrnoAndTheKernelsExtendedAckText) {
  AttrBytes tlvs = extack_text("Flow key attr not present in new flow.");
  tlvs.u32(NLMSGERR_ATTR_OFFS, 36);
  Status status = genl_status_from_error_message(error_message(-EINVAL, tlvs));
  EXPECT_EQ(status.code(), EINVAL);
  EXPECT_EQ(status.message(),
            "kernel: Flow key attr not present in new flow. (Invalid argument) at request byte 36");
}

TEST(GenlErrorMessage, WithoutExtendedAckTheErrnoTextIsTheMessage) {
  Status status = genl_status_from_error_message(error_message(-EEXIST));
  EXPECT_EQ(status.code(), EEXIST);
  EXPECT_EQ(status.message(), "File exists");
}

TEST(GenlErrorMessage, AnUncappedAckSkipsTheEchoedRequestBeforeItsAttributes) {
  // Not capped: struct nlmsgerr embeds the whole 24-byte request (16 header + 8 payload).
  int32_t error = -ENOENT;
  std::vector<uint8_t> body(sizeof error);
  std::memcpy(body.data(), &error, sizeof error);
  nlmsghdr echoed{};
  echoed.nlmsg_len = 24;
  std::vector<uint8_t> echoed_bytes(sizeof echoed);
  std::memcpy(echoed_bytes.data(), &echoed, sizeof echoed);
  body.insert(body.end(), echoed_bytes.begin(), echoed_bytes.end());
  // The echoed payload looks like an attribute on purpose: it must not be read as one.
  AttrBytes decoy = extack_text("wrong");
  body.insert(body.end(), decoy.bytes.begin(), decoy.bytes.begin() + 8);
  AttrBytes tlvs = extack_text("Flow not found");
  body.insert(body.end(), tlvs.bytes.begin(), tlvs.bytes.end());
  Status status = genl_status_from_error_message(netlink_message(NLMSG_ERROR, NLM_F_ACK_TLVS, 1, 1, body));
  EXPECT_EQ(status.code(), ENOENT);
  EXPECT_EQ(status.message(), "kernel: Flow not found (No such file or directory)");
}

TEST(GenlErrorMessage, ATruncatedErrorMessageIsEproto) {
  auto message = error_message(-EINVAL);
  message.resize(18);
  EXPECT_EQ(genl_status_from_error_message(message).code(), EPROTO);
}

TEST(GenlErrorMessage, APositiveErrorIsEprotoNotAnAck) {
  EXPECT_EQ(genl_status_from_error_message(error_message(5)).code(), EPROTO);
}

TEST(GenlErrorMessage, AMalformedExtendedAckKeepsTheError) {
  AttrBytes broken;
  broken.raw({0xff, 0x00, NLMSGERR_ATTR_MSG, 0x00});  // nla_len 255 runs past the message
  Status status = genl_status_from_error_message(error_message(-EBUSY, broken));
  EXPECT_EQ(status.code(), EBUSY);
  EXPECT_EQ(status.message(), "Device or resource busy");
}

TEST(GenlReplyCollector, ARequestEndsWithItsAckAndKeepsTheRepliesBefore) {
  GenlReplyCollector collector(kSequence, kPort, false);
  ASSERT_TRUE(collector.feed(reply(0x20, {1, 2, 3, 4})));
  EXPECT_FALSE(collector.complete());
  ASSERT_TRUE(collector.feed(error_message(0)));
  EXPECT_TRUE(collector.complete());
  auto messages = collector.take_messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].family, 0x20);
  EXPECT_EQ(messages[0].command, 3);
  EXPECT_EQ(messages[0].version, 1);
  EXPECT_EQ(messages[0].payload, (std::vector<uint8_t>{1, 2, 3, 4}));
}

TEST(GenlReplyCollector, AnErrorAckEndsTheRequestWithTheKernelsReason) {
  GenlReplyCollector collector(kSequence, kPort, false);
  Status status = collector.feed(error_message(-EEXIST, extack_text("Flow already exists")));
  EXPECT_EQ(status.code(), EEXIST);
  EXPECT_NE(status.message().find("Flow already exists"), std::string::npos);
  EXPECT_TRUE(collector.complete());
}

TEST(GenlReplyCollector, RepliesToAnotherSequenceOrPortAreSkipped) {
  GenlReplyCollector collector(kSequence, kPort, false);
  auto stale_reply = reply(0x20, {9, 9, 9, 9}, kSequence - 1);
  auto stale_ack = error_message(-ENOENT, {}, kSequence - 1);
  auto other_port = netlink_message(0x20, 0, kSequence, kPort + 1, genl_body(1, {}));
  ASSERT_TRUE(collector.feed(concat({stale_reply, stale_ack, other_port})));
  EXPECT_FALSE(collector.complete());
  EXPECT_EQ(collector.skipped(), 3u);
  ASSERT_TRUE(collector.feed(error_message(0)));
  EXPECT_TRUE(collector.complete());
  EXPECT_TRUE(collector.take_messages().empty());
}

TEST(GenlReplyCollector, ADumpCollectsMultipartMessagesUntilDone) {
  GenlReplyCollector collector(kSequence, kPort, true);
  ASSERT_TRUE(collector.feed(concat({reply(0x21, {1, 0, 0, 0}, kSequence, NLM_F_MULTI),
                                     reply(0x21, {2, 0, 0, 0}, kSequence, NLM_F_MULTI)})));
  EXPECT_FALSE(collector.complete());
  ASSERT_TRUE(collector.feed(concat({reply(0x21, {3, 0, 0, 0}, kSequence, NLM_F_MULTI), done_message()})));
  EXPECT_TRUE(collector.complete());
  auto messages = collector.take_messages();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[2].payload[0], 3);
}

TEST(GenlReplyCollector, ADumpThatFailsHalfWayReportsTheErrorInDone) {
  GenlReplyCollector collector(kSequence, kPort, true);
  ASSERT_TRUE(collector.feed(reply(0x21, {1, 0, 0, 0}, kSequence, NLM_F_MULTI)));
  Status status = collector.feed(done_message(-EMSGSIZE));
  EXPECT_EQ(status.code(), EMSGSIZE);
  EXPECT_TRUE(collector.complete());
}

TEST(GenlReplyCollector, DoneAnsweringARequestThatWasNotADumpIsEproto) {
  GenlReplyCollector collector(kSequence, kPort, false);
  EXPECT_EQ(collector.feed(done_message()).code(), EPROTO);
  EXPECT_TRUE(collector.complete());
}

TEST(GenlReplyCollector, AMessageLongerThanItsDatagramIsEprotoNamingTheOffset) {
  GenlReplyCollector collector(kSequence, kPort, false);
  auto first = reply(0x20, {1, 2, 3, 4});
  auto second = reply(0x20, {5, 6, 7, 8});
  auto datagram = concat({first, second});
  datagram.resize(datagram.size() - 2);
  Status status = collector.feed(datagram);
  EXPECT_EQ(status.code(), EPROTO);
  EXPECT_NE(status.message().find("at byte " + std::to_string(first.size())), std::string::npos)
      << status.message();
}

TEST(GenlReplyCollector, AMessageTooShortForItsGenericHeaderIsEproto) {
  GenlReplyCollector collector(kSequence, kPort, false);
  Status status = collector.feed(netlink_message(0x20, 0, kSequence, kPort, {3, 1}));
  EXPECT_EQ(status.code(), EPROTO);
  EXPECT_NE(status.message().find("genlmsghdr"), std::string::npos) << status.message();
}

TEST(GenlReplyCollector, ATruncatedHeaderOrABelowMinimumLengthIsEproto) {
  GenlReplyCollector truncated(kSequence, kPort, false);
  EXPECT_EQ(truncated.feed(std::vector<uint8_t>(10, 0)).code(), EPROTO);
  GenlReplyCollector tiny(kSequence, kPort, false);
  auto message = reply(0x20, {});
  message[0] = 8;  // nlmsg_len 8 < sizeof(nlmsghdr)
  message[1] = message[2] = message[3] = 0;
  EXPECT_EQ(tiny.feed(message).code(), EPROTO);
}

TEST(GenlDatagram, UnsolicitedMessagesAreSplitAndControlMessagesSkipped) {
  auto datagram = concat({reply(0x22, {1, 0, 0, 0}, 0), done_message(0, 0), reply(0x22, {2, 0, 0, 0}, 0)});
  auto messages = split_genl_datagram(datagram);
  ASSERT_TRUE(messages) << messages.status().message();
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_EQ((*messages)[1].payload[0], 2);
  datagram.resize(datagram.size() - 1);
  EXPECT_EQ(split_genl_datagram(datagram).status().code(), EPROTO);
}

TEST(GenlFamily, TheRequestNamesTheFamilyNulTerminated) {
  AttrBytes expected;
  expected.put(CTRL_ATTR_FAMILY_NAME, "ovs_flow", 9);
  EXPECT_EQ(build_family_request("ovs_flow"), expected.bytes);
}

TEST(GenlFamily, TheReplysFamilyIdIsRead) {
  AttrBytes payload;
  payload.put(CTRL_ATTR_FAMILY_NAME, "ovs_flow", 9);
  payload.u16(CTRL_ATTR_FAMILY_ID, 0x1f);
  payload.u32(CTRL_ATTR_VERSION, 1);
  auto id = parse_family_reply("ovs_flow", payload.span());
  ASSERT_TRUE(id) << id.status().message();
  EXPECT_EQ(*id, 0x1f);
}

TEST(GenlFamily, AReplyWithoutOrWithAMalformedIdIsEproto) {
  AttrBytes without;
  without.put(CTRL_ATTR_FAMILY_NAME, "ovs_flow", 9);
  EXPECT_EQ(parse_family_reply("ovs_flow", without.span()).status().code(), EPROTO);
  AttrBytes wide;
  wide.u32(CTRL_ATTR_FAMILY_ID, 0x1f);
  Result<uint16_t> id = parse_family_reply("ovs_flow", wide.span());
  EXPECT_EQ(id.status().code(), EPROTO);
  EXPECT_NE(id.status().message().find("CTRL_ATTR_FAMILY_ID"), std::string::npos);
}

TEST(GenlFamily, AnUnknownOvsFamilyNamesTheMissingModule) {
  Status status = family_lookup_error("ovs_datapath", Status(ENOENT, "No such file or directory"));
  EXPECT_EQ(status.code(), ENOENT);
  EXPECT_EQ(status.message().rfind("the openvswitch kernel module is not loaded (modprobe openvswitch)", 0),
            0u)
      << status.message();
  EXPECT_NE(status.message().find("ovs_datapath"), std::string::npos);
  Status other = family_lookup_error("ovs_vport", Status(EPERM, "Operation not permitted"));
  EXPECT_EQ(other.code(), EPERM);
  EXPECT_EQ(other.message(), "generic netlink family ovs_vport: Operation not permitted");
}

// The one test that talks to the running kernel: its generic netlink
// controller always exists and has the fixed id GENL_ID_CTRL.
TEST(GenlSocket, TheControllerResolvesItsOwnFamilyToItsFixedId) {
  auto socket = GenlSocket::open();
  ASSERT_TRUE(socket) << socket.status().message();
  EXPECT_NE((*socket)->port_id(), 0u);
  auto id = resolve_genl_family(**socket, "nlctrl");
  ASSERT_TRUE(id) << id.status().message();
  EXPECT_EQ(*id, GENL_ID_CTRL);
  auto missing = resolve_genl_family(**socket, "fl_no_such");
  EXPECT_EQ(missing.status().code(), ENOENT) << missing.status().message();
}

}  // namespace
}  // namespace flowlift
