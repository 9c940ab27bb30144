// OfFlow layout (stages, no padding) and masked compare/hash per stage.
#include "slowpath/of_flow.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace flowlift {
namespace {

TEST(OfFlowLayout, StagesAreContiguousAlignedAndCoverTheFlow) {
  EXPECT_EQ(OfStages::kMetadata.start, 0);
  for (int i = 0; i < OfStages::kCount; ++i) {
    const OfRange& stage = OfStages::kAll[i];
    EXPECT_EQ(stage.start % 8, 0) << i;
    EXPECT_EQ(stage.end % 8, 0) << i;
    EXPECT_LT(stage.start, stage.end) << i;
    if (i > 0) {
      EXPECT_EQ(stage.start, OfStages::kAll[i - 1].end) << i;
    }
  }
  EXPECT_EQ(OfStages::kL4.end, sizeof(OfFlow));
}

TEST(OfFlowLayout, FieldsSitInTheirStage) {
  auto in = [](size_t offset, size_t size, const OfRange& stage) {
    return offset >= stage.start && offset + size <= stage.end;
  };
  EXPECT_TRUE(in(offsetof(OfFlow, in_port), 4, OfStages::kMetadata));
  EXPECT_TRUE(in(offsetof(OfFlow, regs), sizeof(OfFlow::regs), OfStages::kMetadata));
  EXPECT_TRUE(in(offsetof(OfFlow, metadata), 8, OfStages::kMetadata));
  EXPECT_TRUE(in(offsetof(OfFlow, conj_id), 4, OfStages::kMetadata));
  EXPECT_TRUE(in(offsetof(OfFlow, tun_id), 8, OfStages::kMetadata));
  EXPECT_TRUE(in(offsetof(OfFlow, tun_ipv6_dst), 16, OfStages::kMetadata));
  EXPECT_TRUE(in(offsetof(OfFlow, recirc_id), 4, OfStages::kMetadata));
  EXPECT_TRUE(in(offsetof(OfFlow, dl_src), 6, OfStages::kL2));
  EXPECT_TRUE(in(offsetof(OfFlow, dl_type), 2, OfStages::kL2));
  EXPECT_TRUE(in(offsetof(OfFlow, vlan_tci), 2, OfStages::kL2));
  EXPECT_TRUE(in(offsetof(OfFlow, mpls_lse), 4, OfStages::kL2));
  EXPECT_TRUE(in(offsetof(OfFlow, nw_src), 4, OfStages::kL3));
  EXPECT_TRUE(in(offsetof(OfFlow, ipv6_dst), 16, OfStages::kL3));
  EXPECT_TRUE(in(offsetof(OfFlow, nw_proto), 1, OfStages::kL3));
  EXPECT_TRUE(in(offsetof(OfFlow, nw_tos), 1, OfStages::kL3));
  // OVS's last segment starts at nd_target (FLOW_SEGMENT_3_ENDS_AT).
  EXPECT_TRUE(in(offsetof(OfFlow, nd_target), 16, OfStages::kL4));
  EXPECT_TRUE(in(offsetof(OfFlow, arp_sha), 6, OfStages::kL4));
  EXPECT_TRUE(in(offsetof(OfFlow, arp_tha), 6, OfStages::kL4));
  EXPECT_TRUE(in(offsetof(OfFlow, tp_src), 2, OfStages::kL4));
  EXPECT_TRUE(in(offsetof(OfFlow, tcp_flags), 2, OfStages::kL4));
}

TEST(OfMask, RangeCoversTheWordsWithBitsSet) {
  OfFlow bits{};
  EXPECT_TRUE(OfMask(bits).is_catchall());
  bits.in_port = 0xffff;
  bits.tp_dst = 0xffff;
  OfMask mask(bits);
  EXPECT_EQ(mask.range().start, 0);
  EXPECT_EQ(mask.range().end, sizeof(OfFlow));
  EXPECT_TRUE(mask.any_bit_in(OfStages::kMetadata));
  EXPECT_FALSE(mask.any_bit_in(OfStages::kL2));
  EXPECT_FALSE(mask.any_bit_in(OfStages::kL3));
  EXPECT_TRUE(mask.any_bit_in(OfStages::kL4));
  EXPECT_TRUE(mask.range_in(OfStages::kL2).empty());
  OfRange l4 = mask.range_in(OfStages::kL4);
  // Narrowed to the word holding the ports.
  EXPECT_EQ(l4.start, offsetof(OfFlow, tp_src));
  EXPECT_EQ(l4.words(), 1u);
}

TEST(OfMask, WidenRangeCoversTheAddedWords) {
  OfFlow bits{};
  bits.nw_dst = 0xff;
  OfMask mask(bits);
  const OfRange nw = mask.range();
  mask.mutable_bits().in_port = 0xffff;
  mask.widen_range(OfRange{0, 8});
  EXPECT_EQ(mask.range(), (OfRange{0, nw.end}));
  mask.mutable_bits().tp_dst = 0xffff;
  mask.widen_range(OfRange{offsetof(OfFlow, tp_src), offsetof(OfFlow, tp_src) + 8});
  EXPECT_EQ(mask.range(), OfMask(mask.bits()).range());
  OfMask empty;
  empty.mutable_bits().tp_dst = 0xffff;
  empty.widen_range(OfRange{offsetof(OfFlow, tp_src), offsetof(OfFlow, tp_src) + 8});
  EXPECT_EQ(empty.range(), OfMask(empty.bits()).range());
  EXPECT_FALSE(empty.is_catchall());
}

TEST(OfMatch, FlowIsStoredMaskedAndMatchesPerStage) {
  OfFlow value{}, bits{};
  value.nw_dst = htonl(0x0a020305);  // 10.2.3.5
  bits.nw_dst = htonl(0xffffff00);   // /24
  value.tp_dst = htons(80);
  bits.tp_dst = 0xffff;
  OfMatch match(value, OfMask(bits));
  EXPECT_EQ(match.flow.nw_dst, htonl(0x0a020300));

  OfFlow packet{};
  packet.nw_dst = htonl(0x0a0203fe);
  packet.tp_dst = htons(80);
  packet.in_port = 7;  // not in the mask
  EXPECT_TRUE(match.matches(packet));
  EXPECT_TRUE(masked_equal_in(packet, match.flow, match.mask, OfStages::kL3));
  packet.tp_dst = htons(81);
  EXPECT_FALSE(match.matches(packet));
  // The L3 stage alone still agrees: a staged lookup would fail only at L4.
  EXPECT_TRUE(masked_equal_in(packet, match.flow, match.mask, OfStages::kL3));
  EXPECT_FALSE(masked_equal_in(packet, match.flow, match.mask, OfStages::kL4));
}

TEST(OfMatch, StageHashesAgreeForFlowsEqualUnderTheMask) {
  OfFlow bits{};
  bits.regs[0] = 0xffffffff;
  bits.nw_src = htonl(0xffff0000);
  OfMask mask(bits);
  OfFlow a{}, b{};
  a.regs[0] = b.regs[0] = 2;
  a.nw_src = htonl(0x0a050001);
  b.nw_src = htonl(0x0a05ff09);
  a.tp_src = htons(1);  // outside the mask
  uint64_t ha = 0, hb = 0;
  for (const OfRange& stage : OfStages::kAll) {
    ha = masked_hash_in(a, mask, stage, ha);
    hb = masked_hash_in(b, mask, stage, hb);
    EXPECT_EQ(ha, hb);
  }
  b.regs[0] = 3;
  EXPECT_NE(masked_hash_in(a, mask, OfStages::kMetadata, 0), masked_hash_in(b, mask, OfStages::kMetadata, 0));
}

}  // namespace
}  // namespace flowlift
