// flow_setup_vs_ovs_bench: the cost of one flow setup in flowliftd and in
// Open vSwitch 3.1, measured the same way, in the same run.
//
// The method is ../shared/ovs-bench's setup_rate: a bridge with dummy ports
// holds N exact /32 rules (priority=100,ip,nw_dst=172.16.0.0+i,actions=output:2
// and a priority-0 drop); N distinct UDP packets, one per rule, are injected
// through the daemon's control socket in batches of 100, waiting after each
// batch until the datapath has processed it. Pass 1: every packet is a miss
// (upcall, translation, megaflow install, execute). Pass 2: the same packets
// again, all megaflow hits, which is the cost of injection alone. One flow
// setup costs (pass1 - pass2) / N. Both daemons get the same packets through
// the same kind of channel (a unix socket, one request per batch).
//
// OVS's port is type dummy-pmd (serviced by a PMD thread, the figure the
// issue quotes: about 14 us per setup on this kind of machine); flowliftd's
// is type dummy (packets go through the fast path in the control thread,
// misses to the handler threads). "Processed" means, for OVS, dpctl/show's
// hit+missed+lost advanced (its PMD thread handles the upcall inline before
// counting the next packet); for flowliftd, every packet looked up and every
// upcall executed (hits + upcall executions + lost).
//
// Wall time hides the PMD thread's cost (it runs beside the injection on the
// other core), and the PMD thread's CPU time is all busy polling. So for b3,
// as ../shared/ovs-bench did, the PMD's own statistics are cleared before
// each pass (dpif-netdev/pmd-stats-clear, applied by the PMD thread
// asynchronously: 0.2 s wait) and read after it (dpif-netdev/pmd-stats-show:
// "avg processing cycles per packet", "packets received"). OVS's cost of one
// setup is then (cycles/packet in pass 1 - cycles/packet in pass 2), which
// counts only the cycles the PMD spent processing packets (upcall,
// translation and install included: dpif-netdev runs them inline), never
// its idle polls. Those cycles are rdtsc ticks (dpif-netdev-perf.h reads the
// TSC on x86_64); they are converted to microseconds with the TSC rate
// measured here against steady_clock over 100 ms, not /proc/cpuinfo's
// "cpu MHz" (the core's current clock, which need not be the TSC's).
// flowliftd's figure beside it is its CPU time (every thread) per setup.
//
// Output: per run, both passes of both daemons; then medians, both costs and
// the ratios. usage: flow_setup_vs_ovs_bench [--flows N] [--runs R] [--batch B]
//                   [--no-ovs] [--flowliftd PATH]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "bench/flow_setup_peer.h"
#include "bench/ovs_sandbox.h"

namespace flowlift::bench {
namespace {

std::string destination(size_t i) {
  uint32_t v = (172u << 24) | (16u << 16) | static_cast<uint32_t>(i);
  return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 255) + "." +
         std::to_string((v >> 8) & 255) + "." + std::to_string(v & 255);
}

std::string packet_text(size_t i) {
  return "eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=" +
         destination(i) + ",proto=17,tos=0,ttl=64,frag=no),udp(src=1000,dst=2000)";
}

std::vector<std::string> rule_lines(size_t n) {
  std::vector<std::string> lines;
  lines.reserve(n + 1);
  for (size_t i = 0; i < n; ++i)
    lines.push_back("priority=100,ip,nw_dst=" + destination(i) + ",actions=output:2");
  lines.push_back("priority=0,actions=drop");
  return lines;
}

// TSC ticks per microsecond, measured against steady_clock over 100 ms;
// 0 where there is no TSC to read.
double tsc_ticks_per_microsecond() {
#if defined(__x86_64__)
  auto start = std::chrono::steady_clock::now();
  uint64_t ticks_start = __rdtsc();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  uint64_t ticks_end = __rdtsc();
  double microseconds =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  return static_cast<double>(ticks_end - ticks_start) / microseconds;
#else
  return 0;
#endif
}

// What one PMD thread says about the packets it processed since its
// statistics were last cleared.
struct OvsPmdPassCycles {
  uint64_t packets_received = 0;
  double processing_cycles_per_packet = 0;
};

// OVS 3.1 in a sandbox, as ../shared/ovs-bench/topo.sh builds it: bridge brb
// (datapath_type=dummy) with b1 (dummy: the main thread receives and runs
// the upcall), b2 (dummy, the output) and b3 (dummy-pmd: a PMD thread).
// Two peers share one sandbox, one injecting on b3 and one on b1.
class OvsSetupPeer final : public FlowSetupPeer {
 public:
  static Result<std::shared_ptr<OvsSandbox>> start_sandbox(size_t n_rules) {
    Result<std::unique_ptr<OvsSandbox>> box = OvsSandbox::start();
    if (!box) return box.status();
    std::shared_ptr<OvsSandbox> sandbox(std::move(*box));
    OvsSandbox& s = *sandbox;
    if (auto r = s.vsctl("add-br brb -- set bridge brb datapath_type=dummy fail-mode=secure"
                         " -- add-port brb b1 -- set interface b1 type=dummy ofport_request=1"
                         " -- add-port brb b2 -- set interface b2 type=dummy ofport_request=2"
                         " -- add-port brb b3 -- set interface b3 type=dummy-pmd ofport_request=3"
                         " -- set Open_vSwitch . other_config:flow-limit=500000 other_config:max-idle=60000");
        !r)
      return r.status();
    const std::string flows_file = s.directory() + "/flows.txt";
    FILE* out = std::fopen(flows_file.c_str(), "w");
    if (!out) return Status(errno, "cannot write " + flows_file);
    for (const std::string& line : rule_lines(n_rules)) std::fprintf(out, "%s\n", line.c_str());
    std::fclose(out);
    if (auto r = s.ofctl("-O OpenFlow13 --bundle add-flows brb " + flows_file); !r) return r.status();
    return sandbox;
  }

  OvsSetupPeer(std::shared_ptr<OvsSandbox> sandbox, std::string port)
      : sandbox_(std::move(sandbox)), port_(std::move(port)) {}

  std::string name() const override {
    return port_ == "b3" ? "ovs-3.1 (dummy-pmd b3)" : "ovs-3.1 (dummy " + port_ + ")";
  }

  // The PMD thread polls without pause: its time is left out (for b3 the
  // per-setup CPU figure is therefore not meaningful, and is not printed).
  Result<double> cpu_seconds() override { return process_cpu_seconds(sandbox_->vswitchd_pid(), "pmd"); }
  bool cpu_meaningful() const { return port_ != "b3"; }

  Status forget_flows() override {
    if (auto r = sandbox_->appctl("revalidator/purge", {}); !r) return r.status();
    if (auto r = sandbox_->appctl("revalidator/wait", {}); !r) return r.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return Status::ok();
  }

  Status inject(const std::vector<std::string>& packets) override {
    std::vector<std::string> params;
    params.reserve(packets.size() + 1);
    params.push_back(port_);
    params.insert(params.end(), packets.begin(), packets.end());
    Result<std::string> r = sandbox_->appctl("netdev-dummy/receive", params);
    return r ? Status::ok() : r.status();
  }

  Result<uint64_t> processed() override {
    Result<std::string> show = sandbox_->appctl("dpctl/show", {});
    if (!show) return show.status();
    static const std::regex lookups(R"(lookups: hit:(\d+) missed:(\d+) lost:(\d+))");
    std::smatch m;
    if (!std::regex_search(*show, m, lookups)) return Status(EPROTO, "dpctl/show has no lookups line");
    return std::stoull(m[1]) + std::stoull(m[2]) + std::stoull(m[3]);
  }

  // Only b3 has a PMD thread whose statistics are this peer's packets.
  bool reads_pmd_cycles() const { return port_ == "b3"; }

  Status clear_pmd_stats() {
    if (auto r = sandbox_->appctl("dpif-netdev/pmd-stats-clear", {}); !r) return r.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return Status::ok();
  }

  // The "pmd thread" section of dpif-netdev/pmd-stats-show (the main
  // thread's section comes first and is skipped).
  Result<OvsPmdPassCycles> pmd_cycles() {
    Result<std::string> show = sandbox_->appctl("dpif-netdev/pmd-stats-show", {});
    if (!show) return show.status();
    size_t section = show->find("pmd thread");
    if (section == std::string::npos) return Status(EPROTO, "pmd-stats-show has no pmd thread section");
    const std::string text = show->substr(section);
    static const std::regex received(R"(packets received:\s+(\d+))");
    static const std::regex cycles(R"(avg processing cycles per packet:\s+([0-9.]+))");
    std::smatch m;
    OvsPmdPassCycles out;
    if (!std::regex_search(text, m, received))
      return Status(EPROTO, "pmd-stats-show has no \"packets received\" for the pmd thread");
    out.packets_received = std::stoull(m[1]);
    // With no packet processed OVS prints no average at all.
    if (std::regex_search(text, m, cycles)) out.processing_cycles_per_packet = std::stod(m[1]);
    return out;
  }

  Result<uint64_t> flows() override {
    Result<std::string> dump = sandbox_->appctl("dpctl/dump-flows", {});
    if (!dump) return dump.status();
    return static_cast<uint64_t>(std::count(dump->begin(), dump->end(), '\n'));
  }

 private:
  std::shared_ptr<OvsSandbox> sandbox_;
  std::string port_;
};

struct PassResult {
  double seconds = 0;
  double cpu_seconds = 0;
  std::map<std::string, double> thread_cpu_seconds;  // by thread name, where the peer knows them
  uint64_t processed = 0;
  uint64_t flows_after = 0;
  std::optional<OvsPmdPassCycles> pmd;  // OVS's dummy-pmd peer only
};

Result<PassResult> run_pass(FlowSetupPeer& peer, const std::vector<std::string>& packets, size_t batch) {
  auto* pmd_peer = dynamic_cast<OvsSetupPeer*>(&peer);
  if (pmd_peer && !pmd_peer->reads_pmd_cycles()) pmd_peer = nullptr;
  if (pmd_peer) {
    if (Status s = pmd_peer->clear_pmd_stats(); !s) return s;
  }
  Result<uint64_t> base = peer.processed();
  if (!base) return base.status();
  Result<double> cpu_before = peer.cpu_seconds();
  if (!cpu_before) return cpu_before.status();
  Result<std::map<std::string, double>> threads_before = peer.cpu_seconds_by_thread();
  if (!threads_before) return threads_before.status();
  auto start = std::chrono::steady_clock::now();
  uint64_t done = 0;
  for (size_t i = 0; i < packets.size(); i += batch) {
    std::vector<std::string> chunk(packets.begin() + static_cast<long>(i),
                                   packets.begin() + static_cast<long>(std::min(packets.size(), i + batch)));
    if (Status s = peer.inject(chunk); !s) return s;
    const uint64_t target = i + chunk.size();
    uint64_t last = 0;
    auto stalled_since = std::chrono::steady_clock::now();
    for (;;) {
      Result<uint64_t> now = peer.processed();
      if (!now) return now.status();
      done = *now - *base;
      if (done >= target) break;
      if (done != last) {
        last = done;
        stalled_since = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - stalled_since > std::chrono::seconds(2)) {
        return Status(ETIMEDOUT, peer.name() + ": stalled at " + std::to_string(done) + " of " +
                                     std::to_string(target) + " packets processed");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  PassResult result;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.processed = done;
  Result<double> cpu_after = peer.cpu_seconds();
  if (!cpu_after) return cpu_after.status();
  result.cpu_seconds = *cpu_after - *cpu_before;
  Result<std::map<std::string, double>> threads_after = peer.cpu_seconds_by_thread();
  if (!threads_after) return threads_after.status();
  for (const auto& [name, seconds] : *threads_after) {
    auto before = threads_before->find(name);
    result.thread_cpu_seconds[name] = seconds - (before == threads_before->end() ? 0.0 : before->second);
  }
  if (pmd_peer) {
    Result<OvsPmdPassCycles> cycles = pmd_peer->pmd_cycles();
    if (!cycles) return cycles.status();
    result.pmd = *cycles;
  }
  Result<uint64_t> flows = peer.flows();
  if (!flows) return flows.status();
  result.flows_after = *flows;
  return result;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

struct PeerFigures {
  std::vector<double> pass1, pass2, cpu1, cpu2;
  std::vector<double> pmd_cycles1, pmd_cycles2;  // OVS dummy-pmd: processing cycles per packet
  std::map<std::string, std::vector<double>> thread_cpu1, thread_cpu2;
  bool cpu_meaningful = true;
  // Per flow setup, in microseconds, over N setups.
  double wall_us(size_t n) const { return (median(pass1) - median(pass2)) / static_cast<double>(n) * 1e6; }
  double cpu_us(size_t n) const { return (median(cpu1) - median(cpu2)) / static_cast<double>(n) * 1e6; }
  double pmd_cycles_per_setup() const { return median(pmd_cycles1) - median(pmd_cycles2); }
};

int usage(const char* program) {
  std::fprintf(stderr, "usage: %s [--flows N] [--runs R] [--batch B] [--no-ovs] [--flowliftd PATH]\n",
               program);
  return 2;
}

}  // namespace
}  // namespace flowlift::bench

int main(int argc, char** argv) {
  using namespace flowlift::bench;
  size_t n = 10000, runs = 5, batch = 100;
  bool with_ovs = true;
  std::string flowliftd = FLOWLIFT_TOOLS_DIR "/flowliftd";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--flows" || arg == "--runs" || arg == "--batch") {
      const char* v = value();
      if (!v || std::atol(v) <= 0) return usage(argv[0]);
      (arg == "--flows" ? n : arg == "--runs" ? runs : batch) = static_cast<size_t>(std::atol(v));
    } else if (arg == "--no-ovs") {
      with_ovs = false;
    } else if (arg == "--flowliftd") {
      const char* v = value();
      if (!v) return usage(argv[0]);
      flowliftd = v;
    } else {
      return usage(argv[0]);
    }
  }
  std::vector<std::string> packets;
  for (size_t i = 0; i < n; ++i) packets.push_back(packet_text(i));

  std::vector<std::unique_ptr<FlowSetupPeer>> peers;
  {
    auto peer = make_flowliftd_setup_peer(flowliftd, rule_lines(n));
    if (!peer) {
      std::fprintf(stderr, "flowliftd: %s\n", peer.status().message().c_str());
      return 1;
    }
    peers.push_back(std::move(*peer));
  }
  std::vector<PeerFigures> figures(1);
  if (with_ovs) {
    auto sandbox = OvsSetupPeer::start_sandbox(n);
    if (!sandbox) {
      std::fprintf(stderr, "ovs: %s\n", sandbox.status().message().c_str());
      return 1;
    }
    for (const char* port : {"b3", "b1"}) {
      peers.push_back(std::make_unique<OvsSetupPeer>(*sandbox, port));
      figures.emplace_back().cpu_meaningful = std::string(port) != "b3";
    }
  }

  std::printf("flow setup: %zu exact /32 rules, %zu distinct UDP packets, batches of %zu, %zu runs\n", n, n,
              batch, runs);
  for (size_t run = 1; run <= runs; ++run) {
    // Alternate the order so that neither peer always runs on a warmer machine.
    for (size_t k = 0; k < peers.size(); ++k) {
      size_t p = (run % 2) ? k : peers.size() - 1 - k;
      FlowSetupPeer& peer = *peers[p];
      if (flowlift::Status s = peer.forget_flows(); !s) {
        std::fprintf(stderr, "%s: %s\n", peer.name().c_str(), s.message().c_str());
        return 1;
      }
      auto pass1 = run_pass(peer, packets, batch);
      auto pass2 = pass1 ? run_pass(peer, packets, batch) : pass1;
      if (!pass1 || !pass2) {
        std::fprintf(stderr, "%s: %s\n", peer.name().c_str(),
                     (!pass1 ? pass1.status() : pass2.status()).message().c_str());
        return 1;
      }
      figures[p].pass1.push_back(pass1->seconds);
      figures[p].pass2.push_back(pass2->seconds);
      figures[p].cpu1.push_back(pass1->cpu_seconds);
      figures[p].cpu2.push_back(pass2->cpu_seconds);
      for (const auto& [name, seconds] : pass1->thread_cpu_seconds) {
        figures[p].thread_cpu1[name].push_back(seconds);
        auto in_pass2 = pass2->thread_cpu_seconds.find(name);
        figures[p].thread_cpu2[name].push_back(
            in_pass2 == pass2->thread_cpu_seconds.end() ? 0.0 : in_pass2->second);
      }
      if (pass1->pmd && pass2->pmd) {
        figures[p].pmd_cycles1.push_back(pass1->pmd->processing_cycles_per_packet);
        figures[p].pmd_cycles2.push_back(pass2->pmd->processing_cycles_per_packet);
      }
      std::printf(
          "run %zu %-24s pass1 %.3f s (%.0f pkt/s, %llu flows, cpu %.3f s)  pass2 %.3f s (%.0f pkt/s, cpu "
          "%.3f s)\n",
          run, peer.name().c_str(), pass1->seconds, n / pass1->seconds,
          static_cast<unsigned long long>(pass1->flows_after), pass1->cpu_seconds, pass2->seconds,
          n / pass2->seconds, pass2->cpu_seconds);
      if (pass1->pmd && pass2->pmd) {
        std::printf(
            "      %-24s pmd: pass1 %llu packets, %.0f cycles/packet  pass2 %llu packets, %.0f "
            "cycles/packet\n",
            "", static_cast<unsigned long long>(pass1->pmd->packets_received),
            pass1->pmd->processing_cycles_per_packet,
            static_cast<unsigned long long>(pass2->pmd->packets_received),
            pass2->pmd->processing_cycles_per_packet);
      }
      std::fflush(stdout);
    }
  }
  std::printf(
      "\nmedians, per flow setup: wall = (pass1 - pass2) / N, the method of ../shared/ovs-bench;\n"
      "cpu = the daemon's CPU time (pass1 - pass2) / N, busy-polling threads left out\n");
  for (size_t p = 0; p < peers.size(); ++p) {
    std::printf("  %-24s pass1 %.3f s  pass2 %.3f s  wall %6.2f us", peers[p]->name().c_str(),
                median(figures[p].pass1), median(figures[p].pass2), figures[p].wall_us(n));
    if (figures[p].cpu_meaningful) std::printf("  cpu %6.2f us", figures[p].cpu_us(n));
    std::printf("\n");
    // Where the daemon's time went, thread by thread (pass 1 - pass 2, per setup).
    for (const auto& [name, cpu1] : figures[p].thread_cpu1) {
      const double per_setup =
          (median(cpu1) - median(figures[p].thread_cpu2[name])) / static_cast<double>(n) * 1e6;
      std::printf("    %-22s cpu %6.2f us  (pass1 %.3f s, pass2 %.3f s)\n", name.c_str(), per_setup,
                  median(cpu1), median(figures[p].thread_cpu2[name]));
    }
  }
  if (peers.size() == 3) {
    const double tsc_per_us = tsc_ticks_per_microsecond();
    const double pmd_cycles = figures[1].pmd_cycles_per_setup();
    std::printf(
        "  flowlift / ovs dummy-pmd (wall) = %.3f; flowlift / ovs dummy (wall) = %.3f; "
        "flowlift / ovs dummy (cpu) = %.3f\n",
        figures[0].wall_us(n) / figures[1].wall_us(n), figures[0].wall_us(n) / figures[2].wall_us(n),
        figures[0].cpu_us(n) / figures[2].cpu_us(n));
    if (tsc_per_us > 0) {
      const double pmd_us = pmd_cycles / tsc_per_us;
      std::printf(
          "  ovs dummy-pmd per setup: %.0f cycles (pmd processing cycles/packet, pass1 %.0f - pass2 %.0f)"
          " = %.2f us at %.1f TSC ticks/us\n"
          "  flowliftd cpu per setup %.2f us beside ovs dummy-pmd %.2f us: flowlift / ovs = %.3f"
          "  (target: 0.333 or less)\n",
          pmd_cycles, median(figures[1].pmd_cycles1), median(figures[1].pmd_cycles2), pmd_us, tsc_per_us,
          figures[0].cpu_us(n), pmd_us, figures[0].cpu_us(n) / pmd_us);
    } else {
      std::printf("  ovs dummy-pmd per setup: %.0f cycles (no TSC on this machine to convert them)\n",
                  pmd_cycles);
    }
  }
  return 0;
}
