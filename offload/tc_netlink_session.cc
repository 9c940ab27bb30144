// TcNetlinkSession: the NETLINK_ROUTE transport, batched requests with a
// window of unread answers, and restartable dumps.
#include "offload/tc_netlink_session.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "offload/tc_netlink_reply.h"

namespace flowlift {
namespace {

// Dump datagrams are at most 32 KiB (netlink_dump caps its skb there), an
// echoed filter a few KiB; twice the largest leaves room.
constexpr size_t kReceiveDatagramBytes = 64 << 10;
// The window never shrinks below this after overruns: a few answers.
constexpr size_t kMinimumAnswerWindowBytes = 8 << 10;

// What an answer costs in the receive buffer (the kernel charges an skb's
// truesize, not its payload): an ack skb is about 1 KiB whatever it says,
// an echo about its message plus the skb overhead, rounded up generously.
size_t estimated_answer_bytes(std::span<const uint8_t> request) {
  nlmsghdr header;
  std::memcpy(&header, request.data(), sizeof header);
  size_t bytes = 1280;
  if (header.nlmsg_flags & NLM_F_ECHO) bytes += 2 * request.size() + 1024;
  return bytes;
}

// Empty when `request` is one whole netlink message; else why not.
std::string whole_message_problem(std::span<const uint8_t> request) {
  if (request.size() < sizeof(nlmsghdr)) {
    return "the request has " + std::to_string(request.size()) + " bytes, fewer than a netlink header";
  }
  nlmsghdr header;
  std::memcpy(&header, request.data(), sizeof header);
  if (header.nlmsg_len < sizeof(nlmsghdr) || header.nlmsg_len > request.size() ||
      NLMSG_ALIGN(header.nlmsg_len) < request.size()) {
    return "the request's nlmsg_len " + std::to_string(header.nlmsg_len) + " does not match its " +
           std::to_string(request.size()) + " bytes";
  }
  if (header.nlmsg_type < NLMSG_MIN_TYPE) {
    return "the request's type " + std::to_string(header.nlmsg_type) + " is a netlink control message";
  }
  return "";
}

// Copies `request` to the end of `datagram` with our sequence, port id and
// flags, padded to NLMSG_ALIGNTO.
void append_request(std::vector<uint8_t>& datagram, std::span<const uint8_t> request, uint32_t sequence,
                    uint32_t port_id, uint16_t added_flags) {
  size_t start = datagram.size();
  nlmsghdr header;
  std::memcpy(&header, request.data(), sizeof header);
  datagram.insert(datagram.end(), request.begin(), request.begin() + header.nlmsg_len);
  datagram.resize(start + NLMSG_ALIGN(header.nlmsg_len), 0);
  header.nlmsg_seq = sequence;
  header.nlmsg_pid = port_id;
  header.nlmsg_flags = static_cast<uint16_t>(header.nlmsg_flags | added_flags);
  std::memcpy(datagram.data() + start, &header, sizeof header);
}

std::string errno_text(const char* what, int error) {
  return std::string(what) + ": " + std::strerror(error);
}

// The NETLINK_ROUTE socket.
class TcRouteSocketTransport final : public TcNetlinkTransport {
 public:
  TcRouteSocketTransport(mnl_socket* socket, int answer_timeout_ms)
      : socket_(socket), answer_timeout_ms_(answer_timeout_ms) {}
  ~TcRouteSocketTransport() override { mnl_socket_close(socket_); }
  TcRouteSocketTransport(const TcRouteSocketTransport&) = delete;
  TcRouteSocketTransport& operator=(const TcRouteSocketTransport&) = delete;

  Status configure(int receive_buffer_bytes) {
    if (mnl_socket_bind(socket_, 0, MNL_SOCKET_AUTOPID) < 0) {
      return Status(errno, errno_text("cannot bind a NETLINK_ROUTE socket", errno));
    }
    int on = 1;
    // Best effort: without them the kernel still answers, with less detail
    // (no extack text), whole requests echoed in errors, or lax dump checks.
    (void)mnl_socket_setsockopt(socket_, NETLINK_EXT_ACK, &on, sizeof on);
    (void)mnl_socket_setsockopt(socket_, NETLINK_CAP_ACK, &on, sizeof on);
    (void)mnl_socket_setsockopt(socket_, NETLINK_GET_STRICT_CHK, &on, sizeof on);
    int fd = mnl_socket_get_fd(socket_);
    if (receive_buffer_bytes > 0) {
      // SO_RCVBUFFORCE passes net.core.rmem_max when we may (CAP_NET_ADMIN);
      // otherwise take what SO_RCVBUF grants.
      if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer_bytes, sizeof receive_buffer_bytes) !=
          0) {
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof receive_buffer_bytes);
      }
    }
    // The value read back is sk_rcvbuf itself, what the kernel compares
    // the queued truesize against.
    int granted = 0;
    socklen_t length = sizeof granted;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &length) != 0 || granted <= 0) granted = 212992;
    receive_buffer_bytes_ = static_cast<size_t>(granted);
    return Status::ok();
  }

  uint32_t port_id() const override { return mnl_socket_get_portid(socket_); }
  size_t receive_buffer_bytes() const override { return receive_buffer_bytes_; }

  Status send(std::span<const uint8_t> datagram) override {
    while (true) {
      ssize_t sent = mnl_socket_sendto(socket_, datagram.data(), datagram.size());
      if (sent >= 0) return Status::ok();
      if (errno != EINTR) return Status(errno, errno_text("netlink sendmsg failed", errno));
    }
  }

  Result<size_t> receive(std::span<uint8_t> buffer, bool wait) override {
    int fd = mnl_socket_get_fd(socket_);
    while (true) {
      if (wait) {
        pollfd waiting{fd, POLLIN, 0};
        int ready = ::poll(&waiting, 1, answer_timeout_ms_);
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0)
          return Status(EAGAIN, "no answer within " + std::to_string(answer_timeout_ms_) + " ms");
      }
      ssize_t got = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_TRUNC);
      if (got < 0) {
        if (errno == EINTR) continue;
        if (errno == EWOULDBLOCK) return Status(EAGAIN, "nothing queued");
        return Status(errno, errno_text("netlink receive failed", errno));
      }
      if (static_cast<size_t>(got) > buffer.size()) {
        return Status(EMSGSIZE, "a " + std::to_string(got) + "-byte netlink datagram did not fit the " +
                                    std::to_string(buffer.size()) + "-byte receive buffer");
      }
      return static_cast<size_t>(got);
    }
  }

 private:
  mnl_socket* socket_;
  int answer_timeout_ms_;
  size_t receive_buffer_bytes_ = 0;
};

}  // namespace

// The requests of one transact() and where each stands.
struct TcNetlinkSession::Batch {
  enum class State : uint8_t { kNotSent, kAwaiting, kDone };
  std::span<const std::vector<uint8_t>> requests;
  std::vector<TcRequestOutcome> outcomes;
  std::vector<State> states;
  std::vector<size_t> estimates;
  uint32_t first_sequence = 0;
  size_t outstanding = 0;
  size_t outstanding_bytes = 0;

  void finish(size_t index) {
    states[index] = State::kDone;
    --outstanding;
    outstanding_bytes -= estimates[index];
  }
};

Result<TcNetlinkSession> TcNetlinkSession::open(const TcNetlinkSessionOptions& options) {
  mnl_socket* socket = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (socket == nullptr) return Status(errno, errno_text("cannot open a NETLINK_ROUTE socket", errno));
  auto transport = std::make_unique<TcRouteSocketTransport>(socket, options.answer_timeout_ms);
  if (Status s = transport->configure(options.receive_buffer_bytes); !s) return s;
  return TcNetlinkSession(std::move(transport), options);
}

TcNetlinkSession TcNetlinkSession::over(std::unique_ptr<TcNetlinkTransport> transport,
                                        const TcNetlinkSessionOptions& options) {
  return TcNetlinkSession(std::move(transport), options);
}

TcNetlinkSession::TcNetlinkSession(std::unique_ptr<TcNetlinkTransport> transport,
                                   const TcNetlinkSessionOptions& options)
    : transport_(std::move(transport)),
      options_(options),
      // Sequence numbers start from the port id's neighbourhood so two
      // sessions' numbers differ; they are never reused within a session.
      next_sequence_(transport_->port_id() * 2654435761u + 1),
      receive_buffer_(kReceiveDatagramBytes / sizeof(uint32_t)) {
  answer_window_bytes_ = options_.answer_window_bytes != 0
                             ? options_.answer_window_bytes
                             : std::max(transport_->receive_buffer_bytes() / 2, kMinimumAnswerWindowBytes);
}

TcNetlinkSession::~TcNetlinkSession() = default;

uint32_t TcNetlinkSession::port_id() const { return transport_->port_id(); }

void TcNetlinkSession::note_overrun() {
  ++overruns_;
  answer_window_bytes_ = std::max(answer_window_bytes_ / 2, kMinimumAnswerWindowBytes);
}

Result<size_t> TcNetlinkSession::receive_datagram(bool wait) {
  auto buffer = std::span<uint8_t>(reinterpret_cast<uint8_t*>(receive_buffer_.data()),
                                   receive_buffer_.size() * sizeof(uint32_t));
  return transport_->receive(buffer, wait);
}

std::vector<TcRequestOutcome> TcNetlinkSession::transact(std::span<const std::vector<uint8_t>> requests) {
  reply_problems_.clear();
  Batch batch;
  batch.requests = requests;
  batch.outcomes.resize(requests.size());
  batch.states.assign(requests.size(), Batch::State::kNotSent);
  batch.estimates.assign(requests.size(), 0);
  batch.first_sequence = next_sequence_;
  next_sequence_ += static_cast<uint32_t>(requests.size());
  const uint32_t port = transport_->port_id();

  std::vector<uint8_t> datagram;
  std::vector<size_t> members;
  size_t next = 0;
  while (next < requests.size()) {
    datagram.clear();
    members.clear();
    while (next < requests.size()) {
      std::span<const uint8_t> request = requests[next];
      if (std::string problem = whole_message_problem(request); !problem.empty()) {
        batch.outcomes[next].error = EINVAL;
        batch.outcomes[next].extack = "not sent: " + problem;
        batch.states[next] = Batch::State::kDone;
        ++next;
        continue;
      }
      size_t estimate = estimated_answer_bytes(request);
      size_t aligned = NLMSG_ALIGN(request.size());
      if (!datagram.empty() && (datagram.size() + aligned > options_.max_send_bytes ||
                                batch.outstanding_bytes + estimate > answer_window_bytes_)) {
        break;
      }
      append_request(datagram, request, batch.first_sequence + static_cast<uint32_t>(next), port,
                     NLM_F_REQUEST | NLM_F_ACK);
      batch.states[next] = Batch::State::kAwaiting;
      batch.estimates[next] = estimate;
      ++batch.outstanding;
      batch.outstanding_bytes += estimate;
      members.push_back(next);
      ++next;
    }
    if (datagram.empty()) continue;
    ++datagrams_sent_;
    if (Status sent = transport_->send(datagram); !sent) {
      // A failed sendmsg delivered nothing to the kernel: these requests
      // were not carried out, which is a failure, not a loss.
      for (size_t index : members) {
        batch.outcomes[index].error = sent.code();
        batch.outcomes[index].extack = "not sent: " + sent.message();
        batch.finish(index);
      }
    }
    // Read what has come; wait only when the next request would not fit
    // the window (and, after the last send, for every answer).
    size_t limit = 0;
    if (next < requests.size()) {
      size_t next_estimate =
          whole_message_problem(requests[next]).empty() ? estimated_answer_bytes(requests[next]) : 0;
      limit = answer_window_bytes_ > next_estimate ? answer_window_bytes_ - next_estimate : 0;
    }
    receive_answers(batch, limit);
  }
  receive_answers(batch, 0);
  return std::move(batch.outcomes);
}

TcRequestOutcome TcNetlinkSession::transact_one(std::span<const uint8_t> request) {
  std::vector<std::vector<uint8_t>> one{std::vector<uint8_t>(request.begin(), request.end())};
  return std::move(transact(one).front());
}

// Reads answers until the unread ones are estimated at most `limit` bytes
// (0: until every sent request is answered or given up on).
void TcNetlinkSession::receive_answers(Batch& batch, size_t limit) {
  const uint32_t port = transport_->port_id();
  // Returns false when the datagram was malformed (answers may be lost in it).
  auto take_datagram = [&](std::span<const uint8_t> bytes) -> bool {
    TcNetlinkDatagram datagram = split_tc_netlink_datagram(bytes);
    for (const TcNetlinkMessageView& message : datagram.messages) {
      const nlmsghdr& header = message.header;
      uint32_t index32 = header.nlmsg_seq - batch.first_sequence;
      size_t index = index32;
      std::string which = "sequence " + std::to_string(header.nlmsg_seq) + " (message type " +
                          std::to_string(header.nlmsg_type) + ")";
      if (header.nlmsg_pid != port) {
        reply_problems_.push_back(Status(EPROTO, "answer for port " + std::to_string(header.nlmsg_pid) +
                                                     ", not this session's " + std::to_string(port) +
                                                     ", ignored: " + which));
        continue;
      }
      if (index >= batch.requests.size() || batch.states[index] == Batch::State::kNotSent) {
        reply_problems_.push_back(
            Status(EPROTO, "answer for a sequence this request batch never sent, ignored: " + which));
        continue;
      }
      if (batch.states[index] == Batch::State::kDone) {
        reply_problems_.push_back(Status(EPROTO, "answer for request " + std::to_string(index) +
                                                     " after it was settled, ignored: " + which));
        continue;
      }
      TcRequestOutcome& outcome = batch.outcomes[index];
      if (header.nlmsg_type == NLMSG_ERROR) {
        Result<TcNetlinkAck> ack = parse_tc_netlink_ack(message.bytes);
        if (!ack) {
          outcome.lost = true;
          outcome.lost_reason = "its answer was unreadable: " + ack.status().message();
          reply_problems_.push_back(ack.status());
        } else {
          outcome.error = ack->error;
          outcome.extack = ack->extack;
          if (!ack->extack_problem.empty()) reply_problems_.push_back(Status(EPROTO, ack->extack_problem));
        }
        batch.finish(index);
      } else if (header.nlmsg_type < NLMSG_MIN_TYPE) {
        reply_problems_.push_back(Status(EPROTO, "control message answering request " +
                                                     std::to_string(index) +
                                                     " that was not a dump, ignored: " + which));
      } else if (!outcome.echoed.empty()) {
        reply_problems_.push_back(
            Status(EPROTO, "second echo for request " + std::to_string(index) + ", ignored: " + which));
      } else {
        outcome.echoed.assign(message.bytes.begin(), message.bytes.end());
      }
    }
    if (!datagram.problem) {
      reply_problems_.push_back(datagram.problem);
      return false;
    }
    return true;
  };

  while (batch.outstanding > 0) {
    bool wait = batch.outstanding_bytes > limit;
    Result<size_t> got = receive_datagram(wait);
    std::string loss;
    if (got) {
      auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(receive_buffer_.data()), *got);
      if (take_datagram(bytes)) continue;
      loss = "an answer datagram was malformed, so answers in it may be lost";
    } else if (got.status().code() == EAGAIN) {
      if (!wait) return;
      give_up_on_outstanding(batch, got.status().message());
      return;
    } else if (got.status().code() == ENOBUFS) {
      note_overrun();
      loss = "receive buffer overran (ENOBUFS): the kernel dropped answers";
    } else {
      reply_problems_.push_back(got.status());
      loss = got.status().message();
    }
    // The kernel answers a sendmsg before it returns: what is still queued
    // is all that will come for the requests sent so far. Read it, then
    // the rest is lost.
    while (batch.outstanding > 0) {
      Result<size_t> more = receive_datagram(false);
      if (!more) {
        if (more.status().code() == ENOBUFS) {
          note_overrun();
          continue;
        }
        if (more.status().code() != EAGAIN) reply_problems_.push_back(more.status());
        break;
      }
      (void)take_datagram(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(receive_buffer_.data()), *more));
    }
    give_up_on_outstanding(batch, loss);
    return;
  }
}

void TcNetlinkSession::give_up_on_outstanding(Batch& batch, const std::string& reason) {
  for (size_t index = 0; index < batch.states.size() && batch.outstanding > 0; ++index) {
    if (batch.states[index] != Batch::State::kAwaiting) continue;
    batch.outcomes[index].lost = true;
    batch.outcomes[index].lost_reason = reason;
    batch.finish(index);
  }
}

Result<std::vector<std::vector<uint8_t>>> TcNetlinkSession::dump(std::span<const uint8_t> request) {
  reply_problems_.clear();
  if (std::string problem = whole_message_problem(request); !problem.empty()) {
    return Status(EINVAL, "dump not sent: " + problem);
  }
  const uint32_t port = transport_->port_id();
  std::string restart_reason;
  for (int attempt = 0; attempt <= options_.dump_retries; ++attempt) {
    uint32_t sequence = next_sequence_++;
    std::vector<uint8_t> datagram;
    append_request(datagram, request, sequence, port, NLM_F_REQUEST | NLM_F_DUMP);
    ++datagrams_sent_;
    if (Status sent = transport_->send(datagram); !sent) return sent.with_context("dump");

    std::vector<std::vector<uint8_t>> messages;
    bool restart = false;
    bool finished = false;
    Status failure;
    while (!finished) {
      Result<size_t> got = receive_datagram(true);
      if (!got) {
        if (got.status().code() == ENOBUFS) {
          // The kernel goes on dumping (it never drops dump messages, only
          // other answers); read it to its end, then ask again.
          note_overrun();
          restart = true;
          restart_reason = "receive buffer overran (ENOBUFS)";
          continue;
        }
        if (got.status().code() == EAGAIN) return Status(ETIMEDOUT, "dump: " + got.status().message());
        return got.status().with_context("dump");
      }
      TcNetlinkDatagram split = split_tc_netlink_datagram(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(receive_buffer_.data()), *got));
      for (const TcNetlinkMessageView& message : split.messages) {
        const nlmsghdr& header = message.header;
        if (header.nlmsg_seq != sequence || header.nlmsg_pid != port) {
          reply_problems_.push_back(Status(EPROTO, "message of sequence " + std::to_string(header.nlmsg_seq) +
                                                       " during the dump of sequence " +
                                                       std::to_string(sequence) + ", ignored"));
          continue;
        }
        if (header.nlmsg_flags & NLM_F_DUMP_INTR) {
          restart = true;
          restart_reason = "the kernel's table changed during the dump (NLM_F_DUMP_INTR)";
        }
        if (header.nlmsg_type == NLMSG_DONE) {
          finished = true;
          Result<TcNetlinkDumpDone> done = parse_tc_netlink_done(message.bytes);
          if (!done) {
            restart = true;
            restart_reason = done.status().message();
          } else if (done->error != 0) {
            failure = Status(done->error, "dump failed: " + tc_netlink_error_text(done->error, done->extack));
          }
          break;
        }
        if (header.nlmsg_type == NLMSG_ERROR) {
          finished = true;
          Result<TcNetlinkAck> ack = parse_tc_netlink_ack(message.bytes);
          if (!ack) {
            failure = ack.status().with_context("dump");
          } else if (ack->error != 0) {
            failure = Status(ack->error, "dump refused: " + tc_netlink_error_text(ack->error, ack->extack));
          } else {
            failure = Status(EPROTO, "dump answered by an acknowledgement instead of NLMSG_DONE");
          }
          break;
        }
        if (header.nlmsg_type < NLMSG_MIN_TYPE) continue;  // NLMSG_NOOP
        messages.emplace_back(message.bytes.begin(), message.bytes.end());
      }
      if (!split.problem) {
        reply_problems_.push_back(split.problem);
        restart = true;
        restart_reason = split.problem.message();
      }
    }
    if (!failure) return failure;
    if (!restart) return messages;
  }
  return Status(EAGAIN, "dump was interrupted " + std::to_string(options_.dump_retries + 1) +
                            " times, the last because " + restart_reason + "; nothing partial is returned");
}

}  // namespace flowlift
