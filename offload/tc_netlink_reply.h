// tc_netlink_reply: reading what rtnetlink answers a TC request with, as
// bytes in and values (or an error naming what was wrong) out -- the
// datagram split into its messages, an NLMSG_ERROR turned into the errno and
// the kernel's extended ack (NLMSGERR_ATTR_MSG text, NLMSGERR_ATTR_OFFS),
// and the error an NLMSG_DONE carries when a dump failed half way.
//
// Why its own unit, pure and apart from the socket: every byte here comes
// from outside (the kernel, a driver's extack text), so it is what the unit
// tests and the fuzzer drive directly; the session (tc_netlink_session)
// only decides what a parsed reply means for the requests it has in flight.
// Every read is a bounds-checked memcpy: received bytes are never cast to
// structs, so an odd length or alignment cannot become undefined behaviour.
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "flowlift/status.h"

namespace flowlift {

// One message of a datagram: its header (copied out) and its whole bytes
// (header included, trailing alignment padding excluded).
struct TcNetlinkMessageView {
  size_t offset = 0;  // where it starts in the datagram
  nlmsghdr header{};
  std::span<const uint8_t> bytes;
};

// The messages of one received datagram, in order. A malformed message
// (truncated header, nlmsg_len below the header or past the datagram's end)
// stops the walk: `messages` holds those before it and `problem` says what
// was wrong at which byte (EPROTO); whatever followed is unreadable.
struct TcNetlinkDatagram {
  std::vector<TcNetlinkMessageView> messages;
  Status problem;
};
TcNetlinkDatagram split_tc_netlink_datagram(std::span<const uint8_t> datagram);

// An NLMSG_ERROR message: the acknowledgement (error 0) or the refusal of
// the request whose sequence number it carries.
struct TcNetlinkAck {
  uint32_t sequence = 0;
  uint32_t port_id = 0;
  int error = 0;  // positive errno; 0 for an acknowledgement
  // NLMSGERR_ATTR_MSG: the kernel's (or a driver's) own words; the kernel
  // also sends it on success, as a warning ("Filter with specified
  // priority/protocol not found" and the like).
  std::string extack;
  std::optional<uint32_t> blamed_offset;  // NLMSGERR_ATTR_OFFS: byte of the request it blamed
  bool capped = false;                    // NLM_F_CAPPED: only the request's header was echoed
  uint16_t request_type = 0;              // nlmsg_type of the request it answers
  // The extended ack was present but malformed: the error stands, the text
  // may be missing; says what was wrong.
  std::string extack_problem;
};
// `message` is one whole NLMSG_ERROR message (split_tc_netlink_datagram's
// bytes). EPROTO naming the problem when it is not one or is truncated.
Result<TcNetlinkAck> parse_tc_netlink_ack(std::span<const uint8_t> message);

// An NLMSG_DONE message: the end of a dump. error is the positive errno
// when the dump failed after it started (0 otherwise), with the extended
// ack's text when NLM_F_ACK_TLVS says one follows.
struct TcNetlinkDumpDone {
  uint32_t sequence = 0;
  int error = 0;
  std::string extack;
};
Result<TcNetlinkDumpDone> parse_tc_netlink_done(std::span<const uint8_t> message);

// "kernel: <extack> (<strerror>)" or strerror alone: how the session and the
// qdisc helpers word a refusal in a Status.
std::string tc_netlink_error_text(int error, const std::string& extack);

}  // namespace flowlift
