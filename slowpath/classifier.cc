// First implementation of Classifier: a linear scan over every rule.
//
// Correct but slow, and its wildcards are as wide as the union of every
// rule's mask. It fixes the interface so that the flow tables and the
// translation can be built on it; tuple space search with staged lookup and
// prefix tracking replaces it.
#include "slowpath/classifier.h"

#include <algorithm>
#include <map>
#include <utility>

namespace flowlift {

class ClassifierImpl {
 public:
  explicit ClassifierImpl(ClassifierConfig config) : config_(std::move(config)) {}

  ClassifierConfig config_;
  std::vector<const ClsRule*> rules_;
};

Classifier::Classifier(ClassifierConfig config) : impl_(std::make_unique<ClassifierImpl>(std::move(config))) {}
Classifier::~Classifier() = default;
Classifier::Classifier(Classifier&&) noexcept = default;
Classifier& Classifier::operator=(Classifier&&) noexcept = default;

Status Classifier::set_prefix_fields(std::span<const OfFieldId> fields) {
  if (fields.size() > 3) return invalid_argument("at most 3 prefix fields can be tracked");
  impl_->config_.prefix_fields.assign(fields.begin(), fields.end());
  return Status::ok();
}

void Classifier::insert(const ClsRule* rule) { impl_->rules_.push_back(rule); }

void Classifier::remove(const ClsRule* rule) { std::erase(impl_->rules_, rule); }

namespace {

void fold_mask(OfMask* wildcards, const OfMask& mask) {
  if (wildcards == nullptr) return;
  auto* out = reinterpret_cast<unsigned char*>(&wildcards->mutable_bits());
  const auto* in = reinterpret_cast<const unsigned char*>(&mask.bits());
  for (size_t i = 0; i < sizeof(OfFlow); ++i) out[i] |= in[i];
}

}  // namespace

const ClsRule* Classifier::lookup(OfVersion version, const OfFlow& flow, OfMask* wildcards) const {
  const ClsRule* best = nullptr;
  // (id, priority) -> clauses seen matching, as a bit set.
  std::map<std::pair<uint32_t, int32_t>, uint64_t> satisfied;
  std::map<std::pair<uint32_t, int32_t>, uint8_t> n_clauses;
  for (const ClsRule* rule : impl_->rules_) {
    if (!rule->visible_in(version)) continue;
    fold_mask(wildcards, rule->match().mask);
    if (!rule->match().matches(flow)) continue;
    if (rule->is_conjunctive()) {
      for (const ClsConjunction& c : rule->conjunctions()) {
        satisfied[{c.id, rule->priority()}] |= uint64_t{1} << (c.clause % 64);
        n_clauses[{c.id, rule->priority()}] = c.n_clauses;
      }
      continue;
    }
    if (best == nullptr || rule->priority() > best->priority()) best = rule;
  }
  // The highest-priority satisfied conjunction above the best ordinary rule.
  const ClsRule* conjunctive_best = nullptr;
  for (const auto& [key, clauses] : satisfied) {
    const auto& [id, priority] = key;
    const uint8_t n = n_clauses[key];
    const uint64_t all = n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
    if ((clauses & all) != all) continue;
    if (best != nullptr && best->priority() >= priority) continue;
    OfFlow with_id = flow;
    with_id.conj_id = id;
    for (const ClsRule* rule : impl_->rules_) {
      if (!rule->visible_in(version) || rule->is_conjunctive()) continue;
      if (!rule->match().matches(with_id)) continue;
      if (conjunctive_best == nullptr || rule->priority() > conjunctive_best->priority()) conjunctive_best = rule;
    }
  }
  if (wildcards != nullptr) {
    // conj_id is internal state, never a packet field.
    wildcards->mutable_bits().conj_id = 0;
    wildcards->recompute_range();
  }
  return conjunctive_best != nullptr ? conjunctive_best : best;
}

const ClsRule* Classifier::find_exactly(const OfMatch& match, int32_t priority, OfVersion version) const {
  for (const ClsRule* rule : impl_->rules_) {
    if (rule->visible_in(version) && rule->priority() == priority && rule->match() == match) return rule;
  }
  return nullptr;
}

namespace {

// Does `rule` match on every bit `target` matches on, with the same values?
bool within(const OfMatch& rule, const OfMatch& target) {
  const auto* rule_mask = reinterpret_cast<const unsigned char*>(&rule.mask.bits());
  const auto* rule_flow = reinterpret_cast<const unsigned char*>(&rule.flow);
  const auto* target_mask = reinterpret_cast<const unsigned char*>(&target.mask.bits());
  const auto* target_flow = reinterpret_cast<const unsigned char*>(&target.flow);
  for (size_t i = 0; i < sizeof(OfFlow); ++i) {
    if ((rule_mask[i] & target_mask[i]) != target_mask[i]) return false;
    if ((rule_flow[i] & target_mask[i]) != target_flow[i]) return false;
  }
  return true;
}

}  // namespace

void Classifier::for_each_within(const OfMatch& target, OfVersion version,
                                 const std::function<void(const ClsRule&)>& visit) const {
  for (const ClsRule* rule : impl_->rules_) {
    if (rule->visible_in(version) && within(rule->match(), target)) visit(*rule);
  }
}

size_t Classifier::size() const { return impl_->rules_.size(); }

}  // namespace flowlift
