// TcNetlinkSession: the rtnetlink socket TC offload talks through. It moves
// whole netlink messages (the filter codec and the qdisc helpers build
// them); it owns the sequence numbers, the packing of many requests per
// sendmsg, the collection of their answers (echo and ack) and what happens
// when the kernel drops answers (ENOBUFS).
//
// Why a window of outstanding requests: rtnetlink handles a sendmsg's
// requests synchronously, so by the time sendmsg returns every answer to it
// is queued on our socket -- or dropped, when the queue is over its
// receive buffer (the kernel then reports ENOBUFS once, and drops every
// answer until we have read the queue down). The session therefore bounds
// the answers it has not read yet (estimated from each request's size and
// NLM_F_ECHO) to half the receive buffer it was granted, sends as many
// requests per sendmsg as fit that and a bounded datagram size, and reads
// answers between sends. An overrun still happens when the estimate is
// wrong; then every request whose answer did not arrive is marked lost --
// its outcome unknown, never reported as success or failure -- the window
// is halved, and the session goes on. The caller (the provider) settles
// lost requests from a dump.
//
// Why a transport interface: the unit tests play the kernel (answers,
// drops, malformed bytes, acks for sequences never sent) through
// TcNetlinkTransport without a socket; production uses the NETLINK_ROUTE
// socket that open() makes.
//
// Threading: one thread at a time per session.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "flowlift/status.h"

namespace flowlift {

struct TcRequestOutcome {
  int error = 0;  // 0 = acknowledged; else the kernel's errno (positive)
  // NLMSGERR_ATTR_MSG text when the kernel (or a driver) gave one, also on
  // success (warnings); "not sent: ..." when the session refused to send the
  // request (not a whole message) or sendmsg failed, with error set.
  std::string extack;
  std::vector<uint8_t> echoed;  // the NLM_F_ECHO reply (a whole nlmsg), when the request asked for one
  bool lost = false;        // no readable answer came (overrun, timeout, malformed answer): outcome unknown
  std::string lost_reason;  // why, when lost: "receive buffer overran (ENOBUFS)" and the like
};

// Datagrams in and out. send() hands the kernel one datagram (one or many
// messages); receive() fills `buffer` with one datagram and returns its
// size, or ENOBUFS when the kernel dropped messages for us, EAGAIN when
// nothing is queued (wait=false) or nothing came within the session's
// answer timeout (wait=true), EMSGSIZE when the datagram did not fit.
class TcNetlinkTransport {
 public:
  virtual ~TcNetlinkTransport() = default;
  virtual uint32_t port_id() const = 0;
  virtual Status send(std::span<const uint8_t> datagram) = 0;
  virtual Result<size_t> receive(std::span<uint8_t> buffer, bool wait) = 0;
  // Bytes the kernel lets queue for us (SO_RCVBUF as granted); sizes the window.
  virtual size_t receive_buffer_bytes() const = 0;
};

struct TcNetlinkSessionOptions {
  // Requested SO_RCVBUF(FORCE). Tests ask for a tiny one to force overruns.
  int receive_buffer_bytes = 4 << 20;
  // Upper bound of one sendmsg (the kernel refuses more than SO_SNDBUF - 32).
  size_t max_send_bytes = 64 << 10;
  // Estimated bytes of unread answers allowed; 0 = half the granted receive
  // buffer. Tests set it huge to disable the window and force an overrun.
  size_t answer_window_bytes = 0;
  // How long to wait for an answer the kernel owes before calling it lost.
  int answer_timeout_ms = 30000;
  // Dumps restarted after ENOBUFS or NLM_F_DUMP_INTR at most this often.
  int dump_retries = 4;
};

class TcNetlinkSession {
 public:
  // NETLINK_ROUTE with NETLINK_EXT_ACK, NETLINK_CAP_ACK, NETLINK_GET_STRICT_CHK
  // (best effort) and a receive buffer of options.receive_buffer_bytes
  // (SO_RCVBUFFORCE, falling back to SO_RCVBUF).
  static Result<TcNetlinkSession> open(const TcNetlinkSessionOptions& options = {});
  // A session over any transport (the unit tests' scripted kernel).
  static TcNetlinkSession over(std::unique_ptr<TcNetlinkTransport> transport,
                               const TcNetlinkSessionOptions& options = {});

  TcNetlinkSession(TcNetlinkSession&&) noexcept = default;
  TcNetlinkSession& operator=(TcNetlinkSession&&) noexcept = default;
  TcNetlinkSession(const TcNetlinkSession&) = delete;
  TcNetlinkSession& operator=(const TcNetlinkSession&) = delete;
  ~TcNetlinkSession();

  // Sends every request (each one whole nlmsg; the session sets nlmsg_seq,
  // nlmsg_pid and NLM_F_REQUEST|NLM_F_ACK, keeps every other flag), many per
  // sendmsg, collecting answers while it sends; one outcome per request, in
  // order. A request shorter than a header or whose nlmsg_len disagrees with
  // its size is not sent: EINVAL in its outcome.
  std::vector<TcRequestOutcome> transact(std::span<const std::vector<uint8_t>> requests);
  // One request: its outcome.
  TcRequestOutcome transact_one(std::span<const uint8_t> request);

  // A dump request (NLM_F_DUMP is added): every message of the answer until
  // NLMSG_DONE, or the error (kernel's errno, extack text). ENOBUFS mid-dump
  // or NLM_F_DUMP_INTR restarts it (options.dump_retries times), never
  // returning part of a dump.
  Result<std::vector<std::vector<uint8_t>>> dump(std::span<const uint8_t> request);

  // What was wrong with the answers of the last transact()/dump() that the
  // outcomes cannot say: malformed datagrams, answers for sequences never
  // sent or no longer awaited, duplicate acks. Empty when all was well.
  const std::vector<Status>& reply_problems() const { return reply_problems_; }
  // Overruns (ENOBUFS) seen since open, and the window now in force.
  size_t overruns() const { return overruns_; }
  size_t answer_window_bytes() const { return answer_window_bytes_; }
  // sendmsg calls made since open (requests are packed many to one).
  size_t datagrams_sent() const { return datagrams_sent_; }
  uint32_t port_id() const;

 private:
  TcNetlinkSession(std::unique_ptr<TcNetlinkTransport> transport, const TcNetlinkSessionOptions& options);
  struct Batch;
  void receive_answers(Batch& batch, size_t limit);
  void give_up_on_outstanding(Batch& batch, const std::string& reason);
  void note_overrun();
  Result<size_t> receive_datagram(bool wait);

  std::unique_ptr<TcNetlinkTransport> transport_;
  TcNetlinkSessionOptions options_;
  uint32_t next_sequence_ = 0;
  size_t answer_window_bytes_ = 0;
  size_t overruns_ = 0;
  size_t datagrams_sent_ = 0;
  std::vector<Status> reply_problems_;
  // Received datagrams (uint32_t elements: 4-byte aligned, as netlink is).
  std::vector<uint32_t> receive_buffer_;
};

}  // namespace flowlift
