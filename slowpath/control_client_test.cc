#include "slowpath/control_client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <thread>

#include "slowpath/control_server.h"
#include "slowpath/control_test_support.h"

namespace flowlift {
namespace {

// A listening socket that does what the test tells it, instead of a server.
class ScriptedControlPeer {
 public:
  explicit ScriptedControlPeer(const std::string& path) {
    listener_ = ScopedDescriptor(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    auto address = control_socket_address(path);
    bound_ =
        address.is_ok() &&
        ::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof(sockaddr_un)) == 0 &&
        ::listen(listener_.get(), 4) == 0;
  }
  bool bound() const { return bound_; }
  // Accepts one connection, reads its first line, replies `reply` (may be
  // empty: then just closes).
  std::thread serve_once(std::string reply) {
    return std::thread([this, reply] {
      ScopedDescriptor client(::accept(listener_.get(), nullptr, nullptr));
      std::string received;
      char byte;
      while (received.find('\n') == std::string::npos && ::recv(client.get(), &byte, 1, 0) == 1)
        received += byte;
      if (!reply.empty()) ::send(client.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
    });
  }

 private:
  ScopedDescriptor listener_;
  bool bound_ = false;
};

TEST(ControlClient, MissingSocketAsksWhetherFlowliftdIsRunning) {
  ControlTestDirectory directory;
  std::string path = directory.file("none.sock");
  auto response = control_request(path, {{"command", "show"}});
  ASSERT_FALSE(response.is_ok());
  EXPECT_EQ(response.status().code(), ENOENT);
  EXPECT_EQ(response.status().message().rfind("cannot connect to " + path + ": is flowliftd running?", 0), 0u)
      << response.status().message();
}

TEST(ControlClient, PathTooLongIsNamed) {
  auto response = control_request("/tmp/" + std::string(150, 'p'), {{"command", "show"}});
  EXPECT_EQ(response.status().code(), ENAMETOOLONG);
}

TEST(ControlClient, RequestsOnOneConnectionGetTheirOwnResponses) {
  ControlTestDirectory directory;
  std::string path = directory.file("flowliftd.sock");
  ControlServerOptions options;
  options.socket_path = path;
  auto server = ControlServer::start(options, [](const nlohmann::json& request) {
    return nlohmann::json{{"ok", true}, {"result", request["args"]}};
  });
  ASSERT_TRUE(server.is_ok()) << server.status().message();
  auto connection = ControlConnection::open(path);
  ASSERT_TRUE(connection.is_ok());
  for (int n = 0; n < 3; ++n) {
    auto response = connection->request({{"id", n}, {"command", "x"}, {"args", {{"n", n}}}});
    ASSERT_TRUE(response.is_ok()) << response.status().message();
    EXPECT_EQ((*response)["id"], n);
    EXPECT_EQ((*response)["result"]["n"], n);
  }
}

TEST(ControlClient, RequestOverTheDaemonsLimitGetsTheDaemonsReasonNotABrokenPipe) {
  ControlTestDirectory directory;
  std::string path = directory.file("flowliftd.sock");
  ControlServerOptions options;
  options.socket_path = path;
  options.max_line_bytes = 1024;
  auto server = ControlServer::start(options, [](const nlohmann::json&) {
    return nlohmann::json{{"ok", true}};
  });
  ASSERT_TRUE(server.is_ok()) << server.status().message();
  // Far more than the socket buffers hold, so the server closes mid-send.
  nlohmann::json request{{"command", "add-flows"}, {"args", {{"flows", std::string(8 << 20, 'x')}}}};
  auto response = control_request(path, request);
  ASSERT_TRUE(response.is_ok()) << response.status().message();
  EXPECT_EQ((*response)["ok"], false);
  EXPECT_NE((*response)["error"].get<std::string>().find("longer than 1024 bytes"), std::string::npos);
}

TEST(ControlClient, DaemonThatNeverAnswersTimesOut) {
  ControlTestDirectory directory;
  std::string path = directory.file("mute.sock");
  ScriptedControlPeer peer(path);  // listens, never accepts: connect succeeds through the backlog
  ASSERT_TRUE(peer.bound());
  auto response = control_request(path, {{"command", "show"}}, std::chrono::milliseconds(20));
  ASSERT_FALSE(response.is_ok());
  EXPECT_EQ(response.status().code(), ETIMEDOUT);
  EXPECT_EQ(response.status().message(), "no response from flowliftd on " + path + " within 20 ms");
}

TEST(ControlClient, DaemonClosingWithoutAnsweringIsReported) {
  ControlTestDirectory directory;
  std::string path = directory.file("closer.sock");
  ScriptedControlPeer peer(path);
  ASSERT_TRUE(peer.bound());
  std::thread served = peer.serve_once("");
  auto response = control_request(path, {{"command", "show"}});
  served.join();
  EXPECT_EQ(response.status().code(), ECONNRESET);
  EXPECT_NE(response.status().message().find("closed the connection"), std::string::npos);
}

TEST(ControlClient, ResponseThatIsNotAJsonObjectIsAProtocolError) {
  ControlTestDirectory directory;
  std::string path = directory.file("garbage.sock");
  ScriptedControlPeer peer(path);
  ASSERT_TRUE(peer.bound());
  std::thread served = peer.serve_once("[1]\n");
  auto response = control_request(path, {{"command", "show"}});
  served.join();
  EXPECT_EQ(response.status().code(), EPROTO);
  EXPECT_NE(response.status().message().find("not a JSON object but array"), std::string::npos);
  std::thread served_again = peer.serve_once("{oops\n");
  response = control_request(path, {{"command", "show"}});
  served_again.join();
  EXPECT_EQ(response.status().code(), EPROTO);
  EXPECT_NE(response.status().message().find("parse error"), std::string::npos);
}

}  // namespace
}  // namespace flowlift
