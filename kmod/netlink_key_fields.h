// netlink_key_fields: the payload of one OVS_KEY_ATTR_* attribute and the
// FlowKey fields it carries, shared by the key/mask codec and the SET
// actions codec. Lengths follow the kernel's ovs_key_lens; payload layouts
// the uapi structs (ovs_key_ipv4, ...), with ICMP type and code widened to
// FlowKey's htons(type)/htons(code).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "flowlift/flow_key.h"
#include "kmod/netlink_attr.h"

namespace flowlift {

// The payload length ovs_key_lens expects for a key attribute type
// (kNestedLength / kVariableLength), or 0 for a type with no entry.
int key_attribute_length(uint16_t type);

// Whether the attribute maps onto FlowKey fields one to one (all fixed-size
// attributes plus MPLS); TUNNEL, ENCAP, NSH, ... do not.
bool key_attribute_has_fields(uint16_t type);

// Serialises the fields of one attribute; for MPLS, `mpls_labels` entries
// (clamped to 1..3).
std::vector<uint8_t> key_attribute_payload(uint16_t type, const FlowKey& fields, int mpls_labels = 1);

// Copies a payload whose length was checked into the attribute's fields of
// `fields`; for MPLS it also stores the number of entries in mpls_depth.
void key_attribute_to_fields(uint16_t type, std::span<const uint8_t> payload, FlowKey& fields);

}  // namespace flowlift
