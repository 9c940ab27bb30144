// The client side of flowliftd's control socket (docs/control-protocol.md):
// connect, send a request line, read its response line, each step bounded
// by a timeout so that a wedged daemon cannot hang the CLI. Errors say what
// the user can do about them ("is flowliftd running?").
#pragma once

#include <sys/un.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "flowlift/status.h"
#include "slowpath/scoped_descriptor.h"

namespace flowlift {

inline constexpr std::chrono::milliseconds kControlDefaultTimeout{60000};
// Where flowliftd listens and the CLI connects unless told otherwise.
inline constexpr std::string_view kControlDefaultSocketPath = "/run/flowlift/flowliftd.sock";

// The sockaddr for `path`; ENAMETOOLONG when it does not fit sun_path.
Result<sockaddr_un> control_socket_address(std::string_view path);

// A connected stream socket to `path`. Errors name the path; ENOENT and
// ECONNREFUSED read "cannot connect to PATH: is flowliftd running?".
Result<ScopedDescriptor> connect_control_socket(std::string_view path);

// One connection, any number of requests on it, one at a time.
class ControlConnection {
 public:
  static Result<ControlConnection> open(std::string path);

  // Sends `request` and returns the response object. ETIMEDOUT when nothing
  // complete arrives within `timeout`; EPROTO for a response that is not a
  // JSON object; ECONNRESET when the daemon closes the connection first.
  Result<nlohmann::json> request(const nlohmann::json& request,
                                 std::chrono::milliseconds timeout = kControlDefaultTimeout);

 private:
  ControlConnection(std::string path, ScopedDescriptor socket)
      : path_(std::move(path)), socket_(std::move(socket)) {}

  std::string path_;
  ScopedDescriptor socket_;
  std::string received_;  // bytes after the last response line
};

// open() + request(): what one CLI invocation does.
Result<nlohmann::json> control_request(std::string path, const nlohmann::json& request,
                                       std::chrono::milliseconds timeout = kControlDefaultTimeout);

}  // namespace flowlift
