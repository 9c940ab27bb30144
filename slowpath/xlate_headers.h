// XlateHeaders: the packet's headers as translation tracks them, and the
// header-stack edits OpenFlow actions make (OVS's flow_push_vlan_uninit(),
// flow_pop_vlan(), flow_count_mpls_labels(), flow_push_mpls(),
// flow_pop_mpls() in lib/flow.c).
//
// Why more than an OfFlow: OpenFlow rules see one VLAN tag and one MPLS label
// stack entry, which is all OfFlow holds, but actions can stack a second tag
// (push_vlan on a tagged packet) or more labels, and the datapath actions
// must still pop and push the right ones. The extra headers live here, beside
// the OfFlow the tables look at. They only ever come from pushes made during
// translation (the packet a translation starts from is an OfFlow), so no
// megaflow bit can depend on them: wildcard updates for them are dropped,
// as OVS's xlate_wc_finish() clears masks of headers the packet did not have.
#pragma once

#include <cstdint>

#include "flowlift/flow_key.h"
#include "slowpath/of_flow.h"

namespace flowlift {

inline constexpr int kXlateMaxVlanHeaders = 2;  // OVS's FLOW_MAX_VLAN_HEADERS
inline constexpr int kXlateMaxMplsLabels = 3;   // OVS's FLOW_MAX_MPLS_LABELS

inline constexpr uint32_t kMplsLabelMask = 0xfffff000u;
inline constexpr uint32_t kMplsTcMask = 0x00000e00u;
inline constexpr uint32_t kMplsBosMask = 0x00000100u;
inline constexpr uint32_t kMplsTtlMask = 0x000000ffu;

struct XlateHeaders {
  OfFlow flow{};
  VlanHead inner_vlan{};                          // the second tag, outermost first (index 1)
  Be32 inner_mpls[kXlateMaxMplsLabels - 1] = {};  // label stack entries 1 and 2

  XlateHeaders() = default;
  explicit XlateHeaders(const OfFlow& f) : flow(f) {}

  // Tag i (0 = outermost): tpid and tci (network order) with kVlanCfi when present.
  VlanHead vlan(int i) const;
  void set_vlan(int i, VlanHead tag);
  // Tags present, counted from the outside until the first absent one.
  int vlan_count() const;

  Be32 mpls(int i) const { return i == 0 ? flow.mpls_lse : inner_mpls[i - 1]; }
  void set_mpls(int i, Be32 lse) { (i == 0 ? flow.mpls_lse : inner_mpls[i - 1]) = lse; }

  bool operator==(const XlateHeaders& other) const;
};

bool is_ip_packet(const OfFlow& flow);
bool is_mpls_packet(const OfFlow& flow);

// Wildcard updates go to `wc` (an OfMask's bits) when it is not null.

// Moves the tags in by one and leaves tag 0 zeroed for the caller to fill;
// with a second tag already present the innermost is lost, as in OVS.
// Unwildcards the tags that were present.
void push_vlan_header(XlateHeaders& headers, OfFlow* wc);
// Removes tag 0 (if any).
void pop_vlan_header(XlateHeaders& headers);

// The number of label stack entries (0 for a non-MPLS packet); looks at each
// entry's bottom-of-stack bit.
int count_mpls_labels(const XlateHeaders& headers, OfFlow* wc);
// Pushes a label stack entry on a packet with `n` entries (n < 3). The first
// entry is made from the IP header (label 0 or 2 for IPv6, TC from the DSCP,
// TTL from the IP TTL or 64); with `clear_l3` the L3 and L4 fields are then
// zeroed, because the datapath can no longer see them.
void push_mpls_header(XlateHeaders& headers, int n, Be16 ethertype, OfFlow* wc, bool clear_l3);
// Pops one of `n` entries and sets the ethertype; false when there is nothing
// to pop, or 3 entries without bottom of stack (what would fill the third?).
bool pop_mpls_header(XlateHeaders& headers, int n, Be16 ethertype, OfFlow* wc);

}  // namespace flowlift
