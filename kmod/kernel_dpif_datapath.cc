// kernel_dpif_datapath: OVS_DP_CMD_* payloads and replies.
#include "kmod/kernel_dpif_datapath.h"

#include <cstring>

#include "kmod/kernel_dpif_families.h"
#include "kmod/netlink_attr.h"

namespace flowlift {
namespace {

void put_name(AttributeWriter& writer, std::string_view name) {
  std::string text(name);
  writer.put(OVS_DP_ATTR_NAME, text.c_str(), text.size() + 1);  // NLA_NUL_STRING
}

void put_features_and_pids(AttributeWriter& writer, const KernelDatapathCreate& create) {
  writer.put_u32(OVS_DP_ATTR_UPCALL_PID, create.upcall_pid);
  writer.put_u32(OVS_DP_ATTR_USER_FEATURES, create.user_features);
  if ((create.user_features & OVS_DP_F_DISPATCH_UPCALL_PER_CPU) && !create.per_cpu_pids.empty()) {
    writer.put(OVS_DP_ATTR_PER_CPU_PIDS, create.per_cpu_pids.data(),
               create.per_cpu_pids.size() * sizeof(uint32_t));
  }
}

Status length_error(const char* name, size_t got, size_t expected) {
  return Status(EPROTO, std::string("datapath reply: ") + name + " has length " + std::to_string(got) +
                            ", expected " + std::to_string(expected));
}

}  // namespace

std::vector<uint8_t> build_datapath_with_features(const KernelDatapathCreate& create) {
  AttributeWriter writer;
  put_name(writer, create.name);
  put_features_and_pids(writer, create);
  return ovs_message_payload(0, writer.bytes());
}

std::vector<uint8_t> build_datapath_by_name(std::string_view name) {
  AttributeWriter writer;
  put_name(writer, name);
  return ovs_message_payload(0, writer.bytes());
}

Result<KernelDatapathInfo> parse_datapath_reply(std::span<const uint8_t> payload) {
  auto body = split_ovs_message_payload(payload, "datapath reply");
  if (!body) return body.status();
  KernelDatapathInfo info;
  info.dp_ifindex = body->dp_ifindex;
  bool has_name = false, has_stats = false;
  AlignedBytes bytes(body->attributes);
  Status status =
      for_each_attribute(bytes.span(), "datapath reply", [&](const Attribute& attribute) -> Status {
        switch (attribute.type) {
          case OVS_DP_ATTR_NAME:
            info.name = attribute_string(attribute.payload);
            has_name = !info.name.empty();
            break;
          case OVS_DP_ATTR_STATS: {
            if (attribute.length() != sizeof(ovs_dp_stats))
              return length_error("OVS_DP_ATTR_STATS", attribute.length(), sizeof(ovs_dp_stats));
            auto stats = attribute.as<ovs_dp_stats>();
            info.hit = stats.n_hit;
            info.missed = stats.n_missed;
            info.lost = stats.n_lost;
            info.flows = stats.n_flows;
            has_stats = true;
            break;
          }
          case OVS_DP_ATTR_MEGAFLOW_STATS: {
            if (attribute.length() != sizeof(ovs_dp_megaflow_stats))
              return length_error("OVS_DP_ATTR_MEGAFLOW_STATS", attribute.length(),
                                  sizeof(ovs_dp_megaflow_stats));
            auto stats = attribute.as<ovs_dp_megaflow_stats>();
            info.has_megaflow_stats = true;
            info.mask_hit = stats.n_mask_hit;
            info.masks = stats.n_masks;
            info.cache_hit = stats.n_cache_hit;
            break;
          }
          case OVS_DP_ATTR_USER_FEATURES:
            if (attribute.length() != 4)
              return length_error("OVS_DP_ATTR_USER_FEATURES", attribute.length(), 4);
            info.user_features = attribute.as<uint32_t>();
            break;
          default:
            break;  // PAD, MASKS_CACHE_SIZE, PER_CPU_PIDS, IFINDEX and newer ones
        }
        return Status::ok();
      });
  if (!status) return Status(EPROTO, status.message());
  if (!has_name) return Status(EPROTO, "datapath reply: no OVS_DP_ATTR_NAME");
  if (!has_stats) return Status(EPROTO, "datapath reply: no OVS_DP_ATTR_STATS");
  return info;
}

}  // namespace flowlift
