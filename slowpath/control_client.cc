// Deadlines, not per-call timeouts: the timeout bounds the whole exchange
// (send and receive), so a daemon trickling bytes cannot stretch it.
#include "slowpath/control_client.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "slowpath/json_text.h"

namespace flowlift {
namespace {

using ControlClock = std::chrono::steady_clock;

std::string errno_text(int error) { return std::strerror(error); }

// Milliseconds left until `deadline` for poll(); 0 once it has passed.
int poll_milliseconds_until(ControlClock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - ControlClock::now()).count();
  if (left <= 0) return 0;
  return left > 1000000 ? 1000000 : static_cast<int>(left);
}

// Waits for `events` on `descriptor` until `deadline`: true when ready.
bool wait_ready(int descriptor, short events, ControlClock::time_point deadline) {
  while (true) {
    pollfd entry{descriptor, events, 0};
    int ready = ::poll(&entry, 1, poll_milliseconds_until(deadline));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace

Result<sockaddr_un> control_socket_address(std::string_view path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty()) return invalid_argument("control socket path is empty");
  if (path.size() >= sizeof(address.sun_path)) {
    return Status(ENAMETOOLONG, "control socket path " + std::string(path) + " is longer than " +
                                    std::to_string(sizeof(address.sun_path) - 1) + " bytes");
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  return address;
}

Result<ScopedDescriptor> connect_control_socket(std::string_view path) {
  auto address = control_socket_address(path);
  if (!address) return address.status();
  ScopedDescriptor socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket.valid()) return Status(errno, "cannot create a unix socket: " + errno_text(errno));
  int result;
  do {
    result = ::connect(socket.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof(sockaddr_un));
  } while (result != 0 && errno == EINTR);
  if (result != 0) {
    int error = errno;
    std::string prefix = "cannot connect to " + std::string(path) + ": ";
    if (error == ENOENT || error == ECONNREFUSED) {
      return Status(error, prefix + "is flowliftd running? (" + errno_text(error) + ")");
    }
    if (error == EACCES) {
      return Status(error, prefix + errno_text(error) + " (the socket is mode 0600: run as its owner)");
    }
    return Status(error, prefix + errno_text(error));
  }
  return socket;
}

Result<ControlConnection> ControlConnection::open(std::string path) {
  auto socket = connect_control_socket(path);
  if (!socket) return socket.status();
  return ControlConnection(std::move(path), std::move(*socket));
}

Result<nlohmann::json> ControlConnection::request(const nlohmann::json& request,
                                                  std::chrono::milliseconds timeout) {
  if (!socket_.valid()) return Status(ENOTCONN, "connection to " + path_ + " is closed");
  auto deadline = ControlClock::now() + timeout;
  auto timed_out = [&] {
    socket_.reset();
    return Status(ETIMEDOUT, "no response from flowliftd on " + path_ + " within " +
                                 std::to_string(timeout.count()) + " ms");
  };
  auto lost = [&](int error, const std::string& what) {
    socket_.reset();
    return Status(error, what + " " + path_ + ": " + errno_text(error));
  };

  std::string line = json_to_line(request);
  line.push_back('\n');
  size_t sent = 0;
  int send_error = 0;
  while (sent < line.size()) {
    if (!wait_ready(socket_.get(), POLLOUT, deadline)) return timed_out();
    ssize_t written =
        ::send(socket_.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (written < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno != EPIPE && errno != ECONNRESET) return lost(errno, "cannot send the request to");
      // The daemon closed while we were still sending (a request over its
      // size limit): it said why first, so read that rather than report a
      // bare broken pipe.
      send_error = errno;
      break;
    }
    sent += static_cast<size_t>(written);
  }

  size_t newline;
  while ((newline = received_.find('\n')) == std::string::npos) {
    if (!wait_ready(socket_.get(), POLLIN, deadline)) return timed_out();
    char chunk[65536];
    ssize_t got = ::recv(socket_.get(), chunk, sizeof(chunk), MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (send_error != 0) return lost(send_error, "cannot send the request to");
      return lost(errno, "cannot read the response from");
    }
    if (got == 0) {
      socket_.reset();
      if (send_error != 0) {
        return Status(send_error, "cannot send the request to " + path_ + ": " + errno_text(send_error));
      }
      return Status(ECONNRESET, "flowliftd closed the connection on " + path_ + " without answering");
    }
    received_.append(chunk, static_cast<size_t>(got));
  }
  std::string response_text = received_.substr(0, newline);
  received_.erase(0, newline + 1);
  auto response = parse_json_text(response_text);
  if (!response) return Status(EPROTO, "bad response from " + path_ + ": " + response.status().message());
  if (!response->is_object()) {
    return Status(EPROTO, "bad response from " + path_ + ": not a JSON object but " +
                              std::string(response->type_name()));
  }
  return response;
}

Result<nlohmann::json> control_request(std::string path, const nlohmann::json& request,
                                       std::chrono::milliseconds timeout) {
  auto connection = ControlConnection::open(std::move(path));
  if (!connection) return connection.status();
  return connection->request(request, timeout);
}

}  // namespace flowlift
