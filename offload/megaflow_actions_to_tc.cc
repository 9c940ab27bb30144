// The action half of megaflow_to_tc: a megaflow's datapath actions as TC
// actions, in the order the datapath runs them.
//
// Why state is carried between actions:
// - Consecutive set/set_masked of eth, ipv4, ipv6, tcp and udp become one
//   pedit (extended keys, one 32-bit word each, merged when two sets touch
//   the same word) followed by the csum action the rewrite needs. A set
//   after an output starts a new pedit: OVS 3.1 folds every set of a flow
//   into one pedit, which rewrites the packet before an earlier output saw
//   it; here each output sees what the datapath's output would.
// - set(tunnel(...)) becomes tunnel_key set at the next output, because
//   its UDP destination port, when the flow leaves it out, is the VXLAN
//   port's (the datapath's vport fills it in the same way).
// - pop_vlan directly followed by push_vlan on a frame known to carry a tag
//   becomes one vlan modify. act_vlan modify keeps the old tag's DEI bit
//   where pop+push clears it; the kernel's key cannot see DEI (its bit is
//   the "tag present" CFI), so no megaflow can depend on it either way.
// - The filter must end in a verdict that consumes the packet (redirect,
//   shot or goto chain): a filter that falls off its action list hands the
//   packet on to the stack, and the openvswitch module would then run the
//   megaflow a second time. A flow whose last action is not an output ends
//   with shot, as the datapath drops what it does not output.
#include <arpa/inet.h>
#include <linux/tc_act/tc_csum.h>
#include <linux/tc_act/tc_pedit.h>
#include <netinet/in.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "offload/megaflow_to_tc.h"

namespace flowlift {
namespace {

Status refuse(std::string reason) { return Status(EOPNOTSUPP, std::move(reason)); }

bool zero_bytes(const void* bytes, size_t size) {
  const auto* p = static_cast<const uint8_t*>(bytes);
  for (size_t i = 0; i < size; ++i)
    if (p[i]) return false;
  return true;
}

// One header's bytes to write: the new value and which bits are written,
// laid out as on the wire from the header's start.
template <size_t kSize>
struct HeaderImage {
  std::array<uint8_t, kSize> value{};
  std::array<uint8_t, kSize> written{};

  template <typename T>
  void put(size_t offset, const T& new_value, const T& write_mask) {
    static_assert(sizeof(T) <= kSize);
    const auto* v = reinterpret_cast<const uint8_t*>(&new_value);
    const auto* m = reinterpret_cast<const uint8_t*>(&write_mask);
    for (size_t i = 0; i < sizeof(T); ++i) {
      value[offset + i] = static_cast<uint8_t>(v[i] & m[i]);
      written[offset + i] = m[i];
    }
  }
  bool any_written(size_t offset, size_t size) const { return !zero_bytes(written.data() + offset, size); }
};

// Consecutive rewrites, as one pedit's keys and the csum flags they need.
class PeditAccumulator {
 public:
  bool empty() const { return keys_.empty(); }

  template <size_t kSize>
  void add(uint16_t header, const HeaderImage<kSize>& image) {
    static_assert(kSize % 4 == 0);
    for (size_t offset = 0; offset < kSize; offset += 4) {
      uint32_t value, written;
      std::memcpy(&value, image.value.data() + offset, 4);
      std::memcpy(&written, image.written.data() + offset, 4);
      if (written == 0) continue;
      merge(header, static_cast<uint32_t>(offset), value, written);
    }
  }
  void need_checksum(uint32_t flags) { csum_flags_ |= flags; }

  // Appends the pedit (and its csum) to `actions`, and starts afresh.
  void flush(std::vector<TcAction>& actions) {
    if (keys_.empty()) return;
    actions.push_back(TcPeditAction{std::move(keys_)});
    if (csum_flags_) actions.push_back(TcCsumAction{csum_flags_});
    keys_.clear();
    csum_flags_ = 0;
  }

 private:
  // new = (old & mask) ^ value, mask = bits kept: a later write to the same
  // word overrides the bits it writes and keeps the earlier ones.
  void merge(uint16_t header, uint32_t offset, uint32_t value, uint32_t written) {
    for (TcPeditKey& key : keys_) {
      if (key.header != header || key.offset != offset) continue;
      key.value = (key.value & ~written) | (value & written);
      key.mask &= ~written;
      return;
    }
    keys_.push_back(TcPeditKey{header, offset, value & written, ~written});
  }

  std::vector<TcPeditKey> keys_;
  uint32_t csum_flags_ = 0;
};

class MegaflowActionsTranslator {
 public:
  MegaflowActionsTranslator(const Match& match, const ActionList& actions, const TcPortTable& ports,
                            TcFlowerRule& rule)
      : match_(match), actions_(actions), ports_(ports), out_(rule.actions) {
    const uint16_t tci = ntohs(match.key.vlan.tci), tci_mask = ntohs(match.mask.bits().vlan.tci);
    tag_present_ = (tci_mask & kVlanCfi) && (tci & kVlanCfi);
  }

  Status run() {
    // Decapsulation first, as OVS does, except before a recirculation: the
    // filters of the next chain match the tunnel metadata too (the datapath
    // keeps it across recirc) and decapsulate themselves.
    const TcPortInfo* in_port = ports_.find(match_.key.in_port);
    const bool ends_in_recirc = !actions_.empty() && actions_.back().is<RecircAction>();
    if (in_port && in_port->vxlan && !ends_in_recirc) out_.push_back(TcTunnelKeyUnsetAction{});

    for (size_t i = 0; i < actions_.size(); ++i) {
      const Action& action = actions_[i];
      const bool last = i + 1 == actions_.size();
      if (!is_pedit_set(action)) pedit_.flush(out_);
      if (!action.is<PushVlanAction>()) flush_pop();

      Status status;
      bool stop = false;
      if (action.is<OutputAction>()) {
        status = output(action.as<OutputAction>().port, last);
      } else if (action.is<SetAction>()) {
        status = set(action.as<SetAction>());
      } else if (action.is<PushVlanAction>()) {
        status = push_vlan(action.as<PushVlanAction>());
      } else if (action.is<PopVlanAction>()) {
        pending_pop_ = true;
        pop_had_tag_ = tag_present_;
        tag_present_ = false;
      } else if (action.is<PushMplsAction>()) {
        status = push_mpls(action.as<PushMplsAction>());
      } else if (action.is<PopMplsAction>()) {
        out_.push_back(TcMplsPopAction{action.as<PopMplsAction>().ethertype});
      } else if (action.is<RecircAction>()) {
        if (!last) return refuse("recirc must be the last action to become a tc goto chain");
        out_.push_back(TcGotoChainAction{action.as<RecircAction>().recirc_id});
      } else if (action.is<DropAction>()) {
        out_.push_back(TcDropAction{});  // the datapath stops at drop too
        stop = true;
      } else {
        return refuse(std::string("action ") + unsupported_action_name(action) + " cannot be offloaded");
      }
      if (!status) return status;
      if (stop) break;
    }
    pedit_.flush(out_);
    flush_pop();
    if (!ends_in_verdict()) out_.push_back(TcDropAction{});
    return Status::ok();
  }

 private:
  static const char* unsupported_action_name(const Action& action) {
    if (action.is<UserspaceAction>()) return "userspace";
    if (action.is<HashAction>()) return "hash";
    if (action.is<TruncAction>()) return "trunc";
    if (action.is<SampleAction>()) return "sample";
    if (action.is<CloneAction>()) return "clone";
    if (action.is<CheckPktLenAction>()) return "check_pkt_len";
    return "(unknown)";
  }

  static bool is_pedit_set(const Action& action) {
    if (!action.is<SetAction>()) return false;
    switch (action.as<SetAction>().attr) {
      case OVS_KEY_ATTR_ETHERNET:
      case OVS_KEY_ATTR_IPV4:
      case OVS_KEY_ATTR_IPV6:
      case OVS_KEY_ATTR_TCP:
      case OVS_KEY_ATTR_UDP:
        return true;
      default:
        return false;
    }
  }

  bool ends_in_verdict() const {
    if (out_.empty()) return false;
    const TcAction& last = out_.back();
    if (const auto* mirred = std::get_if<TcMirredAction>(&last)) return mirred->redirect;
    return std::holds_alternative<TcDropAction>(last) || std::holds_alternative<TcGotoChainAction>(last);
  }

  // ---- output and tunnel encapsulation ----

  Status output(uint32_t port, bool last) {
    const TcPortInfo* info = ports_.find(port);
    if (!info) return refuse("output to port " + std::to_string(port) + ": no such port");
    if (tunnel_) {
      if (!info->vxlan) {
        return refuse("set(tunnel(...)) is followed by output to port " + std::to_string(port) + " (" +
                      info->device + "), which is not a VXLAN port");
      }
      if (!tunnel_emitted_) {
        if (tunnel_->dst_port == 0) {
          tunnel_->dst_port = htons(info->vxlan_udp_port);
          tunnel_port_implicit_ = true;
        }
        tunnel_udp_port_ = info->vxlan_udp_port;
        out_.push_back(*tunnel_);
        tunnel_emitted_ = true;
      } else if (tunnel_port_implicit_ && info->vxlan_udp_port != tunnel_udp_port_) {
        return refuse("set(tunnel(...)) without tp_dst is output to VXLAN ports with different UDP ports (" +
                      std::to_string(tunnel_udp_port_) + " and " + std::to_string(info->vxlan_udp_port) +
                      "): one tunnel_key set cannot carry both");
      }
    }
    out_.push_back(TcMirredAction{info->ifindex, info->device, last});
    return Status::ok();
  }

  Status set_tunnel(const SetAction& set) {
    const TunnelKey& t = set.value->tunnel;
    if (set.masked)
      return refuse("set_masked(tunnel(...)) cannot be offloaded: tunnel_key sets whole fields");
    if (t.vxlan_gbp)
      return refuse("set(tunnel(vxlan(gbp(...)))) cannot be offloaded: tunnel_key carries no GBP");
    if (t.tp_src) return refuse("set(tunnel(tp_src=...)) cannot be offloaded: tunnel_key has no source port");
    if (t.flags & kTunnelOam)
      return refuse("set(tunnel(flags(oam))) cannot be offloaded: VXLAN has no OAM bit");
    TcTunnelKeySetAction key;
    uint8_t id[8];
    std::memcpy(id, &t.tun_id, 8);
    if ((t.flags & kTunnelKey) || t.tun_id) std::memcpy(&key.key_id, id + 4, 4);  // key32 of the be64
    if (t.is_ipv6()) {
      key.ipv6_src = t.ipv6_src;
      key.ipv6_dst = t.ipv6_dst;
    } else {
      if (t.ipv4_dst == 0)
        return refuse("set(tunnel(...)) without a destination address cannot be offloaded");
      key.ipv4_src = t.ipv4_src;
      key.ipv4_dst = t.ipv4_dst;
    }
    key.dst_port = t.tp_dst;
    key.tos = t.tos;
    key.ttl = t.ttl;
    key.checksum = (t.flags & kTunnelCsum) != 0;
    key.dont_fragment = (t.flags & kTunnelDontFragment) != 0;
    tunnel_ = key;
    tunnel_emitted_ = false;
    tunnel_port_implicit_ = false;
    return Status::ok();
  }

  // ---- VLAN ----

  void flush_pop() {
    if (!pending_pop_) return;
    out_.push_back(TcVlanPopAction{});
    pending_pop_ = false;
  }

  Status push_vlan(const PushVlanAction& push) {
    const uint16_t tci = ntohs(push.tci);
    const uint16_t vid = tci & 0x0fff;
    const uint8_t prio = static_cast<uint8_t>(tci >> 13);
    if (pending_pop_ && pop_had_tag_) {
      out_.push_back(TcVlanModifyAction{push.tpid, vid, prio});
      pending_pop_ = false;
    } else {
      flush_pop();
      out_.push_back(TcVlanPushAction{push.tpid, vid, prio});
    }
    tag_present_ = true;
    return Status::ok();
  }

  // ---- MPLS ----

  struct LseParts {
    uint32_t label;
    uint8_t tc, bos, ttl;
  };
  static LseParts split_lse(Be32 lse_be) {
    const uint32_t lse = ntohl(lse_be);
    return {lse >> 12, static_cast<uint8_t>((lse >> 9) & 7), static_cast<uint8_t>((lse >> 8) & 1),
            static_cast<uint8_t>(lse & 0xff)};
  }

  Status push_mpls(const PushMplsAction& push) {
    const LseParts lse = split_lse(push.lse);
    // act_mpls refuses TCA_MPLS_TTL 0 and substitutes the default TTL when
    // it is absent; the datapath writes the LSE as given.
    if (lse.ttl == 0)
      return refuse("push_mpls with ttl 0 cannot be offloaded: act_mpls needs a ttl of 1 to 255");
    out_.push_back(TcMplsPushAction{push.ethertype, lse.label, lse.tc, lse.ttl, lse.bos});
    return Status::ok();
  }

  Status set_mpls(const SetAction& set) {
    if (set.mask->mpls_lse[0] != 0xffffffff || set.mask->mpls_lse[1] || set.mask->mpls_lse[2]) {
      return refuse(
          "set_masked(mpls(...)) of part of a label stack entry cannot be offloaded: act_mpls "
          "modify is given the whole outermost entry");
    }
    const LseParts lse = split_lse(set.value->mpls_lse[0]);
    if (lse.ttl == 0) return refuse("set(mpls(ttl=0)) cannot be offloaded: act_mpls needs a ttl of 1 to 255");
    out_.push_back(TcMplsModifyAction{lse.label, lse.tc, lse.ttl, lse.bos});
    return Status::ok();
  }

  // ---- header rewrites (pedit + csum) ----

  // The checksum of the transport whose pseudo-header an address rewrite
  // changes: the datapath's set_ip_addr / set_ipv6_addr fix TCP and UDP
  // (and ICMPv6 for IPv6) incrementally; act_csum recomputes the same ones.
  Status pseudo_header_checksum(const char* what, bool ipv6) {
    if (match_.mask.bits().ip_proto != 0xff) {
      return refuse(
          std::string(what) +
          " changes a transport pseudo-header: match ip_proto exactly so the right checksum is fixed");
    }
    switch (match_.key.ip_proto) {
      case IPPROTO_TCP:
        pedit_.need_checksum(TCA_CSUM_UPDATE_FLAG_TCP);
        break;
      case IPPROTO_UDP:
        pedit_.need_checksum(TCA_CSUM_UPDATE_FLAG_UDP);
        break;
      case IPPROTO_ICMPV6:
        if (ipv6) pedit_.need_checksum(TCA_CSUM_UPDATE_FLAG_ICMP);
        break;
      default:
        break;  // no pseudo-header checksum the datapath fixes either
    }
    return Status::ok();
  }

  Status set(const SetAction& set) {
    const FlowKey& v = *set.value;
    const FlowKey& m = *set.mask;
    switch (set.attr) {
      case OVS_KEY_ATTR_TUNNEL:
        return set_tunnel(set);
      case OVS_KEY_ATTR_MPLS:
        return set_mpls(set);
      case OVS_KEY_ATTR_ETHERNET: {
        HeaderImage<12> eth;
        eth.put(0, v.eth_dst, m.eth_dst);
        eth.put(6, v.eth_src, m.eth_src);
        pedit_.add(TCA_PEDIT_KEY_EX_HDR_TYPE_ETH, eth);
        return Status::ok();
      }
      case OVS_KEY_ATTR_IPV4: {
        if (set.masked && (m.ip_proto || m.ip_frag)) {
          return refuse("set_masked(ipv4(proto/frag)) cannot be offloaded: they are not rewritable");
        }
        HeaderImage<20> ip;
        ip.put(1, v.ip_tos, m.ip_tos);
        ip.put(8, v.ip_ttl, m.ip_ttl);
        ip.put(12, v.ipv4_src, m.ipv4_src);
        ip.put(16, v.ipv4_dst, m.ipv4_dst);
        if (!ip.any_written(0, 20)) return Status::ok();
        pedit_.need_checksum(TCA_CSUM_UPDATE_FLAG_IPV4HDR);
        if (ip.any_written(12, 8)) {
          if (Status s = pseudo_header_checksum("set(ipv4(src/dst))", false); !s) return s;
        }
        pedit_.add(TCA_PEDIT_KEY_EX_HDR_TYPE_IP4, ip);
        return Status::ok();
      }
      case OVS_KEY_ATTR_IPV6: {
        if (set.masked && (m.ip_proto || m.ip_frag)) {
          return refuse("set_masked(ipv6(proto/frag)) cannot be offloaded: they are not rewritable");
        }
        HeaderImage<40> ip;
        // Word 0: version(4) traffic class(8) flow label(20).
        const uint32_t first = htonl(uint32_t{v.ip_tos} << 20 | (ntohl(v.ipv6_label) & 0xfffff));
        const uint32_t first_mask = htonl(uint32_t{m.ip_tos} << 20 | (ntohl(m.ipv6_label) & 0xfffff));
        ip.put(0, first, first_mask);
        ip.put(7, v.ip_ttl, m.ip_ttl);
        ip.put(8, v.ipv6_src, m.ipv6_src);
        ip.put(24, v.ipv6_dst, m.ipv6_dst);
        if (ip.any_written(8, 32)) {
          if (Status s = pseudo_header_checksum("set(ipv6(src/dst))", true); !s) return s;
        }
        pedit_.add(TCA_PEDIT_KEY_EX_HDR_TYPE_IP6, ip);
        return Status::ok();
      }
      case OVS_KEY_ATTR_TCP:
      case OVS_KEY_ATTR_UDP: {
        HeaderImage<4> ports;
        ports.put(0, v.tp_src, m.tp_src);
        ports.put(2, v.tp_dst, m.tp_dst);
        if (!ports.any_written(0, 4)) return Status::ok();
        const bool tcp = set.attr == OVS_KEY_ATTR_TCP;
        pedit_.add(tcp ? TCA_PEDIT_KEY_EX_HDR_TYPE_TCP : TCA_PEDIT_KEY_EX_HDR_TYPE_UDP, ports);
        pedit_.need_checksum(tcp ? TCA_CSUM_UPDATE_FLAG_TCP : TCA_CSUM_UPDATE_FLAG_UDP);
        return Status::ok();
      }
      default:
        return refuse(std::string("action set(") + set_attribute_name(set.attr) +
                      "(...)) cannot be offloaded");
    }
  }

  const Match& match_;
  const ActionList& actions_;
  const TcPortTable& ports_;
  std::vector<TcAction>& out_;

  PeditAccumulator pedit_;
  std::optional<TcTunnelKeySetAction> tunnel_;
  bool tunnel_emitted_ = false;
  bool tunnel_port_implicit_ = false;
  uint16_t tunnel_udp_port_ = 0;
  bool tag_present_ = false;  // the frame is known to carry an outer VLAN tag here
  bool pending_pop_ = false;  // a pop_vlan not yet written (a push may turn it into modify)
  bool pop_had_tag_ = false;
};

}  // namespace

Status megaflow_actions_to_tc(const Match& match, const ActionList& actions, const TcPortTable& ports,
                              TcFlowerRule& rule) {
  return MegaflowActionsTranslator(match, actions, ports, rule).run();
}

}  // namespace flowlift
