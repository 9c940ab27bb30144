// tc_filter_codec: TcFlowerRule <-> RTM_*TFILTER bytes (see the header for
// the model's conventions on the wire). Requests are written with libmnl;
// replies are walked by a small bounds-checked attribute reader of our own,
// so that every error can say which attribute was wrong and how, and so that
// nothing is read past the end of a (possibly hostile, fuzzed) buffer.
//
// The shapes follow what the kernel's cls_flower and act_* modules expect
// and dump (net/sched/cls_flower.c fl_set_key / fl_dump_key, act_*.c
// *_init / *_dump), cross-checked against iproute2's tc/f_flower.c and
// m_*.c and Open vSwitch 3.1's lib/tc.c.
#include "offload/tc_filter_codec.h"

#include <libmnl/libmnl.h>
#include <linux/gen_stats.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_csum.h>
#include <linux/tc_act/tc_gact.h>
#include <linux/tc_act/tc_mirred.h>
#include <linux/tc_act/tc_mpls.h>
#include <linux/tc_act/tc_pedit.h>
#include <linux/tc_act/tc_tunnel_key.h>
#include <linux/tc_act/tc_vlan.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace flowlift {
namespace {

// TCA_TUNNEL_KEY_NO_FRAG arrived in Linux 6.3, after the uapi headers this
// project builds against; it follows TCA_TUNNEL_KEY_ENC_TTL in the enum.
constexpr uint16_t kTunnelKeyNoFragAttribute = TCA_TUNNEL_KEY_ENC_TTL + 1;

constexpr Be16 kVlanTpid8021Q = __builtin_bswap16(0x8100);  // network order on this little-endian ABI
constexpr Be16 kVlanTpid8021AD = __builtin_bswap16(0x88a8);
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "Be16/Be32 constants above assume little-endian hosts");

bool is_vlan_tpid(Be16 ethertype) { return ethertype == kVlanTpid8021Q || ethertype == kVlanTpid8021AD; }

// ---- Names of flower attributes, for error messages ----
// Every TCA_FLOWER_* of the uapi enum (pkt_cls.h), so that an error names
// the attribute as the kernel and iproute2 sources do.

struct TcFlowerAttributeName {
  uint16_t attribute;
  std::string_view name;
};
#define FLOWLIFT_TC_ATTRIBUTE_NAME(attribute) \
  TcFlowerAttributeName { attribute, #attribute }
constexpr TcFlowerAttributeName kTcFlowerAttributeNames[] = {
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_CLASSID),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_INDEV),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_ACT),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ETH_DST),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ETH_DST_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ETH_SRC),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ETH_SRC_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ETH_TYPE),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_IP_PROTO),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_IPV4_SRC),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_IPV4_SRC_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_IPV4_DST),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_IPV4_DST_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_IPV6_SRC),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_IPV6_SRC_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_IPV6_DST),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_IPV6_DST_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_TCP_SRC),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_TCP_DST),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_UDP_SRC),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_UDP_DST),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_FLAGS),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_VLAN_ID),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_VLAN_PRIO),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_VLAN_ETH_TYPE),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_KEY_ID),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_IPV4_SRC),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_IPV4_SRC_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_IPV4_DST),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_IPV4_DST_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_IPV6_SRC),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_IPV6_SRC_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_IPV6_DST),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_IPV6_DST_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_TCP_SRC_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_TCP_DST_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_UDP_SRC_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_UDP_DST_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_SCTP_SRC_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_SCTP_DST_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_SCTP_SRC),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_SCTP_DST),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_UDP_SRC_PORT),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_UDP_SRC_PORT_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_UDP_DST_PORT),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_UDP_DST_PORT_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_FLAGS),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_FLAGS_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ICMPV4_CODE),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ICMPV4_CODE_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ICMPV4_TYPE),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ICMPV4_TYPE_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ICMPV6_CODE),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ICMPV6_CODE_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ICMPV6_TYPE),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ICMPV6_TYPE_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ARP_SIP),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ARP_SIP_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ARP_TIP),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ARP_TIP_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ARP_OP),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ARP_OP_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ARP_SHA),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ARP_SHA_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ARP_THA),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ARP_THA_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_MPLS_TTL),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_MPLS_BOS),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_MPLS_TC),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_MPLS_LABEL),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_TCP_FLAGS),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_TCP_FLAGS_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_IP_TOS),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_IP_TOS_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_IP_TTL),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_IP_TTL_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_CVLAN_ID),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_CVLAN_PRIO),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_CVLAN_ETH_TYPE),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_IP_TOS),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_IP_TOS_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_IP_TTL),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_IP_TTL_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_OPTS),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_ENC_OPTS_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_IN_HW_COUNT),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_PORT_SRC_MIN),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_PORT_SRC_MAX),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_PORT_DST_MIN),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_PORT_DST_MAX),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_CT_STATE),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_CT_STATE_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_CT_ZONE),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_CT_ZONE_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_CT_MARK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_CT_MARK_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_CT_LABELS),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_CT_LABELS_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_MPLS_OPTS),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_HASH),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_HASH_MASK),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_NUM_OF_VLANS),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_PPPOE_SID),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_PPP_PROTO),
    FLOWLIFT_TC_ATTRIBUTE_NAME(TCA_FLOWER_KEY_L2TPV3_SID),
};
#undef FLOWLIFT_TC_ATTRIBUTE_NAME

std::string flower_attribute_name(uint16_t attribute) {
  for (const TcFlowerAttributeName& entry : kTcFlowerAttributeNames)
    if (entry.attribute == attribute) return std::string(entry.name);
  return "TCA_FLOWER attribute " + std::to_string(attribute);
}

// ---- Encoding ----

// Room for one request: generous per key and per action, so that libmnl's
// unchecked puts can never run past the buffer (pedit keys are the only
// unbounded part, and are counted).
size_t request_capacity(const TcFlowerRule& rule) {
  size_t size = 512 + rule.match.keys.size() * 2 * (NLA_HDRLEN + 16);
  for (const TcAction& action : rule.actions) {
    size += 512;
    if (const auto* pedit = std::get_if<TcPeditAction>(&action))
      size += pedit->keys.size() * (sizeof(tc_pedit_key) + 4 * NLA_HDRLEN + 8);
  }
  return size;
}

nlmsghdr* put_tc_header(std::vector<uint8_t>& buffer, uint16_t type, uint16_t flags, uint32_t seq,
                        uint32_t ifindex, uint32_t handle, uint32_t parent, uint32_t info) {
  nlmsghdr* header = mnl_nlmsg_put_header(buffer.data());
  header->nlmsg_type = type;
  header->nlmsg_flags = flags;
  header->nlmsg_seq = seq;
  auto* tc = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(header, sizeof(tcmsg)));
  tc->tcm_family = AF_UNSPEC;
  tc->tcm_ifindex = static_cast<int>(ifindex);
  tc->tcm_handle = handle;
  tc->tcm_parent = parent;
  tc->tcm_info = info;
  return header;
}

// tcm_info of a filter: TC_H_MAKE(priority << 16, protocol); the protocol is
// the be16 ethertype as it sits in memory, as iproute2 and the kernel keep it.
uint32_t filter_info(const TcFlowerRule& rule) {
  return TC_H_MAKE(static_cast<uint32_t>(rule.priority) << 16, rule.protocol);
}

std::vector<uint8_t> finish(std::vector<uint8_t> buffer, const nlmsghdr* header) {
  buffer.resize(header->nlmsg_len);
  return buffer;
}

uint16_t host_u16_from_key(const TcFlowerKey& key) {
  return static_cast<uint16_t>(key.value[0] << 8 | key.value[1]);
}
uint32_t host_u32_from_key(const TcFlowerKey& key) {
  return static_cast<uint32_t>(key.value[0]) << 24 | static_cast<uint32_t>(key.value[1]) << 16 |
         static_cast<uint32_t>(key.value[2]) << 8 | key.value[3];
}

void put_flower_key(nlmsghdr* header, const TcFlowerKey& key) {
  const TcFlowerFieldInfo& info = tc_flower_field_info(key.field);
  switch (key.field) {
    case TcFlowerField::kVlanId:
    case TcFlowerField::kCvlanId:
      mnl_attr_put_u16(header, info.key_attribute, host_u16_from_key(key));
      return;
    case TcFlowerField::kMplsLabel:
      mnl_attr_put_u32(header, info.key_attribute, host_u32_from_key(key));
      return;
    default:
      break;
  }
  mnl_attr_put(header, info.key_attribute, info.width, key.value.data());
  if (info.mask_attribute != 0) mnl_attr_put(header, info.mask_attribute, info.width, key.mask.data());
}

bool is_vlan_field(TcFlowerField field) {
  switch (field) {
    case TcFlowerField::kVlanId:
    case TcFlowerField::kVlanPrio:
    case TcFlowerField::kVlanEthType:
    case TcFlowerField::kCvlanId:
    case TcFlowerField::kCvlanPrio:
    case TcFlowerField::kCvlanEthType:
      return true;
    default:
      return false;
  }
}

bool is_cvlan_field(TcFlowerField field) {
  return field == TcFlowerField::kCvlanId || field == TcFlowerField::kCvlanPrio ||
         field == TcFlowerField::kCvlanEthType;
}

// The match. For a VLAN rule TCA_FLOWER_KEY_ETH_TYPE carries the outer TPID
// (fl_set_key reads the VLAN keys only when it is one) and the innermost
// ethertype travels as TCA_FLOWER_KEY_VLAN_ETH_TYPE (or CVLAN_ for QinQ);
// a model that holds kEthType without the ethertype attribute after its
// innermost tag still gets it there, so no match is ever dropped.
void put_flower_match(nlmsghdr* header, const TcFlowerRule& rule) {
  const TcFlowerMatch& match = rule.match;
  bool vlan_rule = false, qinq_rule = false;
  for (const TcFlowerKey& key : match.keys) {
    vlan_rule |= is_vlan_field(key.field);
    qinq_rule |= is_cvlan_field(key.field);
  }
  if (!vlan_rule) {
    for (const TcFlowerKey& key : match.keys) put_flower_key(header, key);
    return;
  }
  mnl_attr_put(header, TCA_FLOWER_KEY_ETH_TYPE, sizeof(Be16), &rule.protocol);
  const TcFlowerField innermost = qinq_rule ? TcFlowerField::kCvlanEthType : TcFlowerField::kVlanEthType;
  for (const TcFlowerKey& key : match.keys) {
    if (key.field == TcFlowerField::kEthType) {
      if (match.find(innermost) == nullptr) {
        TcFlowerKey carried = key;
        carried.field = innermost;
        put_flower_key(header, carried);
      }
      continue;
    }
    put_flower_key(header, key);
  }
}

void put_gen(uint32_t& index, int& action_field, int action) {
  index = 0;  // the kernel picks the action's index
  action_field = action;
}

void put_mirred(nlmsghdr* header, const TcMirredAction& mirred) {
  tc_mirred parms{};
  put_gen(parms.index, parms.action, mirred.redirect ? TC_ACT_STOLEN : TC_ACT_PIPE);
  parms.eaction = mirred.redirect ? TCA_EGRESS_REDIR : TCA_EGRESS_MIRROR;
  parms.ifindex = mirred.ifindex;
  mnl_attr_put(header, TCA_MIRRED_PARMS, sizeof parms, &parms);
}

void put_vlan(nlmsghdr* header, int v_action, Be16 tpid, uint16_t vid, uint8_t prio) {
  tc_vlan parms{};
  put_gen(parms.index, parms.action, TC_ACT_PIPE);
  parms.v_action = v_action;
  mnl_attr_put(header, TCA_VLAN_PARMS, sizeof parms, &parms);
  if (v_action == TCA_VLAN_ACT_POP) return;
  mnl_attr_put_u16(header, TCA_VLAN_PUSH_VLAN_ID, vid);
  mnl_attr_put(header, TCA_VLAN_PUSH_VLAN_PROTOCOL, sizeof tpid, &tpid);
  mnl_attr_put_u8(header, TCA_VLAN_PUSH_VLAN_PRIORITY, prio);
}

// The LSE fields of a push or modify. TTL 0 is "unset" to act_mpls (its
// policy refuses 0), so it is only sent when set, as the kernel dumps it.
void put_mpls_lse(nlmsghdr* header, uint32_t label, uint8_t tc, uint8_t ttl, uint8_t bos) {
  mnl_attr_put_u32(header, TCA_MPLS_LABEL, label);
  mnl_attr_put_u8(header, TCA_MPLS_TC, tc);
  if (ttl != 0) mnl_attr_put_u8(header, TCA_MPLS_TTL, ttl);
  mnl_attr_put_u8(header, TCA_MPLS_BOS, bos);
}

void put_mpls_parms(nlmsghdr* header, int m_action) {
  tc_mpls parms{};
  put_gen(parms.index, parms.action, TC_ACT_PIPE);
  parms.m_action = m_action;
  mnl_attr_put(header, TCA_MPLS_PARMS, sizeof parms, &parms);
}

// act_pedit with extended keys: the selector and its keys in
// TCA_PEDIT_PARMS_EX, and one TCA_PEDIT_KEY_EX (header type, command SET)
// per key in TCA_PEDIT_KEYS_EX, in the same order.
void put_pedit(nlmsghdr* header, const TcPeditAction& pedit) {
  tc_pedit_sel parms{};
  put_gen(parms.index, parms.action, TC_ACT_PIPE);
  parms.nkeys = static_cast<unsigned char>(pedit.keys.size());
  std::vector<uint8_t> selector(sizeof(tc_pedit_sel) + pedit.keys.size() * sizeof(tc_pedit_key));
  std::memcpy(selector.data(), &parms, sizeof parms);
  for (size_t i = 0; i < pedit.keys.size(); ++i) {
    tc_pedit_key key{};
    key.mask = pedit.keys[i].mask;
    key.val = pedit.keys[i].value;
    key.off = pedit.keys[i].offset;
    std::memcpy(selector.data() + sizeof(tc_pedit_sel) + i * sizeof key, &key, sizeof key);
  }
  mnl_attr_put(header, TCA_PEDIT_PARMS_EX, selector.size(), selector.data());
  nlattr* keys_ex = mnl_attr_nest_start(header, TCA_PEDIT_KEYS_EX);
  for (const TcPeditKey& key : pedit.keys) {
    nlattr* key_ex = mnl_attr_nest_start(header, TCA_PEDIT_KEY_EX);
    mnl_attr_put_u16(header, TCA_PEDIT_KEY_EX_HTYPE, key.header);
    mnl_attr_put_u16(header, TCA_PEDIT_KEY_EX_CMD, TCA_PEDIT_KEY_EX_CMD_SET);
    mnl_attr_nest_end(header, key_ex);
  }
  mnl_attr_nest_end(header, keys_ex);
}

void put_csum(nlmsghdr* header, const TcCsumAction& csum) {
  tc_csum parms{};
  put_gen(parms.index, parms.action, TC_ACT_PIPE);
  parms.update_flags = csum.update_flags;
  mnl_attr_put(header, TCA_CSUM_PARMS, sizeof parms, &parms);
}

bool is_zero(const Ipv6Addr& address) {
  return std::all_of(address.begin(), address.end(), [](uint8_t byte) { return byte == 0; });
}

void put_tunnel_key_parms(nlmsghdr* header, int t_action) {
  tc_tunnel_key parms{};
  put_gen(parms.index, parms.action, TC_ACT_PIPE);
  parms.t_action = t_action;
  mnl_attr_put(header, TCA_TUNNEL_KEY_PARMS, sizeof parms, &parms);
}

void put_tunnel_key_set(nlmsghdr* header, const TcTunnelKeySetAction& set) {
  put_tunnel_key_parms(header, TCA_TUNNEL_KEY_ACT_SET);
  mnl_attr_put(header, TCA_TUNNEL_KEY_ENC_KEY_ID, sizeof set.key_id, &set.key_id);
  const bool ipv6 =
      set.ipv4_src == 0 && set.ipv4_dst == 0 && !(is_zero(set.ipv6_src) && is_zero(set.ipv6_dst));
  if (ipv6) {
    mnl_attr_put(header, TCA_TUNNEL_KEY_ENC_IPV6_SRC, set.ipv6_src.size(), set.ipv6_src.data());
    mnl_attr_put(header, TCA_TUNNEL_KEY_ENC_IPV6_DST, set.ipv6_dst.size(), set.ipv6_dst.data());
  } else {
    mnl_attr_put(header, TCA_TUNNEL_KEY_ENC_IPV4_SRC, sizeof set.ipv4_src, &set.ipv4_src);
    mnl_attr_put(header, TCA_TUNNEL_KEY_ENC_IPV4_DST, sizeof set.ipv4_dst, &set.ipv4_dst);
  }
  if (set.dst_port != 0)
    mnl_attr_put(header, TCA_TUNNEL_KEY_ENC_DST_PORT, sizeof set.dst_port, &set.dst_port);
  if (set.tos != 0) mnl_attr_put_u8(header, TCA_TUNNEL_KEY_ENC_TOS, set.tos);
  if (set.ttl != 0) mnl_attr_put_u8(header, TCA_TUNNEL_KEY_ENC_TTL, set.ttl);
  mnl_attr_put_u8(header, TCA_TUNNEL_KEY_NO_CSUM, set.checksum ? 0 : 1);
  if (set.dont_fragment) mnl_attr_put(header, kTunnelKeyNoFragAttribute, 0, nullptr);
}

void put_gact(nlmsghdr* header, int action) {
  tc_gact parms{};
  put_gen(parms.index, parms.action, action);
  mnl_attr_put(header, TCA_GACT_PARMS, sizeof parms, &parms);
}

// TCA_ACT_OPTIONS of one action.
struct TcActionOptionsWriter {
  nlmsghdr* header;
  void operator()(const TcMirredAction& a) const { put_mirred(header, a); }
  void operator()(const TcVlanPushAction& a) const {
    put_vlan(header, TCA_VLAN_ACT_PUSH, a.tpid, a.vid, a.prio);
  }
  void operator()(const TcVlanPopAction&) const { put_vlan(header, TCA_VLAN_ACT_POP, 0, 0, 0); }
  void operator()(const TcVlanModifyAction& a) const {
    put_vlan(header, TCA_VLAN_ACT_MODIFY, a.tpid, a.vid, a.prio);
  }
  void operator()(const TcMplsPushAction& a) const {
    put_mpls_parms(header, TCA_MPLS_ACT_PUSH);
    mnl_attr_put(header, TCA_MPLS_PROTO, sizeof a.ethertype, &a.ethertype);
    put_mpls_lse(header, a.label, a.tc, a.ttl, a.bos);
  }
  void operator()(const TcMplsPopAction& a) const {
    put_mpls_parms(header, TCA_MPLS_ACT_POP);
    mnl_attr_put(header, TCA_MPLS_PROTO, sizeof a.ethertype, &a.ethertype);
  }
  void operator()(const TcMplsModifyAction& a) const {
    put_mpls_parms(header, TCA_MPLS_ACT_MODIFY);
    put_mpls_lse(header, a.label, a.tc, a.ttl, a.bos);
  }
  void operator()(const TcPeditAction& a) const { put_pedit(header, a); }
  void operator()(const TcCsumAction& a) const { put_csum(header, a); }
  void operator()(const TcTunnelKeySetAction& a) const { put_tunnel_key_set(header, a); }
  void operator()(const TcTunnelKeyUnsetAction&) const {
    put_tunnel_key_parms(header, TCA_TUNNEL_KEY_ACT_RELEASE);
  }
  void operator()(const TcDropAction&) const { put_gact(header, TC_ACT_SHOT); }
  void operator()(const TcGotoChainAction& a) const {
    put_gact(header, static_cast<int>(TC_ACT_GOTO_CHAIN | (a.chain & TC_ACT_EXT_VAL_MASK)));
  }
};

// TCA_FLOWER_ACT: the actions at priorities 1..n, each with the UFID as its
// cookie (so that a dump, or a restart, finds which megaflow a filter carries).
void put_actions(nlmsghdr* header, const TcFlowerRule& rule) {
  nlattr* list = mnl_attr_nest_start(header, TCA_FLOWER_ACT);
  uint16_t priority = 1;
  for (const TcAction& action : rule.actions) {
    nlattr* entry = mnl_attr_nest_start(header, priority++);
    const std::string_view kind = tc_action_kind(action);
    mnl_attr_put_strz(header, TCA_ACT_KIND, std::string(kind).c_str());
    nlattr* options = mnl_attr_nest_start(header, TCA_ACT_OPTIONS);
    std::visit(TcActionOptionsWriter{header}, action);
    mnl_attr_nest_end(header, options);
    mnl_attr_put(header, TCA_ACT_COOKIE, rule.cookie.bytes.size(), rule.cookie.bytes.data());
    if (rule.actions_without_percpu_stats) {
      // nla_bitfield32: the bits set (value) and the bits this request
      // speaks for (selector); the kernel rejects bits it does not know.
      const nla_bitfield32 flags{TCA_ACT_FLAGS_NO_PERCPU_STATS, TCA_ACT_FLAGS_NO_PERCPU_STATS};
      mnl_attr_put(header, TCA_ACT_FLAGS, sizeof flags, &flags);
    }
    mnl_attr_nest_end(header, entry);
  }
  mnl_attr_nest_end(header, list);
}

uint32_t flower_flags(TcPolicy policy) {
  uint32_t flags = TCA_CLS_FLAGS_VERBOSE;  // so that the driver's extack text reaches us
  if (policy == TcPolicy::kSkipHw) flags |= TCA_CLS_FLAGS_SKIP_HW;
  if (policy == TcPolicy::kSkipSw) flags |= TCA_CLS_FLAGS_SKIP_SW;
  return flags;
}

void put_kind_and_chain(nlmsghdr* header, uint32_t chain) {
  mnl_attr_put_strz(header, TCA_KIND, "flower");
  mnl_attr_put_u32(header, TCA_CHAIN, chain);
}

}  // namespace

std::vector<uint8_t> encode_tc_filter_new(const TcFlowerRule& rule, TcFilterWrite write, uint32_t seq) {
  std::vector<uint8_t> buffer(request_capacity(rule));
  const uint16_t flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO | NLM_F_CREATE |
                         (write == TcFilterWrite::kCreate ? NLM_F_EXCL : NLM_F_REPLACE);
  nlmsghdr* header = put_tc_header(buffer, RTM_NEWTFILTER, flags, seq, rule.ifindex, rule.handle, rule.parent,
                                   filter_info(rule));
  put_kind_and_chain(header, rule.chain);
  nlattr* options = mnl_attr_nest_start(header, TCA_OPTIONS);
  mnl_attr_put_u32(header, TCA_FLOWER_FLAGS, flower_flags(rule.policy));
  put_flower_match(header, rule);
  put_actions(header, rule);
  mnl_attr_nest_end(header, options);
  return finish(std::move(buffer), header);
}

std::vector<uint8_t> encode_tc_filter_delete(const TcFlowerRule& rule, uint32_t seq) {
  std::vector<uint8_t> buffer(256);
  nlmsghdr* header = put_tc_header(buffer, RTM_DELTFILTER, NLM_F_REQUEST | NLM_F_ACK, seq, rule.ifindex,
                                   rule.handle, rule.parent, filter_info(rule));
  put_kind_and_chain(header, rule.chain);
  return finish(std::move(buffer), header);
}

std::vector<uint8_t> encode_tc_filter_get(const TcFlowerRule& rule, uint32_t seq) {
  std::vector<uint8_t> buffer(256);
  nlmsghdr* header = put_tc_header(buffer, RTM_GETTFILTER, NLM_F_REQUEST, seq, rule.ifindex, rule.handle,
                                   rule.parent, filter_info(rule));
  put_kind_and_chain(header, rule.chain);
  return finish(std::move(buffer), header);
}

std::vector<uint8_t> encode_tc_filter_dump(uint32_t ifindex, uint32_t parent, uint32_t seq) {
  std::vector<uint8_t> buffer(256);
  nlmsghdr* header =
      put_tc_header(buffer, RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP, seq, ifindex, 0, parent, 0);
  return finish(std::move(buffer), header);
}

// ---- Parsing ----

namespace {

// One attribute of a reply: its type (flags such as NLA_F_NESTED removed)
// and its payload, always inside the buffer it was read from.
struct TcNetlinkAttribute {
  uint16_t type;
  std::span<const uint8_t> payload;
};

// Walks the attributes in `bytes`, checking each header against what is
// left; `where` names the enclosing message or nest in errors.
template <typename Visit>
Status for_each_attribute(std::span<const uint8_t> bytes, std::string_view where, Visit visit) {
  size_t offset = 0;
  while (offset < bytes.size()) {
    const size_t left = bytes.size() - offset;
    if (left < NLA_HDRLEN) {
      return invalid_argument(std::string(where) + ": " + std::to_string(left) +
                              " trailing bytes, too few for an attribute header (4)");
    }
    nlattr header;
    std::memcpy(&header, bytes.data() + offset, sizeof header);
    const uint16_t type = header.nla_type & NLA_TYPE_MASK;
    if (header.nla_len < NLA_HDRLEN || header.nla_len > left) {
      return invalid_argument(std::string(where) + ": attribute " + std::to_string(type) + " has nla_len " +
                              std::to_string(header.nla_len) + " but " + std::to_string(left) +
                              " bytes remain");
    }
    if (Status status =
            visit(TcNetlinkAttribute{type, bytes.subspan(offset + NLA_HDRLEN, header.nla_len - NLA_HDRLEN)});
        !status) {
      return status;
    }
    offset += std::min<size_t>(NLA_ALIGN(header.nla_len), left);
  }
  return Status::ok();
}

Status wrong_size(std::string_view name, size_t got, size_t expected, bool at_least) {
  return invalid_argument(std::string(name) + ": " + std::to_string(got) + " bytes, expected " +
                          (at_least ? "at least " : "") + std::to_string(expected));
}

// Copies an attribute of exactly sizeof(T) bytes (memcpy: replies are not aligned for T).
template <typename T>
Status read_exact(const TcNetlinkAttribute& attribute, std::string_view name, T& out) {
  if (attribute.payload.size() != sizeof(T))
    return wrong_size(name, attribute.payload.size(), sizeof(T), false);
  std::memcpy(&out, attribute.payload.data(), sizeof(T));
  return Status::ok();
}

// Copies a kernel struct that newer kernels may extend at its end.
template <typename T>
Status read_struct(const TcNetlinkAttribute& attribute, std::string_view name, T& out) {
  if (attribute.payload.size() < sizeof(T))
    return wrong_size(name, attribute.payload.size(), sizeof(T), true);
  std::memcpy(&out, attribute.payload.data(), sizeof(T));
  return Status::ok();
}

std::string_view read_string(const TcNetlinkAttribute& attribute) {
  const auto* begin = reinterpret_cast<const char*>(attribute.payload.data());
  const size_t length = std::find(begin, begin + attribute.payload.size(), '\0') - begin;
  return std::string_view(begin, length);
}

Status not_modelled(std::string what) { return Status(EOPNOTSUPP, what + " is not modelled by flowlift"); }

// ---- The actions ----

// What one action adds to the filter besides itself.
struct TcActionExtras {
  std::optional<uint64_t> last_used_ticks_ago;  // struct tcf_t lastuse: clock_t ticks since last use
  TcFilterStats total, hardware;
  bool has_cookie = false;
  Ufid cookie;
  bool without_percpu_stats = false;  // TCA_ACT_FLAGS carried NO_PERCPU_STATS
};

Status read_action_times(const TcNetlinkAttribute& attribute, std::string_view name, TcActionExtras& extras) {
  tcf_t times{};
  if (Status status = read_struct(attribute, name, times); !status) return status;
  extras.last_used_ticks_ago = times.lastuse;
  return Status::ok();
}

// TCA_ACT_STATS. TCA_STATS_PKT64 widens the packet count of the
// gnet_stats_basic just before it (gnet_stats_copy_basic writes it right
// after the 32-bit one it replaces), for BASIC and BASIC_HW alike.
Status parse_action_stats(std::span<const uint8_t> bytes, TcActionExtras& extras) {
  TcFilterStats* last_basic = nullptr;
  return for_each_attribute(bytes, "TCA_ACT_STATS", [&](const TcNetlinkAttribute& attribute) -> Status {
    switch (attribute.type) {
      case TCA_STATS_BASIC:
      case TCA_STATS_BASIC_HW: {
        const bool hardware = attribute.type == TCA_STATS_BASIC_HW;
        // struct gnet_stats_basic: u64 bytes, u32 packets (16 bytes with its tail padding).
        constexpr size_t kBasicSize = sizeof(uint64_t) + sizeof(uint32_t);
        if (attribute.payload.size() < kBasicSize) {
          return wrong_size(hardware ? "TCA_STATS_BASIC_HW" : "TCA_STATS_BASIC", attribute.payload.size(),
                            kBasicSize, true);
        }
        TcFilterStats& stats = hardware ? extras.hardware : extras.total;
        uint32_t packets = 0;
        std::memcpy(&stats.bytes, attribute.payload.data(), sizeof(uint64_t));
        std::memcpy(&packets, attribute.payload.data() + sizeof(uint64_t), sizeof packets);
        stats.packets = packets;
        last_basic = &stats;
        return Status::ok();
      }
      case TCA_STATS_PKT64: {
        uint64_t packets = 0;
        if (Status status = read_exact(attribute, "TCA_STATS_PKT64", packets); !status) return status;
        if (last_basic != nullptr) last_basic->packets = packets;
        return Status::ok();
      }
      default:
        return Status::ok();  // queue, rate estimator, padding: not counters of ours
    }
  });
}

Result<TcAction> parse_mirred(std::span<const uint8_t> options, TcActionExtras& extras) {
  std::optional<tc_mirred> parms;
  Status status = for_each_attribute(options, "TCA_ACT_OPTIONS", [&](const TcNetlinkAttribute& a) -> Status {
    switch (a.type) {
      case TCA_MIRRED_PARMS:
        return read_struct(a, "TCA_MIRRED_PARMS", parms.emplace());
      case TCA_MIRRED_TM:
        return read_action_times(a, "TCA_MIRRED_TM", extras);
      case TCA_MIRRED_PAD:
        return Status::ok();
      default:
        return not_modelled("mirred attribute " + std::to_string(a.type));
    }
  });
  if (!status) return status;
  if (!parms) return invalid_argument("no TCA_MIRRED_PARMS");
  if (parms->eaction != TCA_EGRESS_REDIR && parms->eaction != TCA_EGRESS_MIRROR) {
    return not_modelled("mirred eaction " + std::to_string(parms->eaction) + " (ingress mirror or redirect)");
  }
  TcMirredAction mirred;
  mirred.ifindex = parms->ifindex;
  mirred.redirect = parms->eaction == TCA_EGRESS_REDIR;
  return TcAction{mirred};
}

Result<TcAction> parse_vlan(std::span<const uint8_t> options, TcActionExtras& extras) {
  std::optional<tc_vlan> parms;
  uint16_t vid = 0;
  Be16 tpid = kVlanTpid8021Q;  // act_vlan's default when the protocol is not given
  uint8_t prio = 0;
  Status status = for_each_attribute(options, "TCA_ACT_OPTIONS", [&](const TcNetlinkAttribute& a) -> Status {
    switch (a.type) {
      case TCA_VLAN_PARMS:
        return read_struct(a, "TCA_VLAN_PARMS", parms.emplace());
      case TCA_VLAN_TM:
        return read_action_times(a, "TCA_VLAN_TM", extras);
      case TCA_VLAN_PAD:
        return Status::ok();
      case TCA_VLAN_PUSH_VLAN_ID:
        return read_exact(a, "TCA_VLAN_PUSH_VLAN_ID", vid);
      case TCA_VLAN_PUSH_VLAN_PROTOCOL:
        return read_exact(a, "TCA_VLAN_PUSH_VLAN_PROTOCOL", tpid);
      case TCA_VLAN_PUSH_VLAN_PRIORITY:
        return read_exact(a, "TCA_VLAN_PUSH_VLAN_PRIORITY", prio);
      default:
        return not_modelled("vlan attribute " + std::to_string(a.type));
    }
  });
  if (!status) return status;
  if (!parms) return invalid_argument("no TCA_VLAN_PARMS");
  switch (parms->v_action) {
    case TCA_VLAN_ACT_POP:
      return TcAction{TcVlanPopAction{}};
    case TCA_VLAN_ACT_PUSH:
      return TcAction{TcVlanPushAction{tpid, vid, prio}};
    case TCA_VLAN_ACT_MODIFY:
      return TcAction{TcVlanModifyAction{tpid, vid, prio}};
    default:
      return not_modelled("vlan v_action " + std::to_string(parms->v_action));
  }
}

Result<TcAction> parse_mpls(std::span<const uint8_t> options, TcActionExtras& extras) {
  std::optional<tc_mpls> parms;
  Be16 ethertype = 0;
  uint32_t label = 0;
  uint8_t tc = 0, ttl = 0, bos = 0;
  Status status = for_each_attribute(options, "TCA_ACT_OPTIONS", [&](const TcNetlinkAttribute& a) -> Status {
    switch (a.type) {
      case TCA_MPLS_PARMS:
        return read_struct(a, "TCA_MPLS_PARMS", parms.emplace());
      case TCA_MPLS_TM:
        return read_action_times(a, "TCA_MPLS_TM", extras);
      case TCA_MPLS_PAD:
        return Status::ok();
      case TCA_MPLS_PROTO:
        return read_exact(a, "TCA_MPLS_PROTO", ethertype);
      case TCA_MPLS_LABEL:
        return read_exact(a, "TCA_MPLS_LABEL", label);
      case TCA_MPLS_TC:
        return read_exact(a, "TCA_MPLS_TC", tc);
      case TCA_MPLS_TTL:
        return read_exact(a, "TCA_MPLS_TTL", ttl);
      case TCA_MPLS_BOS:
        return read_exact(a, "TCA_MPLS_BOS", bos);
      default:
        return not_modelled("mpls attribute " + std::to_string(a.type));
    }
  });
  if (!status) return status;
  if (!parms) return invalid_argument("no TCA_MPLS_PARMS");
  switch (parms->m_action) {
    case TCA_MPLS_ACT_POP:
      return TcAction{TcMplsPopAction{ethertype}};
    case TCA_MPLS_ACT_PUSH:
      return TcAction{TcMplsPushAction{ethertype, label, tc, ttl, bos}};
    case TCA_MPLS_ACT_MODIFY:
      return TcAction{TcMplsModifyAction{label, tc, ttl, bos}};
    default:
      return not_modelled("mpls m_action " + std::to_string(parms->m_action));
  }
}

// TCA_PEDIT_KEYS_EX: one (header type, command) per key, in key order.
Status parse_pedit_keys_ex(std::span<const uint8_t> bytes, std::vector<TcPeditKey>& keys) {
  size_t index = 0;
  return for_each_attribute(bytes, "TCA_PEDIT_KEYS_EX", [&](const TcNetlinkAttribute& entry) -> Status {
    if (entry.type != TCA_PEDIT_KEY_EX)
      return invalid_argument("TCA_PEDIT_KEYS_EX: attribute " + std::to_string(entry.type) +
                              " is not TCA_PEDIT_KEY_EX");
    if (index >= keys.size()) {
      return invalid_argument("TCA_PEDIT_KEYS_EX: more extended keys than the selector's nkeys " +
                              std::to_string(keys.size()));
    }
    TcPeditKey& key = keys[index++];
    uint16_t command = TCA_PEDIT_KEY_EX_CMD_SET;
    Status status =
        for_each_attribute(entry.payload, "TCA_PEDIT_KEY_EX", [&](const TcNetlinkAttribute& a) -> Status {
          if (a.type == TCA_PEDIT_KEY_EX_HTYPE) return read_exact(a, "TCA_PEDIT_KEY_EX_HTYPE", key.header);
          if (a.type == TCA_PEDIT_KEY_EX_CMD) return read_exact(a, "TCA_PEDIT_KEY_EX_CMD", command);
          return not_modelled("pedit extended key attribute " + std::to_string(a.type));
        });
    if (!status) return status;
    if (command != TCA_PEDIT_KEY_EX_CMD_SET)
      return not_modelled("pedit command " + std::to_string(command) + " (add)");
    return Status::ok();
  });
}

Result<TcAction> parse_pedit(std::span<const uint8_t> options, TcActionExtras& extras) {
  std::optional<std::span<const uint8_t>> selector, keys_ex;
  bool extended = false;
  Status status = for_each_attribute(options, "TCA_ACT_OPTIONS", [&](const TcNetlinkAttribute& a) -> Status {
    switch (a.type) {
      case TCA_PEDIT_PARMS:
      case TCA_PEDIT_PARMS_EX:
        selector = a.payload;
        extended = a.type == TCA_PEDIT_PARMS_EX;
        return Status::ok();
      case TCA_PEDIT_KEYS_EX:
        keys_ex = a.payload;
        return Status::ok();
      case TCA_PEDIT_TM:
        return read_action_times(a, "TCA_PEDIT_TM", extras);
      case TCA_PEDIT_PAD:
        return Status::ok();
      default:
        return not_modelled("pedit attribute " + std::to_string(a.type));
    }
  });
  if (!status) return status;
  if (!selector) return invalid_argument("no TCA_PEDIT_PARMS_EX");
  const char* selector_name = extended ? "TCA_PEDIT_PARMS_EX" : "TCA_PEDIT_PARMS";
  if (selector->size() < sizeof(tc_pedit_sel))
    return wrong_size(selector_name, selector->size(), sizeof(tc_pedit_sel), true);
  tc_pedit_sel parms{};
  std::memcpy(&parms, selector->data(), sizeof parms);
  const size_t needed = sizeof(tc_pedit_sel) + size_t{parms.nkeys} * sizeof(tc_pedit_key);
  if (selector->size() < needed) {
    return invalid_argument(std::string(selector_name) + ": " + std::to_string(selector->size()) +
                            " bytes, " + std::to_string(needed) + " needed for its " +
                            std::to_string(parms.nkeys) + " keys");
  }
  TcPeditAction pedit;
  pedit.keys.resize(parms.nkeys);
  for (size_t i = 0; i < parms.nkeys; ++i) {
    tc_pedit_key key{};
    std::memcpy(&key, selector->data() + sizeof(tc_pedit_sel) + i * sizeof key, sizeof key);
    if (key.at != 0 || key.offmask != 0 || key.shift != 0) {
      return not_modelled("pedit key " + std::to_string(i) + " with an indirect offset (at/offmask/shift)");
    }
    pedit.keys[i].offset = key.off;
    pedit.keys[i].value = key.val;
    pedit.keys[i].mask = key.mask;
    pedit.keys[i].header = TCA_PEDIT_KEY_EX_HDR_TYPE_NETWORK;
  }
  if (keys_ex) {
    if (Status keys_status = parse_pedit_keys_ex(*keys_ex, pedit.keys); !keys_status) return keys_status;
  } else if (extended) {
    return invalid_argument("TCA_PEDIT_PARMS_EX without TCA_PEDIT_KEYS_EX");
  }
  return TcAction{std::move(pedit)};
}

Result<TcAction> parse_csum(std::span<const uint8_t> options, TcActionExtras& extras) {
  std::optional<tc_csum> parms;
  Status status = for_each_attribute(options, "TCA_ACT_OPTIONS", [&](const TcNetlinkAttribute& a) -> Status {
    switch (a.type) {
      case TCA_CSUM_PARMS:
        return read_struct(a, "TCA_CSUM_PARMS", parms.emplace());
      case TCA_CSUM_TM:
        return read_action_times(a, "TCA_CSUM_TM", extras);
      case TCA_CSUM_PAD:
        return Status::ok();
      default:
        return not_modelled("csum attribute " + std::to_string(a.type));
    }
  });
  if (!status) return status;
  if (!parms) return invalid_argument("no TCA_CSUM_PARMS");
  return TcAction{TcCsumAction{parms->update_flags}};
}

Result<TcAction> parse_tunnel_key(std::span<const uint8_t> options, TcActionExtras& extras) {
  std::optional<tc_tunnel_key> parms;
  TcTunnelKeySetAction set;
  uint8_t no_checksum = 0;
  Status status = for_each_attribute(options, "TCA_ACT_OPTIONS", [&](const TcNetlinkAttribute& a) -> Status {
    switch (a.type) {
      case TCA_TUNNEL_KEY_PARMS:
        return read_struct(a, "TCA_TUNNEL_KEY_PARMS", parms.emplace());
      case TCA_TUNNEL_KEY_TM:
        return read_action_times(a, "TCA_TUNNEL_KEY_TM", extras);
      case TCA_TUNNEL_KEY_PAD:
        return Status::ok();
      case TCA_TUNNEL_KEY_ENC_KEY_ID:
        return read_exact(a, "TCA_TUNNEL_KEY_ENC_KEY_ID", set.key_id);
      case TCA_TUNNEL_KEY_ENC_IPV4_SRC:
        return read_exact(a, "TCA_TUNNEL_KEY_ENC_IPV4_SRC", set.ipv4_src);
      case TCA_TUNNEL_KEY_ENC_IPV4_DST:
        return read_exact(a, "TCA_TUNNEL_KEY_ENC_IPV4_DST", set.ipv4_dst);
      case TCA_TUNNEL_KEY_ENC_IPV6_SRC:
        return read_exact(a, "TCA_TUNNEL_KEY_ENC_IPV6_SRC", set.ipv6_src);
      case TCA_TUNNEL_KEY_ENC_IPV6_DST:
        return read_exact(a, "TCA_TUNNEL_KEY_ENC_IPV6_DST", set.ipv6_dst);
      case TCA_TUNNEL_KEY_ENC_DST_PORT:
        return read_exact(a, "TCA_TUNNEL_KEY_ENC_DST_PORT", set.dst_port);
      case TCA_TUNNEL_KEY_ENC_TOS:
        return read_exact(a, "TCA_TUNNEL_KEY_ENC_TOS", set.tos);
      case TCA_TUNNEL_KEY_ENC_TTL:
        return read_exact(a, "TCA_TUNNEL_KEY_ENC_TTL", set.ttl);
      case TCA_TUNNEL_KEY_NO_CSUM:
        return read_exact(a, "TCA_TUNNEL_KEY_NO_CSUM", no_checksum);
      case kTunnelKeyNoFragAttribute:
        set.dont_fragment = true;
        return a.payload.empty() ? Status::ok()
                                 : wrong_size("TCA_TUNNEL_KEY_NO_FRAG", a.payload.size(), 0, false);
      case TCA_TUNNEL_KEY_ENC_OPTS:
        return not_modelled("tunnel_key TCA_TUNNEL_KEY_ENC_OPTS (Geneve/VXLAN/ERSPAN options)");
      default:
        return not_modelled("tunnel_key attribute " + std::to_string(a.type));
    }
  });
  if (!status) return status;
  if (!parms) return invalid_argument("no TCA_TUNNEL_KEY_PARMS");
  switch (parms->t_action) {
    case TCA_TUNNEL_KEY_ACT_SET:
      set.checksum = no_checksum == 0;  // act_tunnel_key keeps TUNNEL_CSUM unless NO_CSUM says otherwise
      // One tunnel has one address family: the kernel keeps one pair and
      // the encoder writes one, so a message with both is not a filter we
      // could reproduce.
      if ((set.ipv4_src != 0 || set.ipv4_dst != 0) && !(is_zero(set.ipv6_src) && is_zero(set.ipv6_dst)))
        return invalid_argument("tunnel_key set carries both IPv4 and IPv6 addresses");
      return TcAction{set};
    case TCA_TUNNEL_KEY_ACT_RELEASE:
      return TcAction{TcTunnelKeyUnsetAction{}};
    default:
      return not_modelled("tunnel_key t_action " + std::to_string(parms->t_action));
  }
}

Result<TcAction> parse_gact(std::span<const uint8_t> options, TcActionExtras& extras) {
  std::optional<tc_gact> parms;
  Status status = for_each_attribute(options, "TCA_ACT_OPTIONS", [&](const TcNetlinkAttribute& a) -> Status {
    switch (a.type) {
      case TCA_GACT_PARMS:
        return read_struct(a, "TCA_GACT_PARMS", parms.emplace());
      case TCA_GACT_TM:
        return read_action_times(a, "TCA_GACT_TM", extras);
      case TCA_GACT_PAD:
        return Status::ok();
      default:
        return not_modelled("gact attribute " + std::to_string(a.type) + " (e.g. TCA_GACT_PROB)");
    }
  });
  if (!status) return status;
  if (!parms) return invalid_argument("no TCA_GACT_PARMS");
  const auto verdict = static_cast<uint32_t>(parms->action);
  if (parms->action == TC_ACT_SHOT) return TcAction{TcDropAction{}};
  if (TC_ACT_EXT_CMP(verdict, static_cast<uint32_t>(TC_ACT_GOTO_CHAIN))) {
    return TcAction{TcGotoChainAction{verdict & TC_ACT_EXT_VAL_MASK}};
  }
  return not_modelled("gact verdict " + std::to_string(parms->action));
}

Result<TcAction> parse_action(std::span<const uint8_t> bytes, TcActionExtras& extras) {
  std::string_view kind;
  std::optional<std::span<const uint8_t>> options;
  Status status = for_each_attribute(bytes, "action", [&](const TcNetlinkAttribute& a) -> Status {
    switch (a.type) {
      case TCA_ACT_KIND:
        kind = read_string(a);
        return Status::ok();
      case TCA_ACT_OPTIONS:
        options = a.payload;
        return Status::ok();
      case TCA_ACT_COOKIE:
        // Only a 16-byte cookie can be a UFID; shorter ones belong to someone else.
        if (a.payload.size() == extras.cookie.bytes.size() && !extras.has_cookie) {
          std::memcpy(extras.cookie.bytes.data(), a.payload.data(), extras.cookie.bytes.size());
          extras.has_cookie = true;
        }
        return Status::ok();
      case TCA_ACT_STATS:
        return parse_action_stats(a.payload, extras);
      case TCA_ACT_FLAGS: {
        // The kernel dumps every flag the action holds (value = selector);
        // only NO_PERCPU_STATS is the model's.
        nla_bitfield32 flags{};
        if (Status read = read_exact(a, "TCA_ACT_FLAGS", flags); !read) return read;
        extras.without_percpu_stats = (flags.value & flags.selector & TCA_ACT_FLAGS_NO_PERCPU_STATS) != 0;
        return Status::ok();
      }
      default:
        return Status::ok();  // index, hw_stats kinds, in_hw_count, padding
    }
  });
  if (!status) return status;
  if (kind.empty()) return invalid_argument("no TCA_ACT_KIND");
  if (!options) return invalid_argument(std::string(kind) + ": no TCA_ACT_OPTIONS");
  Result<TcAction> action = Status(EOPNOTSUPP, "");
  if (kind == "mirred") {
    action = parse_mirred(*options, extras);
  } else if (kind == "vlan") {
    action = parse_vlan(*options, extras);
  } else if (kind == "mpls") {
    action = parse_mpls(*options, extras);
  } else if (kind == "pedit") {
    action = parse_pedit(*options, extras);
  } else if (kind == "csum") {
    action = parse_csum(*options, extras);
  } else if (kind == "tunnel_key") {
    action = parse_tunnel_key(*options, extras);
  } else if (kind == "gact") {
    action = parse_gact(*options, extras);
  } else {
    return not_modelled("action kind \"" + std::string(kind) + "\"");
  }
  if (!action) return action.status().with_context(std::string(kind));
  return action;
}

uint64_t ticks_to_ms(uint64_t ticks) {
  static const uint64_t ticks_per_second = [] {
    const long hz = ::sysconf(_SC_CLK_TCK);
    return hz > 0 ? static_cast<uint64_t>(hz) : uint64_t{100};  // USER_HZ
  }();
  return ticks / ticks_per_second * 1000 + ticks % ticks_per_second * 1000 / ticks_per_second;
}

// TCA_FLOWER_ACT: nests typed by the action's priority (1..TCA_ACT_MAX_PRIO),
// run in priority order.
Status parse_actions(std::span<const uint8_t> bytes, TcParsedFilter& filter) {
  std::vector<std::pair<uint16_t, TcAction>> ordered;
  size_t without_percpu_stats = 0;  // actions whose TCA_ACT_FLAGS said NO_PERCPU_STATS
  Status status = for_each_attribute(bytes, "TCA_FLOWER_ACT", [&](const TcNetlinkAttribute& entry) -> Status {
    const std::string where = "action " + std::to_string(entry.type);
    if (entry.type == 0 || entry.type > TCA_ACT_MAX_PRIO) {
      return invalid_argument("TCA_FLOWER_ACT: " + where + " is outside priorities 1.." +
                              std::to_string(TCA_ACT_MAX_PRIO));
    }
    for (const auto& [priority, unused] : ordered)
      if (priority == entry.type) return invalid_argument("TCA_FLOWER_ACT: " + where + " appears twice");
    TcActionExtras extras;
    Result<TcAction> action = parse_action(entry.payload, extras);
    if (!action) return action.status().with_context(where);
    ordered.emplace_back(entry.type, std::move(*action));
    // The filter's counters are kept per action: each counts the packets it
    // ran on. Every action of a matching packet runs unless one before it
    // ends the pipeline (only the last action does, in what we install), so
    // the largest count is the number of packets the filter matched; OVS's
    // tc.c reads filter stats the same way. Hardware counters likewise.
    filter.total.packets = std::max(filter.total.packets, extras.total.packets);
    filter.total.bytes = std::max(filter.total.bytes, extras.total.bytes);
    filter.hardware.packets = std::max(filter.hardware.packets, extras.hardware.packets);
    filter.hardware.bytes = std::max(filter.hardware.bytes, extras.hardware.bytes);
    if (extras.last_used_ticks_ago) {
      const uint64_t ms = ticks_to_ms(*extras.last_used_ticks_ago);
      filter.last_used_ms_ago = std::min(filter.last_used_ms_ago.value_or(ms), ms);  // the most recent use
    }
    if (extras.has_cookie && !filter.has_cookie) {
      filter.has_cookie = true;
      filter.rule.cookie = extras.cookie;
    }
    if (extras.without_percpu_stats) ++without_percpu_stats;
    return Status::ok();
  });
  if (!status) return status;
  // The model's flag is the filter's: set when every action carries it (as
  // the encoder writes it), so a mixed filter is not mistaken for ours.
  filter.rule.actions_without_percpu_stats = !ordered.empty() && without_percpu_stats == ordered.size();
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  filter.rule.actions.clear();
  for (auto& [priority, action] : ordered) filter.rule.actions.push_back(std::move(action));
  return Status::ok();
}

// ---- The match ----

// Which model field a flower attribute carries (as key or as mask).
struct TcFlowerAttributeField {
  TcFlowerField field = TcFlowerField::kCount;
  bool mask = false;
};

const TcFlowerAttributeField& flower_attribute_field(uint16_t attribute) {
  static const auto table = [] {
    std::array<TcFlowerAttributeField, 256> fields{};
    for (size_t i = 0; i < static_cast<size_t>(TcFlowerField::kCount); ++i) {
      const TcFlowerFieldInfo& info = tc_flower_field_info(static_cast<TcFlowerField>(i));
      fields[info.key_attribute] = {info.field, false};
      if (info.mask_attribute != 0) fields[info.mask_attribute] = {info.field, true};
    }
    return fields;
  }();
  static const TcFlowerAttributeField kNone{};
  return attribute < table.size() ? table[attribute] : kNone;
}

struct TcFlowerKeysRead {
  std::array<TcFlowerKey, static_cast<size_t>(TcFlowerField::kCount)> keys{};
  std::array<bool, static_cast<size_t>(TcFlowerField::kCount)> value_seen{}, mask_seen{};

  bool seen(TcFlowerField field) const { return value_seen[static_cast<size_t>(field)]; }
  Be16 be16(TcFlowerField field) const {
    Be16 value;
    std::memcpy(&value, keys[static_cast<size_t>(field)].value.data(), sizeof value);
    return value;
  }
};

Status read_flower_key(const TcNetlinkAttribute& attribute, const TcFlowerAttributeField& target,
                       TcFlowerKeysRead& read) {
  const TcFlowerFieldInfo& info = tc_flower_field_info(target.field);
  if (attribute.payload.size() != info.width) {
    return wrong_size(flower_attribute_name(attribute.type), attribute.payload.size(), info.width, false);
  }
  const auto index = static_cast<size_t>(target.field);
  TcFlowerKey& key = read.keys[index];
  key.field = target.field;
  std::array<uint8_t, 16>& bytes = target.mask ? key.mask : key.value;
  std::memcpy(bytes.data(), attribute.payload.data(), info.width);
  if (!target.mask) {
    // The host-order integers of the kernel, turned into the model's network order.
    if (target.field == TcFlowerField::kVlanId || target.field == TcFlowerField::kCvlanId) {
      uint16_t host;
      std::memcpy(&host, attribute.payload.data(), sizeof host);
      bytes[0] = static_cast<uint8_t>(host >> 8);
      bytes[1] = static_cast<uint8_t>(host);
    } else if (target.field == TcFlowerField::kMplsLabel) {
      uint32_t host;
      std::memcpy(&host, attribute.payload.data(), sizeof host);
      for (int i = 0; i < 4; ++i) bytes[i] = static_cast<uint8_t>(host >> (24 - 8 * i));
    }
  }
  (target.mask ? read.mask_seen : read.value_seen)[index] = true;
  return Status::ok();
}

// The keys read, as the model's sorted match. A key without its mask
// attribute is exact (flower sets an all-ones mask then). The ethertype of a
// VLAN rule comes back in two forms: our request's (ETH_TYPE = the outer
// TPID) and the kernel's dump (ETH_TYPE = the innermost ethertype); both
// become kEthType = the innermost ethertype.
Status build_match(TcFlowerKeysRead& read, TcFlowerMatch& match) {
  bool vlan_rule = false;
  for (size_t i = 0; i < read.keys.size(); ++i) {
    const auto field = static_cast<TcFlowerField>(i);
    if (read.mask_seen[i] && !read.value_seen[i]) {
      const TcFlowerFieldInfo& info = tc_flower_field_info(field);
      return invalid_argument(flower_attribute_name(info.mask_attribute) + " without " +
                              flower_attribute_name(info.key_attribute));
    }
    if (read.value_seen[i] && is_vlan_field(field)) vlan_rule = true;
  }
  if (vlan_rule && read.seen(TcFlowerField::kEthType) && is_vlan_tpid(read.be16(TcFlowerField::kEthType))) {
    auto& eth_type = read.keys[static_cast<size_t>(TcFlowerField::kEthType)];
    read.value_seen[static_cast<size_t>(TcFlowerField::kEthType)] = false;
    std::optional<TcFlowerField> innermost;
    if (read.seen(TcFlowerField::kCvlanEthType)) {
      innermost = TcFlowerField::kCvlanEthType;
    } else if (read.seen(TcFlowerField::kVlanEthType) &&
               !is_vlan_tpid(read.be16(TcFlowerField::kVlanEthType))) {
      innermost = TcFlowerField::kVlanEthType;
    }
    if (innermost) {
      eth_type.value = read.keys[static_cast<size_t>(*innermost)].value;
      read.value_seen[static_cast<size_t>(TcFlowerField::kEthType)] = true;
    }
  }
  match.keys.clear();
  for (size_t i = 0; i < read.keys.size(); ++i) {
    if (!read.value_seen[i]) continue;
    TcFlowerKey key = read.keys[i];
    const TcFlowerFieldInfo& info = tc_flower_field_info(key.field);
    if (info.mask_attribute == 0 || !read.mask_seen[i]) {
      key.mask = {};
      std::fill_n(key.mask.begin(), info.width, uint8_t{0xff});
    }
    match.keys.push_back(key);  // in field order: the list stays sorted
  }
  return Status::ok();
}

Status parse_flower_options(std::span<const uint8_t> options, TcParsedFilter& filter) {
  TcFlowerKeysRead read;
  std::optional<std::span<const uint8_t>> actions;
  Status status = for_each_attribute(options, "TCA_OPTIONS", [&](const TcNetlinkAttribute& a) -> Status {
    switch (a.type) {
      case TCA_FLOWER_FLAGS: {
        uint32_t flags = 0;
        if (Status s = read_exact(a, "TCA_FLOWER_FLAGS", flags); !s) return s;
        filter.has_flags = true;
        filter.in_hw = flags & TCA_CLS_FLAGS_IN_HW;
        filter.not_in_hw = flags & TCA_CLS_FLAGS_NOT_IN_HW;
        const bool skip_hw = flags & TCA_CLS_FLAGS_SKIP_HW, skip_sw = flags & TCA_CLS_FLAGS_SKIP_SW;
        if (skip_hw && skip_sw) return invalid_argument("TCA_FLOWER_FLAGS: both skip_hw and skip_sw");
        filter.rule.policy = skip_hw ? TcPolicy::kSkipHw : skip_sw ? TcPolicy::kSkipSw : TcPolicy::kNone;
        return Status::ok();
      }
      case TCA_FLOWER_IN_HW_COUNT: {
        uint32_t count = 0;
        if (Status s = read_exact(a, "TCA_FLOWER_IN_HW_COUNT", count); !s) return s;
        filter.in_hw_count = count;
        return Status::ok();
      }
      case TCA_FLOWER_ACT:
        actions = a.payload;
        return Status::ok();
      default:
        break;
    }
    const TcFlowerAttributeField& target = flower_attribute_field(a.type);
    if (target.field == TcFlowerField::kCount) {
      // Never skipped: a filter read without one of its keys would look
      // broader than it is.
      return not_modelled(flower_attribute_name(a.type));
    }
    return read_flower_key(a, target, read);
  });
  if (!status) return status;
  if (Status match_status = build_match(read, filter.rule.match); !match_status) return match_status;
  if (actions) return parse_actions(*actions, filter);
  return Status::ok();
}

}  // namespace

Result<TcParsedFilter> parse_tc_filter_message(std::span<const uint8_t> message) {
  nlmsghdr header;
  if (message.size() < sizeof header) {
    return invalid_argument("truncated netlink message: " + std::to_string(message.size()) +
                            " bytes, an nlmsghdr takes " + std::to_string(sizeof header));
  }
  std::memcpy(&header, message.data(), sizeof header);
  if (header.nlmsg_len < sizeof header || header.nlmsg_len > message.size()) {
    return invalid_argument("truncated netlink message: nlmsg_len " + std::to_string(header.nlmsg_len) +
                            " but " + std::to_string(message.size()) + " bytes");
  }
  if (message.size() > NLMSG_ALIGN(header.nlmsg_len)) {
    return invalid_argument(std::to_string(message.size() - header.nlmsg_len) +
                            " bytes after the message's nlmsg_len " + std::to_string(header.nlmsg_len) +
                            ": pass one message at a time");
  }
  if (header.nlmsg_type == NLMSG_ERROR && header.nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
    nlmsgerr error;
    std::memcpy(&error, message.data() + NLMSG_HDRLEN, sizeof error);
    // Negated in 64 bits: a hostile error field may be INT_MIN.
    const int64_t errno_value = -static_cast<int64_t>(error.error);
    const bool known = errno_value > 0 && errno_value < 4096;
    return invalid_argument("an NLMSG_ERROR (errno " + std::to_string(errno_value) +
                            (known ? ": " + std::string(std::strerror(static_cast<int>(errno_value))) : "") +
                            "), not an RTM_NEWTFILTER");
  }
  if (header.nlmsg_type != RTM_NEWTFILTER) {
    return invalid_argument("nlmsg_type " + std::to_string(header.nlmsg_type) + " is not RTM_NEWTFILTER (" +
                            std::to_string(RTM_NEWTFILTER) + ")");
  }
  const std::span<const uint8_t> body = message.subspan(NLMSG_HDRLEN, header.nlmsg_len - NLMSG_HDRLEN);
  tcmsg tc;
  if (body.size() < sizeof tc) {
    return invalid_argument("truncated RTM_NEWTFILTER: " + std::to_string(body.size()) +
                            " bytes after the nlmsghdr, a tcmsg takes " + std::to_string(sizeof tc));
  }
  std::memcpy(&tc, body.data(), sizeof tc);
  TcParsedFilter filter;
  TcFlowerRule& rule = filter.rule;
  rule.ifindex = static_cast<uint32_t>(tc.tcm_ifindex);
  rule.handle = tc.tcm_handle;
  rule.parent = tc.tcm_parent;
  rule.priority = static_cast<uint16_t>(TC_H_MAJ(tc.tcm_info) >> 16);
  rule.protocol = static_cast<Be16>(TC_H_MIN(tc.tcm_info));

  std::optional<std::string_view> kind;
  std::optional<std::span<const uint8_t>> options;
  const size_t attributes_offset = std::min(body.size(), size_t{NLMSG_ALIGN(sizeof tc)});
  Status status = for_each_attribute(body.subspan(attributes_offset), "RTM_NEWTFILTER",
                                     [&](const TcNetlinkAttribute& a) -> Status {
                                       switch (a.type) {
                                         case TCA_KIND:
                                           kind = read_string(a);
                                           return Status::ok();
                                         case TCA_CHAIN:
                                           return read_exact(a, "TCA_CHAIN", rule.chain);
                                         case TCA_OPTIONS:
                                           options = a.payload;
                                           return Status::ok();
                                         default:
                                           return Status::ok();  // not part of the filter's meaning
                                       }
                                     });
  if (!status) return status;
  if (!kind) return invalid_argument("RTM_NEWTFILTER without TCA_KIND");
  if (*kind != "flower") {
    return Status(EPROTONOSUPPORT, "a \"" + std::string(*kind) + "\" filter, not flower (priority " +
                                       std::to_string(rule.priority) + ", handle " +
                                       std::to_string(rule.handle) + ")");
  }
  if (!options) {
    return Status(ENODATA, "a flower message without TCA_OPTIONS (the header of priority " +
                               std::to_string(rule.priority) + " in a dump, not a filter)");
  }
  if (Status options_status = parse_flower_options(*options, filter); !options_status) {
    return options_status.with_context("flower filter priority " + std::to_string(rule.priority) +
                                       " handle 0x" + [&] {
                                         char hex[16];
                                         std::snprintf(hex, sizeof hex, "%x", rule.handle);
                                         return std::string(hex);
                                       }());
  }
  return filter;
}

}  // namespace flowlift
