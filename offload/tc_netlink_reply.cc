// tc_netlink_reply: datagram splitting and NLMSG_ERROR / NLMSG_DONE parsing.
#include "offload/tc_netlink_reply.h"

#include <algorithm>
#include <cstring>

namespace flowlift {
namespace {

Status malformed_reply(const std::string& what) { return Status(EPROTO, "malformed netlink reply: " + what); }

// The extended ack's attributes (struct nlattr TLVs): NLMSGERR_ATTR_MSG and
// NLMSGERR_ATTR_OFFS are read, the others (missing-attribute hints, policy
// dumps, cookies) skipped. A malformed TLV stops the walk and is reported;
// what was read before it is kept.
Status read_extended_ack(std::span<const uint8_t> tlvs, std::string& text, std::optional<uint32_t>* offset) {
  size_t position = 0;
  while (position + sizeof(nlattr) <= tlvs.size()) {
    nlattr attribute;
    std::memcpy(&attribute, tlvs.data() + position, sizeof attribute);
    if (attribute.nla_len < sizeof(nlattr) || attribute.nla_len > tlvs.size() - position) {
      return malformed_reply("extended ack attribute at byte " + std::to_string(position) + " has length " +
                             std::to_string(attribute.nla_len) + " with " +
                             std::to_string(tlvs.size() - position) + " bytes left");
    }
    auto payload = tlvs.subspan(position + sizeof(nlattr), attribute.nla_len - sizeof(nlattr));
    uint16_t type = attribute.nla_type & NLA_TYPE_MASK;
    if (type == NLMSGERR_ATTR_MSG) {
      text.assign(reinterpret_cast<const char*>(payload.data()), payload.size());
      if (size_t nul = text.find('\0'); nul != std::string::npos) text.resize(nul);
    } else if (type == NLMSGERR_ATTR_OFFS && offset != nullptr) {
      if (payload.size() != sizeof(uint32_t)) {
        return malformed_reply("NLMSGERR_ATTR_OFFS of " + std::to_string(payload.size()) + " bytes, not 4");
      }
      uint32_t value = 0;
      std::memcpy(&value, payload.data(), sizeof value);
      *offset = value;
    }
    position += NLA_ALIGN(attribute.nla_len);
  }
  return Status::ok();
}

// A negated errno as the kernel writes it in nlmsgerr.error and NLMSG_DONE;
// anything else is not one.
Result<int> errno_from_negated(int32_t value, const char* where) {
  if (value == 0) return 0;
  if (value > 0 || value < -4095) {
    return malformed_reply(std::string(where) + " carries " + std::to_string(value) +
                           ", which is not 0 or a negated errno");
  }
  return -value;
}

}  // namespace

TcNetlinkDatagram split_tc_netlink_datagram(std::span<const uint8_t> datagram) {
  TcNetlinkDatagram out;
  size_t offset = 0;
  while (offset < datagram.size()) {
    size_t remaining = datagram.size() - offset;
    std::string at =
        " at byte " + std::to_string(offset) + " of a " + std::to_string(datagram.size()) + "-byte datagram";
    if (remaining < sizeof(nlmsghdr)) {
      out.problem =
          malformed_reply("truncated message header (" + std::to_string(remaining) + " bytes)" + at);
      break;
    }
    TcNetlinkMessageView view;
    view.offset = offset;
    std::memcpy(&view.header, datagram.data() + offset, sizeof view.header);
    if (view.header.nlmsg_len < sizeof(nlmsghdr)) {
      out.problem = malformed_reply("nlmsg_len " + std::to_string(view.header.nlmsg_len) +
                                    " is below the 16-byte header" + at);
      break;
    }
    if (view.header.nlmsg_len > remaining) {
      out.problem = malformed_reply("nlmsg_len " + std::to_string(view.header.nlmsg_len) + " runs past the " +
                                    std::to_string(remaining) + " bytes left" + at);
      break;
    }
    view.bytes = datagram.subspan(offset, view.header.nlmsg_len);
    out.messages.push_back(view);
    // The last message may end without its alignment padding.
    offset += std::min<size_t>(NLMSG_ALIGN(view.header.nlmsg_len), remaining);
  }
  return out;
}

Result<TcNetlinkAck> parse_tc_netlink_ack(std::span<const uint8_t> message) {
  if (message.size() < sizeof(nlmsghdr)) {
    return malformed_reply("NLMSG_ERROR of " + std::to_string(message.size()) + " bytes has no header");
  }
  nlmsghdr header;
  std::memcpy(&header, message.data(), sizeof header);
  if (header.nlmsg_type != NLMSG_ERROR) {
    return malformed_reply("message type " + std::to_string(header.nlmsg_type) + " is not NLMSG_ERROR");
  }
  if (header.nlmsg_len != message.size()) {
    return malformed_reply("NLMSG_ERROR says nlmsg_len " + std::to_string(header.nlmsg_len) + " but has " +
                           std::to_string(message.size()) + " bytes");
  }
  std::string where = "NLMSG_ERROR for sequence " + std::to_string(header.nlmsg_seq);
  if (message.size() < NLMSG_HDRLEN + sizeof(nlmsgerr)) {
    return malformed_reply(where + " is truncated: " + std::to_string(message.size()) + " bytes, at least " +
                           std::to_string(NLMSG_HDRLEN + sizeof(nlmsgerr)) + " needed");
  }
  nlmsgerr body;
  std::memcpy(&body, message.data() + NLMSG_HDRLEN, sizeof body);
  Result<int> error = errno_from_negated(body.error, where.c_str());
  if (!error) return error.status();

  TcNetlinkAck ack;
  ack.sequence = header.nlmsg_seq;
  ack.port_id = header.nlmsg_pid;
  ack.error = *error;
  ack.capped = (header.nlmsg_flags & NLM_F_CAPPED) != 0;
  ack.request_type = body.msg.nlmsg_type;
  if (header.nlmsg_flags & NLM_F_ACK_TLVS) {
    // Uncapped, the request's payload (past its header) sits between
    // struct nlmsgerr and the attributes.
    size_t echoed_payload = 0;
    if (!ack.capped && body.msg.nlmsg_len > NLMSG_HDRLEN) echoed_payload = body.msg.nlmsg_len - NLMSG_HDRLEN;
    size_t start = NLMSG_HDRLEN + sizeof(nlmsgerr) + NLMSG_ALIGN(echoed_payload);
    if (start > message.size()) {
      ack.extack_problem = "the echoed request (" + std::to_string(body.msg.nlmsg_len) +
                           " bytes) runs past the end of the " + std::to_string(message.size()) + "-byte " +
                           where + ", so its extended ack cannot be read";
    } else if (Status s = read_extended_ack(message.subspan(start), ack.extack, &ack.blamed_offset); !s) {
      ack.extack_problem = s.message();
    }
  }
  return ack;
}

Result<TcNetlinkDumpDone> parse_tc_netlink_done(std::span<const uint8_t> message) {
  if (message.size() < sizeof(nlmsghdr)) {
    return malformed_reply("NLMSG_DONE of " + std::to_string(message.size()) + " bytes has no header");
  }
  nlmsghdr header;
  std::memcpy(&header, message.data(), sizeof header);
  if (header.nlmsg_type != NLMSG_DONE) {
    return malformed_reply("message type " + std::to_string(header.nlmsg_type) + " is not NLMSG_DONE");
  }
  TcNetlinkDumpDone done;
  done.sequence = header.nlmsg_seq;
  // The errno is optional: some families end a dump with a bare header.
  if (message.size() >= NLMSG_HDRLEN + sizeof(int32_t)) {
    int32_t value = 0;
    std::memcpy(&value, message.data() + NLMSG_HDRLEN, sizeof value);
    Result<int> error = errno_from_negated(value, "NLMSG_DONE");
    if (!error) return error.status();
    done.error = *error;
    if (header.nlmsg_flags & NLM_F_ACK_TLVS) {
      // A malformed extended ack only loses the text, never the error.
      (void)read_extended_ack(message.subspan(NLMSG_HDRLEN + sizeof(int32_t)), done.extack, nullptr);
    }
  }
  return done;
}

std::string tc_netlink_error_text(int error, const std::string& extack) {
  std::string reason = std::strerror(error);
  if (extack.empty()) return reason;
  return "kernel: " + extack + " (" + reason + ")";
}

}  // namespace flowlift
