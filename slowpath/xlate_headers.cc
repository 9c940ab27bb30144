// XlateHeaders: VLAN tags and MPLS label stack edits, as lib/flow.c makes them.
#include "slowpath/xlate_headers.h"

#include <cstring>

#include "kmod/protocol_numbers.h"

namespace flowlift {

VlanHead XlateHeaders::vlan(int i) const {
  if (i == 0) return VlanHead{flow.vlan_tpid, flow.vlan_tci};
  return inner_vlan;
}

void XlateHeaders::set_vlan(int i, VlanHead tag) {
  if (i == 0) {
    flow.vlan_tpid = tag.tpid;
    flow.vlan_tci = tag.tci;
  } else {
    inner_vlan = tag;
  }
}

int XlateHeaders::vlan_count() const {
  int n = 0;
  while (n < kXlateMaxVlanHeaders && (host16(vlan(n).tci) & kVlanCfi)) ++n;
  return n;
}

bool XlateHeaders::operator==(const XlateHeaders& other) const {
  return flow == other.flow && inner_vlan.tpid == other.inner_vlan.tpid &&
         inner_vlan.tci == other.inner_vlan.tci &&
         std::memcmp(inner_mpls, other.inner_mpls, sizeof inner_mpls) == 0;
}

bool is_ip_packet(const OfFlow& flow) { return is_ip_ethertype(flow.dl_type); }

bool is_mpls_packet(const OfFlow& flow) { return is_mpls_ethertype(flow.dl_type); }

void push_vlan_header(XlateHeaders& headers, OfFlow* wc) {
  // Only tag 0 has a place in the mask; tag 1 can only exist after a push.
  if (wc && headers.vlan_count() > 0) {
    wc->vlan_tci = 0xffff;
    wc->vlan_tpid = 0xffff;
  }
  headers.inner_vlan = headers.vlan(0);
  headers.set_vlan(0, VlanHead{0, 0});
}

void pop_vlan_header(XlateHeaders& headers) {
  int n = headers.vlan_count();
  if (n > 1) {
    headers.set_vlan(0, headers.inner_vlan);
    headers.inner_vlan = VlanHead{0, 0};
  } else if (n == 1) {
    headers.set_vlan(0, VlanHead{0, 0});
  }
}

int count_mpls_labels(const XlateHeaders& headers, OfFlow* wc) {
  if (!is_mpls_packet(headers.flow)) return 0;
  int count = 0;
  for (int i = 0; i < kXlateMaxMplsLabels; ++i) {
    if (wc && i == 0) wc->mpls_lse |= be32(kMplsBosMask);
    Be32 lse = headers.mpls(i);
    if (lse & be32(kMplsBosMask)) return i + 1;
    if (lse) ++count;
  }
  return count;
}

void push_mpls_header(XlateHeaders& headers, int n, Be16 ethertype, OfFlow* wc, bool clear_l3) {
  OfFlow& f = headers.flow;
  if (n > 0) {
    if (wc) wc->mpls_lse = 0xffffffffu;
    for (int i = n; i >= 1; --i) headers.set_mpls(i, headers.mpls(i - 1));
    headers.set_mpls(0, headers.mpls(1) & ~be32(kMplsBosMask));
  } else {
    uint32_t label = f.dl_type == be16(kEthTypeIpv6) ? 2 : 0;  // IPv4 / IPv6 explicit null
    uint32_t tc = 0, ttl = 64;
    if (is_ip_packet(f)) {
      tc = (f.nw_tos & 0xfc) >> 2;
      if (wc) {
        wc->nw_tos |= 0xfc;
        wc->nw_ttl = 0xff;
      }
      if (f.nw_ttl) ttl = f.nw_ttl;
    }
    // OVS's set_mpls_lse_values() keeps the low 3 bits of the DSCP as the TC.
    f.mpls_lse = be32(label << 12 | (tc & 7) << 9 | kMplsBosMask | ttl);
    if (clear_l3) {
      std::memset(reinterpret_cast<uint8_t*>(&f) + OfStages::kL3.start, 0,
                  sizeof(OfFlow) - OfStages::kL3.start);
    }
  }
  f.dl_type = ethertype;
}

bool pop_mpls_header(XlateHeaders& headers, int n, Be16 ethertype, OfFlow* wc) {
  if (n == 0) return false;
  if (n == kXlateMaxMplsLabels) {
    if (!(headers.mpls(n - 1) & be32(kMplsBosMask))) return false;
  }
  (void)wc;  // entries 1 and 2 have no place in the mask (see the header)
  for (int i = 1; i < n; ++i) headers.set_mpls(i - 1, headers.mpls(i));
  headers.set_mpls(n - 1, 0);
  headers.flow.dl_type = ethertype;
  return true;
}

}  // namespace flowlift
