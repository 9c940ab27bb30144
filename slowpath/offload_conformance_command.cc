// `flowlift conformance` (see the header): argument parsing, the two passes
// over the same devices, and the printing. The passes open their datapaths
// one after the other, because a device belongs to one datapath at a time.
#include "slowpath/offload_conformance_command.h"

#include <unistd.h>

#include <ostream>

#include "kmod/kernel_dpif.h"
#include "kmod/netdev_afpacket.h"
#include "offload/offloading_dpif.h"
#include "offload/tc_offload_provider.h"
#include "slowpath/offload_conformance_report.h"

namespace flowlift {
namespace {

constexpr const char* kVxlanPortName = "flconfvx";

Result<ConformanceRun> run_pass(const ConformanceCommandOptions& options,
                                const std::vector<OffloadConformanceCase>& cases, bool through_tc) {
  const std::string datapath_name = "flconf" + std::to_string(::getpid() % 100000);
  auto kernel = KernelDpif::open(datapath_name);
  if (!kernel)
    return Status(kernel.status().code(),
                  "opening datapath " + datapath_name + ": " + kernel.status().message());
  std::unique_ptr<Dpif> dpif = std::move(*kernel);
  std::string label = "datapath";
  if (through_tc) {
    auto policy = parse_tc_policy(options.policy);
    if (!policy) return policy.status();
    TcOffloadConfig config;
    config.default_policy = *policy;
    config.profile = options.profile;
    auto provider = TcOffloadProvider::open(config);
    if (!provider) return Status(provider.status().code(), "TC: " + provider.status().message());
    dpif = std::make_unique<OffloadingDpif>(std::move(dpif), std::move(*provider),
                                            /*flush_provider_on_close=*/true);
    label = "tc " + options.policy;
  }
  auto ports = add_conformance_ports(*dpif, options.devices, kVxlanPortName);
  if (!ports) return ports.status();
  ConformanceRunOptions run_options;
  run_options.only_case = options.only_case;
  return run_offload_conformance(*dpif, *ports, options.devices, cases, label, run_options);
}

}  // namespace

std::string conformance_usage_text() {
  return "usage: flowlift conformance --port DEV --peer DEV --out DEV --out-peer DEV\n"
         "           [--underlay DEV --underlay-peer DEV] [--policy none|skip_sw|skip_hw]\n"
         "           [--profile NAME|FILE] [--case NAME] [--json|--markdown]\n"
         "Runs the offload conformance table twice on the same devices, through the\n"
         "openvswitch module's table and through TC flower with the policy (default\n"
         "skip_sw), and compares outputs and counters. Runs locally, as root.\n"
         "  --port DEV         the ingress port (a veth end, or a representor)\n"
         "  --peer DEV         where frames into DEV are sent from: the other veth end,\n"
         "                     or the VF behind the representor\n"
         "  --out DEV          the second port; --out-peer DEV is where its frames are captured\n"
         "  --underlay DEV     carries VXLAN: must hold 192.168.77.1/24 and a permanent\n"
         "                     neighbour 192.168.77.2 with --underlay-peer's MAC;\n"
         "                     without it the VXLAN cases are skipped\n"
         "  --profile          capability profile (built-in name or JSON file)\n"
         "  --case NAME        run one case only\n";
}

Result<ConformanceCommandOptions> parse_conformance_arguments(std::span<const std::string> arguments) {
  ConformanceCommandOptions options;
  for (size_t i = 0; i < arguments.size(); ++i) {
    const std::string& argument = arguments[i];
    if (argument == "--help" || argument == "-h") {
      options.help = true;
      continue;
    }
    if (argument == "--json") {
      options.format = ConformanceOutputFormat::kJson;
      continue;
    }
    if (argument == "--markdown") {
      options.format = ConformanceOutputFormat::kMarkdown;
      continue;
    }
    std::string* target = nullptr;
    if (argument == "--port")
      target = &options.devices.in;
    else if (argument == "--peer")
      target = &options.devices.in_peer;
    else if (argument == "--out")
      target = &options.devices.out;
    else if (argument == "--out-peer")
      target = &options.devices.out_peer;
    else if (argument == "--underlay")
      target = &options.devices.underlay;
    else if (argument == "--underlay-peer")
      target = &options.devices.underlay_peer;
    else if (argument == "--policy")
      target = &options.policy;
    else if (argument == "--profile")
      target = &options.profile;
    else if (argument == "--case")
      target = &options.only_case;
    if (target == nullptr) return invalid_argument("conformance: unknown argument " + argument);
    if (i + 1 >= arguments.size()) return invalid_argument("conformance: " + argument + " needs a value");
    *target = arguments[++i];
  }
  if (options.help) return options;
  const std::pair<const char*, const std::string*> required[] = {{"--port", &options.devices.in},
                                                                 {"--peer", &options.devices.in_peer},
                                                                 {"--out", &options.devices.out},
                                                                 {"--out-peer", &options.devices.out_peer}};
  for (const auto& [name, value] : required)
    if (value->empty()) return invalid_argument(std::string("conformance: ") + name + " DEV is required");
  if (options.devices.underlay.empty() != options.devices.underlay_peer.empty())
    return invalid_argument("conformance: --underlay and --underlay-peer go together");
  if (!parse_tc_policy(options.policy))
    return invalid_argument("conformance: --policy " + options.policy +
                            ": expected none, skip_sw or skip_hw");
  return options;
}

int run_conformance_command(std::span<const std::string> arguments, std::ostream& output,
                            std::ostream& errors) {
  auto options = parse_conformance_arguments(arguments);
  if (!options) {
    errors << "flowlift: " << options.status().message() << "\n" << conformance_usage_text();
    return 2;
  }
  if (options->help) {
    output << conformance_usage_text();
    return 0;
  }
  if (::geteuid() != 0) {
    errors << "flowlift: conformance opens a datapath, TC filters and packet sockets: run it as root\n";
    return 1;
  }
  ConformanceUnderlay underlay = default_conformance_underlay({}, {});
  if (options->devices.has_underlay()) {
    auto local = network_device_mac(options->devices.underlay);
    auto remote = network_device_mac(options->devices.underlay_peer);
    if (!local || !remote) {
      errors << "flowlift: " << (!local ? local.status() : remote.status()).message() << "\n";
      return 1;
    }
    underlay = default_conformance_underlay(*local, *remote);
  }
  auto cases = offload_conformance_cases(underlay);
  if (!cases) {
    errors << "flowlift: " << cases.status().message() << "\n";
    return 1;
  }
  auto datapath_run = run_pass(*options, *cases, /*through_tc=*/false);
  if (!datapath_run) {
    errors << "flowlift: conformance, datapath pass: " << datapath_run.status().message() << "\n";
    return 1;
  }
  auto offload_run = run_pass(*options, *cases, /*through_tc=*/true);
  if (!offload_run) {
    errors << "flowlift: conformance, TC pass: " << offload_run.status().message() << "\n";
    return 1;
  }
  std::vector<ConformanceVerdict> verdicts = compare_conformance_runs(*cases, *datapath_run, *offload_run);
  switch (options->format) {
    case ConformanceOutputFormat::kTable:
      output << conformance_terminal_table(verdicts);
      break;
    case ConformanceOutputFormat::kMarkdown:
      output << conformance_markdown_table(verdicts);
      break;
    case ConformanceOutputFormat::kJson:
      output << conformance_json(verdicts).dump(2) << "\n";
      break;
  }
  return conformance_all_passed(verdicts) ? 0 : 1;
}

}  // namespace flowlift
