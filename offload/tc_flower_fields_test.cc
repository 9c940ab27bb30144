// The flower key table and the match's key list.
#include <gtest/gtest.h>
#include <linux/pkt_cls.h>

#include "offload/tc_flower_rule.h"

namespace flowlift {
namespace {

TEST(TcFlowerFields, EveryFieldHasAUniqueNameThatFindsItBack) {
  for (size_t i = 0; i < static_cast<size_t>(TcFlowerField::kCount); ++i) {
    const auto field = static_cast<TcFlowerField>(i);
    const TcFlowerFieldInfo& info = tc_flower_field_info(field);
    EXPECT_EQ(info.field, field);
    EXPECT_EQ(tc_flower_field_by_name(info.name), field) << info.name;
    EXPECT_GT(info.width, 0);
    EXPECT_LE(info.width, 16);
  }
  EXPECT_EQ(tc_flower_field_by_name("nw_dst"), TcFlowerField::kCount);
}

TEST(TcFlowerFields, ExactOnlyKeysAreThoseFlowerGivesNoMaskAttribute) {
  EXPECT_EQ(tc_flower_field_info(TcFlowerField::kVlanId).mask_attribute, 0);
  EXPECT_EQ(tc_flower_field_info(TcFlowerField::kEncKeyId).mask_attribute, 0);
  EXPECT_EQ(tc_flower_field_info(TcFlowerField::kIpProto).mask_attribute, 0);
  EXPECT_EQ(tc_flower_field_info(TcFlowerField::kIpv4Dst).mask_attribute, TCA_FLOWER_KEY_IPV4_DST_MASK);
  EXPECT_EQ(tc_flower_field_info(TcFlowerField::kEncUdpDstPort).key_attribute,
            TCA_FLOWER_KEY_ENC_UDP_DST_PORT);
}

TEST(TcFlowerMatch, SetKeepsKeysSortedAndReplacesAFieldAlreadyThere) {
  TcFlowerMatch match;
  TcFlowerKey dst{TcFlowerField::kIpv4Dst, {10, 0, 0, 1}, {255, 255, 255, 255}};
  TcFlowerKey proto{TcFlowerField::kIpProto, {6}, {0xff}};
  match.set(dst);
  match.set(proto);
  ASSERT_EQ(match.keys.size(), 2u);
  EXPECT_EQ(match.keys[0].field, TcFlowerField::kIpProto);
  EXPECT_EQ(match.keys[1].field, TcFlowerField::kIpv4Dst);
  dst.value[3] = 2;
  match.set(dst);
  ASSERT_EQ(match.keys.size(), 2u);
  EXPECT_EQ(match.find(TcFlowerField::kIpv4Dst)->value[3], 2);
  EXPECT_EQ(match.find(TcFlowerField::kEthDst), nullptr);
}

TEST(TcFlowerKey, ExactLooksOnlyAtTheFieldsWidth) {
  TcFlowerKey key{TcFlowerField::kTcpDst, {0, 80}, {0xff, 0xff}};
  EXPECT_TRUE(key.exact());
  key.mask[1] = 0xf0;
  EXPECT_FALSE(key.exact());
}

TEST(TcAction, KindIsTheActModuleName) {
  EXPECT_EQ(tc_action_kind(TcAction{TcMirredAction{}}), "mirred");
  EXPECT_EQ(tc_action_kind(TcAction{TcGotoChainAction{}}), "gact");
  EXPECT_EQ(tc_action_kind(TcAction{TcTunnelKeyUnsetAction{}}), "tunnel_key");
  EXPECT_EQ(tc_policy_name(TcPolicy::kSkipHw), "skip_hw");
}

}  // namespace
}  // namespace flowlift
