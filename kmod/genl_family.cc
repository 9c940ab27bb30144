// genl_family: CTRL_CMD_GETFAMILY request, strict reply parser, and the
// exchange over a private NETLINK_GENERIC socket.
#include "kmod/genl_family.h"

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>

#include "kmod/netlink_attr.h"

namespace flowlift {
namespace {

Status malformed(std::string_view family_name, const std::string& what) {
  return Status(EPROTO,
                "generic netlink controller's reply for family " + std::string(family_name) + ": " + what);
}

// A NUL-terminated string payload, as nla_put_string writes it.
Result<std::string> read_string(const Attribute& attribute, std::string_view family_name,
                                const std::string& attribute_name) {
  if (attribute.payload.empty() || attribute.payload.back() != 0) {
    return malformed(family_name, attribute_name + " is not a NUL-terminated string");
  }
  return std::string(reinterpret_cast<const char*>(attribute.payload.data()));
}

Result<uint32_t> read_u32(const Attribute& attribute, std::string_view family_name,
                          const std::string& attribute_name) {
  if (Status s = check_payload_length(attribute, sizeof(uint32_t), attribute_name); !s) {
    return malformed(family_name, s.message());
  }
  return attribute.as<uint32_t>();
}

Status read_u32_into(const Attribute& attribute, std::string_view family_name,
                     const std::string& attribute_name, uint32_t& field) {
  Result<uint32_t> value = read_u32(attribute, family_name, attribute_name);
  if (!value) return value.status();
  field = *value;
  return Status::ok();
}

// CTRL_ATTR_MCAST_GROUPS: nests numbered 1, 2, ..., each holding
// CTRL_ATTR_MCAST_GRP_NAME and CTRL_ATTR_MCAST_GRP_ID.
Status read_multicast_groups(const Attribute& groups, std::string_view family_name,
                             std::vector<GenlMulticastGroup>& out) {
  return for_each_attribute(groups.payload, "CTRL_ATTR_MCAST_GROUPS", [&](const Attribute& entry) -> Status {
    GenlMulticastGroup group;
    bool has_name = false;
    bool has_id = false;
    Status walked =
        for_each_attribute(entry.payload, "CTRL_ATTR_MCAST_GROUPS entry", [&](const Attribute& field) {
          if (field.type == CTRL_ATTR_MCAST_GRP_NAME) {
            Result<std::string> name = read_string(field, family_name, "CTRL_ATTR_MCAST_GRP_NAME");
            if (!name) return name.status();
            group.name = std::move(*name);
            has_name = true;
          } else if (field.type == CTRL_ATTR_MCAST_GRP_ID) {
            Result<uint32_t> id = read_u32(field, family_name, "CTRL_ATTR_MCAST_GRP_ID");
            if (!id) return id.status();
            group.id = *id;
            has_id = true;
          }
          return Status::ok();
        });
    if (!walked) return walked.code() == EPROTO ? walked : malformed(family_name, walked.message());
    if (!has_name || !has_id) {
      return malformed(family_name, "multicast group entry " + std::to_string(entry.type) + " lacks " +
                                        (has_name ? "CTRL_ATTR_MCAST_GRP_ID" : "CTRL_ATTR_MCAST_GRP_NAME"));
    }
    out.push_back(std::move(group));
    return Status::ok();
  });
}

Status no_such_family(std::string_view family_name) {
  std::string message = "no generic netlink family " + std::string(family_name) +
                        " in this kernel: the module that registers it is not loaded and could not be loaded";
  if (family_name.starts_with("ovs_")) {
    message += " (ovs_* families come from Linux's openvswitch module: modprobe openvswitch)";
  }
  return Status(ENOENT, message);
}

struct MnlSocketCloser {
  void operator()(mnl_socket* socket) const { mnl_socket_close(socket); }
};

}  // namespace

std::optional<uint32_t> GenlFamily::multicast_group(std::string_view group_name) const {
  for (const GenlMulticastGroup& group : multicast_groups) {
    if (group.name == group_name) return group.id;
  }
  return std::nullopt;
}

std::vector<uint8_t> genl_family_request(std::string_view family_name, uint32_t sequence) {
  std::string name(family_name);
  std::vector<uint8_t> request(
      MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(genlmsghdr)) + MNL_ATTR_HDRLEN + MNL_ALIGN(name.size() + 1), 0);
  nlmsghdr* header = mnl_nlmsg_put_header(request.data());
  header->nlmsg_type = GENL_ID_CTRL;
  header->nlmsg_flags = NLM_F_REQUEST;
  header->nlmsg_seq = sequence;
  auto* genl = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(header, sizeof(genlmsghdr)));
  genl->cmd = CTRL_CMD_GETFAMILY;
  genl->version = 1;
  mnl_attr_put_strz(header, CTRL_ATTR_FAMILY_NAME, name.c_str());
  request.resize(header->nlmsg_len);
  return request;
}

Result<GenlFamily> parse_genl_family_reply(std::span<const uint8_t> reply, std::string_view family_name,
                                           uint32_t sequence) {
  if (reply.size() < sizeof(nlmsghdr)) {
    return malformed(family_name, "truncated: " + std::to_string(reply.size()) +
                                      " bytes, a netlink message header needs " +
                                      std::to_string(sizeof(nlmsghdr)));
  }
  nlmsghdr header;
  std::memcpy(&header, reply.data(), sizeof header);
  if (header.nlmsg_len < sizeof(nlmsghdr) || header.nlmsg_len > reply.size()) {
    return malformed(family_name, "nlmsg_len " + std::to_string(header.nlmsg_len) + " does not fit the " +
                                      std::to_string(reply.size()) + " bytes received");
  }
  if (header.nlmsg_seq != sequence) {
    return malformed(family_name, "sequence number " + std::to_string(header.nlmsg_seq) + ", expected " +
                                      std::to_string(sequence));
  }
  std::span<const uint8_t> payload = reply.subspan(sizeof(nlmsghdr), header.nlmsg_len - sizeof(nlmsghdr));

  if (header.nlmsg_type == NLMSG_ERROR) {
    if (payload.size() < sizeof(int32_t)) return malformed(family_name, "NLMSG_ERROR without its error code");
    int32_t error;
    std::memcpy(&error, payload.data(), sizeof error);
    if (error == 0) return malformed(family_name, "an acknowledgement instead of the family");
    // The kernel sends -errno, -4095 (MAX_ERRNO) to -1; anything else is not
    // an error code, and negating INT32_MIN would overflow.
    constexpr int32_t kMaxErrno = 4095;
    if (error > 0 || error < -kMaxErrno) {
      return malformed(family_name, "NLMSG_ERROR with " + std::to_string(error) + ", not a negative errno");
    }
    if (error == -ENOENT) return no_such_family(family_name);
    return Status(-error, "CTRL_CMD_GETFAMILY " + std::string(family_name) + ": " + std::strerror(-error));
  }
  if (header.nlmsg_type != GENL_ID_CTRL) {
    return malformed(family_name, "message type " + std::to_string(header.nlmsg_type) +
                                      ", expected GENL_ID_CTRL (" + std::to_string(GENL_ID_CTRL) + ")");
  }
  if (payload.size() < sizeof(genlmsghdr)) return malformed(family_name, "truncated generic netlink header");
  genlmsghdr genl;
  std::memcpy(&genl, payload.data(), sizeof genl);
  if (genl.cmd != CTRL_CMD_NEWFAMILY) {
    return malformed(family_name, "command " + std::to_string(genl.cmd) + ", expected CTRL_CMD_NEWFAMILY (" +
                                      std::to_string(CTRL_CMD_NEWFAMILY) + ")");
  }

  // Attribute headers are read through libmnl: give them 4-byte alignment.
  size_t attributes_offset = std::min<size_t>(MNL_ALIGN(sizeof(genlmsghdr)), payload.size());
  AlignedBytes attributes(payload.subspan(attributes_offset));
  GenlFamily family;
  bool has_id = false;
  bool has_name = false;
  Status walked =
      for_each_attribute(attributes.span(), "CTRL_CMD_NEWFAMILY", [&](const Attribute& attribute) {
        switch (attribute.type) {
          case CTRL_ATTR_FAMILY_ID: {
            if (Status s = check_payload_length(attribute, sizeof(uint16_t), "CTRL_ATTR_FAMILY_ID"); !s) {
              return malformed(family_name, s.message());
            }
            family.id = attribute.as<uint16_t>();
            has_id = true;
            return Status::ok();
          }
          case CTRL_ATTR_FAMILY_NAME: {
            Result<std::string> name = read_string(attribute, family_name, "CTRL_ATTR_FAMILY_NAME");
            if (!name) return name.status();
            family.name = std::move(*name);
            has_name = true;
            return Status::ok();
          }
          case CTRL_ATTR_VERSION:
            return read_u32_into(attribute, family_name, "CTRL_ATTR_VERSION", family.version);
          case CTRL_ATTR_HDRSIZE:
            return read_u32_into(attribute, family_name, "CTRL_ATTR_HDRSIZE", family.header_size);
          case CTRL_ATTR_MAXATTR:
            return read_u32_into(attribute, family_name, "CTRL_ATTR_MAXATTR", family.max_attribute);
          case CTRL_ATTR_MCAST_GROUPS:
            return read_multicast_groups(attribute, family_name, family.multicast_groups);
          default:  // CTRL_ATTR_OPS, CTRL_ATTR_POLICY, ...: not needed to address the family
            return Status::ok();
        }
      });
  if (!walked) return walked.code() == EPROTO ? walked : malformed(family_name, walked.message());
  if (!has_id) return malformed(family_name, "no CTRL_ATTR_FAMILY_ID");
  if (!has_name || family.name != family_name) {
    return malformed(family_name, "it describes family '" + family.name + "'");
  }
  return family;
}

Result<GenlFamily> resolve_genl_family(std::string_view family_name) {
  std::unique_ptr<mnl_socket, MnlSocketCloser> socket(mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC));
  if (!socket)
    return Status(errno, std::string("cannot open a NETLINK_GENERIC socket: ") + std::strerror(errno));
  if (mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return Status(errno, std::string("cannot bind a NETLINK_GENERIC socket: ") + std::strerror(errno));
  }
  constexpr uint32_t kSequence = 1;
  std::vector<uint8_t> request = genl_family_request(family_name, kSequence);
  if (mnl_socket_sendto(socket.get(), request.data(), request.size()) < 0) {
    return Status(errno,
                  "CTRL_CMD_GETFAMILY " + std::string(family_name) + ": send: " + std::strerror(errno));
  }
  // The reply lists every operation of the family: 64 KiB holds the largest
  // (nl80211's) with room to spare; libmnl reports a truncated datagram as ENOSPC.
  std::vector<uint8_t> buffer(64 * 1024);
  ssize_t received = mnl_socket_recvfrom(socket.get(), buffer.data(), buffer.size());
  if (received < 0) {
    return Status(errno,
                  "CTRL_CMD_GETFAMILY " + std::string(family_name) + ": receive: " + std::strerror(errno));
  }
  return parse_genl_family_reply(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(received)),
                                 family_name, kSequence);
}

}  // namespace flowlift
