// The peer check of issue 6 (section 4): Open vSwitch 3.1 with
// other_config:hw-offload=true and tc-policy=skip_hw on Linux's openvswitch
// module, and flowliftd --datapath kernel --offload tc --tc-policy skip_hw,
// each given the same OpenFlow table on the same topology (a switch
// namespace whose ports p1..p3 are veths to hosts h1..h3) and the same
// frames from h1. Both must deliver the same frames, byte for byte, to the
// same hosts; and per megaflow the test records where each put it (OVS:
// `ovs-appctl dpctl/dump-flows -m type=tc|ovs`; flowlift: `dump-megaflows`
// placement and reason), beside `tc -j -s filter show` of p1, and prints the
// table. The README's "Open vSwitch as the peer" states what it showed.
//
// Why fresh namespaces per switch: Open vSwitch leaves its kernel datapath
// and its TC filters behind when ovs-vswitchd stops (unless told `exit
// --cleanup`); deleting the switch namespace removes both for certain, so
// nothing of one switch can forward the other's traffic.
//
// Why megaflows are told apart by their packet counts: the two switches
// write a megaflow's match differently (wildcarding, field order), but each
// traffic class is sent a different number of times, and in both switches
// the first packet of a class goes up as an upcall (executed, not counted on
// the megaflow) and the rest are sent only once every class has its
// megaflow, so class k's megaflow counts rounds(k) - 1 packets.
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "bench/ovs_sandbox.h"
#include "kmod/frame_builder_for_tests.h"
#include "kmod/lab_test_support.h"
#include "kmod/netns_test_support.h"
#include "slowpath/control_client.h"
#include "tests/host/spawned_process_for_tests.h"

namespace flowlift {
namespace {

using nlohmann::json;
using PeerFrame = std::vector<uint8_t>;
using testing::FrameBuilder;
using testing::ipv4_address;
using testing::Ipv4Fields;

constexpr EthAddr kPeerHostMac{0x02, 0, 0, 0, 0, 0x01};
constexpr EthAddr kPeerGatewayMac{0x02, 0, 0, 0, 0, 0xfe};

// The flow table both switches get (ovs-ofctl syntax; OpenFlow 1.0 semantics
// for mod_vlan_vid: push a tag when the frame has none).
const std::vector<std::string> kPeerFlowTable = {
    "priority=30,udp,in_port=p1,tp_dst=9999,actions=drop",
    "priority=25,udp,in_port=p1,tp_dst=7000,actions=output:p3",
    "priority=25,udp,in_port=p1,tp_dst=6000,actions=controller",
    "priority=20,ip,in_port=p1,nw_dst=10.1.0.0/16,actions=output:p2",
    "priority=20,ip,in_port=p1,nw_dst=10.2.0.0/16,actions=mod_vlan_vid:100,output:p3",
    "priority=20,ip,in_port=p1,nw_dst=10.3.0.0/16,actions=dec_ttl,mod_nw_dst:10.3.0.99,"
    "mod_dl_dst:02:00:00:00:00:99,output:p2",
    "priority=0,actions=drop",
};

// One traffic class: a UDP frame from h1 and what the flow table does to it.
struct PeerTrafficClass {
  std::string name;
  uint8_t dst_second_octet;  // 10.X.0.5
  uint16_t udp_dst;
  int rounds;               // how many times it is sent (distinct per class)
  std::string expected_at;  // "h2", "h3" or "" (dropped)
  // Whether TC flower can do what the megaflow does: everything but the
  // userspace action (a packet to the controller), which neither Linux's
  // act_* nor OVS 3.1's netdev-offload-tc has.
  bool expressible_in_tc = true;
};

const std::vector<PeerTrafficClass> kPeerTraffic = {
    {"l3_prefix_to_p2", 1, 5000, 2, "h2"},         {"vlan_push_to_p3", 2, 5000, 3, "h3"},
    {"ttl_and_address_rewrite", 3, 5000, 4, "h2"}, {"drop_udp_9999", 1, 9999, 5, ""},
    {"udp_port_7000_to_p3", 4, 7000, 6, "h3"},     {"to_controller_userspace", 5, 6000, 7, "", false},
};

PeerFrame peer_udp_frame(const PeerTrafficClass& traffic) {
  FrameBuilder b;
  b.ethernet(kPeerGatewayMac, kPeerHostMac, 0x0800);
  Ipv4Fields ip;
  ip.total_length = 20 + 8 + 16;
  ip.protocol = 17;
  ip.ttl = 64;
  ip.src = ipv4_address(10, 0, 0, 1);
  ip.dst = ipv4_address(10, traffic.dst_second_octet, 0, 5);
  b.ipv4(ip);
  // A zero UDP checksum (allowed over IPv4): the datapath's set and act_csum
  // both leave it zero, so a rewritten frame is the same whichever did it.
  b.be16(4000).be16(traffic.udp_dst).be16(8 + 16).be16(0);
  b.zeros(16);
  PeerFrame frame = b.frame();
  uint32_t sum = 0;
  for (size_t i = 14; i < 34; i += 2) sum += static_cast<uint32_t>(frame[i] << 8 | frame[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  frame[24] = static_cast<uint8_t>((~sum >> 8) & 0xff);
  frame[25] = static_cast<uint8_t>(~sum & 0xff);
  return frame;
}

// An AF_PACKET capture that gives frames as they were on the wire: veth
// receive moves an 802.1Q tag into skb metadata, so the tag is put back from
// PACKET_AUXDATA (kmod's NetnsPacketSocket has no need for that). Only
// frames from h1's address (10.0.0.1, UDP) are kept.
class PeerCaptureSocket {
 public:
  explicit PeerCaptureSocket(const std::string& device) {
    fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    const int on = 1;
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = static_cast<int>(::if_nametoindex(device.c_str()));
    ok_ = fd_ >= 0 && address.sll_ifindex > 0 &&
          ::setsockopt(fd_, SOL_PACKET, PACKET_AUXDATA, &on, sizeof on) == 0 &&
          ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  }
  ~PeerCaptureSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  PeerCaptureSocket(const PeerCaptureSocket&) = delete;
  PeerCaptureSocket& operator=(const PeerCaptureSocket&) = delete;
  bool ok() const { return ok_; }

  // Every kept frame until none arrives for `quiet_ms`.
  std::vector<PeerFrame> drain(int quiet_ms) {
    std::vector<PeerFrame> frames;
    for (;;) {
      pollfd waiting{fd_, POLLIN, 0};
      if (::poll(&waiting, 1, quiet_ms) <= 0) return frames;
      uint8_t buffer[2048];
      alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(tpacket_auxdata))];
      sockaddr_ll from{};
      iovec vector{buffer, sizeof buffer};
      msghdr message{};
      message.msg_name = &from;
      message.msg_namelen = sizeof from;
      message.msg_iov = &vector;
      message.msg_iovlen = 1;
      message.msg_control = control;
      message.msg_controllen = sizeof control;
      ssize_t n = ::recvmsg(fd_, &message, 0);
      if (n < 14 || from.sll_pkttype == PACKET_OUTGOING) continue;
      PeerFrame frame(buffer, buffer + n);
      for (cmsghdr* c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
        tpacket_auxdata aux;
        std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
        if (!(aux.tp_status & TP_STATUS_VLAN_VALID)) continue;
        const uint16_t tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : 0x8100;
        const uint8_t tag[4] = {static_cast<uint8_t>(tpid >> 8), static_cast<uint8_t>(tpid),
                                static_cast<uint8_t>(aux.tp_vlan_tci >> 8),
                                static_cast<uint8_t>(aux.tp_vlan_tci)};
        frame.insert(frame.begin() + 12, tag, tag + 4);
      }
      if (is_from_h1(frame)) frames.push_back(std::move(frame));
    }
  }

 private:
  static bool is_from_h1(const PeerFrame& frame) {
    size_t l3 = 14;
    if (frame[12] == 0x81 && frame[13] == 0x00) l3 = 18;
    if (frame.size() < l3 + 20 || frame[l3 - 2] != 0x08 || frame[l3 - 1] != 0x00) return false;
    return frame[l3 + 9] == 17 && frame[l3 + 12] == 10 && frame[l3 + 13] == 0 && frame[l3 + 14] == 0 &&
           frame[l3 + 15] == 1;
  }
  int fd_ = -1;
  bool ok_ = false;
};

// One megaflow as a switch reported it.
struct PeerMegaflow {
  std::string where;   // OVS: "tc" or "ovs"; flowlift: its placement (tc_sw, datapath, ...)
  std::string reason;  // flowlift's reason; empty for OVS (it gives none)
  std::string match, actions;
  uint64_t packets = 0;
};

// What one switch made of the traffic.
struct PeerOutcome {
  std::map<std::string, std::vector<PeerFrame>> received;  // host -> frames, sorted
  std::vector<PeerMegaflow> megaflows;
  size_t tc_filters_on_p1 = 0;
  json tc_filter_show;  // `tc -j -s filter show dev p1 ingress`, filters only
  std::string log;      // the daemon's log, for failure messages
  json counters;        // flowlift's `counters` (upcalls, datapath), for the report
};

// The three namespaces around a switch namespace; deleted (with the
// datapath and filters inside) when it goes.
struct PeerTopology {
  std::unique_ptr<TestNetns> switch_namespace;
  std::map<std::string, std::unique_ptr<TestNetns>> hosts;  // h1, h2, h3
};

class OvsOffloadPeerLab : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = lab_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
    if (run_netns_command("command -v ovs-vswitchd && command -v ovsdb-server").exit_code != 0)
      GTEST_SKIP()
          << "ovs-vswitchd is not installed: tests/lab/setup.sh installs Debian's openvswitch-switch "
             "(its service stays off; this test starts a private one)";
    // Every module either switch needs, loaded before either starts, so that
    // the test starts from the same kernel alone as in the lab.switch suite
    // (where the demo's flowliftd has already autoloaded sch_ingress and the
    // act_* modules): otherwise Open vSwitch's first TC puts wait for module
    // loads over 9p under TCG, seconds that the suite run never spends.
    ASSERT_EQ(run_netns_command("modprobe -a openvswitch cls_flower sch_ingress act_mirred act_gact act_vlan "
                                "act_pedit act_csum")
                  .exit_code,
              0);
    work_ = std::filesystem::temp_directory_path() / ("flowlift-ovs-peer-" + std::to_string(::getpid()));
    std::filesystem::create_directories(work_);
  }
  void TearDown() override {
    std::error_code ignored;
    if (!work_.empty()) std::filesystem::remove_all(work_, ignored);
  }

  static PeerTopology build_topology() {
    PeerTopology topology;
    topology.switch_namespace = std::make_unique<TestNetns>(unique_netns_name("peersw"));
    EXPECT_TRUE(topology.switch_namespace->created());
    topology.switch_namespace->disable_ipv6();
    topology.switch_namespace->ip("link set lo up");
    for (int i = 1; i <= 3; ++i) {
      const std::string host_name = "h" + std::to_string(i), port = "p" + std::to_string(i);
      auto host = std::make_unique<TestNetns>(unique_netns_name("peer" + host_name));
      EXPECT_TRUE(host->created());
      host->disable_ipv6();  // no addresses either: the hosts send nothing of their own
      topology.switch_namespace->ip("link add " + port + " type veth peer name eth0 netns " + host->name());
      topology.switch_namespace->ip("link set " + port + " up");
      host->ip("link set eth0 up");
      topology.hosts[host_name] = std::move(host);
    }
    return topology;
  }

  // Sends every class its rounds from h1 and returns what h2 and h3 got.
  // After round 0 (all upcalls) it waits until `megaflows_installed()`
  // reaches one per class, so that the later rounds all hit the installed
  // megaflows whatever the VM's speed (Open vSwitch's handlers can take
  // seconds under TCG).
  static std::map<std::string, std::vector<PeerFrame>> send_traffic(
      PeerTopology& topology, const std::function<size_t()>& megaflows_installed) {
    std::map<std::string, std::vector<PeerFrame>> received;
    // A socket opened inside a namespace stays bound to that namespace's device.
    auto capture = [&](const std::string& host) {
      return in_namespace(topology.hosts[host]->name(),
                          [] { return std::make_unique<PeerCaptureSocket>("eth0"); });
    };
    auto at_h2 = capture("h2");
    auto at_h3 = capture("h3");
    EXPECT_TRUE(at_h2 && (*at_h2)->ok() && at_h3 && (*at_h3)->ok());
    if (!at_h2 || !at_h3) return received;
    in_namespace(topology.hosts["h1"]->name(), [&] {
      NetnsPacketSocket out("eth0");
      EXPECT_TRUE(out.ok());
      int most = 0;
      for (const PeerTrafficClass& traffic : kPeerTraffic) most = std::max(most, traffic.rounds);
      for (int round = 0; round < most; ++round) {
        for (const PeerTrafficClass& traffic : kPeerTraffic) {
          if (round < traffic.rounds) {
            EXPECT_TRUE(out.send(peer_udp_frame(traffic)));
          }
        }
        if (round == 0) {
          // At least the megaflows TC can express (the rest may stay misses).
          size_t expressible = 0;
          for (const PeerTrafficClass& traffic : kPeerTraffic) expressible += traffic.expressible_in_tc;
          for (int wait = 0; wait < 300 && megaflows_installed() < expressible; ++wait)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          EXPECT_GE(megaflows_installed(), expressible) << "the upcalls of round 0 installed too few";
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      return 0;
    });
    received["h2"] = (*at_h2)->drain(1000);
    received["h3"] = (*at_h3)->drain(300);
    for (auto& [host, frames] : received) std::sort(frames.begin(), frames.end());
    return received;
  }

  static json tc_filters_on_p1(const TestNetns& switch_namespace) {
    NetnsCommandOutput shown = switch_namespace.exec("tc -j -s filter show dev p1 ingress");
    EXPECT_EQ(shown.exit_code, 0) << shown.output;
    json parsed = json::parse(shown.output, nullptr, false);
    json filters = json::array();
    if (parsed.is_array())
      for (const json& filter : parsed)
        if (filter.contains("options")) filters.push_back(filter);
    return filters;
  }

  // Open vSwitch 3.1: a private ovsdb-server, and ovs-vswitchd in the switch
  // namespace on the system datapath, offload on with skip_hw.
  PeerOutcome run_open_vswitch() {
    PeerOutcome outcome;
    PeerTopology topology = build_topology();
    bench::OvsSandboxOptions options;
    options.system_ports = true;
    options.netns = topology.switch_namespace->name();
    auto sandbox = bench::OvsSandbox::start(options);
    EXPECT_TRUE(sandbox) << sandbox.status().message();
    if (!sandbox) return outcome;
    bench::OvsSandbox& ovs = **sandbox;
    // Offload on before the bridge exists, so that every port gets the TC flow API.
    // max-idle as flowliftd's below (60 s): with OVS's default of 10 s, a
    // round-0 megaflow counts no packet while the others are still being
    // installed, so a slow TCG run lets the revalidator delete it as idle
    // before send_traffic's wait sees them all (the next round then makes a
    // new one, a packet short of what the test looks for).
    auto offload = ovs.vsctl(
        "set Open_vSwitch . other_config:hw-offload=true other_config:tc-policy=skip_hw "
        "other_config:max-idle=60000");
    EXPECT_TRUE(offload) << offload.status().message();
    std::string ports;
    for (int i = 1; i <= 3; ++i)
      ports += " -- add-port br0 p" + std::to_string(i) + " -- set Interface p" + std::to_string(i) +
               " ofport_request=" + std::to_string(i);
    auto bridge = ovs.vsctl("add-br br0 -- set Bridge br0 datapath_type=system fail_mode=secure" + ports);
    EXPECT_TRUE(bridge) << bridge.status().message();
    const std::string flows_path = (work_ / "ovs-flows.txt").string();
    {
      std::ofstream flows(flows_path);
      for (const std::string& rule : kPeerFlowTable) flows << rule << "\n";
    }
    auto added = ovs.ofctl("add-flows br0 " + flows_path);
    EXPECT_TRUE(added) << added.status().message();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));

    outcome.received = send_traffic(topology, [&] {
      auto dump = ovs.appctl("dpctl/dump-flows", {"-m"});
      if (!dump) return size_t{0};
      size_t from_p1 = 0;
      for (size_t at = dump->find("in_port(p1)"); at != std::string::npos;
           at = dump->find("in_port(p1)", at + 1))
        ++from_p1;
      return from_p1;
    });
    for (const char* type : {"tc", "ovs"}) {
      auto dump = ovs.appctl("dpctl/dump-flows", {"-m", std::string("type=") + type});
      EXPECT_TRUE(dump) << dump.status().message();
      if (!dump) continue;
      for (const PeerMegaflow& flow : parse_ovs_dump(*dump, type)) outcome.megaflows.push_back(flow);
    }
    outcome.tc_filter_show = tc_filters_on_p1(*topology.switch_namespace);
    outcome.tc_filters_on_p1 = outcome.tc_filter_show.size();
    std::ifstream log(ovs.directory() + "/ovs-vswitchd.log");
    outcome.log = std::string(std::istreambuf_iterator<char>(log), {});
    // Let OVS take its datapath flows and filters away itself; the namespace
    // deletion after it would remove them anyway.
    (void)ovs.appctl("exit", {"--cleanup"});
    return outcome;
  }

  // `ovs-appctl dpctl/dump-flows -m` lines: "ufid:..., KEY, packets:N, bytes:..., used:..., dp:tc,
  // actions:A".
  static std::vector<PeerMegaflow> parse_ovs_dump(const std::string& text, const std::string& type) {
    std::vector<PeerMegaflow> flows;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      const size_t actions_at = line.find("actions:");
      if (actions_at == std::string::npos) continue;
      PeerMegaflow flow;
      flow.where = type;
      flow.actions = line.substr(actions_at + 8);
      const size_t packets_at = line.find(", packets:");
      flow.match = line.substr(0, packets_at);
      if (flow.match.rfind("ufid:", 0) == 0) flow.match = flow.match.substr(flow.match.find(", ") + 2);
      if (packets_at != std::string::npos) flow.packets = std::stoull(line.substr(packets_at + 10));
      flows.push_back(std::move(flow));
    }
    return flows;
  }

  // flowliftd on the openvswitch module with TC offload, skip_hw.
  PeerOutcome run_flowlift() {
    PeerOutcome outcome;
    PeerTopology topology = build_topology();
    json ports = json::array();
    for (int i = 1; i <= 3; ++i)
      ports.push_back({{"name", "p" + std::to_string(i)}, {"type", "system"}, {"ofport", i}});
    json config = {
        {"flowlift_config", 1},
        {"datapath", {{"max_idle_ms", 60000}}},
        {"bridges", json::array({{{"name", "br0"}, {"ports", ports}, {"flows", kPeerFlowTable}}})}};
    const std::string config_path = (work_ / "flowlift.json").string();
    const std::string socket = (work_ / "flowliftd.sock").string();
    const std::string log_path = (work_ / "flowliftd.log").string();
    std::ofstream(config_path) << config.dump(2);
    pid_t daemon = testing::spawn_with_log(
        {"ip", "netns", "exec", topology.switch_namespace->name(), FLOWLIFT_FLOWLIFTD, "--config",
         config_path, "--control", socket, "--pidfile", (work_ / "flowliftd.pid").string(), "--datapath",
         "kernel", "--offload", "tc", "--tc-policy", "skip_hw"},
        log_path);
    bool answering = false;
    for (int i = 0; i < 100 && !answering; ++i) {
      answering = control_request(socket, {{"command", "counters"}}, std::chrono::milliseconds(500)).is_ok();
      if (!answering) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(answering) << testing::read_whole_file(log_path);
    if (answering) {
      outcome.received = send_traffic(topology, [&] {
        Result<json> dump =
            control_request(socket, {{"command", "dump-megaflows"}, {"args", json::object()}});
        return dump ? (*dump)["result"].value("megaflows", json::array()).size() : size_t{0};
      });
      Result<json> dump = control_request(socket, {{"command", "dump-megaflows"}, {"args", json::object()}});
      EXPECT_TRUE(dump) << dump.status().message();
      if (dump)
        for (const json& flow : (*dump)["result"].value("megaflows", json::array())) {
          PeerMegaflow megaflow;
          megaflow.where = flow["where"].value("placement", "");
          megaflow.reason = flow["where"].value("reason", "");
          megaflow.match = flow.value("match", "");
          megaflow.actions = flow.value("actions", "");
          megaflow.packets = flow.value("packets", uint64_t{0});
          outcome.megaflows.push_back(std::move(megaflow));
        }
      outcome.tc_filter_show = tc_filters_on_p1(*topology.switch_namespace);
      outcome.tc_filters_on_p1 = outcome.tc_filter_show.size();
      Result<json> counters = control_request(socket, {{"command", "counters"}, {"args", json::object()}});
      if (counters) outcome.counters = (*counters)["result"];
    }
    int status = 0;
    if (daemon > 0) {  // kill(0) would signal our own process group
      ::kill(daemon, SIGTERM);
      ::waitpid(daemon, &status, 0);
    }
    outcome.log = testing::read_whole_file(log_path);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "flowliftd did not stop cleanly:\n"
                                                               << outcome.log;
    return outcome;
  }

  std::filesystem::path work_;
};

// The megaflow of a class: the one whose packet count is the class's rounds
// minus its upcall.
const PeerMegaflow* megaflow_of(const PeerOutcome& outcome, const PeerTrafficClass& traffic) {
  for (const PeerMegaflow& flow : outcome.megaflows)
    if (flow.packets == static_cast<uint64_t>(traffic.rounds - 1)) return &flow;
  return nullptr;
}

json megaflow_json(const PeerMegaflow* flow) {
  if (!flow) return "no megaflow with that packet count";
  json entry = {
      {"where", flow->where}, {"match", flow->match}, {"actions", flow->actions}, {"packets", flow->packets}};
  if (!flow->reason.empty()) entry["reason"] = flow->reason;
  return entry;
}

TEST_F(OvsOffloadPeerLab, SameFlowTableAndTrafficGiveTheSameFramesAndTheTcPlacementIsRecorded) {
  PeerOutcome ovs = run_open_vswitch();
  ASSERT_FALSE(HasFatalFailure());
  PeerOutcome ours = run_flowlift();
  ASSERT_FALSE(HasFatalFailure());

  // What OpenFlow says must arrive, counted from the table (not from a run).
  std::map<std::string, size_t> expected;
  for (const PeerTrafficClass& traffic : kPeerTraffic)
    if (!traffic.expected_at.empty()) expected[traffic.expected_at] += static_cast<size_t>(traffic.rounds);
  for (const std::string host : {"h2", "h3"}) {
    EXPECT_EQ(ovs.received[host].size(), expected[host]) << "Open vSwitch to " << host << "\n" << ovs.log;
    EXPECT_EQ(ours.received[host].size(), expected[host]) << "flowlift to " << host << "\n" << ours.log;
    EXPECT_EQ(ours.received[host], ovs.received[host]) << "the frames at " << host << " differ";
  }
  // And they are what the actions say: the VLAN push (tag 100, PCP 0) and the rewrite.
  bool tagged = false, rewritten = false;
  for (const PeerFrame& frame : ours.received["h3"])
    tagged |= frame[12] == 0x81 && frame[13] == 0x00 && frame[14] == 0x00 && frame[15] == 100;
  for (const PeerFrame& frame : ours.received["h2"])
    rewritten |= frame[5] == 0x99 && frame[22] == 63 && frame[30] == 10 && frame[31] == 3 && frame[33] == 99;
  EXPECT_TRUE(tagged) << "no frame with VLAN 100 reached h3";
  EXPECT_TRUE(rewritten) << "no frame with TTL 63 to 10.3.0.99 reached h2";

  // Per class: where each switch put its megaflow.
  json report = json::array();
  for (const PeerTrafficClass& traffic : kPeerTraffic) {
    const PeerMegaflow* theirs = megaflow_of(ovs, traffic);
    const PeerMegaflow* mine = megaflow_of(ours, traffic);
    report.push_back({{"class", traffic.name},
                      {"open_vswitch", megaflow_json(theirs)},
                      {"flowlift", megaflow_json(mine)},
                      {"same_place", theirs && mine && (theirs->where == "tc") == (mine->where == "tc_sw")}});
    // What TC can express, both put in TC (skip_hw: the kernel keeps it in
    // software), each with a megaflow of the same packets.
    if (traffic.expressible_in_tc) {
      EXPECT_NE(mine, nullptr) << traffic.name << ": flowlift has no megaflow with " << traffic.rounds - 1
                               << " packets\n"
                               << ours.log;
      EXPECT_NE(theirs, nullptr) << traffic.name << ": Open vSwitch has no megaflow with "
                                 << traffic.rounds - 1 << " packets\n"
                                 << ovs.log;
      if (mine) {
        EXPECT_EQ(mine->where, "tc_sw") << traffic.name << ": " << mine->reason;
      }
      if (theirs) {
        EXPECT_EQ(theirs->where, "tc") << traffic.name;
      }
      continue;
    }
    // What it cannot, neither puts in TC: Open vSwitch keeps a megaflow
    // with the userspace action in the openvswitch module; flowlift, where
    // it has one, keeps it there too (the report shows what it did).
    if (theirs) {
      EXPECT_EQ(theirs->where, "ovs") << traffic.name;
    }
    if (mine) {
      EXPECT_EQ(mine->where, "datapath") << traffic.name << ": " << mine->reason;
    }
    for (const PeerMegaflow& flow : ours.megaflows)
      EXPECT_TRUE(flow.where != "tc_sw" || flow.actions.find("userspace") == std::string::npos)
          << "a userspace action in TC: " << flow.match;
  }
  // Each dump agrees with what the kernel holds on p1.
  size_t ovs_in_tc = 0, ours_in_tc = 0;
  for (const PeerMegaflow& flow : ovs.megaflows) ovs_in_tc += flow.where == "tc";
  for (const PeerMegaflow& flow : ours.megaflows) ours_in_tc += flow.where == "tc_sw";
  EXPECT_EQ(ovs.tc_filters_on_p1, ovs_in_tc) << ovs.tc_filter_show.dump(2);
  EXPECT_EQ(ours.tc_filters_on_p1, ours_in_tc) << ours.tc_filter_show.dump(2);

  json all = {
      {"classes", report},
      {"open_vswitch_megaflows", json::array()},
      {"flowlift_megaflows", json::array()},
      {"flowlift_counters", ours.counters},
      {"tc_filters_on_p1", {{"open_vswitch", ovs.tc_filters_on_p1}, {"flowlift", ours.tc_filters_on_p1}}}};
  for (const PeerMegaflow& flow : ovs.megaflows)
    all["open_vswitch_megaflows"].push_back(megaflow_json(&flow));
  for (const PeerMegaflow& flow : ours.megaflows) all["flowlift_megaflows"].push_back(megaflow_json(&flow));
  // Per filter on p1, its TC action kinds in order (the list sorted: the two
  // dumps give filters in their own order).
  for (const auto& [side, shown] : {std::pair<std::string, const json*>{"open_vswitch", &ovs.tc_filter_show},
                                    {"flowlift", &ours.tc_filter_show}}) {
    std::vector<std::string> filters;
    for (const json& filter : *shown) {
      std::string kinds;
      for (const json& action : filter["options"].value("actions", json::array()))
        kinds += (kinds.empty() ? "" : ",") + action.value("kind", std::string("?"));
      filters.push_back(kinds);
    }
    std::sort(filters.begin(), filters.end());
    all["tc_actions_on_p1"][side] = filters;
  }
  std::cout << "ovs peer placement report:\n" << all.dump(2) << "\n";
  RecordProperty("placement_report", all.dump());
}

}  // namespace
}  // namespace flowlift
