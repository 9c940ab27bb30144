// genl_socket: request framing, reply collection and the socket itself.
#include "kmod/genl_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "kmod/netlink_attr.h"

namespace flowlift {
namespace {

// Big enough for any message the ovs_* families send: dump replies are
// built in NLMSG_GOODSIZE skbs, and an upcall carries a whole packet (up to
// 64 KiB with GSO) plus its key.
constexpr size_t kReceiveBufferBytes = 128 * 1024;

Status malformed(size_t offset, const std::string& what) {
  return Status(EPROTO, "malformed netlink reply at byte " + std::to_string(offset) + ": " + what);
}

// Walks the nlmsghdrs of an aligned datagram, calling visit(header, offset,
// bytes of the whole message) -> Status until one fails.
template <typename Visit>
Status for_each_netlink_message(std::span<const uint8_t> datagram, Visit&& visit) {
  size_t offset = 0;
  while (offset < datagram.size()) {
    size_t remaining = datagram.size() - offset;
    if (remaining < sizeof(nlmsghdr)) return malformed(offset, "truncated message header");
    nlmsghdr header;
    std::memcpy(&header, datagram.data() + offset, sizeof header);
    if (header.nlmsg_len < sizeof(nlmsghdr)) {
      return malformed(offset, "nlmsg_len " + std::to_string(header.nlmsg_len) + " is below the header size");
    }
    if (header.nlmsg_len > remaining) {
      return malformed(offset, "nlmsg_len " + std::to_string(header.nlmsg_len) + " runs past the " +
                                   std::to_string(remaining) + " bytes left");
    }
    if (Status s = visit(header, offset, datagram.subspan(offset, header.nlmsg_len)); !s) return s;
    offset += NLMSG_ALIGN(header.nlmsg_len);
  }
  return Status::ok();
}

Result<GenlMessage> genl_message_from(const nlmsghdr& header, size_t offset,
                                      std::span<const uint8_t> message) {
  if (message.size() < NLMSG_HDRLEN + GENL_HDRLEN) {
    return malformed(offset, "generic netlink message of " + std::to_string(message.size()) +
                                 " bytes has no room for its genlmsghdr");
  }
  genlmsghdr genl;
  std::memcpy(&genl, message.data() + NLMSG_HDRLEN, sizeof genl);
  GenlMessage out;
  out.family = header.nlmsg_type;
  out.flags = header.nlmsg_flags;
  out.command = genl.cmd;
  out.version = genl.version;
  auto payload = message.subspan(NLMSG_HDRLEN + GENL_HDRLEN);
  out.payload.assign(payload.begin(), payload.end());
  return out;
}

}  // namespace

std::vector<uint8_t> build_genl_message(uint16_t family, uint16_t flags, uint32_t sequence, uint32_t port_id,
                                        uint8_t command, uint8_t version, std::span<const uint8_t> payload) {
  size_t length = NLMSG_HDRLEN + GENL_HDRLEN + payload.size();
  std::vector<uint8_t> bytes(NLMSG_ALIGN(length), 0);
  nlmsghdr header{};
  header.nlmsg_len = static_cast<uint32_t>(length);
  header.nlmsg_type = family;
  header.nlmsg_flags = flags;
  header.nlmsg_seq = sequence;
  header.nlmsg_pid = port_id;
  std::memcpy(bytes.data(), &header, sizeof header);
  genlmsghdr genl{};
  genl.cmd = command;
  genl.version = version;
  std::memcpy(bytes.data() + NLMSG_HDRLEN, &genl, sizeof genl);
  if (!payload.empty())
    std::memcpy(bytes.data() + NLMSG_HDRLEN + GENL_HDRLEN, payload.data(), payload.size());
  return bytes;
}

Status genl_status_from_error_message(std::span<const uint8_t> message) {
  if (message.size() < NLMSG_HDRLEN + sizeof(nlmsgerr::error)) {
    return Status(EPROTO, "truncated NLMSG_ERROR message (" + std::to_string(message.size()) + " bytes)");
  }
  nlmsghdr header;
  std::memcpy(&header, message.data(), sizeof header);
  int32_t error = 0;
  std::memcpy(&error, message.data() + NLMSG_HDRLEN, sizeof error);
  if (error == 0) return Status::ok();
  if (error > 0 || error < -4095) {
    return Status(EPROTO, "NLMSG_ERROR carries error " + std::to_string(error) + ", not a negative errno");
  }
  int code = -error;
  std::string reason = std::strerror(code);
  std::string kernel_text;
  std::string blamed_offset;
  // The extended ack's attributes follow struct nlmsgerr, whose embedded
  // request is only the header when the ack was capped.
  if ((header.nlmsg_flags & NLM_F_ACK_TLVS) && message.size() >= NLMSG_HDRLEN + sizeof(nlmsgerr)) {
    nlmsgerr body;
    std::memcpy(&body, message.data() + NLMSG_HDRLEN, sizeof body);
    size_t echoed = (header.nlmsg_flags & NLM_F_CAPPED) || body.msg.nlmsg_len < NLMSG_HDRLEN
                        ? 0
                        : body.msg.nlmsg_len - NLMSG_HDRLEN;
    size_t start = NLMSG_HDRLEN + sizeof(nlmsgerr) + NLMSG_ALIGN(echoed);
    if (start <= message.size()) {
      AlignedBytes tlvs(message.subspan(start));
      // A malformed extended ack only loses the detail, never the error.
      (void)for_each_attribute(tlvs.span(), "extended ack", [&](const Attribute& attribute) -> Status {
        if (attribute.type == NLMSGERR_ATTR_MSG) {
          std::string text(reinterpret_cast<const char*>(attribute.payload.data()), attribute.payload.size());
          if (size_t nul = text.find('\0'); nul != std::string::npos) text.resize(nul);
          kernel_text = text;
        } else if (attribute.type == NLMSGERR_ATTR_OFFS && attribute.length() == 4) {
          blamed_offset = std::to_string(attribute.as<uint32_t>());
        }
        return Status::ok();
      });
    }
  }
  std::string text = kernel_text.empty() ? reason : "kernel: " + kernel_text + " (" + reason + ")";
  if (!blamed_offset.empty()) text += " at request byte " + blamed_offset;
  return Status(code, text);
}

Status GenlReplyCollector::feed(std::span<const uint8_t> datagram) {
  if (complete_) return Status::ok();
  AlignedBytes aligned(datagram);
  Status status = for_each_netlink_message(
      aligned.span(), [&](const nlmsghdr& header, size_t offset, std::span<const uint8_t> message) -> Status {
        if (complete_) return Status::ok();
        if (header.nlmsg_seq != sequence_ || header.nlmsg_pid != port_id_) {
          ++skipped_;
          return Status::ok();
        }
        if (header.nlmsg_type == NLMSG_NOOP) return Status::ok();
        if (header.nlmsg_type == NLMSG_ERROR) {
          Status error = genl_status_from_error_message(message);
          // An ack ends a request; inside a dump only an error can come.
          if (!error || !dump_) complete_ = true;
          return error;
        }
        if (header.nlmsg_type == NLMSG_DONE) {
          if (!dump_) return malformed(offset, "NLMSG_DONE answering a request that was not a dump");
          complete_ = true;
          // A dump that failed after it started reports the errno here.
          if (message.size() >= NLMSG_HDRLEN + sizeof(int32_t)) {
            int32_t error = 0;
            std::memcpy(&error, message.data() + NLMSG_HDRLEN, sizeof error);
            if (error < 0 && error >= -4095) {
              return Status(-error, std::string("dump ended with an error: ") + std::strerror(-error));
            }
          }
          return Status::ok();
        }
        if (header.nlmsg_type < NLMSG_MIN_TYPE) {
          return malformed(offset, "reserved message type " + std::to_string(header.nlmsg_type));
        }
        Result<GenlMessage> parsed = genl_message_from(header, offset, message);
        if (!parsed) return parsed.status();
        messages_.push_back(std::move(*parsed));
        return Status::ok();
      });
  if (!status) complete_ = true;
  return status;
}

Result<std::vector<GenlMessage>> split_genl_datagram(std::span<const uint8_t> datagram) {
  AlignedBytes aligned(datagram);
  std::vector<GenlMessage> messages;
  Status status = for_each_netlink_message(
      aligned.span(), [&](const nlmsghdr& header, size_t offset, std::span<const uint8_t> message) -> Status {
        if (header.nlmsg_type < NLMSG_MIN_TYPE) return Status::ok();
        Result<GenlMessage> parsed = genl_message_from(header, offset, message);
        if (!parsed) return parsed.status();
        messages.push_back(std::move(*parsed));
        return Status::ok();
      });
  if (!status) return status;
  return messages;
}

Result<std::unique_ptr<GenlSocket>> GenlSocket::open(int receive_buffer) {
  mnl_socket* socket = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
  if (socket == nullptr) {
    return Status(errno, std::string("cannot open a generic netlink socket: ") + std::strerror(errno));
  }
  std::unique_ptr<GenlSocket> owner(new GenlSocket(socket));
  if (mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) < 0) {
    return Status(errno, std::string("cannot bind a generic netlink socket: ") + std::strerror(errno));
  }
  int on = 1;
  // Both are best effort: kernels without them still send plain acks.
  (void)mnl_socket_setsockopt(socket, NETLINK_EXT_ACK, &on, sizeof on);
  (void)mnl_socket_setsockopt(socket, NETLINK_CAP_ACK, &on, sizeof on);
  if (receive_buffer > 0) {
    // SO_RCVBUFFORCE passes the rmem_max limit when we may (root); otherwise
    // take what SO_RCVBUF grants.
    if (setsockopt(mnl_socket_get_fd(socket), SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer,
                   sizeof receive_buffer) != 0) {
      (void)setsockopt(mnl_socket_get_fd(socket), SOL_SOCKET, SO_RCVBUF, &receive_buffer,
                       sizeof receive_buffer);
    }
  }
  owner->port_id_ = mnl_socket_get_portid(socket);
  return owner;
}

GenlSocket::GenlSocket(mnl_socket* socket)
    : socket_(socket),
      next_sequence_(static_cast<uint32_t>(::time(nullptr))),
      receive_buffer_(kReceiveBufferBytes / sizeof(uint32_t)) {}

GenlSocket::~GenlSocket() { mnl_socket_close(socket_); }

int GenlSocket::fd() const { return mnl_socket_get_fd(socket_); }

Result<std::vector<GenlMessage>> GenlSocket::transact(uint16_t family, uint8_t command, uint8_t version,
                                                      uint16_t flags, std::span<const uint8_t> payload) {
  uint32_t sequence = ++next_sequence_;
  auto request =
      build_genl_message(family, flags | NLM_F_REQUEST | NLM_F_ACK, sequence, 0, command, version, payload);
  return run(request, sequence, false);
}

Result<std::vector<GenlMessage>> GenlSocket::dump(uint16_t family, uint8_t command, uint8_t version,
                                                  std::span<const uint8_t> payload) {
  uint32_t sequence = ++next_sequence_;
  auto request =
      build_genl_message(family, NLM_F_REQUEST | NLM_F_DUMP, sequence, 0, command, version, payload);
  return run(request, sequence, true);
}

Result<std::vector<GenlMessage>> GenlSocket::run(std::span<const uint8_t> request, uint32_t sequence,
                                                 bool dump) {
  if (mnl_socket_sendto(socket_, request.data(), request.size()) < 0) {
    return Status(errno, std::string("netlink send failed: ") + std::strerror(errno));
  }
  GenlReplyCollector collector(sequence, port_id_, dump);
  while (!collector.complete()) {
    ssize_t got =
        mnl_socket_recvfrom(socket_, receive_buffer_.data(), receive_buffer_.size() * sizeof(uint32_t));
    if (got < 0) {
      if (errno == EINTR) continue;
      // ENOBUFS: replies were lost; the request's own ack may still come,
      // but nothing it answered can be trusted.
      return Status(errno, std::string("netlink receive failed: ") + std::strerror(errno));
    }
    auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(receive_buffer_.data()),
                                          static_cast<size_t>(got));
    if (Status s = collector.feed(bytes); !s) return s;
  }
  return collector.take_messages();
}

Result<std::vector<GenlMessage>> GenlSocket::receive_nonblocking() {
  ssize_t got = ::recv(fd(), receive_buffer_.data(), receive_buffer_.size() * sizeof(uint32_t), MSG_DONTWAIT);
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return std::vector<GenlMessage>();
    return Status(errno, std::string("netlink receive failed: ") + std::strerror(errno));
  }
  return split_genl_datagram(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(receive_buffer_.data()), static_cast<size_t>(got)));
}

}  // namespace flowlift
