// classifier_vs_ovs_bench: flowlift's slowpath Classifier side by side with
// Open vSwitch 3.1's own classifier benchmark (`ovstest test-classifier
// benchmark <rules> <priorities> <subtables> 1 <lookups>`, tests/test-classifier.c),
// on the same workload, in the same run, so that load on the machine hits both.
//
// Why a plain main and not Google Benchmark: the figure to compare is OVS's own
// (lookups per second over one lookup loop of a fixed length, median of a few
// runs), and the OVS side is an external program run between our own runs.
//
// The workload is OVS's, drawn the same way from the same generator: OVS's
// test seeds its xorshift generator with 1 and draws, in this order, the
// subtable field sets, the priority shuffle, the lookup flows, then three
// numbers per rule; the lookup loop reseeds with 1 and draws one flow index
// per lookup. The lookup flows and the lookup sequence are therefore the same
// flow for flow. The rules are drawn the same way but are not the same rule
// for rule: OVS's own hash tables (cmap, ccmap) take a fresh hash basis from
// that generator each time one is created or grows while rules go in, which
// shifts OVS's later draws. Both rule sets come from the same distribution, so
// the hit rates (printed for both sides) agree within sampling noise, e.g.
// 12.13% against 12.22% for 1000/1/1 over 10M lookups.
//
// What the workload is:
//  - 13 fields (tun_id, metadata, nw_src, nw_dst, in_port, vlan_tci, dl_type,
//    tp_src, tp_dst, dl_src, dl_dst, nw_proto, the DSCP bits of nw_tos), each
//    with two possible values;
//  - a rule takes, for each field, the value its 13-bit random pattern picks,
//    and a priority drawn from <priorities> shuffled values (i * 129); a rule
//    identical to one already present (same match, same priority) is dropped;
//  - OVS 3.1's make_rule() matches every rule on all 13 fields whatever field
//    set (`wc_fields`) it is handed: the <subtables> argument only decides
//    which rules get priority 0 (those given the empty field set). Every rule
//    has the same mask, so OVS's classifier holds ONE subtable in every
//    configuration (checked in gdb: cls.subtables_map holds 1 entry for
//    1000/1/1, 1000/16/16 and 10000/100/32). The harness prints the number of
//    distinct masks to make that visible. --honour-subtables builds rules
//    that leave their field set wildcarded instead (the reading of a field
//    set OVS's other classifier tests use), giving <subtables> masks; OVS's
//    benchmark cannot do that, so those runs are flowlift's alone;
//  - 8192 lookup flows, each drawn from 4096 combinations of the first 12
//    fields' values; the 13th (DSCP) always takes its first value, 48, so rules
//    whose pattern picks DSCP 0 never match and the hit rate stays below 100%
//    until almost every pattern is present.
// The lookups go through Classifier::lookup at version 0, without wildcard
// tracking (nullptr) and with it (an OfMask cleared before each lookup, as OVS
// clears its flow_wildcards), with nw_dst and nw_src as prefix fields as OVS's
// test sets them.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "flowlift/status.h"
#include "slowpath/classifier.h"
#include "slowpath/of_fields.h"
#include "slowpath/of_flow.h"

namespace flowlift {
namespace {

// ---- The workload ---------------------------------------------------------

// OVS's lib/random.c generator (Marsaglia's xorshift32 with shifts 13, 17, 5),
// so that both sides draw the same numbers from the same seed.
class OvsXorshiftRandom {
 public:
  explicit OvsXorshiftRandom(uint32_t seed) : state_(seed) {}
  uint32_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
  }
  // OVS's random_range(): a plain modulo, bias included.
  uint32_t below(uint32_t bound) { return next() % bound; }

 private:
  uint32_t state_;
};

// One of the benchmark's fields and its two values, in the order of OVS's
// cls_fields[] (bit i of a rule's value pattern picks field i's value).
struct OvsBenchField {
  OfFieldId id;
  std::array<Uint128, 2> values;
};

constexpr int kOvsBenchFieldCount = 13;
constexpr uint32_t kOvsBenchAllFields = (1u << kOvsBenchFieldCount) - 1;

const std::array<OvsBenchField, kOvsBenchFieldCount>& ovs_bench_fields() {
  static const std::array<OvsBenchField, kOvsBenchFieldCount> fields{{
      {OfFieldId::kTunId, {0, 0xfedcba9876543210}},
      {OfFieldId::kMetadata, {0, 0xfedcba9876543210}},
      {OfFieldId::kIpv4Src, {0xc0a80001, 0xc0a04455}},
      {OfFieldId::kIpv4Dst, {0xc0a80002, 0xc0a04455}},
      {OfFieldId::kInPort, {1, 0xfffe}},  // 1 and OFPP_LOCAL
      {OfFieldId::kVlanTci, {101, 0}},
      {OfFieldId::kEthType, {0x0800, 0x0806}},
      {OfFieldId::kTpSrc, {49362, 80}},
      {OfFieldId::kTpDst, {6667, 22}},
      {OfFieldId::kEthSrc, {0x0002e30f80a4, 0x5e337f5f1e99}},
      {OfFieldId::kEthDst, {0x4a2771ae64c1, 0xffffffffffff}},
      {OfFieldId::kIpProto, {6, 1}},       // TCP, ICMP
      {OfFieldId::kIpDscp, {48 >> 2, 0}},  // nw_tos 48 and 0 under the DSCP mask
  }};
  return fields;
}

// The order in which OVS's benchmark fills a lookup flow's fields from the
// bits of its random combination (not the cls_fields[] order), as indices
// into ovs_bench_fields(). Only 4096 combinations are drawn for 13 binary
// fields, so the last one (DSCP) always gets its first value.
constexpr std::array<int, kOvsBenchFieldCount> kLookupFlowFieldOrder{2, 3, 0, 1,  4,  5, 6,
                                                                     7, 8, 9, 10, 11, 12};
constexpr uint32_t kLookupFlowCombinations = 4096;
constexpr uint32_t kLookupFlowCount = 2 * kLookupFlowCombinations;

struct ClassifierBenchConfig {
  int rules = 0;
  int priorities = 0;
  int subtables = 0;
  int64_t lookups = 0;
  // Rules leave the fields of their field set wildcarded (--honour-subtables)
  // instead of matching all 13 as OVS 3.1's benchmark does.
  bool honour_subtables = false;
  std::string name() const {
    return std::to_string(rules) + "/" + std::to_string(priorities) + "/" + std::to_string(subtables) +
           (honour_subtables ? " honoured" : "");
  }
};

// The rules and flows of one configuration, and the classifier holding them.
struct ClassifierBenchWorkload {
  std::vector<OfFlow> lookup_flows;
  std::vector<std::unique_ptr<ClsRule>> rules;  // owned here, referenced by `classifier`
  size_t distinct_masks = 0;
  Classifier classifier;
};

// A rule's match: field i takes value (value_pattern >> i) & 1, except that
// the fields of `wildcarded_fields` are left out (0 for OVS's own workload).
OfMatch ovs_bench_rule_match(uint32_t value_pattern, uint32_t wildcarded_fields) {
  OfFlow flow{};
  OfFlow mask{};
  for (int i = 0; i < kOvsBenchFieldCount; ++i) {
    if ((wildcarded_fields >> i) & 1) continue;
    const OvsBenchField& field = ovs_bench_fields()[i];
    const OfField& registered = of_field(field.id);
    set_field_in_match(flow, mask, registered, field.values[(value_pattern >> i) & 1],
                       registered.value_mask());
  }
  return OfMatch(flow, OfMask(mask));
}

std::unique_ptr<ClassifierBenchWorkload> build_workload(const ClassifierBenchConfig& config) {
  auto workload = std::make_unique<ClassifierBenchWorkload>();
  OvsXorshiftRandom random(1);

  // Distinct 13-bit field sets, one per requested subtable.
  std::vector<uint32_t> field_sets;
  while (static_cast<int>(field_sets.size()) < config.subtables) {
    uint32_t candidate = random.next() & kOvsBenchAllFields;
    if (std::find(field_sets.begin(), field_sets.end(), candidate) == field_sets.end()) {
      field_sets.push_back(candidate);
    }
  }

  std::vector<int32_t> priorities(config.priorities);
  for (int i = 0; i < config.priorities; ++i) priorities[i] = (i * 129) & INT_MAX;
  // OVS's shuffle: each position in turn swaps with one at or after it.
  for (size_t position = 0; position + 1 < priorities.size(); ++position) {
    size_t other = position + random.below(static_cast<uint32_t>(priorities.size() - position));
    std::swap(priorities[position], priorities[other]);
  }

  workload->lookup_flows.resize(kLookupFlowCount);
  for (OfFlow& flow : workload->lookup_flows) {
    flow = OfFlow{};
    uint32_t combination = random.below(kLookupFlowCombinations);
    for (int field_index : kLookupFlowFieldOrder) {
      const OvsBenchField& field = ovs_bench_fields()[field_index];
      write_field(flow, of_field(field.id), field.values[combination & 1]);
      combination >>= 1;
    }
  }

  // Duplicates (same match and priority) are dropped as OVS's benchmark drops
  // them after classifier_find_rule_exactly(). A rule's match is fully given
  // by its wildcarded fields and the value pattern of the others, so those
  // stand for the match here: that keeps setup fast whatever the classifier's
  // find_exactly() costs.
  std::set<std::tuple<uint32_t, uint32_t, int32_t>> present;
  std::vector<OfMask> distinct_masks;
  for (int i = 0; i < config.rules; ++i) {
    int32_t priority = priorities[random.below(config.priorities)];
    uint32_t field_set = field_sets[random.below(config.subtables)];
    uint32_t value_pattern = random.next() & kOvsBenchAllFields;
    // OVS gives a rule without any field priority 0 (make_rule()).
    if (field_set == 0) priority = 0;
    const uint32_t wildcarded_fields = config.honour_subtables ? field_set : 0;
    if (!present.insert({wildcarded_fields, value_pattern & ~wildcarded_fields, priority}).second) continue;
    OfMatch match = ovs_bench_rule_match(value_pattern, wildcarded_fields);
    if (std::find(distinct_masks.begin(), distinct_masks.end(), match.mask) == distinct_masks.end()) {
      distinct_masks.push_back(match.mask);
    }
    workload->rules.push_back(std::make_unique<ClsRule>(match, priority));
  }
  workload->distinct_masks = distinct_masks.size();

  static constexpr std::array<OfFieldId, 2> kPrefixFields{OfFieldId::kIpv4Dst, OfFieldId::kIpv4Src};
  Status prefixes = workload->classifier.set_prefix_fields(kPrefixFields);
  if (!prefixes) {
    std::fprintf(stderr, "classifier_vs_ovs_bench: %s\n", prefixes.message().c_str());
    std::exit(1);
  }
  for (const auto& rule : workload->rules) workload->classifier.insert(rule.get());
  return workload;
}

// ---- Measuring ------------------------------------------------------------

struct LookupLoopResult {
  int64_t lookups = 0;  // fewer than asked when the time cap stopped the loop
  int64_t hits = 0;
  double per_second = 0;
  double hit_rate() const {
    return lookups > 0 ? static_cast<double>(hits) / static_cast<double>(lookups) : 0;
  }
};

// OVS's lookup loop: reseed, draw a flow index per lookup, count hits. Only
// the loop is timed. With `max_seconds` > 0 the loop stops at the first clock
// check past the cap. The clock is read after batches of 1, 2, 4, ... up to
// 1024 lookups: a very slow classifier still stops close to the cap, and a
// fast one pays one clock read per 1024 lookups.
LookupLoopResult run_lookup_loop(const ClassifierBenchWorkload& workload, int64_t lookups,
                                 bool track_wildcards, double max_seconds) {
  constexpr int64_t kMaxClockCheckInterval = 1024;
  using Clock = std::chrono::steady_clock;
  OvsXorshiftRandom random(1);
  LookupLoopResult result;
  const auto cap = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(max_seconds));
  const OfFlow* flows = workload.lookup_flows.data();
  OfMask wildcards;
  const Clock::time_point start = Clock::now();
  int64_t done = 0;
  int64_t hits = 0;
  int64_t batch = max_seconds > 0 ? 1 : lookups;
  while (done < lookups) {
    const int64_t batch_end = std::min(lookups, done + batch);
    batch = std::min(batch * 2, std::max(kMaxClockCheckInterval, batch));
    for (; done < batch_end; ++done) {
      const OfFlow& flow = flows[random.below(kLookupFlowCount)];
      const ClsRule* rule;
      if (track_wildcards) {
        wildcards = OfMask();
        rule = workload.classifier.lookup(kOfVersionMin, flow, &wildcards);
      } else {
        rule = workload.classifier.lookup(kOfVersionMin, flow, nullptr);
      }
      hits += rule != nullptr;
    }
    if (max_seconds > 0 && Clock::now() - start > cap) break;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.lookups = done;
  result.hits = hits;
  result.per_second = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  return result;
}

// One `ovstest test-classifier benchmark` run: its two lookup loops.
struct OvsRunResult {
  LookupLoopResult without_wildcards;
  LookupLoopResult with_wildcards;
};

std::string shell_quote(std::string_view text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

// Parses the "hits: H, misses: M" and "classifier lookups: T ms, R lookups/sec"
// lines OVS prints for each of its two loops (without wildcards first).
Result<OvsRunResult> parse_ovstest_output(const std::string& output) {
  std::vector<LookupLoopResult> loops;
  size_t line_start = 0;
  while (line_start < output.size()) {
    size_t line_end = output.find('\n', line_start);
    if (line_end == std::string::npos) line_end = output.size();
    std::string line = output.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    long long hits = 0;
    long long misses = 0;
    long long milliseconds = 0;
    long long per_second = 0;
    if (std::sscanf(line.c_str(), "hits: %lld, misses: %lld", &hits, &misses) == 2) {
      LookupLoopResult loop;
      loop.lookups = hits + misses;
      loop.hits = hits;
      loops.push_back(loop);
    } else if (std::sscanf(line.c_str(), "classifier lookups: %lld ms, %lld lookups/sec", &milliseconds,
                           &per_second) == 2) {
      if (loops.empty()) return invalid_argument("ovstest printed a lookup rate before its hit count");
      // OVS's own figure: lookups * 1000 / whole milliseconds.
      loops.back().per_second = static_cast<double>(per_second);
    }
  }
  if (loops.size() != 2) {
    return invalid_argument(
        "expected two 'hits:' lines (without and with wildcards) in ovstest's output, found " +
        std::to_string(loops.size()));
  }
  return OvsRunResult{loops[0], loops[1]};
}

Result<OvsRunResult> run_ovstest(const std::string& ovstest, const ClassifierBenchConfig& config) {
  // exec: the shell gives way to ovstest, so that its wait status is ovstest's own.
  std::string command = "exec " + shell_quote(ovstest) + " test-classifier benchmark " +
                        std::to_string(config.rules) + " " + std::to_string(config.priorities) + " " +
                        std::to_string(config.subtables) + " 1 " + std::to_string(config.lookups) + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return Status(errno, "cannot run " + command + ": " + std::strerror(errno));
  std::string output;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  int status = pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string hint;
    // OVS divides by its loop's whole milliseconds: a loop under 1 ms dies of SIGFPE.
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGFPE) {
      hint = "ovstest's lookup loop took under 1 ms (OVS then divides by zero): use more --lookups\n";
    }
    return Status(EIO, "[" + command + "] failed (wait status " + std::to_string(status) + "), output:\n" +
                           output + hint);
  }
  Result<OvsRunResult> parsed = parse_ovstest_output(output);
  if (!parsed) return parsed.status().with_context("parsing the output of [" + command + "]");
  return parsed;
}

// ---- Reporting ------------------------------------------------------------

// The run with the median lookup rate (the upper median for an even count).
LookupLoopResult median(std::vector<LookupLoopResult> runs) {
  std::sort(runs.begin(), runs.end(),
            [](const LookupLoopResult& a, const LookupLoopResult& b) { return a.per_second < b.per_second; });
  return runs[runs.size() / 2];
}

// 10.37M, 41.2k, 512: the stand-in classifier can be four orders of
// magnitude slower than OVS, and "0.00M" would hide it.
std::string format_rate(double per_second) {
  char text[32];
  if (per_second >= 1e6) {
    std::snprintf(text, sizeof text, "%.2fM", per_second / 1e6);
  } else if (per_second >= 1e3) {
    std::snprintf(text, sizeof text, "%.1fk", per_second / 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.0f", per_second);
  }
  return text;
}

std::string percent(double rate) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", rate * 100);
  return text;
}

struct ClassifierBenchRow {
  ClassifierBenchConfig config;
  bool track_wildcards = false;
  size_t rules_inserted = 0;
  size_t distinct_masks = 0;
  LookupLoopResult flowlift;
  std::optional<LookupLoopResult> ovs;
  // Median over runs of flowlift's rate / OVS's rate in the same run: the two
  // run back to back, so this cancels most of a load change between runs.
  std::optional<double> paired_ratio;
};

std::optional<double> median_paired_ratio(const std::vector<LookupLoopResult>& flowlift,
                                          const std::vector<LookupLoopResult>& ovs) {
  std::vector<double> ratios;
  for (size_t i = 0; i < flowlift.size() && i < ovs.size(); ++i) {
    if (ovs[i].per_second > 0) ratios.push_back(flowlift[i].per_second / ovs[i].per_second);
  }
  if (ratios.empty()) return std::nullopt;
  std::sort(ratios.begin(), ratios.end());
  return ratios[ratios.size() / 2];
}

std::string format_ratio(std::optional<double> ratio) {
  if (!ratio) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", *ratio);
  return text;
}

std::string load_average() {
  FILE* file = std::fopen("/proc/loadavg", "r");
  if (file == nullptr) return "unknown";
  double one = 0, five = 0, fifteen = 0;
  const int read = std::fscanf(file, "%lf %lf %lf", &one, &five, &fifteen);
  std::fclose(file);
  if (read != 3) return "unknown";
  char text[64];
  std::snprintf(text, sizeof text, "%.2f %.2f %.2f", one, five, fifteen);
  return text;
}

void print_table(const std::vector<ClassifierBenchRow>& rows) {
  std::printf(
      "\n| rules/prios/subtables | wildcards | lookups | flowlift lookups/s | OVS lookups/s | flowlift/OVS | "
      "paired | hit rate flowlift | hit rate OVS | flowlift rules | masks |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const ClassifierBenchRow& row : rows) {
    std::string lookups = std::to_string(row.flowlift.lookups);
    if (row.flowlift.lookups < row.config.lookups)
      lookups += " of " + std::to_string(row.config.lookups) + " (cap)";
    std::string ovs_rate = row.ovs ? format_rate(row.ovs->per_second) : "-";
    std::optional<double> ratio;
    if (row.ovs && row.ovs->per_second > 0) ratio = row.flowlift.per_second / row.ovs->per_second;
    std::string ovs_hit_rate = row.ovs ? percent(row.ovs->hit_rate()) : "-";
    std::printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %zu | %zu |\n", row.config.name().c_str(),
                row.track_wildcards ? "tracked" : "none", lookups.c_str(),
                format_rate(row.flowlift.per_second).c_str(), ovs_rate.c_str(), format_ratio(ratio).c_str(),
                format_ratio(row.paired_ratio).c_str(), percent(row.flowlift.hit_rate()).c_str(),
                ovs_hit_rate.c_str(), row.rules_inserted, row.distinct_masks);
  }
}

// ---- Command line -----------------------------------------------------------

struct ClassifierBenchOptions {
  int runs = 3;
  double max_seconds = 10;
  std::optional<int64_t> lookups;
  std::string ovstest;
  bool run_ovs = true;
  bool honour_subtables = false;
  std::vector<ClassifierBenchConfig> configs;
};

constexpr std::string_view kUsage =
    "usage: classifier_vs_ovs_bench [--runs N] [--max-seconds S] [--lookups N]\n"
    "                               [--config RULES/PRIORITIES/SUBTABLES]... [--ovstest PATH] [--no-ovs]\n"
    "                               [--honour-subtables]\n"
    "  --runs N          runs per configuration and side; the median is reported (default 3)\n"
    "  --max-seconds S   stop a flowlift lookup loop after S seconds, 0 = never (default 10)\n"
    "  --lookups N       lookups per loop for every configuration (default: 10000000,\n"
    "                    5000000 for configurations of 100000 rules or more)\n"
    "  --config R/P/S    a configuration to run, repeatable (default: 1000/1/1 1000/16/16\n"
    "                    10000/100/32 100000/1000/64)\n"
    "  --ovstest PATH    OVS 3.1's tests/ovstest (default: $FLOWLIFT_OVSTEST, else\n"
    "                    ${XDG_CACHE_HOME:-$HOME/.cache}/flowlift/ovs-3.1/openvswitch/tests/ovstest,\n"
    "                    where scripts/build-ovstest.sh builds it)\n"
    "  --no-ovs          measure flowlift only\n"
    "  --honour-subtables  rules leave the fields of their field set wildcarded, so that there are\n"
    "                    SUBTABLES masks (OVS 3.1's benchmark ignores the field sets: one mask);\n"
    "                    flowlift only, OVS cannot run that workload\n";

std::string default_ovstest_path() {
  if (const char* path = std::getenv("FLOWLIFT_OVSTEST"); path != nullptr && *path != '\0') return path;
  std::string cache;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    cache = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    cache = std::string(home) + "/.cache";
  } else {
    cache = ".cache";
  }
  return cache + "/flowlift/ovs-3.1/openvswitch/tests/ovstest";
}

Result<int64_t> parse_count(std::string_view option, std::string_view text, int64_t minimum) {
  std::string copy(text);
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(copy.c_str(), &end, 10);
  if (copy.empty() || *end != '\0' || errno != 0 || value < minimum) {
    return invalid_argument(std::string(option) + ": expected an integer >= " + std::to_string(minimum) +
                            ", got '" + copy + "'");
  }
  return static_cast<int64_t>(value);
}

Result<ClassifierBenchConfig> parse_config(std::string_view text) {
  ClassifierBenchConfig config;
  std::array<int*, 3> parts{&config.rules, &config.priorities, &config.subtables};
  std::string_view rest = text;
  for (size_t i = 0; i < parts.size(); ++i) {
    size_t slash = i + 1 < parts.size() ? rest.find('/') : std::string_view::npos;
    if (i + 1 < parts.size() && slash == std::string_view::npos) {
      return invalid_argument("--config: expected RULES/PRIORITIES/SUBTABLES, got '" + std::string(text) +
                              "'");
    }
    Result<int64_t> value = parse_count("--config", rest.substr(0, slash), 1);
    if (!value || *value > INT_MAX) {
      return invalid_argument("--config: each of RULES/PRIORITIES/SUBTABLES must be an integer from 1 to " +
                              std::to_string(INT_MAX) + ", got '" + std::string(text) + "'");
    }
    *parts[i] = static_cast<int>(*value);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  }
  // OVS draws distinct 13-bit field sets, one per subtable: more cannot exist.
  if (config.subtables > static_cast<int>(kOvsBenchAllFields) + 1) {
    return invalid_argument("--config: at most " + std::to_string(kOvsBenchAllFields + 1) +
                            " subtables, got '" + std::string(text) + "'");
  }
  return config;
}

Result<ClassifierBenchOptions> parse_options(int argc, char** argv) {
  ClassifierBenchOptions options;
  options.ovstest = default_ovstest_path();
  for (int i = 1; i < argc; ++i) {
    std::string_view option = argv[i];
    auto value = [&]() -> Result<std::string_view> {
      if (i + 1 >= argc) return invalid_argument(std::string(option) + " needs a value");
      return std::string_view(argv[++i]);
    };
    if (option == "--no-ovs") {
      options.run_ovs = false;
      continue;
    }
    if (option == "--honour-subtables") {
      options.honour_subtables = true;
      options.run_ovs = false;
      continue;
    }
    if (option != "--runs" && option != "--max-seconds" && option != "--lookups" && option != "--config" &&
        option != "--ovstest") {
      return invalid_argument("unknown option '" + std::string(option) + "'");
    }
    Result<std::string_view> text = value();
    if (!text) return text.status();
    if (option == "--runs") {
      Result<int64_t> runs = parse_count(option, *text, 1);
      if (!runs) return runs.status();
      options.runs = static_cast<int>(std::min<int64_t>(*runs, 1000));
    } else if (option == "--max-seconds") {
      std::string copy(*text);
      char* end = nullptr;
      double seconds = std::strtod(copy.c_str(), &end);
      if (copy.empty() || *end != '\0' || !(seconds >= 0)) {
        return invalid_argument("--max-seconds: expected a number of seconds >= 0, got '" + copy + "'");
      }
      options.max_seconds = seconds;
    } else if (option == "--lookups") {
      Result<int64_t> lookups = parse_count(option, *text, 1);
      if (!lookups) return lookups.status();
      // ovstest takes an int.
      if (*lookups > INT_MAX) return invalid_argument("--lookups: at most " + std::to_string(INT_MAX));
      options.lookups = *lookups;
    } else if (option == "--config") {
      Result<ClassifierBenchConfig> config = parse_config(*text);
      if (!config) return config.status();
      options.configs.push_back(*config);
    } else {
      options.ovstest = std::string(*text);
    }
  }
  if (options.configs.empty()) {
    options.configs = {{1000, 1, 1}, {1000, 16, 16}, {10000, 100, 32}, {100000, 1000, 64}};
  }
  for (ClassifierBenchConfig& config : options.configs) {
    config.lookups = options.lookups.value_or(config.rules >= 100000 ? 5000000 : 10000000);
    config.honour_subtables = options.honour_subtables;
  }
  return options;
}

int run(int argc, char** argv) {
  Result<ClassifierBenchOptions> parsed = parse_options(argc, argv);
  if (!parsed) {
    std::fprintf(stderr, "classifier_vs_ovs_bench: %s\n%s", parsed.status().message().c_str(), kUsage.data());
    return 2;
  }
  const ClassifierBenchOptions& options = *parsed;

  bool run_ovs = options.run_ovs;
  if (!run_ovs) {
    std::printf("OVS is not run (%s).\n",
                options.honour_subtables ? "--honour-subtables: OVS's benchmark cannot build that workload"
                                         : "--no-ovs");
  }
  if (run_ovs && access(options.ovstest.c_str(), X_OK) != 0) {
    std::printf(
        "OVS's ovstest is not at %s: flowlift's figures alone follow.\n"
        "Build it (about 3 minutes on 2 cores) with scripts/build-ovstest.sh, or point\n"
        "--ovstest / FLOWLIFT_OVSTEST at an OVS 3.1 tests/ovstest.\n",
        options.ovstest.c_str());
    run_ovs = false;
  }
  std::printf(
      "flowlift Classifier vs OVS 3.1 `ovstest test-classifier benchmark`: 1 thread, median of %d run%s\n",
      options.runs, options.runs == 1 ? "" : "s");
  if (run_ovs) std::printf("ovstest: %s\n", options.ovstest.c_str());
  if (options.max_seconds > 0) {
    std::printf("flowlift lookup loops stop after %g s (--max-seconds)\n", options.max_seconds);
  }
  std::printf("%ld CPUs online, load average at start: %s\n", sysconf(_SC_NPROCESSORS_ONLN),
              load_average().c_str());
  std::fflush(stdout);

  std::vector<ClassifierBenchRow> rows;
  for (const ClassifierBenchConfig& config : options.configs) {
    std::unique_ptr<ClassifierBenchWorkload> workload = build_workload(config);
    std::vector<LookupLoopResult> flowlift_runs[2];
    std::vector<LookupLoopResult> ovs_runs[2];
    // Alternate the sides run by run so that a change of load hits both.
    for (int run_index = 0; run_index < options.runs; ++run_index) {
      for (int mode = 0; mode < 2; ++mode) {
        flowlift_runs[mode].push_back(
            run_lookup_loop(*workload, config.lookups, mode == 1, options.max_seconds));
      }
      if (run_ovs) {
        Result<OvsRunResult> ovs = run_ovstest(options.ovstest, config);
        if (!ovs) {
          std::fprintf(stderr, "classifier_vs_ovs_bench: %s\n", ovs.status().message().c_str());
          return 1;
        }
        ovs_runs[0].push_back(ovs->without_wildcards);
        ovs_runs[1].push_back(ovs->with_wildcards);
      }
      // Progress on stderr, so that stdout holds only the table.
      std::string progress = config.name() + " run " + std::to_string(run_index + 1) + "/" +
                             std::to_string(options.runs) + ": flowlift " +
                             format_rate(flowlift_runs[0].back().per_second) + " / " +
                             format_rate(flowlift_runs[1].back().per_second) + " lookups/s";
      if (run_ovs) {
        progress += ", OVS " + format_rate(ovs_runs[0].back().per_second) + " / " +
                    format_rate(ovs_runs[1].back().per_second);
      }
      std::fprintf(stderr, "%s (without / with wildcards)\n", progress.c_str());
    }
    for (int mode = 0; mode < 2; ++mode) {
      ClassifierBenchRow row;
      row.config = config;
      row.track_wildcards = mode == 1;
      row.rules_inserted = workload->rules.size();
      row.distinct_masks = workload->distinct_masks;
      row.flowlift = median(flowlift_runs[mode]);
      if (run_ovs) {
        row.ovs = median(ovs_runs[mode]);
        row.paired_ratio = median_paired_ratio(flowlift_runs[mode], ovs_runs[mode]);
      }
      rows.push_back(row);
    }
  }
  std::printf("load average at end: %s\n", load_average().c_str());
  print_table(rows);
  std::printf(
      "\nlookups/s: lookups over the time of the lookup loop alone (OVS times it in whole ms).\n"
      "flowlift/OVS: ratio of the two medians; paired: median of the per-run ratios (the sides alternate\n"
      "run by run, so this is the figure to trust on a busy machine).\n"
      "hit rates: same lookup flows and sequence on both sides; the rule sets are drawn alike but not\n"
      "identical (OVS's hash tables draw from the same generator while rules go in), so they differ a "
      "little.\n"
      "flowlift rules: rules left after dropping duplicates (same match and priority).\n"
      "masks: distinct rule masks, i.e. the subtables of a tuple-space classifier. OVS does not print its\n"
      "subtable count; OVS 3.1's benchmark matches every rule on all 13 fields, so it holds 1 subtable\n"
      "whatever the subtables argument (--honour-subtables: flowlift alone, field sets wildcarded).\n");
  return 0;
}

}  // namespace
}  // namespace flowlift

int main(int argc, char** argv) { return flowlift::run(argc, argv); }
