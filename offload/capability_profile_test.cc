// Capability profiles: the built-in files parse into what their sources say,
// a user's file loads from a path, and a malformed profile is refused with
// the path of the key that was wrong.
#include "offload/capability_profile.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/tc_act/tc_csum.h>
#include <linux/tc_act/tc_pedit.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "offload/builtin_capability_profiles.h"

namespace flowlift {
namespace {

using Json = nlohmann::json;

Json builtin_json(std::string_view name) {
  for (const BuiltinCapabilityProfileText& text : builtin_capability_profile_texts())
    if (text.name == name) return Json::parse(text.json);
  ADD_FAILURE() << "no built-in profile " << name;
  return Json::object();
}

// The error a profile edited by `edit` gets (empty when it parses).
template <typename Edit>
std::string error_after(Edit edit) {
  Json json = builtin_json("tc-software");
  edit(json);
  auto profile = parse_capability_profile(json.dump());
  return profile ? std::string() : profile.status().message();
}

std::string temp_path(const std::string& stem) {
  return (testing::TempDir().empty() ? std::string("/tmp/") : testing::TempDir()) + stem + "-" +
         std::to_string(getpid()) + ".json";
}

TEST(CapabilityProfile, TheThreeShippedProfilesAreBuiltIn) {
  EXPECT_EQ(builtin_capability_profile_names(),
            (std::vector<std::string>{"ice-e810", "mlx5-connectx6dx", "tc-software"}));
}

TEST(CapabilityProfile, EveryBuiltInProfileParsesAndCarriesItsFileName) {
  for (const std::string& name : builtin_capability_profile_names()) {
    auto profile = load_capability_profile(name);
    ASSERT_TRUE(profile) << profile.status().message();
    EXPECT_EQ(profile->name, name);
    EXPECT_FALSE(profile->description.empty());
  }
}

TEST(CapabilityProfile, EveryBuiltInLimitAndSupportedFieldNamesItsSource) {
  for (const std::string& name : builtin_capability_profile_names()) {
    auto profile = load_capability_profile(name);
    ASSERT_TRUE(profile) << profile.status().message();
    for (const CapabilityLimit* limit : {&profile->rules_per_device, &profile->rules_per_port,
                                         &profile->max_priority, &profile->max_actions_per_rule})
      EXPECT_FALSE(limit->source.empty()) << name;
    EXPECT_FALSE(profile->chains.source.empty()) << name;
    for (size_t i = 0; i < profile->fields.size(); ++i) {
      if (profile->fields[i].mask == TcMaskCapability::kUnsupported) continue;
      EXPECT_FALSE(profile->fields[i].source.empty())
          << name << " " << tc_flower_field_info(static_cast<TcFlowerField>(i)).name;
    }
    for (size_t v = 0; v < profile->variants.size(); ++v) {
      if (!profile->variants[v].supported) continue;
      EXPECT_FALSE(profile->variants[v].source.empty()) << name << " " << v;
    }
  }
}

TEST(CapabilityProfile, TcSoftwareMatchesEveryFlowerFieldWithTheMasksFlowerHas) {
  auto profile = load_capability_profile("tc-software");
  ASSERT_TRUE(profile) << profile.status().message();
  for (size_t i = 0; i < profile->fields.size(); ++i) {
    const auto field = static_cast<TcFlowerField>(i);
    const TcMaskCapability expected =
        tc_flower_field_info(field).mask_attribute == 0 ? TcMaskCapability::kExact : TcMaskCapability::kAny;
    EXPECT_EQ(profile->field(field).mask, expected) << tc_flower_field_info(field).name;
  }
  EXPECT_TRUE(profile->chains.supported);
  EXPECT_EQ(profile->chains.max_chain, 0x0fffffffu);    // TC_ACT_EXT_VAL_MASK
  EXPECT_EQ(profile->max_actions_per_rule.value, 32u);  // TCA_ACT_MAX_PRIO
  EXPECT_FALSE(profile->rules_per_device.value);
  for (const CapabilityActionVariantSupport& variant : profile->variants) EXPECT_TRUE(variant.supported);
}

TEST(CapabilityProfile, IceMatchesExactlyTakesOneRedirectOrDropAndNoChains) {
  auto profile = load_capability_profile("ice-e810");
  ASSERT_TRUE(profile) << profile.status().message();
  for (const CapabilityFieldSupport& field : profile->fields)
    EXPECT_TRUE(field.mask == TcMaskCapability::kExact || field.mask == TcMaskCapability::kUnsupported);
  EXPECT_EQ(profile->field(TcFlowerField::kIpv4Dst).mask, TcMaskCapability::kExact);
  EXPECT_EQ(profile->field(TcFlowerField::kEncUdpSrcPort).mask, TcMaskCapability::kUnsupported);
  EXPECT_FALSE(profile->field(TcFlowerField::kEncUdpSrcPort).source.empty());
  EXPECT_EQ(profile->max_actions_per_rule.value, 1u);
  for (size_t v = 0; v < profile->variants.size(); ++v) {
    const auto variant = static_cast<TcActionVariant>(v);
    EXPECT_EQ(profile->variant(variant).supported,
              variant == TcActionVariant::kMirredRedirect || variant == TcActionVariant::kGactDrop)
        << v;
  }
  EXPECT_FALSE(profile->chains.supported);
  EXPECT_EQ(profile->rules_per_device.value, 16384u);
  EXPECT_FALSE(profile->rules_per_device.assumption.empty());  // not a documented figure
  EXPECT_FALSE(profile->notes.empty());
}

TEST(CapabilityProfile, Mlx5WantsAnExactEncDstPortAndCountsVlanPushAndPopTogether) {
  auto profile = load_capability_profile("mlx5-connectx6dx");
  ASSERT_TRUE(profile) << profile.status().message();
  EXPECT_EQ(profile->field(TcFlowerField::kEncUdpDstPort).mask, TcMaskCapability::kExact);
  EXPECT_EQ(profile->tunnel_requires, std::vector<TcFlowerField>{TcFlowerField::kEncUdpDstPort});
  EXPECT_NE(profile->tunnel_requires_source.find("mlx5e_tc_tun_parse_udp_ports"), std::string::npos);
  const CapabilityActionKindSupport& vlan = profile->kind(TcActionKind::kVlan);
  EXPECT_EQ(vlan.max_per_rule.value, 2u);
  EXPECT_EQ(vlan.counted,
            (std::vector<TcActionVariant>{TcActionVariant::kVlanPush, TcActionVariant::kVlanPop}));
  EXPECT_FALSE(profile->variant(TcActionVariant::kVlanModify).modify_prio);
  EXPECT_EQ(profile->csum.update_flags,
            uint32_t{TCA_CSUM_UPDATE_FLAG_IPV4HDR | TCA_CSUM_UPDATE_FLAG_TCP | TCA_CSUM_UPDATE_FLAG_UDP});
  EXPECT_TRUE(profile->csum.requires_pedit);
  EXPECT_FALSE(profile->pedit.headers[TCA_PEDIT_KEY_EX_HDR_TYPE_NETWORK].supported);
  EXPECT_EQ(profile->field(TcFlowerField::kIpFlags).mask_within[3], 0x01);
  EXPECT_EQ(profile->field(TcFlowerField::kIpFlags).mask_within[2], 0x00);
  EXPECT_EQ(profile->variant(TcActionVariant::kVlanPush).ethertypes,
            (std::vector<Be16>{htons(0x8100), htons(0x88a8)}));
}

TEST(CapabilityProfile, AUsersFileLoadsFromItsPath) {
  Json json = builtin_json("ice-e810");
  json["name"] = "my-e810";
  json["limits"]["rules_per_device"]["value"] = 32768;
  const std::string path = temp_path("my-e810");
  std::ofstream(path) << json.dump(2);
  auto profile = load_capability_profile(path);
  std::remove(path.c_str());
  ASSERT_TRUE(profile) << profile.status().message();
  EXPECT_EQ(profile->name, "my-e810");
  EXPECT_EQ(profile->rules_per_device.value, 32768u);
}

TEST(CapabilityProfile, AMissingFileOrUnknownNameSaysWhatIsBuiltIn) {
  auto by_name = load_capability_profile("bnxt-p2100");
  ASSERT_FALSE(by_name);
  EXPECT_EQ(by_name.status().code(), ENOENT);
  EXPECT_NE(by_name.status().message().find("built-in: ice-e810, mlx5-connectx6dx, tc-software"),
            std::string::npos)
      << by_name.status().message();
  auto by_path = load_capability_profile("/nonexistent/nic.json");
  ASSERT_FALSE(by_path);
  EXPECT_EQ(by_path.status().message().rfind("/nonexistent/nic.json: cannot open", 0), 0u)
      << by_path.status().message();
}

TEST(CapabilityProfile, AMalformedFileIsRefusedNamingTheFileAndTheKey) {
  Json json = builtin_json("mlx5-connectx6dx");
  json["actions"]["vlan"]["psuh"] = json["actions"]["vlan"]["push"];
  const std::string path = temp_path("typo");
  std::ofstream(path) << json.dump(2);
  auto profile = load_capability_profile(path);
  std::remove(path.c_str());
  ASSERT_FALSE(profile);
  EXPECT_EQ(profile.status().code(), EINVAL);
  EXPECT_EQ(profile.status().message().rfind(path + ": actions.vlan.psuh: unknown key", 0), 0u)
      << profile.status().message();
}

TEST(CapabilityProfile, ErrorsNameTheKeyPathThatWasWrong) {
  EXPECT_EQ(error_after([](Json& j) { j["limits"]["rules_per_device"].erase("source"); }),
            "limits.rules_per_device.source: missing");
  EXPECT_EQ(
      error_after([](Json& j) { j["match"]["fields"]["ipv4_dest"] = j["match"]["fields"]["ipv4_dst"]; }),
      "match.fields.ipv4_dest: \"ipv4_dest\" is not a flower field flowlift knows "
      "(offload/tc_flower_fields.cc)");
  EXPECT_EQ(error_after([](Json& j) { j["match"]["fields"]["ipv4_dst"]["mask"] = "wide"; }),
            "match.fields.ipv4_dst.mask: \"wide\" is not one of exact, prefix, any");
  EXPECT_EQ(error_after([](Json& j) { j["match"]["fields"]["vlan_id"]["mask"] = "any"; }),
            "match.fields.vlan_id.mask: flower matches vlan_id exactly only (it has no mask attribute)");
  EXPECT_EQ(error_after([](Json& j) { j["limits"]["rules_per_port"]["value"] = -1; }),
            "limits.rules_per_port.value: must be a non-negative integer or null");
  EXPECT_EQ(error_after([](Json& j) { j["limits"]["max_priority"]["value"] = 70000; }),
            "limits.max_priority.value: 70000 is above the largest possible 65535");
  EXPECT_EQ(error_after([](Json& j) { j["actions"]["pedit"]["headers"]["ip4"] = Json::array({"ipv6_src"}); }),
            "actions.pedit.headers.ip4[0]: not a field of the ip4 header (offload/tc_pedit_fields.cc)");
  EXPECT_EQ(error_after([](Json& j) { j["actions"]["vlan"]["push"]["tpids"] = Json::array({"8100"}); }),
            "actions.vlan.push.tpids[0]: \"8100\" is not 0x followed by at most 4 hex digits");
  EXPECT_EQ(error_after([](Json& j) {
              j["actions"]["csum"]["update"] = Json::array({"iph", "l4"});
            }),
            "actions.csum.update[1]: not one of iph, icmp, igmp, tcp, udp, udplite, sctp");
  EXPECT_EQ(error_after([](Json& j) { j["limits"]["chains"].erase("max_chain"); }),
            "limits.chains.max_chain: must be a chain number (0 to 4294967295)");
  EXPECT_EQ(error_after([](Json& j) { j.erase("limits"); }), "limits: missing");
  EXPECT_EQ(error_after([](Json& j) { j["match"]["fields"]["ip_flags"]["mask_within"] = "0x3"; }), "");
  EXPECT_EQ(error_after([](Json& j) { j["match"]["fields"]["ip_flags"]["mask_within"] = "0x000000003"; }),
            "match.fields.ip_flags.mask_within: \"0x000000003\" is not 0x followed by at most 8 hex digits");
}

TEST(CapabilityProfile, DriversNameTheDevicesAProfileDescribesWithTheirSource) {
  auto mlx5 = load_capability_profile("mlx5-connectx6dx");
  ASSERT_TRUE(mlx5) << mlx5.status().message();
  EXPECT_EQ(mlx5->drivers, (std::vector<std::string>{"mlx5_core", "mlx5e_rep"}));
  EXPECT_NE(mlx5->drivers_source.find("mlx5e_rep_get_drvinfo"), std::string::npos) << mlx5->drivers_source;
  auto ice = load_capability_profile("ice-e810");
  ASSERT_TRUE(ice) << ice.status().message();
  EXPECT_EQ(ice->drivers, (std::vector<std::string>{"ice"}));
  EXPECT_NE(ice->drivers_source.find("__ice_get_drvinfo"), std::string::npos) << ice->drivers_source;
  // tc-software is the daemon's default, never a driver's match.
  auto software = load_capability_profile("tc-software");
  ASSERT_TRUE(software) << software.status().message();
  EXPECT_TRUE(software->drivers.empty());
}

TEST(CapabilityProfile, ADriversListIsCheckedLikeEveryOtherKey) {
  const Json drivers = {{"names", Json::array({"veth"})}, {"source", "drivers/net/veth.c veth_get_drvinfo"}};
  EXPECT_EQ(error_after([&](Json& j) { j["drivers"] = drivers; }), "");
  EXPECT_EQ(error_after([&](Json& j) {
              j["drivers"] = drivers;
              j["drivers"].erase("source");
            }),
            "drivers.source: missing");
  EXPECT_EQ(error_after([&](Json& j) {
              j["drivers"] = drivers;
              j["drivers"]["names"] = Json::array();
            }),
            "drivers.names: must be a non-empty array of driver names (as ethtool -i prints them)");
  EXPECT_EQ(error_after([&](Json& j) {
              j["drivers"] = drivers;
              j["drivers"]["names"] = Json::array({"veth", ""});
            }),
            "drivers.names[1]: must be a driver name of 1 to 31 characters");
  EXPECT_EQ(error_after([&](Json& j) {
              j["drivers"] = drivers;
              j["drivers"]["names"] = Json::array({"veth", "veth"});
            }),
            "drivers.names[1]: veth is listed twice");
  EXPECT_EQ(error_after([&](Json& j) {
              j["drivers"] = drivers;
              j["drivers"]["modules"] = "veth";
            }),
            "drivers.modules: unknown key (allowed here: names, source)");
}

TEST(CapabilityProfile, BrokenJsonSaysWhereTheSyntaxBroke) {
  auto profile = parse_capability_profile("{\"name\": \"x\",\n \"description\": }");
  ASSERT_FALSE(profile);
  EXPECT_EQ(profile.status().message().rfind("not valid JSON: ", 0), 0u) << profile.status().message();
  EXPECT_NE(profile.status().message().find("line 2"), std::string::npos) << profile.status().message();
}

TEST(CapabilityProfile, ActionVariantsMapToTcKindsAndWords) {
  TcMirredAction mirror;
  mirror.redirect = false;
  EXPECT_EQ(tc_action_variant(TcAction{mirror}), TcActionVariant::kMirredMirror);
  EXPECT_EQ(tc_action_variant(TcAction{TcGotoChainAction{7}}), TcActionVariant::kGactGotoChain);
  for (size_t v = 0; v < static_cast<size_t>(TcActionVariant::kCount); ++v) {
    const auto variant = static_cast<TcActionVariant>(v);
    EXPECT_FALSE(tc_action_kind_name(tc_action_variant_kind(variant)).empty());
  }
  EXPECT_EQ(tc_action_kind_name(tc_action_variant_kind(TcActionVariant::kTunnelKeyUnset)), "tunnel_key");
  EXPECT_EQ(tc_action_variant_name(TcActionVariant::kTunnelKeyUnset), "unset");
}

// Every value in a profile replaced by one of another type, one at a time:
// the reader must refuse (or accept) each without throwing, and a refusal
// must name a key path. nlohmann::json throws on a wrong-typed get, so this
// proves every get is guarded.
TEST(CapabilityProfile, AnyValueOfTheWrongTypeIsRefusedWithoutAThrow) {
  for (const std::string& name : builtin_capability_profile_names()) {
    const Json original = builtin_json(name);
    const Json flat = original.flatten();
    const Json replacements[] = {nullptr, true, -3, 2.5, "0x", Json::array(), Json::object(), 4294967296u};
    std::mt19937 random(7);  // fixed seed
    size_t refused = 0;
    for (auto it = flat.begin(); it != flat.end(); ++it) {
      Json edited = original;
      const Json& replacement = replacements[random() % std::size(replacements)];
      edited[Json::json_pointer(it.key())] = replacement;
      auto profile = parse_capability_profile(edited.dump());
      if (profile) continue;
      ++refused;
      const std::string& message = profile.status().message();
      EXPECT_NE(message.find(": "), std::string::npos) << it.key() << " -> " << message;
    }
    EXPECT_GT(refused, flat.size() / 2) << name;
  }
}

}  // namespace
}  // namespace flowlift
