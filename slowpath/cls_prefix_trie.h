// ClsPrefixTrie: the longest-prefix tree Open vSwitch's classifier keeps for
// each prefix-tracked field and, per subtable, for the transport ports
// (lib/classifier.c's trie_*). It holds CIDR prefixes (a value and a length)
// with a count per prefix, and answers one question for a packet's value:
// which prefix lengths can possibly match it (`lengths`), and how many leading
// bits of the value a megaflow must fix so that it only covers packets that
// get the same answer (the returned "mask bits").
//
// The mask-bits answer depends on where the stored prefixes branch, so the
// tree is path-compressed exactly as OVS's is: a node holds up to 32 bits of
// prefix, branches on the bit after them, and counts the rules whose prefix
// ends on it. Nodes live in one vector (indices, not pointers) so that a
// lookup walks a compact array; freed nodes are reused.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace flowlift {

// Prefix lengths 1..128 that have rules on a lookup's path: bit (length - 1).
using ClsPrefixLengths = std::bitset<128>;

class ClsPrefixTrie {
 public:
  // Values are fields in network byte order, 4 to 16 bytes; a prefix is the
  // first `prefix_length` (1..8 * value.size()) bits of `value`.
  void insert(std::span<const uint8_t> value, unsigned prefix_length);
  // Takes one count of the prefix away; false (and no change) if the trie
  // does not hold it.
  bool remove(std::span<const uint8_t> value, unsigned prefix_length);

  // OVS's trie_lookup_value() over all 8 * value.size() bits of `value`:
  // sets, in `lengths`, the length of every stored prefix that matches
  // `value`, and returns the number of leading bits of `value` needed to tell
  // it apart from every longer stored prefix that does not match it (the
  // first differing bit included).
  unsigned lookup(std::span<const uint8_t> value, ClsPrefixLengths* lengths) const;

  void clear();
  bool empty() const { return root_ == kNoNode; }
  // Nodes in use (for tests of the tree's shape).
  size_t node_count() const { return nodes_.size() - free_nodes_.size(); }

 private:
  static constexpr uint32_t kNoNode = UINT32_MAX;
  static constexpr unsigned kBitsPerNode = 32;

  struct Node {
    uint32_t prefix = 0;  // the node's bits, most significant first; the rest zero
    uint8_t n_bits = 0;   // 1..32, or 0 for a root that branches on the first bit
    uint32_t n_rules = 0;
    uint32_t edges[2] = {kNoNode, kNoNode};
  };

  // Where a node hangs: the root, or one edge of a parent node. Positions
  // rather than references, because allocating a node can move the vector.
  struct Edge {
    uint32_t parent = kNoNode;
    uint8_t branch = 0;
  };

  uint32_t& at(Edge edge) { return edge.parent == kNoNode ? root_ : nodes_[edge.parent].edges[edge.branch]; }
  uint32_t allocate_node();
  void free_node(uint32_t index);
  // A chain of nodes for bits [offset, offset + length) of `value`, the last
  // one counting `n_rules`; returns the first.
  uint32_t create_branch(std::span<const uint8_t> value, unsigned offset, unsigned length, uint32_t n_rules);
  bool is_leaf(uint32_t index) const {
    return nodes_[index].edges[0] == kNoNode && nodes_[index].edges[1] == kNoNode;
  }

  std::vector<Node> nodes_;
  std::vector<uint32_t> free_nodes_;
  uint32_t root_ = kNoNode;
};

}  // namespace flowlift
