// The match half of megaflow_to_tc: a megaflow's masked FlowKey as cls_flower
// keys, the filter's device (in_port), chain (recirc_id) and protocol.
//
// Why it works on a copy of the mask ("remaining"): every handler clears the
// mask bits it has accounted for, either by writing a flower key or because
// the bits hold for every packet the filter can see. Whatever is left at the
// end is a masked bit TC cannot express, and the flow is refused naming its
// field. That makes "never drop a masked bit silently" a property of the
// structure instead of a property of each handler.
//
// Layers: the kernel's key extraction leaves the fields of a header the
// packet does not have at zero (no IPv4 addresses in an ARP frame, no ports
// in a later fragment, no tunnel on a non-tunnel port), and a megaflow may
// mask them (the kernel always matches both VLAN tcis exactly, for one). A
// zero-valued mask on an absent layer therefore holds for every packet and
// is accounted for; a non-zero value can never match, and is refused.
#include <arpa/inet.h>
#include <endian.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>

#include "offload/megaflow_to_tc.h"

namespace flowlift {
namespace {

constexpr uint16_t kTciVidMask = 0x0fff;
constexpr uint16_t kTciPcpMask = 0xe000;
constexpr uint16_t kEthTypeIpv4 = 0x0800;
constexpr uint16_t kEthTypeIpv6 = 0x86dd;
constexpr uint16_t kEthTypeArp = 0x0806;
constexpr uint16_t kEthTypeRarp = 0x8035;
constexpr uint16_t kEthTypeMplsUnicast = 0x8847;
constexpr uint16_t kEthTypeMplsMulticast = 0x8848;
constexpr uint16_t kEthTypeVlan = 0x8100;
constexpr uint16_t kEthTypeQinQ = 0x88a8;
constexpr uint16_t kEthType8022 = 0x05ff;  // FlowKey's eth_type for an 802.3 frame without SNAP
constexpr uint8_t kIcmpv6NeighborSolicit = 135;
constexpr uint8_t kIcmpv6NeighborAdvert = 136;

Status refuse(std::string reason) { return Status(EOPNOTSUPP, std::move(reason)); }

std::string hex(uint32_t value, int digits) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%0*x", digits, value);
  return text;
}

std::string hex64(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

bool bytes_zero(const void* bytes, size_t size) {
  const auto* p = static_cast<const uint8_t*>(bytes);
  for (size_t i = 0; i < size; ++i)
    if (p[i]) return false;
  return true;
}

bool is_vlan_tpid(uint16_t eth_type) { return eth_type == kEthTypeVlan || eth_type == kEthTypeQinQ; }

// Which headers the packets a megaflow admits carry.
enum class KeyLayer : uint8_t {
  kOther,      // metadata, Ethernet, tunnel: handled by their own code
  kIp,         // ip_proto, ip_tos, ip_ttl, ip_frag: IPv4 or IPv6
  kIpv4,       // ipv4_src, ipv4_dst
  kIpv6,       // ipv6_src, ipv6_dst, ipv6_label
  kArp,        // ARP and RARP
  kMpls,       // label stack
  kTransport,  // tp_src, tp_dst: TCP/UDP/SCTP ports, ICMP/ICMPv6 type and code
  kTcpFlags,
  kNeighbor,  // IPv6 neighbour discovery
};

enum class LayerState : uint8_t { kPresent, kAbsent, kUnknown };

// Every byte of FlowKey, named as the ovs-dpctl text names the field, so that
// a refusal says which field could not be expressed.
struct MegaflowKeyField {
  const char* name;
  size_t offset;
  size_t size;
  KeyLayer layer;
};

#define FLOWLIFT_KEY_FIELD(name, member, layer) \
  MegaflowKeyField { name, offsetof(FlowKey, member), sizeof(FlowKey::member), KeyLayer::layer }
#define FLOWLIFT_TUNNEL_FIELD(name, member)                                                   \
  MegaflowKeyField {                                                                          \
    name, offsetof(FlowKey, tunnel) + offsetof(TunnelKey, member), sizeof(TunnelKey::member), \
        KeyLayer::kOther                                                                      \
  }

constexpr MegaflowKeyField kMegaflowKeyFields[] = {
    FLOWLIFT_TUNNEL_FIELD("tun_id", tun_id),
    FLOWLIFT_TUNNEL_FIELD("tunnel src", ipv4_src),
    FLOWLIFT_TUNNEL_FIELD("tunnel dst", ipv4_dst),
    FLOWLIFT_TUNNEL_FIELD("tunnel ipv6_src", ipv6_src),
    FLOWLIFT_TUNNEL_FIELD("tunnel ipv6_dst", ipv6_dst),
    FLOWLIFT_TUNNEL_FIELD("tunnel tp_src", tp_src),
    FLOWLIFT_TUNNEL_FIELD("tunnel tp_dst", tp_dst),
    FLOWLIFT_TUNNEL_FIELD("tunnel flags", flags),
    FLOWLIFT_TUNNEL_FIELD("tunnel tos", tos),
    FLOWLIFT_TUNNEL_FIELD("tunnel ttl", ttl),
    FLOWLIFT_TUNNEL_FIELD("vxlan_gbp", vxlan_gbp),
    FLOWLIFT_TUNNEL_FIELD("tunnel padding", pad),
    FLOWLIFT_KEY_FIELD("skb_priority", priority, kOther),
    FLOWLIFT_KEY_FIELD("skb_mark", skb_mark, kOther),
    FLOWLIFT_KEY_FIELD("in_port", in_port, kOther),
    FLOWLIFT_KEY_FIELD("recirc_id", recirc_id, kOther),
    FLOWLIFT_KEY_FIELD("dp_hash", dp_hash, kOther),
    FLOWLIFT_KEY_FIELD("eth_src", eth_src, kOther),
    FLOWLIFT_KEY_FIELD("eth_dst", eth_dst, kOther),
    FLOWLIFT_KEY_FIELD("vlan tpid", vlan.tpid, kOther),
    FLOWLIFT_KEY_FIELD("vlan tci", vlan.tci, kOther),
    FLOWLIFT_KEY_FIELD("cvlan tpid", cvlan.tpid, kOther),
    FLOWLIFT_KEY_FIELD("cvlan tci", cvlan.tci, kOther),
    FLOWLIFT_KEY_FIELD("eth_type", eth_type, kOther),
    FLOWLIFT_KEY_FIELD("ip_proto", ip_proto, kIp),
    FLOWLIFT_KEY_FIELD("ip_tos", ip_tos, kIp),
    FLOWLIFT_KEY_FIELD("ip_ttl", ip_ttl, kIp),
    FLOWLIFT_KEY_FIELD("ip_frag", ip_frag, kIp),
    FLOWLIFT_KEY_FIELD("tp_src", tp_src, kTransport),
    FLOWLIFT_KEY_FIELD("tp_dst", tp_dst, kTransport),
    FLOWLIFT_KEY_FIELD("tcp_flags", tcp_flags, kTcpFlags),
    FLOWLIFT_KEY_FIELD("ipv4_src", ipv4_src, kIpv4),
    FLOWLIFT_KEY_FIELD("ipv4_dst", ipv4_dst, kIpv4),
    FLOWLIFT_KEY_FIELD("arp_op", arp_op, kArp),
    FLOWLIFT_KEY_FIELD("mpls_depth", mpls_depth, kMpls),
    FLOWLIFT_KEY_FIELD("mac_proto", mac_proto, kOther),
    FLOWLIFT_KEY_FIELD("arp_sip", arp_sip, kArp),
    FLOWLIFT_KEY_FIELD("arp_tip", arp_tip, kArp),
    FLOWLIFT_KEY_FIELD("arp_sha", arp_sha, kArp),
    FLOWLIFT_KEY_FIELD("arp_tha", arp_tha, kArp),
    FLOWLIFT_KEY_FIELD("ipv6_src", ipv6_src, kIpv6),
    FLOWLIFT_KEY_FIELD("ipv6_dst", ipv6_dst, kIpv6),
    FLOWLIFT_KEY_FIELD("ipv6_label", ipv6_label, kIpv6),
    FLOWLIFT_KEY_FIELD("nd_target", nd_target, kNeighbor),
    FLOWLIFT_KEY_FIELD("nd_sll", nd_sll, kNeighbor),
    FLOWLIFT_KEY_FIELD("nd_tll", nd_tll, kNeighbor),
    FLOWLIFT_KEY_FIELD("mpls_lse", mpls_lse, kMpls),
    FLOWLIFT_KEY_FIELD("ct_state", ct_state, kOther),
    FLOWLIFT_KEY_FIELD("ct_zone", ct_zone, kOther),
    FLOWLIFT_KEY_FIELD("ct_tuple proto", ct_orig_proto, kOther),
    FLOWLIFT_KEY_FIELD("ct padding", pad1, kOther),
    FLOWLIFT_KEY_FIELD("ct_mark", ct_mark, kOther),
    FLOWLIFT_KEY_FIELD("ct_label", ct_labels, kOther),
    FLOWLIFT_KEY_FIELD("ct_tuple src", ct_orig_ipv4_src, kOther),
    FLOWLIFT_KEY_FIELD("ct_tuple dst", ct_orig_ipv4_dst, kOther),
    FLOWLIFT_KEY_FIELD("ct_tuple ipv6_src", ct_orig_ipv6_src, kOther),
    FLOWLIFT_KEY_FIELD("ct_tuple ipv6_dst", ct_orig_ipv6_dst, kOther),
    FLOWLIFT_KEY_FIELD("ct_tuple tp_src", ct_orig_tp_src, kOther),
    FLOWLIFT_KEY_FIELD("ct_tuple tp_dst", ct_orig_tp_dst, kOther),
};

#undef FLOWLIFT_KEY_FIELD
#undef FLOWLIFT_TUNNEL_FIELD

constexpr size_t table_bytes() {
  size_t total = 0;
  for (const MegaflowKeyField& f : kMegaflowKeyFields) total += f.size;
  return total;
}
static_assert(table_bytes() == sizeof(FlowKey), "every FlowKey byte needs a name for refusals");

class MegaflowMatchTranslator {
 public:
  MegaflowMatchTranslator(const Match& match, const TcPortTable& ports, TcFlowerRule& rule)
      : key_(match.key),
        mask_(match.mask.bits()),
        remaining_(match.mask.bits()),
        ports_(ports),
        rule_(rule) {}

  Status run() {
    if (Status s = metadata(); !s) return s;
    if (Status s = tunnel(); !s) return s;
    if (Status s = ethernet(); !s) return s;
    if (Status s = vlans_and_protocol(); !s) return s;
    if (Status s = absent_layers(); !s) return s;
    if (Status s = mpls(); !s) return s;
    if (Status s = ip(); !s) return s;
    if (Status s = transport(); !s) return s;
    if (Status s = arp(); !s) return s;
    return leftover();
  }

 private:
  // ---- bookkeeping ----

  template <typename T>
  void consume(const T& mask_field) {
    const auto offset =
        reinterpret_cast<const uint8_t*>(&mask_field) - reinterpret_cast<const uint8_t*>(&mask_);
    std::memset(reinterpret_cast<uint8_t*>(&remaining_) + offset, 0, sizeof(T));
  }

  // Adds a flower key from `size` bytes of key and mask (big-endian), when the mask is not zero.
  void add_key(TcFlowerField field, const void* value, const void* mask, size_t size) {
    if (bytes_zero(mask, size)) return;
    TcFlowerKey k;
    k.field = field;
    const auto* v = static_cast<const uint8_t*>(value);
    const auto* m = static_cast<const uint8_t*>(mask);
    for (size_t i = 0; i < size; ++i) {
      k.mask[i] = m[i];
      k.value[i] = v[i] & m[i];
    }
    rule_.match.set(k);
  }
  template <typename T>
  void add_field(TcFlowerField field, const T& key_field, const T& mask_field) {
    static_assert(sizeof(T) <= 16);
    add_key(field, &key_field, &mask_field, sizeof(T));
    consume(mask_field);
  }
  void add_exact_u8(TcFlowerField field, uint8_t value) {
    const uint8_t ones = 0xff;
    add_key(field, &value, &ones, 1);
  }
  void add_exact_be16(TcFlowerField field, uint16_t host_value) {
    const uint16_t value = htons(host_value);
    const uint16_t ones = 0xffff;
    add_key(field, &value, &ones, 2);
  }
  void add_exact_be32(TcFlowerField field, uint32_t host_value) {
    const uint32_t value = htonl(host_value);
    const uint32_t ones = 0xffffffff;
    add_key(field, &value, &ones, 4);
  }

  // ---- metadata: the filter's place ----

  Status metadata() {
    if (mask_.in_port != 0xffffffff) {
      return refuse("in_port must be matched exactly: a tc filter sits on one device (mask " +
                    hex(mask_.in_port, 8) + ")");
    }
    port_ = ports_.find(key_.in_port);
    if (!port_) return refuse("in_port " + std::to_string(key_.in_port) + ": no such port");
    rule_.ifindex = port_->ifindex;
    rule_.device = port_->device;
    consume(mask_.in_port);

    if (mask_.recirc_id != 0xffffffff) {
      return refuse("recirc_id must be matched exactly: it is the tc chain the filter sits in (mask " +
                    hex(mask_.recirc_id, 8) + ")");
    }
    rule_.chain = key_.recirc_id;
    consume(mask_.recirc_id);
    return Status::ok();
  }

  // ---- tunnel metadata: flower's enc_* keys on a VXLAN device ----

  Status tunnel() {
    const TunnelKey& k = key_.tunnel;
    const TunnelKey& m = mask_.tunnel;
    if (!port_->vxlan) {
      // A packet from a non-tunnel port has no tunnel metadata: all zero.
      if (!bytes_zero(&k, sizeof k)) {
        return refuse("the flow matches tunnel metadata, but in_port " + std::to_string(key_.in_port) + " (" +
                      port_->device + ") is not a VXLAN port: the megaflow can never match");
      }
      consume(m);
      return Status::ok();
    }

    if (port_->vxlan_udp_port == 0) {
      return refuse("VXLAN port " + port_->device + " has no UDP port: tc flower needs enc_dst_port exact");
    }

    // tun_id: VXLAN's VNI is 24 bits (vxlan_vni_to_tun_id), so the bits
    // above it are zero in every packet; flower's enc_key_id is exact only.
    const uint64_t tun_id = be64toh(k.tun_id);
    const uint64_t tun_id_mask = be64toh(m.tun_id);
    if (tun_id >> 24) {
      return refuse("tun_id " + hex64(tun_id) +
                    " is wider than a 24-bit VXLAN VNI: the megaflow can never match");
    }
    const uint64_t vni_mask = tun_id_mask & 0xffffff;
    if (vni_mask != 0 && vni_mask != 0xffffff) {
      return refuse("tun_id mask " + hex64(tun_id_mask) +
                    " is partial: tc flower matches enc_key_id exactly only");
    }
    if (vni_mask) add_exact_be32(TcFlowerField::kEncKeyId, static_cast<uint32_t>(tun_id));
    consume(m.tun_id);

    // Addresses: an enc_ipv4 key makes flower match IPv4 outer headers only
    // (enc_control.addr_type), which is what zero IPv6 tunnel fields say,
    // and the other way round.
    const bool ipv4_keys = m.ipv4_src || m.ipv4_dst;
    const bool ipv6_keys = !bytes_zero(&m.ipv6_src, 16) || !bytes_zero(&m.ipv6_dst, 16);
    const bool ipv4_zero = (k.ipv4_src | k.ipv4_dst) == 0;
    const bool ipv6_zero = bytes_zero(&k.ipv6_src, 16) && bytes_zero(&k.ipv6_dst, 16);
    if (ipv4_keys && ipv6_keys) {
      if (!ipv4_zero && !ipv6_zero) {
        return refuse("the flow matches both IPv4 and IPv6 tunnel addresses: the megaflow can never match");
      }
      if (ipv4_zero && ipv6_zero) {
        return refuse(
            "tunnel src/dst and ipv6_src/ipv6_dst are all matched as zero: tc flower cannot match a tunnel "
            "without addresses");
      }
      if (ipv6_zero) {
        consume(m.ipv6_src);
        consume(m.ipv6_dst);
      } else {
        consume(m.ipv4_src);
        consume(m.ipv4_dst);
      }
    }
    // Addresses of one family matched as zero also admit every tunnel of
    // the other family (whose fields of this family are zero), which an
    // enc key of this family would not.
    if (ipv4_keys && !ipv6_keys && ipv4_zero) {
      return refuse(
          "tunnel src/dst are matched as zero, which IPv6 tunnels also satisfy: tc flower's "
          "enc_src_ip/enc_dst_ip "
          "keys admit IPv4 tunnels only");
    }
    if (ipv6_keys && !ipv4_keys && ipv6_zero) {
      return refuse(
          "tunnel ipv6_src/ipv6_dst are matched as zero, which IPv4 tunnels also satisfy: tc flower's "
          "enc_src_ip/enc_dst_ip keys admit IPv6 tunnels only");
    }
    if (!bytes_zero(&remaining_.tunnel.ipv4_src, 4) || !bytes_zero(&remaining_.tunnel.ipv4_dst, 4)) {
      add_field(TcFlowerField::kEncIpv4Src, k.ipv4_src, m.ipv4_src);
      add_field(TcFlowerField::kEncIpv4Dst, k.ipv4_dst, m.ipv4_dst);
    }
    if (!bytes_zero(&remaining_.tunnel.ipv6_src, 16) || !bytes_zero(&remaining_.tunnel.ipv6_dst, 16)) {
      add_field(TcFlowerField::kEncIpv6Src, k.ipv6_src, m.ipv6_src);
      add_field(TcFlowerField::kEncIpv6Dst, k.ipv6_dst, m.ipv6_dst);
    }
    add_field(TcFlowerField::kEncIpTos, k.tos, m.tos);
    add_field(TcFlowerField::kEncIpTtl, k.ttl, m.ttl);
    add_field(TcFlowerField::kEncUdpSrcPort, k.tp_src, m.tp_src);

    // enc_dst_port always exact (mlx5 requires it): the device only
    // receives its own UDP port, so its port with a full mask matches the
    // same packets as whatever the megaflow says, if that admits the port.
    const uint16_t device_port = htons(port_->vxlan_udp_port);
    if ((device_port & m.tp_dst) != k.tp_dst) {
      return refuse("tunnel tp_dst " + std::to_string(ntohs(k.tp_dst)) + " (mask " + hex(ntohs(m.tp_dst), 4) +
                    ") never matches: " + port_->device + " receives UDP port " +
                    std::to_string(port_->vxlan_udp_port) + " only");
    }
    add_exact_be16(TcFlowerField::kEncUdpDstPort, port_->vxlan_udp_port);
    consume(m.tp_dst);

    // Flags: VXLAN sets "key" on every packet and never "oam"; flower (before
    // Linux 6.10's TCA_FLOWER_KEY_ENC_FLAGS) cannot match df or csum.
    if ((m.flags & kTunnelKey) && !(k.flags & kTunnelKey)) {
      return refuse("tunnel flags: the flow matches -key, but VXLAN packets always carry a key");
    }
    if ((m.flags & kTunnelOam) && (k.flags & kTunnelOam)) {
      return refuse("tunnel flags: the flow matches +oam, which VXLAN never sets");
    }
    remaining_.tunnel.flags &= static_cast<uint16_t>(~(kTunnelKey | kTunnelOam));
    if (remaining_.tunnel.flags & (kTunnelDontFragment | kTunnelCsum)) {
      return refuse(
          "tc flower has no key for the tunnel flags df and csum (the flow matches " +
          std::string(m.flags & kTunnelDontFragment ? (k.flags & kTunnelDontFragment ? "+df" : "-df") : "") +
          std::string(m.flags & kTunnelCsum ? (k.flags & kTunnelCsum ? "+csum" : "-csum") : "") + ")");
    }
    return Status::ok();
  }

  // ---- Ethernet ----

  Status ethernet() {
    if (mask_.mac_proto) {
      if ((key_.mac_proto & mask_.mac_proto) != kMacProtoEthernet) {
        return refuse("the flow matches layer-3 packets (no Ethernet header): tc flower on " + port_->device +
                      " sees Ethernet frames");
      }
      consume(mask_.mac_proto);  // every frame on an Ethernet device is one
    }
    add_field(TcFlowerField::kEthDst, key_.eth_dst, mask_.eth_dst);
    add_field(TcFlowerField::kEthSrc, key_.eth_src, mask_.eth_src);
    return Status::ok();
  }

  // The innermost ethertype as an exact key, or why it cannot be one.
  Status innermost_eth_type(const char* where, TcFlowerField field) {
    if (mask_.eth_type == 0) return Status::ok();
    if (mask_.eth_type != 0xffff) {
      return refuse("eth_type mask " + hex(ntohs(mask_.eth_type), 4) +
                    " is partial: tc flower matches the ethertype exactly only");
    }
    const uint16_t type = ntohs(key_.eth_type);
    if (is_vlan_tpid(type)) {
      return refuse(std::string("the flow matches a truncated VLAN tag (eth_type ") + hex(type, 4) + " " +
                    where + " without its tci)");
    }
    if (type == kEthType8022) {
      return refuse("the flow matches 802.2 frames without an EtherType: tc flower has no protocol for them");
    }
    add_exact_be16(field, type);
    if (field == TcFlowerField::kEthType) rule_.protocol = htons(type);
    consume(mask_.eth_type);
    eth_type_known_ = true;
    return Status::ok();
  }

  // vid and pcp of one tag: each exact or unmatched. The CFI bit is the
  // kernel's "tag present", which the filter's protocol already says.
  Status tag_fields(const VlanHead& key, const VlanHead& mask, const char* tag, TcFlowerField id_field,
                    TcFlowerField prio_field) {
    const uint16_t tci = ntohs(key.tci);
    const uint16_t tci_mask = ntohs(mask.tci);
    const uint16_t vid_mask = tci_mask & kTciVidMask;
    const uint16_t pcp_mask = tci_mask & kTciPcpMask;
    if (vid_mask != 0 && vid_mask != kTciVidMask) {
      return refuse(std::string(tag) + " vid mask " + hex(vid_mask, 4) +
                    " is partial: tc flower matches vlan_id exactly only");
    }
    if (pcp_mask != 0 && pcp_mask != kTciPcpMask) {
      return refuse(std::string(tag) + " pcp mask " + hex(pcp_mask >> 13, 1) +
                    " is partial: tc flower matches vlan_prio exactly only");
    }
    if (vid_mask) add_exact_be16(id_field, tci & kTciVidMask);
    if (pcp_mask) add_exact_u8(prio_field, static_cast<uint8_t>(tci >> 13));
    if (mask.tpid != 0 && mask.tpid != 0xffff) {
      return refuse(std::string(tag) + " tpid mask " + hex(ntohs(mask.tpid), 4) + " is partial");
    }
    return Status::ok();
  }

  // A tag the megaflow says is absent: every field of it is zero.
  Status absent_tag(const VlanHead& key, const VlanHead& mask, const char* tag) {
    if (key.tci != 0 || key.tpid != 0) {
      return refuse(std::string(tag) + " tci " + hex(ntohs(key.tci), 4) +
                    " without the tag-present bit (0x1000) never matches a packet");
    }
    consume(mask);
    return Status::ok();
  }

  Status vlans_and_protocol() {
    const uint16_t outer_mask = ntohs(mask_.vlan.tci);
    const uint16_t outer_tci = ntohs(key_.vlan.tci);
    rule_.protocol = htons(ETH_P_ALL);

    if (!(outer_mask & kVlanCfi)) {
      // Tags wildcarded: only "anything" is expressible (protocol all).
      if (outer_mask != 0 || mask_.vlan.tpid != 0) {
        return refuse(
            "vlan tci mask " + hex(outer_mask, 4) +
            " leaves out the tag-present bit (0x1000): tc flower matches a tag or no tag, not both");
      }
      if (mask_.cvlan.tci != 0 || mask_.cvlan.tpid != 0) {
        return refuse("cvlan is matched while the outer VLAN tag is not: tc flower cannot express it");
      }
      if (mask_.eth_type != 0) {
        return refuse(
            "eth_type is matched with VLAN tags wildcarded: tc flower's protocol is the outer ethertype, so "
            "it "
            "cannot match the innermost one under any tagging");
      }
      return Status::ok();
    }

    if (!(outer_tci & kVlanCfi)) {
      // No tag: the protocol is the ethertype itself.
      if (Status s = absent_tag(key_.vlan, mask_.vlan, "vlan"); !s) return s;
      if (Status s = absent_tag(key_.cvlan, mask_.cvlan, "cvlan"); !s) return s;
      if (mask_.eth_type == 0) {
        return refuse(
            "the flow matches untagged frames of any ethertype: tc flower's protocol all matches VLAN-tagged "
            "frames too; match eth_type");
      }
      return innermost_eth_type("", TcFlowerField::kEthType);
    }

    // One tag at least: protocol and kEthType are its TPID.
    if (mask_.vlan.tpid != 0xffff) {
      return refuse("vlan tpid must be matched exactly: it is the tc filter's protocol (mask " +
                    hex(ntohs(mask_.vlan.tpid), 4) + ")");
    }
    const uint16_t tpid = ntohs(key_.vlan.tpid);
    if (!is_vlan_tpid(tpid)) return refuse("vlan tpid " + hex(tpid, 4) + " is not 0x8100 or 0x88a8");
    rule_.protocol = htons(tpid);
    add_exact_be16(TcFlowerField::kEthType, tpid);
    if (Status s =
            tag_fields(key_.vlan, mask_.vlan, "vlan", TcFlowerField::kVlanId, TcFlowerField::kVlanPrio);
        !s)
      return s;
    consume(mask_.vlan);

    const uint16_t inner_mask = ntohs(mask_.cvlan.tci);
    const uint16_t inner_tci = ntohs(key_.cvlan.tci);
    if ((inner_mask & kVlanCfi) && (inner_tci & kVlanCfi)) {
      // QinQ: what follows the outer tag is the inner TPID.
      if (mask_.cvlan.tpid != 0xffff) {
        return refuse("cvlan tpid must be matched exactly: it is what follows the outer tag (mask " +
                      hex(ntohs(mask_.cvlan.tpid), 4) + ")");
      }
      const uint16_t inner_tpid = ntohs(key_.cvlan.tpid);
      if (!is_vlan_tpid(inner_tpid))
        return refuse("cvlan tpid " + hex(inner_tpid, 4) + " is not 0x8100 or 0x88a8");
      add_exact_be16(TcFlowerField::kVlanEthType, inner_tpid);
      if (Status s = tag_fields(key_.cvlan, mask_.cvlan, "cvlan", TcFlowerField::kCvlanId,
                                TcFlowerField::kCvlanPrio);
          !s)
        return s;
      consume(mask_.cvlan);
      return innermost_eth_type("inside the inner tag", TcFlowerField::kCvlanEthType);
    }
    if (inner_mask & kVlanCfi) {
      // Exactly one tag: the inner ethertype (not a TPID) says so.
      if (Status s = absent_tag(key_.cvlan, mask_.cvlan, "cvlan"); !s) return s;
      if (mask_.eth_type == 0) {
        return refuse(
            "the flow matches single-tagged frames of any inner ethertype: tc flower cannot tell them from "
            "double-tagged ones without the inner eth_type");
      }
      return innermost_eth_type("inside the tag", TcFlowerField::kVlanEthType);
    }
    if (inner_mask != 0 || mask_.cvlan.tpid != 0) {
      return refuse(
          "cvlan tci mask " + hex(inner_mask, 4) +
          " leaves out the tag-present bit (0x1000): tc flower matches an inner tag or none, not both");
    }
    if (mask_.eth_type != 0) {
      return refuse(
          "eth_type is matched with the inner VLAN tag wildcarded: tc flower cannot match the innermost "
          "ethertype under either tagging");
    }
    return Status::ok();
  }

  // ---- layers the flow rules out ----

  uint16_t eth_type() const { return ntohs(key_.eth_type); }
  bool is_ipv4() const { return eth_type_known_ && eth_type() == kEthTypeIpv4; }
  bool is_ipv6() const { return eth_type_known_ && eth_type() == kEthTypeIpv6; }
  bool is_ip() const { return is_ipv4() || is_ipv6(); }
  bool is_arp() const { return eth_type_known_ && (eth_type() == kEthTypeArp || eth_type() == kEthTypeRarp); }
  bool is_mpls() const {
    return eth_type_known_ && (eth_type() == kEthTypeMplsUnicast || eth_type() == kEthTypeMplsMulticast);
  }
  bool ip_proto_known() const { return is_ip() && mask_.ip_proto == 0xff; }
  bool later_fragment_only() const { return mask_.ip_frag == 0xff && key_.ip_frag == kFragLater; }

  LayerState of(bool present) const {
    if (!eth_type_known_) return LayerState::kUnknown;
    return present ? LayerState::kPresent : LayerState::kAbsent;
  }

  LayerState transport_state() const {
    if (!eth_type_known_) return LayerState::kUnknown;
    if (!is_ip() || later_fragment_only()) return LayerState::kAbsent;
    if (!ip_proto_known()) return LayerState::kUnknown;
    switch (key_.ip_proto) {
      case IPPROTO_TCP:
      case IPPROTO_UDP:
      case IPPROTO_SCTP:
        return LayerState::kPresent;
      case IPPROTO_ICMP:
        return is_ipv4() ? LayerState::kPresent : LayerState::kAbsent;
      case IPPROTO_ICMPV6:
        return is_ipv6() ? LayerState::kPresent : LayerState::kAbsent;
      default:
        return LayerState::kAbsent;
    }
  }

  LayerState neighbor_state() const {
    LayerState transport = transport_state();
    if (transport != LayerState::kPresent) return transport;
    if (key_.ip_proto != IPPROTO_ICMPV6) return LayerState::kAbsent;
    // The kernel extracts ND fields for types 135/136 with code 0 only.
    const uint8_t type_mask = ntohs(mask_.tp_src) & 0xff, type = ntohs(key_.tp_src) & 0xff;
    const uint8_t code_mask = ntohs(mask_.tp_dst) & 0xff, code = ntohs(key_.tp_dst) & 0xff;
    if (type_mask == 0xff && type != kIcmpv6NeighborSolicit && type != kIcmpv6NeighborAdvert)
      return LayerState::kAbsent;
    if (code_mask == 0xff && code != 0) return LayerState::kAbsent;
    return LayerState::kPresent;
  }

  LayerState layer_state(KeyLayer layer) const {
    switch (layer) {
      case KeyLayer::kIp:
        return of(is_ip());
      case KeyLayer::kIpv4:
        return of(is_ipv4());
      case KeyLayer::kIpv6:
        return of(is_ipv6());
      case KeyLayer::kArp:
        return of(is_arp());
      case KeyLayer::kMpls:
        return of(is_mpls());
      case KeyLayer::kTransport:
        return transport_state();
      case KeyLayer::kTcpFlags: {
        LayerState transport = transport_state();
        if (transport != LayerState::kPresent) return transport;
        return key_.ip_proto == IPPROTO_TCP ? LayerState::kPresent : LayerState::kAbsent;
      }
      case KeyLayer::kNeighbor:
        return neighbor_state();
      case KeyLayer::kOther:
        return LayerState::kPresent;
    }
    return LayerState::kPresent;
  }

  static const char* layer_requirement(KeyLayer layer) {
    switch (layer) {
      case KeyLayer::kTransport:
      case KeyLayer::kTcpFlags:
      case KeyLayer::kNeighbor:
        return "eth_type and ip_proto";
      default:
        return "eth_type";
    }
  }

  Status absent_layers() {
    const auto* key_bytes = reinterpret_cast<const uint8_t*>(&key_);
    auto* remaining_bytes = reinterpret_cast<uint8_t*>(&remaining_);
    for (const MegaflowKeyField& field : kMegaflowKeyFields) {
      if (field.layer == KeyLayer::kOther || bytes_zero(remaining_bytes + field.offset, field.size)) continue;
      switch (layer_state(field.layer)) {
        case LayerState::kPresent:
          break;
        case LayerState::kUnknown:
          return refuse(std::string("tc flower cannot match ") + field.name + " without " +
                        layer_requirement(field.layer) + " matched exactly");
        case LayerState::kAbsent:
          if (!bytes_zero(key_bytes + field.offset, field.size)) {
            return refuse(std::string(field.name) +
                          " is matched to a non-zero value in a packet that has no such header: the megaflow "
                          "can never match");
          }
          std::memset(remaining_bytes + field.offset, 0, field.size);
          break;
      }
    }
    return Status::ok();
  }

  // ---- MPLS: the outermost label stack entry ----

  Status mpls() {
    if (!is_mpls()) return Status::ok();
    if (mask_.mpls_lse[1] || mask_.mpls_lse[2]) {
      return refuse("tc flower matches only the outermost MPLS label; the flow matches labels beyond it");
    }
    const uint32_t lse = ntohl(key_.mpls_lse[0]);
    const uint32_t lse_mask = ntohl(mask_.mpls_lse[0]);
    struct LseField {
      const char* name;
      uint32_t bits;
      int shift;
      TcFlowerField field;
    };
    static constexpr LseField kLseFields[] = {
        {"label", 0xfffff000u, 12, TcFlowerField::kMplsLabel},
        {"tc", 0x00000e00u, 9, TcFlowerField::kMplsTc},
        {"bos", 0x00000100u, 8, TcFlowerField::kMplsBos},
        {"ttl", 0x000000ffu, 0, TcFlowerField::kMplsTtl},
    };
    for (const LseField& f : kLseFields) {
      const uint32_t m = lse_mask & f.bits;
      if (m == 0) continue;
      if (m != f.bits) {
        return refuse(std::string("mpls ") + f.name + " mask " + hex(m >> f.shift, 1) +
                      " is partial: tc flower matches mpls_" + f.name + " exactly only");
      }
      const uint32_t value = (lse & f.bits) >> f.shift;
      if (f.field == TcFlowerField::kMplsLabel) {
        add_exact_be32(f.field, value);
      } else {
        add_exact_u8(f.field, static_cast<uint8_t>(value));
      }
    }
    consume(mask_.mpls_lse);

    // The stack depth: the kernel counts entries up to the bottom of stack
    // (at most 3). Depth 1 is "the outermost entry is the bottom".
    if (mask_.mpls_depth) {
      if (mask_.mpls_depth != 0xff) {
        return refuse("mpls_depth mask " + hex(mask_.mpls_depth, 2) + " is partial");
      }
      if (key_.mpls_depth != 1) {
        return refuse("tc flower matches only the outermost MPLS label; the flow matches a stack of " +
                      std::to_string(key_.mpls_depth) + " labels");
      }
      const TcFlowerKey* bos = rule_.match.find(TcFlowerField::kMplsBos);
      if (bos && bos->value[0] != 1) {
        return refuse("the flow matches one MPLS label that is not the bottom of stack: it can never match");
      }
      add_exact_u8(TcFlowerField::kMplsBos, 1);
      consume(mask_.mpls_depth);
    }
    return Status::ok();
  }

  // ---- IPv4 / IPv6 ----

  Status ip() {
    if (!is_ip()) return Status::ok();
    if (mask_.ip_proto != 0 && mask_.ip_proto != 0xff) {
      return refuse("ip_proto mask " + hex(mask_.ip_proto, 2) +
                    " is partial: tc flower matches ip_proto exactly only");
    }
    add_field(TcFlowerField::kIpProto, key_.ip_proto, mask_.ip_proto);
    add_field(TcFlowerField::kIpTos, key_.ip_tos, mask_.ip_tos);
    add_field(TcFlowerField::kIpTtl, key_.ip_ttl, mask_.ip_ttl);
    if (Status s = ip_frag(); !s) return s;
    if (is_ipv4()) {
      add_field(TcFlowerField::kIpv4Src, key_.ipv4_src, mask_.ipv4_src);
      add_field(TcFlowerField::kIpv4Dst, key_.ipv4_dst, mask_.ipv4_dst);
    } else {
      add_field(TcFlowerField::kIpv6Src, key_.ipv6_src, mask_.ipv6_src);
      add_field(TcFlowerField::kIpv6Dst, key_.ipv6_dst, mask_.ipv6_dst);
    }
    return Status::ok();
  }

  // ip_frag (OVS_FRAG_TYPE_NONE/FIRST/LATER) under any mask is a set of
  // fragment types; flower's flags (is_fragment, frag_is_first) express
  // these sets. OVS's FLOW_NW_FRAG_ANY is is_fragment and FLOW_NW_FRAG_LATER
  // is "not frag_is_first" among fragments.
  Status ip_frag() {
    if (mask_.ip_frag == 0) return Status::ok();
    bool admits[3];
    for (uint8_t type = 0; type < 3; ++type) admits[type] = (type & mask_.ip_frag) == key_.ip_frag;
    uint32_t flags = 0, flags_mask = 0;
    if (admits[kFragNone] && admits[kFragFirst] && admits[kFragLater]) {
      // every packet: nothing to match
    } else if (admits[kFragNone] && !admits[kFragFirst] && !admits[kFragLater]) {
      flags_mask = kTcFlowerIsFragment;
    } else if (!admits[kFragNone] && admits[kFragFirst] && admits[kFragLater]) {
      flags = flags_mask = kTcFlowerIsFragment;
    } else if (!admits[kFragNone] && admits[kFragFirst] && !admits[kFragLater]) {
      flags = flags_mask = kTcFlowerIsFragment | kTcFlowerFragIsFirst;
    } else if (!admits[kFragNone] && !admits[kFragFirst] && admits[kFragLater]) {
      flags = kTcFlowerIsFragment;
      flags_mask = kTcFlowerIsFragment | kTcFlowerFragIsFirst;
    } else if (admits[kFragNone] && !admits[kFragFirst] && admits[kFragLater]) {
      flags_mask = kTcFlowerFragIsFirst;  // frag_is_first is set on first fragments only
    } else if (admits[kFragNone] && admits[kFragFirst] && !admits[kFragLater]) {
      return refuse("ip_frag " + hex(key_.ip_frag, 2) + "/" + hex(mask_.ip_frag, 2) +
                    " (not a later fragment) has no tc flower flags equivalent");
    } else {
      return refuse("ip_frag " + hex(key_.ip_frag, 2) + "/" + hex(mask_.ip_frag, 2) +
                    " matches no fragment type: the megaflow can never match");
    }
    if (flags_mask) {
      const uint32_t value = htonl(flags), mask = htonl(flags_mask);
      add_key(TcFlowerField::kIpFlags, &value, &mask, 4);
    }
    consume(mask_.ip_frag);
    return Status::ok();
  }

  // ---- transport: ports, TCP flags, ICMP type and code ----

  // ICMP type/code sit in tp_src/tp_dst as htons(type)/htons(code): the
  // high byte is zero in every packet.
  Status icmp_byte(const Be16& key_field, const Be16& mask_field, const char* name, TcFlowerField field) {
    uint8_t value[2], mask[2];
    std::memcpy(value, &key_field, 2);
    std::memcpy(mask, &mask_field, 2);
    if (value[0] != 0) {
      return refuse(std::string(name) + " " + std::to_string(ntohs(key_field)) +
                    " is above 255: the megaflow can never match");
    }
    add_key(field, &value[1], &mask[1], 1);
    consume(mask_field);
    return Status::ok();
  }

  Status transport() {
    if (transport_state() != LayerState::kPresent) return Status::ok();
    // The datapath reads the ports (and TCP flags, ICMP type) of a first
    // fragment; flower's flow dissector stops at a fragment's IP header
    // (cls_flower dissects without FLOW_DISSECTOR_F_PARSE_1ST_FRAG), so a
    // filter would see zeros there and miss what the megaflow matches.
    const bool admits_first_fragment = (kFragFirst & mask_.ip_frag) == key_.ip_frag;
    if (admits_first_fragment && (mask_.tp_src || mask_.tp_dst || mask_.tcp_flags)) {
      return refuse(std::string("tc flower cannot match the layer-4 fields of a first fragment (its flow ") +
                    "dissector stops at a fragment's IP header), and the flow matches them with ip_frag " +
                    hex(key_.ip_frag, 2) + "/" + hex(mask_.ip_frag, 2) + " admitting first fragments");
    }
    switch (key_.ip_proto) {
      case IPPROTO_TCP:
        add_field(TcFlowerField::kTcpSrc, key_.tp_src, mask_.tp_src);
        add_field(TcFlowerField::kTcpDst, key_.tp_dst, mask_.tp_dst);
        add_field(TcFlowerField::kTcpFlags, key_.tcp_flags, mask_.tcp_flags);
        return Status::ok();
      case IPPROTO_UDP:
        add_field(TcFlowerField::kUdpSrc, key_.tp_src, mask_.tp_src);
        add_field(TcFlowerField::kUdpDst, key_.tp_dst, mask_.tp_dst);
        return Status::ok();
      case IPPROTO_SCTP:
        add_field(TcFlowerField::kSctpSrc, key_.tp_src, mask_.tp_src);
        add_field(TcFlowerField::kSctpDst, key_.tp_dst, mask_.tp_dst);
        return Status::ok();
      case IPPROTO_ICMP:
        if (Status s = icmp_byte(key_.tp_src, mask_.tp_src, "icmp type", TcFlowerField::kIcmpv4Type); !s)
          return s;
        return icmp_byte(key_.tp_dst, mask_.tp_dst, "icmp code", TcFlowerField::kIcmpv4Code);
      case IPPROTO_ICMPV6:
        if (Status s = icmp_byte(key_.tp_src, mask_.tp_src, "icmpv6 type", TcFlowerField::kIcmpv6Type); !s)
          return s;
        return icmp_byte(key_.tp_dst, mask_.tp_dst, "icmpv6 code", TcFlowerField::kIcmpv6Code);
      default:
        return Status::ok();
    }
  }

  // ---- ARP / RARP ----

  Status arp() {
    if (!is_arp()) return Status::ok();
    add_field(TcFlowerField::kArpSip, key_.arp_sip, mask_.arp_sip);
    add_field(TcFlowerField::kArpTip, key_.arp_tip, mask_.arp_tip);
    // arp_op is htons(op), op <= 255 (the kernel keys larger ops as 0): the
    // high byte is zero in every packet; flower's arp_op is one byte.
    uint8_t op[2], op_mask[2];
    std::memcpy(op, &key_.arp_op, 2);
    std::memcpy(op_mask, &mask_.arp_op, 2);
    if (op[0] != 0)
      return refuse("arp_op " + std::to_string(ntohs(key_.arp_op)) +
                    " is above 255: the megaflow can never match");
    add_key(TcFlowerField::kArpOp, &op[1], &op_mask[1], 1);
    consume(mask_.arp_op);
    add_field(TcFlowerField::kArpSha, key_.arp_sha, mask_.arp_sha);
    add_field(TcFlowerField::kArpTha, key_.arp_tha, mask_.arp_tha);
    return Status::ok();
  }

  // ---- what is left: masked bits flower has no key for ----

  Status leftover() const {
    const auto* remaining_bytes = reinterpret_cast<const uint8_t*>(&remaining_);
    for (const MegaflowKeyField& field : kMegaflowKeyFields) {
      if (!bytes_zero(remaining_bytes + field.offset, field.size)) {
        return refuse(std::string("tc flower has no key for ") + field.name);
      }
    }
    return Status::ok();
  }

  const FlowKey& key_;
  const FlowKey& mask_;
  FlowKey remaining_;
  const TcPortTable& ports_;
  TcFlowerRule& rule_;
  const TcPortInfo* port_ = nullptr;
  bool eth_type_known_ = false;
};

}  // namespace

Status megaflow_match_to_tc(const Match& match, const TcPortTable& ports, TcFlowerRule& rule) {
  return MegaflowMatchTranslator(match, ports, rule).run();
}

}  // namespace flowlift
