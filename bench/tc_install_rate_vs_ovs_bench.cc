// TC flower filters installed per second (issue 6, section 5), in the lab
// only and only as ratios measured on the same VM in the same run: flowlift's
// TcOffloadProvider::put in batches, against `tc -b FILE` (iproute2's batch
// mode) installing the same filters, against Open vSwitch 3.1 offloading the
// same megaflows. The absolute rates of a TCG guest mean nothing; the ratios
// between three installers sharing its kernel do.
//
//   tc_install_rate_vs_ovs_bench [N...]        (default: 2000 5000; root, lab kernel)
//
// Per N, in a private network namespace with one veth pair fa/fb (nothing of
// the machine is touched): N megaflows "in_port(fa), eth src/dst, IPv4 UDP to
// 10.x.y.z port 53, not a fragment -> output fb", each one exact /32, so one
// mask shape and one flower priority. (The UDP key is there because Linux's
// datapath, where OVS falls back, refuses an exact ip proto 17 without one.)
// Each installer gets a new veth pair: Open vSwitch leaves its `ingress`
// qdisc behind, which no clsact user can share.
// - flowlift: TcOffloadProvider (policy skip_hw) puts them in batches of
//   kFlowliftBatch (the size of an upcall handler's batch); timed from the
//   first put to the last answer. Parsing the megaflows' text is not timed.
// - tc -b: a file of N `filter add ... flower skip_hw <same keys> action
//   mirred egress redirect dev fb cookie <the UFID>` lines, timed as one
//   `tc -b` run (the clsact qdisc is made first, untimed).
// - Open vSwitch: ovs-vswitchd (hw-offload=true, tc-policy=skip_hw) on the
//   openvswitch module; `ovs-appctl dpctl/add-flows FILE` with the same N
//   megaflows, timed as that one unixctl call. It is OVS's only way to have
//   given megaflows installed (lines carry no ufid: appctl makes one from
//   the key, which offload needs): each line is one dpif_flow_put, which with
//   hw-offload goes to netdev-offload-tc first (one synchronous tc
//   transaction per flow, as from the upcall handlers), plus a datapath port
//   dump per line that dpctl does to resolve names (lib/dpctl.c,
//   dpctl_put_flow_dpif). Revalidators are paused so that they do not remove
//   flows no OpenFlow rule made while the file is being read.
// Each installer's result is checked (N filters on fa, skip_hw, in TC), and
// the first filter's flower keys of each are printed for comparison.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "bench/ovs_sandbox.h"
#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_key.h"
#include "offload/tc_offload_provider.h"

namespace flowlift {
namespace {

using bench::run_shell;
using Clock = std::chrono::steady_clock;

constexpr size_t kFlowliftBatch = 64;
constexpr const char* kSourceMac = "02:00:00:00:00:0a";
constexpr const char* kDestinationMac = "02:00:00:00:00:0b";

std::string destination_of(size_t i) {
  return "10." + std::to_string(1 + i / 65536) + "." + std::to_string((i / 256) % 256) + "." +
         std::to_string(i % 256);
}

Ufid install_rate_ufid(size_t i) {
  Ufid ufid;
  for (int b = 0; b < 8; ++b) ufid.bytes[b] = static_cast<uint8_t>(i >> (8 * b));
  ufid.bytes[15] = 0x5b;
  return ufid;
}

std::string hex_of(const Ufid& ufid) {
  std::string text;
  char pair[3];
  for (uint8_t byte : ufid.bytes) {
    std::snprintf(pair, sizeof pair, "%02x", byte);
    text += pair;
  }
  return text;
}

std::string megaflow_key_text(size_t i, const std::string& in_port) {
  return "recirc_id(0),in_port(" + in_port + "),eth(src=" + kSourceMac + ",dst=" + kDestinationMac +
         "),eth_type(0x0800),ipv4(dst=" + destination_of(i) + ",proto=17,frag=no),udp(dst=53)";
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The filters on fa's ingress, as iproute2 shows them.
Result<nlohmann::json> filters_on_fa() {
  Result<std::string> shown = run_shell("tc -j filter show dev fa ingress");
  if (!shown) return shown.status();
  nlohmann::json parsed = nlohmann::json::parse(*shown, nullptr, false);
  nlohmann::json filters = nlohmann::json::array();
  if (parsed.is_array())
    for (const nlohmann::json& filter : parsed)
      if (filter.contains("options")) filters.push_back(filter);
  return filters;
}

Status expect_filters(size_t n, const std::string& who, std::string* first_keys) {
  Result<nlohmann::json> filters = filters_on_fa();
  if (!filters) return filters.status();
  // Only the benchmark's filters (UDP to port 53) are counted.
  size_t ours = 0;
  for (const nlohmann::json& filter : *filters) {
    const nlohmann::json& keys = filter["options"]["keys"];
    if (!keys.contains("dst_port") || keys["dst_port"] != 53) continue;
    if (!filter["options"].value("skip_hw", false)) return Status(EIO, who + ": a filter without skip_hw");
    if (ours++ == 0) *first_keys = keys.dump();
  }
  if (ours != n)
    return Status(EIO, who + ": " + std::to_string(ours) + " filters on fa, expected " + std::to_string(n));
  return Status::ok();
}

// Deletes fa/fb (and with them any qdisc and filter of the previous
// installer) and makes them again.
Status fresh_veth_pair() {
  (void)run_shell("ip link del fa");
  for (const char* command :
       {"ip link add fa type veth peer name fb", "ip link set fa up", "ip link set fb up"})
    if (auto r = run_shell(command); !r) return r.status();
  return Status::ok();
}

Status remove_clsact() {
  Result<std::string> removed = run_shell("tc qdisc del dev fa clsact");
  return removed ? Status::ok() : removed.status();
}

// flowlift: filters per second through TcOffloadProvider::put.
Result<double> flowlift_rate(size_t n, std::string* first_keys) {
  if (Status s = fresh_veth_pair(); !s) return s;
  TcOffloadConfig config;
  config.default_policy = TcPolicy::kSkipHw;
  config.profile = "tc-software";
  auto provider = TcOffloadProvider::open(config);
  if (!provider) return provider.status();
  (*provider)->set_ports({{.number = 1, .name = "fa", .type = DpifPortType::kSystem},
                          {.number = 2, .name = "fb", .type = DpifPortType::kSystem}});
  std::vector<DpifFlowPut> puts(n);
  for (size_t i = 0; i < n; ++i) {
    puts[i].flow.ufid = install_rate_ufid(i);
    Result<Match> match = parse_match(megaflow_key_text(i, "1"));
    if (!match) return match.status();
    puts[i].flow.match = *match;
    Result<ActionList> actions = parse_actions("2");
    if (!actions) return actions.status();
    puts[i].flow.actions = *actions;
  }
  const Clock::time_point start = Clock::now();
  for (size_t at = 0; at < n; at += kFlowliftBatch) {
    const size_t count = std::min(kFlowliftBatch, n - at);
    std::vector<OffloadPutResult> results =
        (*provider)->put(std::span<const DpifFlowPut>(puts.data() + at, count));
    for (const OffloadPutResult& result : results)
      if (result.placement != MegaflowPlacement::kTcSoftware)
        return Status(EIO, "flowlift: a megaflow was not put in TC: " + result.reason);
  }
  const double elapsed = seconds_since(start);
  if (Status s = expect_filters(n, "flowlift", first_keys); !s) return s;
  if (Status s = (*provider)->flush(); !s) return s;
  provider->reset();
  if (Status s = remove_clsact(); !s) return s;
  return static_cast<double>(n) / elapsed;
}

// tc -b: the same filters from one batch file.
Result<double> tc_batch_rate(size_t n, std::string* first_keys) {
  if (Status s = fresh_veth_pair(); !s) return s;
  const std::string path = "/tmp/flowlift-tc-batch-" + std::to_string(::getpid()) + ".txt";
  {
    std::ofstream batch(path);
    for (size_t i = 0; i < n; ++i)
      batch << "filter add dev fa ingress protocol ip prio 1 flower skip_hw dst_mac " << kDestinationMac
            << " src_mac " << kSourceMac << " ip_proto udp dst_ip " << destination_of(i)
            << " dst_port 53 ip_flags nofrag action mirred egress redirect dev fb cookie "
            << hex_of(install_rate_ufid(i)) << "\n";
  }
  if (auto made = run_shell("tc qdisc add dev fa clsact"); !made) return made.status();
  const Clock::time_point start = Clock::now();
  Result<std::string> ran = run_shell("tc -b " + path);
  const double elapsed = seconds_since(start);
  std::remove(path.c_str());
  if (!ran) return ran.status();
  if (Status s = expect_filters(n, "tc -b", first_keys); !s) return s;
  if (Status s = remove_clsact(); !s) return s;
  return static_cast<double>(n) / elapsed;
}

// Open vSwitch: the same megaflows through dpctl/add-flows with hw-offload.
Result<double> open_vswitch_rate(size_t n, const std::string& netns, std::string* first_keys) {
  if (Status s = fresh_veth_pair(); !s) return s;
  bench::OvsSandboxOptions options;
  options.system_ports = true;
  options.netns = netns;
  auto sandbox = bench::OvsSandbox::start(options);
  if (!sandbox) return sandbox.status();
  bench::OvsSandbox& ovs = **sandbox;
  if (auto r = ovs.vsctl("set Open_vSwitch . other_config:hw-offload=true other_config:tc-policy=skip_hw");
      !r)
    return r.status();
  if (auto r = ovs.vsctl(
          "add-br br0 -- set Bridge br0 datapath_type=system fail_mode=secure -- add-port br0 fa -- "
          "add-port br0 fb");
      !r)
    return r.status();
  // The datapath's port numbers of fa and fb ("  port 2: fa").
  uint32_t fa_port = 0, fb_port = 0;
  for (int attempt = 0; attempt < 50 && (fa_port == 0 || fb_port == 0); ++attempt) {
    Result<std::string> shown = ovs.appctl("dpctl/show", {});
    if (!shown) return shown.status();
    std::istringstream lines(*shown);
    std::string line;
    while (std::getline(lines, line)) {
      unsigned number = 0;
      char name[64] = {};
      if (std::sscanf(line.c_str(), " port %u: %63s", &number, name) != 2) continue;
      if (std::string(name) == "fa") fa_port = number;
      if (std::string(name) == "fb") fb_port = number;
    }
    if (fa_port == 0 || fb_port == 0) usleep(100000);
  }
  if (fa_port == 0 || fb_port == 0)
    return Status(EIO, "Open vSwitch: fa and fb never appeared in dpctl/show");
  const std::string path = ovs.directory() + "/megaflows.txt";
  {
    std::ofstream flows(path);
    for (size_t i = 0; i < n; ++i)
      flows << megaflow_key_text(i, std::to_string(fa_port)) << " " << fb_port << "\n";
  }
  if (auto r = ovs.appctl("revalidator/pause", {}); !r) return r.status();
  const Clock::time_point start = Clock::now();
  Result<std::string> added = ovs.appctl("dpctl/add-flows", {path});
  const double elapsed = seconds_since(start);
  if (!added) return added.status();
  Result<std::string> in_tc = ovs.appctl("dpctl/dump-flows", {"type=tc"});
  if (!in_tc) return in_tc.status();
  // Only the benchmark's megaflows (UDP to port 53) are counted.
  size_t offloaded = 0;
  for (size_t at = in_tc->find("dst=53)"); at != std::string::npos; at = in_tc->find("dst=53)", at + 1))
    ++offloaded;
  if (offloaded != n)
    return Status(EIO, "Open vSwitch put " + std::to_string(offloaded) + " of " + std::to_string(n) +
                           " megaflows in TC: " + added->substr(0, 400));
  if (Status s = expect_filters(n, "Open vSwitch", first_keys); !s) return s;
  (void)ovs.appctl("exit", {"--cleanup"});
  return static_cast<double>(n) / elapsed;
}

// A private namespace with the veth pair; this (single-threaded) process
// moves into it, so every tc, ip and OVS it starts works there.
Result<std::string> enter_private_namespace() {
  const std::string name = "flrate" + std::to_string(::getpid());
  if (auto r = run_shell("ip netns add " + name); !r) return r.status();
  int fd = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) return Status(errno, "cannot enter namespace " + name);
  ::close(fd);
  // No IPv6: the veths' router solicitations would be upcalls to OVS.
  for (const char* command :
       {"modprobe openvswitch", "modprobe cls_flower", "modprobe act_mirred", "ip link set lo up",
        "sysctl -qw net.ipv6.conf.all.disable_ipv6=1", "sysctl -qw net.ipv6.conf.default.disable_ipv6=1"})
    if (auto r = run_shell(command); !r) return r.status();
  return name;
}

int run(const std::vector<size_t>& sizes) {
  Result<std::string> netns = enter_private_namespace();
  if (!netns) {
    std::fprintf(stderr, "tc_install_rate_vs_ovs_bench: %s\n", netns.status().message().c_str());
    return 1;
  }
  int failures = 0;
  std::printf("%8s %14s %14s %14s %16s %16s\n", "filters", "flowlift/s", "tc -b/s", "ovs/s", "flowlift/tc -b",
              "flowlift/ovs");
  for (size_t n : sizes) {
    std::string ours_keys, tc_keys, ovs_keys;
    Result<double> ours = flowlift_rate(n, &ours_keys);
    Result<double> tc = tc_batch_rate(n, &tc_keys);
    Result<double> ovs = open_vswitch_rate(n, *netns, &ovs_keys);
    for (const auto* rate : {&ours, &tc, &ovs})
      if (!*rate) {
        std::fprintf(stderr, "N=%zu: %s\n", n, rate->status().message().c_str());
        ++failures;
      }
    if (!ours || !tc || !ovs) continue;
    std::printf("%8zu %14.0f %14.0f %14.0f %16.2f %16.2f\n", n, *ours, *tc, *ovs, *ours / *tc, *ours / *ovs);
    std::printf("  first filter's flower keys:\n    flowlift: %s\n    tc -b:    %s\n    ovs:      %s\n",
                ours_keys.c_str(), tc_keys.c_str(), ovs_keys.c_str());
    std::printf("  target flowlift >= 5x tc -b: %s\n", *ours / *tc >= 5.0 ? "met" : "NOT met");
    std::fflush(stdout);
  }
  (void)run_shell("ip netns del " + *netns);
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace flowlift

int main(int argc, char** argv) {
  std::vector<size_t> sizes;
  for (int i = 1; i < argc; ++i) {
    char* end = nullptr;
    unsigned long n = std::strtoul(argv[i], &end, 10);
    if (!end || *end != '\0' || n == 0 || n > 200000) {
      std::fprintf(stderr, "usage: %s [N...]  (filters per run, 1..200000; default 2000 5000)\n", argv[0]);
      return 2;
    }
    sizes.push_back(n);
  }
  if (sizes.empty()) sizes = {2000, 5000};
  return flowlift::run(sizes);
}
