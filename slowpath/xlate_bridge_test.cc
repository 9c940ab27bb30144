// XlateBridge: ports, the VXLAN options text, and which OpenFlow port a
// received packet belongs to (OVS's tnl_port_receive() order for tunnels).
#include "slowpath/xlate_bridge.h"

#include <arpa/inet.h>
#include <endian.h>
#include <gtest/gtest.h>

#include "kmod/odp_text_fields.h"

namespace flowlift {
namespace {

XlateVxlanOptions vxlan(const std::string& text) {
  Result<XlateVxlanOptions> o = parse_vxlan_options(text);
  EXPECT_TRUE(o) << text << ": " << o.status().message();
  return o ? *o : XlateVxlanOptions{};
}

XlatePort vxlan_port(std::string name, uint32_t ofp, const std::string& options,
                     uint32_t datapath_port = 4789) {
  return XlatePort{std::move(name), ofp, datapath_port, XlatePortType::kVxlan, vxlan(options)};
}

OfFlow tunnel_packet(const std::string& src, const std::string& dst, uint64_t vni) {
  OfFlow f{};
  f.tun_src = *odp_text::parse_ipv4(src);
  f.tun_dst = *odp_text::parse_ipv4(dst);
  f.tun_id = htobe64(vni);
  f.tun_flags = kTunnelKey;
  return f;
}

TEST(XlateVxlanOptions, ReadsEveryOption) {
  XlateVxlanOptions o = vxlan(
      "remote_ip=192.0.2.2,local_ip=192.0.2.1,key=0x1388,dst_port=4790,ttl=10,tos=0x20,"
      "df_default=false,csum=true");
  EXPECT_EQ(o.remote_ip, htonl(0xc0000202));
  EXPECT_EQ(o.local_ip, htonl(0xc0000201));
  EXPECT_EQ(o.key_mode, XlateTunnelKeyMode::kFixed);
  EXPECT_EQ(o.key, 5000u);
  EXPECT_EQ(o.dst_port, 4790);
  EXPECT_EQ(o.ttl, 10);
  EXPECT_EQ(o.tos, 0x20);
  EXPECT_FALSE(o.dont_fragment);
  EXPECT_TRUE(o.csum);
}

TEST(XlateVxlanOptions, DefaultsAreOvss) {
  XlateVxlanOptions o = vxlan("remote_ip=192.0.2.2");
  EXPECT_EQ(o.key_mode, XlateTunnelKeyMode::kNone);
  EXPECT_EQ(o.dst_port, 4789);
  EXPECT_EQ(o.ttl, 64);
  EXPECT_TRUE(o.dont_fragment);
  EXPECT_FALSE(o.csum);
  XlateVxlanOptions flow = vxlan("remote_ip=flow,local_ip=flow,key=flow");
  EXPECT_TRUE(flow.remote_ip_from_flow);
  EXPECT_TRUE(flow.local_ip_from_flow);
  EXPECT_EQ(flow.key_mode, XlateTunnelKeyMode::kFlow);
}

TEST(XlateVxlanOptions, ErrorsNameTheOption) {
  EXPECT_EQ(parse_vxlan_options("key=flow").status().message(),
            "VXLAN options need remote_ip (an address or \"flow\")");
  EXPECT_EQ(parse_vxlan_options("remote_ip=300.1.1.1").status().message(),
            "option remote_ip=300.1.1.1: expected an IPv4 address or \"flow\"");
  EXPECT_EQ(parse_vxlan_options("remote_ip=flow,key=0x1000000").status().message(),
            "option key=0x1000000: a VXLAN key (VNI) has 24 bits");
  EXPECT_EQ(parse_vxlan_options("remote_ip=flow,colour=blue").status().message(),
            "option colour=blue: unknown VXLAN option \"colour\"");
  EXPECT_EQ(parse_vxlan_options("remote_ip=flow,csum=yes").status().message(),
            "option csum=yes: expected true or false");
  EXPECT_FALSE(parse_vxlan_options("remote_ip=flow,tos=1"));
  EXPECT_FALSE(parse_vxlan_options("remote_ip=flow,dst_port=0"));
}

TEST(XlateBridge, FindsPortsByNumberAndNameAndGivesTheirNames) {
  XlateBridge b("br0");
  ASSERT_TRUE(b.add_port({"p2", 2, 12, XlatePortType::kDummy, std::nullopt}));
  ASSERT_TRUE(b.add_port({"p1", 1, 11, XlatePortType::kSystem, std::nullopt}));
  ASSERT_TRUE(b.add_port({"br0", kOfPortLocal, 100, XlatePortType::kInternal, std::nullopt}));
  ASSERT_EQ(b.ports().size(), 3u);
  EXPECT_EQ(b.ports()[0].name, "p1");  // OpenFlow number order
  EXPECT_EQ(b.find_port(2)->datapath_port, 12u);
  EXPECT_EQ(b.find_port_by_name("br0")->ofp_port, kOfPortLocal);
  EXPECT_EQ(b.port_names().find_port("p1"), 1u);
  EXPECT_EQ(b.find_port(3), nullptr);
  ASSERT_TRUE(b.remove_port(1));
  EXPECT_FALSE(b.port_names().find_port("p1"));
  EXPECT_EQ(b.remove_port(1).code(), ENOENT);
}

TEST(XlateBridge, RefusesConflictingPorts) {
  XlateBridge b("br0");
  ASSERT_TRUE(b.add_port({"p1", 1, 11, XlatePortType::kDummy, std::nullopt}));
  ASSERT_TRUE(b.add_port(vxlan_port("vx1", 10, "remote_ip=192.0.2.2,key=flow")));
  EXPECT_EQ(b.add_port({"p1", 2, 12, XlatePortType::kDummy, std::nullopt}).code(), EEXIST);
  EXPECT_EQ(b.add_port({"p9", 1, 19, XlatePortType::kDummy, std::nullopt}).code(), EEXIST);
  EXPECT_EQ(b.add_port({"p9", 9, 11, XlatePortType::kDummy, std::nullopt}).code(), EEXIST);
  EXPECT_EQ(b.add_port({"p9", 9, 4789, XlatePortType::kDummy, std::nullopt}).code(), EEXIST);
  EXPECT_EQ(b.add_port({"p9", 0, 19, XlatePortType::kDummy, std::nullopt}).code(), EINVAL);
  EXPECT_EQ(b.add_port({"p9", kOfPortFlood, 19, XlatePortType::kDummy, std::nullopt}).code(), EINVAL);
  EXPECT_EQ(b.add_port({"p9", 9, 19, XlatePortType::kVxlan, std::nullopt}).code(), EINVAL);
  EXPECT_EQ(b.add_port({"p9", 9, 19, XlatePortType::kDummy, vxlan("remote_ip=flow")}).code(), EINVAL);
  // Same tunnel datapath port and the same receive match as vx1.
  Status same = b.add_port(vxlan_port("vx9", 19, "remote_ip=192.0.2.2,key=flow,ttl=9"));
  EXPECT_EQ(same.code(), EEXIST);
  EXPECT_EQ(same.message(), "port vx9 (OpenFlow 19): receives the same tunnel packets as port vx1");
  // A different key or UDP port makes it another tunnel.
  EXPECT_TRUE(b.add_port(vxlan_port("vx2", 11, "remote_ip=192.0.2.2,key=7")));
  EXPECT_TRUE(b.add_port(vxlan_port("vx3", 12, "remote_ip=192.0.2.2,key=flow,dst_port=4790", 4790)));
}

XlateBridge tunnel_bridge() {
  XlateBridge b("br0");
  EXPECT_TRUE(b.add_port({"p1", 1, 1, XlatePortType::kDummy, std::nullopt}));
  EXPECT_TRUE(b.add_port(vxlan_port("vx1", 10, "remote_ip=192.0.2.2,key=flow")));
  EXPECT_TRUE(b.add_port(vxlan_port("vx2", 11, "remote_ip=192.0.2.3,key=5000")));
  return b;
}

TEST(XlateBridge, ReceivePortMapsTheOracleTunnels) {
  XlateBridge b = tunnel_bridge();
  EXPECT_EQ(*b.receive_port(1, OfFlow{}), 1u);
  EXPECT_EQ(*b.receive_port(4789, tunnel_packet("192.0.2.2", "192.0.2.1", 0x64)), 10u);
  EXPECT_EQ(*b.receive_port(4789, tunnel_packet("192.0.2.2", "192.0.2.1", 0x99)), 10u);  // key=flow: any VNI
  EXPECT_EQ(*b.receive_port(4789, tunnel_packet("192.0.2.3", "192.0.2.1", 5000)), 11u);
}

TEST(XlateBridge, ReceivePortRefusesWhatNoPortAccepts) {
  XlateBridge b = tunnel_bridge();
  Result<uint32_t> wrong_vni = b.receive_port(4789, tunnel_packet("192.0.2.3", "192.0.2.1", 5001));
  EXPECT_EQ(wrong_vni.status().code(), ENODEV);
  EXPECT_EQ(
      wrong_vni.status().message(),
      "bridge br0: no tunnel port on datapath port 4789 receives VNI 0x1389 from 192.0.2.3 to 192.0.2.1");
  EXPECT_FALSE(b.receive_port(4789, tunnel_packet("192.0.2.9", "192.0.2.1", 0x64)));
  EXPECT_FALSE(b.receive_port(4790, tunnel_packet("192.0.2.2", "192.0.2.1", 0x64)));
  EXPECT_EQ(b.receive_port(7, OfFlow{}).status().message(), "bridge br0: no port has datapath number 7");
}

TEST(XlateBridge, ReceivePreferAFixedKeyToKeyFlow) {
  // tnl_find() tries in_key_flow=false first.
  XlateBridge b = tunnel_bridge();
  ASSERT_TRUE(b.add_port(vxlan_port("vx3", 12, "remote_ip=192.0.2.3,key=flow")));
  EXPECT_EQ(*b.receive_port(4789, tunnel_packet("192.0.2.3", "192.0.2.1", 5000)), 11u);
  EXPECT_EQ(*b.receive_port(4789, tunnel_packet("192.0.2.3", "192.0.2.1", 7)), 12u);
}

TEST(XlateBridge, ReceivePrefersAConfiguredLocalIpThenAnyThenFlow) {
  XlateBridge b("br0");
  ASSERT_TRUE(b.add_port(vxlan_port("any", 1, "remote_ip=192.0.2.2,key=flow")));
  ASSERT_TRUE(b.add_port(vxlan_port("local", 2, "remote_ip=192.0.2.2,local_ip=192.0.2.1,key=flow")));
  ASSERT_TRUE(b.add_port(vxlan_port("flowsrc", 3, "remote_ip=192.0.2.2,local_ip=flow,key=flow")));
  ASSERT_TRUE(b.add_port(vxlan_port("remote_flow", 4, "remote_ip=flow,key=flow")));
  EXPECT_EQ(*b.receive_port(4789, tunnel_packet("192.0.2.2", "192.0.2.1", 1)), 2u);
  EXPECT_EQ(*b.receive_port(4789, tunnel_packet("192.0.2.2", "192.0.2.77", 1)), 1u);
  EXPECT_EQ(*b.receive_port(4789, tunnel_packet("198.51.100.1", "192.0.2.1", 1)), 4u);
  ASSERT_TRUE(b.remove_port(1));
  EXPECT_EQ(*b.receive_port(4789, tunnel_packet("192.0.2.2", "192.0.2.77", 1)), 3u);
}

TEST(XlateBridge, TunnelPortName) { EXPECT_EQ(vxlan_tunnel_port_name(4789), "vxlan_sys_4789"); }

}  // namespace
}  // namespace flowlift
