// One table drives the CLI: each command's synopsis (the usage text and the
// usage errors quote it), the flags it takes, and the function that turns its
// words into the request's "args". Flags may come anywhere after the command
// (ovs-ofctl accepts `dump-flows br0 --no-stats` as well as the reverse);
// the global options come before it, as with ovs-vsctl.
#include "slowpath/cli.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "slowpath/control_client.h"
#include "slowpath/offload_conformance_command.h"

namespace flowlift {
namespace {

Status cli_usage(std::string message) { return Status(kCliUsageError, std::move(message)); }

// The words after the command name: positional arguments in order, and the
// "--flags" the command allows.
struct CliCommandWords {
  std::string command;
  std::vector<std::string> positional;
  std::vector<std::string> flags;

  bool has_flag(std::string_view flag) const {
    for (const std::string& given : flags) {
      if (given == flag) return true;
    }
    return false;
  }
};

using CliArgsBuilder = Result<nlohmann::json> (*)(const CliCommandWords& words,
                                                  const CliFileReader& read_file);

struct CliCommandSpec {
  std::string_view name;
  std::string_view operands;  // the synopsis after the name
  std::string_view summary;
  std::vector<std::string_view> flags;
  size_t min_positional;
  size_t max_positional;  // SIZE_MAX: any number
  CliArgsBuilder build;
};

std::string synopsis(const CliCommandSpec& spec) {
  std::string text(spec.name);
  if (!spec.operands.empty()) text += " " + std::string(spec.operands);
  return text;
}

// "N" in [minimum, maximum] from the text after "key=" in `word`.
Result<uint64_t> parse_cli_number(const CliCommandWords& words, std::string_view word, std::string_view value,
                                  uint64_t minimum, uint64_t maximum) {
  uint64_t number = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (value.empty() || error != std::errc() || end != value.data() + value.size() || number < minimum ||
      number > maximum) {
    return cli_usage(words.command + ": " + std::string(word) + ": expected a number from " +
                     std::to_string(minimum) + " to " + std::to_string(maximum));
  }
  return number;
}

Status require_nonempty(const CliCommandWords& words, std::string_view value, std::string_view what) {
  if (value.empty()) return cli_usage(words.command + ": " + std::string(what) + " must not be empty");
  return Status::ok();
}

// Splits "key=value"; false when there is no '='.
bool split_key_value(std::string_view word, std::string_view& key, std::string_view& value) {
  size_t equals = word.find('=');
  if (equals == std::string_view::npos) return false;
  key = word.substr(0, equals);
  value = word.substr(equals + 1);
  return true;
}

Result<nlohmann::json> build_bridge_only(const CliCommandWords& words, const CliFileReader&) {
  if (Status ok = require_nonempty(words, words.positional[0], "BRIDGE"); !ok) return ok;
  return nlohmann::json{{"bridge", words.positional[0]}};
}

Result<nlohmann::json> build_optional_bridge(const CliCommandWords& words, const CliFileReader&) {
  nlohmann::json args = nlohmann::json::object();
  if (!words.positional.empty()) {
    if (Status ok = require_nonempty(words, words.positional[0], "BRIDGE"); !ok) return ok;
    args["bridge"] = words.positional[0];
  }
  return args;
}

Result<nlohmann::json> build_add_port(const CliCommandWords& words, const CliFileReader&) {
  if (Status ok = require_nonempty(words, words.positional[0], "BRIDGE"); !ok) return ok;
  if (Status ok = require_nonempty(words, words.positional[1], "PORT"); !ok) return ok;
  nlohmann::json args{{"bridge", words.positional[0]}, {"port", words.positional[1]}};
  nlohmann::json options = nlohmann::json::object();
  bool type_given = false;
  for (size_t i = 2; i < words.positional.size(); ++i) {
    std::string_view word = words.positional[i];
    std::string_view key, value;
    if (word.starts_with("options:")) {
      if (!split_key_value(word.substr(8), key, value) || key.empty()) {
        return cli_usage("add-port: " + std::string(word) + ": expected options:KEY=VALUE");
      }
      if (options.contains(key)) return cli_usage("add-port: option " + std::string(key) + " given twice");
      options[std::string(key)] = std::string(value);
      continue;
    }
    if (!split_key_value(word, key, value)) {
      return cli_usage("add-port: unexpected argument '" + std::string(word) +
                       "' (expected type=TYPE, ofport=N or options:KEY=VALUE)");
    }
    if (key == "type") {
      if (type_given) return cli_usage("add-port: type given twice");
      if (value != "system" && value != "dummy" && value != "vxlan") {
        return cli_usage("add-port: " + std::string(word) +
                         ": expected type=system, type=dummy or type=vxlan");
      }
      args["type"] = std::string(value);
      type_given = true;
    } else if (key == "ofport" || key == "ofport_request") {
      if (args.contains("ofport")) return cli_usage("add-port: ofport given twice");
      // OpenFlow port numbers stop below OFPP_MAX (0xff00): the rest are reserved ports.
      auto number = parse_cli_number(words, word, value, 1, 0xfeff);
      if (!number) return number.status();
      args["ofport"] = *number;
    } else {
      return cli_usage("add-port: unknown key '" + std::string(key) + "' in '" + std::string(word) +
                       "' (expected type=TYPE, ofport=N or options:KEY=VALUE)");
    }
  }
  // ovs-vsctl's default interface type is the system device of that name.
  if (!type_given) args["type"] = "system";
  if (!options.empty()) args["options"] = std::move(options);
  return args;
}

Result<nlohmann::json> build_del_port(const CliCommandWords& words, const CliFileReader&) {
  nlohmann::json args = nlohmann::json::object();
  const std::string& port = words.positional.back();
  if (words.positional.size() == 2) {
    if (Status ok = require_nonempty(words, words.positional[0], "BRIDGE"); !ok) return ok;
    args["bridge"] = words.positional[0];
  }
  if (Status ok = require_nonempty(words, port, "PORT"); !ok) return ok;
  args["port"] = port;
  return args;
}

Result<nlohmann::json> build_set(const CliCommandWords& words, const CliFileReader&) {
  nlohmann::json args = nlohmann::json::object();
  for (const std::string& word : words.positional) {
    std::string_view key, value;
    if (!split_key_value(word, key, value)) {
      return cli_usage("set: unexpected argument '" + word + "' (expected flow_limit=N or max_idle=MS)");
    }
    std::string name;
    if (key == "flow_limit" || key == "flow-limit") {
      name = "flow_limit";
    } else if (key == "max_idle" || key == "max-idle") {
      name = "max_idle";
    } else {
      return cli_usage("set: unknown setting '" + std::string(key) + "' (expected flow_limit or max_idle)");
    }
    if (args.contains(name)) return cli_usage("set: " + name + " given twice");
    auto number = parse_cli_number(words, word, value, 1, UINT32_MAX);
    if (!number) return number.status();
    args[name] = *number;
  }
  return args;
}

Result<nlohmann::json> build_bridge_flow(const CliCommandWords& words, const CliFileReader&) {
  if (Status ok = require_nonempty(words, words.positional[0], "BRIDGE"); !ok) return ok;
  nlohmann::json args{{"bridge", words.positional[0]}};
  if (words.positional.size() > 1) {
    if (Status ok = require_nonempty(words, words.positional[1], "FLOW"); !ok) return ok;
    args["flow"] = words.positional[1];
  }
  if (words.has_flag("--strict")) args["strict"] = true;
  if (words.has_flag("--no-stats")) args["stats"] = false;
  return args;
}

Result<nlohmann::json> build_add_flows(const CliCommandWords& words, const CliFileReader& read_file) {
  if (Status ok = require_nonempty(words, words.positional[0], "BRIDGE"); !ok) return ok;
  const std::string& file = words.positional[1];
  if (Status ok = require_nonempty(words, file, "FILE"); !ok) return ok;
  auto text = read_file(file);
  if (!text) return text.status();
  nlohmann::json args{{"bridge", words.positional[0]},
                      {"flows", cli_flow_file_lines(*text)},
                      {"file", file == "-" ? std::string("stdin") : file}};
  if (words.has_flag("--bundle")) args["bundle"] = true;
  return args;
}

Result<nlohmann::json> build_dump_megaflows(const CliCommandWords& words, const CliFileReader&) {
  nlohmann::json args = nlohmann::json::object();
  if (words.has_flag("--table")) args["table"] = true;
  if (words.positional.empty()) return args;
  // Several filters (type=..., bridge=..., a match) travel as one string,
  // separated by spaces, as they would be typed.
  std::string filter;
  for (const std::string& word : words.positional) {
    if (Status ok = require_nonempty(words, word, "FILTER"); !ok) return ok;
    if (!filter.empty()) filter += ' ';
    filter += word;
  }
  args["filter"] = filter;
  return args;
}

Result<nlohmann::json> build_trace(const CliCommandWords& words, const CliFileReader&) {
  if (Status ok = require_nonempty(words, words.positional[0], "BRIDGE"); !ok) return ok;
  if (Status ok = require_nonempty(words, words.positional[1], "FLOW"); !ok) return ok;
  return nlohmann::json{{"bridge", words.positional[0]}, {"flow", words.positional[1]}};
}

// PORT then an optional KEY=N (inject's count, capture's max).
Result<nlohmann::json> build_port_and_count(const CliCommandWords& words, size_t first_optional,
                                            std::string_view count_key) {
  nlohmann::json args{{"port", words.positional[0]}};
  if (Status ok = require_nonempty(words, words.positional[0], "PORT"); !ok) return ok;
  if (words.positional.size() > first_optional) {
    const std::string& word = words.positional[first_optional];
    std::string_view key, value;
    if (!split_key_value(word, key, value) || key != count_key) {
      return cli_usage(words.command + ": unexpected argument '" + word + "' (expected " +
                       std::string(count_key) + "=N)");
    }
    auto number = parse_cli_number(words, word, value, 1, UINT32_MAX);
    if (!number) return number.status();
    args[std::string(count_key)] = *number;
  }
  return args;
}

Result<nlohmann::json> build_inject(const CliCommandWords& words, const CliFileReader&) {
  auto args = build_port_and_count(words, 2, "count");
  if (!args) return args;
  if (Status ok = require_nonempty(words, words.positional[1], "PACKET"); !ok) return ok;
  (*args)["packet"] = words.positional[1];
  return args;
}

Result<nlohmann::json> build_capture(const CliCommandWords& words, const CliFileReader&) {
  return build_port_and_count(words, 1, "max");
}

Result<nlohmann::json> build_counters(const CliCommandWords& words, const CliFileReader&) {
  nlohmann::json args = nlohmann::json::object();
  if (words.has_flag("--compare")) args["compare"] = true;
  return args;
}

Result<nlohmann::json> build_revalidate(const CliCommandWords& words, const CliFileReader&) {
  nlohmann::json args = nlohmann::json::object();
  if (words.has_flag("--purge")) args["purge"] = true;
  return args;
}

const std::vector<CliCommandSpec>& cli_commands() {
  static const std::vector<CliCommandSpec> commands = {
      {"show", "[BRIDGE]", "bridges, ports and their counters", {}, 0, 1, build_optional_bridge},
      {"add-bridge", "BRIDGE", "create a bridge", {}, 1, 1, build_bridge_only},
      {"del-bridge", "BRIDGE", "delete a bridge and its ports", {}, 1, 1, build_bridge_only},
      {"add-port",
       "BRIDGE PORT [type=system|dummy|vxlan] [ofport=N] [options:KEY=VALUE]...",
       "add a port (type defaults to system)",
       {},
       2,
       SIZE_MAX,
       build_add_port},
      {"del-port", "[BRIDGE] PORT", "delete a port", {}, 1, 2, build_del_port},
      {"set", "[flow_limit=N] [max_idle=MS]", "datapath flow limit, megaflow idle time", {}, 1, 2, build_set},
      {"add-flow", "BRIDGE FLOW", "add an OpenFlow rule (ovs-ofctl syntax)", {}, 2, 2, build_bridge_flow},
      {"add-flows",
       "BRIDGE FILE [--bundle]",
       "add the rules of FILE ('-': stdin); --bundle: all or none",
       {"--bundle"},
       2,
       2,
       build_add_flows},
      {"mod-flows",
       "BRIDGE FLOW [--strict]",
       "modify the actions of matching rules",
       {"--strict"},
       2,
       2,
       build_bridge_flow},
      {"del-flows",
       "BRIDGE [FLOW] [--strict]",
       "delete matching rules (all without FLOW)",
       {"--strict"},
       1,
       2,
       build_bridge_flow},
      {"dump-flows",
       "BRIDGE [FLOW] [--no-stats]",
       "print the rules (ovs-ofctl dump-flows)",
       {"--no-stats"},
       1,
       2,
       build_bridge_flow},
      {"dump-megaflows",
       "[FILTER]... [--type T] [--table]",
       "print the datapath's megaflows (type=, bridge=, or a match); --table: one aligned row each",
       {"--table"},
       0,
       SIZE_MAX,
       build_dump_megaflows},
      {"trace", "BRIDGE FLOW", "show how FLOW is translated (ofproto/trace)", {}, 2, 2, build_trace},
      {"inject",
       "PORT PACKET [count=N]",
       "receive PACKET (ovs-dpctl flow text or hex) on a dummy port",
       {},
       2,
       3,
       build_inject},
      {"capture", "PORT [max=N]", "frames a dummy port sent since the last capture", {}, 1, 2, build_capture},
      {"counters",
       "[--compare]",
       "datapath, upcall and revalidator counters; --compare: hardware, TC software and datapath "
       "counters per megaflow and per rule",
       {"--compare"},
       0,
       0,
       build_counters},
      {"revalidate",
       "[--purge]",
       "wait for a revalidation round, or delete every megaflow",
       {"--purge"},
       0,
       0,
       build_revalidate},
  };
  return commands;
}

const CliCommandSpec* find_cli_command(std::string_view name) {
  for (const CliCommandSpec& spec : cli_commands()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::string plural_arguments(size_t count) {
  return std::to_string(count) + (count == 1 ? " argument" : " arguments");
}

Result<std::string> read_stream(std::istream& stream, const std::string& name) {
  std::ostringstream text;
  text << stream.rdbuf();
  if (stream.bad()) return Status(EIO, "cannot read " + name);
  return text.str();
}

}  // namespace

nlohmann::json cli_flow_file_lines(std::string_view text) {
  nlohmann::json lines = nlohmann::json::array();
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(std::string(line));
    if (newline == std::string_view::npos) break;
    text.remove_prefix(newline + 1);
  }
  return lines;
}

Result<nlohmann::json> cli_request_for_command(std::span<const std::string> command_and_arguments,
                                               const CliFileReader& read_file) {
  if (command_and_arguments.empty()) return cli_usage("missing command (try 'flowlift help')");
  const std::string& command = command_and_arguments[0];
  const CliCommandSpec* spec = find_cli_command(command);
  if (spec == nullptr) return cli_usage("unknown command '" + command + "' (try 'flowlift help')");

  CliCommandWords words;
  words.command = command;
  const std::span<const std::string> arguments = command_and_arguments.subspan(1);
  for (size_t at = 0; at < arguments.size(); ++at) {
    const std::string& word = arguments[at];
    // dump-megaflows --type T (or --type=T) is dpctl's type=T filter term.
    if (spec->name == "dump-megaflows" && (word == "--type" || word.starts_with("--type="))) {
      std::string type =
          word == "--type" ? (at + 1 < arguments.size() ? arguments[++at] : "") : word.substr(7);
      if (type.empty())
        return cli_usage(command + ": --type needs offloaded, non-offloaded, tc, datapath or all");
      words.positional.push_back("type=" + type);
      continue;
    }
    if (word.size() > 2 && word.starts_with("--")) {
      bool allowed = false;
      for (std::string_view flag : spec->flags) allowed = allowed || flag == word;
      if (!allowed)
        return cli_usage(command + ": unknown option '" + word + "' (usage: " + synopsis(*spec) + ")");
      if (!words.has_flag(word)) words.flags.push_back(word);
      continue;
    }
    words.positional.push_back(word);
  }
  if (words.positional.size() < spec->min_positional) {
    return cli_usage(command + ": missing arguments, got " + plural_arguments(words.positional.size()) +
                     " (usage: " + synopsis(*spec) + ")");
  }
  if (words.positional.size() > spec->max_positional) {
    return cli_usage(command + ": unexpected argument '" + words.positional[spec->max_positional] +
                     "' (usage: " + synopsis(*spec) + ")");
  }
  auto args = spec->build(words, read_file);
  if (!args) return args.status();
  return nlohmann::json{{"command", command}, {"args", std::move(*args)}};
}

Result<CliInvocation> parse_cli_arguments(std::span<const std::string> arguments,
                                          const CliFileReader& read_file) {
  CliInvocation invocation;
  invocation.control_path = std::string(kControlDefaultSocketPath);
  invocation.timeout = kControlDefaultTimeout;
  size_t at = 0;
  // The value of option `name` given as "--name=VALUE" or "--name VALUE".
  auto option_value = [&](std::string_view name, std::string& value) -> Result<bool> {
    const std::string& word = arguments[at];
    std::string prefix = std::string(name) + "=";
    if (word.starts_with(prefix)) {
      value = word.substr(prefix.size());
      return true;
    }
    if (word != name) return false;
    if (at + 1 >= arguments.size()) return cli_usage("option " + std::string(name) + " needs a value");
    value = arguments[++at];
    return true;
  };
  for (; at < arguments.size(); ++at) {
    const std::string& word = arguments[at];
    if (!word.starts_with("-") || word == "-") break;
    std::string value;
    if (word == "--json") {
      invocation.json_output = true;
      continue;
    }
    if (word == "--help" || word == "-h") {
      invocation.help = true;
      return invocation;
    }
    auto control = option_value("--control", value);
    if (!control) return control.status();
    if (*control) {
      if (value.empty()) return cli_usage("option --control needs a socket path");
      invocation.control_path = value;
      continue;
    }
    auto timeout = option_value("--timeout", value);
    if (!timeout) return timeout.status();
    if (*timeout) {
      uint64_t seconds = 0;
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (value.empty() || error != std::errc() || end != value.data() + value.size() || seconds == 0 ||
          seconds > 86400) {
        return cli_usage("--timeout=" + value + ": expected seconds from 1 to 86400");
      }
      invocation.timeout = std::chrono::seconds(seconds);
      continue;
    }
    return cli_usage("unknown option '" + word + "' (try 'flowlift help')");
  }
  std::span<const std::string> rest = arguments.subspan(at);
  if (!rest.empty() && rest[0] == "help") {
    invocation.help = true;
    return invocation;
  }
  auto request = cli_request_for_command(rest, read_file);
  if (!request) return request.status();
  invocation.request = std::move(*request);
  return invocation;
}

std::string cli_usage_text() {
  std::string text =
      "usage: flowlift [--control PATH] [--json] [--timeout SECONDS] COMMAND [ARG...]\n"
      "Drives flowliftd over its control socket (default " +
      std::string(kControlDefaultSocketPath) + ").\n\nCommands:\n";
  for (const CliCommandSpec& spec : cli_commands()) {
    text += "  " + synopsis(spec) + "\n      " + std::string(spec.summary) + "\n";
  }
  text +=
      "  conformance --port DEV --peer DEV --out DEV --out-peer DEV [--policy ...] [--json|--markdown]\n"
      "      run the offload conformance suite on these devices, locally as root (not through\n"
      "      flowliftd); `flowlift conformance --help` says more\n"
      "  help\n      this text\n\n"
      "--json prints the structured result instead of the text.\n"
      "Exit status: 0 done, 1 flowliftd refused or could not be reached, 2 usage error.\n";
  return text;
}

int run_cli(std::span<const std::string> arguments, std::istream& input, std::ostream& output,
            std::ostream& errors) {
  // Local commands: they act on this host's devices themselves, without flowliftd.
  if (!arguments.empty() && arguments.front() == "conformance")
    return run_conformance_command(arguments.subspan(1), output, errors);
  CliFileReader read_file = [&input](const std::string& name) -> Result<std::string> {
    if (name == "-") return read_stream(input, "standard input");
    std::ifstream file(name, std::ios::binary);
    if (!file)
      return Status(errno != 0 ? errno : ENOENT, "cannot open " + name + ": " + std::strerror(errno));
    return read_stream(file, name);
  };
  auto invocation = parse_cli_arguments(arguments, read_file);
  if (!invocation) {
    errors << "flowlift: " << invocation.status().message() << "\n";
    return invocation.status().code() == kCliUsageError ? 2 : 1;
  }
  if (invocation->help) {
    output << cli_usage_text();
    return 0;
  }
  auto response = control_request(invocation->control_path, invocation->request, invocation->timeout);
  if (!response) {
    errors << "flowlift: " << response.status().message() << "\n";
    return 1;
  }
  auto ok = response->find("ok");
  if (ok == response->end() || !ok->is_boolean() || !ok->get<bool>()) {
    auto error = response->find("error");
    std::string message = error != response->end() && error->is_string()
                              ? error->get<std::string>()
                              : "flowliftd answered an error without a message";
    errors << "flowlift: " << message << "\n";
    return 1;
  }
  if (invocation->json_output) {
    nlohmann::json result = response->contains("result") ? (*response)["result"] : nlohmann::json::object();
    output << result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  auto text = response->find("text");
  if (text != response->end() && text->is_string()) {
    const std::string& printed = text->get_ref<const std::string&>();
    output << printed;
    if (!printed.empty() && printed.back() != '\n') output << "\n";
  }
  return 0;
}

}  // namespace flowlift
