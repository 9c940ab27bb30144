// Test-only: a scripted rtnetlink behind TcNetlinkTransport, shared by the
// session and qdisc unit tests. It plays the kernel as
// net/netlink/af_netlink.c behaves: every request of a sendmsg is handled
// before sendmsg returns, its echo (NLM_F_ECHO) then its ack are queued as
// separate datagrams, each charged against the receive buffer (an skb's
// truesize: its bytes plus overhead); past the buffer the answer is
// dropped, the socket is congested (everything dropped) until the queue is
// read empty, and the next receive reports ENOBUFS once. Dump datagrams are
// queued uncharged, as netlink_dump never drops them.
#pragma once

#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "offload/tc_netlink_reply.h"
#include "offload/tc_netlink_session.h"

// Its own namespace: the helper names (request_id, header_of) are generic
// enough to collide with another test's helpers in the same binary.
namespace flowlift::tc_netlink_scripted {

inline constexpr uint32_t kScriptedPortId = 31337;
inline constexpr size_t kSkbOverheadBytes = 768;

inline nlmsghdr header_of(std::span<const uint8_t> message) {
  nlmsghdr header;
  std::memcpy(&header, message.data(), sizeof header);
  return header;
}

// A request as the codec would hand it over: RTM_NEWTFILTER, its id in the
// first payload bytes (echoes carry it back), `payload_bytes` in all.
inline std::vector<uint8_t> scripted_request(uint32_t id,
                                             uint16_t flags = NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO,
                                             size_t payload_bytes = 100) {
  std::vector<uint8_t> out(NLMSG_HDRLEN + payload_bytes, 0);
  nlmsghdr header{};
  header.nlmsg_len = static_cast<uint32_t>(out.size());
  header.nlmsg_type = RTM_NEWTFILTER;
  header.nlmsg_flags = flags;
  header.nlmsg_seq = 0xdeadbeef;  // the session must overwrite these
  header.nlmsg_pid = 0xfeedface;
  std::memcpy(out.data(), &header, sizeof header);
  std::memcpy(out.data() + NLMSG_HDRLEN, &id, sizeof id);
  return out;
}

inline uint32_t request_id(std::span<const uint8_t> message) {
  uint32_t id = 0;
  if (message.size() >= NLMSG_HDRLEN + sizeof id) std::memcpy(&id, message.data() + NLMSG_HDRLEN, sizeof id);
  return id;
}

inline std::vector<uint8_t> scripted_ack(uint32_t sequence, int error, const std::string& extack = "",
                                         uint32_t port = kScriptedPortId) {
  std::vector<uint8_t> out(NLMSG_HDRLEN + sizeof(nlmsgerr), 0);
  nlmsgerr body{};
  body.error = -error;
  body.msg.nlmsg_len = NLMSG_HDRLEN;
  body.msg.nlmsg_type = RTM_NEWTFILTER;
  body.msg.nlmsg_seq = sequence;
  std::memcpy(out.data() + NLMSG_HDRLEN, &body, sizeof body);
  uint16_t flags = NLM_F_CAPPED;
  if (!extack.empty()) {
    flags |= NLM_F_ACK_TLVS;
    nlattr attribute{static_cast<uint16_t>(sizeof(nlattr) + extack.size() + 1), NLMSGERR_ATTR_MSG};
    size_t at = out.size();
    out.resize(at + NLA_ALIGN(attribute.nla_len), 0);
    std::memcpy(out.data() + at, &attribute, sizeof attribute);
    std::memcpy(out.data() + at + sizeof attribute, extack.c_str(), extack.size());
  }
  nlmsghdr header{};
  header.nlmsg_len = static_cast<uint32_t>(out.size());
  header.nlmsg_type = NLMSG_ERROR;
  header.nlmsg_flags = flags;
  header.nlmsg_seq = sequence;
  header.nlmsg_pid = port;
  std::memcpy(out.data(), &header, sizeof header);
  return out;
}

// A message answering `sequence` with `type`, carrying `id` (an echo, a
// dump entry).
inline std::vector<uint8_t> scripted_message(uint16_t type, uint32_t sequence, uint32_t id,
                                             uint16_t flags = 0, size_t payload_bytes = 100) {
  std::vector<uint8_t> out(NLMSG_HDRLEN + payload_bytes, 0);
  nlmsghdr header{};
  header.nlmsg_len = static_cast<uint32_t>(out.size());
  header.nlmsg_type = type;
  header.nlmsg_flags = flags;
  header.nlmsg_seq = sequence;
  header.nlmsg_pid = kScriptedPortId;
  std::memcpy(out.data(), &header, sizeof header);
  std::memcpy(out.data() + NLMSG_HDRLEN, &id, sizeof id);
  return out;
}

inline std::vector<uint8_t> scripted_done(uint32_t sequence, int error = 0, uint16_t flags = NLM_F_MULTI) {
  std::vector<uint8_t> out(NLMSG_HDRLEN + sizeof(int32_t), 0);
  nlmsghdr header{};
  header.nlmsg_len = static_cast<uint32_t>(out.size());
  header.nlmsg_type = NLMSG_DONE;
  header.nlmsg_flags = flags;
  header.nlmsg_seq = sequence;
  header.nlmsg_pid = kScriptedPortId;
  std::memcpy(out.data(), &header, sizeof header);
  int32_t value = -error;
  std::memcpy(out.data() + NLMSG_HDRLEN, &value, sizeof value);
  return out;
}

// What the scripted kernel saw and holds; shared with the test, since the
// session owns the transport.
struct ScriptedRtnetlinkState {
  using Answer = std::function<void(ScriptedRtnetlinkState&, const nlmsghdr&, std::span<const uint8_t>)>;

  size_t receive_buffer_bytes = 1 << 20;
  size_t queued_bytes = 0;
  size_t most_queued_bytes = 0;
  bool congested = false;
  bool report_overrun = false;
  std::deque<std::vector<uint8_t>> queue;
  std::deque<size_t> charges;  // each queued datagram's charge
  std::vector<size_t> sent_datagram_sizes;
  std::vector<nlmsghdr> requests;  // every request header, in the order received
  std::set<uint32_t> carried_out;  // ids of requests the kernel acted on
  Status send_failure;             // when not ok, send() fails with it
  Answer answer;                   // default: echo when asked, then ack

  // netlink_unicast to our socket: charged, or dropped when over the buffer.
  void deliver(std::vector<uint8_t> datagram) {
    size_t charge = datagram.size() + kSkbOverheadBytes;
    if (congested || queued_bytes > receive_buffer_bytes) {
      congested = true;
      report_overrun = true;
      return;
    }
    queued_bytes += charge;
    most_queued_bytes = std::max(most_queued_bytes, queued_bytes);
    queue.push_back(std::move(datagram));
    charges.push_back(charge);
  }
  // Dump skbs: queued by netlink_dump itself, never dropped for an overrun.
  void queue_dump_datagram(std::vector<uint8_t> datagram) {
    queue.push_back(std::move(datagram));
    charges.push_back(0);
  }

  void carry_out(const nlmsghdr& header, std::span<const uint8_t> request) {
    carried_out.insert(request_id(request));
    if (header.nlmsg_flags & NLM_F_ECHO) {
      deliver(scripted_message(RTM_NEWTFILTER, header.nlmsg_seq, request_id(request)));
    }
    deliver(scripted_ack(header.nlmsg_seq, 0));
  }
};

class ScriptedRtnetlink final : public TcNetlinkTransport {
 public:
  explicit ScriptedRtnetlink(std::shared_ptr<ScriptedRtnetlinkState> state) : state_(std::move(state)) {}
  uint32_t port_id() const override { return kScriptedPortId; }
  size_t receive_buffer_bytes() const override { return state_->receive_buffer_bytes; }

  Status send(std::span<const uint8_t> datagram) override {
    if (!state_->send_failure) return state_->send_failure;
    state_->sent_datagram_sizes.push_back(datagram.size());
    TcNetlinkDatagram split = split_tc_netlink_datagram(datagram);
    EXPECT_TRUE(split.problem.is_ok()) << split.problem.message();
    for (const TcNetlinkMessageView& request : split.messages) {
      state_->requests.push_back(request.header);
      if (state_->answer) {
        state_->answer(*state_, request.header, request.bytes);
      } else {
        state_->carry_out(request.header, request.bytes);
      }
    }
    return Status::ok();
  }

  Result<size_t> receive(std::span<uint8_t> buffer, bool) override {
    if (state_->report_overrun) {
      state_->report_overrun = false;
      return Status(ENOBUFS, "No buffer space available");
    }
    if (state_->queue.empty()) return Status(EAGAIN, "no answer within 0 ms");
    std::vector<uint8_t> datagram = std::move(state_->queue.front());
    state_->queue.pop_front();
    state_->queued_bytes -= state_->charges.front();
    state_->charges.pop_front();
    if (state_->queue.empty()) state_->congested = false;
    if (datagram.size() > buffer.size()) return Status(EMSGSIZE, "datagram too large");
    std::memcpy(buffer.data(), datagram.data(), datagram.size());
    return datagram.size();
  }

 private:
  std::shared_ptr<ScriptedRtnetlinkState> state_;
};

struct ScriptedSession {
  std::shared_ptr<ScriptedRtnetlinkState> kernel = std::make_shared<ScriptedRtnetlinkState>();
  TcNetlinkSession session;
  explicit ScriptedSession(const TcNetlinkSessionOptions& options = {}, size_t receive_buffer_bytes = 1 << 20)
      : session(make(kernel, options, receive_buffer_bytes)) {}
  static TcNetlinkSession make(const std::shared_ptr<ScriptedRtnetlinkState>& kernel,
                               const TcNetlinkSessionOptions& options, size_t receive_buffer_bytes) {
    kernel->receive_buffer_bytes = receive_buffer_bytes;
    return TcNetlinkSession::over(std::make_unique<ScriptedRtnetlink>(kernel), options);
  }
};

inline std::vector<std::vector<uint8_t>> scripted_requests(uint32_t count, uint32_t first_id = 1) {
  std::vector<std::vector<uint8_t>> out;
  for (uint32_t i = 0; i < count; ++i) out.push_back(scripted_request(first_id + i));
  return out;
}

}  // namespace flowlift::tc_netlink_scripted
