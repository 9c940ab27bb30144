// Masked compare, hash and range arithmetic over padding-free structs, one
// 64-bit word at a time. The datapath's FlowKey and the slowpath's OfFlow are
// both laid out for this (as the kernel's sw_flow_key_range is): a mask
// covers a word-aligned byte range, and everything outside it is zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace flowlift {

// Every byte of `value` zero, or every byte 0xff: for a field of a mask,
// "wildcarded" and "exact".
template <typename T>
bool all_bytes_zero(const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  const auto* bytes = reinterpret_cast<const unsigned char*>(&value);
  // Eight bytes at a time: IPv6 addresses and MACs are tested on every
  // translation, and a byte loop over 16 bytes was a measurable share of one.
  uint64_t any = 0;
  size_t i = 0;
  for (; i + 8 <= sizeof value; i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes + i, 8);
    any |= word;
  }
  for (; i < sizeof value; ++i) any |= bytes[i];
  return any == 0;
}

template <typename T>
bool all_bytes_ones(const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  const auto* bytes = reinterpret_cast<const unsigned char*>(&value);
  for (size_t i = 0; i < sizeof value; ++i)
    if (bytes[i] != 0xff) return false;
  return true;
}

// A byte range [start, end) of a key, both multiples of 8.
struct WordRange {
  uint16_t start = 0;
  uint16_t end = 0;
  bool empty() const { return start >= end; }
  size_t words() const { return end > start ? (end - start) / 8u : 0; }
  bool operator==(const WordRange&) const = default;
};

template <typename T>
concept WordComparable = std::is_trivially_copyable_v<T> && std::has_unique_object_representations_v<T> &&
                             sizeof(T) %
                             8 ==
                         0;

template <WordComparable T>
uint64_t load_word(const T& value, size_t byte_offset) {
  uint64_t w;
  std::memcpy(&w, reinterpret_cast<const uint8_t*>(&value) + byte_offset, sizeof w);
  return w;
}

// The words of `within` where `bits` has any bit set, from the first such word
// to the last; empty (at within.start) when there is none.
template <WordComparable T>
WordRange nonzero_word_range(const T& bits, WordRange within = WordRange{0, sizeof(T)}) {
  // From each end inwards, stopping at the first non-zero word: masks are
  // recomputed several times per flow setup, and most of a mask's words lie
  // outside its range, so this reads a few words where a full pass read all.
  size_t first = within.start;
  while (first < within.end && load_word(bits, first) == 0) first += 8;
  if (first >= within.end) return WordRange{within.start, within.start};
  size_t last = within.end;
  while (load_word(bits, last - 8) == 0) last -= 8;
  return WordRange{static_cast<uint16_t>(first), static_cast<uint16_t>(last)};
}

template <WordComparable T>
bool any_bit_in(const T& bits, WordRange range) {
  uint64_t any = 0;
  for (size_t i = range.start; i < range.end; i += 8) any |= load_word(bits, i);
  return any != 0;
}

// value & mask over `range`; zero elsewhere.
template <WordComparable T>
T apply_mask_words(const T& value, const T& mask, WordRange range) {
  T out{};
  auto* o = reinterpret_cast<uint8_t*>(&out);
  for (size_t i = range.start; i < range.end; i += 8) {
    uint64_t w = load_word(value, i) & load_word(mask, i);
    std::memcpy(o + i, &w, 8);
  }
  return out;
}

// (value & mask) == masked over `range`; `masked` must already be masked.
template <WordComparable T>
bool masked_words_equal(const T& value, const T& masked, const T& mask, WordRange range) {
  uint64_t diff = 0;
  for (size_t i = range.start; i < range.end; i += 8)
    diff |= (load_word(value, i) & load_word(mask, i)) ^ load_word(masked, i);
  return diff == 0;
}

// The word hash in steps: start from a basis, add words, finish. Callers
// that hash only some words of a key (the slowpath classifier hashes just the
// non-zero words of a subtable's mask, as OVS's miniflows do) use the same
// mixing as masked_words_hash below, so there is one hash function.
inline uint64_t word_hash_start(uint64_t basis) { return basis ^ 0x9e3779b97f4a7c15ull; }
inline uint64_t word_hash_add(uint64_t h, uint64_t word) {
  h ^= word;
  h *= 0xff51afd7ed558ccdull;
  return h ^ (h >> 32);
}
inline uint64_t word_hash_finish(uint64_t h) {
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

// Hash of value & mask over `range`, continuing from `basis` (a staged lookup
// extends the previous stages' hash). Equal masked values hash equal.
template <WordComparable T>
uint64_t masked_words_hash(const T& value, const T& mask, WordRange range, uint64_t basis) {
  uint64_t h = word_hash_start(basis);
  for (size_t i = range.start; i < range.end; i += 8)
    h = word_hash_add(h, load_word(value, i) & load_word(mask, i));
  return word_hash_finish(h);
}

}  // namespace flowlift
