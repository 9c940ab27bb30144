// Lab tests of KernelDpif: run as root inside Debian's distro kernel (the
// lab VM), where the openvswitch module exists. Each test opens its own
// datapath (deleted when the KernelDpif goes) and its own network
// namespaces; Open vSwitch's ovs-dpctl, a tool nobody here wrote, is the
// judge of what the kernel holds.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "kmod/flow_extract.h"
#include "kmod/frame_builder_for_tests.h"
#include "kmod/kernel_dpif.h"
#include "kmod/lab_datapath_for_tests.h"
#include "kmod/netns_test_support.h"
#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_flow.h"
#include "kmod/odp_text_key.h"

namespace flowlift {
namespace {

using testing::FrameBuilder;
using testing::ipv4_address;
using testing::Ipv4Fields;

constexpr EthAddr kPeerMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr EthAddr kOtherMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

std::vector<uint8_t> udp_frame(uint16_t destination_port) {
  Ipv4Fields ip;
  ip.total_length = 20 + 8 + 4;
  ip.protocol = 17;
  ip.src = ipv4_address(10, 0, 0, 1);
  ip.dst = ipv4_address(10, 0, 0, 2);
  FrameBuilder frame;
  frame.ethernet(kOtherMac, kPeerMac, 0x0800)
      .ipv4(ip)
      .udp(1234, destination_port, 12)
      .bytes({'f', 'l', 'o', 'w'});
  return frame.frame();
}

Ufid ufid_of(uint8_t id) { return testing::lab_ufid(id, 0x5a); }

class KernelDpifLab : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = netns_unusable_reason(); !why.empty()) GTEST_SKIP() << why;
    if (run_netns_command("modprobe openvswitch").exit_code != 0) {
      GTEST_SKIP() << "the openvswitch module cannot be loaded here (run this binary in the lab VM)";
    }
    static int counter = 0;
    datapath_name_ = "fltst" + std::to_string(::getpid() % 10000) + "_" + std::to_string(counter++);
    peer_ = std::make_unique<TestNetns>(unique_netns_name("peer"));
    ASSERT_TRUE(peer_->created());
  }
  void TearDown() override {
    dpif_.reset();
    for (const std::string& device : devices_) (void)run_ip("link del " + device);
    peer_.reset();
  }

  void open_dpif(KernelDpifOptions options = {}) {
    auto opened = KernelDpif::open(datapath_name_, options);
    ASSERT_TRUE(opened) << opened.status().message();
    dpif_ = std::move(*opened);
  }
  // A veth pair: `name` stays here (the datapath's side), `name`p goes to the peer namespace.
  void make_veth(const std::string& name) {
    const bool added = testing::add_peer_veth(name, *peer_);
    devices_.push_back(name);
    ASSERT_TRUE(added) << "veth " << name;
  }
  uint32_t add_system_port(const std::string& name) {
    auto added = dpif_->port_add({.name = name, .type = DpifPortType::kSystem});
    EXPECT_TRUE(added) << added.status().message();
    return added ? *added : 0;
  }
  NetnsPacketSocket peer_socket(const std::string& device) {
    auto opened = in_namespace(peer_->name(), [&] { return NetnsPacketSocket(device); });
    EXPECT_TRUE(opened && opened->ok()) << "peer socket on " << device;
    return opened ? std::move(*opened) : NetnsPacketSocket("");
  }
  DpifFlowPut flow_put(uint8_t id, const std::string& match, const std::string& actions) {
    return testing::dpctl_text_put(ufid_of(id), match, actions);
  }
  NetnsCommandOutput dpctl(const std::string& arguments) {
    return run_netns_command("ovs-dpctl " + arguments);
  }

  std::string datapath_name_;
  std::unique_ptr<TestNetns> peer_;
  std::vector<std::string> devices_;
  std::unique_ptr<KernelDpif> dpif_;
};

TEST_F(KernelDpifLab, OpenCreatesTheDatapathWithOurFeaturesAndCloseDeletesIt) {
  open_dpif();
  auto info = dpif_->datapath_info();
  ASSERT_TRUE(info) << info.status().message();
  EXPECT_EQ(info->name, datapath_name_);
  EXPECT_EQ(info->user_features & kKernelDatapathBaseFeatures, kKernelDatapathBaseFeatures);
  // Debian's 6.1 kernel has per-CPU upcall dispatch (Linux 5.14+).
  EXPECT_TRUE(dpif_->per_cpu_dispatch());
  NetnsCommandOutput shown = dpctl("show " + datapath_name_);
  EXPECT_EQ(shown.exit_code, 0) << shown.output;
  EXPECT_NE(shown.output.find(datapath_name_), std::string::npos) << shown.output;
  dpif_.reset();
  EXPECT_NE(dpctl("show " + datapath_name_).exit_code, 0) << "the datapath outlived its KernelDpif";
}

TEST_F(KernelDpifLab, ATakenDatapathNameIsEexistWhenExclusive) {
  open_dpif();
  KernelDpifOptions exclusive;
  exclusive.exclusive = true;
  auto second = KernelDpif::open(datapath_name_, exclusive);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.status().code(), EEXIST);
  EXPECT_NE(second.status().message().find(datapath_name_), std::string::npos) << second.status().message();
  // The refused open left the first datapath alone.
  EXPECT_EQ(dpctl("show " + datapath_name_).exit_code, 0);
}

TEST_F(KernelDpifLab, OpeningAMissingDatapathWithoutCreateIsEnodev) {
  KernelDpifOptions no_create;
  no_create.create = false;
  auto opened = KernelDpif::open(datapath_name_, no_create);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.status().code(), ENODEV) << opened.status().message();
}

TEST_F(KernelDpifLab, NetdevInternalAndVxlanPortsAreListedByOvsDpctl) {
  open_dpif();
  make_veth("flva");
  uint32_t netdev = add_system_port("flva");
  auto internal = dpif_->internal_port_add("flint0");
  ASSERT_TRUE(internal) << internal.status().message();
  devices_.push_back("flint0");
  auto vxlan = dpif_->port_add({.name = "flvx4790", .type = DpifPortType::kVxlan, .vxlan_udp_port = 4790});
  ASSERT_TRUE(vxlan) << vxlan.status().message();
  EXPECT_NE(netdev, 0u);
  EXPECT_NE(*internal, netdev);

  std::vector<DpifPort> ports = dpif_->port_dump();
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(ports[0].name, "flva");
  EXPECT_EQ(ports[0].type, DpifPortType::kSystem);
  EXPECT_EQ(ports[2].name, "flvx4790");
  EXPECT_EQ(ports[2].type, DpifPortType::kVxlan);
  EXPECT_EQ(ports[2].vxlan_udp_port, 4790);

  NetnsCommandOutput shown = dpctl("show " + datapath_name_);
  ASSERT_EQ(shown.exit_code, 0) << shown.output;
  EXPECT_NE(shown.output.find("port " + std::to_string(netdev) + ": flva"), std::string::npos)
      << shown.output;
  EXPECT_NE(shown.output.find("port " + std::to_string(*internal) + ": flint0 (internal)"), std::string::npos)
      << shown.output;
  EXPECT_NE(shown.output.find("flvx4790 (vxlan"), std::string::npos) << shown.output;
  // ovs-dpctl does not print a vport's UDP port; the vxlan device the kernel made does.
  NetnsCommandOutput link = run_netns_command("ip -d link show flvx4790");
  EXPECT_NE(link.output.find("dstport 4790"), std::string::npos) << link.output;
}

TEST_F(KernelDpifLab, AddingTheSamePortTwiceIsEexistAndAMissingDeviceIsEnodev) {
  open_dpif();
  make_veth("flvb");
  add_system_port("flvb");
  auto again = dpif_->port_add({.name = "flvb", .type = DpifPortType::kSystem});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.status().code(), EEXIST) << again.status().message();
  auto missing = dpif_->port_add({.name = "flnosuch", .type = DpifPortType::kSystem});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), ENODEV) << missing.status().message();
}

TEST_F(KernelDpifLab, FlowsArePutReadDumpedAndDeletedByUfid) {
  open_dpif();
  make_veth("flvc");
  make_veth("flvd");
  uint32_t in = add_system_port("flvc");
  uint32_t out = add_system_port("flvd");
  std::string match = "in_port(" + std::to_string(in) +
                      "),eth(),eth_type(0x0800),ipv4(dst=10.0.0.2,proto=17,frag=no),udp(dst=53)";
  DpifFlowPut put = flow_put(1, match, std::to_string(out));
  auto created = dpif_->flow_put(put);
  ASSERT_TRUE(created) << created.status().message();
  EXPECT_EQ(*created, DpifPutOutcome::kCreated);

  auto duplicate = dpif_->flow_put(put);
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.status().code(), EEXIST) << duplicate.status().message();

  auto got = dpif_->flow_get(put.flow.ufid);
  ASSERT_TRUE(got) << got.status().message();
  EXPECT_EQ(got->ufid, put.flow.ufid);
  EXPECT_EQ(got->match, put.flow.match) << format_match(got->match);
  EXPECT_EQ(got->actions, put.flow.actions);

  // Modify: same flow, new actions.
  DpifFlowPut modify = flow_put(1, match, "drop");
  modify.flow.actions.clear();
  modify.modify = true;
  auto modified = dpif_->flow_put(modify);
  ASSERT_TRUE(modified) << modified.status().message();
  EXPECT_EQ(*modified, DpifPutOutcome::kActionsUpdated);

  DpifFlowPut second = flow_put(2, "in_port(" + std::to_string(in) + "),eth(),eth_type(0x0806)", "");
  ASSERT_TRUE(dpif_->flow_put(second));
  auto dumped = dpif_->flow_dump_checked();
  ASSERT_TRUE(dumped) << dumped.status().message();
  ASSERT_EQ(dumped->size(), 2u);
  auto ufids = dpif_->flow_dump_ufids();
  ASSERT_TRUE(ufids) << ufids.status().message();
  EXPECT_EQ(ufids->size(), 2u);
  EXPECT_EQ(dpif_->stats().flows, 2u);

  auto deleted = dpif_->flow_del(put.flow.ufid);
  ASSERT_TRUE(deleted) << deleted.status().message();
  EXPECT_EQ(deleted->ufid, put.flow.ufid);
  EXPECT_TRUE(deleted->actions.empty());
  auto again = dpif_->flow_del(put.flow.ufid);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.status().code(), ENOENT) << again.status().message();
  auto gone = dpif_->flow_get(put.flow.ufid);
  EXPECT_EQ(gone.status().code(), ENOENT);

  DpifFlowPut set_missing = flow_put(3, match, std::to_string(out));
  set_missing.create = false;
  set_missing.modify = true;
  EXPECT_EQ(dpif_->flow_put(set_missing).status().code(), ENOENT);

  ASSERT_TRUE(dpif_->flow_flush());
  EXPECT_TRUE(dpif_->flow_dump().empty());
}

TEST_F(KernelDpifLab, OvsDpctlDumpFlowsPrintsOurMegaflowsAsWeFormatThem) {
  open_dpif();
  make_veth("flve");
  make_veth("flvf");
  uint32_t in = add_system_port("flve");
  uint32_t out = add_system_port("flvf");
  std::vector<std::string> matches = {
      "in_port(" + std::to_string(in) +
          "),eth(),eth_type(0x0800),ipv4(dst=10.0.0.2,proto=17,frag=no),udp(dst=53)",
      "in_port(" + std::to_string(in) + "),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0806)",
      // IPv6: the kernel answers with OVS_KEY_ATTR_IPV6_EXTHDRS, which
      // ovs-dpctl 3.1 prints as key32(...) and flowlift keeps for the dump.
      "in_port(" + std::to_string(in) + "),eth(),eth_type(0x86dd),ipv6(dst=fd00::99,frag=no)",
  };
  std::vector<std::string> actions = {"set(ipv4(ttl=9))," + std::to_string(out),
                                      "push_vlan(vid=10,pcp=0)," + std::to_string(out), std::to_string(out)};
  for (size_t i = 0; i < matches.size(); ++i) {
    auto put = dpif_->flow_put(flow_put(static_cast<uint8_t>(i + 1), matches[i], actions[i]));
    ASSERT_TRUE(put) << matches[i] << ": " << put.status().message();
  }
  NetnsCommandOutput dumped = dpctl("dump-flows " + datapath_name_);
  ASSERT_EQ(dumped.exit_code, 0) << dumped.output;
  // Ours, formatted by flowlift's own ovs-dpctl text: every line must be one of ovs-dpctl's.
  std::vector<std::string> ours;
  for (const Megaflow& flow : dpif_->flow_dump()) {
    Megaflow without_ufid = flow;
    without_ufid.ufid = Ufid{};
    ours.push_back(format_dumped_flow(without_ufid, monotonic_ms()));
  }
  ASSERT_EQ(ours.size(), 3u);
  std::vector<std::string> theirs;
  size_t start = 0;
  while (start < dumped.output.size()) {
    size_t end = dumped.output.find('\n', start);
    if (end == std::string::npos) end = dumped.output.size();
    if (end > start) theirs.push_back(dumped.output.substr(start, end - start));
    start = end + 1;
  }
  std::sort(ours.begin(), ours.end());
  std::sort(theirs.begin(), theirs.end());
  EXPECT_EQ(ours, theirs) << "ovs-dpctl dump-flows:\n" << dumped.output;
}

TEST_F(KernelDpifLab, APacketWithNoFlowIsAMissUpcallNamingItsPort) {
  open_dpif();
  make_veth("flvg");
  uint32_t port = add_system_port("flvg");
  NetnsPacketSocket sender = peer_socket("flvgp");
  std::vector<uint8_t> frame = udp_frame(7777);
  ASSERT_TRUE(sender.send(frame));
  std::optional<DpifUpcall> found;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!found && std::chrono::steady_clock::now() < deadline) {
    dpif_->wait_for_upcalls(std::chrono::milliseconds(100));
    std::vector<DpifUpcall> upcalls;
    dpif_->recv_upcalls(64, upcalls);
    for (DpifUpcall& upcall : upcalls) {
      if (upcall.packet.size() == frame.size() &&
          std::equal(frame.begin(), frame.end(), upcall.packet.bytes().begin())) {
        found = std::move(upcall);
      }
    }
  }
  ASSERT_TRUE(found) << "no miss upcall for the UDP frame";
  EXPECT_EQ(found->kind, DpifUpcall::Kind::kMiss);
  EXPECT_EQ(found->key.in_port, port);
  Packet copy(frame);
  FlowKey expected = flow_key_extract(copy);
  EXPECT_EQ(found->key.tp_dst, expected.tp_dst);
  EXPECT_EQ(found->key.ipv4_dst, expected.ipv4_dst);
  EXPECT_GE(dpif_->stats().missed, 1u);
}

TEST_F(KernelDpifLab, AnExecutedPacketLeavesThroughItsOutputPort) {
  open_dpif();
  make_veth("flvh");
  make_veth("flvi");
  uint32_t in = add_system_port("flvh");
  uint32_t out = add_system_port("flvi");
  NetnsPacketSocket receiver = peer_socket("flvip");
  std::vector<uint8_t> frame = udp_frame(8888);
  Packet packet(frame);
  FlowKey key = flow_key_extract(packet);
  key.in_port = in;
  ASSERT_TRUE(dpif_->execute(Packet(frame), key, {OutputAction{out}}));
  auto arrived =
      receiver.receive_matching([&](const std::vector<uint8_t>& got) { return got == frame; }, 3000);
  EXPECT_TRUE(arrived) << "the executed frame never reached flvip";
}

TEST_F(KernelDpifLab, AFlowForwardsBetweenPortsAndCountsThePackets) {
  open_dpif();
  make_veth("flvj");
  make_veth("flvk");
  uint32_t in = add_system_port("flvj");
  uint32_t out = add_system_port("flvk");
  std::string match = "in_port(" + std::to_string(in) +
                      "),eth(),eth_type(0x0800),ipv4(dst=10.0.0.2,proto=17,frag=no),udp(dst=9999)";
  ASSERT_TRUE(dpif_->flow_put(flow_put(7, match, std::to_string(out))));
  NetnsPacketSocket sender = peer_socket("flvjp");
  NetnsPacketSocket receiver = peer_socket("flvkp");
  std::vector<uint8_t> frame = udp_frame(9999);
  ASSERT_TRUE(sender.send(frame));
  EXPECT_TRUE(receiver.receive_matching([&](const std::vector<uint8_t>& got) { return got == frame; }, 3000));
  auto flow = dpif_->flow_get(ufid_of(7));
  ASSERT_TRUE(flow) << flow.status().message();
  EXPECT_EQ(flow->stats.packets, 1u);
  EXPECT_EQ(flow->stats.bytes, frame.size());
  EXPECT_NE(flow->stats.used_ms, 0u);
  EXPECT_LE(flow->stats.used_ms, monotonic_ms());
  EXPECT_GE(dpif_->stats().hit, 1u);
}

TEST_F(KernelDpifLab, APortWhoseDeviceIsRemovedStaysListedWithAnErrorUntilDeleted) {
  open_dpif();
  make_veth("flvl");
  uint32_t port = add_system_port("flvl");
  ASSERT_TRUE(run_ip("link del flvl"));
  devices_.clear();
  std::vector<DpifPort> ports = dpif_->port_dump();
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0].number, port);
  EXPECT_EQ(ports[0].error, "device flvl was removed");
  EXPECT_TRUE(dpif_->port_del(port));
  EXPECT_TRUE(dpif_->port_dump().empty());
  EXPECT_EQ(dpif_->port_del(port).code(), ENOENT);
}

// The upcalls of `dpif` until `enough` says so or `timeout` passes.
template <typename Enough>
std::vector<DpifUpcall> collect_upcalls(KernelDpif& dpif, Enough enough,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  std::vector<DpifUpcall> all;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!enough(all) && std::chrono::steady_clock::now() < deadline) {
    dpif.wait_for_upcalls(std::chrono::milliseconds(100));
    dpif.recv_upcalls(64, all);
  }
  return all;
}

TEST_F(KernelDpifLab, PerCpuDispatchTakesUserspaceActionsWithThePidLeftZeroAndExecutesThem) {
  open_dpif();
  ASSERT_TRUE(dpif_->per_cpu_dispatch());
  make_veth("flvc");
  uint32_t port = add_system_port("flvc");
  // The kernel refuses a userspace action whose pid is 0 even when it
  // ignores the pid (per-CPU dispatch): the send to a controller must work.
  DpifFlowPut to_userspace = flow_put(
      10, "in_port(" + std::to_string(port) + "),eth(),eth_type(0x0800),ipv4(dst=10.0.0.2,proto=17,frag=no)",
      "userspace(pid=0,userdata(0a0b0c0d))");
  Result<DpifPutOutcome> put = dpif_->flow_put(to_userspace);
  ASSERT_TRUE(put) << put.status().message();
  Result<Megaflow> read_back = dpif_->flow_get(ufid_of(10));
  ASSERT_TRUE(read_back) << read_back.status().message();
  EXPECT_EQ(read_back->actions, to_userspace.flow.actions) << "the pid reads back as the 0 we put";
  const std::vector<uint8_t> frame = udp_frame(5000);
  Packet parsed(frame);
  FlowKey key = flow_key_extract(parsed);
  key.in_port = port;
  Status executed = dpif_->execute(Packet(frame), key, to_userspace.flow.actions);
  EXPECT_TRUE(executed) << executed.message();
}

TEST_F(KernelDpifLab, PerVportDispatchDeliversMissesAndUserspaceActionUpcalls) {
  KernelDpifOptions options;
  options.per_cpu_dispatch = false;
  open_dpif(options);
  EXPECT_FALSE(dpif_->per_cpu_dispatch());
  make_veth("flvm");
  uint32_t port = add_system_port("flvm");
  auto vports = dpif_->vport_dump();
  ASSERT_TRUE(vports) << vports.status().message();
  // Our port lists every upcall socket; the local port has the datapath's OVS_DP_ATTR_UPCALL_PID.
  for (const KernelVportInfo& vport : *vports) {
    if (vport.number == 0) {
      EXPECT_EQ(vport.upcall_pids, std::vector<uint32_t>{dpif_->upcall_socket_pids().front()});
    } else {
      EXPECT_EQ(vport.upcall_pids, dpif_->upcall_socket_pids());
    }
  }

  // UDP port 5000 goes to userspace through an action whose pid we leave 0.
  std::string match = "in_port(" + std::to_string(port) +
                      "),eth(),eth_type(0x0800),ipv4(dst=10.0.0.2,proto=17,frag=no),udp(dst=5000)";
  DpifFlowPut to_userspace = flow_put(9, match, "userspace(pid=0,userdata(0a0b0c0d))");
  ASSERT_TRUE(dpif_->flow_put(to_userspace));
  // We read back the pid 0 we put (the kernel holds our socket's, see below).
  auto read_back = dpif_->flow_get(ufid_of(9));
  ASSERT_TRUE(read_back) << read_back.status().message();
  EXPECT_EQ(read_back->actions, to_userspace.flow.actions);
  NetnsPacketSocket sender = peer_socket("flvmp");
  ASSERT_TRUE(sender.send(udp_frame(5000)));
  ASSERT_TRUE(sender.send(udp_frame(5001)));
  auto upcalls = collect_upcalls(*dpif_, [](const std::vector<DpifUpcall>& got) {
    bool miss = false, action = false;
    for (const DpifUpcall& upcall : got) {
      miss |= upcall.kind == DpifUpcall::Kind::kMiss && upcall.key.tp_dst == htons(5001);
      action |= upcall.kind == DpifUpcall::Kind::kAction && upcall.key.tp_dst == htons(5000);
    }
    return miss && action;
  });
  const DpifUpcall* action = nullptr;
  bool miss = false;
  for (const DpifUpcall& upcall : upcalls) {
    if (upcall.kind == DpifUpcall::Kind::kAction) action = &upcall;
    miss |= upcall.kind == DpifUpcall::Kind::kMiss && upcall.key.tp_dst == htons(5001);
  }
  EXPECT_TRUE(miss) << "no miss upcall for UDP port 5001";
  ASSERT_NE(action, nullptr) << "no userspace-action upcall for UDP port 5000";
  ASSERT_TRUE(action->action);
  EXPECT_EQ(action->action->userdata, (std::vector<uint8_t>{0x0a, 0x0b, 0x0c, 0x0d}));
  EXPECT_EQ(action->key.in_port, port);

  // Last, because opening the datapath makes ovs-dpctl (OVS 3.1) set its own
  // user features, per-CPU dispatch included, which silences per-vport upcalls.
  NetnsCommandOutput dumped = dpctl("dump-flows " + datapath_name_);
  EXPECT_NE(dumped.output.find("userspace(pid=" + std::to_string(dpif_->upcall_socket_pids().front())),
            std::string::npos)
      << dumped.output;
  auto after = dpif_->datapath_info();
  ASSERT_TRUE(after);
  // Seen with Debian's OVS 3.1: 0x9 (OVS_DP_F_UNALIGNED | OVS_DP_F_DISPATCH_UPCALL_PER_CPU).
  RecordProperty("user_features_after_ovs_dpctl", static_cast<int>(after->user_features));
}

TEST_F(KernelDpifLab, AnUpcallFloodIsBoundedAndAQuietPortIsStillHeard) {
  KernelDpifOptions options;
  options.upcall_queue_limit = 16;
  options.upcall_socket_buffer = 64 * 1024;
  open_dpif(options);
  make_veth("flvn");
  make_veth("flvo");
  uint32_t flooding = add_system_port("flvn");
  uint32_t quiet = add_system_port("flvo");
  NetnsPacketSocket flooder = peer_socket("flvnp");
  NetnsPacketSocket single = peer_socket("flvop");
  // Nobody reads upcalls while 2000 misses arrive: the queue of the
  // flooding port fills, the kernel's socket buffer fills, both are counted.
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(flooder.send(udp_frame(static_cast<uint16_t>(10000 + i))));
  // The quiet port's miss comes once the receive thread has emptied the
  // socket: every port shares that socket (per-CPU dispatch), so a miss
  // arriving while the flood still fills it would be dropped by the kernel
  // whatever our queues do. What is proved here is that, once received, it
  // is not stuck behind the flooding port's full queue.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ASSERT_TRUE(single.send(udp_frame(6000)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the receive thread take it
  std::vector<DpifUpcall> first;
  dpif_->recv_upcalls(64, first);
  size_t from_flooding = 0;
  bool quiet_heard = false;
  for (const DpifUpcall& upcall : first) {
    from_flooding += upcall.key.in_port == flooding;
    quiet_heard |= upcall.key.in_port == quiet && upcall.key.tp_dst == htons(6000);
  }
  EXPECT_LE(from_flooding, options.upcall_queue_limit) << "the flooding port's queue is not bounded";
  EXPECT_TRUE(quiet_heard) << "the quiet port's upcall was lost behind the flood";
  DpifStats stats = dpif_->stats();
  EXPECT_GT(stats.lost, 0u) << "2000 unread misses and nothing counted as lost";
  // Not wedged: a new miss after the flood is still delivered.
  std::vector<DpifUpcall> drained;
  while (dpif_->recv_upcalls(64, drained) > 0) drained.clear();
  ASSERT_TRUE(single.send(udp_frame(6001)));
  auto later = collect_upcalls(*dpif_, [](const std::vector<DpifUpcall>& got) {
    for (const DpifUpcall& upcall : got)
      if (upcall.key.tp_dst == htons(6001)) return true;
    return false;
  });
  bool heard = false;
  for (const DpifUpcall& upcall : later) heard |= upcall.key.tp_dst == htons(6001);
  EXPECT_TRUE(heard) << "no upcall after the flood";
}

// VXLAN through the kernel's own vxlan vport, with a Linux vxlan device in
// the peer namespace as the remote VTEP (underlay 192.168.77.0/24 on a veth
// that belongs to no datapath: the host's stack carries the UDP).
TEST_F(KernelDpifLab, VxlanPacketsArriveWithTheirTunnelKeyAndExecutedOnesAreEncapsulated) {
  open_dpif();
  ASSERT_TRUE(peer_->disable_ipv6());  // only the ping crosses the tunnel
  ASSERT_TRUE(run_ip("link add flvu type veth peer name underlay netns " + peer_->name()));
  devices_.push_back("flvu");
  ASSERT_TRUE(run_ip("addr add 192.168.77.1/24 dev flvu") && run_ip("link set flvu up"));
  peer_->ip("addr add 192.168.77.2/24 dev underlay");
  peer_->ip("link set underlay up");
  peer_->ip("link add vtep type vxlan id 42 remote 192.168.77.1 local 192.168.77.2 dstport 4789");
  peer_->ip("link set vtep address 02:00:00:00:00:01");
  peer_->ip("addr add 10.10.0.2/24 dev vtep");
  peer_->ip("link set vtep up");
  peer_->ip("neigh add 10.10.0.1 lladdr 02:00:00:00:00:02 dev vtep");
  auto vxlan = dpif_->port_add({.name = "flvxsys", .type = DpifPortType::kVxlan, .vxlan_udp_port = 4789});
  ASSERT_TRUE(vxlan) << vxlan.status().message();
  devices_.push_back("flvxsys");

  // Into the datapath: a miss whose key carries the tunnel.
  NetnsCommandOutput ping = peer_->exec("ping -c 1 -W 1 10.10.0.1");
  (void)ping;  // nobody answers; the request is what we look for
  auto upcalls = collect_upcalls(*dpif_, [&](const std::vector<DpifUpcall>& got) {
    for (const DpifUpcall& upcall : got)
      if (upcall.key.in_port == *vxlan) return true;
    return false;
  });
  const DpifUpcall* tunnelled = nullptr;
  for (const DpifUpcall& upcall : upcalls)
    if (upcall.key.in_port == *vxlan) tunnelled = &upcall;
  ASSERT_NE(tunnelled, nullptr) << "no upcall from the VXLAN port";
  EXPECT_EQ(tunnelled->key.tunnel.tun_id, htobe64(42));
  EXPECT_EQ(tunnelled->key.tunnel.ipv4_src, ipv4_address(192, 168, 77, 2));
  EXPECT_EQ(tunnelled->key.tunnel.ipv4_dst, ipv4_address(192, 168, 77, 1));
  EXPECT_EQ(tunnelled->key.tunnel.tp_dst, htons(4789));
  EXPECT_EQ(tunnelled->key.ipv4_dst, ipv4_address(10, 10, 0, 1));
  EXPECT_TRUE(tunnelled->packet.md.has_tunnel);

  // Out of the datapath: set(tunnel) + output to the VXLAN port reaches the
  // peer's vxlan device as the inner frame.
  NetnsPacketSocket inner = peer_socket("vtep");
  std::vector<uint8_t> frame = udp_frame(4242);
  // To vtep's MAC, from another one (Linux's vxlan drops frames bearing its own source MAC).
  const uint8_t addresses[12] = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x03};
  std::copy(std::begin(addresses), std::end(addresses), frame.begin());
  auto actions = parse_actions(
      "set(tunnel(tun_id=0x2a,src=192.168.77.1,dst=192.168.77.2,ttl=64,tp_dst=4789,"
      "flags(df|key)))," +
      std::to_string(*vxlan));
  ASSERT_TRUE(actions) << actions.status().message();
  Packet packet(frame);
  FlowKey key = flow_key_extract(packet);
  key.in_port = 0;  // from the datapath's local port
  ASSERT_TRUE(dpif_->execute(Packet(frame), key, *actions));
  auto arrived = inner.receive_matching([&](const std::vector<uint8_t>& got) { return got == frame; }, 3000);
  EXPECT_TRUE(arrived) << "the encapsulated frame never came out of the peer's vxlan device\n"
                       << peer_->ip("-s link show vtep") << peer_->ip("-s link show underlay")
                       << run_netns_command("ip -s link show flvu").output
                       << run_netns_command("ovs-dpctl show -s " + datapath_name_).output;
}

TEST_F(KernelDpifLab, KernelRefusalsCarryTheKernelsExtendedAckText) {
  auto socket = GenlSocket::open();
  ASSERT_TRUE(socket) << socket.status().message();
  auto families = resolve_ovs_genl_families();
  ASSERT_TRUE(families) << families.status().message();
  // OVS_DP_ATTR_NAME is NLA_NUL_STRING of at most IFNAMSIZ - 1 bytes: the
  // genetlink policy refuses a longer one and says so in the extended ack.
  auto reply = (*socket)->transact(families->datapath, OVS_DP_CMD_GET, OVS_DATAPATH_VERSION, 0,
                                   build_datapath_by_name("a-name-longer-than-ifnamsiz"));
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.status().code(), EINVAL);
  EXPECT_NE(reply.status().message().find("kernel: "), std::string::npos) << reply.status().message();
}

// Runs last among the tests here that need the module: it unloads it.
TEST_F(KernelDpifLab, TheModuleMissingIsNamedInTheError) {
  if (run_netns_command("modprobe -r vport_vxlan openvswitch").exit_code != 0) {
    GTEST_SKIP() << "the openvswitch module is in use and cannot be unloaded";
  }
  // Stop the kernel from loading it again on our family lookup.
  std::string saved = run_netns_command("cat /proc/sys/kernel/modprobe").output;
  while (!saved.empty() && saved.back() == '\n') saved.pop_back();
  ASSERT_EQ(run_netns_command("echo /bin/false > /proc/sys/kernel/modprobe").exit_code, 0);
  auto opened = KernelDpif::open(datapath_name_);
  (void)run_netns_command("echo " + saved + " > /proc/sys/kernel/modprobe");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.status().code(), ENOENT);
  EXPECT_EQ(opened.status().message().rfind(
                "the openvswitch kernel module is not loaded (modprobe openvswitch)", 0),
            0u)
      << opened.status().message();
  EXPECT_EQ(run_netns_command("modprobe openvswitch").exit_code, 0);
}

}  // namespace
}  // namespace flowlift
