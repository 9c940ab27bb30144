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
//   kFlowliftBatch (the size of an upcall handler's batch) from K threads
//   (K = 1, 2: the upcall handlers' shape; each thread puts its own N/K
//   megaflows, the provider gives each its own netlink session); timed from
//   the first put to the last answer. Parsing the megaflows' text is not
//   timed. Once with the actions' per-CPU counters (the kernel's default,
//   and the provider's for skip_hw filters), once with shared ones
//   (TcActionCounters::kNoPerCpu: TCA_ACT_FLAGS_NO_PERCPU_STATS).
// - tc -b: a file of N `filter add ... flower skip_hw <same keys> action
//   mirred egress redirect dev fb cookie <the UFID>` lines, timed as one
//   `tc -b` run (the clsact qdisc is made first, untimed); once as is and
//   once with `no_percpu` ending the action (tc-actions(8)), so that each flowlift mode is
//   compared with tc installing exactly the same filters.
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
// After them, for N again, raw trains of requests over one session that do
// part of a filter's work (refused at once; a filter without actions; the
// whole filter), to say where the kernel's time goes.
// Before the first N, one untimed round of each kind (300 filters): under
// TCG the first run of a kernel path pays for translating its code.
// Each installer's result is checked (N filters on fa, skip_hw, in TC, and
// every action with no_percpu or none, as meant), and the first filter's
// flower keys of each are printed for comparison. Beside each rate, the CPU
// time per filter the installer spent in the kernel (system) and in user
// space, from getrusage (the installing threads, or tc as a child): the
// kernel's work on sendmsg is charged to the sender, so this says where the
// time goes without a profiler (the lab image has no perf, and Debian's
// kernel no lock_stat).
#include <fcntl.h>
#include <linux/pkt_sched.h>
#include <net/if.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/ovs_sandbox.h"
#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_key.h"
#include "offload/megaflow_to_tc.h"
#include "offload/tc_flower_rule.h"
#include "offload/tc_offload_provider.h"
#include "offload/tc_qdisc.h"

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

std::string megaflow_key_text(size_t i, const std::string& in_port) {
  return "recirc_id(0),in_port(" + in_port + "),eth(src=" + kSourceMac + ",dst=" + kDestinationMac +
         "),eth_type(0x0800),ipv4(dst=" + destination_of(i) + ",proto=17,frag=no),udp(dst=53)";
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds, user and system, of this process (all its threads) or of its
// waited-for children, and its voluntary context switches: a thread that
// sleeps in the kernel (a contended mutex, a wait for the socket) switches
// voluntarily, so these say whether parallel installers wait on each other.
struct InstallCpu {
  double user = 0, system = 0, voluntary_switches = 0;
};
InstallCpu cpu_of(int who) {
  rusage usage{};
  ::getrusage(who, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return {seconds(usage.ru_utime), seconds(usage.ru_stime), static_cast<double>(usage.ru_nvcsw)};
}
InstallCpu cpu_spent(const InstallCpu& before, const InstallCpu& after) {
  return {after.user - before.user, after.system - before.system,
          after.voluntary_switches - before.voluntary_switches};
}

// One installer's run: filters per second and CPU per filter.
struct InstallRate {
  double filters_per_second = 0;
  InstallCpu cpu_per_filter;  // seconds
  std::string first_keys;
  bool actions_no_percpu = false;  // as iproute2 shows the first filter's actions
};

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

// Checks that N filters of the benchmark are on fa, skip_hw, their actions'
// counters shared (no_percpu) or not as `no_percpu` says (when it says).
Status expect_filters(size_t n, const std::string& who, std::optional<bool> no_percpu, InstallRate& rate) {
  Result<nlohmann::json> filters = filters_on_fa();
  if (!filters) return filters.status();
  // Only the benchmark's filters (UDP to port 53) are counted.
  size_t ours = 0;
  for (const nlohmann::json& filter : *filters) {
    const nlohmann::json& keys = filter["options"]["keys"];
    if (!keys.contains("dst_port") || keys["dst_port"] != 53) continue;
    if (!filter["options"].value("skip_hw", false)) return Status(EIO, who + ": a filter without skip_hw");
    for (const nlohmann::json& action : filter["options"]["actions"]) {
      const bool shared = action.value("no_percpu", false);
      if (ours == 0) rate.actions_no_percpu = shared;
      if (no_percpu && shared != *no_percpu)
        return Status(
            EIO, who + ": an action " + (*no_percpu ? "without" : "with") + " no_percpu: " + action.dump());
    }
    if (ours++ == 0) rate.first_keys = keys.dump();
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

// flowlift: filters per second through TcOffloadProvider::put, from
// `threads` threads each putting its share in batches.
Result<InstallRate> flowlift_rate(size_t n, size_t threads, TcActionCounters counters) {
  if (Status s = fresh_veth_pair(); !s) return s;
  TcOffloadConfig config;
  config.default_policy = TcPolicy::kSkipHw;
  config.profile = "tc-software";
  config.action_counters = counters;
  config.most_sessions = threads;
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
  // The clsact qdisc is made at the first put on a device: made here,
  // untimed, as for tc -b.
  if (auto first = (*provider)->put(std::span<const DpifFlowPut>(puts.data(), 1));
      first.front().placement != MegaflowPlacement::kTcSoftware)
    return Status(EIO, "flowlift: the first megaflow was not put in TC: " + first.front().reason);
  std::vector<std::string> failures(threads);
  auto install = [&](size_t thread) {
    const size_t begin = 1 + (n - 1) * thread / threads, end = 1 + (n - 1) * (thread + 1) / threads;
    for (size_t at = begin; at < end; at += kFlowliftBatch) {
      const size_t count = std::min(kFlowliftBatch, end - at);
      for (const OffloadPutResult& result :
           (*provider)->put(std::span<const DpifFlowPut>(puts.data() + at, count)))
        if (result.placement != MegaflowPlacement::kTcSoftware && failures[thread].empty())
          failures[thread] = "flowlift: a megaflow was not put in TC: " + result.reason;
    }
  };
  const InstallCpu cpu_before = cpu_of(RUSAGE_SELF);
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> installers;
  for (size_t t = 1; t < threads; ++t) installers.emplace_back(install, t);
  install(0);
  for (std::thread& installer : installers) installer.join();
  const double elapsed = seconds_since(start);
  InstallRate rate;
  const InstallCpu spent = cpu_spent(cpu_before, cpu_of(RUSAGE_SELF));
  for (const std::string& failure : failures)
    if (!failure.empty()) return Status(EIO, failure);
  if (Status s = expect_filters(n, "flowlift", counters == TcActionCounters::kNoPerCpu, rate); !s) return s;
  if (Status s = (*provider)->flush(); !s) return s;
  provider->reset();
  if (Status s = remove_clsact(); !s) return s;
  // N-1 filters in `elapsed` (the first went in untimed).
  const double timed = static_cast<double>(n - 1);
  rate.filters_per_second = timed / elapsed;
  rate.cpu_per_filter = {spent.user / timed, spent.system / timed, spent.voluntary_switches / timed};
  return rate;
}

// Where the kernel's time per filter goes, without a profiler: the same
// trains of requests over one session as flowlift K=1 sends, for requests
// that do only part of the work.
enum class KernelPart : uint8_t {
  kRefusedRequest,         // netlink and rtnetlink's dispatch only: refused at the parent lookup
  kFilterWithoutActions,   // cls_flower's insert, no action created
  kFilterWithMirredAction  // the whole filter, as flowlift sends it
};

Result<InstallRate> kernel_part_rate(size_t n, KernelPart part) {
  if (Status s = fresh_veth_pair(); !s) return s;
  Result<TcNetlinkSession> session = TcNetlinkSession::open();
  if (!session) return session.status();
  TcPortTable ports;
  ports.set(1, TcPortInfo{static_cast<uint32_t>(if_nametoindex("fa")), "fa", false, 0});
  ports.set(2, TcPortInfo{static_cast<uint32_t>(if_nametoindex("fb")), "fb", false, 0});
  if (Status made = ensure_clsact(*session, ports.find(1)->ifindex); !made) return made;
  std::vector<std::vector<uint8_t>> requests;
  for (size_t i = 0; i < n; ++i) {
    Megaflow flow;
    flow.ufid = install_rate_ufid(i);
    Result<Match> match = parse_match(megaflow_key_text(i, "1"));
    if (!match) return match.status();
    flow.match = *match;
    Result<ActionList> actions = parse_actions("2");
    if (!actions) return actions.status();
    flow.actions = *actions;
    Result<TcFlowerRule> rule = megaflow_to_tc(flow, ports);
    if (!rule) return rule.status();
    rule->priority = 1;
    rule->policy = TcPolicy::kSkipHw;
    if (part == KernelPart::kFilterWithoutActions) rule->actions.clear();
    if (part == KernelPart::kRefusedRequest) rule->parent = TC_H_MAKE(0xabcdu << 16, 0);  // no such qdisc
    requests.push_back(encode_tc_filter_new(*rule, TcFilterWrite::kCreate, 0));
  }
  const InstallCpu cpu_before = cpu_of(RUSAGE_SELF);
  const Clock::time_point start = Clock::now();
  size_t refused = 0;
  for (size_t at = 0; at < n; at += kFlowliftBatch) {
    const size_t count = std::min(kFlowliftBatch, n - at);
    for (const TcRequestOutcome& outcome :
         session->transact(std::span<const std::vector<uint8_t>>(requests.data() + at, count)))
      refused += outcome.error != 0 || outcome.lost;
  }
  const double elapsed = seconds_since(start);
  const InstallCpu spent = cpu_spent(cpu_before, cpu_of(RUSAGE_SELF));
  const size_t expected_refused = part == KernelPart::kRefusedRequest ? n : 0;
  if (refused != expected_refused)
    return Status(EIO, "kernel part: " + std::to_string(refused) + " of " + std::to_string(n) +
                           " requests refused, expected " + std::to_string(expected_refused));
  InstallRate rate;
  rate.filters_per_second = static_cast<double>(n) / elapsed;
  const double filters = static_cast<double>(n);
  rate.cpu_per_filter = {spent.user / filters, spent.system / filters, spent.voluntary_switches / filters};
  if (Status s = remove_clsact(); !s) return s;
  return rate;
}

// tc -b: the same filters from one batch file.
Result<InstallRate> tc_batch_rate(size_t n, bool no_percpu) {
  if (Status s = fresh_veth_pair(); !s) return s;
  const std::string path = "/tmp/flowlift-tc-batch-" + std::to_string(::getpid()) + ".txt";
  {
    std::ofstream batch(path);
    for (size_t i = 0; i < n; ++i)
      batch << "filter add dev fa ingress protocol ip prio 1 flower skip_hw dst_mac " << kDestinationMac
            << " src_mac " << kSourceMac << " ip_proto udp dst_ip " << destination_of(i)
            << " dst_port 53 ip_flags nofrag action mirred egress redirect dev fb cookie "
            << tc_cookie_text(install_rate_ufid(i)) << (no_percpu ? " no_percpu" : "") << "\n";
  }
  if (auto made = run_shell("tc qdisc add dev fa clsact"); !made) return made.status();
  const InstallCpu cpu_before = cpu_of(RUSAGE_CHILDREN);
  const Clock::time_point start = Clock::now();
  Result<std::string> ran = run_shell("tc -b " + path);
  const double elapsed = seconds_since(start);
  InstallRate rate;
  const InstallCpu spent = cpu_spent(cpu_before, cpu_of(RUSAGE_CHILDREN));
  std::remove(path.c_str());
  if (!ran) return ran.status();
  if (Status s = expect_filters(n, "tc -b", no_percpu, rate); !s) return s;
  if (Status s = remove_clsact(); !s) return s;
  rate.filters_per_second = static_cast<double>(n) / elapsed;
  const double filters = static_cast<double>(n);
  rate.cpu_per_filter = {spent.user / filters, spent.system / filters, spent.voluntary_switches / filters};
  return rate;
}

// Open vSwitch: the same megaflows through dpctl/add-flows with hw-offload.
Result<InstallRate> open_vswitch_rate(size_t n, const std::string& netns) {
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
  InstallRate rate;  // ovs-vswitchd's CPU is not this process's: left 0
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
  // Whatever counters OVS gives its actions (3.1 asks for no_percpu on
  // every action); shown beside its keys.
  if (Status s = expect_filters(n, "Open vSwitch", std::nullopt, rate); !s) return s;
  (void)ovs.appctl("exit", {"--cleanup"});
  rate.filters_per_second = static_cast<double>(n) / elapsed;
  return rate;
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

void print_rate(const char* installer, const InstallRate& rate, const InstallRate* against) {
  std::printf("  %-24s %10.0f %11.0f %11.0f %9.2f", installer, rate.filters_per_second,
              rate.cpu_per_filter.system * 1e6, rate.cpu_per_filter.user * 1e6,
              rate.cpu_per_filter.voluntary_switches);
  if (against) std::printf(" %10.2f", rate.filters_per_second / against->filters_per_second);
  std::printf("\n");
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

int run(const std::vector<size_t>& sizes) {
  Result<std::string> netns = enter_private_namespace();
  if (!netns) {
    std::fprintf(stderr, "tc_install_rate_vs_ovs_bench: %s\n", netns.status().message().c_str());
    return 1;
  }
  int failures = 0;
  // Per-CPU counters cost in proportion to the possible CPUs (one slot
  // each, allocated and summed): said here, since it sizes what no_percpu saves.
  std::string possible = "?";
  if (Result<std::string> read = run_shell("cat /sys/devices/system/cpu/possible"); read) possible = *read;
  if (!possible.empty() && possible.back() == '\n') possible.pop_back();
  std::printf("guest: %u CPUs online, possible %s, load average %s\n", std::thread::hardware_concurrency(),
              possible.c_str(), load_average().c_str());
  std::printf("kernel CPU profile: %s\n", ::access("/proc/lock_stat", R_OK) == 0
                                              ? "/proc/lock_stat present (not read)"
                                              : "no /proc/lock_stat; CPU times from getrusage below");
  // Under TCG a kernel path runs slowly the first times, until its code is
  // translated: whoever ran first would pay for it. One untimed round of
  // every kind of install first.
  {
    constexpr size_t kWarmUp = 300;
    for (const auto& warm : {tc_batch_rate(kWarmUp, false), tc_batch_rate(kWarmUp, true),
                             flowlift_rate(kWarmUp, 2, TcActionCounters::kPerCpu),
                             flowlift_rate(kWarmUp, 2, TcActionCounters::kNoPerCpu)})
      if (!warm) {
        std::fprintf(stderr, "warm-up: %s\n", warm.status().message().c_str());
        ++failures;
      }
  }
  for (size_t n : sizes) {
    struct Installer {
      const char* name;
      std::function<Result<InstallRate>()> install;
      int against = -1;  // index of the tc -b run installing the same filters
      Result<InstallRate> rate = Status(EAGAIN, "not run");
    };
    std::vector<Installer> installers;
    installers.push_back({"tc -b", [n] { return tc_batch_rate(n, false); }});
    installers.push_back({"tc -b no_percpu", [n] { return tc_batch_rate(n, true); }});
    installers.push_back({"flowlift K=1", [n] { return flowlift_rate(n, 1, TcActionCounters::kPerCpu); }, 0});
    installers.push_back({"flowlift K=2", [n] { return flowlift_rate(n, 2, TcActionCounters::kPerCpu); }, 0});
    installers.push_back(
        {"flowlift K=1 no_percpu", [n] { return flowlift_rate(n, 1, TcActionCounters::kNoPerCpu); }, 1});
    installers.push_back(
        {"flowlift K=2 no_percpu", [n] { return flowlift_rate(n, 2, TcActionCounters::kNoPerCpu); }, 1});
    installers.push_back({"Open vSwitch dpctl", [&] { return open_vswitch_rate(n, *netns); }});
    installers.push_back(
        {"kernel: refused request", [n] { return kernel_part_rate(n, KernelPart::kRefusedRequest); }});
    installers.push_back(
        {"kernel: no actions", [n] { return kernel_part_rate(n, KernelPart::kFilterWithoutActions); }});
    installers.push_back(
        {"kernel: whole filter", [n] { return kernel_part_rate(n, KernelPart::kFilterWithMirredAction); }});
    for (Installer& installer : installers) {
      installer.rate = installer.install();
      if (!installer.rate) {
        std::fprintf(stderr, "N=%zu %s: %s\n", n, installer.name, installer.rate.status().message().c_str());
        ++failures;
      }
    }
    std::printf("N=%zu (load average %s)\n", n, load_average().c_str());
    std::printf("  %-24s %10s %11s %11s %9s %10s\n", "installer", "filters/s", "sys us/flt", "user us/flt",
                "vcsw/flt", "/ tc -b");
    double best_ratio = 0;
    for (const Installer& installer : installers) {
      if (!installer.rate) {
        std::printf("  %-24s failed\n", installer.name);
        continue;
      }
      const InstallRate* against = nullptr;
      if (installer.against >= 0 && installers[installer.against].rate)
        against = &*installers[installer.against].rate;
      print_rate(installer.name, *installer.rate, against);
      if (against)
        best_ratio = std::max(best_ratio, installer.rate->filters_per_second / against->filters_per_second);
    }
    std::printf(
        "  (/ tc -b: against tc -b installing the same filters, per-CPU or no_percpu counters alike;\n"
        "   kernel: raw trains of 64 over one session: refused at once (netlink's own cost), filters\n"
        "   without actions (cls_flower's insert), whole filters (the mirred action created too))\n");
    std::printf("  first filter's flower keys:\n");
    for (const Installer& installer : installers)
      if (installer.rate && !installer.rate->first_keys.empty())
        std::printf("    %-24s %s%s\n", installer.name, installer.rate->first_keys.c_str(),
                    installer.rate->actions_no_percpu ? " (actions no_percpu)" : "");
    std::printf("  target flowlift >= 5x tc -b: %s (best %.2f)\n", best_ratio >= 5.0 ? "met" : "NOT met",
                best_ratio);
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
