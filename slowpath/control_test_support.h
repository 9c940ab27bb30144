// Test support for the control socket's tests: a private temporary
// directory for sockets, and a raw client that writes exact bytes and reads
// lines, for the framing cases ControlConnection is too polite to produce.
#pragma once

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "slowpath/control_client.h"
#include "slowpath/scoped_descriptor.h"

namespace flowlift {

class ControlTestDirectory {
 public:
  ControlTestDirectory() {
    char pattern[] = "/tmp/flowlift-control-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    path_ = made != nullptr ? made : "";
  }
  ~ControlTestDirectory() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  ControlTestDirectory(const ControlTestDirectory&) = delete;
  ControlTestDirectory& operator=(const ControlTestDirectory&) = delete;

  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

class RawControlClient {
 public:
  explicit RawControlClient(const std::string& path) {
    auto connected = connect_control_socket(path);
    if (connected) socket_ = std::move(*connected);
  }
  bool connected() const { return socket_.valid(); }
  int descriptor() const { return socket_.get(); }

  bool send_bytes(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t written = ::send(socket_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (written <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(written));
    }
    return true;
  }

  // The next line (without '\n'), or nothing when the server closed the
  // connection first. The 10 s bound only keeps a broken server from
  // hanging the test; nothing here measures time.
  std::optional<std::string> read_line() {
    while (true) {
      size_t newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      pollfd entry{socket_.get(), POLLIN, 0};
      if (::poll(&entry, 1, 10000) <= 0) return std::nullopt;
      char chunk[4096];
      ssize_t got = ::recv(socket_.get(), chunk, sizeof(chunk), 0);
      if (got <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(got));
    }
  }

  // True when the server has closed its end, with no further line pending:
  // end of file, or ECONNRESET when it closed with our bytes still unread.
  bool closed_by_server() {
    if (!buffer_.empty()) return false;
    pollfd entry{socket_.get(), POLLIN, 0};
    if (::poll(&entry, 1, 10000) <= 0) return false;
    char byte;
    ssize_t got = ::recv(socket_.get(), &byte, 1, 0);
    return got == 0 || (got < 0 && errno == ECONNRESET);
  }

  void close() { socket_.reset(); }

 private:
  ScopedDescriptor socket_;
  std::string buffer_;
};

}  // namespace flowlift
