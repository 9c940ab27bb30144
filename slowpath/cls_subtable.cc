// ClsSubtable: stage layout, rule bookkeeping and the staged lookup with
// OVS 3.1's find_match_wc() / check_tries() semantics (see cls_subtable.h).
#include "slowpath/cls_subtable.h"

#include <arpa/inet.h>

#include <bit>
#include <cstring>

#include "flowlift/masked_words.h"

namespace flowlift {
namespace {

// tp_src and tp_dst are adjacent, so the ports trie sees them as one 32-bit
// value (OVS's TP_PORTS_OFS32).
constexpr size_t kPortsOffset = offsetof(OfFlow, tp_src);
static_assert(offsetof(OfFlow, tp_dst) == kPortsOffset + 2 && kPortsOffset % 4 == 0);

const uint8_t* bytes_of(const OfFlow& flow) { return reinterpret_cast<const uint8_t*>(&flow); }
uint8_t* bytes_of(OfFlow& flow) { return reinterpret_cast<uint8_t*>(&flow); }

uint32_t load_be32(const OfFlow& flow, size_t offset) {
  const uint8_t* p = bytes_of(flow) + offset;
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

void store_be32(OfFlow& flow, size_t offset, uint32_t value) {
  uint8_t* p = bytes_of(flow) + offset;
  p[0] = static_cast<uint8_t>(value >> 24);
  p[1] = static_cast<uint8_t>(value >> 16);
  p[2] = static_cast<uint8_t>(value >> 8);
  p[3] = static_cast<uint8_t>(value);
}

std::array<uint8_t, 4> be32_bytes(uint32_t value) {
  return {static_cast<uint8_t>(value >> 24), static_cast<uint8_t>(value >> 16),
          static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)};
}

// The first `length` bits set (OVS's be32_prefix_mask), as a host value.
uint32_t prefix_mask32(unsigned length) { return length == 0 ? 0 : ~uint32_t{0} << (32 - length); }

std::span<const uint8_t> field_bytes(const OfFlow& flow, const OfField& field) {
  return {bytes_of(flow) + field.offset, field.n_bits / 8u};
}

// OVS's minimask_get_prefix_len(): the length of the mask on `field` when it
// is a CIDR prefix (leading ones, then zeros, across the field's 32-bit
// words), else 0.
unsigned cidr_prefix_length(const OfFlow& mask, const OfField& field) {
  unsigned length = 0;
  bool ended = false;
  for (unsigned word = 0; word < field.n_bits / 32u; ++word) {
    const uint32_t bits = load_be32(mask, field.offset + 4u * word);
    if (ended) {
      if (bits != 0) return 0;
      continue;
    }
    const uint32_t inverted = ~bits;
    if ((inverted & (inverted + 1)) != 0) return 0;  // ones not all leading
    const unsigned trailing_zeros = bits == 0 ? 32u : static_cast<unsigned>(std::countr_zero(bits));
    length += 32 - trailing_zeros;
    ended = trailing_zeros != 0;
  }
  return length;
}

// OVS's mask_set_prefix_bits(): the first `n_bits` of `field` in `wildcards`.
void set_prefix_bits(OfFlow& wildcards, const OfField& field, unsigned n_bits) {
  uint8_t* bytes = bytes_of(wildcards) + field.offset;
  unsigned i = 0;
  for (; i < n_bits / 8; ++i) bytes[i] = 0xff;
  if (n_bits % 8 != 0) bytes[i] |= static_cast<uint8_t>(0xff << (8 - n_bits % 8));
}

// OVS's mask_prefix_bits_set(): are the first `n_bits` of `field` all set?
bool prefix_bits_set(const OfFlow& wildcards, const OfField& field, unsigned n_bits) {
  const uint8_t* bytes = bytes_of(wildcards) + field.offset;
  unsigned i = 0;
  for (; i < n_bits / 8; ++i) {
    if (bytes[i] != 0xff) return false;
  }
  if (n_bits % 8 == 0) return true;
  const auto wanted = static_cast<uint8_t>(0xff << (8 - n_bits % 8));
  return (bytes[i] & wanted) == wanted;
}

// OVS's mf_are_prereqs_ok() for a trie field, the common cases inline.
bool field_applies(const OfField& field, const OfFlow& flow) {
  switch (field.prereq) {
    case OfPrereq::kNone:
      return true;
    case OfPrereq::kIpv4:
      return flow.dl_type == htons(0x0800);
    case OfPrereq::kIpv6:
      return flow.dl_type == htons(0x86dd);
    default:
      return prereqs_ok(field, flow, nullptr);
  }
}

size_t nonzero_words(const OfMask& mask) {
  size_t n = 0;
  for (size_t i = 0; i < sizeof(OfFlow); i += 8) n += load_word(mask.bits(), i) != 0;
  return n;
}

}  // namespace

ClsSubtable::ClsSubtable(const OfMask& mask, std::span<const OfField* const> trie_fields)
    : matches_(nonzero_words(mask)), mask_(mask) {
  for (const OfRange& stage : OfStages::kAll) {
    const OfRange narrowed = mask_.range_in(stage);
    if (narrowed.empty()) continue;
    stages_[n_stages_] = narrowed;
    stage_words_[n_stages_] = static_cast<uint8_t>(n_words_);
    for (size_t i = narrowed.start; i < narrowed.end; i += 8) {
      const uint64_t bits = load_word(mask_.bits(), i);
      if (bits == 0) continue;
      words_[n_words_] = MaskWord{bits, static_cast<uint32_t>(i)};
      ++n_words_;
    }
    ++n_stages_;
  }
  stage_words_[n_stages_] = static_cast<uint8_t>(n_words_);
  catchall_hash_ = word_hash_finish(word_hash_start(0));
  trie_stage_.fill(-1);
  for (int j = 0; j < kClsMaxTries; ++j) {
    set_trie_field(j, static_cast<size_t>(j) < trie_fields.size() ? trie_fields[j] : nullptr);
  }
  ports_mask_ = load_be32(mask_.bits(), kPortsOffset);
  ports_prefix_length_ = ports_mask_ == 0 ? 0 : 32u - static_cast<unsigned>(std::countr_zero(ports_mask_));
}

void ClsSubtable::set_trie_field(int index, const OfField* field) {
  if (trie_stage_[index] >= 0) tries_in_stage_[trie_stage_[index]] &= static_cast<uint8_t>(~(1u << index));
  trie_stage_[index] = -1;
  trie_prefix_length_[index] = 0;
  if (field == nullptr) return;
  const unsigned length = cidr_prefix_length(mask_.bits(), *field);
  if (length == 0) return;
  for (int stage = 0; stage < n_stages_; ++stage) {
    if (field->offset >= stages_[stage].start && field->offset < stages_[stage].end) {
      trie_prefix_length_[index] = length;
      trie_stage_[index] = static_cast<int8_t>(stage);
      tries_in_stage_[stage] |= static_cast<uint8_t>(1u << index);
      return;
    }
  }
}

std::array<uint64_t, ClsSubtable::kMaxStages> ClsSubtable::hash_stages(const OfFlow& flow,
                                                                       MaskedWords& words) const {
  std::array<uint64_t, kMaxStages> hashes{};
  uint64_t hash = word_hash_start(0);
  for (int stage = 0; stage < n_stages_; ++stage) {
    for (int k = stage_words_[stage]; k < stage_words_[stage + 1]; ++k) {
      words[k] = load_word(flow, words_[k].offset) & words_[k].bits;
      hash = word_hash_add(hash, words[k]);
    }
    hashes[stage] = word_hash_finish(hash);
  }
  return hashes;
}

const ClsRule* ClsSubtable::prefetch(const OfFlow& flow, ClsPrefetchStep step) const {
  MaskedWords words;
  const std::array<uint64_t, kMaxStages> hashes = hash_stages(flow, words);
  const uint64_t key = table_key(hashes);
  if (step == ClsPrefetchStep::kRules) return matches_.prefetch_head(key, words.data());
  for (int stage = 0; stage + 1 < n_stages_; ++stage) indices_[stage].prefetch(hashes[stage]);
  matches_.prefetch_slot(key);
  return nullptr;
}

const ClsMatchList* ClsSubtable::find_list(const OfMatch& match) const {
  MaskedWords words;
  const uint32_t list = matches_.find(table_key(hash_stages(match.flow, words)), words.data());
  return list == ClsMatchTable::kNoList ? nullptr : &matches_.list(list);
}

ClsSubtable::Insertion ClsSubtable::insert(const ClsRule* rule) {
  const OfFlow& match_flow = rule->match().flow;
  MaskedWords words;
  const std::array<uint64_t, kMaxStages> hashes = hash_stages(match_flow, words);
  const uint64_t key = table_key(hashes);
  Insertion result;
  const uint32_t list = matches_.find(key, words.data());
  if (list == ClsMatchTable::kNoList) {
    matches_.insert_rule(matches_.add(key, words.data()), rule);
    for (int stage = 0; stage + 1 < n_stages_; ++stage) indices_[stage].increment(hashes[stage]);
    if (ports_prefix_length_ != 0) {
      // Wildcarded port bits are zero in the rule, so they always compare equal.
      ports_trie_.insert(be32_bytes(load_be32(match_flow, kPortsOffset) & ports_mask_), ports_prefix_length_);
    }
    result.new_match = true;
  } else {
    matches_.insert_rule(list, rule);
  }
  ++n_rules_;
  const int32_t priority = rule->priority();
  if (n_rules_ == 1 || priority > max_priority_) {
    max_priority_ = priority;
    max_priority_count_ = 1;
    result.max_priority_changed = true;
  } else if (priority == max_priority_) {
    ++max_priority_count_;
  }
  return result;
}

ClsSubtable::Removal ClsSubtable::remove(const ClsRule* rule) {
  const OfFlow& match_flow = rule->match().flow;
  MaskedWords words;
  const std::array<uint64_t, kMaxStages> hashes = hash_stages(match_flow, words);
  const uint32_t list = matches_.find(table_key(hashes), words.data());
  Removal result;
  if (list == ClsMatchTable::kNoList || !matches_.remove_rule(list, rule)) return result;
  result.found = true;
  --n_rules_;
  if (matches_.list(list).empty()) {
    matches_.erase(list);
    for (int stage = 0; stage + 1 < n_stages_; ++stage) indices_[stage].decrement(hashes[stage]);
    if (ports_prefix_length_ != 0) {
      ports_trie_.remove(be32_bytes(load_be32(match_flow, kPortsOffset) & ports_mask_), ports_prefix_length_);
    }
    result.match_gone = true;
  }
  if (n_rules_ > 0 && rule->priority() == max_priority_ && --max_priority_count_ == 0) {
    recompute_max_priority();
    result.max_priority_changed = true;
  }
  return result;
}

void ClsSubtable::recompute_max_priority() {
  max_priority_ = INT32_MIN;
  max_priority_count_ = 0;
  matches_.for_each([this](const ClsMatchList& list) {
    const int32_t head_priority = list.head()->priority();
    if (head_priority < max_priority_) return;
    if (head_priority > max_priority_) {
      max_priority_ = head_priority;
      max_priority_count_ = 0;
    }
    for (size_t i = 0; i < list.size() && list.at(i)->priority() == head_priority; ++i) ++max_priority_count_;
  });
}

ClsMatchHit ClsSubtable::first_visible(OfVersion version, uint32_t list_index) const {
  if (list_index == ClsMatchTable::kNoList) return {};
  // Nearly always the head is visible: take it from the match record.
  const ClsMatchList& list = matches_.list(list_index);
  if (const ClsRule* head = matches_.head(list_index); head != nullptr && head->visible_in(version))
    return ClsMatchHit{&list, 0, head};
  const size_t position = list.first_visible(version);
  if (position == list.size()) return {};
  return ClsMatchHit{&list, position, list.at(position)};
}

ClsMatchHit ClsSubtable::find(OfVersion version, const OfFlow& flow, int64_t must_beat) const {
  MaskedWords words;
  const uint32_t list = matches_.find(table_key(hash_stages(flow, words)), words.data());
  return can_beat(list, must_beat) ? first_visible(version, list) : ClsMatchHit{};
}

void ClsSubtable::fold_words(ClsWildcards& wildcards, int n_words) const {
  if (n_words == 0) return;
  uint8_t* out = bytes_of(wildcards.bits);
  for (int k = 0; k < n_words; ++k) {
    const uint64_t word = load_word(wildcards.bits, words_[k].offset) | words_[k].bits;
    std::memcpy(out + words_[k].offset, &word, sizeof word);
  }
  wildcards.touch(words_[0].offset, words_[n_words - 1].offset + 8u);
}

// OVS's check_tries(): true when a trie shows that no rule of this subtable
// can match, after putting into `wildcards` the prefix bits that proved it.
bool ClsSubtable::tries_rule_out(int stage, const OfFlow& flow, std::span<ClsTrieLookup> tries,
                                 ClsWildcards& wildcards) const {
  for (size_t j = 0; j < tries.size(); ++j) {
    if ((tries_in_stage_[stage] & (1u << j)) == 0) continue;
    ClsTrieLookup& trie = tries[j];
    if (!trie.done) {
      trie.done = true;
      trie.lengths.reset();
      // A field that the flow's protocol does not have (nw_src of an IPv6
      // packet) cannot rule anything out.
      if (field_applies(*trie.field, flow)) {
        trie.mask_bits = trie.trie->lookup(field_bytes(flow, *trie.field), &trie.lengths);
      } else {
        trie.lengths.set();
        trie.mask_bits = 0;
      }
    }
    const unsigned length = trie_prefix_length_[j];
    if (trie.lengths.test(length - 1)) continue;
    // The trie's answer may need more bits than this subtable's prefix (the
    // trie is shared by every subtable); use it only when that cannot widen
    // the megaflow's match beyond what this subtable would fix anyway.
    if (trie.mask_bits <= length) {
      if (trie.mask_bits > 0) {
        set_prefix_bits(wildcards.bits, *trie.field, trie.mask_bits);
        wildcards.touch(trie.field->offset, trie.field->offset + (trie.mask_bits + 7) / 8);
      }
      return true;
    }
    if (prefix_bits_set(wildcards.bits, *trie.field, trie.mask_bits)) return true;
  }
  return false;
}

ClsMatchHit ClsSubtable::find_tracking_wildcards(OfVersion version, const OfFlow& flow, int64_t must_beat,
                                                 std::span<ClsTrieLookup> tries,
                                                 ClsWildcards& wildcards) const {
  // OVS consults the prefix tries before each stage's hash lookup. Here the
  // stage is looked up first and the tries only when it misses: a stage that
  // hits has a rule whose prefix on every trie field of the stage matches the
  // flow, so the tries could not have ruled the subtable out (their answer
  // would change nothing), and a trie walk costs more than the rest of a
  // successful lookup. The wildcards come out as OVS's do; the one
  // difference is a 64-bit hash collision in a stage index, after which this
  // order fixes more bits than OVS would (a narrower megaflow, never a wrong one).
  MaskedWords words;
  uint64_t hash = word_hash_start(0);
  const int last = n_stages_ - 1;
  for (int stage = 0; stage < last; ++stage) {
    for (int k = stage_words_[stage]; k < stage_words_[stage + 1]; ++k) {
      words[k] = load_word(flow, words_[k].offset) & words_[k].bits;
      hash = word_hash_add(hash, words[k]);
    }
    if (!indices_[stage].contains(word_hash_finish(hash))) {
      const bool ruled_out = tries_in_stage_[stage] != 0 && tries_rule_out(stage, flow, tries, wildcards);
      fold_words(wildcards, stage_words_[ruled_out ? stage : stage + 1]);
      return {};
    }
  }
  if (last >= 0) {
    for (int k = stage_words_[last]; k < n_words_; ++k) {
      words[k] = load_word(flow, words_[k].offset) & words_[k].bits;
      hash = word_hash_add(hash, words[k]);
    }
  }
  const uint32_t list = matches_.find(word_hash_finish(hash), words.data());
  if (list == ClsMatchTable::kNoList && last >= 0 && tries_in_stage_[last] != 0 &&
      tries_rule_out(last, flow, tries, wildcards)) {
    fold_words(wildcards, stage_words_[last]);
    return {};
  }
  if (ports_prefix_length_ == 0) {
    // Found or not, the whole mask was looked at; the rules themselves need
    // no visit when none of them can beat `must_beat`.
    fold_words(wildcards, n_words_);
    return can_beat(list, must_beat) ? first_visible(version, list) : ClsMatchHit{};
  }
  // With ports, whether a visible rule exists decides the wildcards.
  const ClsMatchHit hit = first_visible(version, list);
  if (hit.rule != nullptr) {
    fold_words(wildcards, n_words_);
    return hit;
  }
  // The last stage (which holds the ports) missed: fix only the leading port
  // bits that tell the flow apart from every rule's ports, not all of them.
  ClsPrefixLengths unused;
  const unsigned port_bits =
      ports_trie_.lookup(be32_bytes(load_be32(flow, kPortsOffset) & ports_mask_), &unused);
  const uint32_t ports_wildcards =
      (ports_mask_ & prefix_mask32(port_bits)) | load_be32(wildcards.bits, kPortsOffset);
  fold_words(wildcards, n_words_);
  store_be32(wildcards.bits, kPortsOffset, ports_wildcards);
  return {};
}

}  // namespace flowlift
