// Classifier against ClassifierLinearReference on random tables and flows
// (fixed seeds): the same rule for every flow, whether wildcards are tracked
// or not, under every prefix-tracking configuration, with versions, removals
// and conjunctions; and wildcard soundness: every flow that agrees with a
// looked-up flow on the bits the lookup reported gets the same rule, which
// is what makes the megaflow correct.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "slowpath/classifier.h"
#include "slowpath/classifier_linear_reference.h"
#include "slowpath/of_flow_syntax.h"

namespace flowlift {
namespace {

// Rules and flows drawn from small pools of values, so that flows often
// match, prefixes nest, and masks repeat (several rules per subtable).
class ClsRandomTable {
 public:
  explicit ClsRandomTable(uint64_t seed) : rng_(seed) {}

  bool chance(double probability) { return std::bernoulli_distribution(probability)(rng_); }
  size_t index(size_t size) { return std::uniform_int_distribution<size_t>(0, size - 1)(rng_); }
  template <typename T>
  T pick(std::initializer_list<T> values) {
    return values.begin()[index(values.size())];
  }
  uint32_t bits32() { return static_cast<uint32_t>(rng_()); }
  std::mt19937_64& engine() { return rng_; }

  // A rule's match over a small field set, with the prerequisites a parsed
  // rule would have (nw_* and ports only with their dl_type / nw_proto), at
  // least `min_fields` and at most `min_fields + extra_fields` fields besides
  // those prerequisites.
  OfMatch match(int min_fields = 2, int extra_fields = 2) {
    OfFlow value{}, mask{};
    const double protocol = std::uniform_real_distribution<double>(0, 1)(rng_);
    // Candidate fields, as setters; the protocol decides which apply.
    std::vector<int> fields{kInPort, kReg0, kTunSrc, kDlSrc};
    if (protocol < 0.7) {
      set(value.dl_type, mask.dl_type, htons(0x0800), 0xffff);
      fields.insert(fields.end(), {kNwSrc, kNwDst, kNwSrc, kNwDst, kTransport, kTransport});
    } else if (protocol < 0.9) {
      set(value.dl_type, mask.dl_type, htons(0x86dd), 0xffff);
      fields.insert(fields.end(), {kIpv6Dst, kIpv6Dst});
    } else {
      set(value.dl_type, mask.dl_type, htons(0x0806), 0xffff);
    }
    std::shuffle(fields.begin(), fields.end(), rng_);
    int n_fields = min_fields + static_cast<int>(index(extra_fields + 1));
    for (int field : fields) {
      if (n_fields-- <= 0) break;
      switch (field) {
        case kInPort:
          set(value.in_port, mask.in_port, pick<uint32_t>({1, 2, 3}), 0xffffu);
          break;
        case kReg0:
          set(value.regs[0], mask.regs[0], pick<uint32_t>({0, 5, 0x105}), pick<uint32_t>({~0u, 0xffu}));
          break;
        case kTunSrc:
          set(value.tun_src, mask.tun_src, htonl(ipv4_base()), htonl(prefix_mask(pick({8u, 16u, 32u}))));
          break;
        case kDlSrc:
          value.dl_src = {0, 0, 0, 0, 0, static_cast<uint8_t>(pick({1, 2}))};
          mask.dl_src.fill(0xff);
          break;
        case kNwSrc:
          set(value.nw_src, mask.nw_src, htonl(ipv4_base()), htonl(ipv4_mask()));
          break;
        case kNwDst:
          set(value.nw_dst, mask.nw_dst, htonl(ipv4_base()), htonl(ipv4_mask()));
          break;
        case kTransport:
          if (mask.nw_proto == 0) set(value.nw_proto, mask.nw_proto, pick<uint8_t>({6, 17}), 0xff);
          if (chance(0.4)) set(value.tp_src, mask.tp_src, htons(port()), htons(port_mask()));
          if (chance(0.6)) set(value.tp_dst, mask.tp_dst, htons(port()), htons(port_mask()));
          if (value.nw_proto == 6 && chance(0.15))
            set(value.tcp_flags, mask.tcp_flags, htons(0x008), htons(0x008));
          break;
        case kIpv6Dst:
          value.ipv6_dst = ipv6_base();
          mask.ipv6_dst = ipv6_prefix_mask(pick({16u, 32u, 48u, 64u, 128u}));
          break;
      }
    }
    return OfMatch(value, OfMask(mask));
  }

  // A packet's flow: mostly values near the rules' ones.
  OfFlow flow() {
    OfFlow flow{};
    flow.in_port = pick<uint32_t>({1, 2, 3, 4});
    flow.regs[0] = pick<uint32_t>({0, 5, 0x105, 0x205});
    flow.tun_src = htonl(near(ipv4_base()));
    flow.dl_src = {0, 0, 0, 0, 0, static_cast<uint8_t>(pick({1, 2, 3}))};
    flow.dl_type = htons(pick<uint16_t>({0x0800, 0x0800, 0x0800, 0x86dd, 0x0806}));
    if (flow.dl_type == htons(0x0800)) {
      flow.nw_src = htonl(near(ipv4_base()));
      flow.nw_dst = htonl(near(ipv4_base()));
      flow.nw_proto = pick<uint8_t>({6, 6, 17, 1});
      flow.tp_src = htons(chance(0.7) ? port() : static_cast<uint16_t>(bits32()));
      flow.tp_dst = htons(chance(0.7) ? port() : static_cast<uint16_t>(bits32()));
      if (flow.nw_proto == 6) flow.tcp_flags = htons(static_cast<uint16_t>(bits32() & 0x0fff));
    } else if (flow.dl_type == htons(0x86dd)) {
      flow.ipv6_dst = ipv6_base();
      if (chance(0.5)) flow.ipv6_dst[15] = static_cast<uint8_t>(bits32());
      if (chance(0.3)) flow.ipv6_dst[5] = static_cast<uint8_t>(bits32());
    }
    return flow;
  }

  // `flow` where `wildcards` has bits, `other` elsewhere.
  static OfFlow agreeing(const OfFlow& flow, const OfFlow& other, const OfMask& wildcards) {
    OfFlow mixed;
    const auto* f = reinterpret_cast<const uint8_t*>(&flow);
    const auto* o = reinterpret_cast<const uint8_t*>(&other);
    const auto* w = reinterpret_cast<const uint8_t*>(&wildcards.bits());
    auto* m = reinterpret_cast<uint8_t*>(&mixed);
    for (size_t i = 0; i < sizeof mixed; ++i) m[i] = static_cast<uint8_t>((f[i] & w[i]) | (o[i] & ~w[i]));
    return mixed;
  }

 private:
  enum ClsRandomField { kInPort, kReg0, kTunSrc, kDlSrc, kNwSrc, kNwDst, kTransport, kIpv6Dst };

  template <typename T, typename V, typename M>
  static void set(T& value, T& mask, V v, M m) {
    mask = static_cast<T>(m);
    value = static_cast<T>(v);
  }
  static uint32_t prefix_mask(unsigned length) { return length == 0 ? 0 : ~0u << (32 - length); }
  uint32_t ipv4_base() {
    return pick<uint32_t>({0x0a000000, 0x0a010000, 0x0a010200, 0x0a01020f, 0xc0a80000, 0xc0a80101});
  }
  uint32_t ipv4_mask() {
    if (chance(0.1)) return 0xff00ff00;  // not a prefix: no trie for this subtable
    return prefix_mask(pick({8u, 16u, 24u, 28u, 32u}));
  }
  uint32_t near(uint32_t base) { return base | (bits32() & pick<uint32_t>({0, 0xff, 0xffff, 0xffffff})); }
  uint16_t port() { return pick<uint16_t>({80, 443, 8080, 22, 79, 192}); }
  uint16_t port_mask() { return pick<uint16_t>({0xffff, 0xffff, 0xff00, 0xfff0, 0x00ff}); }
  Ipv6Addr ipv6_base() {
    Ipv6Addr address{0x20, 0x01, 0x0d, 0xb8};
    const int which = static_cast<int>(index(3));
    if (which == 1) address[7] = 1;
    if (which == 2) address[3] = 0xb9;
    return address;
  }
  static Ipv6Addr ipv6_prefix_mask(unsigned length) {
    Ipv6Addr mask{};
    for (unsigned i = 0; i < 16; ++i) {
      const unsigned bits = length > 8 * i ? std::min(8u, length - 8 * i) : 0;
      mask[i] = static_cast<uint8_t>(bits == 0 ? 0 : 0xff << (8 - bits));
    }
    return mask;
  }

  std::mt19937_64 rng_;
};

std::string describe(const ClsRule* rule) {
  if (rule == nullptr) return "(none)";
  return "priority=" + std::to_string(rule->priority()) + " " + format_of_match(rule->match());
}

struct ClsPropertyConfig {
  const char* name;
  std::vector<OfFieldId> prefixes;
};

const std::vector<ClsPropertyConfig>& prefix_configs() {
  static const std::vector<ClsPropertyConfig> configs{
      {"default", {OfFieldId::kIpv4Dst, OfFieldId::kIpv4Src}},
      {"none", {}},
      {"ipv6_dst,tun_src,ip_src", {OfFieldId::kIpv6Dst, OfFieldId::kTunSrc, OfFieldId::kIpv4Src}},
  };
  return configs;
}

class ClassifierPropertyTest : public ::testing::TestWithParam<size_t> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(classifier_.set_prefix_fields(prefix_configs()[GetParam()].prefixes).is_ok());
  }

  const ClsRule* add(const OfMatch& match, int32_t priority, std::vector<ClsConjunction> conjunctions = {},
                     OfVersion version = kOfVersionMin) {
    rules_.push_back(std::make_unique<ClsRule>(match, priority, std::move(conjunctions), version));
    classifier_.insert(rules_.back().get());
    reference_.insert(rules_.back().get());
    return rules_.back().get();
  }
  void remove(const ClsRule* rule) {
    classifier_.remove(rule);
    reference_.remove(rule);
  }

  // Lookups of `n_flows` random flows at `version`: same rule as the
  // reference (or, with `same_priority_only`, the same priority), with and
  // without wildcards, and sound wildcards.
  void compare(int n_flows, OfVersion version, bool same_priority_only = false) {
    for (int i = 0; i < n_flows; ++i) {
      const OfFlow flow = random_.flow();
      // Every other flow gets a handler batch's lookup hints first: they
      // must change neither the answer nor the wildcards (and, under ASan,
      // read nothing they should not).
      if (i % 2 == 0) {
        classifier_.prefetch(flow, ClsPrefetchStep::kSlots);
        classifier_.prefetch(flow, ClsPrefetchStep::kRules);
      }
      OfMask wildcards;
      const ClsRule* tracked = classifier_.lookup(version, flow, &wildcards);
      const ClsRule* untracked = classifier_.lookup(version, flow, nullptr);
      const ClsRule* expected = reference_.lookup(version, flow);
      ASSERT_EQ(tracked, untracked) << "flow " << i;
      if (same_priority_only) {
        ASSERT_EQ(tracked == nullptr, expected == nullptr)
            << describe(tracked) << " vs " << describe(expected);
        if (tracked != nullptr) {
          ASSERT_EQ(tracked->priority(), expected->priority())
              << describe(tracked) << " vs " << describe(expected);
          ASSERT_TRUE(tracked->match().matches(flow)) << describe(tracked);
        }
      } else {
        ASSERT_EQ(tracked, expected) << "flow " << i << ": got " << describe(tracked) << ", expected "
                                     << describe(expected);
      }
      ASSERT_EQ(wildcards.bits().conj_id, 0u);
      ASSERT_EQ(wildcards.range(), OfMask(wildcards.bits()).range()) << "wildcards' range is stale";
      for (int j = 0; j < 6; ++j) {
        const OfFlow other = ClsRandomTable::agreeing(flow, random_.flow(), wildcards);
        const ClsRule* other_rule = classifier_.lookup(version, other, nullptr);
        ASSERT_EQ(other_rule, tracked)
            << "flow " << i << " agrees on the megaflow " << format_of_match(OfMatch(flow, wildcards))
            << " but gets " << describe(other_rule) << " instead of " << describe(tracked);
        if (!same_priority_only) {
          ASSERT_EQ(reference_.lookup(version, other), tracked);
        }
      }
    }
  }

  std::vector<int32_t> distinct_priorities(size_t n, int32_t first = 1) {
    std::vector<int32_t> priorities(n);
    std::iota(priorities.begin(), priorities.end(), first);
    std::shuffle(priorities.begin(), priorities.end(), random_.engine());
    return priorities;
  }

  ClsRandomTable random_{20240601 + GetParam()};
  std::vector<std::unique_ptr<ClsRule>> rules_;
  Classifier classifier_;
  ClassifierLinearReference reference_;
};

TEST_P(ClassifierPropertyTest, DistinctPrioritiesGiveTheReferenceRule) {
  const std::vector<int32_t> priorities = distinct_priorities(400);
  for (int32_t priority : priorities) add(random_.match(), priority);
  compare(1500, kOfVersionMin);
  // Take out every other rule (subtables empty out, max priorities drop,
  // tries and indices shrink) and compare again.
  for (size_t i = 0; i < rules_.size(); i += 2) remove(rules_[i].get());
  EXPECT_EQ(classifier_.size(), rules_.size() / 2);
  compare(1500, kOfVersionMin);
}

TEST_P(ClassifierPropertyTest, RepeatedPrioritiesGiveTheReferencePriority) {
  for (int i = 0; i < 400; ++i) {
    const OfMatch match = random_.match();
    const auto priority = static_cast<int32_t>(random_.index(12));
    if (classifier_.find_exactly(match, priority, kOfVersionMin) == nullptr) add(match, priority);
  }
  compare(1500, kOfVersionMin, true);
}

TEST_P(ClassifierPropertyTest, VersionsHideAndRevealRules) {
  const std::vector<int32_t> priorities = distinct_priorities(300);
  for (int32_t priority : priorities) {
    const ClsRule* rule = add(random_.match(), priority, {}, random_.index(4));
    if (random_.chance(0.3))
      const_cast<ClsRule*>(rule)->set_remove_version(rule->add_version() + 1 + random_.index(3));
  }
  // Replacements in a bundle: same match and priority, the old one removed
  // in the version the new one starts.
  for (int i = 0; i < 40; ++i) {
    ClsRule* old_rule = rules_[random_.index(rules_.size())].get();
    if (old_rule->remove_version() != kOfVersionNotRemoved) continue;
    const OfVersion version = old_rule->add_version() + 1 + random_.index(3);
    old_rule->set_remove_version(version);
    add(old_rule->match(), old_rule->priority(), {}, version);
  }
  for (OfVersion version = 0; version <= 7; ++version) compare(300, version);
}

TEST_P(ClassifierPropertyTest, ConjunctionsGiveTheReferenceRule) {
  // Ordinary rules at distinct priorities; conjunction id k's clauses (one
  // broad field each) all at one priority of their own, in the upper half;
  // conj_id rules; and ordinary rules sharing a clause's match below it
  // (the fallback). No priority is used twice except by one id's clauses.
  std::vector<int32_t> pool = distinct_priorities(400);
  auto take = [&](int32_t below) {
    auto it = std::find_if(pool.begin(), pool.end(), [&](int32_t priority) { return priority < below; });
    const int32_t priority = *it;
    pool.erase(it);
    return priority;
  };
  for (int i = 0; i < 120; ++i) add(random_.match(), take(INT32_MAX));
  for (uint32_t id = 1; id <= 8; ++id) {
    const int32_t clause_priority = take(INT32_MAX);
    if (clause_priority < 200) {
      --id;  // keep conjunctions above most ordinary rules, not all
      continue;
    }
    const auto n_clauses = static_cast<uint8_t>(random_.pick({2, 2, 3}));
    for (uint8_t clause = 0; clause < n_clauses; ++clause) {
      for (int copies = static_cast<int>(1 + random_.index(4)); copies > 0; --copies) {
        const OfMatch match = random_.match(1, 0);
        // One rule per match and priority (OVS would replace the first).
        if (classifier_.find_exactly(match, clause_priority, kOfVersionMin) != nullptr) continue;
        add(match, clause_priority, {ClsConjunction{id, clause, n_clauses}});
        if (random_.chance(0.3)) add(match, take(clause_priority));
      }
    }
    OfFlow conj_value{}, conj_mask{};
    conj_value.conj_id = id;
    conj_mask.conj_id = ~0u;
    if (random_.chance(0.3)) {
      conj_value.in_port = 1;
      conj_mask.in_port = 0xffff;
    }
    if (random_.chance(0.8)) add(OfMatch(conj_value, OfMask(conj_mask)), take(INT32_MAX));
  }
  compare(3000, kOfVersionMin);
}

TEST_P(ClassifierPropertyTest, FindExactlyAndForEachWithinAgreeWithAScan) {
  const std::vector<int32_t> priorities = distinct_priorities(300);
  for (int32_t priority : priorities) add(random_.match(), priority, {}, random_.index(3));
  for (const auto& rule : rules_) {
    ASSERT_EQ(classifier_.find_exactly(rule->match(), rule->priority(), 2), rule.get());
    if (rule->add_version() > 0) {
      ASSERT_EQ(classifier_.find_exactly(rule->match(), rule->priority(), rule->add_version() - 1), nullptr);
    }
    ASSERT_EQ(classifier_.find_exactly(rule->match(), rule->priority() + 1000, 2), nullptr);
  }
  for (int i = 0; i < 200; ++i) {
    OfMatch target = random_.match();
    if (random_.chance(0.2)) target = OfMatch();
    const OfVersion version = random_.index(3);
    std::vector<const ClsRule*> expected;
    for (const ClsRule* rule : reference_.rules()) {
      const OfFlow& rule_mask = rule->match().mask.bits();
      bool within = rule->visible_in(version);
      const auto* rm = reinterpret_cast<const uint8_t*>(&rule_mask);
      const auto* tm = reinterpret_cast<const uint8_t*>(&target.mask.bits());
      const auto* rf = reinterpret_cast<const uint8_t*>(&rule->match().flow);
      const auto* tf = reinterpret_cast<const uint8_t*>(&target.flow);
      for (size_t b = 0; b < sizeof(OfFlow) && within; ++b) {
        within = (rm[b] & tm[b]) == tm[b] && (rf[b] & tm[b]) == tf[b];
      }
      if (within) expected.push_back(rule);
    }
    std::vector<const ClsRule*> seen;
    classifier_.for_each_within(target, version, [&](const ClsRule& rule) { seen.push_back(&rule); });
    std::sort(expected.begin(), expected.end());
    std::sort(seen.begin(), seen.end());
    ASSERT_EQ(seen, expected) << format_of_match(target);
  }
}

INSTANTIATE_TEST_SUITE_P(Prefixes, ClassifierPropertyTest, ::testing::Range<size_t>(0, 3),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           std::string name = prefix_configs()[info.param].name;
                           std::replace(name.begin(), name.end(), ',', '_');
                           return name;
                         });

}  // namespace
}  // namespace flowlift
