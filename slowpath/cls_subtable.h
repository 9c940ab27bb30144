// ClsSubtable: the rules of one classifier that share one mask (OVS's
// struct cls_subtable), and the staged lookup over them (find_match_wc).
//
// Tuple space search keeps one subtable per distinct mask: a flow is masked
// with the subtable's mask and looked up by hash. To keep megaflows wide, the
// mask is cut at the lookup stages (metadata, L2, L3, L4: OfStages) into the
// stages it has bits in. Every stage but the last has an index that counts
// the hashes of the rules' matches over the stages so far; a lookup that
// misses an index has only looked at the stages up to that one, and folds
// only their bits into the wildcards. Before a stage that holds a
// prefix-tracked field, the classifier's trie may rule the subtable out with
// even fewer bits (check_tries). When the last stage misses and the mask has
// transport ports, a per-subtable trie of the rules' ports says how few port
// bits tell the flow apart from every rule.
//
// Like OVS's minimask, the subtable keeps only the mask's non-zero 64-bit
// words, stage by stage: hashing, comparing and folding into the wildcards
// touch those words and skip the rest of each stage (a mask on in_port,
// metadata and tun_id has 3 words in a 19-word metadata stage). The hash runs
// over them in order with masked_words.h's mixing; each stage's index is
// keyed by the hash finished after that stage's words, the rules' table by
// the hash over all of them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "slowpath/classifier.h"
#include "slowpath/cls_hash_counter.h"
#include "slowpath/cls_match_table.h"
#include "slowpath/cls_prefix_trie.h"
#include "slowpath/of_fields.h"
#include "slowpath/of_flow.h"

namespace flowlift {

// At most this many prefix-tracked fields per classifier (OVS's CLS_MAX_TRIES).
inline constexpr int kClsMaxTries = 3;

// One prefix-tracked field during one classifier lookup (OVS's trie_ctx): the
// trie is looked up at most once, when the first subtable that needs it gets
// to the stage holding the field. Each lookup sets up only the entries of its
// tries, hence no default initialisers.
struct ClsTrieLookup {
  const ClsPrefixTrie* trie;
  const OfField* field;
  bool done;
  unsigned mask_bits;        // leading bits of the field that decide the lookup's answer
  ClsPrefixLengths lengths;  // prefix lengths that can match the flow (once done)
};

// A lookup's wildcards: the caller's mask bits, and the hull of the 8-byte
// words the lookup set bits in, so that the mask's cached range can be
// widened at the end instead of recomputed.
struct ClsWildcards {
  OfFlow& bits;
  OfRange touched{};

  void touch(size_t start, size_t end) {
    const auto word_start = static_cast<uint16_t>(start / 8 * 8);
    const auto word_end = static_cast<uint16_t>((end + 7) / 8 * 8);
    if (touched.empty()) {
      touched = OfRange{word_start, word_end};
      return;
    }
    if (word_start < touched.start) touched.start = word_start;
    if (word_end > touched.end) touched.end = word_end;
  }
};

// Where a lookup found its rule: the rule, and its place among the rules with
// the same match (the conjunction fallback walks on from there).
struct ClsMatchHit {
  const ClsMatchList* list = nullptr;
  size_t position = 0;
  const ClsRule* rule = nullptr;
};

class ClsSubtable {
 public:
  // `trie_fields` are the classifier's prefix-tracked fields, in trie order.
  ClsSubtable(const OfMask& mask, std::span<const OfField* const> trie_fields);

  const OfMask& mask() const { return mask_; }
  // Highest priority of any rule in the subtable, whatever its versions.
  int32_t max_priority() const { return max_priority_; }
  size_t rule_count() const { return n_rules_; }
  bool empty() const { return n_rules_ == 0; }

  // The CIDR prefix length of trie `index`'s field in the mask: 0 when the
  // mask does not match the field or is not a prefix mask on it.
  unsigned trie_prefix_length(int index) const { return trie_prefix_length_[index]; }
  // The classifier changed which field trie `index` tracks (null: none).
  void set_trie_field(int index, const OfField* field);

  struct Insertion {
    bool new_match = false;  // the first rule with this match: add it to the tries
    bool max_priority_changed = false;
  };
  Insertion insert(const ClsRule* rule);

  struct Removal {
    bool found = false;
    bool match_gone = false;  // the last rule with this match: take it out of the tries
    bool max_priority_changed = false;
  };
  Removal remove(const ClsRule* rule);

  // The highest-priority rule visible in `version` matching `flow`, looking
  // at every stage at once (a lookup that tracks no wildcards). Rules of
  // priority `must_beat` or lower are not looked for: without a better rule
  // the result is empty.
  ClsMatchHit find(OfVersion version, const OfFlow& flow, int64_t must_beat) const;
  // The same, staged: ORs into `wildcards` the bits it looked at (OVS's
  // find_match_wc), the same whatever `must_beat`. `tries` is the
  // classifier's per-lookup trie state.
  ClsMatchHit find_tracking_wildcards(OfVersion version, const OfFlow& flow, int64_t must_beat,
                                      std::span<ClsTrieLookup> tries, ClsWildcards& wildcards) const;

  // Lookup hints for a batch of lookups (see ClsPrefetchStep): they change
  // nothing and find nothing, they only start cache fills, so that the
  // misses of many lookups overlap rather than come one after another.
  // kRules returns the head rule it fetches (null when the flow's match is
  // not in the table), the rule find() will most likely return.
  const ClsRule* prefetch(const OfFlow& flow, ClsPrefetchStep step) const;

  // The rules whose match is exactly `match` (whose mask must be this
  // subtable's), or null.
  const ClsMatchList* find_list(const OfMatch& match) const;

  template <typename Visit>
  void for_each_list(Visit&& visit) const {
    matches_.for_each(visit);
  }

 private:
  static constexpr int kMaxStages = OfStages::kCount;

  static constexpr int kFlowWords = sizeof(OfFlow) / 8;
  // One masked word per mask word, in mask-word order.
  using MaskedWords = std::array<uint64_t, kFlowWords>;

  // Fills `words` with `flow` & mask; returns the hash after each stage
  // (the last one keys the rules' table).
  std::array<uint64_t, kMaxStages> hash_stages(const OfFlow& flow, MaskedWords& words) const;
  uint64_t table_key(const std::array<uint64_t, kMaxStages>& stage_hashes) const {
    return n_stages_ == 0 ? catchall_hash_ : stage_hashes[n_stages_ - 1];
  }
  ClsMatchHit first_visible(OfVersion version, uint32_t list) const;
  bool can_beat(uint32_t list, int64_t must_beat) const {
    return list != ClsMatchTable::kNoList && matches_.head_priority(list) > must_beat;
  }
  bool tries_rule_out(int stage, const OfFlow& flow, std::span<ClsTrieLookup> tries,
                      ClsWildcards& wildcards) const;
  // ORs the first `n_words` mask words into `wildcards`.
  void fold_words(ClsWildcards& wildcards, int n_words) const;
  void recompute_max_priority();

  // One of the mask's non-zero words: where it is and its bits.
  struct MaskWord {
    uint64_t bits;
    uint32_t offset;
  };

  // What every lookup reads comes first, together, so that visiting a
  // subtable touches few cache lines; the writers' bookkeeping follows.
  int n_stages_ = 0;
  int n_words_ = 0;
  // Stage s owns mask words [stage_words_[s], stage_words_[s + 1]).
  std::array<uint8_t, kMaxStages + 1> stage_words_{};
  // Bit j set when trie j's field is in the stage and tracked for this mask.
  std::array<uint8_t, kMaxStages> tries_in_stage_{};
  std::array<unsigned, kClsMaxTries> trie_prefix_length_{};
  // tp_src and tp_dst as one 32-bit value (host order of the big-endian pair).
  uint32_t ports_mask_ = 0;
  unsigned ports_prefix_length_ = 0;  // 32 - trailing zeros of ports_mask_; 0 without ports
  // Hash of every flow when the mask is empty (a catch-all subtable).
  uint64_t catchall_hash_ = 0;
  std::array<MaskWord, kFlowWords> words_{};
  // indices_[i] counts the hash over stages 0..i of every distinct match, for
  // every stage but the last (whose hash keys matches_).
  std::array<ClsHashCounter, kMaxStages - 1> indices_;
  ClsMatchTable matches_;
  ClsPrefixTrie ports_trie_;

  size_t n_rules_ = 0;
  int32_t max_priority_ = INT32_MIN;
  uint32_t max_priority_count_ = 0;                // rules at max_priority_
  std::array<int8_t, kClsMaxTries> trie_stage_{};  // stage holding the field, or -1
  // The stages the mask has bits in, each narrowed to the mask's words there.
  std::array<OfRange, kMaxStages> stages_{};
  OfMask mask_;
};

}  // namespace flowlift
