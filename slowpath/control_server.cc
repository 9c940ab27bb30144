// The control socket's threads and framing. See control_server.h for the
// shape; the notes here are about the system calls.
#include "slowpath/control_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "flowlift/thread_name.h"
#include "slowpath/control_client.h"
#include "slowpath/json_text.h"
#include "slowpath/scoped_descriptor.h"

namespace flowlift {
namespace {

std::string errno_text(int error) { return std::strerror(error); }

// mkdir -p with mode 0700 for every directory it creates: the socket's
// directory guards it as much as the socket's own mode does. Directories
// that exist already are left as they are.
Status make_socket_directory(const std::string& socket_path) {
  size_t slash = socket_path.rfind('/');
  if (slash == std::string::npos || slash == 0) return Status::ok();
  std::string directory = socket_path.substr(0, slash);
  for (size_t at = 1; at <= directory.size(); ++at) {
    if (at != directory.size() && directory[at] != '/') continue;
    std::string prefix = directory.substr(0, at);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status(errno,
                    "cannot create directory " + prefix + " for the control socket: " + errno_text(errno));
    }
  }
  struct stat info;
  if (::stat(directory.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return Status(ENOTDIR, directory + " is not a directory");
  }
  return Status::ok();
}

// A socket file at `path` from an earlier daemon: removed when nobody
// accepts on it any more (the daemon died without cleaning up), refused when
// someone does. Anything that is not a socket is not ours to delete.
Status clear_stale_socket(const std::string& path) {
  struct stat info;
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return Status::ok();
    return Status(errno, "cannot examine " + path + ": " + errno_text(errno));
  }
  if (!S_ISSOCK(info.st_mode)) {
    return Status(EEXIST, path + " exists and is not a socket: remove it or choose another --control path");
  }
  auto probe = connect_control_socket(path);
  if (probe) return Status(EADDRINUSE, "another flowliftd is listening on " + path);
  if (probe.status().code() != ECONNREFUSED) {
    return Status(probe.status().code(),
                  "cannot tell whether " + path + " is in use: " + probe.status().message());
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status(errno, "cannot remove the stale socket " + path + ": " + errno_text(errno));
  }
  return Status::ok();
}

nlohmann::json control_error(std::string message) {
  return nlohmann::json{{"ok", false}, {"error", std::move(message)}};
}

}  // namespace

nlohmann::json control_response_for(const nlohmann::json& request, nlohmann::json response) {
  if (!response.is_object()) {
    response = control_error("internal error: the request handler answered " +
                             std::string(response.type_name()) + ", not an object");
  }
  if (!response.contains("ok")) response["ok"] = !response.contains("error");
  if (request.is_object()) {
    auto id = request.find("id");
    if (id != request.end()) {
      response["id"] = *id;
    } else {
      response.erase("id");
    }
  }
  return response;
}

struct ControlConnectionSlot {
  ScopedDescriptor socket;
  std::thread thread;
  std::atomic<bool> finished{false};
};

struct ControlServer::State {
  ControlServerOptions options;
  ControlRequestHandler handler;
  ScopedDescriptor listener;
  ScopedDescriptor wake;  // eventfd: written once by stop(), never read
  dev_t socket_device = 0;
  ino_t socket_inode = 0;
  std::thread acceptor;
  std::vector<std::unique_ptr<ControlConnectionSlot>> connections;  // the acceptor's alone until stop()
  std::atomic<size_t> accepted{0};
  bool stopped = false;

  void accept_loop();
  void serve_connection(ControlConnectionSlot& slot);
  void reap_finished_connections();
  // Sends `response` as one line; false when the connection is gone or the
  // server is stopping.
  bool send_line(int socket, const nlohmann::json& response);
  nlohmann::json answer(const nlohmann::json& request);
};

void ControlServer::State::reap_finished_connections() {
  std::erase_if(connections, [](std::unique_ptr<ControlConnectionSlot>& slot) {
    if (!slot->finished.load(std::memory_order_acquire)) return false;
    slot->thread.join();
    return true;
  });
}

void ControlServer::State::accept_loop() {
  while (true) {
    pollfd entries[2] = {{listener.get(), POLLIN, 0}, {wake.get(), POLLIN, 0}};
    if (::poll(entries, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (entries[1].revents != 0) return;
    if ((entries[0].revents & POLLIN) == 0) continue;
    ScopedDescriptor client(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!client.valid()) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors or memory: the connection stays queued and the
        // listener stays readable, so pause instead of spinning on it.
        pollfd wake_only{wake.get(), POLLIN, 0};
        ::poll(&wake_only, 1, 100);
      }
      continue;  // or the peer gave up before we accepted (ECONNABORTED)
    }
    accepted.fetch_add(1, std::memory_order_relaxed);
    reap_finished_connections();
    if (connections.size() >= options.max_connections) {
      send_line(client.get(),
                control_error("too many control connections (" + std::to_string(options.max_connections) +
                              " open): try again when one closes"));
      continue;
    }
    auto slot = std::make_unique<ControlConnectionSlot>();
    slot->socket = std::move(client);
    ControlConnectionSlot& slot_ref = *slot;
    slot->thread = std::thread([this, &slot_ref] {
      set_thread_name("control");
      serve_connection(slot_ref);
      slot_ref.socket.reset();
      slot_ref.finished.store(true, std::memory_order_release);
    });
    connections.push_back(std::move(slot));
  }
}

bool ControlServer::State::send_line(int socket, const nlohmann::json& response) {
  std::string line = json_to_line(response);
  line.push_back('\n');
  size_t sent = 0;
  while (sent < line.size()) {
    ssize_t written = ::send(socket, line.data() + sent, line.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (written >= 0) {
      sent += static_cast<size_t>(written);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return false;  // EPIPE, ECONNRESET: the client went away
    // The client is not reading yet: wait for room, or for stop().
    pollfd entries[2] = {{socket, POLLOUT, 0}, {wake.get(), POLLIN, 0}};
    if (::poll(entries, 2, -1) < 0 && errno != EINTR) return false;
    if (entries[1].revents != 0) return false;
    if ((entries[0].revents & (POLLERR | POLLHUP)) != 0) return false;
  }
  return true;
}

nlohmann::json ControlServer::State::answer(const nlohmann::json& request) {
  // The handler's contract is never to throw; this keeps one that breaks it
  // from taking the daemon down with a single bad request.
  try {
    return control_response_for(request, handler(request));
  } catch (const std::exception& error) {
    return control_response_for(request, control_error(std::string("internal error: ") + error.what()));
  } catch (...) {
    return control_response_for(request, control_error("internal error: unknown exception"));
  }
}

void ControlServer::State::serve_connection(ControlConnectionSlot& slot) {
  const int socket = slot.socket.get();
  std::string pending;  // received bytes not yet consumed
  size_t scanned = 0;   // bytes of `pending` known to hold no newline
  while (true) {
    pollfd entries[2] = {{socket, POLLIN, 0}, {wake.get(), POLLIN, 0}};
    if (::poll(entries, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (entries[1].revents != 0) return;
    if (entries[0].revents == 0) continue;
    char chunk[65536];
    ssize_t got = ::recv(socket, chunk, sizeof(chunk), 0);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return;  // ECONNRESET: the client vanished
    }
    if (got == 0) return;  // hangup; a partial line is simply dropped
    pending.append(chunk, static_cast<size_t>(got));

    size_t line_start = 0;
    while (true) {
      size_t newline = pending.find('\n', std::max(scanned, line_start));
      if (newline == std::string::npos) break;
      size_t length = newline - line_start;
      std::string_view line(pending.data() + line_start, length);
      line_start = newline + 1;
      if (length > options.max_line_bytes) {
        send_line(socket, control_error("request line longer than " + std::to_string(options.max_line_bytes) +
                                        " bytes; closing the connection"));
        return;
      }
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // a blank line asks nothing
      auto request = parse_json_text(line);
      if (!request) {
        send_line(socket, control_error("request is not valid JSON (" + request.status().message() +
                                        "); closing the connection"));
        return;
      }
      if (!request->is_object()) {
        send_line(socket, control_error("request must be a JSON object, not " +
                                        std::string(request->type_name()) + "; closing the connection"));
        return;
      }
      if (!send_line(socket, answer(*request))) return;
    }
    pending.erase(0, line_start);
    scanned = pending.size();
    if (pending.size() > options.max_line_bytes) {
      send_line(socket, control_error("request line longer than " + std::to_string(options.max_line_bytes) +
                                      " bytes; closing the connection"));
      return;
    }
  }
}

ControlServer::ControlServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

ControlServer::~ControlServer() { stop(); }

Result<std::unique_ptr<ControlServer>> ControlServer::start(ControlServerOptions options,
                                                            ControlRequestHandler handler) {
  if (!handler) return invalid_argument("control server needs a request handler");
  if (options.max_connections == 0) return invalid_argument("max_connections must be at least 1");
  const std::string& path = options.socket_path;
  auto address = control_socket_address(path);
  if (!address) return address.status();
  if (Status made = make_socket_directory(path); !made) return made;
  if (Status cleared = clear_stale_socket(path); !cleared) return cleared;

  auto state = std::make_unique<State>();
  state->listener = ScopedDescriptor(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!state->listener.valid()) return Status(errno, "cannot create a unix socket: " + errno_text(errno));
  if (::bind(state->listener.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof(sockaddr_un)) != 0) {
    if (errno == EADDRINUSE) {
      // Another daemon bound the path between our check and our bind.
      return Status(EADDRINUSE, "another flowliftd is listening on " + path);
    }
    return Status(errno, "cannot bind the control socket " + path + ": " + errno_text(errno));
  }
  // Mode before listen(): until listen() any connect is refused, so no
  // client can get in through the umask's wider mode in between.
  struct stat info;
  if (::chmod(path.c_str(), 0600) != 0 || ::lstat(path.c_str(), &info) != 0) {
    Status failed(errno, "cannot set mode 0600 on the control socket " + path + ": " + errno_text(errno));
    ::unlink(path.c_str());
    return failed;
  }
  state->socket_device = info.st_dev;
  state->socket_inode = info.st_ino;
  if (::listen(state->listener.get(), 16) != 0) {
    Status failed(errno, "cannot listen on the control socket " + path + ": " + errno_text(errno));
    ::unlink(path.c_str());
    return failed;
  }
  state->wake = ScopedDescriptor(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!state->wake.valid()) {
    Status failed(errno, "cannot create an eventfd: " + errno_text(errno));
    ::unlink(path.c_str());
    return failed;
  }
  state->options = std::move(options);
  state->handler = std::move(handler);
  State* raw = state.get();
  state->acceptor = std::thread([raw] {
    set_thread_name("control-accept");
    raw->accept_loop();
  });
  return std::make_unique<ControlServer>(std::move(state));
}

void ControlServer::stop() {
  if (!state_ || state_->stopped) return;
  state_->stopped = true;
  uint64_t one = 1;
  // Cannot fail: the eventfd's counter is 0 or 1, far from its maximum.
  ssize_t written = ::write(state_->wake.get(), &one, sizeof(one));
  static_cast<void>(written);
  state_->acceptor.join();
  for (auto& slot : state_->connections) slot->thread.join();
  state_->connections.clear();
  state_->listener.reset();
  // Unlink only the socket we created: if another daemon has since replaced
  // the file (after ours was judged stale), it is theirs.
  struct stat info;
  const std::string& path = state_->options.socket_path;
  if (::lstat(path.c_str(), &info) == 0 && info.st_dev == state_->socket_device &&
      info.st_ino == state_->socket_inode) {
    ::unlink(path.c_str());
  }
}

const std::string& ControlServer::socket_path() const { return state_->options.socket_path; }

size_t ControlServer::connections_accepted() const {
  return state_->accepted.load(std::memory_order_relaxed);
}

}  // namespace flowlift
