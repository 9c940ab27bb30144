// The `flowlift` command line (what ovs-vsctl, ovs-ofctl, ovs-dpctl and
// ovs-appctl are to Open vSwitch, in one tool over flowliftd's control
// socket). Turning argv into a request is a pure function, so that every
// command's request is unit-tested without a socket; run_cli() adds the
// socket and the printing, and tools/flowlift.cc is only its caller.
//
//   flowlift [--control PATH] [--json] [--timeout SECONDS] COMMAND ARGS...
//
// Exit status: 0 done; 1 flowliftd refused the request or could not be
// reached (the message on stderr, "flowlift: <error>"); 2 usage error
// (the message names the argument that was wrong).
#pragma once

#include <chrono>
#include <functional>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "flowlift/status.h"

namespace flowlift {

// The Status code of a usage error (exit 2). Any other code is a failure
// to act (exit 1): a file that cannot be read, a daemon that does not answer.
inline constexpr int kCliUsageError = EINVAL;

// Reads the file `add-flows` names ("-": standard input).
using CliFileReader = std::function<Result<std::string>(const std::string& name)>;

struct CliInvocation {
  std::string control_path;
  bool json_output = false;
  std::chrono::milliseconds timeout{0};
  bool help = false;       // `help`, --help, -h: print cli_usage_text(), send nothing
  nlohmann::json request;  // {"command": ..., "args": {...}} (docs/control-protocol.md)
};

// `arguments` excludes the program name.
Result<CliInvocation> parse_cli_arguments(std::span<const std::string> arguments,
                                          const CliFileReader& read_file);

// COMMAND ARGS... -> the request object. Errors have code kCliUsageError
// except add-flows' file that cannot be read.
Result<nlohmann::json> cli_request_for_command(std::span<const std::string> command_and_arguments,
                                               const CliFileReader& read_file);

// The lines of an add-flows file as sent to the daemon: split at '\n', a
// trailing '\r' removed, no empty last line for a final newline. Comments and
// blank lines are kept so the daemon's "line N" counts the file's lines.
nlohmann::json cli_flow_file_lines(std::string_view text);

std::string cli_usage_text();

// The whole CLI: parse, send, print. `input` is what "-" reads.
int run_cli(std::span<const std::string> arguments, std::istream& input, std::ostream& output,
            std::ostream& errors);

}  // namespace flowlift
