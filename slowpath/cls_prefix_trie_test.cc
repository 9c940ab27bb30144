// ClsPrefixTrie: the prefix lengths and mask bits OVS 3.1's
// trie_lookup_value() gives, worked out by hand from the tree OVS builds
// (path-compressed, up to 32 bits per node).
#include "slowpath/cls_prefix_trie.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <array>
#include <string>

namespace flowlift {
namespace {

std::array<uint8_t, 4> ipv4(const char* text) {
  std::array<uint8_t, 4> bytes{};
  EXPECT_EQ(inet_pton(AF_INET, text, bytes.data()), 1) << text;
  return bytes;
}

std::array<uint8_t, 16> ipv6(const char* text) {
  std::array<uint8_t, 16> bytes{};
  EXPECT_EQ(inet_pton(AF_INET6, text, bytes.data()), 1) << text;
  return bytes;
}

ClsPrefixLengths lengths_of(std::initializer_list<unsigned> lengths) {
  ClsPrefixLengths set;
  for (unsigned length : lengths) set.set(length - 1);
  return set;
}

struct TrieAnswer {
  unsigned mask_bits;
  ClsPrefixLengths lengths;
};

template <size_t N>
TrieAnswer ask(const ClsPrefixTrie& trie, const std::array<uint8_t, N>& value) {
  TrieAnswer answer{0, {}};
  answer.mask_bits = trie.lookup(value, &answer.lengths);
  return answer;
}

// The nw_dst trie of OVS's "flow classifier - lookup segmentation" table:
// 10.1.0.0/16, 10.1.2.15/32 (two subtables), 192.168.0.0/16. The root
// branches on the very first bit (10 is 0000 1010, 192 is 1100 0000).
ClsPrefixTrie segmentation_trie() {
  ClsPrefixTrie trie;
  trie.insert(ipv4("10.1.0.0"), 16);
  trie.insert(ipv4("10.1.2.15"), 32);
  trie.insert(ipv4("10.1.2.15"), 32);
  trie.insert(ipv4("192.168.0.0"), 16);
  return trie;
}

TEST(ClsPrefixTrie, EmptyTrieMatchesNothingAndNeedsNoBits) {
  ClsPrefixTrie trie;
  const TrieAnswer answer = ask(trie, ipv4("10.0.0.1"));
  EXPECT_EQ(answer.mask_bits, 0u);
  EXPECT_TRUE(answer.lengths.none());
  EXPECT_TRUE(trie.empty());
}

TEST(ClsPrefixTrie, MismatchInsideANodeNeedsBitsUpToTheFirstDifferentOne) {
  // 11.x differs from 10.1/16 at bit 7: eight bits tell them apart.
  const TrieAnswer answer = ask(segmentation_trie(), ipv4("11.1.2.15"));
  EXPECT_EQ(answer.mask_bits, 8u);
  EXPECT_TRUE(answer.lengths.none());
}

TEST(ClsPrefixTrie, FullMatchReportsEveryPrefixLengthOnThePath) {
  const TrieAnswer answer = ask(segmentation_trie(), ipv4("10.1.2.15"));
  EXPECT_EQ(answer.mask_bits, 32u);
  EXPECT_EQ(answer.lengths, lengths_of({16, 32}));
}

TEST(ClsPrefixTrie, MatchEndingInALeafNeedsOnlyTheLeafBits) {
  const TrieAnswer answer = ask(segmentation_trie(), ipv4("192.168.0.2"));
  EXPECT_EQ(answer.mask_bits, 16u);
  EXPECT_EQ(answer.lengths, lengths_of({16}));
}

TEST(ClsPrefixTrie, MismatchBelowAMatchedPrefixKeepsTheShorterLength) {
  // 10.1.3.16 leaves 10.1.2.15/32 at bit 23 (2 = 0000 0010, 3 = 0000 0011).
  const TrieAnswer answer = ask(segmentation_trie(), ipv4("10.1.3.16"));
  EXPECT_EQ(answer.mask_bits, 24u);
  EXPECT_EQ(answer.lengths, lengths_of({16}));
}

TEST(ClsPrefixTrie, FallingOffAMissingEdgeOfABranchingNodeCountsTheBranchBit) {
  // 10.0.0.0/8 with two longer prefixes below it that branch on bit 8.
  ClsPrefixTrie trie;
  trie.insert(ipv4("10.0.0.0"), 8);
  trie.insert(ipv4("10.0.0.0"), 16);
  trie.insert(ipv4("10.128.0.0"), 16);
  // 10.64.x.x follows the 0-edge (10.0/16 node) and mismatches at bit 9.
  EXPECT_EQ(ask(trie, ipv4("10.64.0.1")).mask_bits, 10u);
  // A value that leaves 10/8's node by a missing edge: only 10.0/16 hangs on
  // the 0 side, so the trie with 10.0/16 removed falls off the 0 edge.
  ASSERT_TRUE(trie.remove(ipv4("10.0.0.0"), 16));
  const TrieAnswer answer = ask(trie, ipv4("10.1.0.1"));
  EXPECT_EQ(answer.mask_bits, 9u);  // 8 matched bits, plus the branch bit
  EXPECT_EQ(answer.lengths, lengths_of({8}));
}

TEST(ClsPrefixTrie, FallingOffALeafNeedsNoExtraBit) {
  ClsPrefixTrie trie;
  trie.insert(ipv4("10.0.0.0"), 8);
  const TrieAnswer answer = ask(trie, ipv4("10.1.2.3"));
  EXPECT_EQ(answer.mask_bits, 8u);
  EXPECT_EQ(answer.lengths, lengths_of({8}));
}

TEST(ClsPrefixTrie, RemovingAPrefixRemergesNodesAndForgetsIt) {
  ClsPrefixTrie trie = segmentation_trie();
  const size_t full = trie.node_count();
  EXPECT_EQ(full, 4u);  // branching root, 10.1/16, its /32 child, 192.168/16
  // Two subtables share 10.1.2.15/32: it stays until both are gone.
  ASSERT_TRUE(trie.remove(ipv4("10.1.2.15"), 32));
  EXPECT_EQ(ask(trie, ipv4("10.1.2.15")).lengths, lengths_of({16, 32}));
  ASSERT_TRUE(trie.remove(ipv4("10.1.2.15"), 32));
  EXPECT_EQ(ask(trie, ipv4("10.1.2.15")).lengths, lengths_of({16}));
  EXPECT_EQ(trie.node_count(), 3u);
  // Without 192.168/16 the root's 0 bits merge into 10.1/16.
  ASSERT_TRUE(trie.remove(ipv4("192.168.0.0"), 16));
  EXPECT_EQ(trie.node_count(), 1u);
  EXPECT_EQ(ask(trie, ipv4("11.1.2.15")).mask_bits, 8u);
  ASSERT_TRUE(trie.remove(ipv4("10.1.0.0"), 16));
  EXPECT_TRUE(trie.empty());
}

TEST(ClsPrefixTrie, RemovingAnAbsentPrefixChangesNothing) {
  ClsPrefixTrie trie = segmentation_trie();
  EXPECT_FALSE(trie.remove(ipv4("10.1.0.0"), 24));
  EXPECT_FALSE(trie.remove(ipv4("10.2.0.0"), 16));
  EXPECT_FALSE(trie.remove(ipv4("10.1.0.0"), 8));
  EXPECT_EQ(ask(trie, ipv4("10.1.2.15")).lengths, lengths_of({16, 32}));
}

TEST(ClsPrefixTrie, Ipv6PrefixesLongerThanANodeSpanSeveralNodes) {
  ClsPrefixTrie trie;
  trie.insert(ipv6("2001:db8::"), 64);
  trie.insert(ipv6("2001:db8::1"), 128);
  TrieAnswer answer = ask(trie, ipv6("2001:db8::1"));
  EXPECT_EQ(answer.mask_bits, 128u);
  EXPECT_EQ(answer.lengths, lengths_of({64, 128}));
  // 0db8 vs 0db9 differ at bit 31.
  answer = ask(trie, ipv6("2001:db9::1"));
  EXPECT_EQ(answer.mask_bits, 32u);
  EXPECT_TRUE(answer.lengths.none());
  // Matches the /64, then leaves the /128 branch at its last bit.
  answer = ask(trie, ipv6("2001:db8::"));
  EXPECT_EQ(answer.mask_bits, 128u);
  EXPECT_EQ(answer.lengths, lengths_of({64}));
  ASSERT_TRUE(trie.remove(ipv6("2001:db8::1"), 128));
  ASSERT_TRUE(trie.remove(ipv6("2001:db8::"), 64));
  EXPECT_TRUE(trie.empty());
}

TEST(ClsPrefixTrie, PortsAsOneValueGiveOvsPortMasks) {
  // tp_dst 80, 8080 and 192 with tp_src wildcarded (OVS's "prefix lookup"
  // table): tp_dst=79 needs 28 of the 32 port bits, i.e. tp_dst/0xfff0.
  ClsPrefixTrie trie;
  for (uint32_t port : {80u, 8080u, 192u}) {
    trie.insert(std::array<uint8_t, 4>{0, 0, static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port)},
                32);
  }
  EXPECT_EQ(ask(trie, std::array<uint8_t, 4>{0, 0, 0, 79}).mask_bits, 28u);
  EXPECT_EQ(ask(trie, std::array<uint8_t, 4>{0, 0, 0, 81}).mask_bits, 32u);
}

}  // namespace
}  // namespace flowlift
