// The TC filter codec: rules survive the trip through bytes, the bytes are
// what <linux/pkt_cls.h> and <linux/tc_act/*.h> define (checked with libmnl
// and the uapi structs, not with the codec's own reader), the kernel's dump
// form (counters, flags, times, the innermost ethertype) is read, and
// malformed input is refused with an error naming what was wrong.
#include "offload/tc_filter_codec.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/gen_stats.h>
#include <linux/pkt_cls.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_csum.h>
#include <linux/tc_act/tc_gact.h>
#include <linux/tc_act/tc_mirred.h>
#include <linux/tc_act/tc_mpls.h>
#include <linux/tc_act/tc_pedit.h>
#include <linux/tc_act/tc_tunnel_key.h>
#include <linux/tc_act/tc_vlan.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "offload/tc_flower_rule_examples_for_tests.h"

namespace flowlift {
namespace {

using F = TcFlowerField;
using Bytes = std::vector<uint8_t>;

std::vector<TcFlowerRule> all_example_rules() {
  return {tc_example_ipv4_tcp_rule(),    tc_example_vlan_rule(),        tc_example_qinq_rule(),
          tc_example_ipv6_rule(),        tc_example_arp_rule(),         tc_example_mpls_rule(),
          tc_example_vxlan_encap_rule(), tc_example_vxlan_decap_rule(), tc_example_ipv6_tunnel_rule(),
          tc_example_pedit_rule(),       tc_example_goto_chain_rule(),  tc_example_icmp_in_chain_rule()};
}

Result<TcParsedFilter> round_trip(const TcFlowerRule& rule, TcFilterWrite write = TcFilterWrite::kCreate) {
  const Bytes message = encode_tc_filter_new(rule, write, 7);
  return parse_tc_filter_message(message);
}

// ---- An independent reader of the encoded bytes (libmnl, uapi structs) ----

const nlmsghdr* header_of(const Bytes& message) { return reinterpret_cast<const nlmsghdr*>(message.data()); }

tcmsg tcmsg_of(const Bytes& message) {
  tcmsg tc;
  std::memcpy(&tc, message.data() + NLMSG_HDRLEN, sizeof tc);
  return tc;
}

const nlattr* find_in(const void* begin, size_t length, uint16_t type) {
  const auto* attribute = static_cast<const nlattr*>(begin);
  int left = static_cast<int>(length);
  while (mnl_attr_ok(attribute, left)) {
    if (mnl_attr_get_type(attribute) == type) return attribute;
    left -= static_cast<int>(MNL_ALIGN(attribute->nla_len));
    attribute = mnl_attr_next(attribute);
  }
  return nullptr;
}

std::vector<const nlattr*> nested_of(const nlattr* nest) {
  std::vector<const nlattr*> all;
  const auto* attribute = static_cast<const nlattr*>(mnl_attr_get_payload(nest));
  int left = static_cast<int>(mnl_attr_get_payload_len(nest));
  while (mnl_attr_ok(attribute, left)) {
    all.push_back(attribute);
    left -= static_cast<int>(MNL_ALIGN(attribute->nla_len));
    attribute = mnl_attr_next(attribute);
  }
  return all;
}

// The attribute at `path` (top-level type first, then nested types).
const nlattr* find_attribute(const Bytes& message, std::initializer_list<uint16_t> path) {
  const nlmsghdr* header = header_of(message);
  const auto* begin = static_cast<const uint8_t*>(mnl_nlmsg_get_payload(header)) + MNL_ALIGN(sizeof(tcmsg));
  size_t length = header->nlmsg_len - MNL_NLMSG_HDRLEN - MNL_ALIGN(sizeof(tcmsg));
  const nlattr* found = nullptr;
  for (uint16_t type : path) {
    found = find_in(begin, length, type);
    if (found == nullptr) return nullptr;
    begin = static_cast<const uint8_t*>(mnl_attr_get_payload(found));
    length = mnl_attr_get_payload_len(found);
  }
  return found;
}

Bytes payload_of(const nlattr* attribute) {
  if (attribute == nullptr) return {};
  const auto* begin = static_cast<const uint8_t*>(mnl_attr_get_payload(attribute));
  return Bytes(begin, begin + mnl_attr_get_payload_len(attribute));
}

template <typename T>
T struct_of(const nlattr* attribute) {
  T value{};
  EXPECT_NE(attribute, nullptr);
  if (attribute != nullptr) {
    EXPECT_GE(mnl_attr_get_payload_len(attribute), sizeof(T));
    std::memcpy(&value, mnl_attr_get_payload(attribute),
                std::min<size_t>(sizeof(T), mnl_attr_get_payload_len(attribute)));
  }
  return value;
}

// ---- Hand-built messages, for the kernel's dump form and malformed input ----

class TcFilterTestMessage {
 public:
  explicit TcFilterTestMessage(uint16_t type = RTM_NEWTFILTER) : buffer_(16384) {
    header_ = mnl_nlmsg_put_header(buffer_.data());
    header_->nlmsg_type = type;
    tc_ = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(header_, sizeof(tcmsg)));
  }
  nlmsghdr* header() { return header_; }
  tcmsg* tc() { return tc_; }
  Bytes bytes() const { return Bytes(buffer_.begin(), buffer_.begin() + header_->nlmsg_len); }
  // kind, chain, then TCA_OPTIONS filled by `options`.
  void flower(const std::function<void(nlmsghdr*)>& options, const char* kind = "flower") {
    mnl_attr_put_strz(header_, TCA_KIND, kind);
    mnl_attr_put_u32(header_, TCA_CHAIN, 0);
    nlattr* nest = mnl_attr_nest_start(header_, TCA_OPTIONS);
    options(header_);
    mnl_attr_nest_end(header_, nest);
  }

 private:
  Bytes buffer_;
  nlmsghdr* header_;
  tcmsg* tc_;
};

void put_be16(nlmsghdr* header, uint16_t type, uint16_t host) {
  const uint16_t value = htons(host);
  mnl_attr_put(header, type, sizeof value, &value);
}

void put_action_times(nlmsghdr* header, uint16_t type, uint64_t lastuse_ticks) {
  tcf_t times{};
  times.install = 900;
  times.lastuse = lastuse_ticks;
  times.firstuse = 800;
  mnl_attr_put(header, type, sizeof times, &times);
}

void put_basic(nlmsghdr* header, uint16_t type, uint64_t bytes, uint64_t packets) {
  gnet_stats_basic basic{};
  basic.bytes = bytes;
  basic.packets = packets > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(packets);
  mnl_attr_put(header, type, sizeof basic, &basic);
  if (packets > UINT32_MAX) mnl_attr_put_u64(header, TCA_STATS_PKT64, packets);
}

// ---- Round trips ----

TEST(TcFilterCodec, EveryExampleRuleParsesBackToItself) {
  for (const TcFlowerRule& rule : all_example_rules()) {
    Result<TcParsedFilter> parsed = round_trip(rule);
    ASSERT_TRUE(parsed.is_ok()) << "priority " << rule.priority << ": " << parsed.status().message();
    EXPECT_EQ(parsed->rule, rule) << "priority " << rule.priority;
    EXPECT_TRUE(parsed->has_flags);
    EXPECT_TRUE(parsed->has_cookie);
    EXPECT_FALSE(parsed->in_hw);
    EXPECT_FALSE(parsed->in_hw_count.has_value());
  }
}

TEST(TcFilterCodec, AReplaceKeepsTheHandleAndThePolicies) {
  for (TcPolicy policy : {TcPolicy::kNone, TcPolicy::kSkipSw, TcPolicy::kSkipHw}) {
    TcFlowerRule rule = tc_example_ipv4_tcp_rule();
    rule.handle = 0x2a;
    rule.chain = 9;
    rule.policy = policy;
    Result<TcParsedFilter> parsed = round_trip(rule, TcFilterWrite::kReplace);
    ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
    EXPECT_EQ(parsed->rule, rule) << tc_policy_name(policy);
  }
}

// Every field of the key table, alone, with a partial mask where flower
// has a mask attribute.
TEST(TcFilterCodec, EveryFlowerKeyParsesBackToItself) {
  for (size_t i = 0; i < static_cast<size_t>(F::kCount); ++i) {
    const auto field = static_cast<F>(i);
    const TcFlowerFieldInfo& info = tc_flower_field_info(field);
    TcFlowerRule rule = tc_example_rule_base(2, 1, 0x0800);
    TcFlowerKey key;
    key.field = field;
    for (uint8_t b = 0; b < info.width; ++b) {
      key.value[b] = static_cast<uint8_t>(0x11 * (b + 1));
      key.mask[b] = info.mask_attribute != 0 && b % 2 == 0 ? 0xf0 : 0xff;
      key.value[b] &= key.mask[b];
    }
    if (field == F::kVlanId || field == F::kCvlanId) key.value = {0x01, 0x23};  // a 12-bit VID
    rule.match.set(key);
    if (field == F::kVlanEthType || field == F::kCvlanEthType) {
      // Normal form of a VLAN rule: kEthType is the innermost ethertype.
      rule.match.set(tc_example_key(F::kEthType, {key.value[0], key.value[1]}));
    }
    if (field >= F::kVlanId && field <= F::kCvlanEthType) rule.protocol = htons(0x8100);
    Result<TcParsedFilter> parsed = round_trip(rule);
    ASSERT_TRUE(parsed.is_ok()) << info.name << ": " << parsed.status().message();
    EXPECT_EQ(parsed->rule.match, rule.match) << info.name;
  }
}

TEST(TcFilterCodec, EveryActionKindParsesBackToItself) {
  TcTunnelKeySetAction tunnel_v4;
  tunnel_v4.key_id = htonl(0x123456);
  tunnel_v4.ipv4_src = htonl(0x0a000001);
  tunnel_v4.ipv4_dst = htonl(0x0a000002);
  tunnel_v4.dst_port = htons(4790);
  tunnel_v4.tos = 0xb8;
  tunnel_v4.ttl = 9;
  tunnel_v4.checksum = true;
  tunnel_v4.dont_fragment = true;
  TcTunnelKeySetAction tunnel_v6;
  tunnel_v6.ipv6_src = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  tunnel_v6.ipv6_dst = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  const std::vector<TcAction> actions = {
      TcMirredAction{7, "", true},
      TcMirredAction{8, "", false},
      TcVlanPushAction{htons(0x88a8), 4094, 7},
      TcVlanPopAction{},
      TcVlanModifyAction{htons(0x8100), 1, 0},
      TcMplsPushAction{htons(0x8848), 0xfffff, 7, 255, 0},
      TcMplsPopAction{htons(0x86dd)},
      TcMplsModifyAction{16, 0, 0, 1},
      tc_example_pedit_rule().actions[0],
      TcPeditAction{{TcPeditKey{TCA_PEDIT_KEY_EX_HDR_TYPE_TCP, 0, htonl(0x00500000), htonl(0x0000ffff)},
                     TcPeditKey{TCA_PEDIT_KEY_EX_HDR_TYPE_IP6, 24, htonl(1), 0},
                     TcPeditKey{TCA_PEDIT_KEY_EX_HDR_TYPE_UDP, 0, htonl(0x00350000), htonl(0x0000ffff)}}},
      TcCsumAction{TCA_CSUM_UPDATE_FLAG_IPV4HDR | TCA_CSUM_UPDATE_FLAG_TCP | TCA_CSUM_UPDATE_FLAG_SCTP},
      tunnel_v4,
      tunnel_v6,
      TcTunnelKeyUnsetAction{},
      TcDropAction{},
      TcGotoChainAction{0x0fffffff},
  };
  for (const TcAction& action : actions) {
    TcFlowerRule rule = tc_example_rule_base(2, 1, 0x0800);
    rule.actions = {action};
    Result<TcParsedFilter> parsed = round_trip(rule);
    ASSERT_TRUE(parsed.is_ok()) << tc_action_kind(action) << ": " << parsed.status().message();
    ASSERT_EQ(parsed->rule.actions.size(), 1u);
    EXPECT_EQ(parsed->rule.actions[0], action)
        << tc_action_kind(action) << " (variant " << action.index() << ")";
  }
  // And all of them in one filter, in order.
  TcFlowerRule rule = tc_example_rule_base(2, 1, 0x0800);
  rule.actions = actions;
  Result<TcParsedFilter> parsed = round_trip(rule);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  EXPECT_EQ(parsed->rule.actions, actions);
}

// ---- The bytes, against the uapi ----

TEST(TcFilterCodecBytes, NewFilterAsksForAnEchoAndCarriesTheRulesPlace) {
  TcFlowerRule rule = tc_example_ipv4_tcp_rule(5, 6);
  rule.chain = 3;
  const Bytes create = encode_tc_filter_new(rule, TcFilterWrite::kCreate, 42);
  EXPECT_EQ(header_of(create)->nlmsg_len, create.size());
  EXPECT_EQ(header_of(create)->nlmsg_type, RTM_NEWTFILTER);
  EXPECT_EQ(header_of(create)->nlmsg_flags,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO | NLM_F_CREATE | NLM_F_EXCL);
  EXPECT_EQ(header_of(create)->nlmsg_seq, 42u);
  const tcmsg tc = tcmsg_of(create);
  EXPECT_EQ(tc.tcm_family, AF_UNSPEC);
  EXPECT_EQ(tc.tcm_ifindex, 5);
  EXPECT_EQ(tc.tcm_handle, 0u);
  EXPECT_EQ(tc.tcm_parent, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS));
  // iproute2's `tc filter add ... pref 1 protocol ip`: TC_H_MAKE(1 << 16, htons(ETH_P_IP)).
  EXPECT_EQ(tc.tcm_info, (1u << 16) | htons(0x0800));
  EXPECT_STREQ(mnl_attr_get_str(find_attribute(create, {TCA_KIND})), "flower");
  EXPECT_EQ(mnl_attr_get_u32(find_attribute(create, {TCA_CHAIN})), 3u);

  rule.handle = 0x77;
  const Bytes replace = encode_tc_filter_new(rule, TcFilterWrite::kReplace, 43);
  EXPECT_EQ(header_of(replace)->nlmsg_flags,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO | NLM_F_CREATE | NLM_F_REPLACE);
  EXPECT_EQ(tcmsg_of(replace).tcm_handle, 0x77u);
}

TEST(TcFilterCodecBytes, FlowerOptionsCarryVerboseSkipFlagsAndKeysWithTheirMasks) {
  const Bytes message = encode_tc_filter_new(tc_example_ipv4_tcp_rule(), TcFilterWrite::kCreate, 1);
  EXPECT_EQ(mnl_attr_get_u32(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_FLAGS})),
            uint32_t{TCA_CLS_FLAGS_SKIP_HW | TCA_CLS_FLAGS_VERBOSE});
  EXPECT_EQ(payload_of(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_KEY_ETH_TYPE})), (Bytes{0x08, 0x00}));
  EXPECT_EQ(payload_of(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_KEY_IPV4_SRC})),
            (Bytes{10, 1, 2, 0}));
  EXPECT_EQ(payload_of(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_KEY_IPV4_SRC_MASK})),
            (Bytes{255, 255, 255, 0}));
  EXPECT_EQ(payload_of(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_KEY_TCP_DST})), (Bytes{0x01, 0xbb}));
  EXPECT_EQ(payload_of(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_KEY_TCP_FLAGS_MASK})),
            (Bytes{0x00, 0x12}));
  // ip_proto is exact-only in flower: a u8 and no mask attribute.
  EXPECT_EQ(payload_of(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_KEY_IP_PROTO})), (Bytes{6}));
  // TCA_FLOWER_KEY_FLAGS is read by fl_set_key_flags as a be32.
  EXPECT_EQ(payload_of(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_KEY_FLAGS})), (Bytes{0, 0, 0, 0}));
  EXPECT_EQ(payload_of(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_KEY_FLAGS_MASK})),
            (Bytes{0, 0, 0, TCA_FLOWER_KEY_FLAGS_IS_FRAGMENT}));
  EXPECT_EQ(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_KEY_IPV6_SRC}), nullptr);
}

TEST(TcFilterCodecBytes, VlanIdIsAHostOrderU16AndTheEthTypeAttributeIsTheOuterTpid) {
  const Bytes message = encode_tc_filter_new(tc_example_vlan_rule(), TcFilterWrite::kCreate, 1);
  EXPECT_EQ(mnl_attr_get_u16(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_KEY_VLAN_ID})), 100);
  EXPECT_EQ(payload_of(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_KEY_VLAN_PRIO})), (Bytes{3}));
  EXPECT_EQ(payload_of(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_KEY_ETH_TYPE})), (Bytes{0x81, 0x00}));
  EXPECT_EQ(payload_of(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_KEY_VLAN_ETH_TYPE})),
            (Bytes{0x08, 0x00}));

  const Bytes qinq = encode_tc_filter_new(tc_example_qinq_rule(), TcFilterWrite::kCreate, 1);
  EXPECT_EQ(payload_of(find_attribute(qinq, {TCA_OPTIONS, TCA_FLOWER_KEY_ETH_TYPE})), (Bytes{0x88, 0xa8}));
  EXPECT_EQ(payload_of(find_attribute(qinq, {TCA_OPTIONS, TCA_FLOWER_KEY_VLAN_ETH_TYPE})),
            (Bytes{0x81, 0x00}));
  EXPECT_EQ(payload_of(find_attribute(qinq, {TCA_OPTIONS, TCA_FLOWER_KEY_CVLAN_ETH_TYPE})),
            (Bytes{0x08, 0x00}));
  EXPECT_EQ(mnl_attr_get_u16(find_attribute(qinq, {TCA_OPTIONS, TCA_FLOWER_KEY_CVLAN_ID})), 256);
}

// flower reads the innermost ethertype of a VLAN rule only from the
// VLAN_ETH_TYPE (or CVLAN_ETH_TYPE) attribute: a rule holding kEthType
// without it still gets it there, never dropped.
TEST(TcFilterCodecBytes, AVlanRulesEthertypeTravelsAfterItsInnermostTag) {
  TcFlowerRule rule = tc_example_rule_base(2, 1, 0x8100);
  rule.match.set(tc_example_key(F::kVlanId, {0x00, 0x05}));
  rule.match.set(tc_example_key(F::kEthType, {0x86, 0xdd}));
  const Bytes message = encode_tc_filter_new(rule, TcFilterWrite::kCreate, 1);
  EXPECT_EQ(payload_of(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_KEY_ETH_TYPE})), (Bytes{0x81, 0x00}));
  EXPECT_EQ(payload_of(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_KEY_VLAN_ETH_TYPE})),
            (Bytes{0x86, 0xdd}));

  rule.match.set(tc_example_key(F::kVlanEthType, {0x81, 0x00}));
  rule.match.set(tc_example_key(F::kCvlanId, {0x00, 0x06}));
  const Bytes qinq = encode_tc_filter_new(rule, TcFilterWrite::kCreate, 1);
  EXPECT_EQ(payload_of(find_attribute(qinq, {TCA_OPTIONS, TCA_FLOWER_KEY_VLAN_ETH_TYPE})),
            (Bytes{0x81, 0x00}));
  EXPECT_EQ(payload_of(find_attribute(qinq, {TCA_OPTIONS, TCA_FLOWER_KEY_CVLAN_ETH_TYPE})),
            (Bytes{0x86, 0xdd}));
}

TEST(TcFilterCodecBytes, MplsLabelIsAHostOrderU32) {
  const Bytes message = encode_tc_filter_new(tc_example_mpls_rule(), TcFilterWrite::kCreate, 1);
  EXPECT_EQ(mnl_attr_get_u32(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_KEY_MPLS_LABEL})), 123456u);
  EXPECT_EQ(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_KEY_MPLS_OPTS}), nullptr);
  // act_mpls push: tc_mpls and the LSE fields as their own attributes.
  const tc_mpls push = struct_of<tc_mpls>(
      find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_ACT, 3, TCA_ACT_OPTIONS, TCA_MPLS_PARMS}));
  EXPECT_EQ(push.m_action, TCA_MPLS_ACT_PUSH);
  EXPECT_EQ(push.action, TC_ACT_PIPE);
  EXPECT_EQ(mnl_attr_get_u32(
                find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_ACT, 3, TCA_ACT_OPTIONS, TCA_MPLS_LABEL})),
            2000u);
  EXPECT_EQ(
      payload_of(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_ACT, 3, TCA_ACT_OPTIONS, TCA_MPLS_PROTO})),
      (Bytes{0x88, 0x47}));
}

TEST(TcFilterCodecBytes, MirredRedirectStealsAndMirrorPipes) {
  const Bytes message = encode_tc_filter_new(tc_example_vlan_rule(2, 9), TcFilterWrite::kCreate, 1);
  EXPECT_STREQ(mnl_attr_get_str(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_ACT, 1, TCA_ACT_KIND})),
               "vlan");
  const tc_vlan pop = struct_of<tc_vlan>(
      find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_ACT, 1, TCA_ACT_OPTIONS, TCA_VLAN_PARMS}));
  EXPECT_EQ(pop.v_action, TCA_VLAN_ACT_POP);
  EXPECT_EQ(pop.action, TC_ACT_PIPE);
  const tc_mirred mirror = struct_of<tc_mirred>(
      find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_ACT, 2, TCA_ACT_OPTIONS, TCA_MIRRED_PARMS}));
  EXPECT_EQ(mirror.eaction, TCA_EGRESS_MIRROR);
  EXPECT_EQ(mirror.action, TC_ACT_PIPE);
  EXPECT_EQ(mirror.ifindex, 9u);
  const tc_mirred redirect = struct_of<tc_mirred>(
      find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_ACT, 3, TCA_ACT_OPTIONS, TCA_MIRRED_PARMS}));
  EXPECT_EQ(redirect.eaction, TCA_EGRESS_REDIR);
  EXPECT_EQ(redirect.action, TC_ACT_STOLEN);
  EXPECT_STREQ(mnl_attr_get_str(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_ACT, 3, TCA_ACT_KIND})),
               "mirred");
  EXPECT_EQ(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_ACT, 4}), nullptr);
}

TEST(TcFilterCodecBytes, EveryActionCarriesTheUfidAsItsCookie) {
  const TcFlowerRule rule = tc_example_mpls_rule();
  const Bytes message = encode_tc_filter_new(rule, TcFilterWrite::kCreate, 1);
  const Bytes ufid(rule.cookie.bytes.begin(), rule.cookie.bytes.end());
  for (uint16_t priority = 1; priority <= rule.actions.size(); ++priority) {
    EXPECT_EQ(payload_of(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_ACT, priority, TCA_ACT_COOKIE})),
              ufid)
        << "action " << priority;
  }
}

TEST(TcFilterCodecBytes, NoPercpuStatsIsABitfield32OnEveryActionAndAbsentByDefault) {
  TcFlowerRule rule = tc_example_mpls_rule();
  ASSERT_GE(rule.actions.size(), 2u);
  const Bytes plain = encode_tc_filter_new(rule, TcFilterWrite::kCreate, 1);
  for (uint16_t priority = 1; priority <= rule.actions.size(); ++priority)
    EXPECT_EQ(find_attribute(plain, {TCA_OPTIONS, TCA_FLOWER_ACT, priority, TCA_ACT_FLAGS}), nullptr)
        << "action " << priority << ": per-CPU counters are the kernel's default, no flag needed";

  rule.actions_without_percpu_stats = true;
  const Bytes message = encode_tc_filter_new(rule, TcFilterWrite::kCreate, 1);
  for (uint16_t priority = 1; priority <= rule.actions.size(); ++priority) {
    const nlattr* flags = find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_ACT, priority, TCA_ACT_FLAGS});
    ASSERT_NE(flags, nullptr) << "action " << priority;
    // NLA_POLICY_BITFIELD32 in act_api.c: exactly 8 bytes, value then selector.
    ASSERT_EQ(mnl_attr_get_payload_len(flags), sizeof(nla_bitfield32));
    const auto bits = struct_of<nla_bitfield32>(flags);
    EXPECT_EQ(bits.value, 1u) << "TCA_ACT_FLAGS_NO_PERCPU_STATS is bit 0";
    EXPECT_EQ(bits.selector, 1u) << "the request speaks for that bit only";
  }
  Result<TcParsedFilter> parsed = parse_tc_filter_message(message);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  EXPECT_EQ(parsed->rule, rule);
}

TEST(TcFilterCodecBytes, DropIsGactShotAndGotoChainPutsTheChainInTheVerdict) {
  const Bytes drop = encode_tc_filter_new(tc_example_ipv6_rule(), TcFilterWrite::kCreate, 1);
  EXPECT_STREQ(mnl_attr_get_str(find_attribute(drop, {TCA_OPTIONS, TCA_FLOWER_ACT, 1, TCA_ACT_KIND})),
               "gact");
  EXPECT_EQ(struct_of<tc_gact>(
                find_attribute(drop, {TCA_OPTIONS, TCA_FLOWER_ACT, 1, TCA_ACT_OPTIONS, TCA_GACT_PARMS}))
                .action,
            TC_ACT_SHOT);
  const Bytes jump = encode_tc_filter_new(tc_example_goto_chain_rule(), TcFilterWrite::kCreate, 1);
  EXPECT_EQ(struct_of<tc_gact>(
                find_attribute(jump, {TCA_OPTIONS, TCA_FLOWER_ACT, 1, TCA_ACT_OPTIONS, TCA_GACT_PARMS}))
                .action,
            static_cast<int>(TC_ACT_GOTO_CHAIN | 1));
}

TEST(TcFilterCodecBytes, TunnelKeySetCarriesTheEncapsulationMetadata) {
  const Bytes message = encode_tc_filter_new(tc_example_vxlan_encap_rule(), TcFilterWrite::kCreate, 1);
  auto at = [&](uint16_t type) {
    return find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_ACT, 1, TCA_ACT_OPTIONS, type});
  };
  EXPECT_STREQ(mnl_attr_get_str(find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_ACT, 1, TCA_ACT_KIND})),
               "tunnel_key");
  const tc_tunnel_key parms = struct_of<tc_tunnel_key>(at(TCA_TUNNEL_KEY_PARMS));
  EXPECT_EQ(parms.t_action, TCA_TUNNEL_KEY_ACT_SET);
  EXPECT_EQ(parms.action, TC_ACT_PIPE);
  EXPECT_EQ(payload_of(at(TCA_TUNNEL_KEY_ENC_KEY_ID)), (Bytes{0, 0, 0x13, 0x88}));
  EXPECT_EQ(payload_of(at(TCA_TUNNEL_KEY_ENC_IPV4_SRC)), (Bytes{192, 168, 0, 1}));
  EXPECT_EQ(payload_of(at(TCA_TUNNEL_KEY_ENC_IPV4_DST)), (Bytes{192, 168, 0, 2}));
  EXPECT_EQ(payload_of(at(TCA_TUNNEL_KEY_ENC_DST_PORT)), (Bytes{0x12, 0xb5}));
  EXPECT_EQ(payload_of(at(TCA_TUNNEL_KEY_ENC_TOS)), (Bytes{0x10}));
  EXPECT_EQ(payload_of(at(TCA_TUNNEL_KEY_ENC_TTL)), (Bytes{64}));
  EXPECT_EQ(payload_of(at(TCA_TUNNEL_KEY_NO_CSUM)), (Bytes{0}));  // checksum wanted
  EXPECT_EQ(at(TCA_TUNNEL_KEY_ENC_IPV6_SRC), nullptr);
  // The decap side: release.
  const Bytes decap = encode_tc_filter_new(tc_example_vxlan_decap_rule(), TcFilterWrite::kCreate, 1);
  EXPECT_EQ(struct_of<tc_tunnel_key>(find_attribute(decap, {TCA_OPTIONS, TCA_FLOWER_ACT, 1, TCA_ACT_OPTIONS,
                                                            TCA_TUNNEL_KEY_PARMS}))
                .t_action,
            TCA_TUNNEL_KEY_ACT_RELEASE);
  EXPECT_EQ(payload_of(find_attribute(decap, {TCA_OPTIONS, TCA_FLOWER_KEY_ENC_KEY_ID})),
            (Bytes{0, 0, 0x13, 0x88}));
  EXPECT_EQ(find_attribute(decap, {TCA_OPTIONS, TCA_FLOWER_KEY_ENC_UDP_DST_PORT_MASK}) != nullptr, true);
}

TEST(TcFilterCodecBytes, PeditKeysAreExtendedKeysWithHeaderTypeAndTheSetCommand) {
  const Bytes message = encode_tc_filter_new(tc_example_pedit_rule(), TcFilterWrite::kCreate, 1);
  const nlattr* parms =
      find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_ACT, 1, TCA_ACT_OPTIONS, TCA_PEDIT_PARMS_EX});
  ASSERT_NE(parms, nullptr);
  ASSERT_EQ(mnl_attr_get_payload_len(parms), sizeof(tc_pedit_sel) + 4 * sizeof(tc_pedit_key));
  const tc_pedit_sel sel = struct_of<tc_pedit_sel>(parms);
  EXPECT_EQ(sel.nkeys, 4);
  EXPECT_EQ(sel.action, TC_ACT_PIPE);
  tc_pedit_key ttl{};
  std::memcpy(&ttl, static_cast<const uint8_t*>(mnl_attr_get_payload(parms)) + sizeof(tc_pedit_sel),
              sizeof ttl);
  EXPECT_EQ(ttl.off, 8u);
  EXPECT_EQ(ntohl(ttl.val), 0x3f000000u);
  EXPECT_EQ(ntohl(ttl.mask), 0x00ffffffu);
  EXPECT_EQ(ttl.at, 0u);
  const nlattr* keys_ex =
      find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_ACT, 1, TCA_ACT_OPTIONS, TCA_PEDIT_KEYS_EX});
  ASSERT_NE(keys_ex, nullptr);
  std::vector<uint16_t> header_types;
  for (const nlattr* key_ex : nested_of(keys_ex)) {
    EXPECT_EQ(mnl_attr_get_type(key_ex), TCA_PEDIT_KEY_EX);
    const nlattr* htype =
        find_in(mnl_attr_get_payload(key_ex), mnl_attr_get_payload_len(key_ex), TCA_PEDIT_KEY_EX_HTYPE);
    const nlattr* cmd =
        find_in(mnl_attr_get_payload(key_ex), mnl_attr_get_payload_len(key_ex), TCA_PEDIT_KEY_EX_CMD);
    ASSERT_NE(htype, nullptr);
    ASSERT_NE(cmd, nullptr);
    header_types.push_back(mnl_attr_get_u16(htype));
    EXPECT_EQ(mnl_attr_get_u16(cmd), TCA_PEDIT_KEY_EX_CMD_SET);
  }
  EXPECT_EQ(header_types,
            (std::vector<uint16_t>{TCA_PEDIT_KEY_EX_HDR_TYPE_IP4, TCA_PEDIT_KEY_EX_HDR_TYPE_IP4,
                                   TCA_PEDIT_KEY_EX_HDR_TYPE_ETH, TCA_PEDIT_KEY_EX_HDR_TYPE_ETH}));
  const tc_csum csum = struct_of<tc_csum>(
      find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_ACT, 2, TCA_ACT_OPTIONS, TCA_CSUM_PARMS}));
  EXPECT_EQ(csum.update_flags, uint32_t{TCA_CSUM_UPDATE_FLAG_IPV4HDR | TCA_CSUM_UPDATE_FLAG_UDP});
}

TEST(TcFilterCodecBytes, DeleteGetAndDumpNameTheFilterTheKernelWay) {
  TcFlowerRule rule = tc_example_ipv4_tcp_rule(5, 6);
  rule.handle = 0x11;
  rule.chain = 2;
  const Bytes deletion = encode_tc_filter_delete(rule, 3);
  EXPECT_EQ(header_of(deletion)->nlmsg_type, RTM_DELTFILTER);
  EXPECT_EQ(header_of(deletion)->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
  EXPECT_EQ(tcmsg_of(deletion).tcm_handle, 0x11u);
  EXPECT_EQ(tcmsg_of(deletion).tcm_ifindex, 5);
  EXPECT_EQ(tcmsg_of(deletion).tcm_info, (1u << 16) | htons(0x0800));
  EXPECT_EQ(mnl_attr_get_u32(find_attribute(deletion, {TCA_CHAIN})), 2u);
  EXPECT_STREQ(mnl_attr_get_str(find_attribute(deletion, {TCA_KIND})), "flower");
  EXPECT_EQ(find_attribute(deletion, {TCA_OPTIONS}), nullptr);

  const Bytes get = encode_tc_filter_get(rule, 4);
  EXPECT_EQ(header_of(get)->nlmsg_type, RTM_GETTFILTER);
  EXPECT_EQ(header_of(get)->nlmsg_flags, NLM_F_REQUEST);
  EXPECT_EQ(tcmsg_of(get).tcm_handle, 0x11u);
  EXPECT_EQ(tcmsg_of(get).tcm_parent, kTcIngressParent);
  EXPECT_EQ(mnl_attr_get_u32(find_attribute(get, {TCA_CHAIN})), 2u);

  const Bytes dump = encode_tc_filter_dump(5, kTcIngressParent, 8);
  EXPECT_EQ(header_of(dump)->nlmsg_type, RTM_GETTFILTER);
  EXPECT_EQ(header_of(dump)->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(header_of(dump)->nlmsg_seq, 8u);
  EXPECT_EQ(tcmsg_of(dump).tcm_ifindex, 5);
  EXPECT_EQ(tcmsg_of(dump).tcm_parent, kTcIngressParent);
  EXPECT_EQ(find_attribute(dump, {TCA_CHAIN}), nullptr);  // every chain
  EXPECT_EQ(header_of(dump)->nlmsg_len, dump.size());
}

// ---- The kernel's dump form ----

// What fl_dump writes for `tc filter add dev X ingress pref 2 protocol
// 802.1q flower vlan_id 100 vlan_prio 3 vlan_ethtype ip ip_proto udp
// dst_port 53 action vlan pop action mirred egress redirect dev Y` after it
// was offloaded and counted: ETH_TYPE holds the innermost ethertype, the
// flags gain IN_HW, and each action has its times and counters.
Bytes kernel_dump_of_vlan_rule(uint64_t mirred_packets) {
  const TcFlowerRule rule = tc_example_vlan_rule();
  TcFilterTestMessage message;
  message.header()->nlmsg_flags = NLM_F_MULTI;
  message.tc()->tcm_ifindex = 2;
  message.tc()->tcm_handle = 1;
  message.tc()->tcm_parent = kTcIngressParent;
  message.tc()->tcm_info = TC_H_MAKE(2u << 16, htons(0x8100));
  message.flower([&](nlmsghdr* h) {
    put_be16(h, TCA_FLOWER_KEY_ETH_TYPE, 0x0800);
    mnl_attr_put_u16(h, TCA_FLOWER_KEY_VLAN_ID, 100);
    mnl_attr_put_u8(h, TCA_FLOWER_KEY_VLAN_PRIO, 3);
    put_be16(h, TCA_FLOWER_KEY_VLAN_ETH_TYPE, 0x0800);
    mnl_attr_put_u8(h, TCA_FLOWER_KEY_IP_PROTO, 17);
    put_be16(h, TCA_FLOWER_KEY_UDP_DST, 53);
    put_be16(h, TCA_FLOWER_KEY_UDP_DST_MASK, 0xffff);
    mnl_attr_put_u32(h, TCA_FLOWER_FLAGS,
                     TCA_CLS_FLAGS_IN_HW | TCA_CLS_FLAGS_SKIP_HW | TCA_CLS_FLAGS_VERBOSE);
    mnl_attr_put_u32(h, TCA_FLOWER_IN_HW_COUNT, 1);
    nlattr* actions = mnl_attr_nest_start(h, TCA_FLOWER_ACT);
    auto action = [&](uint16_t priority, const char* kind, uint64_t packets, uint64_t hw_packets,
                      const std::function<void()>& options) {
      nlattr* entry = mnl_attr_nest_start(h, priority);
      mnl_attr_put_strz(h, TCA_ACT_KIND, kind);
      mnl_attr_put(h, TCA_ACT_COOKIE, rule.cookie.bytes.size(), rule.cookie.bytes.data());
      nlattr* stats = mnl_attr_nest_start(h, TCA_ACT_STATS);
      put_basic(h, TCA_STATS_BASIC, packets * 100, packets);
      put_basic(h, TCA_STATS_BASIC_HW, hw_packets * 100, hw_packets);
      gnet_stats_queue queue{};
      mnl_attr_put(h, TCA_STATS_QUEUE, sizeof queue, &queue);
      mnl_attr_nest_end(h, stats);
      nlattr* nested = mnl_attr_nest_start(h, TCA_ACT_OPTIONS);
      options();
      mnl_attr_nest_end(h, nested);
      mnl_attr_put_u32(h, TCA_ACT_IN_HW_COUNT, 1);
      mnl_attr_nest_end(h, entry);
    };
    action(1, "vlan", 10, 6, [&] {
      tc_vlan parms{};
      parms.index = 12;
      parms.refcnt = 1;
      parms.bindcnt = 1;
      parms.action = TC_ACT_PIPE;
      parms.v_action = TCA_VLAN_ACT_POP;
      mnl_attr_put(h, TCA_VLAN_PARMS, sizeof parms, &parms);
      put_action_times(h, TCA_VLAN_TM, 250);
    });
    action(2, "mirred", 9, 6, [&] {
      tc_mirred parms{};
      parms.action = TC_ACT_PIPE;
      parms.eaction = TCA_EGRESS_MIRROR;
      parms.ifindex = 3;
      mnl_attr_put(h, TCA_MIRRED_PARMS, sizeof parms, &parms);
      put_action_times(h, TCA_MIRRED_TM, 400);
    });
    action(3, "mirred", mirred_packets, 7, [&] {
      tc_mirred parms{};
      parms.action = TC_ACT_STOLEN;
      parms.eaction = TCA_EGRESS_REDIR;
      parms.ifindex = 3;
      mnl_attr_put(h, TCA_MIRRED_PARMS, sizeof parms, &parms);
      put_action_times(h, TCA_MIRRED_TM, 300);
    });
    mnl_attr_nest_end(h, actions);
  });
  return message.bytes();
}

TEST(TcFilterCodecKernelForm, ADumpedFilterReadsBackAsTheRuleWithFlagsCountersAndTimes) {
  const Bytes dump = kernel_dump_of_vlan_rule(5'000'000'000ull);
  Result<TcParsedFilter> parsed = parse_tc_filter_message(dump);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  TcFlowerRule expected = tc_example_vlan_rule();
  expected.handle = 1;
  EXPECT_EQ(parsed->rule, expected);
  EXPECT_TRUE(parsed->has_flags);
  EXPECT_TRUE(parsed->in_hw);
  EXPECT_FALSE(parsed->not_in_hw);
  EXPECT_EQ(parsed->in_hw_count, 1u);
  EXPECT_TRUE(parsed->has_cookie);
  // The largest action count, its 64-bit form (TCA_STATS_PKT64) included.
  EXPECT_EQ(parsed->total, (TcFilterStats{5'000'000'000ull, 500'000'000'000ull}));
  EXPECT_EQ(parsed->hardware, (TcFilterStats{7, 700}));
  // The most recent use: 250 USER_HZ ticks ago.
  const long hz = ::sysconf(_SC_CLK_TCK);
  EXPECT_EQ(parsed->last_used_ms_ago, static_cast<uint64_t>(250 * 1000 / hz));
}

TEST(TcFilterCodecKernelForm, FilterCountersAreTheLargestActionCountNotTheirSum) {
  Result<TcParsedFilter> parsed = parse_tc_filter_message(kernel_dump_of_vlan_rule(4));
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  EXPECT_EQ(parsed->total, (TcFilterStats{10, 1000}));  // the vlan pop's, the first action's
  EXPECT_EQ(parsed->hardware, (TcFilterStats{7, 700}));
}

// The kernel dumps an action's whole tcfa_flags (value = selector), other
// bits included; only NO_PERCPU_STATS on every action makes the rule's flag.
Bytes kernel_dump_with_action_flags(std::initializer_list<uint32_t> flags_per_action) {
  TcFilterTestMessage message;
  message.tc()->tcm_info = TC_H_MAKE(1u << 16, htons(0x0800));
  message.flower([&](nlmsghdr* h) {
    mnl_attr_put_u32(h, TCA_FLOWER_FLAGS, TCA_CLS_FLAGS_SKIP_HW | TCA_CLS_FLAGS_NOT_IN_HW);
    nlattr* actions = mnl_attr_nest_start(h, TCA_FLOWER_ACT);
    uint16_t priority = 1;
    for (uint32_t flags : flags_per_action) {
      nlattr* entry = mnl_attr_nest_start(h, priority++);
      mnl_attr_put_strz(h, TCA_ACT_KIND, "gact");
      nlattr* options = mnl_attr_nest_start(h, TCA_ACT_OPTIONS);
      tc_gact parms{};
      parms.action = TC_ACT_SHOT;
      mnl_attr_put(h, TCA_GACT_PARMS, sizeof parms, &parms);
      mnl_attr_nest_end(h, options);
      if (flags != 0) {
        const nla_bitfield32 bits{flags, flags};
        mnl_attr_put(h, TCA_ACT_FLAGS, sizeof bits, &bits);
      }
      mnl_attr_nest_end(h, entry);
    }
    mnl_attr_nest_end(h, actions);
  });
  return message.bytes();
}

TEST(TcFilterCodecKernelForm, NoPercpuStatsIsReadFromTheActionsFlagsAmongOtherBits) {
  constexpr uint32_t kSkipHwAction = TCA_ACT_FLAGS_SKIP_HW;
  Result<TcParsedFilter> both = parse_tc_filter_message(kernel_dump_with_action_flags(
      {TCA_ACT_FLAGS_NO_PERCPU_STATS | kSkipHwAction, TCA_ACT_FLAGS_NO_PERCPU_STATS}));
  ASSERT_TRUE(both.is_ok()) << both.status().message();
  EXPECT_TRUE(both->rule.actions_without_percpu_stats);

  Result<TcParsedFilter> one =
      parse_tc_filter_message(kernel_dump_with_action_flags({TCA_ACT_FLAGS_NO_PERCPU_STATS, kSkipHwAction}));
  ASSERT_TRUE(one.is_ok()) << one.status().message();
  EXPECT_FALSE(one->rule.actions_without_percpu_stats) << "the second action keeps per-CPU counters";

  Result<TcParsedFilter> none = parse_tc_filter_message(kernel_dump_with_action_flags({0, 0}));
  ASSERT_TRUE(none.is_ok()) << none.status().message();
  EXPECT_FALSE(none->rule.actions_without_percpu_stats);
}

TEST(TcFilterCodecErrors, AnActionFlagsAttributeOfTheWrongSizeIsNamed) {
  TcFilterTestMessage message;
  message.tc()->tcm_info = TC_H_MAKE(1u << 16, htons(0x0800));
  message.flower([](nlmsghdr* h) {
    nlattr* actions = mnl_attr_nest_start(h, TCA_FLOWER_ACT);
    nlattr* entry = mnl_attr_nest_start(h, 1);
    mnl_attr_put_strz(h, TCA_ACT_KIND, "gact");
    mnl_attr_put_u32(h, TCA_ACT_FLAGS, TCA_ACT_FLAGS_NO_PERCPU_STATS);  // 4 bytes, not a bitfield32
    mnl_attr_nest_end(h, entry);
    mnl_attr_nest_end(h, actions);
  });
  Result<TcParsedFilter> parsed = parse_tc_filter_message(message.bytes());
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_NE(parsed.status().message().find("TCA_ACT_FLAGS: 4 bytes, expected 8"), std::string::npos)
      << parsed.status().message();
}

TEST(TcFilterCodecKernelForm, ANotOffloadedFilterSaysSoAndItsPolicy) {
  TcFilterTestMessage message;
  message.tc()->tcm_info = TC_H_MAKE(1u << 16, htons(0x0800));
  message.flower([](nlmsghdr* h) {
    mnl_attr_put_u32(h, TCA_FLOWER_FLAGS, TCA_CLS_FLAGS_SKIP_SW | TCA_CLS_FLAGS_NOT_IN_HW);
    mnl_attr_put_u32(h, TCA_FLOWER_IN_HW_COUNT, 0);
  });
  Result<TcParsedFilter> parsed = parse_tc_filter_message(message.bytes());
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  EXPECT_EQ(parsed->rule.policy, TcPolicy::kSkipSw);
  EXPECT_TRUE(parsed->not_in_hw);
  EXPECT_FALSE(parsed->in_hw);
  EXPECT_EQ(parsed->in_hw_count, 0u);
  EXPECT_FALSE(parsed->has_cookie);
  EXPECT_FALSE(parsed->last_used_ms_ago.has_value());
  EXPECT_TRUE(parsed->rule.actions.empty());
}

// ---- Malformed input ----

TEST(TcFilterCodecErrors, ATruncatedNetlinkHeaderIsRefused) {
  const Bytes message = encode_tc_filter_new(tc_example_ipv4_tcp_rule(), TcFilterWrite::kCreate, 1);
  Result<TcParsedFilter> parsed = parse_tc_filter_message(std::span(message).first(10));
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_EQ(parsed.status().message(), "truncated netlink message: 10 bytes, an nlmsghdr takes 16");
  parsed = parse_tc_filter_message(std::span(message).first(message.size() - 4));
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_NE(parsed.status().message().find("nlmsg_len " + std::to_string(message.size())), std::string::npos)
      << parsed.status().message();
}

// Cutting a valid message anywhere (and saying so in nlmsg_len) leaves an
// attribute running past its nest or no TCA_OPTIONS: always an error.
TEST(TcFilterCodecErrors, EveryShortenedMessageIsRefused) {
  const Bytes message = encode_tc_filter_new(tc_example_pedit_rule(), TcFilterWrite::kCreate, 1);
  for (size_t size = 0; size < message.size(); ++size) {
    Bytes cut(message.begin(), message.begin() + size);
    if (size >= sizeof(nlmsghdr)) {
      const auto length = static_cast<uint32_t>(size);
      std::memcpy(cut.data(), &length, sizeof length);
    }
    EXPECT_FALSE(parse_tc_filter_message(cut).is_ok()) << "cut at " << size;
  }
}

TEST(TcFilterCodecErrors, AKeyOfTheWrongWidthIsNamedWithItsLength) {
  TcFilterTestMessage message;
  message.flower([](nlmsghdr* h) {
    const uint8_t three[3] = {10, 0, 0};
    mnl_attr_put(h, TCA_FLOWER_KEY_IPV4_DST, sizeof three, three);
  });
  Result<TcParsedFilter> parsed = parse_tc_filter_message(message.bytes());
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_EQ(parsed.status().code(), EINVAL);
  EXPECT_NE(parsed.status().message().find("TCA_FLOWER_KEY_IPV4_DST: 3 bytes, expected 4"), std::string::npos)
      << parsed.status().message();
}

TEST(TcFilterCodecErrors, AnAttributeLongerThanItsNestIsRefused) {
  Bytes message = encode_tc_filter_new(tc_example_ipv4_tcp_rule(), TcFilterWrite::kCreate, 1);
  // The first attribute inside TCA_OPTIONS is TCA_FLOWER_FLAGS (8 bytes); claim 65280.
  const nlattr* flags = find_attribute(message, {TCA_OPTIONS, TCA_FLOWER_FLAGS});
  ASSERT_NE(flags, nullptr);
  const size_t offset = reinterpret_cast<const uint8_t*>(flags) - message.data();
  const uint16_t bogus = 0xff00;
  std::memcpy(message.data() + offset, &bogus, sizeof bogus);
  Result<TcParsedFilter> parsed = parse_tc_filter_message(message);
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_NE(parsed.status().message().find("TCA_OPTIONS: attribute 22 has nla_len 65280 but"),
            std::string::npos)
      << parsed.status().message();
}

TEST(TcFilterCodecErrors, AFilterOfAnotherKindIsRefusedSayingWhichKind) {
  TcFilterTestMessage message;
  message.tc()->tcm_info = TC_H_MAKE(5u << 16, htons(0x0800));
  message.flower([](nlmsghdr* h) { mnl_attr_put_u32(h, 1, 0); }, "u32");
  Result<TcParsedFilter> parsed = parse_tc_filter_message(message.bytes());
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_EQ(parsed.status().code(), EPROTONOSUPPORT);
  EXPECT_EQ(parsed.status().message(), "a \"u32\" filter, not flower (priority 5, handle 0)");
}

TEST(TcFilterCodecErrors, TheDumpsPerPriorityHeaderIsNotAFilter) {
  TcFilterTestMessage message;
  mnl_attr_put_strz(message.header(), TCA_KIND, "flower");
  mnl_attr_put_u32(message.header(), TCA_CHAIN, 0);
  Result<TcParsedFilter> parsed = parse_tc_filter_message(message.bytes());
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_EQ(parsed.status().code(), ENODATA);
}

TEST(TcFilterCodecErrors, AnUnknownFlowerKeyIsAnErrorNamingTheAttribute) {
  TcFilterTestMessage message;
  message.flower([](nlmsghdr* h) {
    put_be16(h, TCA_FLOWER_KEY_ETH_TYPE, 0x0800);
    mnl_attr_put_u16(h, TCA_FLOWER_KEY_CT_STATE, 2);
  });
  Result<TcParsedFilter> parsed = parse_tc_filter_message(message.bytes());
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_EQ(parsed.status().code(), EOPNOTSUPP);
  EXPECT_NE(parsed.status().message().find("TCA_FLOWER_KEY_CT_STATE is not modelled"), std::string::npos)
      << parsed.status().message();
}

TEST(TcFilterCodecErrors, AMaskWithoutItsKeyIsRefused) {
  TcFilterTestMessage message;
  message.flower([](nlmsghdr* h) { put_be16(h, TCA_FLOWER_KEY_TCP_DST_MASK, 0xff00); });
  Result<TcParsedFilter> parsed = parse_tc_filter_message(message.bytes());
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_NE(parsed.status().message().find("TCA_FLOWER_KEY_TCP_DST_MASK without TCA_FLOWER_KEY_TCP_DST"),
            std::string::npos)
      << parsed.status().message();
}

TEST(TcFilterCodecErrors, AnActionFlowliftDoesNotModelIsAnErrorNamingIt) {
  TcFilterTestMessage message;
  message.flower([](nlmsghdr* h) {
    nlattr* actions = mnl_attr_nest_start(h, TCA_FLOWER_ACT);
    nlattr* entry = mnl_attr_nest_start(h, 1);
    mnl_attr_put_strz(h, TCA_ACT_KIND, "skbedit");
    nlattr* options = mnl_attr_nest_start(h, TCA_ACT_OPTIONS);
    mnl_attr_nest_end(h, options);
    mnl_attr_nest_end(h, entry);
    mnl_attr_nest_end(h, actions);
  });
  Result<TcParsedFilter> parsed = parse_tc_filter_message(message.bytes());
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_EQ(parsed.status().code(), EOPNOTSUPP);
  EXPECT_NE(parsed.status().message().find("action 1: action kind \"skbedit\""), std::string::npos)
      << parsed.status().message();
}

TEST(TcFilterCodecErrors, AShortActionStructIsNamed) {
  TcFilterTestMessage message;
  message.flower([](nlmsghdr* h) {
    nlattr* actions = mnl_attr_nest_start(h, TCA_FLOWER_ACT);
    nlattr* entry = mnl_attr_nest_start(h, 1);
    mnl_attr_put_strz(h, TCA_ACT_KIND, "mirred");
    nlattr* options = mnl_attr_nest_start(h, TCA_ACT_OPTIONS);
    mnl_attr_put_u32(h, TCA_MIRRED_PARMS, 1);
    mnl_attr_nest_end(h, options);
    mnl_attr_nest_end(h, entry);
    mnl_attr_nest_end(h, actions);
  });
  Result<TcParsedFilter> parsed = parse_tc_filter_message(message.bytes());
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_NE(
      parsed.status().message().find("action 1: mirred: TCA_MIRRED_PARMS: 4 bytes, expected at least 28"),
      std::string::npos)
      << parsed.status().message();
}

TEST(TcFilterCodecErrors, AMessageOfAnotherTypeIsRefused) {
  TcFilterTestMessage message(RTM_NEWQDISC);
  Result<TcParsedFilter> parsed = parse_tc_filter_message(message.bytes());
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_NE(parsed.status().message().find("is not RTM_NEWTFILTER"), std::string::npos);
}

}  // namespace
}  // namespace flowlift
