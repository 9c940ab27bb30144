// Classifier: results and wildcards of lookups as Open vSwitch 3.1's
// classifier gives them. The table-driven cases are OVS's own
// tests/classifier.at tables ("lookup segmentation", "final stage", "prefix
// lookup", the conjunctive match tests); their expected megaflows are OVS's
// minus what translation adds on its own (recirc_id, eth, nw_frag), which is
// exactly the classifier's share. Other expectations are worked out by hand
// from OVS's algorithm, as the comments show.
#include "slowpath/classifier.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "slowpath/of_flow_syntax.h"

namespace flowlift {
namespace {

OfMatch parse_match(std::string_view text) {
  Result<OfMatch> match = parse_of_match(text, PortNames{});
  EXPECT_TRUE(match.is_ok()) << text << ": " << match.status().message();
  return match.is_ok() ? *match : OfMatch{};
}

OfFlow packet(std::string_view text) { return parse_match(text).flow; }

std::string describe(const OfFlow& flow, const OfMask& wildcards) {
  return "\"" + format_of_match(OfMatch(flow, wildcards)) + "\"";
}

// The megaflow of a lookup, as OVS's ofproto/trace prints it, minus what
// translation adds.
::testing::AssertionResult megaflow_is(const OfFlow& flow, const OfMask& wildcards, const OfMask& expected) {
  if (wildcards == expected) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "megaflow " << describe(flow, wildcards) << ", expected " << describe(flow, expected);
}

::testing::AssertionResult megaflow_is(const OfFlow& flow, const OfMask& wildcards,
                                       std::string_view expected) {
  return megaflow_is(flow, wildcards, parse_match(expected).mask);
}

class ClassifierTest : public ::testing::Test {
 protected:
  struct Lookup {
    const ClsRule* rule;
    OfFlow flow;
    OfMask wildcards;
  };

  const ClsRule* add(std::string_view match, int32_t priority, std::vector<ClsConjunction> conjunctions = {},
                     OfVersion version = kOfVersionMin) {
    return add(parse_match(match), priority, std::move(conjunctions), version);
  }
  const ClsRule* add(const OfMatch& match, int32_t priority, std::vector<ClsConjunction> conjunctions = {},
                     OfVersion version = kOfVersionMin) {
    rules_.push_back(std::make_unique<ClsRule>(match, priority, std::move(conjunctions), version));
    classifier_.insert(rules_.back().get());
    return rules_.back().get();
  }

  Lookup lookup(std::string_view flow_text, OfVersion version = kOfVersionMin) {
    return lookup(packet(flow_text), version);
  }
  Lookup lookup(const OfFlow& flow, OfVersion version = kOfVersionMin) {
    Lookup result{nullptr, flow, OfMask()};
    result.rule = classifier_.lookup(version, flow, &result.wildcards);
    // Without wildcard tracking the answer must not change.
    EXPECT_EQ(classifier_.lookup(version, flow, nullptr), result.rule);
    return result;
  }

  std::vector<std::unique_ptr<ClsRule>> rules_;
  Classifier classifier_;
};

// ---------------------------------------------------------------------------
// Lookup hints

TEST_F(ClassifierTest, ARulesHintNamesTheRuleALargeSubtableWillReturn) {
  // 300 /32 rules: a subtable large enough to be hinted; the catch-all's
  // and the port rule's are not (they stay warm on their own).
  std::vector<const ClsRule*> hosts;
  for (int i = 0; i < 300; ++i)
    hosts.push_back(add("ip,nw_dst=10.0." + std::to_string(i / 200) + "." + std::to_string(i % 200), 50));
  const ClsRule* catchall = add("", 0);
  const ClsRule* web = add("tcp,tp_dst=80", 60);
  for (int i = 0; i < 300; i += 7) {
    const OfFlow flow = packet("tcp,nw_dst=10.0." + std::to_string(i / 200) + "." + std::to_string(i % 200) +
                               ",tp_dst=22");
    EXPECT_EQ(classifier_.prefetch(flow, ClsPrefetchStep::kSlots), nullptr);
    EXPECT_EQ(classifier_.prefetch(flow, ClsPrefetchStep::kRules), hosts[i]) << i;
    EXPECT_EQ(lookup(flow).rule, hosts[i]) << i;
  }
  // No host rule: nothing likely to name; the lookup finds the catch-all.
  const OfFlow other = packet("tcp,nw_dst=10.9.9.9,tp_dst=22");
  EXPECT_EQ(classifier_.prefetch(other, ClsPrefetchStep::kRules), nullptr);
  EXPECT_EQ(lookup(other).rule, catchall);
  // A hint is not an answer: the small, higher-priority subtable wins.
  const OfFlow to_web = packet("tcp,nw_dst=10.0.0.3,tp_dst=80");
  EXPECT_EQ(classifier_.prefetch(to_web, ClsPrefetchStep::kRules), hosts[3]);
  EXPECT_EQ(lookup(to_web).rule, web);
}

// ---------------------------------------------------------------------------
// Priorities and early exit

TEST_F(ClassifierTest, EmptyClassifierFindsNothingAndLooksAtNothing) {
  const Lookup result = lookup("tcp,in_port=1,nw_dst=10.0.0.1,tp_dst=80");
  EXPECT_EQ(result.rule, nullptr);
  EXPECT_TRUE(result.wildcards.is_catchall());
  EXPECT_TRUE(classifier_.empty());
}

TEST_F(ClassifierTest, HighestPriorityMatchingRuleWins) {
  const ClsRule* low = add("ip", 10);
  const ClsRule* high = add("tcp,nw_dst=10.0.0.0/8", 20);
  add("udp", 30);
  EXPECT_EQ(lookup("tcp,nw_dst=10.1.1.1,tp_dst=80").rule, high);
  EXPECT_EQ(lookup("tcp,nw_dst=11.1.1.1,tp_dst=80").rule, low);
  EXPECT_EQ(lookup("arp").rule, nullptr);
}

TEST_F(ClassifierTest, LowerPrioritySubtableIsNotVisitedAfterAMatch) {
  const ClsRule* by_port = add("in_port=1", 100);
  const ClsRule* web = add("tcp,tp_dst=80", 50);
  // in_port=1 matches in the priority-100 subtable; the priority-50 one
  // cannot beat it and is never looked at, so nothing of it is in the
  // megaflow.
  Lookup result = lookup("tcp,in_port=1,tp_dst=80");
  EXPECT_EQ(result.rule, by_port);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "in_port=1"));
  // in_port=2 misses the first subtable (only in_port looked at) and the
  // second one decides.
  result = lookup("tcp,in_port=2,tp_dst=80");
  EXPECT_EQ(result.rule, web);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "tcp,in_port=2,tp_dst=80"));
}

TEST_F(ClassifierTest, RemovingTheTopRuleOfASubtableLowersItsPlaceInTheOrder) {
  const ClsRule* top = add("in_port=1", 100);
  add("in_port=2", 10);
  const ClsRule* web = add("tcp,tp_dst=80", 50);
  // The in_port subtable (max priority 100) goes first and puts in_port in
  // the megaflow even though it misses.
  Lookup result = lookup("tcp,in_port=3,tp_dst=80");
  EXPECT_EQ(result.rule, web);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "tcp,in_port=3,tp_dst=80"));
  // Without its priority-100 rule it only reaches 10: the web rule wins
  // before it is visited.
  classifier_.remove(top);
  result = lookup("tcp,in_port=3,tp_dst=80");
  EXPECT_EQ(result.rule, web);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "tcp,tp_dst=80"));
  EXPECT_EQ(classifier_.size(), 2u);
}

TEST_F(ClassifierTest, RemovingTheLastRuleOfAMaskForgetsTheSubtable) {
  const ClsRule* rule = add("tcp,tp_dst=80", 50);
  const ClsRule* catchall = add("", 0);
  classifier_.remove(rule);
  const Lookup result = lookup("tcp,tp_dst=80");
  EXPECT_EQ(result.rule, catchall);
  EXPECT_TRUE(result.wildcards.is_catchall());
  // Removing it again, or a rule never inserted, changes nothing.
  classifier_.remove(rule);
  ClsRule stranger(parse_match("udp"), 5);
  classifier_.remove(&stranger);
  EXPECT_EQ(classifier_.size(), 1u);
}

TEST_F(ClassifierTest, MovedClassifierKeepsItsRules) {
  const ClsRule* rule = add("tcp", 5);
  Classifier moved(std::move(classifier_));
  EXPECT_EQ(moved.lookup(kOfVersionMin, packet("tcp,tp_dst=1"), nullptr), rule);
  EXPECT_EQ(moved.size(), 1u);
  classifier_ = std::move(moved);
  EXPECT_EQ(lookup("tcp,tp_dst=1").rule, rule);
}

// ---------------------------------------------------------------------------
// Staged lookup

TEST_F(ClassifierTest, SubtableRuledOutInL2LeavesL3AndL4Wildcarded) {
  const ClsRule* fallback = add("", 0);
  add("tcp,dl_src=00:00:00:00:00:01,nw_src=1.2.3.4,tp_dst=80", 100);
  // dl_src misses in the L2 index: only metadata and L2 bits were looked at.
  const Lookup result = lookup("tcp,dl_src=00:00:00:00:00:02,nw_src=1.2.3.4,tp_dst=80");
  EXPECT_EQ(result.rule, fallback);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "ip,dl_src=00:00:00:00:00:02"));
}

TEST_F(ClassifierTest, SubtableRuledOutInL3LeavesL4Wildcarded) {
  ASSERT_TRUE(classifier_.set_prefix_fields({}).is_ok());
  add("", 0);
  add("tcp,dl_src=00:00:00:00:00:01,nw_src=1.2.3.4,tp_dst=80", 100);
  const Lookup result = lookup("tcp,dl_src=00:00:00:00:00:01,nw_src=1.2.3.5,tp_dst=80");
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "tcp,dl_src=00:00:00:00:00:01,nw_src=1.2.3.5"));
}

TEST_F(ClassifierTest, MatchInTheLastStageUnwildcardsTheWholeMask) {
  const ClsRule* rule = add("tcp,dl_src=00:00:00:00:00:01,nw_src=1.2.3.4,tp_dst=80", 100);
  const Lookup result = lookup("tcp,dl_src=00:00:00:00:00:01,nw_src=1.2.3.4,tp_src=9,tp_dst=80");
  EXPECT_EQ(result.rule, rule);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, rule->match().mask));
}

// OVS tests/classifier.at, "flow classifier - lookup segmentation".
class LookupSegmentationTest : public ClassifierTest {
 protected:
  void SetUp() override {
    out3 = add("in_port=1,tcp,nw_dst=10.1.0.0/16", 16);
    out2 = add("in_port=1,tcp,nw_dst=10.1.2.15", 32);
    drop33 = add("in_port=1,tcp,nw_dst=10.1.2.15,tp_dst=80", 33);
    drop1 = add("in_port=1,ip", 0);
    out1 = add("in_port=2,tcp,nw_dst=192.168.0.0/16", 16);
    add("in_port=2,ip", 0);
    add("in_port=3,tcp,nw_src=10.1.0.0/16", 16);
    add("in_port=3,ip", 0);
  }
  static std::string flow(std::string_view in_port, std::string_view nw_dst, std::string_view tp_dst) {
    return "tcp,in_port=" + std::string(in_port) +
           ",dl_src=50:54:00:00:00:05,dl_dst=50:54:00:00:00:07,nw_src=192.168.0.1,nw_dst=" +
           std::string(nw_dst) + ",nw_tos=0,nw_ttl=128,tp_src=8,tp_dst=" + std::string(tp_dst);
  }
  const ClsRule *out1, *out2, *out3, *drop1, *drop33;
};

TEST_F(LookupSegmentationTest, OtherPortsRulesAreRuledOutByInPortAlone) {
  const Lookup result = lookup(flow("2", "192.168.0.2", "80"));
  EXPECT_EQ(result.rule, out1);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "tcp,in_port=2,nw_dst=192.168.0.0/16"));
}

TEST_F(LookupSegmentationTest, PrefixTrieRulesOutEveryNwDstSubtableWithEightBits) {
  // The nw_dst trie needs 8 bits to tell 11.1.2.15 from 10.1/16; the
  // subtables are skipped before their L3 stage, so nw_proto stays
  // wildcarded ("ip", not "tcp").
  const Lookup result = lookup(flow("1", "11.1.2.15", "80"));
  EXPECT_EQ(result.rule, drop1);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "ip,in_port=1,nw_dst=11.0.0.0/8"));
}

TEST_F(LookupSegmentationTest, ExactMatchInTheHighestSubtable) {
  const Lookup result = lookup(flow("1", "10.1.2.15", "80"));
  EXPECT_EQ(result.rule, drop33);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "tcp,in_port=1,nw_dst=10.1.2.15,tp_dst=80"));
}

TEST_F(LookupSegmentationTest, PortsTrieFixesOnlyTheLeadingPortBits) {
  const Lookup result = lookup(flow("1", "10.1.2.15", "79"));
  EXPECT_EQ(result.rule, out2);
  EXPECT_TRUE(
      megaflow_is(result.flow, result.wildcards, "tcp,in_port=1,nw_dst=10.1.2.15,tp_dst=0x40/0xfff0"));
}

// OVS tests/classifier.at, "flow classifier - lookup segmentation - final
// stage" (its conntrack table 1 left out: flowlift has no ct fields).
class FinalStageTest : public ClassifierTest {
 protected:
  void SetUp() override {
    out2 = add("in_port=1,tcp,tp_dst=80,tcp_flags=+psh", 33);
    drop = add("in_port=1,ip", 0);
    nd = add("in_port=2,icmp6,nw_ttl=255,icmp_type=135,icmp_code=0,nd_target=1000::1", 16);
    add("in_port=2,ip", 0);
  }
  static std::string tcp(std::string_view tp_dst, std::string_view flags) {
    std::string text =
        "tcp,in_port=1,dl_src=50:54:00:00:00:05,dl_dst=50:54:00:00:00:07,nw_src=192.168.0.1,"
        "nw_dst=192.168.0.2,nw_tos=0,nw_ttl=128,tp_src=8,tp_dst=" +
        std::string(tp_dst);
    if (!flags.empty()) text += ",tcp_flags=" + std::string(flags);
    return text;
  }
  static std::string icmp6(std::string_view rest) {
    return "icmp6,in_port=2,dl_src=f6:d2:b0:19:5e:7b,dl_dst=d2:49:19:91:78:fe,ipv6_src=1000::3,"
           "ipv6_dst=1000::4,nw_ttl=255," +
           std::string(rest);
  }
  // in_port, icmp6, nw_ttl and nd_target, plus the given port bits.
  static OfMask nd_megaflow(uint16_t tp_src_bits, uint16_t tp_dst_bits) {
    OfFlow bits{};
    bits.in_port = 0xffff;
    bits.dl_type = 0xffff;
    bits.nw_proto = 0xff;
    bits.nw_ttl = 0xff;
    bits.tp_src = htons(tp_src_bits);
    bits.tp_dst = htons(tp_dst_bits);
    bits.nd_target.fill(0xff);
    return OfMask(bits);
  }
  const ClsRule *out2, *drop, *nd;
};

TEST_F(FinalStageTest, MissOnTcpFlagsKeepsTheFullPortWhenItMatches) {
  for (const char* flags : {"syn", "syn|ack", ""}) {
    const Lookup result = lookup(tcp("80", flags));
    EXPECT_EQ(result.rule, drop) << flags;
    EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "tcp,in_port=1,tp_dst=80,tcp_flags=-psh"))
        << flags;
  }
}

TEST_F(FinalStageTest, MatchOnTcpFlags) {
  const Lookup result = lookup(tcp("80", "ack|psh"));
  EXPECT_EQ(result.rule, out2);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "tcp,in_port=1,tp_dst=80,tcp_flags=+psh"));
}

TEST_F(FinalStageTest, MissOnThePortKeepsTheStageButNarrowsThePort) {
  Lookup result = lookup(tcp("79", ""));
  EXPECT_EQ(result.rule, drop);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "tcp,in_port=1,tp_dst=0x40/0xfff0,tcp_flags=-psh"));
  // 81 differs from 80 only in the last bit: the whole port is needed.
  result = lookup(tcp("81", ""));
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "tcp,in_port=1,tp_dst=81,tcp_flags=-psh"));
}

TEST_F(FinalStageTest, NdTargetIsLookedAtWithThePorts) {
  // An echo request (type 128) misses the ND rule in its last stage, which
  // holds nd_target and the ports: nd_target is in the megaflow, and of the
  // ports only what tells 128 from 135 (tp_src 0x0080/0xfffc).
  Lookup result = lookup(icmp6("icmpv6_type=128,icmpv6_code=0"));
  EXPECT_EQ(result.rule, nullptr);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, nd_megaflow(0xfffc, 0)));
  // A solicitation for another target: the ports match, nd_target does not.
  result = lookup(icmp6("icmpv6_type=135,icmpv6_code=0"));
  EXPECT_EQ(result.rule, nullptr);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, nd_megaflow(0xffff, 0xffff)));
  result = lookup(icmp6("icmpv6_type=135,icmpv6_code=0,nd_target=1000::2"));
  EXPECT_EQ(result.rule, nullptr);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, nd_megaflow(0xffff, 0xffff)));
  result = lookup(icmp6("icmpv6_type=135,icmpv6_code=0,nd_target=1000::1"));
  EXPECT_EQ(result.rule, nd);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, nd_megaflow(0xffff, 0xffff)));
}

// ---------------------------------------------------------------------------
// Prefix tracking

// OVS tests/classifier.at, "flow classifier - prefix lookup".
class PrefixLookupTest : public ClassifierTest {
 protected:
  void SetUp() override {
    out3 = add("in_port=1,tcp,nw_dst=10.1.0.0/16", 16);
    add("in_port=1,tcp,nw_dst=10.1.2.0/24,tp_src=79", 32);
    drop33 = add("in_port=1,tcp,nw_dst=10.1.2.15,tp_dst=80", 33);
    add("in_port=1,tcp,nw_dst=10.1.2.15,tp_dst=8080", 33);
    add("in_port=1,tcp,nw_dst=10.1.2.15,tp_dst=192", 33);
    drop1 = add("in_port=1,ip", 0);
    out1 = add("in_port=2,tcp,nw_dst=192.168.0.0/16", 16);
    add("in_port=2,ip", 0);
    add("in_port=3,tcp,nw_src=10.1.0.0/16", 16);
    add("in_port=3,ip", 0);
  }
  static std::string flow(std::string_view in_port, std::string_view nw_dst, std::string_view tp_dst) {
    return "tcp,in_port=" + std::string(in_port) +
           ",dl_src=50:54:00:00:00:05,dl_dst=50:54:00:00:00:07,nw_src=192.168.0.1,nw_dst=" +
           std::string(nw_dst) + ",nw_tos=0,nw_ttl=128,tp_src=8,tp_dst=" + std::string(tp_dst);
  }
  void track(std::vector<OfFieldId> fields) { ASSERT_TRUE(classifier_.set_prefix_fields(fields).is_ok()); }
  const ClsRule *out1, *out3, *drop1, *drop33;
};

TEST_F(PrefixLookupTest, DefaultTracksNwDstAndNwSrc) {
  const Lookup result = lookup(flow("1", "192.168.0.2", "80"));
  EXPECT_EQ(result.rule, drop1);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "tcp,in_port=1,nw_dst=192.168.0.0/16"));
}

TEST_F(PrefixLookupTest, NwDstOnly) {
  track({OfFieldId::kIpv4Dst});
  Lookup result = lookup(flow("1", "192.168.0.2", "80"));
  EXPECT_EQ(result.rule, drop1);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "tcp,in_port=1,nw_dst=192.168.0.0/16"));

  result = lookup(flow("2", "192.168.0.2", "80"));
  EXPECT_EQ(result.rule, out1);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "tcp,in_port=2,nw_dst=192.168.0.0/16"));

  result = lookup(flow("1", "10.1.2.15", "80"));
  EXPECT_EQ(result.rule, drop33);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "tcp,in_port=1,nw_dst=10.1.2.15,tp_dst=80"));

  // Both port tries speak: tp_dst against 80/8080/192, tp_src against 79.
  result = lookup(flow("1", "10.1.2.15", "79"));
  EXPECT_EQ(result.rule, out3);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards,
                          "tcp,in_port=1,nw_dst=10.1.2.15,tp_src=0x0/0xffc0,tp_dst=0x40/0xfff0"));
}

TEST_F(PrefixLookupTest, NoPrefixTracking) {
  track({});
  const Lookup result = lookup(flow("1", "10.1.3.16", "79"));
  EXPECT_EQ(result.rule, out3);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "tcp,in_port=1,nw_dst=10.1.3.16"));
}

TEST_F(PrefixLookupTest, TrieBitsWithinTheSubtablePrefixSkipIt) {
  // Worked out from check_tries(): the trie leaves 10.1.3.16 at bit 23 of
  // 10.1.2.15/32 (mask bits 24, matching lengths {16}). The /32 and /24
  // subtables are skipped with nw_dst/24 (24 <= 32, 24 <= 24), before their
  // L3 stage; the /16 one matches.
  track({OfFieldId::kIpv4Dst});
  const Lookup result = lookup(flow("1", "10.1.3.16", "79"));
  EXPECT_EQ(result.rule, out3);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "tcp,in_port=1,nw_dst=10.1.3.0/24"));
}

TEST_F(ClassifierTest, TrieAnswerNeedingMoreBitsThanTheSubtableHasIsNotUsed) {
  // nw_dst trie: 10.1.2.15/32 and 10.2.0.0/16. For 10.1.2.16 it needs 28
  // bits (the first difference from 10.1.2.15 is bit 27) and no length
  // matches. The /16 subtable (looked at first) may not use 28 > 16 bits
  // that nothing has fixed yet: it does its own L3 lookup and misses with
  // nw_dst/16. The ip rule then wins before the /32 subtable is visited.
  add("ip,nw_dst=10.1.2.15", 20);
  add("ip,nw_dst=10.2.0.0/16", 30);
  const ClsRule* ip = add("ip", 25);
  const Lookup result = lookup("ip,nw_dst=10.1.2.16");
  EXPECT_EQ(result.rule, ip);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "ip,nw_dst=10.1.0.0/16"));
}

TEST_F(ClassifierTest, TrieAnswerNeedingMoreBitsIsUsedWhenTheyAreAlreadyFixed) {
  // As above, but the /32 subtable (priority 40) goes first: 28 <= 32, so it
  // is skipped with nw_dst/28 fixed. Then the /16 subtable can be skipped
  // too, as those 28 bits are already in the megaflow: no L3 lookup, no
  // nw_dst/16 of its own.
  add("ip,nw_dst=10.1.2.15", 40);
  add("ip,nw_dst=10.2.0.0/16", 30);
  const ClsRule* ip = add("ip", 0);
  const Lookup result = lookup("ip,nw_dst=10.1.2.16");
  EXPECT_EQ(result.rule, ip);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "ip,nw_dst=10.1.2.16/28"));
}

TEST_F(ClassifierTest, SwitchingPrefixFieldsRebuildsTheTriesFromExistingRules) {
  ASSERT_TRUE(classifier_.set_prefix_fields({}).is_ok());
  add("ip,nw_dst=10.1.0.0/16", 10);
  const ClsRule* ip = add("ip", 0);
  Lookup result = lookup("ip,nw_dst=11.0.0.1");
  EXPECT_EQ(result.rule, ip);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "ip,nw_dst=11.0.0.1/16"));

  const std::vector<OfFieldId> nw_dst{OfFieldId::kIpv4Dst};
  ASSERT_TRUE(classifier_.set_prefix_fields(nw_dst).is_ok());
  result = lookup("ip,nw_dst=11.0.0.1");
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "ip,nw_dst=11.0.0.1/8"));

  ASSERT_TRUE(classifier_.set_prefix_fields({}).is_ok());
  result = lookup("ip,nw_dst=11.0.0.1");
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "ip,nw_dst=11.0.0.1/16"));
}

TEST_F(ClassifierTest, ConstructorConfigChoosesThePrefixFields) {
  Classifier untracked(ClassifierConfig{{}});
  Classifier tracked;
  const ClsRule rule(parse_match("ip,nw_dst=10.1.0.0/16"), 10);
  untracked.insert(&rule);
  tracked.insert(&rule);
  const OfFlow flow = packet("ip,nw_dst=11.0.0.1");
  OfMask wildcards;
  untracked.lookup(kOfVersionMin, flow, &wildcards);
  EXPECT_TRUE(megaflow_is(flow, wildcards, "ip,nw_dst=11.0.0.1/16"));
  wildcards = OfMask();
  tracked.lookup(kOfVersionMin, flow, &wildcards);
  EXPECT_TRUE(megaflow_is(flow, wildcards, "ip,nw_dst=11.0.0.1/8"));
}

TEST_F(ClassifierTest, Ipv6PrefixTracking) {
  add("ipv6,ipv6_dst=2001:db8::/64", 10);
  const ClsRule* any = add("ipv6", 0);
  // Default prefixes (IPv4 only): the L3 lookup fixes the whole /64.
  Lookup result = lookup("ipv6,ipv6_dst=3001::1");
  EXPECT_EQ(result.rule, any);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "ipv6,ipv6_dst=3001::/64"));
  // 0x2001 and 0x3001 differ at bit 3: four bits suffice.
  const std::vector<OfFieldId> fields{OfFieldId::kIpv6Dst};
  ASSERT_TRUE(classifier_.set_prefix_fields(fields).is_ok());
  result = lookup("ipv6,ipv6_dst=3001::1");
  EXPECT_EQ(result.rule, any);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "ipv6,ipv6_dst=3000::/4"));
}

TEST_F(ClassifierTest, TunnelSourcePrefixTracking) {
  const std::vector<OfFieldId> fields{OfFieldId::kTunSrc};
  ASSERT_TRUE(classifier_.set_prefix_fields(fields).is_ok());
  add("tun_src=192.168.0.0/16", 10);
  const ClsRule* any = add("", 0);
  const Lookup result = lookup("tun_src=10.0.0.1");
  EXPECT_EQ(result.rule, any);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "tun_src=0.0.0.0/1"));
}

TEST_F(ClassifierTest, PrefixTrieIsNotConsultedForFlowsWithoutTheFieldsProtocol) {
  // A match on nw_dst without dl_type (made by hand: the parser insists on
  // the prerequisite) lets non-IPv4 flows reach the L3 stage. For them the
  // IPv4 trie says nothing (OVS checks the field's prerequisites first).
  OfFlow bits{};
  bits.nw_dst = htonl(0xffffff00);
  OfFlow value{};
  value.nw_dst = htonl(0x0a000000);
  add(OfMatch(value, OfMask(bits)), 10);
  add("", 0);
  // For an IPv4 flow the trie needs 8 bits to rule the /24 out.
  Lookup result = lookup("ip,nw_dst=11.0.0.1");
  OfFlow expected{};
  expected.nw_dst = htonl(0xff000000);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, OfMask(expected)));
  OfFlow ipv6_flow = packet("ipv6");
  ipv6_flow.nw_dst = htonl(0x0b000001);
  result = lookup(ipv6_flow);
  expected.nw_dst = htonl(0xffffff00);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, OfMask(expected)));
}

TEST_F(ClassifierTest, RulesOfOtherVersionsStillShapeTheTries) {
  // OVS puts a match into the tries when its first rule is inserted, whatever
  // the rule's versions. A rule not yet visible therefore keeps its subtable
  // from being skipped by the trie: the lookup goes through L3, misses the
  // visible rules and fixes nw_dst/16, not the 8 bits the trie would need
  // without it.
  add("ip,nw_dst=10.1.0.0/16", 10, {}, 5);
  add("ip,nw_dst=172.16.0.0/16", 5);
  const ClsRule* ip = add("ip", 0);
  Lookup result = lookup("ip,nw_dst=10.1.2.3", 4);
  EXPECT_EQ(result.rule, ip);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "ip,nw_dst=10.1.0.0/16"));
  // From version 5 on the rule matches, with the same megaflow.
  result = lookup("ip,nw_dst=10.1.2.3", 5);
  EXPECT_NE(result.rule, ip);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "ip,nw_dst=10.1.0.0/16"));
}

TEST_F(ClassifierTest, SetPrefixFieldsRefusesWhatOvsRefuses) {
  add("ip,nw_dst=10.1.0.0/16", 10);
  add("ip", 0);
  const std::vector<OfFieldId> four{OfFieldId::kIpv4Dst, OfFieldId::kIpv4Src, OfFieldId::kTunDst,
                                    OfFieldId::kTunSrc};
  Status status = classifier_.set_prefix_fields(four);
  EXPECT_EQ(status.code(), EINVAL);
  EXPECT_NE(status.message().find("at most 3"), std::string::npos) << status.message();

  const std::vector<OfFieldId> label{OfFieldId::kIpv6Label};
  status = classifier_.set_prefix_fields(label);
  EXPECT_EQ(status.code(), EINVAL);
  EXPECT_NE(status.message().find("ipv6_label"), std::string::npos) << status.message();

  const std::vector<OfFieldId> twice{OfFieldId::kIpv4Dst, OfFieldId::kIpv4Dst};
  status = classifier_.set_prefix_fields(twice);
  EXPECT_EQ(status.code(), EINVAL);
  EXPECT_NE(status.message().find("ip_dst is listed twice"), std::string::npos) << status.message();

  // The default tracking is still in force.
  const Lookup result = lookup("ip,nw_dst=11.0.0.1");
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "ip,nw_dst=11.0.0.1/8"));
}

// ---------------------------------------------------------------------------
// Conjunctive matches

class ConjunctionTest : public ClassifierTest {
 protected:
  const ClsRule* output(std::string_view match, int32_t priority, int port) {
    const ClsRule* rule = add(match, priority);
    ports_[rule] = port;
    return rule;
  }
  void conjunction(std::string_view match, int32_t priority, std::vector<ClsConjunction> clauses) {
    add(match, priority, std::move(clauses));
  }
  int output_of(const std::string& flow) {
    const ClsRule* rule = lookup(flow).rule;
    if (rule == nullptr) return -1;
    auto it = ports_.find(rule);
    return it == ports_.end() ? -2 : it->second;
  }
  static ClsConjunction clause(uint32_t id, uint8_t k, uint8_t n) {
    return ClsConjunction{id, static_cast<uint8_t>(k - 1), n};
  }
  std::map<const ClsRule*, int> ports_;
};

// OVS tests/classifier.at, "single conjunctive match".
TEST_F(ConjunctionTest, SingleConjunctiveMatch) {
  output("conj_id=1", kOfDefaultPriority, 3);
  for (const char* src : {"10.0.0.1", "10.0.0.4", "10.0.0.6", "10.0.0.7"}) {
    conjunction(std::string("ip,ip_src=") + src, 100, {clause(1, 1, 2)});
  }
  for (const char* dst : {"10.0.0.2", "10.0.0.5", "10.0.0.7", "10.0.0.8"}) {
    conjunction(std::string("ip,ip_dst=") + dst, 100, {clause(1, 2, 2)});
  }
  output("ip,ip_src=10.0.0.1,ip_dst=10.0.0.4", 100, 4);
  output("ip,ip_src=10.0.0.3,ip_dst=10.0.0.5", 100, 5);
  output("", 0, 2);
  for (int src = 0; src < 8; ++src) {
    for (int dst = 0; dst < 8; ++dst) {
      int expected = 2;
      if (src == 1 && dst == 4) {
        expected = 4;
      } else if (src == 3 && dst == 5) {
        expected = 5;
      } else if ((src == 1 || src == 4 || src == 6 || src == 7) &&
                 (dst == 2 || dst == 5 || dst == 7 || dst == 8)) {
        expected = 3;
      }
      const std::string flow =
          "in_port=1,ip,nw_src=10.0.0." + std::to_string(src) + ",nw_dst=10.0.0." + std::to_string(dst);
      EXPECT_EQ(output_of(flow), expected) << flow;
    }
  }
}

// OVS tests/classifier.at, "multiple conjunctive match".
TEST_F(ConjunctionTest, MultipleConjunctiveMatch) {
  output("conj_id=1", kOfDefaultPriority, 1);
  output("conj_id=2", kOfDefaultPriority, 2);
  output("conj_id=3", kOfDefaultPriority, 3);
  conjunction("ip,ip_src=20.0.0.0/8", 5, {clause(1, 1, 2), clause(2, 1, 2)});
  conjunction("ip,ip_src=10.1.0.0/16", 5, {clause(1, 1, 2), clause(3, 2, 3)});
  conjunction("ip,ip_src=10.2.0.0/16", 5, {clause(1, 1, 2), clause(2, 1, 2)});
  conjunction("ip,ip_src=10.1.3.0/24", 5, {clause(1, 1, 2), clause(3, 2, 3)});
  conjunction("ip,ip_src=10.1.4.5/32", 5, {clause(1, 1, 2), clause(2, 1, 2)});
  for (const char* dst : {"20.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16", "10.1.3.0/24", "10.1.4.5/32"}) {
    conjunction(std::string("ip,ip_dst=") + dst, 5, {clause(1, 2, 2)});
  }
  conjunction("ip,ip_dst=30.0.0.0/8", 5, {clause(2, 2, 2), clause(3, 1, 3)});
  conjunction("ip,ip_dst=40.5.0.0/16", 5, {clause(2, 2, 2), clause(3, 1, 3)});
  conjunction("tcp,tcp_dst=80", 5, {clause(3, 3, 3)});
  conjunction("tcp,tcp_dst=443", 5, {clause(3, 3, 3)});
  conjunction("tcp,tcp_src=80", 5, {clause(3, 3, 3)});
  conjunction("tcp,tcp_src=443", 5, {clause(3, 3, 3)});
  output("", 0, 4);

  const std::vector<std::string> sources{"20.0.0.1", "10.1.0.1", "10.2.0.1",
                                         "10.1.3.1", "10.1.4.5", "1.2.3.4"};
  const std::vector<std::string> destinations{"20.0.0.1", "10.1.0.1", "10.2.0.1", "10.1.3.1",
                                              "10.1.4.5", "30.0.0.1", "40.5.0.1", "1.2.3.4"};
  const std::vector<std::string> ports{"80", "443", "8080"};
  for (size_t a = 1; a <= sources.size(); ++a) {
    for (size_t b = 1; b <= destinations.size(); ++b) {
      for (size_t c = 1; c <= ports.size(); ++c) {
        for (size_t d = 1; d <= ports.size(); ++d) {
          // The shell case patterns of the OVS test.
          int expected = 4;
          if (a <= 5 && b <= 5) {
            expected = 1;
          } else if ((a == 1 || a == 3 || a == 5) && (b == 6 || b == 7)) {
            expected = 2;
          } else if ((a == 2 || a == 4) && (b == 6 || b == 7) && (c <= 2 || d <= 2)) {
            expected = 3;
          }
          const std::string flow = "in_port=5,tcp,nw_src=" + sources[a - 1] +
                                   ",nw_dst=" + destinations[b - 1] + ",tcp_src=" + ports[c - 1] +
                                   ",tcp_dst=" + ports[d - 1];
          EXPECT_EQ(output_of(flow), expected) << flow;
        }
      }
    }
  }
}

// OVS tests/classifier.at, "conjunctive match priority fallback".
TEST_F(ConjunctionTest, PriorityFallback) {
  output("conj_id=1", kOfDefaultPriority, 1);
  output("conj_id=3", kOfDefaultPriority, 3);
  conjunction("ip,ip_src=10.0.0.1", 5, {clause(1, 1, 2)});
  conjunction("ip,ip_src=10.0.0.2", 5, {clause(1, 1, 2)});
  conjunction("ip,ip_dst=10.0.0.1", 5, {clause(1, 2, 2)});
  conjunction("ip,ip_dst=10.0.0.2", 5, {clause(1, 2, 2)});
  conjunction("ip,ip_dst=10.0.0.3", 5, {clause(1, 2, 2)});
  output("ip,ip_src=10.0.0.3,ip_dst=10.0.0.2", 4, 2);
  conjunction("ip,ip_src=10.0.0.1", 3, {clause(3, 1, 2)});
  conjunction("ip,ip_src=10.0.0.3", 3, {clause(3, 1, 2)});
  conjunction("ip,ip_dst=10.0.0.2", 3, {clause(3, 2, 2)});
  conjunction("ip,ip_dst=10.0.0.3", 3, {clause(3, 2, 2)});
  conjunction("ip,ip_dst=10.0.0.4", 3, {clause(3, 2, 2)});
  output("ip,ip_dst=10.0.0.1", 2, 4);
  output("ip,ip_src=10.0.0.1,ip_dst=10.0.0.5", 1, 5);
  output("", 0, 6);
  for (int src = 0; src <= 3; ++src) {
    for (int dst = 0; dst <= 5; ++dst) {
      int expected = 6;
      if ((src == 1 || src == 2) && (dst >= 1 && dst <= 3)) {
        expected = 1;
      } else if (src == 3 && dst == 2) {
        expected = 2;
      } else if ((src == 1 || src == 3) && (dst >= 2 && dst <= 4)) {
        expected = 3;
      } else if (dst == 1) {
        expected = 4;
      } else if (src == 1 && dst == 5) {
        expected = 5;
      }
      const std::string flow =
          "in_port=7,ip,nw_src=10.0.0." + std::to_string(src) + ",nw_dst=10.0.0." + std::to_string(dst);
      EXPECT_EQ(output_of(flow), expected) << flow;
    }
  }
}

TEST_F(ConjunctionTest, HardMatchAtTheSamePriorityBeatsTheConjunction) {
  output("conj_id=7", 50, 1);
  conjunction("ip,ip_src=10.0.0.1", 10, {clause(7, 1, 2)});
  conjunction("ip,ip_dst=10.0.0.2", 10, {clause(7, 2, 2)});
  output("ip,ip_src=10.0.0.1,ip_dst=10.0.0.2", 10, 2);
  output("ip,ip_dst=10.0.0.2", 9, 3);
  EXPECT_EQ(output_of("ip,nw_src=10.0.0.1,nw_dst=10.0.0.2"), 2);
  // Only one of the two clauses matches: the conjunction is incomplete, and
  // no ordinary rule matches 10.0.0.3.
  EXPECT_EQ(output_of("ip,nw_src=10.0.0.1,nw_dst=10.0.0.3"), -1);
}

TEST_F(ConjunctionTest, IncompleteConjunctionFallsBackToOrdinaryRules) {
  output("conj_id=7", 50, 1);
  conjunction("ip,ip_src=10.0.0.1", 10, {clause(7, 1, 3)});
  conjunction("ip,ip_dst=10.0.0.2", 10, {clause(7, 2, 3)});
  conjunction("tcp,tcp_dst=80", 10, {clause(7, 3, 3)});
  output("ip", 1, 2);
  EXPECT_EQ(output_of("ip,nw_src=10.0.0.1,nw_dst=10.0.0.2"), 2);
  EXPECT_EQ(output_of("tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_dst=80"), 1);
  // No rule for the conjunction's id: the lookup goes on below.
  output("conj_id=8", 50, 3);
  conjunction("udp,udp_dst=53", 20, {clause(9, 1, 2)});
  conjunction("udp,nw_src=10.0.0.1", 20, {clause(9, 2, 2)});
  EXPECT_EQ(output_of("udp,nw_src=10.0.0.1,tp_dst=53"), 2);
}

TEST_F(ConjunctionTest, ManySoftMatchesAndManyIds) {
  // 70 clause rules in 70 subtables (one register bit each) all match: more
  // soft matches than the lookup keeps inline (64, as OVS's soft_stub).
  output("conj_id=1", 50, 1);
  for (int bit = 0; bit < 70; ++bit) {
    const int reg = bit / 32;
    const std::string value = std::to_string(1u << (bit % 32));
    conjunction("reg" + std::to_string(reg) + "=" + value + "/" + value, 10,
                {clause(1, static_cast<uint8_t>(bit < 35 ? 1 : 2), 2)});
  }
  output("", 0, 2);
  EXPECT_EQ(output_of("ip,reg0=0xffffffff,reg1=0xffffffff,reg2=0xffffffff"), 1);
  EXPECT_EQ(output_of("ip,reg0=0xffffffff,reg1=0x7,reg2=0"), 2);  // clause 2 needs bits 35..69

  // One rule in 17 conjunctions (more ids than kept inline, 16), the last of
  // which the second rule completes.
  output("conj_id=117", 60, 3);
  std::vector<ClsConjunction> first;
  for (uint32_t id = 101; id <= 117; ++id) first.push_back(clause(id, 1, 2));
  conjunction("tcp", 20, std::move(first));
  conjunction("tcp,tp_dst=80", 20, {clause(117, 2, 2)});
  EXPECT_EQ(output_of("tcp,tp_dst=80"), 3);
  EXPECT_EQ(output_of("tcp,tp_dst=81"), 2);
}

TEST_F(ConjunctionTest, ConjIdNeverReachesTheMegaflow) {
  output("conj_id=1", kOfDefaultPriority, 3);
  conjunction("ip,ip_src=10.0.0.1", 100, {clause(1, 1, 2)});
  conjunction("ip,ip_dst=10.0.0.2", 100, {clause(1, 2, 2)});
  output("", 0, 2);
  // The second lookup (with conj_id=1) visits the conj_id subtable, but
  // conj_id is not a packet field: only the address bits remain.
  const Lookup result = lookup("ip,nw_src=10.0.0.1,nw_dst=10.0.0.2");
  EXPECT_EQ(ports_[result.rule], 3);
  EXPECT_EQ(result.wildcards.bits().conj_id, 0u);
  EXPECT_TRUE(megaflow_is(result.flow, result.wildcards, "ip,nw_src=10.0.0.1,nw_dst=10.0.0.2"));
}

// ---------------------------------------------------------------------------
// Versions

TEST_F(ClassifierTest, RuleIsVisibleOnlyInItsVersions) {
  const ClsRule* rule = add("tcp", 10, {}, 5);
  EXPECT_EQ(lookup("tcp", 4).rule, nullptr);
  EXPECT_EQ(lookup("tcp", 5).rule, rule);
  const_cast<ClsRule*>(rule)->set_remove_version(7);
  EXPECT_EQ(lookup("tcp", 6).rule, rule);
  EXPECT_EQ(lookup("tcp", 7).rule, nullptr);
  const_cast<ClsRule*>(rule)->clear_remove_version();
  EXPECT_EQ(lookup("tcp", 100).rule, rule);
  EXPECT_EQ(classifier_.size(), 1u);
}

TEST_F(ClassifierTest, ReplacementInsideABundleSwitchesAtItsVersion) {
  ClsRule* old_rule = const_cast<ClsRule*>(add("tcp,tp_dst=80", 10, {}, 1));
  // The bundle at version 3: the old rule goes, a new one with the same
  // match and priority comes.
  old_rule->set_remove_version(3);
  const ClsRule* new_rule = add("tcp,tp_dst=80", 10, {}, 3);
  EXPECT_EQ(lookup("tcp,tp_dst=80", 2).rule, old_rule);
  EXPECT_EQ(lookup("tcp,tp_dst=80", 3).rule, new_rule);
  const OfMatch match = parse_match("tcp,tp_dst=80");
  EXPECT_EQ(classifier_.find_exactly(match, 10, 2), old_rule);
  EXPECT_EQ(classifier_.find_exactly(match, 10, 3), new_rule);
  EXPECT_EQ(classifier_.size(), 2u);
  // Once no reader is at version 2 the old rule is removed for good.
  classifier_.remove(old_rule);
  EXPECT_EQ(lookup("tcp,tp_dst=80", 3).rule, new_rule);
  EXPECT_EQ(classifier_.find_exactly(match, 10, 2), nullptr);
}

TEST_F(ClassifierTest, InvisibleTopRuleRevealsLowerPriorityRuleWithTheSameMatch) {
  const ClsRule* low = add("tcp,tp_dst=80", 5);
  const ClsRule* high = add("tcp,tp_dst=80", 10, {}, 4);
  EXPECT_EQ(lookup("tcp,tp_dst=80", 3).rule, low);
  EXPECT_EQ(lookup("tcp,tp_dst=80", 4).rule, high);
}

TEST_F(ClassifierTest, RollbackRestoresTheReplacedRule) {
  ClsRule* old_rule = const_cast<ClsRule*>(add("udp", 10));
  old_rule->set_remove_version(2);
  const ClsRule* new_rule = add("udp", 10, {}, 2);
  // The bundle fails: its rule goes, the old one is visible again.
  classifier_.remove(new_rule);
  old_rule->clear_remove_version();
  EXPECT_EQ(lookup("udp", 2).rule, old_rule);
  EXPECT_EQ(lookup("udp", 9).rule, old_rule);
}

// ---------------------------------------------------------------------------
// find_exactly and for_each_within

TEST_F(ClassifierTest, FindExactlyNeedsSameMatchPriorityAndVersion) {
  const ClsRule* rule = add("tcp,nw_dst=10.0.0.0/8,tp_dst=80", 10, {}, 2);
  add("tcp,nw_dst=10.0.0.0/8,tp_dst=80", 5);
  add("tcp,nw_dst=10.0.0.0/8", 10);
  const OfMatch match = parse_match("tcp,nw_dst=10.0.0.0/8,tp_dst=80");
  EXPECT_EQ(classifier_.find_exactly(match, 10, 2), rule);
  EXPECT_EQ(classifier_.find_exactly(match, 10, 1), nullptr);
  EXPECT_EQ(classifier_.find_exactly(match, 11, 2), nullptr);
  EXPECT_NE(classifier_.find_exactly(match, 5, 2), nullptr);
  EXPECT_EQ(classifier_.find_exactly(parse_match("tcp,nw_dst=10.0.0.0/8,tp_dst=81"), 10, 2), nullptr);
  EXPECT_EQ(classifier_.find_exactly(parse_match("tcp,nw_dst=10.0.0.0/16,tp_dst=80"), 10, 2), nullptr);
}

class ForEachWithinTest : public ClassifierTest {
 protected:
  void SetUp() override {
    ten = add("ip,nw_dst=10.0.0.0/8", 1);
    ten_one = add("tcp,nw_dst=10.1.0.0/16", 2);
    ten_one_web = add("tcp,nw_dst=10.1.0.0/16,tp_dst=80", 3);
    udp = add("udp", 4);
    eleven = add("ip,nw_dst=11.0.0.0/8", 5);
    later = add("ip,nw_dst=10.2.0.0/16", 6, {}, 9);
  }
  std::vector<const ClsRule*> within(std::string_view target, OfVersion version = kOfVersionMin) {
    std::vector<const ClsRule*> seen;
    classifier_.for_each_within(parse_match(target), version,
                                [&](const ClsRule& rule) { seen.push_back(&rule); });
    std::sort(seen.begin(), seen.end(),
              [](const ClsRule* a, const ClsRule* b) { return a->priority() < b->priority(); });
    return seen;
  }
  const ClsRule *ten, *ten_one, *ten_one_web, *udp, *eleven, *later;
};

TEST_F(ForEachWithinTest, VisitsRulesAtLeastAsSpecificAsTheTarget) {
  EXPECT_EQ(within("ip,nw_dst=10.0.0.0/8"), (std::vector<const ClsRule*>{ten, ten_one, ten_one_web}));
  EXPECT_EQ(within("ip,nw_dst=10.0.0.0/8", 9),
            (std::vector<const ClsRule*>{ten, ten_one, ten_one_web, later}));
  EXPECT_EQ(within("tcp"), (std::vector<const ClsRule*>{ten_one, ten_one_web}));
  EXPECT_EQ(within("tcp,tp_dst=80"), (std::vector<const ClsRule*>{ten_one_web}));
  EXPECT_EQ(within("tcp,nw_dst=10.1.0.0/16"), (std::vector<const ClsRule*>{ten_one, ten_one_web}));
  EXPECT_TRUE(within("sctp").empty());
}

TEST_F(ForEachWithinTest, CatchAllTargetVisitsEveryVisibleRule) {
  EXPECT_EQ(within(""), (std::vector<const ClsRule*>{ten, ten_one, ten_one_web, udp, eleven}));
  EXPECT_EQ(within("", 9).size(), 6u);
}

TEST_F(ForEachWithinTest, VisitorMayRemoveTheRulesItIsGiven) {
  classifier_.for_each_within(parse_match("ip,nw_dst=10.0.0.0/8"), kOfVersionMin,
                              [&](const ClsRule& rule) { classifier_.remove(&rule); });
  EXPECT_EQ(classifier_.size(), 3u);
  EXPECT_EQ(within(""), (std::vector<const ClsRule*>{udp, eleven}));
}

}  // namespace
}  // namespace flowlift
