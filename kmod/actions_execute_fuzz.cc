// Fuzz target: every action on arbitrary bytes with arbitrary layer offsets
// and key fields. Actions may refuse a packet but never read or write outside it.
#include <cstdint>
#include <cstring>

#include "kmod/actions_execute.h"

namespace flowlift {
namespace {

// Hands out fuzz bytes, zeros once they run out.
class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  template <typename T>
  T take() {
    T value{};
    uint8_t bytes[sizeof(T)] = {};
    for (size_t i = 0; i < sizeof(T) && offset_ < size_; ++i) bytes[i] = data_[offset_++];
    std::memcpy(&value, bytes, sizeof(T));
    return value;
  }
  std::span<const uint8_t> rest() { return {data_ + offset_, size_ - offset_}; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
};

class FuzzContext : public ActionContext {
 public:
  void output(uint32_t, Packet packet) override { sink_ += packet.size(); }
  void upcall(const Upcall& upcall) override { sink_ += upcall.packet.size(); }
  void recirculate(Packet packet, const FlowKey&) override { sink_ += packet.size(); }
  FlowKey extract_key(Packet&) override { return FlowKey{}; }
  uint32_t random_u32() override { return 0x80000000u; }
  bool is_vxlan_port(uint32_t port) override { return port == 9; }
  Result<VxlanRoute> resolve_vxlan_route(uint32_t, const TunnelKey&) override {
    VxlanRoute route;
    route.endpoint.local_ipv4 = 0x01020304;
    route.endpoint.local_ipv6[15] = 1;
    return route;
  }

 private:
  size_t sink_ = 0;
};

SetAction random_set(FuzzInput& in) {
  static constexpr ovs_key_attr kAttributes[] = {
      OVS_KEY_ATTR_ETHERNET, OVS_KEY_ATTR_IPV4,   OVS_KEY_ATTR_IPV6, OVS_KEY_ATTR_TCP,
      OVS_KEY_ATTR_UDP,      OVS_KEY_ATTR_SCTP,   OVS_KEY_ATTR_MPLS, OVS_KEY_ATTR_PRIORITY,
      OVS_KEY_ATTR_SKB_MARK, OVS_KEY_ATTR_TUNNEL, OVS_KEY_ATTR_ICMP};
  SetAction set;
  set.attr = kAttributes[in.take<uint8_t>() % (sizeof kAttributes / sizeof kAttributes[0])];
  set.masked = in.take<uint8_t>() & 1;
  set.value = in.take<FlowKey>();
  set.mask = in.take<FlowKey>();
  return set;
}

Action random_action(FuzzInput& in, int depth) {
  switch (in.take<uint8_t>() % 15) {
    case 0:
      return OutputAction{in.take<uint8_t>() % 10u};
    case 1:
      return random_set(in);
    case 2:
      return PushVlanAction{in.take<Be16>(), in.take<Be16>()};
    case 3:
      return PopVlanAction{};
    case 4:
      return PushMplsAction{in.take<Be32>(), static_cast<Be16>(in.take<uint8_t>() & 1 ? 0x4788 : 0x4888)};
    case 5:
      return PopMplsAction{in.take<Be16>()};
    case 6:
      return RecircAction{in.take<uint32_t>()};
    case 7:
      return HashAction{in.take<uint8_t>() % 3u, in.take<uint32_t>()};
    case 8:
      return TruncAction{in.take<uint16_t>()};
    case 9: {
      UserspaceAction upcall;
      upcall.has_egress_tun_port = true;
      upcall.egress_tun_port = 9;
      upcall.actions = true;
      return upcall;
    }
    case 10:
      return DropAction{in.take<uint8_t>() % 2u};
    default:
      break;
  }
  ActionList nested;
  if (depth < 3) {
    for (int n = in.take<uint8_t>() % 4; n > 0; --n) nested.push_back(random_action(in, depth + 1));
  }
  switch (in.take<uint8_t>() % 3) {
    case 0:
      return SampleAction{in.take<uint32_t>(), nested};
    case 1:
      return CloneAction{nested};
    default:
      return CheckPktLenAction{in.take<uint16_t>(), nested, nested};
  }
}

}  // namespace
}  // namespace flowlift

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace flowlift;
  FuzzInput in(data, size);
  ActionList actions;
  for (int n = in.take<uint8_t>() % 6; n > 0; --n) actions.push_back(random_action(in, 0));
  FlowKey key = in.take<FlowKey>();
  const uint16_t offsets[3] = {in.take<uint16_t>(), in.take<uint16_t>(), in.take<uint16_t>()};
  Packet packet(in.rest());
  // Mostly offsets inside the frame, sometimes anywhere.
  const size_t span = packet.size() + 1;
  packet.l2_5_ofs = offsets[0] & 1 ? offsets[0] : static_cast<uint16_t>(offsets[0] % span);
  packet.l3_ofs = offsets[1] & 1 ? offsets[1] : static_cast<uint16_t>(offsets[1] % span);
  packet.l4_ofs = offsets[2] & 1 ? offsets[2] : static_cast<uint16_t>(offsets[2] % span);
  packet.md.has_tunnel = key.tunnel.flags & 1;
  packet.md.tunnel = key.tunnel;
  FuzzContext context;
  (void)execute_actions(std::move(packet), key, actions, context);
  return 0;
}
