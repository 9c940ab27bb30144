// The TC filter codec against the real judges (issue 6, section 4): Linux's
// cls_flower and act_* modules accept the RTM_NEWTFILTER we encode, echo
// them back in a form our parser reads to the rule we sent (with the handle
// the kernel chose and its in_hw flags), dump them the same way, and
// iproute2's `tc -j -s filter show` shows the keys, masks and actions we
// meant. skip_hw throughout (no NIC in the lab), on a veth and a VXLAN
// device (`external`, for the tunnel keys) with clsact qdiscs, in a fresh
// network namespace. The requests go over a plain libmnl NETLINK_ROUTE
// socket written here, independent of the production session.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kmod/lab_test_support.h"
#include "offload/tc_filter_codec.h"
#include "offload/tc_flower_rule.h"
#include "offload/tc_flower_rule_examples_for_tests.h"

namespace flowlift {
namespace {

using Bytes = std::vector<uint8_t>;

struct TcLabSocketCloser {
  void operator()(mnl_socket* socket) const { mnl_socket_close(socket); }
};
using TcLabSocket = std::unique_ptr<mnl_socket, TcLabSocketCloser>;

// What the kernel answered to one request: its error (0: acknowledged), the
// extack text, and the RTM_NEWTFILTER messages before the ack (the echo, or
// the dump's parts).
struct TcLabReply {
  int error = 0;
  std::string extack;
  std::vector<Bytes> messages;
};

TcLabSocket open_route_socket() {
  TcLabSocket socket(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
  if (!socket) return socket;
  if (mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0) return TcLabSocket();
  int on = 1;
  (void)mnl_socket_setsockopt(socket.get(), NETLINK_EXT_ACK, &on, sizeof on);
  (void)mnl_socket_setsockopt(socket.get(), NETLINK_CAP_ACK, &on, sizeof on);
  return socket;
}

std::string extack_of(const nlmsghdr* header) {
  if (!(header->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
  const size_t offset = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(nlmsgerr));  // NETLINK_CAP_ACK: no request copy
  if (header->nlmsg_len <= offset) return "";
  const auto* begin = reinterpret_cast<const uint8_t*>(header) + offset;
  const auto* attribute = reinterpret_cast<const nlattr*>(begin);
  int left = static_cast<int>(header->nlmsg_len - offset);
  while (mnl_attr_ok(attribute, left)) {
    if (mnl_attr_get_type(attribute) == NLMSGERR_ATTR_MSG) return mnl_attr_get_str(attribute);
    left -= static_cast<int>(MNL_ALIGN(attribute->nla_len));
    attribute = mnl_attr_next(attribute);
  }
  return "";
}

// Sends one request and reads until its ack, error or NLMSG_DONE (or, for
// a GET without NLM_F_ACK, its one reply).
TcLabReply transact(mnl_socket* socket, const Bytes& request) {
  TcLabReply reply;
  const auto* request_header = reinterpret_cast<const nlmsghdr*>(request.data());
  const uint32_t seq = request_header->nlmsg_seq;
  const bool single_reply = !(request_header->nlmsg_flags & (NLM_F_ACK | NLM_F_DUMP));
  if (mnl_socket_sendto(socket, request.data(), request.size()) < 0) {
    reply.error = errno;
    reply.extack = "sendto failed";
    return reply;
  }
  std::vector<uint8_t> buffer(1 << 16);
  for (;;) {
    const ssize_t received = mnl_socket_recvfrom(socket, buffer.data(), buffer.size());
    if (received <= 0) {
      reply.error = EIO;
      reply.extack = "recv failed";
      return reply;
    }
    const auto* header = reinterpret_cast<const nlmsghdr*>(buffer.data());
    int left = static_cast<int>(received);
    while (mnl_nlmsg_ok(header, left)) {
      if (header->nlmsg_seq == seq) {
        if (header->nlmsg_type == NLMSG_ERROR) {
          nlmsgerr error;
          std::memcpy(&error, mnl_nlmsg_get_payload(header), sizeof error);
          reply.error = -error.error;
          reply.extack = extack_of(header);
          return reply;
        }
        if (header->nlmsg_type == NLMSG_DONE) return reply;
        const auto* bytes = reinterpret_cast<const uint8_t*>(header);
        reply.messages.emplace_back(bytes, bytes + header->nlmsg_len);
        if (single_reply) return reply;
      }
      header = mnl_nlmsg_next(header, &left);
    }
  }
}

class TcFilterCodecLab : public LabTest {
 protected:
  void SetUp() override {
    LabTest::SetUp();
    if (IsSkipped()) return;
    netns_ = std::make_unique<TestNetns>(unique_netns_name("tc"));
    ASSERT_TRUE(netns_->created());
    netns_->ip("link add a0 type veth peer name b0");
    netns_->ip("link add vxlan0 type vxlan external dstport 4789");
    for (const char* device : {"a0", "b0", "vxlan0"}) netns_->ip(std::string("link set ") + device + " up");
    tc("qdisc add dev a0 clsact");
    tc("qdisc add dev vxlan0 clsact");
    auto opened = in_namespace(netns_->name(), [] {
      struct Opened {
        std::shared_ptr<mnl_socket> socket;
        uint32_t a0, b0, vxlan0;
      };
      return Opened{std::shared_ptr<mnl_socket>(open_route_socket().release(), TcLabSocketCloser{}),
                    ::if_nametoindex("a0"), ::if_nametoindex("b0"), ::if_nametoindex("vxlan0")};
    });
    ASSERT_TRUE(opened.has_value());
    ASSERT_TRUE(opened->socket) << "cannot open a NETLINK_ROUTE socket in the namespace";
    socket_ = opened->socket;
    a0_ = opened->a0;
    b0_ = opened->b0;
    vxlan0_ = opened->vxlan0;
    ASSERT_NE(a0_, 0u);
    ASSERT_NE(b0_, 0u);
    ASSERT_NE(vxlan0_, 0u);
  }

  std::string tc(const std::string& arguments) {
    NetnsCommandOutput result = netns_->exec("tc " + arguments);
    EXPECT_EQ(result.exit_code, 0) << "tc " << arguments << ": " << result.output;
    return result.output;
  }

  std::string device_name(uint32_t ifindex) const {
    if (ifindex == a0_) return "a0";
    if (ifindex == b0_) return "b0";
    if (ifindex == vxlan0_) return "vxlan0";
    return "?";
  }

  // Installs `rule` (create), checks the echo, and returns the rule with the
  // kernel's handle.
  TcFlowerRule install(TcFlowerRule rule, uint32_t seq) {
    const TcLabReply reply = transact(socket_.get(), encode_tc_filter_new(rule, TcFilterWrite::kCreate, seq));
    EXPECT_EQ(reply.error, 0) << "priority " << rule.priority << ": " << std::strerror(reply.error) << ": "
                              << reply.extack;
    EXPECT_EQ(reply.messages.size(), 1u) << "priority " << rule.priority << ": the echo of the new filter";
    if (reply.error != 0 || reply.messages.empty()) return rule;
    Result<TcParsedFilter> echo = parse_tc_filter_message(reply.messages[0]);
    EXPECT_TRUE(echo.is_ok()) << "priority " << rule.priority << ": " << echo.status().message();
    if (!echo.is_ok()) return rule;
    EXPECT_NE(echo->rule.handle, 0u);
    rule.handle = echo->rule.handle;
    EXPECT_EQ(echo->rule, rule) << "priority " << rule.priority << ": the echo differs from what we sent";
    EXPECT_TRUE(echo->has_flags);
    EXPECT_TRUE(echo->not_in_hw) << "priority " << rule.priority
                                 << ": no NIC here, nothing can be in hardware";
    EXPECT_FALSE(echo->in_hw);
    EXPECT_EQ(echo->in_hw_count, 0u);
    EXPECT_TRUE(echo->has_cookie);
    return rule;
  }

  // Every flower filter of our dump of (ifindex, ingress), by (chain, priority).
  std::map<std::pair<uint32_t, uint16_t>, TcParsedFilter> dump(uint32_t ifindex, uint32_t seq) {
    std::map<std::pair<uint32_t, uint16_t>, TcParsedFilter> filters;
    const TcLabReply reply = transact(socket_.get(), encode_tc_filter_dump(ifindex, kTcIngressParent, seq));
    EXPECT_EQ(reply.error, 0) << std::strerror(reply.error) << ": " << reply.extack;
    for (const Bytes& message : reply.messages) {
      Result<TcParsedFilter> parsed = parse_tc_filter_message(message);
      if (!parsed.is_ok() && parsed.status().code() == ENODATA) continue;  // a priority's header
      EXPECT_TRUE(parsed.is_ok()) << parsed.status().message();
      if (parsed.is_ok())
        filters.emplace(std::pair(parsed->rule.chain, parsed->rule.priority), std::move(*parsed));
    }
    return filters;
  }

  std::unique_ptr<TestNetns> netns_;
  std::shared_ptr<mnl_socket> socket_;
  uint32_t a0_ = 0, b0_ = 0, vxlan0_ = 0;
};

// The `tc -j -s filter show` entry of one filter (it has "options").
const nlohmann::json* tc_json_filter(const nlohmann::json& shown, const TcFlowerRule& rule) {
  if (!shown.is_array()) return nullptr;
  for (const nlohmann::json& entry : shown) {
    if (!entry.contains("options") || entry.value("pref", -1) != rule.priority) continue;
    if (entry.value("chain", 0u) != rule.chain) continue;
    return &entry;
  }
  return nullptr;
}

// iproute2's text of a key value we can predict exactly, per key.
struct TcJsonExpectation {
  std::string key;
  nlohmann::json value;
};

// Values as iproute2 6.1 prints them (f_flower.c): some as numbers, some
// as strings, masks of small keys as "<name>_mask" hex, prefixes as "/len".
std::vector<TcJsonExpectation> tc_json_expectations(int priority) {
  using nlohmann::json;
  switch (priority) {
    case 1:  // IPv4/TCP megaflow
      return {{"dst_mac", "02:00:00:00:00:02"},
              {"src_mac", "02:00:00:00:00:00/24"},
              {"src_ip", "10.1.2.0/24"},
              {"dst_ip", "10.1.3.4"},
              {"eth_type", "ipv4"},
              {"ip_proto", "tcp"},
              {"dst_port", 443},
              {"src_port", 32768},
              {"src_port_mask", "8000"},
              {"ip_tos", 16},
              {"ip_tos_mask", "fc"},
              {"ip_ttl", 64},
              {"tcp_flags", "0x2/12"},
              {"ip_flags", json{{"frag", false}}}};
    case 2:  // VLAN
      return {{"vlan_id", 100}, {"vlan_prio", 3}, {"ip_proto", "udp"}, {"dst_port", 53}};
    case 3:  // QinQ
      return {{"vlan_id", 10}, {"cvlan_id", 256}, {"cvlan_prio", 5}};
    case 4:  // IPv6
      return {{"src_ip", "2001:db8:1::/48"}, {"dst_ip", "2001:db8:2::1"}, {"eth_type", "ipv6"},
              {"ip_proto", "icmpv6"},        {"icmp_type", "128"},        {"icmp_code", "0"}};
    case 5:  // ARP
      return {{"arp_sip", "10.1.2.0/24"}, {"arp_tip", "10.1.2.1"}, {"eth_type", "arp"}};
    case 6:  // MPLS
      return {{"eth_type", "8847"},
              {"mpls_label", 123456},
              {"mpls_tc", "2"},
              {"mpls_bos", "1"},
              {"mpls_ttl", "63"}};
    case 8:  // VXLAN decap keys
      return {{"enc_key_id", 5000},
              {"enc_src_ip", "192.168.0.2"},
              {"enc_dst_ip", "192.168.0.0/24"},
              {"enc_dst_port", 4789},
              {"enc_tos", 0},
              {"enc_tos_mask", "fc"},
              {"enc_ttl", 64}};
    case 10:  // pedit
      return {{"dst_ip", "10.1.3.4"}, {"ip_proto", "udp"}};
    default:
      return {};
  }
}

// Keys the kernel dumps (our parser reads them: checked above) but iproute2
// 6.1 does not print: f_flower.c has no printer for the tunnel's UDP source
// port.
bool iproute2_prints(TcFlowerField field) { return field != TcFlowerField::kEncUdpSrcPort; }

TEST_F(TcFilterCodecLab, TheKernelTakesOurFiltersAndIproute2AndOurParserReadThemBackAsSent) {
  std::vector<TcFlowerRule> rules = {tc_example_ipv4_tcp_rule(a0_, b0_),
                                     tc_example_vlan_rule(a0_, b0_),
                                     tc_example_qinq_rule(a0_, b0_),
                                     tc_example_ipv6_rule(a0_),
                                     tc_example_arp_rule(a0_, b0_),
                                     tc_example_mpls_rule(a0_, b0_),
                                     tc_example_vxlan_encap_rule(a0_, vxlan0_),
                                     tc_example_vxlan_decap_rule(vxlan0_, b0_),
                                     tc_example_pedit_rule(a0_, b0_),
                                     tc_example_goto_chain_rule(a0_),
                                     tc_example_icmp_in_chain_rule(a0_, b0_)};
  uint32_t seq = 100;
  for (TcFlowerRule& rule : rules) rule = install(rule, seq++);

  // Our own dump reads every filter back to the rule we sent.
  for (uint32_t ifindex : {a0_, vxlan0_}) {
    auto filters = dump(ifindex, seq++);
    size_t expected_count = 0;
    for (const TcFlowerRule& rule : rules) {
      if (rule.ifindex != ifindex) continue;
      ++expected_count;
      auto found = filters.find({rule.chain, rule.priority});
      ASSERT_NE(found, filters.end()) << "priority " << rule.priority << " missing from the dump";
      EXPECT_EQ(found->second.rule, rule)
          << "priority " << rule.priority << ": the dump differs from what we sent";
      EXPECT_TRUE(found->second.not_in_hw);
      EXPECT_EQ(found->second.in_hw_count, 0u);
      EXPECT_EQ(found->second.total, TcFilterStats{}) << "no traffic yet";
      EXPECT_TRUE(found->second.last_used_ms_ago.has_value());
    }
    EXPECT_EQ(filters.size(), expected_count);
  }

  // iproute2: the same filters, keys, masks and actions.
  for (const char* device : {"a0", "vxlan0"}) {
    const std::string text = tc(std::string("-j -s filter show dev ") + device + " ingress");
    const nlohmann::json shown = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(shown.is_discarded()) << text;
    for (const TcFlowerRule& rule : rules) {
      if (device_name(rule.ifindex) != device) continue;
      const nlohmann::json* filter = tc_json_filter(shown, rule);
      ASSERT_NE(filter, nullptr) << "priority " << rule.priority << " not shown by tc:\n" << shown.dump(1);
      const nlohmann::json& options = (*filter)["options"];
      const std::string context = "priority " + std::to_string(rule.priority) + ": " + filter->dump();
      EXPECT_EQ(options.value("handle", 0u), rule.handle) << context;
      EXPECT_EQ(options.value("skip_hw", false), rule.policy == TcPolicy::kSkipHw) << context;
      EXPECT_TRUE(options.value("not_in_hw", false)) << context;
      const nlohmann::json keys = options.value("keys", nlohmann::json::object());
      for (const TcFlowerKey& key : rule.match.keys) {
        const std::string_view name = tc_flower_field_info(key.field).tc_name;
        if (iproute2_prints(key.field)) {
          EXPECT_TRUE(keys.contains(std::string(name))) << "key " << name << " not shown; " << context;
        }
      }
      for (const TcJsonExpectation& expected : tc_json_expectations(rule.priority))
        EXPECT_EQ(keys.value(expected.key, nlohmann::json()), expected.value)
            << expected.key << "; " << context;
      const nlohmann::json actions = options.value("actions", nlohmann::json::array());
      ASSERT_EQ(actions.size(), rule.actions.size()) << context;
      for (size_t i = 0; i < rule.actions.size(); ++i) {
        const nlohmann::json& shown_action = actions[i];
        const TcAction& action = rule.actions[i];
        EXPECT_EQ(shown_action.value("order", 0u), i + 1) << context;
        EXPECT_EQ(shown_action.value("kind", ""), tc_action_kind(action)) << context;
        EXPECT_EQ(shown_action.value("cookie", ""), tc_cookie_text(rule.cookie)) << context;
        EXPECT_TRUE(shown_action.contains("stats")) << "-s shows each action's counters; " << context;
        if (const auto* mirred = std::get_if<TcMirredAction>(&action)) {
          EXPECT_EQ(shown_action.value("mirred_action", ""), mirred->redirect ? "redirect" : "mirror")
              << context;
          EXPECT_EQ(shown_action.value("to_dev", ""), device_name(mirred->ifindex)) << context;
          EXPECT_EQ(shown_action.value("direction", ""), "egress") << context;
        } else if (std::holds_alternative<TcVlanPopAction>(action)) {
          EXPECT_EQ(shown_action.value("vlan_action", ""), "pop") << context;
        } else if (const auto* push = std::get_if<TcVlanPushAction>(&action)) {
          EXPECT_EQ(shown_action.value("vlan_action", ""), "push") << context;
          EXPECT_EQ(shown_action.value("id", 0u), push->vid) << context;
          EXPECT_EQ(shown_action.value("priority", 0u), push->prio) << context;
        } else if (std::holds_alternative<TcTunnelKeyUnsetAction>(action)) {
          EXPECT_EQ(shown_action.value("mode", ""), "unset") << context;
        } else if (std::holds_alternative<TcTunnelKeySetAction>(action)) {
          EXPECT_EQ(shown_action.value("mode", ""), "set") << context;
        } else if (const auto* pedit = std::get_if<TcPeditAction>(&action)) {
          EXPECT_EQ(shown_action.value("nkeys", 0u), pedit->keys.size()) << context;
        } else if (const auto* jump = std::get_if<TcGotoChainAction>(&action)) {
          const nlohmann::json control = shown_action.value("control_action", nlohmann::json::object());
          EXPECT_EQ(control.value("type", ""), "goto") << context;
          EXPECT_EQ(control.value("chain", 0u), jump->chain) << context;
        } else if (std::holds_alternative<TcDropAction>(action)) {
          const nlohmann::json control = shown_action.value("control_action", nlohmann::json::object());
          EXPECT_EQ(control.value("type", ""), "drop") << context;
        }
      }
    }
  }
}

// The counters: a frame sent into a0 that the ARP filter matches is
// counted by its action, in software; our parser reads one packet back
// through an RTM_GETTFILTER. The filter drops what it matches (a redirect to
// b0 would bring the frame back into a0, its veth peer, in a loop).
TEST_F(TcFilterCodecLab, AMatchedFrameIsCountedInSoftwareAndReadBackThroughGet) {
  TcFlowerRule rule = tc_example_arp_rule(a0_, b0_);
  rule.actions = {TcDropAction{}};
  rule = install(rule, 10);
  // An ARP request from 10.1.2.9 (02:00:00:...) for 10.1.2.1, sent from b0 so it arrives on a0.
  const Bytes frame = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
                       0x00, 0x01, 0x08, 0x00, 6,    4,    0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
                       10,   1,    2,    9,    0,    0,    0,    0,    0,    0,    10,   1,    2,    1};
  auto sent = in_namespace(netns_->name(), [&] {
    NetnsPacketSocket b0("b0");
    return b0.ok() && b0.send(frame);
  });
  ASSERT_TRUE(sent.has_value() && *sent);
  const TcLabReply reply = transact(socket_.get(), encode_tc_filter_get(rule, 11));
  ASSERT_EQ(reply.error, 0) << std::strerror(reply.error) << ": " << reply.extack;
  ASSERT_EQ(reply.messages.size(), 1u);
  Result<TcParsedFilter> got = parse_tc_filter_message(reply.messages[0]);
  ASSERT_TRUE(got.is_ok()) << got.status().message();
  EXPECT_EQ(got->rule, rule);
  EXPECT_EQ(got->total.packets, 1u);
  // Bytes as the ingress hook counts them: qdisc_pkt_len, set from
  // skb->len after eth_type_trans pulled the Ethernet header.
  EXPECT_EQ(got->total.bytes, frame.size() - 14);
  EXPECT_EQ(got->hardware, TcFilterStats{});
  ASSERT_TRUE(got->last_used_ms_ago.has_value());
  EXPECT_LT(*got->last_used_ms_ago, 60'000u);

  // And deleting it leaves nothing behind.
  const TcLabReply deleted = transact(socket_.get(), encode_tc_filter_delete(rule, 12));
  EXPECT_EQ(deleted.error, 0) << std::strerror(deleted.error) << ": " << deleted.extack;
  EXPECT_TRUE(dump(a0_, 13).empty());
}

// The write modes against the kernel: kReplace rewrites the filter its
// handle names (the echo shows the new actions), kCreate refuses a handle
// already taken (EEXIST), and a skip_sw filter is refused where no device
// can hold it in hardware: on a veth, Linux 6.1's tc_setup_cb_add answers
// EOPNOTSUPP (the block has a device without offload), with no extack text.
TEST_F(TcFilterCodecLab, ReplaceRewritesByHandleCreateRefusesATakenHandleAndSkipSwNeedsANic) {
  TcFlowerRule rule = install(tc_example_ipv4_tcp_rule(a0_, b0_), 20);
  ASSERT_NE(rule.handle, 0u);

  TcFlowerRule replaced = rule;
  replaced.actions = {TcMirredAction{b0_, "", false}, TcDropAction{}};
  const TcLabReply replace =
      transact(socket_.get(), encode_tc_filter_new(replaced, TcFilterWrite::kReplace, 21));
  ASSERT_EQ(replace.error, 0) << std::strerror(replace.error) << ": " << replace.extack;
  ASSERT_EQ(replace.messages.size(), 1u);
  Result<TcParsedFilter> echo = parse_tc_filter_message(replace.messages[0]);
  ASSERT_TRUE(echo.is_ok()) << echo.status().message();
  EXPECT_EQ(echo->rule, replaced);
  auto filters = dump(a0_, 22);
  ASSERT_EQ(filters.size(), 1u);
  EXPECT_EQ(filters.begin()->second.rule, replaced);

  const TcLabReply again = transact(socket_.get(), encode_tc_filter_new(rule, TcFilterWrite::kCreate, 23));
  EXPECT_EQ(again.error, EEXIST) << std::strerror(again.error) << ": " << again.extack;

  TcFlowerRule hardware_only = tc_example_vlan_rule(a0_, b0_);
  hardware_only.policy = TcPolicy::kSkipSw;
  const TcLabReply refused =
      transact(socket_.get(), encode_tc_filter_new(hardware_only, TcFilterWrite::kCreate, 24));
  EXPECT_EQ(refused.error, EOPNOTSUPP) << std::strerror(refused.error) << ": " << refused.extack;
  EXPECT_TRUE(refused.messages.empty());
  std::printf("skip_sw on a veth: errno %d (%s), extack \"%s\"\n", refused.error,
              std::strerror(refused.error), refused.extack.c_str());
  EXPECT_EQ(dump(a0_, 25).size(), 1u) << "nothing installed by the refused request";
}

// The other direction: filters that iproute2 encodes (`tc filter add`), as
// the kernel dumps them, read by our parser to the rules flowlift would have
// sent for the same match and actions. With FLOWLIFT_TC_RECORD set, the
// dumped messages are printed as hex (the source of the recorded replies in
// tc_filter_codec_test.cc).
TEST_F(TcFilterCodecLab, FiltersIproute2CreatedParseToTheRulesWeWouldHaveSent) {
  auto cookie = [](const TcFlowerRule& rule) { return " cookie " + tc_cookie_text(rule.cookie); };
  auto without = [](TcFlowerRule rule, std::initializer_list<TcFlowerField> fields) {
    for (TcFlowerField field : fields)
      std::erase_if(rule.match.keys, [&](const TcFlowerKey& key) { return key.field == field; });
    return rule;
  };
  struct Iproute2Case {
    TcFlowerRule expected;
    std::string command;
  };
  const TcFlowerRule ipv4 = without(tc_example_ipv4_tcp_rule(a0_, b0_), {TcFlowerField::kTcpSrc});
  const TcFlowerRule vlan = tc_example_vlan_rule(a0_, b0_);
  const TcFlowerRule qinq = tc_example_qinq_rule(a0_, b0_);
  const TcFlowerRule ipv6 = tc_example_ipv6_rule(a0_);
  const TcFlowerRule arp = tc_example_arp_rule(a0_, b0_);
  const TcFlowerRule encap = tc_example_vxlan_encap_rule(a0_, vxlan0_);
  const TcFlowerRule decap =
      without(tc_example_vxlan_decap_rule(vxlan0_, b0_), {TcFlowerField::kEncUdpSrcPort});
  const TcFlowerRule pedit = tc_example_pedit_rule(a0_, b0_);
  const std::vector<Iproute2Case> cases = {
      {ipv4,
       "dev a0 ingress pref 1 protocol ip flower skip_hw dst_mac 02:00:00:00:00:02 src_mac "
       "02:00:00:00:00:00/ff:ff:ff:00:00:00 ip_proto tcp ip_tos 0x10/0xfc ip_ttl 64 ip_flags nofrag src_ip "
       "10.1.2.0/24 dst_ip 10.1.3.4 dst_port 443 tcp_flags 0x2/0x12 action mirred egress redirect dev b0" +
           cookie(ipv4)},
      {vlan,
       "dev a0 ingress pref 2 protocol 802.1q flower skip_hw vlan_id 100 vlan_prio 3 vlan_ethtype ip "
       "ip_proto "
       "udp dst_port 53 action vlan pop" +
           cookie(vlan) + " action mirred egress mirror dev b0" + cookie(vlan) +
           " action mirred egress redirect dev b0" + cookie(vlan)},
      {qinq,
       "dev a0 ingress pref 3 protocol 802.1ad flower skip_hw vlan_id 10 vlan_ethtype 802.1q cvlan_id 256 "
       "cvlan_prio 5 cvlan_ethtype ip action vlan modify id 20 priority 1 protocol 802.1ad" +
           cookie(qinq) + " action vlan push id 30 priority 2 protocol 802.1q" + cookie(qinq) +
           " action mirred egress redirect dev b0" + cookie(qinq)},
      {ipv6,
       "dev a0 ingress pref 4 protocol ipv6 flower skip_hw ip_proto icmpv6 src_ip 2001:db8:1::/48 dst_ip "
       "2001:db8:2::1 type 128 code 0 action drop" +
           cookie(ipv6)},
      {arp,
       "dev a0 ingress pref 5 protocol arp flower skip_hw arp_sip 10.1.2.0/24 arp_tip 10.1.2.1 arp_op "
       "request "
       "arp_sha 02:00:00:00:00:00/ff:ff:ff:00:00:00 arp_tha 00:00:00:00:00:00 action mirred egress redirect "
       "dev b0" +
           cookie(arp)},
      {encap,
       "dev a0 ingress pref 7 protocol ip flower skip_hw dst_mac 02:00:00:00:00:09 ip_proto udp dst_ip "
       "10.9.0.0/16 src_port 5000 action tunnel_key set src_ip 192.168.0.1 dst_ip 192.168.0.2 id 5000 "
       "dst_port 4789 tos 0x10 ttl 64 csum" +
           cookie(encap) + " action mirred egress redirect dev vxlan0" + cookie(encap)},
      {decap,
       "dev vxlan0 ingress pref 8 protocol ip flower skip_hw enc_key_id 5000 enc_src_ip 192.168.0.2 "
       "enc_dst_ip 192.168.0.0/24 enc_dst_port 4789 enc_tos 0/0xfc enc_ttl 64 action tunnel_key unset" +
           cookie(decap) + " action mirred egress redirect dev b0" + cookie(decap)},
      {pedit,
       "dev a0 ingress pref 10 protocol ip flower skip_hw ip_proto udp dst_ip 10.1.3.4 dst_port 53 action "
       "pedit ex munge ip ttl set 63 munge ip dst set 10.1.3.5 munge eth dst set 02:00:00:00:00:07" +
           cookie(pedit) + " action csum ip4h udp" + cookie(pedit) + " action mirred egress redirect dev b0" +
           cookie(pedit)},
  };
  for (const Iproute2Case& each : cases) tc("filter add " + each.command);
  const bool record = std::getenv("FLOWLIFT_TC_RECORD") != nullptr;
  uint32_t seq = 200;
  for (uint32_t ifindex : {a0_, vxlan0_}) {
    const TcLabReply reply = transact(socket_.get(), encode_tc_filter_dump(ifindex, kTcIngressParent, seq++));
    ASSERT_EQ(reply.error, 0) << std::strerror(reply.error) << ": " << reply.extack;
    for (const Bytes& message : reply.messages) {
      Result<TcParsedFilter> parsed = parse_tc_filter_message(message);
      if (!parsed.is_ok() && parsed.status().code() == ENODATA) continue;
      ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
      if (record) {
        std::printf("TC_RECORDED pref %u:", parsed->rule.priority);
        for (uint8_t byte : message) std::printf(" %02x", byte);
        std::printf("\n");
      }
      const Iproute2Case* match = nullptr;
      for (const Iproute2Case& each : cases)
        if (each.expected.priority == parsed->rule.priority && each.expected.ifindex == ifindex)
          match = &each;
      ASSERT_NE(match, nullptr) << "priority " << parsed->rule.priority;
      TcFlowerRule expected = match->expected;
      EXPECT_NE(parsed->rule.handle, 0u);
      expected.handle = parsed->rule.handle;
      EXPECT_EQ(parsed->rule, expected)
          << "priority " << expected.priority << " from `tc filter add " << match->command << "`";
      EXPECT_TRUE(parsed->not_in_hw);
      EXPECT_TRUE(parsed->has_cookie);
    }
  }
}

}  // namespace
}  // namespace flowlift
