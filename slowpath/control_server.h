// ControlServer: flowliftd's control socket (docs/control-protocol.md), the
// unix stream socket the CLI talks to. It owns the listening socket, the
// connections and their threads; what a request means belongs to the
// handler it is given (SwitchCore::handle in the daemon, fakes in tests).
//
// Shape, and why: one thread accepts; each connection gets its own thread,
// up to max_connections. A request may block for a long time (`revalidate`
// waits for a whole revalidation round), and a thread per connection keeps
// one slow request from stalling every other client, which a single poll
// loop calling the handler inline would not. Connections are few (a CLI run
// is one), so the cap is small and a client beyond it is told why.
//
// Framing: one JSON object per line, each answered by exactly one line, in
// order. A malformed line, a value that is not an object, or a line longer
// than max_line_bytes gets an error response saying which, and that
// connection is closed: after a framing error nothing later on it can be
// trusted to start at a line boundary. Other connections are unaffected.
//
// stop() wakes every thread through one eventfd that is never drained (so it
// stays readable for all of them), waits for requests already in the handler
// to finish, joins, and unlinks the socket file.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "flowlift/status.h"

namespace flowlift {

// One request object -> one response object. Called from connection
// threads, concurrently. The server echoes the request's "id" itself.
using ControlRequestHandler = std::function<nlohmann::json(const nlohmann::json& request)>;

inline constexpr size_t kControlMaxLineBytes = size_t{16} << 20;  // 16 MiB, the protocol's limit

struct ControlServerOptions {
  std::string socket_path;
  size_t max_line_bytes = kControlMaxLineBytes;
  size_t max_connections = 64;
};

class ControlServer {
 public:
  // Creates the socket's parent directory (mode 0700) when missing, replaces
  // a stale socket file left by a daemon that died, and refuses (EADDRINUSE)
  // when another process is accepting on the path. The socket is mode 0600.
  // Threads start at once.
  static Result<std::unique_ptr<ControlServer>> start(ControlServerOptions options,
                                                      ControlRequestHandler handler);

  struct State;
  // Reached through start() only: State is defined in control_server.cc.
  explicit ControlServer(std::unique_ptr<State> state);
  ~ControlServer();  // stop()
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Idempotent. After it returns no handler call is running or will start,
  // and the socket file is gone.
  void stop();

  const std::string& socket_path() const;

  // Connections accepted since start (for logs and tests).
  size_t connections_accepted() const;

 private:
  std::unique_ptr<State> state_;
};

// The response sent for `request` when the handler answers `response`:
// the request's "id" echoed (when it has one), "ok" always present.
nlohmann::json control_response_for(const nlohmann::json& request, nlohmann::json response);

}  // namespace flowlift
