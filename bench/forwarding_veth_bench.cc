// forwarding_veth_bench: packets per second a switch forwards between two
// veth ports, flowliftd beside Open vSwitch 3.1's userspace datapath, the
// same traffic through both in the same run.
//
// Topology, one per switch (each with its own namespaces):
//   src ns: eth0 --veth-- p1 [switch ns] p2 --veth-- eth0 :dst ns
// The switch (flowliftd, or ovs-vswitchd with datapath_type=netdev started
// under `ip netns exec` in the switch namespace) has p1 and p2 as system
// ports (AF_PACKET: flowlift's TPACKET_V3 ring, OVS's netdev-linux) and the
// rules in_port=p1,actions=output:p2 and in_port=p2,actions=output:p1.
// `--rules per-tuple` instead gives each of the 16 flows its own rule on
// tp_src, so that each becomes its own megaflow.
//
// Traffic: a sender thread in src writes fixed UDP/IPv4 frames (16 flows:
// 10.0.0.1:1000..1015 -> 10.0.0.2:2000) with sendmmsg() on an AF_PACKET
// socket with PACKET_QDISC_BYPASS, as fast as it can; a receiver thread in
// dst counts them in a TPACKET_V3 ring. No address is configured in src and
// dst and the frames are for a MAC nobody owns, so neither kernel answers
// and the only traffic is the benchmark's. Per run: 1 s of warm-up (the
// first packets are upcalls), then a 3 s window over which the counts are
// taken.
//
// What is printed per run: the sender's rate; the rate the veth delivered
// into the switch namespace (p1's rx_packets: what the switch was offered;
// the rest the veth dropped for a full backlog, src eth0's tx_dropped); the
// rate received at dst (the forwarded rate); the switch's own drop counters
// and megaflow count; the AF_PACKET socket drops the kernel counted in the
// switch namespace (where OVS's losses show, which OVS does not count); the
// daemon's CPU time over the window (all threads, /proc). Then medians, the
// forwarded rate per daemon CPU-second, and the flowlift/OVS ratios. Peers
// alternate run by run so that a change of load hits both. Before the runs
// the sender runs once with nothing listening on p1: its own ceiling.
//
// The sender, the switch and the receiver share the machine's CPUs (two on
// the development VM), so the sender at full blast takes CPU the switch
// would use: the forwarded rate is what the switch achieves under that
// contention, not its rate on a dedicated core. No pacing, no pinning.
//
// usage: forwarding_veth_bench [--runs R] [--warmup-ms W] [--duration-ms D]
//          [--frame-bytes B] [--batch N] [--rules in-port|per-tuple]
//          [--no-ovs] [--flowliftd PATH]
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "bench/flow_setup_peer.h"
#include "bench/flowliftd_process.h"
#include "bench/ovs_sandbox.h"
#include "kmod/netdev_afpacket.h"
#include "slowpath/control_client.h"

extern char** environ;

namespace flowlift::bench {
namespace {

using Clock = std::chrono::steady_clock;
using Frame = std::vector<uint8_t>;

constexpr size_t kFlowCount = 16;
constexpr uint16_t kFirstSourcePort = 1000;
constexpr uint16_t kDestinationPort = 2000;

// Set by the signal thread on SIGINT/SIGTERM/SIGHUP: every wait polls it,
// so that an interrupted run unwinds and its destructors remove the
// namespaces and stop the daemons.
std::atomic<bool> interrupted{false};

void note_stop_signal(int) { interrupted.store(true); }

// A handler rather than a blocked mask: children (ip, ovs-vswitchd,
// flowliftd) must start with these signals deliverable, and a mask would be
// inherited across exec. SA_RESTART keeps popen's reads going.
void watch_stop_signals() {
  struct sigaction action {};
  action.sa_handler = note_stop_signal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaction(s, &action, nullptr);
}

// Sleeps `duration`, or less when interrupted; false when interrupted.
bool pause_for(std::chrono::milliseconds duration) {
  const auto end = Clock::now() + duration;
  while (Clock::now() < end) {
    if (interrupted) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(20), end - Clock::now()));
  }
  return !interrupted;
}

Status interrupted_status() { return Status(EINTR, "interrupted"); }

// Moves the calling thread into network namespace `name` (setns affects the
// calling thread only; the benchmark's threads are made for this).
Status enter_netns(const std::string& name) {
  int fd = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status(errno, "cannot open /run/netns/" + name + ": " + std::strerror(errno));
  int result = ::setns(fd, CLONE_NEWNET);
  int error = errno;
  ::close(fd);
  if (result != 0) return Status(error, "setns " + name + ": " + std::strerror(error));
  return Status::ok();
}

// A network namespace for the benchmark's lifetime (`ip netns add`/`del`).
class BenchNetns {
 public:
  static Result<std::unique_ptr<BenchNetns>> create(const std::string& role) {
    static int counter = 0;
    std::unique_ptr<BenchNetns> ns(new BenchNetns());
    const std::string name = "flfwd" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + role;
    if (auto r = run_shell("ip netns add " + name); !r) return r.status();
    ns->name_ = name;
    if (auto r = ns->exec("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
        !r)
      return r.status();
    if (auto r = ns->ip("link set lo up"); !r) return r.status();
    return ns;
  }
  ~BenchNetns() {
    if (!name_.empty()) (void)run_shell("ip netns del " + name_);
  }
  BenchNetns(const BenchNetns&) = delete;
  BenchNetns& operator=(const BenchNetns&) = delete;

  const std::string& name() const { return name_; }
  Result<std::string> ip(const std::string& arguments) const {
    return run_shell("ip -n " + name_ + " " + arguments);
  }
  Result<std::string> exec(const std::string& command) const {
    return run_shell("ip netns exec " + name_ + " " + command);
  }

 private:
  BenchNetns() = default;
  std::string name_;
};

// The three namespaces of one switch and the two veth pairs between them.
struct VethTopology {
  std::unique_ptr<BenchNetns> switch_ns, source_ns, sink_ns;

  static Result<VethTopology> build(const std::string& tag) {
    VethTopology topology;
    for (auto [slot, role] : {std::pair{&topology.switch_ns, "sw"}, std::pair{&topology.source_ns, "src"},
                              std::pair{&topology.sink_ns, "dst"}}) {
      Result<std::unique_ptr<BenchNetns>> ns = BenchNetns::create(tag + role);
      if (!ns) return ns.status();
      *slot = std::move(*ns);
    }
    const BenchNetns& sw = *topology.switch_ns;
    for (auto [port, host, mac] : {std::tuple{"p1", topology.source_ns.get(), "02:00:00:00:01:01"},
                                   std::tuple{"p2", topology.sink_ns.get(), "02:00:00:00:01:02"}}) {
      if (auto r = sw.ip(std::string("link add ") + port + " type veth peer name eth0 netns " + host->name());
          !r)
        return r.status();
      if (auto r = sw.ip(std::string("link set ") + port + " up"); !r) return r.status();
      if (auto r = host->ip(std::string("link set eth0 address ") + mac + " up"); !r) return r.status();
    }
    return topology;
  }
};

struct LinkCounters {
  uint64_t rx_packets = 0, rx_dropped = 0, tx_packets = 0, tx_dropped = 0;
};

// The kernel's counters of `device` in `ns` (`ip -s -j link`).
Result<LinkCounters> read_link_counters(const BenchNetns& ns, const std::string& device) {
  Result<std::string> text = ns.ip("-s -j link show " + device);
  if (!text) return text.status();
  nlohmann::json links = nlohmann::json::parse(*text, nullptr, false);
  if (!links.is_array() || links.empty() || !links[0].contains("stats64"))
    return Status(EPROTO, "ip -s -j link show " + device + ": no stats64 in " + *text);
  const nlohmann::json& stats = links[0]["stats64"];
  LinkCounters c;
  c.rx_packets = stats["rx"].value("packets", uint64_t{0});
  c.rx_dropped = stats["rx"].value("dropped", uint64_t{0});
  c.tx_packets = stats["tx"].value("packets", uint64_t{0});
  c.tx_dropped = stats["tx"].value("dropped", uint64_t{0});
  return c;
}

// Frames dropped by the AF_PACKET sockets open in `ns` (the sum of sk_drops,
// `d` in ss's skmem): a socket whose receive buffer is full drops there.
// Neutral between the peers: OVS's netdev-linux reads its socket with
// recvmmsg and keeps no counter of these; flowlift's ring reports its own
// full-ring drops as rx_dropped (tp_drops), which the kernel does not add
// to sk_drops.
Result<uint64_t> read_packet_socket_drops(const BenchNetns& ns) {
  Result<std::string> text = ns.exec("ss -0 -m -n");
  if (!text) return text.status();
  static const std::regex drops(R"(skmem:\([^)]*\bd(\d+)\))");
  uint64_t total = 0;
  for (auto it = std::sregex_iterator(text->begin(), text->end(), drops); it != std::sregex_iterator(); ++it)
    total += std::stoull((*it)[1]);
  return total;
}

// One UDP/IPv4 frame of `frame_bytes` (FCS not included) for flow `index`:
// 10.0.0.1:(1000+index) -> 10.0.0.2:2000, from src eth0's MAC to a MAC that
// no device owns, a right IPv4 checksum and a zero UDP checksum.
Frame benchmark_frame(size_t index, size_t frame_bytes) {
  Frame f(frame_bytes, 0);
  const uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0x02, 0x02}, src_mac[6] = {0x02, 0, 0, 0, 0x01, 0x01};
  std::memcpy(&f[0], dst_mac, 6);
  std::memcpy(&f[6], src_mac, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  const size_t ip_length = frame_bytes - 14;
  const uint8_t ip_header[20] = {0x45,
                                 0,
                                 static_cast<uint8_t>(ip_length >> 8),
                                 static_cast<uint8_t>(ip_length),
                                 0,
                                 0,
                                 0x40,
                                 0,
                                 64,
                                 17,
                                 0,
                                 0,
                                 10,
                                 0,
                                 0,
                                 1,
                                 10,
                                 0,
                                 0,
                                 2};
  std::memcpy(&f[14], ip_header, 20);
  uint32_t sum = 0;
  for (size_t i = 14; i < 34; i += 2) sum += static_cast<uint32_t>(f[i] << 8 | f[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  f[24] = static_cast<uint8_t>(~sum >> 8);
  f[25] = static_cast<uint8_t>(~sum);
  const uint16_t source_port = static_cast<uint16_t>(kFirstSourcePort + index);
  const size_t udp_length = ip_length - 20;
  f[34] = static_cast<uint8_t>(source_port >> 8);
  f[35] = static_cast<uint8_t>(source_port);
  f[36] = kDestinationPort >> 8;
  f[37] = kDestinationPort & 0xff;
  f[38] = static_cast<uint8_t>(udp_length >> 8);
  f[39] = static_cast<uint8_t>(udp_length);
  return f;
}

bool is_benchmark_frame(const uint8_t* bytes, size_t length) {
  return length >= 38 && bytes[12] == 0x08 && bytes[13] == 0x00 && bytes[23] == 17 &&
         bytes[36] == (kDestinationPort >> 8) && bytes[37] == (kDestinationPort & 0xff);
}

// A thread that works inside a network namespace until stop(). start()
// returns once run() has said it is working (ready = 1) or why it cannot
// (ready = -1, error_); derived classes call stop() in their destructors,
// before their own members go.
class NamespaceWorker {
 public:
  NamespaceWorker(std::string netns, std::string role) : netns_(std::move(netns)), role_(std::move(role)) {}
  NamespaceWorker(const NamespaceWorker&) = delete;
  NamespaceWorker& operator=(const NamespaceWorker&) = delete;

  Status start() {
    std::atomic<int> ready{0};
    thread_ = std::thread([this, &ready] {
      if (Status s = enter_netns(netns_); !s) {
        error_ = s.message();
        ready = -1;
        return;
      }
      run(ready);
    });
    while (ready == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (ready < 0) {
      thread_.join();
      return Status(EIO, role_ + ": " + error_);
    }
    return Status::ok();
  }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }

 protected:
  ~NamespaceWorker() = default;
  virtual void run(std::atomic<int>& ready) = 0;  // already inside the namespace
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }
  std::string error_;

 private:
  std::string netns_, role_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

// The sender: one thread in the source namespace writing the frames in
// turn, `batch` per sendmmsg(), through an AF_PACKET socket that skips the
// qdisc (straight to veth_xmit).
class FrameBlaster final : public NamespaceWorker {
 public:
  FrameBlaster(std::string netns, std::vector<Frame> frames, size_t batch)
      : NamespaceWorker(std::move(netns), "sender"), frames_(std::move(frames)), batch_(batch) {}
  ~FrameBlaster() { stop(); }
  uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }
  uint64_t full_queue() const { return full_queue_.load(std::memory_order_relaxed); }

 private:
  void run(std::atomic<int>& ready) override {
    int fd = -1;
    auto fail = [&](const std::string& what) {
      error_ = what + ": " + std::strerror(errno);
      if (fd >= 0) ::close(fd);
      ready = -1;
    };
    fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);  // protocol 0: receives nothing
    if (fd < 0) return fail("socket(AF_PACKET)");
    int one = 1;
    if (::setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) != 0)
      return fail("PACKET_QDISC_BYPASS");
    timeval timeout{0, 100000};  // a blocked send wakes up to see stop()
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_IP);
    address.sll_ifindex = static_cast<int>(::if_nametoindex("eth0"));
    if (address.sll_ifindex == 0) return fail("eth0");
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return fail("bind eth0");
    std::vector<iovec> vectors(batch_);
    std::vector<mmsghdr> messages(batch_);
    for (size_t i = 0; i < batch_; ++i) {
      Frame& frame = frames_[i % frames_.size()];
      vectors[i] = {frame.data(), frame.size()};
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    ready = 1;
    while (!stopping()) {
      int n = ::sendmmsg(fd, messages.data(), static_cast<unsigned>(batch_), 0);
      if (n > 0) {
        sent_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
      } else if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
        full_queue_.fetch_add(1, std::memory_order_relaxed);
        sched_yield();
      } else {
        error_ = std::string("sendmmsg: ") + std::strerror(errno);
        break;
      }
    }
    ::close(fd);
  }

  std::vector<Frame> frames_;
  size_t batch_;
  std::atomic<uint64_t> sent_{0}, full_queue_{0};
};

// The receiver: one thread in the sink namespace counting the benchmark's
// frames in a TPACKET_V3 ring on eth0 (whole blocks at a time, no copy).
class FrameCounter final : public NamespaceWorker {
 public:
  explicit FrameCounter(std::string netns) : NamespaceWorker(std::move(netns), "receiver") {}
  ~FrameCounter() { stop(); }
  uint64_t counted() const { return counted_.load(std::memory_order_relaxed); }
  // Frames the kernel had no ring room for (read when the thread ends).
  uint64_t ring_drops() const { return ring_drops_; }

 private:
  static constexpr uint32_t kBlockSize = 1u << 18, kBlockCount = 64, kFrameSize = 2048;

  void run(std::atomic<int>& ready) override {
    int fd = -1;
    void* ring = MAP_FAILED;
    const size_t ring_bytes = size_t{kBlockSize} * kBlockCount;
    auto fail = [&](const std::string& what) {
      error_ = what + ": " + std::strerror(errno);
      if (ring != MAP_FAILED) ::munmap(ring, ring_bytes);
      if (fd >= 0) ::close(fd);
      ready = -1;
    };
    fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0) return fail("socket(AF_PACKET)");
    int version = TPACKET_V3;
    if (::setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0)
      return fail("PACKET_VERSION");
    tpacket_req3 request{};
    request.tp_block_size = kBlockSize;
    request.tp_block_nr = kBlockCount;
    request.tp_frame_size = kFrameSize;
    request.tp_frame_nr = kBlockSize / kFrameSize * kBlockCount;
    request.tp_retire_blk_tov = 2;  // ms: bounds how late a count can be at a window edge
    if (::setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &request, sizeof request) != 0)
      return fail("PACKET_RX_RING");
    ring = ::mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (ring == MAP_FAILED) return fail("mmap");
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = static_cast<int>(::if_nametoindex("eth0"));
    if (address.sll_ifindex == 0) return fail("eth0");
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return fail("bind eth0");
    ready = 1;
    // The datapath's own ring walker: it checks every offset against its block.
    TpacketV3RingCursor cursor(std::span<uint8_t>(static_cast<uint8_t*>(ring), ring_bytes), kBlockSize);
    while (!stopping()) {
      uint64_t mine = 0;
      size_t visited = cursor.drain(SIZE_MAX, [&mine](const TpacketV3Frame& frame) {
        if (is_benchmark_frame(frame.bytes.data(), frame.bytes.size())) ++mine;
      });
      counted_.fetch_add(mine, std::memory_order_relaxed);
      if (visited == 0) {
        pollfd waiting{fd, POLLIN | POLLERR, 0};
        ::poll(&waiting, 1, 20);
      }
    }
    tpacket_stats_v3 stats{};
    socklen_t length = sizeof stats;
    if (::getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &stats, &length) == 0) ring_drops_ = stats.tp_drops;
    ::munmap(ring, ring_bytes);
    ::close(fd);
  }

  std::atomic<uint64_t> counted_{0};
  uint64_t ring_drops_ = 0;
};

// What a switch says about itself at one moment (monotonic counters).
struct SwitchCounters {
  uint64_t p1_rx_dropped = 0;  // flowlift: ring tp_drops; OVS: dpctl/show's RX dropped
  uint64_t p2_tx_dropped = 0;
  uint64_t lost = 0;   // upcalls dropped (queue full)
  uint64_t flows = 0;  // megaflows now
};

class ForwardingPeer {
 public:
  virtual ~ForwardingPeer() = default;
  virtual std::string name() const = 0;
  virtual Result<SwitchCounters> counters() = 0;
  virtual const VethTopology& topology() const = 0;
  // The daemon's process (all its threads' CPU time is counted).
  virtual pid_t pid() const = 0;
};

std::vector<std::string> rule_lines(bool per_tuple, const std::string& p1, const std::string& p2) {
  std::vector<std::string> lines;
  if (!per_tuple) {
    lines.push_back("in_port=" + p1 + ",actions=output:" + p2);
  } else {
    for (size_t i = 0; i < kFlowCount; ++i)
      lines.push_back("priority=10,udp,in_port=" + p1 + ",tp_src=" + std::to_string(kFirstSourcePort + i) +
                      ",actions=output:" + p2);
    lines.push_back("priority=0,actions=drop");
  }
  lines.push_back("priority=5,in_port=" + p2 + ",actions=output:" + p1);
  return lines;
}

// The real flowliftd binary in the switch namespace, with p1 and p2 as
// system ports, driven over its control socket.
class FlowliftdForwardingPeer final : public ForwardingPeer {
 public:
  static Result<std::unique_ptr<ForwardingPeer>> start(const std::string& program, VethTopology topology,
                                                       bool per_tuple) {
    std::unique_ptr<FlowliftdForwardingPeer> peer(new FlowliftdForwardingPeer());
    peer->topology_ = std::move(topology);
    char pattern[] = "/tmp/flowlift-fwd-bench.XXXXXX";
    if (!mkdtemp(pattern)) return Status(errno, "mkdtemp failed");
    peer->directory_ = pattern;
    const std::string config_path = peer->directory_ + "/switch.json";
    const std::string log_path = peer->directory_ + "/flowliftd.log";
    peer->socket_path_ = peer->directory_ + "/flowliftd.sock";
    nlohmann::json ports = nlohmann::json::array({{{"name", "p1"}, {"type", "system"}, {"ofport", 1}},
                                                  {{"name", "p2"}, {"type", "system"}, {"ofport", 2}}});
    nlohmann::json config = {
        {"flowlift_config", 1},
        {"datapath", {{"max_idle_ms", 60000}}},
        {"bridges",
         nlohmann::json::array(
             {{{"name", "br0"}, {"ports", ports}, {"flows", rule_lines(per_tuple, "p1", "p2")}}})}};
    std::ofstream(config_path) << config.dump(2);

    Result<std::unique_ptr<FlowliftdProcess>> process =
        FlowliftdProcess::start({.program = program,
                                 .config_path = config_path,
                                 .socket_path = peer->socket_path_,
                                 .log_path = log_path,
                                 .netns = peer->topology_.switch_ns->name(),
                                 .interrupted = &interrupted});
    if (!process) return process.status();
    peer->process_ = std::move(*process);
    return std::unique_ptr<ForwardingPeer>(std::move(peer));
  }

  ~FlowliftdForwardingPeer() override {
    process_.reset();  // before its directory goes
    std::error_code ignored;
    if (!directory_.empty()) std::filesystem::remove_all(directory_, ignored);
  }

  std::string name() const override { return "flowliftd"; }
  const VethTopology& topology() const override { return topology_; }
  pid_t pid() const override { return process_->pid(); }

  Result<SwitchCounters> counters() override {
    Result<nlohmann::json> show = call("show", {{"bridge", "br0"}});
    if (!show) return show.status();
    Result<nlohmann::json> counters = call("counters", nlohmann::json::object());
    if (!counters) return counters.status();
    SwitchCounters c;
    for (const nlohmann::json& bridge : show->value("bridges", nlohmann::json::array()))
      for (const nlohmann::json& port : bridge.value("ports", nlohmann::json::array())) {
        const nlohmann::json port_counters = port.value("counters", nlohmann::json::object());
        if (port.value("name", "") == "p1") c.p1_rx_dropped = port_counters.value("rx_dropped", uint64_t{0});
        if (port.value("name", "") == "p2") c.p2_tx_dropped = port_counters.value("tx_dropped", uint64_t{0});
      }
    c.lost = (*counters)["datapath"].value("lost", uint64_t{0});
    c.flows = (*counters)["datapath"].value("flows", uint64_t{0});
    return c;
  }

 private:
  FlowliftdForwardingPeer() = default;

  Result<nlohmann::json> call(const std::string& command, const nlohmann::json& args) {
    return process_->call(command, args);
  }

  VethTopology topology_;
  std::string directory_, socket_path_;
  std::unique_ptr<FlowliftdProcess> process_;
};

// Open vSwitch 3.1's userspace datapath (bridge datapath_type=netdev) with
// p1 and p2 as system ports: ovs-vswitchd runs in the switch namespace
// without --disable-system, opens both veths through netdev-linux
// (AF_PACKET, recvmmsg/sendmmsg) and polls them from its main thread (they
// are not PMD ports, so no PMD thread exists).
class OvsForwardingPeer final : public ForwardingPeer {
 public:
  static Result<std::unique_ptr<ForwardingPeer>> start(VethTopology topology, bool per_tuple) {
    std::unique_ptr<OvsForwardingPeer> peer(new OvsForwardingPeer());
    peer->topology_ = std::move(topology);
    OvsSandboxOptions options;
    options.system_ports = true;
    options.netns = peer->topology_.switch_ns->name();
    Result<std::unique_ptr<OvsSandbox>> sandbox = OvsSandbox::start(options);
    if (!sandbox) return sandbox.status();
    peer->sandbox_ = std::move(*sandbox);
    OvsSandbox& s = *peer->sandbox_;
    if (auto r = s.vsctl("add-br brf -- set bridge brf datapath_type=netdev fail-mode=secure"
                         " -- add-port brf p1 -- set interface p1 ofport_request=1"
                         " -- add-port brf p2 -- set interface p2 ofport_request=2"
                         " -- set Open_vSwitch . other_config:max-idle=60000");
        !r)
      return r.status();
    const std::string flows_file = s.directory() + "/flows.txt";
    {
      std::ofstream out(flows_file);
      for (const std::string& line : rule_lines(per_tuple, "1", "2")) out << line << "\n";
    }
    if (auto r = s.ofctl("--bundle add-flows brf " + flows_file); !r) return r.status();
    // The ports must have opened: OVS records why not in Interface.error.
    for (const char* port : {"p1", "p2"}) {
      Result<std::string> error = s.vsctl(std::string("get interface ") + port + " error");
      if (!error) return error.status();
      if (error->find("[]") != 0)
        return Status(EIO, std::string("ovs-vswitchd cannot open ") + port + ": " + *error);
    }
    return std::unique_ptr<ForwardingPeer>(std::move(peer));
  }

  std::string name() const override { return "ovs-3.1 netdev"; }
  const VethTopology& topology() const override { return topology_; }
  pid_t pid() const override { return sandbox_->vswitchd_pid(); }

  Result<SwitchCounters> counters() override {
    Result<std::string> show = sandbox_->appctl("dpctl/show", {"-s"});
    if (!show) return show.status();
    SwitchCounters c;
    static const std::regex lookups(R"(lookups: hit:(\d+) missed:(\d+) lost:(\d+))");
    static const std::regex flows(R"(flows: (\d+))");
    static const std::regex p1_rx(R"(port \d+: p1\b[^\n]*\n\s*RX packets:\d+ errors:\d+ dropped:(\d+))");
    static const std::regex p2_tx(
        R"(port \d+: p2\b[^\n]*\n\s*RX packets:[^\n]*\n\s*TX packets:\d+ errors:\d+ dropped:(\d+))");
    std::smatch m;
    if (!std::regex_search(*show, m, lookups))
      return Status(EPROTO, "dpctl/show has no lookups line: " + *show);
    c.lost = std::stoull(m[3]);
    if (std::regex_search(*show, m, flows)) c.flows = std::stoull(m[1]);
    if (std::regex_search(*show, m, p1_rx)) c.p1_rx_dropped = std::stoull(m[1]);
    if (std::regex_search(*show, m, p2_tx)) c.p2_tx_dropped = std::stoull(m[1]);
    return c;
  }

 private:
  OvsForwardingPeer() = default;
  VethTopology topology_;
  std::unique_ptr<OvsSandbox> sandbox_;
};

struct WindowFigures {
  double seconds = 0;
  double sender_pps = 0;     // frames the sender handed to the veth
  double offered_pps = 0;    // frames the veth delivered into the switch namespace (p1 rx)
  double veth_drop_pps = 0;  // src eth0 tx_dropped: the switch namespace's backlog was full
  double forwarded_pps = 0;  // frames counted at dst
  SwitchCounters switch_delta;
  uint64_t flows = 0;
  double switch_cpu = 0;      // the daemon's CPU seconds per second of window (user + system)
  uint64_t socket_drops = 0;  // sk_drops of the switch namespace's AF_PACKET sockets
  uint64_t receiver_ring_drops = 0;
  uint64_t sender_full_queue = 0;
};

double load_average() {
  double load = 0;
  std::ifstream("/proc/loadavg") >> load;
  return load;
}

// One measured window: start receiver and sender, warm up, take counters,
// wait `duration`, take them again. `peer` may be null (sender alone: nothing
// listens on p1, which shows what the sender can do).
Result<WindowFigures> measure(ForwardingPeer* peer, const VethTopology& topology,
                              const std::vector<Frame>& frames, size_t batch,
                              std::chrono::milliseconds warmup, std::chrono::milliseconds duration) {
  FrameCounter receiver(topology.sink_ns->name());
  if (Status s = receiver.start(); !s) return s;
  FrameBlaster sender(topology.source_ns->name(), frames, batch);
  if (Status s = sender.start(); !s) return s;
  if (!pause_for(warmup)) return interrupted_status();

  struct Snapshot {
    Clock::time_point when;
    uint64_t sent = 0, counted = 0;
    LinkCounters p1, source;
    uint64_t socket_drops = 0;
    double switch_cpu_seconds = 0;
    SwitchCounters switch_counters;
  };
  auto snapshot = [&]() -> Result<Snapshot> {
    Snapshot s;
    s.when = Clock::now();
    s.sent = sender.sent();
    s.counted = receiver.counted();
    Result<LinkCounters> p1 = read_link_counters(*topology.switch_ns, "p1");
    if (!p1) return p1.status();
    s.p1 = *p1;
    Result<LinkCounters> source = read_link_counters(*topology.source_ns, "eth0");
    if (!source) return source.status();
    s.source = *source;
    Result<uint64_t> socket_drops = read_packet_socket_drops(*topology.switch_ns);
    if (!socket_drops) return socket_drops.status();
    s.socket_drops = *socket_drops;
    if (peer) {
      Result<double> cpu = process_cpu_seconds(peer->pid());
      if (!cpu) return cpu.status();
      s.switch_cpu_seconds = *cpu;
      Result<SwitchCounters> c = peer->counters();
      if (!c) return c.status();
      s.switch_counters = *c;
    }
    return s;
  };
  Result<Snapshot> before = snapshot();
  if (!before) return before.status();
  if (!pause_for(duration)) return interrupted_status();
  Result<Snapshot> after = snapshot();
  if (!after) return after.status();
  sender.stop();
  pause_for(std::chrono::milliseconds(100));
  receiver.stop();

  WindowFigures w;
  w.seconds = std::chrono::duration<double>(after->when - before->when).count();
  auto rate = [&](uint64_t a, uint64_t b) { return static_cast<double>(b - a) / w.seconds; };
  w.sender_pps = rate(before->sent, after->sent);
  w.offered_pps = rate(before->p1.rx_packets, after->p1.rx_packets);
  w.veth_drop_pps = rate(before->source.tx_dropped, after->source.tx_dropped);
  w.forwarded_pps = rate(before->counted, after->counted);
  const SwitchCounters& b = before->switch_counters;
  const SwitchCounters& a = after->switch_counters;
  w.switch_delta = {a.p1_rx_dropped - b.p1_rx_dropped, a.p2_tx_dropped - b.p2_tx_dropped, a.lost - b.lost,
                    a.flows};
  w.flows = a.flows;
  w.socket_drops = after->socket_drops - before->socket_drops;
  w.switch_cpu = (after->switch_cpu_seconds - before->switch_cpu_seconds) / w.seconds;
  w.receiver_ring_drops = receiver.ring_drops();
  w.sender_full_queue = sender.full_queue();
  return w;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string rate_text(double pps) {
  char text[32];
  if (pps >= 1e6)
    std::snprintf(text, sizeof text, "%.3f Mpps", pps / 1e6);
  else
    std::snprintf(text, sizeof text, "%.1f kpps", pps / 1e3);
  return text;
}

int usage(const char* program) {
  std::fprintf(stderr,
               "usage: %s [--runs R] [--warmup-ms W] [--duration-ms D] [--frame-bytes B] [--batch N]\n"
               "          [--rules in-port|per-tuple] [--no-ovs] [--flowliftd PATH]\n",
               program);
  return 2;
}

struct BenchSettings {
  size_t runs = 3;
  std::chrono::milliseconds warmup{1000}, duration{3000};
  size_t frame_bytes = 60;
  size_t batch = 64;
  bool per_tuple = false;
  bool with_ovs = true;
  std::string flowliftd = FLOWLIFT_TOOLS_DIR "/flowliftd";
};

int run_benchmark(const BenchSettings& settings) {
  std::vector<Frame> frames;
  for (size_t i = 0; i < kFlowCount; ++i) frames.push_back(benchmark_frame(i, settings.frame_bytes));

  std::vector<std::unique_ptr<ForwardingPeer>> peers;
  std::vector<std::string> missing;  // peers that could not run, and why
  Result<VethTopology> flowlift_topology = VethTopology::build("a");
  if (!flowlift_topology) {
    std::fprintf(stderr, "topology: %s\n", flowlift_topology.status().message().c_str());
    return 1;
  }
  // The sender alone, before any switch listens on p1: its own ceiling here.
  Result<WindowFigures> alone = measure(nullptr, *flowlift_topology, frames, settings.batch,
                                        settings.warmup / 2, settings.duration / 3);
  if (!alone) {
    std::fprintf(stderr, "sender alone: %s\n", alone.status().message().c_str());
    return 1;
  }
  auto flowlift =
      FlowliftdForwardingPeer::start(settings.flowliftd, std::move(*flowlift_topology), settings.per_tuple);
  if (!flowlift) {
    std::fprintf(stderr, "flowliftd: %s\n", flowlift.status().message().c_str());
    return 1;
  }
  peers.push_back(std::move(*flowlift));
  if (settings.with_ovs) {
    Result<VethTopology> ovs_topology = VethTopology::build("b");
    if (!ovs_topology) {
      std::fprintf(stderr, "topology: %s\n", ovs_topology.status().message().c_str());
      return 1;
    }
    auto ovs = OvsForwardingPeer::start(std::move(*ovs_topology), settings.per_tuple);
    if (ovs)
      peers.push_back(std::move(*ovs));
    else
      missing.push_back("ovs-3.1 netdev: cannot run: " + ovs.status().message());
  }
  for (const std::string& why : missing) std::printf("%s\n", why.c_str());

  std::printf(
      "forwarding on a veth pair: %zu UDP flows (10.0.0.1:%u..%zu -> 10.0.0.2:%u), %zu-byte frames, rules "
      "%s,\n"
      "sendmmsg batches of %zu with PACKET_QDISC_BYPASS; %lld ms warm-up, %lld ms window, %zu runs; load "
      "%.2f\n",
      kFlowCount, unsigned{kFirstSourcePort}, kFirstSourcePort + kFlowCount - 1, unsigned{kDestinationPort},
      settings.frame_bytes, settings.per_tuple ? "per-tuple (16 tp_src rules)" : "in_port only",
      settings.batch, static_cast<long long>(settings.warmup.count()),
      static_cast<long long>(settings.duration.count()), settings.runs, load_average());
  std::printf("sender alone (nothing listening on p1): sends %s, veth delivers %s\n",
              rate_text(alone->sender_pps).c_str(), rate_text(alone->offered_pps).c_str());

  std::vector<std::vector<double>> sent(peers.size()), offered(peers.size()), forwarded(peers.size()),
      cpu(peers.size()), per_cpu(peers.size());
  for (size_t run = 1; run <= settings.runs; ++run) {
    for (size_t k = 0; k < peers.size(); ++k) {
      size_t p = (run % 2) ? k : peers.size() - 1 - k;
      ForwardingPeer& peer = *peers[p];
      const double load = load_average();
      Result<WindowFigures> w =
          measure(&peer, peer.topology(), frames, settings.batch, settings.warmup, settings.duration);
      if (!w) {
        std::fprintf(stderr, "%s: %s\n", peer.name().c_str(), w.status().message().c_str());
        return 1;
      }
      sent[p].push_back(w->sender_pps);
      offered[p].push_back(w->offered_pps);
      forwarded[p].push_back(w->forwarded_pps);
      cpu[p].push_back(w->switch_cpu);
      per_cpu[p].push_back(w->switch_cpu > 0 ? w->forwarded_pps / w->switch_cpu : 0);
      const double lost_in_switch = std::max(0.0, w->offered_pps - w->forwarded_pps);
      std::printf(
          "run %zu %-15s load %.2f  sent %s  offered %s (veth drop %s)  forwarded %s  (lost in switch %s = "
          "%.1f%%)\n"
          "      switch counters over the window: p1 rx_dropped %llu, p2 tx_dropped %llu, upcalls lost %llu; "
          "megaflows %llu; daemon cpu %.0f%%\n"
          "      kernel: AF_PACKET socket drops in the switch namespace %llu; receiver ring drops %llu\n",
          run, peer.name().c_str(), load, rate_text(w->sender_pps).c_str(), rate_text(w->offered_pps).c_str(),
          rate_text(w->veth_drop_pps).c_str(), rate_text(w->forwarded_pps).c_str(),
          rate_text(lost_in_switch).c_str(),
          w->offered_pps > 0 ? 100.0 * lost_in_switch / w->offered_pps : 0.0,
          static_cast<unsigned long long>(w->switch_delta.p1_rx_dropped),
          static_cast<unsigned long long>(w->switch_delta.p2_tx_dropped),
          static_cast<unsigned long long>(w->switch_delta.lost), static_cast<unsigned long long>(w->flows),
          100 * w->switch_cpu, static_cast<unsigned long long>(w->socket_drops),
          static_cast<unsigned long long>(w->receiver_ring_drops));
      std::fflush(stdout);
    }
  }
  std::printf("\nmedians of %zu runs (load now %.2f):\n", settings.runs, load_average());
  for (size_t p = 0; p < peers.size(); ++p)
    std::printf(
        "  %-15s sent %s  offered %s  forwarded %s  daemon cpu %.0f%%  forwarded per daemon cpu-second %s\n",
        peers[p]->name().c_str(), rate_text(median(sent[p])).c_str(), rate_text(median(offered[p])).c_str(),
        rate_text(median(forwarded[p])).c_str(), 100 * median(cpu[p]), rate_text(median(per_cpu[p])).c_str());
  if (peers.size() == 2 && median(forwarded[1]) > 0 && median(per_cpu[1]) > 0)
    std::printf("  flowliftd / ovs: forwarded %.2f, forwarded per daemon cpu-second %.2f\n",
                median(forwarded[0]) / median(forwarded[1]), median(per_cpu[0]) / median(per_cpu[1]));
  for (const std::string& why : missing) std::printf("  %s\n", why.c_str());
  return 0;
}

}  // namespace
}  // namespace flowlift::bench

int main(int argc, char** argv) {
  using namespace flowlift::bench;
  BenchSettings settings;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    auto positive = [&](long& out) {
      const char* v = value();
      if (!v || std::atol(v) <= 0) return false;
      out = std::atol(v);
      return true;
    };
    long n = 0;
    if (arg == "--runs" && positive(n)) {
      settings.runs = static_cast<size_t>(n);
    } else if (arg == "--warmup-ms" && positive(n)) {
      settings.warmup = std::chrono::milliseconds(n);
    } else if (arg == "--duration-ms" && positive(n)) {
      settings.duration = std::chrono::milliseconds(n);
    } else if (arg == "--frame-bytes" && positive(n) && n >= 42 && n <= 1514) {
      settings.frame_bytes = static_cast<size_t>(n);
    } else if (arg == "--batch" && positive(n) && n <= 1024) {
      settings.batch = static_cast<size_t>(n);
    } else if (arg == "--rules") {
      const char* v = value();
      if (!v || (std::string(v) != "in-port" && std::string(v) != "per-tuple")) return usage(argv[0]);
      settings.per_tuple = std::string(v) == "per-tuple";
    } else if (arg == "--no-ovs") {
      settings.with_ovs = false;
    } else if (arg == "--flowliftd") {
      const char* v = value();
      if (!v) return usage(argv[0]);
      settings.flowliftd = v;
    } else {
      return usage(argv[0]);
    }
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr,
                 "forwarding_veth_bench needs root: it creates network namespaces and veth pairs, opens "
                 "AF_PACKET sockets and starts flowliftd and ovs-vswitchd in them\n");
    return 1;
  }
  if (!run_shell("ip netns list")) {
    std::fprintf(stderr, "forwarding_veth_bench needs `ip netns` (iproute2)\n");
    return 1;
  }
  watch_stop_signals();
  int status = run_benchmark(settings);
  if (interrupted) std::fprintf(stderr, "interrupted: namespaces and daemons removed\n");
  return status;
}
