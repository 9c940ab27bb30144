// genl_socket: one generic netlink socket and the message framing around it
// -- building a request (nlmsghdr + genlmsghdr + payload), collecting the
// replies that answer it (sequence and port checked, dumps to NLMSG_DONE,
// the ack or error that ends a request), and turning an error ack into a
// Status that carries the kernel's own reason (the extended ack's
// NLMSGERR_ATTR_MSG, "Flow key attr not present in new flow." and the like).
//
// Why libmnl and not libnl-genl: libmnl is already the library of the
// datapath-core codec (AttributeWriter, for_each_attribute), it is a thin
// layer over the socket that leaves every byte of the message to us (what
// the unit tests compare against <linux/openvswitch.h>), and it has no
// hidden state (libnl's nl_sock keeps its own sequence numbers, auto-acks
// and callbacks, which get in the way of a reply collector that the unit
// tests feed with recorded kernel bytes). The framing here is therefore
// split in two: GenlReplyCollector is pure (bytes in, messages or Status
// out) and is what the tests and the fuzzer drive; GenlSocket only moves
// datagrams.
//
// Threading: a GenlSocket is used by one thread at a time (its owner
// serialises requests); the collector is a value.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "flowlift/status.h"

namespace flowlift {

// One generic netlink message: its family (nlmsg_type), flags, command,
// version and the payload after struct genlmsghdr (for the ovs_* families:
// struct ovs_header, then attributes).
struct GenlMessage {
  uint16_t family = 0;
  uint16_t flags = 0;
  uint8_t command = 0;
  uint8_t version = 0;
  std::vector<uint8_t> payload;
};

// nlmsghdr (len, family, flags, seq, port id) + genlmsghdr + payload, padded
// to NLMSG_ALIGNTO. `flags` are used as given (callers add NLM_F_REQUEST,
// NLM_F_ACK, NLM_F_DUMP, ...).
std::vector<uint8_t> build_genl_message(uint16_t family, uint16_t flags, uint32_t sequence, uint32_t port_id,
                                        uint8_t command, uint8_t version, std::span<const uint8_t> payload);

// The Status an NLMSG_ERROR message stands for: ok for an ack (error 0),
// otherwise the negated errno with strerror's text, the kernel's extended
// ack message when it sent one, and the offset of the attribute it blamed.
// `message` is the whole nlmsghdr; a truncated error message is EPROTO.
Status genl_status_from_error_message(std::span<const uint8_t> message);

// Collects the replies to one request: every datagram received after
// sending it is fed in until complete(). Messages whose sequence number or
// port id is not the request's are stale answers to an earlier request and
// are skipped (counted in skipped()). A non-dump request ends with its ack
// (NLM_F_ACK) or error; a dump with NLMSG_DONE (whose payload may carry an
// error: a dump that failed half way) or an error.
class GenlReplyCollector {
 public:
  GenlReplyCollector(uint32_t sequence, uint32_t port_id, bool dump)
      : sequence_(sequence), port_id_(port_id), dump_(dump) {}

  // Parses one datagram. Returns the error that ends the request (a kernel
  // error ack, or a malformed datagram: EPROTO naming the byte offset);
  // once an error was returned, complete() is true.
  Status feed(std::span<const uint8_t> datagram);
  bool complete() const { return complete_; }
  std::vector<GenlMessage> take_messages() { return std::move(messages_); }
  size_t skipped() const { return skipped_; }

 private:
  uint32_t sequence_;
  uint32_t port_id_;
  bool dump_;
  bool complete_ = false;
  size_t skipped_ = 0;
  std::vector<GenlMessage> messages_;
};

// Splits one received datagram into its generic netlink messages without
// any request context (upcall sockets: the kernel sends unsolicited
// OVS_PACKET_CMD_MISS/ACTION messages with sequence 0). NLMSG_ERROR,
// NLMSG_DONE and NLMSG_NOOP are skipped; a malformed datagram is EPROTO.
Result<std::vector<GenlMessage>> split_genl_datagram(std::span<const uint8_t> datagram);

class GenlSocket {
 public:
  // Opens and binds a NETLINK_GENERIC socket with extended acks and capped
  // acks (an error does not echo our whole request back). `receive_buffer`:
  // SO_RCVBUF in bytes when non-zero (upcall sockets want a large one).
  static Result<std::unique_ptr<GenlSocket>> open(int receive_buffer = 0);
  ~GenlSocket();
  GenlSocket(const GenlSocket&) = delete;
  GenlSocket& operator=(const GenlSocket&) = delete;

  uint32_t port_id() const { return port_id_; }
  int fd() const;

  // Sends one request (NLM_F_REQUEST|NLM_F_ACK added to `flags`) and
  // returns the messages it was answered with (NLM_F_ECHO replies,
  // notifications to us) once its ack arrives; the error ack as a Status.
  Result<std::vector<GenlMessage>> transact(uint16_t family, uint8_t command, uint8_t version, uint16_t flags,
                                            std::span<const uint8_t> payload);
  // A dump request (NLM_F_REQUEST|NLM_F_DUMP): every message up to NLMSG_DONE.
  Result<std::vector<GenlMessage>> dump(uint16_t family, uint8_t command, uint8_t version,
                                        std::span<const uint8_t> payload);

  // Reads whatever is queued without blocking: the messages of one datagram,
  // or an empty vector when nothing was waiting. ENOBUFS (the kernel dropped
  // messages: the socket's buffer was full) is returned as a Status so that
  // the caller can count it; the socket stays usable.
  Result<std::vector<GenlMessage>> receive_nonblocking();

 private:
  explicit GenlSocket(mnl_socket* socket);
  Result<std::vector<GenlMessage>> run(std::span<const uint8_t> request, uint32_t sequence, bool dump);

  mnl_socket* socket_;
  uint32_t port_id_ = 0;
  uint32_t next_sequence_;
  // Received datagrams; 4-byte aligned for the nlmsghdr/nlattr reads.
  std::vector<uint32_t> receive_buffer_;
};

}  // namespace flowlift
