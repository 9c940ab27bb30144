// ClsPrefixTrie: insertion, removal with re-merging of nodes, and lookup, as
// OVS 3.1's trie_insert_prefix(), trie_remove_prefix() and
// trie_lookup_value() shape and walk the tree (see cls_prefix_trie.h).
#include "slowpath/cls_prefix_trie.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

namespace flowlift {
namespace {

// A field value as 32-bit words, most significant bit first (bit 0 is the
// top bit of byte 0), zero past its end: what the tree compares node
// prefixes with, 32 bits at a time at any bit offset.
class ClsTrieBits {
 public:
  explicit ClsTrieBits(std::span<const uint8_t> value) {
    const size_t n = std::min(value.size(), size_t{16});
    size_t i = 0;
    // Fields are whole 32-bit words (4, 8 or 16 bytes): one load each.
    for (; i + 4 <= n; i += 4) {
      uint32_t word;
      std::memcpy(&word, value.data() + i, sizeof word);
      if constexpr (std::endian::native == std::endian::little) word = __builtin_bswap32(word);
      words_[i / 4] = word;
    }
    for (; i < n; ++i) words_[i / 4] |= uint32_t{value[i]} << (24 - 8 * (i % 4));
  }
  // The 32 bits from `offset` on.
  uint32_t at(unsigned offset) const {
    const unsigned word = offset / 32;
    const unsigned shift = offset % 32;
    return shift == 0 ? words_[word] : words_[word] << shift | words_[word + 1] >> (32 - shift);
  }
  unsigned bit(unsigned offset) const { return (words_[offset / 32] >> (31 - offset % 32)) & 1u; }

 private:
  std::array<uint32_t, 5> words_{};
};

// Bit `offset` (0..31) of a node's prefix.
unsigned prefix_bit(uint32_t prefix, unsigned offset) { return (prefix >> (31 - offset)) & 1u; }

// The first min(length, 32) bits of `value` from `offset` on, the rest zero.
uint32_t prefix_bits(const ClsTrieBits& value, unsigned offset, unsigned length) {
  if (length == 0) return 0;
  length = std::min(length, 32u);
  return value.at(offset) & (~0u << (32 - length));
}

// How many of the first `n_bits` (0..32) bits of `prefix` equal `value`'s
// bits from `offset` on.
unsigned equal_bits(uint32_t prefix, unsigned n_bits, const ClsTrieBits& value, unsigned offset) {
  const uint64_t diff = uint64_t{prefix ^ value.at(offset)} << 32;
  // The sentinel bit just after the compared bits stops the count there.
  return static_cast<unsigned>(std::countl_zero(diff | uint64_t{1} << (63 - n_bits)));
}

}  // namespace

uint32_t ClsPrefixTrie::allocate_node() {
  if (!free_nodes_.empty()) {
    const uint32_t index = free_nodes_.back();
    free_nodes_.pop_back();
    nodes_[index] = Node{};
    return index;
  }
  nodes_.emplace_back();
  return static_cast<uint32_t>(nodes_.size() - 1);
}

void ClsPrefixTrie::free_node(uint32_t index) { free_nodes_.push_back(index); }

void ClsPrefixTrie::clear() {
  nodes_.clear();
  free_nodes_.clear();
  root_ = kNoNode;
}

uint32_t ClsPrefixTrie::create_branch(std::span<const uint8_t> value_bytes, unsigned offset, unsigned length,
                                      uint32_t n_rules) {
  const ClsTrieBits value(value_bytes);
  if (length <= kBitsPerNode) {
    const uint32_t index = allocate_node();
    Node& node = nodes_[index];
    node.prefix = prefix_bits(value, offset, length);
    node.n_bits = static_cast<uint8_t>(length);
    node.n_rules = n_rules;
    return index;
  }
  // Longer than one node: a full 32-bit node leading to the rest.
  const uint32_t rest = create_branch(value_bytes, offset + kBitsPerNode, length - kBitsPerNode, n_rules);
  const uint32_t index = allocate_node();
  Node& node = nodes_[index];
  node.prefix = prefix_bits(value, offset, kBitsPerNode);
  node.n_bits = kBitsPerNode;
  node.edges[prefix_bit(nodes_[rest].prefix, 0)] = rest;
  return index;
}

void ClsPrefixTrie::insert(std::span<const uint8_t> value_bytes, unsigned prefix_length) {
  const ClsTrieBits value(value_bytes);
  Edge edge;
  unsigned offset = 0;
  for (uint32_t index = at(edge); index != kNoNode; index = at(edge)) {
    const Node node = nodes_[index];
    const unsigned eqbits =
        equal_bits(node.prefix, std::min<unsigned>(node.n_bits, prefix_length - offset), value, offset);
    offset += eqbits;
    if (eqbits < node.n_bits) {
      // The new prefix leaves (or ends inside) this node: a new parent takes
      // the common bits, the old node keeps the rest below it.
      const unsigned old_branch = prefix_bit(node.prefix, eqbits);
      const uint32_t parent =
          create_branch(value_bytes, offset - eqbits, eqbits, offset == prefix_length ? 1 : 0);
      nodes_[index].prefix <<= eqbits;
      nodes_[index].n_bits = static_cast<uint8_t>(node.n_bits - eqbits);
      nodes_[parent].edges[old_branch] = index;
      if (offset < prefix_length) {
        const uint32_t leaf = create_branch(value_bytes, offset, prefix_length - offset, 1);
        nodes_[parent].edges[old_branch ^ 1u] = leaf;
      }
      at(edge) = parent;
      return;
    }
    if (offset == prefix_length) {
      ++nodes_[index].n_rules;
      return;
    }
    edge = Edge{index, static_cast<uint8_t>(value.bit(offset))};
  }
  const uint32_t branch = create_branch(value_bytes, offset, prefix_length - offset, 1);
  at(edge) = branch;
}

bool ClsPrefixTrie::remove(std::span<const uint8_t> value_bytes, unsigned prefix_length) {
  const ClsTrieBits value(value_bytes);
  // The path from the root, to prune upwards once the prefix's count is gone.
  std::array<Edge, 8 * 16 + 2> path;
  int depth = 0;
  path[0] = Edge{};
  unsigned offset = 0;
  for (uint32_t index = at(path[0]); index != kNoNode; index = at(path[depth])) {
    const Node& node = nodes_[index];
    const unsigned eqbits =
        equal_bits(node.prefix, std::min<unsigned>(node.n_bits, prefix_length - offset), value, offset);
    if (eqbits < node.n_bits) return false;
    offset += eqbits;
    if (offset < prefix_length) {
      path[++depth] = Edge{index, static_cast<uint8_t>(value.bit(offset))};
      continue;
    }
    if (node.n_rules == 0) return false;
    --nodes_[index].n_rules;
    // A node that counts no rule and has at most one child goes: merged into
    // its child when their bits fit one node, or cut off when it is a leaf
    // (and then its parent may become removable in turn).
    while (nodes_[index].n_rules == 0) {
      const Node& empty_node = nodes_[index];
      const uint32_t edge0 = empty_node.edges[0];
      const uint32_t edge1 = empty_node.edges[1];
      if (edge0 != kNoNode && edge1 != kNoNode) break;
      const uint32_t next = edge0 != kNoNode ? edge0 : edge1;
      if (next != kNoNode) {
        Node& child = nodes_[next];
        if (empty_node.n_bits + child.n_bits > kBitsPerNode) break;
        child.prefix = empty_node.prefix | child.prefix >> empty_node.n_bits;
        child.n_bits = static_cast<uint8_t>(child.n_bits + empty_node.n_bits);
      }
      at(path[depth]) = next;
      free_node(index);
      if (next != kNoNode || depth == 0) break;
      index = at(path[--depth]);
    }
    return true;
  }
  return false;
}

unsigned ClsPrefixTrie::lookup(std::span<const uint8_t> value_bytes, ClsPrefixLengths* lengths) const {
  const unsigned n_bits = static_cast<unsigned>(value_bytes.size() * 8);
  const ClsTrieBits value(value_bytes);
  uint32_t previous = kNoNode;
  unsigned match_length = 0;
  for (uint32_t index = root_; index != kNoNode;) {
    const Node& node = nodes_[index];
    const unsigned eqbits = equal_bits(node.prefix, node.n_bits, value, match_length);
    match_length += eqbits;
    // Inside a node, the first differing bit rules out everything below it.
    if (eqbits < node.n_bits) return match_length + 1;
    if (node.n_rules > 0 && match_length > 0) lengths->set(match_length - 1);
    if (match_length >= n_bits) return n_bits;
    previous = index;
    index = node.edges[value.bit(match_length)];
  }
  // The walk fell off an edge that does not exist: the bit that chose it must
  // be fixed too when the other edge leads to longer prefixes.
  return previous == kNoNode || is_leaf(previous) ? match_length : match_length + 1;
}

}  // namespace flowlift
