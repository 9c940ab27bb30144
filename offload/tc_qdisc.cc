// tc_qdisc: clsact's requests and the ingress-slot check, as iproute2's
// tc/q_clsact.c and the kernel's sch_ingress.c (clsact_ops) define them.
#include "offload/tc_qdisc.h"

#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <optional>

#include "offload/tc_netlink_reply.h"

namespace flowlift {
namespace {

constexpr const char* kClsactKind = "clsact";

std::string device_text(uint32_t ifindex) { return "ifindex " + std::to_string(ifindex); }

// The RTM_GETQDISC dump request; the kernel may or may not narrow it to the
// device (the filter below does it anyway).
std::vector<uint8_t> encode_qdisc_dump_request(uint32_t ifindex) {
  alignas(4) std::array<uint8_t, 64> buffer{};
  nlmsghdr* header = mnl_nlmsg_put_header(buffer.data());
  header->nlmsg_type = RTM_GETQDISC;
  auto* tc = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(header, sizeof(tcmsg)));
  tc->tcm_family = AF_UNSPEC;
  tc->tcm_ifindex = static_cast<int>(ifindex);
  return std::vector<uint8_t>(buffer.data(), buffer.data() + header->nlmsg_len);
}

// The TCA_KIND of one RTM_NEWQDISC message in the ingress slot of
// `ifindex`, or nothing when it is another device's or another slot's.
Result<std::optional<std::string>> ingress_kind_of(std::span<const uint8_t> message, uint32_t ifindex) {
  if (message.size() < NLMSG_HDRLEN + sizeof(tcmsg)) {
    return Status(EPROTO, "qdisc dump message of " + std::to_string(message.size()) + " bytes has no tcmsg");
  }
  nlmsghdr header;
  std::memcpy(&header, message.data(), sizeof header);
  if (header.nlmsg_type != RTM_NEWQDISC) return std::optional<std::string>();
  tcmsg tc;
  std::memcpy(&tc, message.data() + NLMSG_HDRLEN, sizeof tc);
  if (static_cast<uint32_t>(tc.tcm_ifindex) != ifindex || tc.tcm_parent != TC_H_INGRESS) {
    return std::optional<std::string>();
  }
  size_t position = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(tcmsg));
  while (position + sizeof(nlattr) <= message.size()) {
    nlattr attribute;
    std::memcpy(&attribute, message.data() + position, sizeof attribute);
    if (attribute.nla_len < sizeof(nlattr) || attribute.nla_len > message.size() - position) {
      return Status(EPROTO, "qdisc dump message: attribute at byte " + std::to_string(position) +
                                " has length " + std::to_string(attribute.nla_len));
    }
    if ((attribute.nla_type & NLA_TYPE_MASK) == TCA_KIND) {
      std::string kind(reinterpret_cast<const char*>(message.data() + position + sizeof(nlattr)),
                       attribute.nla_len - sizeof(nlattr));
      if (size_t nul = kind.find('\0'); nul != std::string::npos) kind.resize(nul);
      return std::optional<std::string>(kind);
    }
    position += NLA_ALIGN(attribute.nla_len);
  }
  return Status(EPROTO, "qdisc in the ingress slot of " + device_text(ifindex) + " has no TCA_KIND");
}

}  // namespace

std::vector<uint8_t> encode_clsact_request(uint16_t message_type, uint32_t ifindex) {
  alignas(4) std::array<uint8_t, 128> buffer{};
  nlmsghdr* header = mnl_nlmsg_put_header(buffer.data());
  header->nlmsg_type = message_type;
  header->nlmsg_flags = NLM_F_REQUEST;
  if (message_type == RTM_NEWQDISC) header->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
  auto* tc = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(header, sizeof(tcmsg)));
  tc->tcm_family = AF_UNSPEC;
  tc->tcm_ifindex = static_cast<int>(ifindex);
  tc->tcm_parent = TC_H_CLSACT;
  tc->tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
  mnl_attr_put_strz(header, TCA_KIND, kClsactKind);
  return std::vector<uint8_t>(buffer.data(), buffer.data() + header->nlmsg_len);
}

Result<std::string> ingress_qdisc_kind(TcNetlinkSession& session, uint32_t ifindex) {
  auto messages = session.dump(encode_qdisc_dump_request(ifindex));
  if (!messages) return messages.status().with_context("listing the qdiscs of " + device_text(ifindex));
  for (const std::vector<uint8_t>& message : *messages) {
    auto kind = ingress_kind_of(message, ifindex);
    if (!kind) return kind.status();
    if (kind->has_value()) return **kind;
  }
  return std::string();
}

Result<bool> has_clsact(TcNetlinkSession& session, uint32_t ifindex) {
  auto kind = ingress_qdisc_kind(session, ifindex);
  if (!kind) return kind.status();
  return *kind == kClsactKind;
}

Status ensure_clsact(TcNetlinkSession& session, uint32_t ifindex) {
  auto kind = ingress_qdisc_kind(session, ifindex);
  if (!kind) return kind.status();
  if (*kind == kClsactKind) return Status::ok();
  if (!kind->empty()) {
    return Status(EEXIST, "cannot add clsact on " + device_text(ifindex) + ": its ingress slot holds an `" +
                              *kind + "` qdisc (delete it first: tc qdisc del dev DEV " + *kind + ")");
  }
  TcRequestOutcome outcome = session.transact_one(encode_clsact_request(RTM_NEWQDISC, ifindex));
  if (outcome.error == 0 && !outcome.lost) return Status::ok();
  // Someone created it meanwhile, or our answer was lost: look again.
  if (outcome.lost || outcome.error == EEXIST) {
    auto now = has_clsact(session, ifindex);
    if (now && *now) return Status::ok();
  }
  if (outcome.lost) {
    return Status(EIO, "adding clsact on " + device_text(ifindex) + ": " + outcome.lost_reason);
  }
  return Status(outcome.error, "cannot add clsact on " + device_text(ifindex) + ": " +
                                   tc_netlink_error_text(outcome.error, outcome.extack));
}

Status delete_clsact(TcNetlinkSession& session, uint32_t ifindex) {
  auto kind = ingress_qdisc_kind(session, ifindex);
  if (!kind) return kind.status();
  if (kind->empty()) return Status::ok();
  if (*kind != kClsactKind) {
    return Status(EEXIST, "not deleting the `" + *kind + "` qdisc in the ingress slot of " +
                              device_text(ifindex) + ": flowlift only deletes clsact");
  }
  TcRequestOutcome outcome = session.transact_one(encode_clsact_request(RTM_DELQDISC, ifindex));
  if (outcome.error == 0 && !outcome.lost) return Status::ok();
  auto now = has_clsact(session, ifindex);
  if (now && !*now) return Status::ok();
  if (outcome.lost) {
    return Status(EIO, "deleting clsact on " + device_text(ifindex) + ": " + outcome.lost_reason);
  }
  return Status(outcome.error, "cannot delete clsact on " + device_text(ifindex) + ": " +
                                   tc_netlink_error_text(outcome.error, outcome.extack));
}

}  // namespace flowlift
