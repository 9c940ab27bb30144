// The offload decision: every refusal rule fires with the reason a user
// reads in dump-megaflows, on rules built directly as TcFlowerRule values.
// Expected reasons follow the drivers' documented limits that the profiles
// cite (ice: exact matches, one redirect or drop; mlx5: VLAN depth 2,
// enc_dst_port exact, DSCP but not ECN rewrite, csum only with pedit).
#include "offload/offload_decision.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/tc_act/tc_csum.h>
#include <linux/tc_act/tc_pedit.h>

#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "offload/builtin_capability_profiles.h"

namespace flowlift {
namespace {

using Json = nlohmann::json;
using F = TcFlowerField;

TcFlowerKey decision_key(F field, std::initializer_list<uint8_t> value,
                         std::initializer_list<uint8_t> mask = {}) {
  TcFlowerKey key;
  key.field = field;
  std::copy(value.begin(), value.end(), key.value.begin());
  if (mask.size() == 0) {
    for (uint8_t i = 0; i < key.width(); ++i) key.mask[i] = 0xff;
  } else {
    std::copy(mask.begin(), mask.end(), key.mask.begin());
  }
  return key;
}

TcMirredAction redirect_to(std::string device, uint32_t ifindex) {
  TcMirredAction mirred;
  mirred.device = std::move(device);
  mirred.ifindex = ifindex;
  mirred.redirect = true;
  return mirred;
}

// ip,nw_proto=6,nw_dst=10.0.0.1 in_port=eth2 -> output:eth3: every profile takes it.
TcFlowerRule tcp_forward_rule() {
  TcFlowerRule rule;
  rule.device = "eth2";
  rule.ifindex = 5;
  rule.priority = 2;
  rule.protocol = htons(0x0800);
  rule.match.set(decision_key(F::kEthType, {0x08, 0x00}));
  rule.match.set(decision_key(F::kIpProto, {6}));
  rule.match.set(decision_key(F::kIpv4Dst, {10, 0, 0, 1}));
  rule.actions.push_back(redirect_to("eth3", 6));
  return rule;
}

// A pedit key on `header` at `offset` rewriting the bits of `rewritten`
// (wire order bytes); the key's mask keeps the others.
TcPeditKey pedit_rewriting(uint16_t header, uint32_t offset, std::array<uint8_t, 4> rewritten) {
  TcPeditKey key;
  key.header = header;
  key.offset = offset;
  std::array<uint8_t, 4> kept;
  for (size_t i = 0; i < 4; ++i) kept[i] = static_cast<uint8_t>(~rewritten[i]);
  std::memcpy(&key.mask, kept.data(), 4);
  return key;
}

const CapabilityProfile& builtin(std::string_view name) {
  static const std::map<std::string, CapabilityProfile, std::less<>> profiles = [] {
    std::map<std::string, CapabilityProfile, std::less<>> loaded;
    for (const std::string& builtin_name : builtin_capability_profile_names()) {
      auto profile = load_capability_profile(builtin_name);
      if (profile) loaded.emplace(builtin_name, std::move(*profile));
    }
    return loaded;
  }();
  static const CapabilityProfile kEmpty;
  auto it = profiles.find(name);
  if (it == profiles.end()) {
    ADD_FAILURE() << "built-in profile " << name << " did not load";
    return kEmpty;
  }
  return it->second;
}

// tc-software with an edit, for the limits no built-in profile sets.
template <typename Edit>
CapabilityProfile edited_tc_software(Edit edit) {
  Json json;
  for (const BuiltinCapabilityProfileText& text : builtin_capability_profile_texts())
    if (text.name == "tc-software") json = Json::parse(text.json);
  json["name"] = "custom";
  edit(json);
  auto profile = parse_capability_profile(json.dump());
  EXPECT_TRUE(profile) << profile.status().message();
  CapabilityProfile parsed;  // (g++ 12 fails on `CapabilityProfile{}` here: an ICE in check_noexcept_r)
  if (profile) parsed = std::move(profile).value();
  return parsed;
}

std::string refusal(const TcFlowerRule& rule, const CapabilityProfile& profile, OffloadUsage usage = {}) {
  OffloadDecision decision = decide_offload(rule, profile, usage);
  if (decision.accepted) {
    EXPECT_TRUE(decision.reason.empty());
    return "accepted";
  }
  return decision.reason;
}

TEST(OffloadDecision, APlainForwardingRuleGoesToEveryTarget) {
  for (const std::string& name : builtin_capability_profile_names())
    EXPECT_EQ(refusal(tcp_forward_rule(), builtin(name)), "accepted") << name;
}

TEST(OffloadDecision, IceTakesOneActionPerRule) {
  TcFlowerRule rule = tcp_forward_rule();
  rule.actions.insert(rule.actions.begin(), TcVlanPushAction{htons(0x8100), 10, 0});
  rule.actions.insert(rule.actions.begin(), TcTunnelKeyUnsetAction{});
  EXPECT_EQ(refusal(rule, builtin("ice-e810")),
            "refused by profile ice-e810: one action per rule, flow has 3");
  EXPECT_EQ(refusal(rule, builtin("tc-software")), "accepted");
}

TEST(OffloadDecision, IceWantsExactMasks) {
  TcFlowerRule rule = tcp_forward_rule();
  rule.match.set(decision_key(F::kIpv4Dst, {10, 0, 0, 0}, {255, 255, 255, 0}));
  EXPECT_EQ(refusal(rule, builtin("ice-e810")),
            "refused by profile ice-e810: ipv4_dst needs an exact mask, flow has /24");
  EXPECT_EQ(refusal(rule, builtin("mlx5-connectx6dx")), "accepted");

  TcFlowerRule port_range = tcp_forward_rule();
  port_range.match.set(decision_key(F::kTcpDst, {0x1f, 0x00}, {0xff, 0x00}));
  EXPECT_EQ(refusal(port_range, builtin("ice-e810")),
            "refused by profile ice-e810: tcp_dst needs an exact mask, flow has mask 0xff00");

  TcFlowerRule mac = tcp_forward_rule();
  mac.match.set(decision_key(F::kEthDst, {0x01, 0, 0, 0, 0, 0}, {0x01, 0, 0, 0, 0, 0}));
  EXPECT_EQ(refusal(mac, builtin("ice-e810")),
            "refused by profile ice-e810: eth_dst needs an exact mask, flow has mask 01:00:00:00:00:00");
}

TEST(OffloadDecision, AFieldTheTargetCannotMatchIsNamed) {
  TcFlowerRule rule = tcp_forward_rule();
  rule.match.set(decision_key(F::kTcpFlags, {0x00, 0x02}, {0x0f, 0xff}));
  EXPECT_EQ(refusal(rule, builtin("ice-e810")),
            "refused by profile ice-e810: match on tcp_flags not supported");
  EXPECT_EQ(refusal(rule, builtin("mlx5-connectx6dx")), "accepted");

  TcFlowerRule sctp = tcp_forward_rule();
  sctp.match.set(decision_key(F::kIpProto, {132}));
  sctp.match.set(decision_key(F::kSctpDst, {0x0b, 0x59}));
  EXPECT_EQ(refusal(sctp, builtin("mlx5-connectx6dx")),
            "refused by profile mlx5-connectx6dx: match on sctp_dst not supported");
}

TEST(OffloadDecision, AKeyWithAZeroMaskIsNoMatchAtAll) {
  TcFlowerRule rule = tcp_forward_rule();
  rule.match.set(decision_key(F::kTcpFlags, {0, 0}, {0, 0}));
  EXPECT_EQ(refusal(rule, builtin("ice-e810")), "accepted");
}

TEST(OffloadDecision, IceRefusesEveryActionButRedirectAndDrop) {
  TcFlowerRule pedit = tcp_forward_rule();
  pedit.actions = {TcPeditAction{{pedit_rewriting(TCA_PEDIT_KEY_EX_HDR_TYPE_IP4, 8, {0xff, 0, 0, 0})}}};
  EXPECT_EQ(refusal(pedit, builtin("ice-e810")), "refused by profile ice-e810: action pedit not supported");

  TcFlowerRule mirror = tcp_forward_rule();
  std::get<TcMirredAction>(mirror.actions[0]).redirect = false;
  EXPECT_EQ(refusal(mirror, builtin("ice-e810")),
            "refused by profile ice-e810: action mirred mirror not supported");

  TcFlowerRule go = tcp_forward_rule();
  go.actions = {TcGotoChainAction{4}};
  EXPECT_EQ(refusal(go, builtin("ice-e810")),
            "refused by profile ice-e810: action gact goto_chain not supported");

  TcFlowerRule drop = tcp_forward_rule();
  drop.actions = {TcDropAction{}};
  EXPECT_EQ(refusal(drop, builtin("ice-e810")), "accepted");

  TcFlowerRule none = tcp_forward_rule();
  none.actions.clear();
  EXPECT_EQ(refusal(none, builtin("ice-e810")),
            "refused by profile ice-e810: a rule needs at least 1 action(s), flow has none");
  EXPECT_EQ(refusal(none, builtin("tc-software")), "accepted");
}

TEST(OffloadDecision, ChainsNeedTheTargetsSupport) {
  TcFlowerRule rule = tcp_forward_rule();
  rule.chain = 3;
  EXPECT_EQ(refusal(rule, builtin("ice-e810")),
            "refused by profile ice-e810: chains not supported, flow is in chain 3");
  EXPECT_EQ(refusal(rule, builtin("mlx5-connectx6dx")), "accepted");

  rule.chain = 0x10000000;
  EXPECT_EQ(refusal(rule, builtin("tc-software")),
            "refused by profile tc-software: chain 268435456 above the chain limit 268435455");

  TcFlowerRule go = tcp_forward_rule();
  go.actions = {TcGotoChainAction{0x10000000}};
  EXPECT_EQ(refusal(go, builtin("tc-software")),
            "refused by profile tc-software: goto chain 268435456 above the chain limit 268435455");
  CapabilityProfile no_chains = edited_tc_software([](Json& j) {
    j["limits"]["chains"] = {{"supported", false}, {"source", "test"}};
  });
  go.actions = {TcGotoChainAction{5}};
  EXPECT_EQ(refusal(go, no_chains), "refused by profile custom: chains not supported (goto chain 5)");
}

TEST(OffloadDecision, TheRuleLimitIsReachedOnTheDevice) {
  const TcFlowerRule rule = tcp_forward_rule();
  EXPECT_EQ(refusal(rule, builtin("ice-e810"), {.rules_on_device = 16383}), "accepted");
  EXPECT_EQ(refusal(rule, builtin("ice-e810"), {.rules_on_device = 16384}),
            "refused by profile ice-e810: rule limit 16384 reached on eth2");
  EXPECT_EQ(refusal(rule, builtin("tc-software"), {.rules_on_device = 10'000'000}), "accepted");

  CapabilityProfile per_port =
      edited_tc_software([](Json& j) { j["limits"]["rules_per_port"]["value"] = 2; });
  EXPECT_EQ(refusal(rule, per_port, {.rules_on_device = 5, .rules_on_port = 2}),
            "refused by profile custom: per-port rule limit 2 reached on eth2");
}

TEST(OffloadDecision, AStructuralReasonComesBeforeAFullTable) {
  TcFlowerRule rule = tcp_forward_rule();
  rule.actions.push_back(TcDropAction{});
  EXPECT_EQ(refusal(rule, builtin("ice-e810"), {.rules_on_device = 20000}),
            "refused by profile ice-e810: one action per rule, flow has 2");
}

TEST(OffloadDecision, Mlx5RewritesAtMostTwoVlanTags) {
  TcFlowerRule rule = tcp_forward_rule();
  rule.actions.insert(rule.actions.begin(), TcVlanPushAction{htons(0x8100), 10, 0});
  rule.actions.insert(rule.actions.begin(), TcVlanPushAction{htons(0x88a8), 20, 0});
  EXPECT_EQ(refusal(rule, builtin("mlx5-connectx6dx")), "accepted");
  rule.actions.insert(rule.actions.begin(), TcVlanPopAction{});
  EXPECT_EQ(refusal(rule, builtin("mlx5-connectx6dx")),
            "refused by profile mlx5-connectx6dx: at most 2 VLAN push/pop actions per rule, flow has 3");
  EXPECT_EQ(refusal(rule, builtin("tc-software")), "accepted");

  TcFlowerRule tpid = tcp_forward_rule();
  tpid.actions.insert(tpid.actions.begin(), TcVlanPushAction{htons(0x9100), 10, 0});
  EXPECT_EQ(refusal(tpid, builtin("mlx5-connectx6dx")),
            "refused by profile mlx5-connectx6dx: vlan push with TPID 0x9100 not supported");
}

TEST(OffloadDecision, Mlx5RewritesTheVidButNotThePriority) {
  TcFlowerRule rule = tcp_forward_rule();
  rule.actions.insert(rule.actions.begin(), TcVlanModifyAction{htons(0x8100), 30, 0});
  EXPECT_EQ(refusal(rule, builtin("mlx5-connectx6dx")), "accepted");
  std::get<TcVlanModifyAction>(rule.actions[0]).prio = 3;
  EXPECT_EQ(refusal(rule, builtin("mlx5-connectx6dx")),
            "refused by profile mlx5-connectx6dx: vlan modify of the priority not supported (flow sets "
            "priority 3)");
}

TEST(OffloadDecision, Mlx5OffloadsNoPlainEthernetMpls) {
  TcFlowerRule rule = tcp_forward_rule();
  rule.actions.insert(rule.actions.begin(), TcMplsPushAction{htons(0x8847), 100, 0, 64, 1});
  EXPECT_EQ(refusal(rule, builtin("mlx5-connectx6dx")),
            "refused by profile mlx5-connectx6dx: action mpls not supported");
  EXPECT_EQ(refusal(rule, builtin("tc-software")), "accepted");
}

TEST(OffloadDecision, Mlx5DecapRulesMatchEncDstPortExactly) {
  TcFlowerRule rule = tcp_forward_rule();
  rule.device = "vxlan_sys_4789";
  rule.match.set(decision_key(F::kEncKeyId, {0, 0, 0, 42}));
  rule.match.set(decision_key(F::kEncIpv4Dst, {192, 168, 1, 1}));
  rule.actions.insert(rule.actions.begin(), TcTunnelKeyUnsetAction{});
  EXPECT_EQ(refusal(rule, builtin("mlx5-connectx6dx")),
            "refused by profile mlx5-connectx6dx: a tunnel match needs enc_dst_port, flow has none");
  rule.match.set(decision_key(F::kEncUdpDstPort, {0x12, 0x00}, {0xff, 0x00}));
  EXPECT_EQ(refusal(rule, builtin("mlx5-connectx6dx")),
            "refused by profile mlx5-connectx6dx: enc_dst_port needs an exact mask, flow has mask 0xff00");
  rule.match.set(decision_key(F::kEncUdpDstPort, {0x12, 0xb5}));
  EXPECT_EQ(refusal(rule, builtin("mlx5-connectx6dx")), "accepted");
  EXPECT_EQ(refusal(rule, builtin("ice-e810")),
            "refused by profile ice-e810: one action per rule, flow has 2");
}

TEST(OffloadDecision, Mlx5MatchesOnlyTheIsFragmentFlag) {
  TcFlowerRule rule = tcp_forward_rule();
  rule.match.set(decision_key(F::kIpFlags, {0, 0, 0, 1}, {0, 0, 0, 1}));
  EXPECT_EQ(refusal(rule, builtin("mlx5-connectx6dx")), "accepted");
  rule.match.set(decision_key(F::kIpFlags, {0, 0, 0, 3}, {0, 0, 0, 3}));
  EXPECT_EQ(refusal(rule, builtin("mlx5-connectx6dx")),
            "refused by profile mlx5-connectx6dx: ip_flags mask 0x00000003 has bits outside the supported "
            "0x00000001");
  EXPECT_EQ(refusal(rule, builtin("tc-software")), "accepted");
  EXPECT_EQ(refusal(rule, builtin("ice-e810")),
            "refused by profile ice-e810: match on ip_flags not supported");
}

TEST(OffloadDecision, Mlx5PeditRewritesDscpButNotEcnNorUnnamedBytes) {
  const uint16_t ip4 = TCA_PEDIT_KEY_EX_HDR_TYPE_IP4;
  TcFlowerRule dscp = tcp_forward_rule();
  dscp.actions.insert(dscp.actions.begin(), TcPeditAction{{pedit_rewriting(ip4, 0, {0, 0xfc, 0, 0})}});
  EXPECT_EQ(refusal(dscp, builtin("mlx5-connectx6dx")), "accepted");

  TcFlowerRule ecn = tcp_forward_rule();
  ecn.actions.insert(ecn.actions.begin(), TcPeditAction{{pedit_rewriting(ip4, 0, {0, 0x03, 0, 0})}});
  EXPECT_EQ(refusal(ecn, builtin("mlx5-connectx6dx")),
            "refused by profile mlx5-connectx6dx: pedit of ip_ecn not supported");

  TcFlowerRule checksum = tcp_forward_rule();
  checksum.actions.insert(checksum.actions.begin(),
                          TcPeditAction{{pedit_rewriting(ip4, 8, {0, 0, 0xff, 0xff})}});
  EXPECT_EQ(
      refusal(checksum, builtin("mlx5-connectx6dx")),
      "refused by profile mlx5-connectx6dx: pedit of ip4 byte 10 not supported (no rewritable field there)");

  TcFlowerRule legacy = tcp_forward_rule();
  legacy.actions.insert(
      legacy.actions.begin(),
      TcPeditAction{{pedit_rewriting(TCA_PEDIT_KEY_EX_HDR_TYPE_NETWORK, 0, {0xff, 0, 0, 0})}});
  EXPECT_EQ(refusal(legacy, builtin("mlx5-connectx6dx")),
            "refused by profile mlx5-connectx6dx: pedit of network headers not supported");
  EXPECT_EQ(refusal(ecn, builtin("tc-software")), "accepted");
  EXPECT_EQ(refusal(legacy, builtin("tc-software")), "accepted");
}

TEST(OffloadDecision, Mlx5CountsPeditKeys) {
  TcFlowerRule rule = tcp_forward_rule();
  TcPeditAction pedit;
  for (int i = 0; i < 16; ++i)
    pedit.keys.push_back(pedit_rewriting(TCA_PEDIT_KEY_EX_HDR_TYPE_ETH, 0, {0xff, 0xff, 0xff, 0xff}));
  rule.actions.insert(rule.actions.begin(), pedit);
  EXPECT_EQ(refusal(rule, builtin("mlx5-connectx6dx")), "accepted");
  std::get<TcPeditAction>(rule.actions[0]).keys.push_back(pedit.keys[0]);
  EXPECT_EQ(refusal(rule, builtin("mlx5-connectx6dx")),
            "refused by profile mlx5-connectx6dx: at most 16 pedit keys per rule, flow has 17");
}

TEST(OffloadDecision, Mlx5RecomputesChecksumsOnlyAfterAPeditAndOnlyForIpTcpUdp) {
  TcFlowerRule alone = tcp_forward_rule();
  alone.actions.insert(alone.actions.begin(),
                       TcCsumAction{TCA_CSUM_UPDATE_FLAG_IPV4HDR | TCA_CSUM_UPDATE_FLAG_TCP});
  EXPECT_EQ(refusal(alone, builtin("mlx5-connectx6dx")),
            "refused by profile mlx5-connectx6dx: csum needs a pedit in the same rule");
  EXPECT_EQ(refusal(alone, builtin("tc-software")), "accepted");

  TcFlowerRule sctp = tcp_forward_rule();
  sctp.actions.insert(sctp.actions.begin(),
                      TcCsumAction{TCA_CSUM_UPDATE_FLAG_IPV4HDR | TCA_CSUM_UPDATE_FLAG_SCTP});
  sctp.actions.insert(
      sctp.actions.begin(),
      TcPeditAction{{pedit_rewriting(TCA_PEDIT_KEY_EX_HDR_TYPE_IP4, 16, {0xff, 0xff, 0xff, 0xff})}});
  EXPECT_EQ(refusal(sctp, builtin("mlx5-connectx6dx")),
            "refused by profile mlx5-connectx6dx: csum of sctp not supported");
  std::get<TcCsumAction>(sctp.actions[1]).update_flags =
      TCA_CSUM_UPDATE_FLAG_IPV4HDR | TCA_CSUM_UPDATE_FLAG_TCP;
  EXPECT_EQ(refusal(sctp, builtin("mlx5-connectx6dx")), "accepted");
}

TEST(OffloadDecision, ActionCountLimitsOfAUsersProfile) {
  CapabilityProfile profile = edited_tc_software([](Json& j) {
    j["actions"]["tunnel_key"]["set"]["max_per_rule"] = {{"value", 1}, {"source", "test"}};
    j["actions"]["max_per_rule"]["value"] = 3;
  });
  TcFlowerRule rule = tcp_forward_rule();
  rule.actions.insert(rule.actions.begin(), TcTunnelKeySetAction{});
  EXPECT_EQ(refusal(rule, profile), "accepted");
  rule.actions.insert(rule.actions.begin(), TcTunnelKeySetAction{});
  EXPECT_EQ(refusal(rule, profile),
            "refused by profile custom: at most 1 tunnel_key set actions per rule, flow has 2");
  rule.actions.insert(rule.actions.begin(), TcDropAction{});
  EXPECT_EQ(refusal(rule, profile), "refused by profile custom: at most 3 actions per rule, flow has 4");
}

TEST(OffloadDecision, PrefixMasksAndPriorityLimitsOfAUsersProfile) {
  CapabilityProfile profile = edited_tc_software([](Json& j) {
    j["match"]["fields"]["ipv4_dst"]["mask"] = "prefix";
    j["limits"]["max_priority"]["value"] = 16;
  });
  TcFlowerRule rule = tcp_forward_rule();
  rule.match.set(decision_key(F::kIpv4Dst, {10, 0, 0, 0}, {255, 255, 255, 0}));
  EXPECT_EQ(refusal(rule, profile), "accepted");
  rule.match.set(decision_key(F::kIpv4Dst, {10, 0, 0, 0}, {255, 0, 255, 0}));
  EXPECT_EQ(refusal(rule, profile),
            "refused by profile custom: ipv4_dst needs a prefix mask, flow has mask 255.0.255.0");
  TcFlowerRule high = tcp_forward_rule();
  high.priority = 17;
  EXPECT_EQ(refusal(high, profile), "refused by profile custom: priority 17 above the limit 16");
}

TEST(OffloadDecision, AnUnlistedActionKindIsRefused) {
  CapabilityProfile profile = edited_tc_software([](Json& j) { j["actions"].erase("mpls"); });
  TcFlowerRule rule = tcp_forward_rule();
  rule.actions.insert(rule.actions.begin(), TcMplsPopAction{htons(0x0800)});
  EXPECT_EQ(refusal(rule, profile), "refused by profile custom: action mpls not supported");
  EXPECT_EQ(profile.kind(TcActionKind::kMpls).source, "not listed in the profile");
}

TEST(OffloadDecision, EthertypesOfPushesAndRewritesAreChecked) {
  TcFlowerRule modify = tcp_forward_rule();
  modify.actions.insert(modify.actions.begin(), TcVlanModifyAction{htons(0x88a8), 30, 0});
  EXPECT_EQ(refusal(modify, builtin("mlx5-connectx6dx")),
            "refused by profile mlx5-connectx6dx: vlan modify with TPID 0x88a8 not supported");
  EXPECT_EQ(refusal(modify, builtin("tc-software")), "accepted");

  TcFlowerRule mpls = tcp_forward_rule();
  mpls.actions.insert(mpls.actions.begin(), TcMplsPushAction{htons(0x0800), 100, 0, 64, 1});
  EXPECT_EQ(refusal(mpls, builtin("tc-software")),
            "refused by profile tc-software: mpls push of ethertype 0x0800 not supported");
}

TEST(OffloadDecision, APeditHeaderTypeTheKernelDoesNotDefineIsRefused) {
  TcFlowerRule rule = tcp_forward_rule();
  rule.actions.insert(rule.actions.begin(), TcPeditAction{{pedit_rewriting(7, 0, {0xff, 0, 0, 0})}});
  EXPECT_EQ(refusal(rule, builtin("tc-software")),
            "refused by profile tc-software: pedit header type 7 not supported");
}

}  // namespace
}  // namespace flowlift
