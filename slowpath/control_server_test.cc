#include "slowpath/control_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "slowpath/control_test_support.h"
#include "slowpath/json_text.h"

namespace flowlift {
namespace {

// Answers {"result": {"command": C, "args": A}} so tests see what arrived.
nlohmann::json echo_handler(const nlohmann::json& request) {
  nlohmann::json result{{"command", request.value("command", "")},
                        {"args", request.value("args", nlohmann::json::object())}};
  return nlohmann::json{{"ok", true}, {"result", std::move(result)}, {"text", "done\n"}};
}

std::unique_ptr<ControlServer> start_server(const std::string& path,
                                            ControlRequestHandler handler = echo_handler,
                                            size_t max_line_bytes = kControlMaxLineBytes,
                                            size_t max_connections = 64) {
  ControlServerOptions options;
  options.socket_path = path;
  options.max_line_bytes = max_line_bytes;
  options.max_connections = max_connections;
  auto server = ControlServer::start(options, std::move(handler));
  EXPECT_TRUE(server.is_ok()) << server.status().message();
  return server ? std::move(*server) : nullptr;
}

nlohmann::json parse_line(const std::optional<std::string>& line) {
  EXPECT_TRUE(line.has_value());
  if (!line) return nullptr;
  auto parsed = parse_json_text(*line);
  EXPECT_TRUE(parsed.is_ok()) << *line;
  return parsed ? *parsed : nlohmann::json();
}

class ControlServerTest : public ::testing::Test {
 protected:
  ControlTestDirectory directory_;
  std::string socket_path_ = directory_.file("run/flowliftd.sock");
};

TEST_F(ControlServerTest, AnswersARequestWithOneLineEchoingItsId) {
  auto server = start_server(socket_path_);
  RawControlClient client(socket_path_);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send_bytes(R"({"id": {"tag": [7]}, "command": "show", "args": {"bridge": "br0"}})"
                                "\n"));
  nlohmann::json response = parse_line(client.read_line());
  EXPECT_EQ(response["id"], nlohmann::json({{"tag", {7}}}));
  EXPECT_EQ(response["ok"], true);
  EXPECT_EQ(response["result"]["command"], "show");
  EXPECT_EQ(response["result"]["args"]["bridge"], "br0");
  EXPECT_EQ(response["text"], "done\n");
}

TEST_F(ControlServerTest, RequestWithoutIdGetsResponseWithoutId) {
  // The handler tries to answer with an id of its own; the server echoes the
  // request's, which here is absent.
  auto server = start_server(socket_path_, [](const nlohmann::json&) {
    return nlohmann::json{{"ok", true}, {"id", 99}, {"result", nlohmann::json::object()}};
  });
  RawControlClient client(socket_path_);
  ASSERT_TRUE(client.send_bytes("{\"command\": \"counters\"}\n"));
  nlohmann::json response = parse_line(client.read_line());
  EXPECT_FALSE(response.contains("id"));
  EXPECT_EQ(response["ok"], true);
}

TEST_F(ControlServerTest, PipelinedRequestsAreAnsweredInOrder) {
  auto server = start_server(socket_path_);
  RawControlClient client(socket_path_);
  std::string requests;
  for (int id = 1; id <= 5; ++id) {
    requests += R"({"id": )" + std::to_string(id) + R"(, "command": "c)" + std::to_string(id) + "\"}\n";
  }
  ASSERT_TRUE(client.send_bytes(requests));  // one write: all five in the server's buffer at once
  for (int id = 1; id <= 5; ++id) {
    nlohmann::json response = parse_line(client.read_line());
    EXPECT_EQ(response["id"], id);
    EXPECT_EQ(response["result"]["command"], "c" + std::to_string(id));
  }
}

TEST_F(ControlServerTest, RequestSplitAcrossWritesIsOneRequest) {
  auto server = start_server(socket_path_);
  RawControlClient client(socket_path_);
  ASSERT_TRUE(client.send_bytes("{\"id\": 3, \"comm"));
  ASSERT_TRUE(client.send_bytes("and\": \"show\"}\r"));
  ASSERT_TRUE(client.send_bytes("\n"));
  nlohmann::json response = parse_line(client.read_line());
  EXPECT_EQ(response["id"], 3);
  EXPECT_EQ(response["result"]["command"], "show");
}

TEST_F(ControlServerTest, BlankLinesAskNothing) {
  auto server = start_server(socket_path_);
  RawControlClient client(socket_path_);
  ASSERT_TRUE(client.send_bytes("\n  \n{\"id\": 1, \"command\": \"show\"}\n"));
  EXPECT_EQ(parse_line(client.read_line())["id"], 1);
}

TEST_F(ControlServerTest, MalformedJsonIsNamedAndClosesOnlyThatConnection) {
  auto server = start_server(socket_path_);
  RawControlClient bad(socket_path_);
  RawControlClient good(socket_path_);
  ASSERT_TRUE(bad.send_bytes("{\"id\": 1, \"command\": }\n{\"id\": 2, \"command\": \"show\"}\n"));
  nlohmann::json response = parse_line(bad.read_line());
  EXPECT_EQ(response["ok"], false);
  std::string error = response["error"];
  EXPECT_NE(error.find("not valid JSON"), std::string::npos) << error;
  EXPECT_NE(error.find("line 1, column 22"), std::string::npos) << error;
  // The request after the bad line is not answered: the connection is gone.
  EXPECT_TRUE(bad.closed_by_server());

  ASSERT_TRUE(good.send_bytes("{\"id\": 5, \"command\": \"show\"}\n"));
  EXPECT_EQ(parse_line(good.read_line())["id"], 5);
}

TEST_F(ControlServerTest, RequestThatIsNotAnObjectIsRefusedByType) {
  auto server = start_server(socket_path_);
  RawControlClient client(socket_path_);
  ASSERT_TRUE(client.send_bytes("[1, 2]\n"));
  nlohmann::json response = parse_line(client.read_line());
  EXPECT_EQ(response["ok"], false);
  EXPECT_NE(response["error"].get<std::string>().find("must be a JSON object, not array"), std::string::npos);
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(ControlServerTest, DeeplyNestedRequestIsRefused) {
  auto server = start_server(socket_path_);
  RawControlClient client(socket_path_);
  std::string nested = "{\"id\": " + std::string(100000, '[') + std::string(100000, ']') + "}\n";
  ASSERT_TRUE(client.send_bytes(nested));
  nlohmann::json response = parse_line(client.read_line());
  EXPECT_EQ(response["ok"], false);
  EXPECT_NE(response["error"].get<std::string>().find("nested deeper than"), std::string::npos);
}

TEST_F(ControlServerTest, OversizeLineWithoutNewlineIsRefusedAndClosed) {
  auto server = start_server(socket_path_, echo_handler, /*max_line_bytes=*/1024);
  RawControlClient client(socket_path_);
  ASSERT_TRUE(client.send_bytes("{\"command\": \"" + std::string(3000, 'x')));
  nlohmann::json response = parse_line(client.read_line());
  EXPECT_EQ(response["ok"], false);
  EXPECT_NE(response["error"].get<std::string>().find("longer than 1024 bytes"), std::string::npos);
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(ControlServerTest, OversizeCompleteLineIsRefusedButOneAtTheLimitIsServed) {
  auto server = start_server(socket_path_, echo_handler, /*max_line_bytes=*/64);
  RawControlClient client(socket_path_);
  std::string at_limit = "{\"command\": \"" + std::string(64 - 15, 'a') + "\"}";
  ASSERT_EQ(at_limit.size(), 64u);
  ASSERT_TRUE(client.send_bytes(at_limit + "\n"));
  EXPECT_EQ(parse_line(client.read_line())["ok"], true);
  std::string over = "{\"command\": \"" + std::string(65 - 15, 'a') + "\"}";
  ASSERT_TRUE(client.send_bytes(over + "\n"));
  nlohmann::json response = parse_line(client.read_line());
  EXPECT_EQ(response["ok"], false);
  EXPECT_NE(response["error"].get<std::string>().find("longer than 64 bytes"), std::string::npos);
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(ControlServerTest, ClientHangingUpMidRequestHarmsNothing) {
  std::mutex mutex;
  std::condition_variable changed;
  bool in_handler = false, release = false;
  auto server = start_server(socket_path_, [&](const nlohmann::json& request) {
    if (request.value("command", "") == "slow") {
      std::unique_lock lock(mutex);
      in_handler = true;
      changed.notify_all();
      changed.wait(lock, [&] { return release; });
    }
    return echo_handler(request);
  });
  {
    RawControlClient partial(socket_path_);
    ASSERT_TRUE(partial.send_bytes("{\"command\": \"sh"));  // half a line, then gone
  }
  {
    RawControlClient impatient(socket_path_);
    ASSERT_TRUE(impatient.send_bytes("{\"command\": \"slow\"}\n"));
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return in_handler; });
  }  // hangs up while its request is in the handler
  {
    std::lock_guard lock(mutex);
    release = true;
    changed.notify_all();
  }
  RawControlClient next(socket_path_);
  ASSERT_TRUE(next.send_bytes("{\"id\": 8, \"command\": \"show\"}\n"));
  EXPECT_EQ(parse_line(next.read_line())["id"], 8);
}

TEST_F(ControlServerTest, SeveralClientsAreServedAtOnce) {
  // Each request waits in the handler until all three are inside it: this
  // only completes when the server runs them concurrently.
  constexpr int kClients = 3;
  std::mutex mutex;
  std::condition_variable changed;
  int inside = 0;
  bool all_met = true;
  auto server = start_server(socket_path_, [&](const nlohmann::json& request) {
    std::unique_lock lock(mutex);
    ++inside;
    changed.notify_all();
    if (!changed.wait_for(lock, std::chrono::seconds(10), [&] { return inside >= kClients; }))
      all_met = false;
    return echo_handler(request);
  });
  std::vector<std::unique_ptr<RawControlClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<RawControlClient>(socket_path_));
    ASSERT_TRUE(clients.back()->send_bytes("{\"id\": " + std::to_string(i) + ", \"command\": \"show\"}\n"));
  }
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(parse_line(clients[i]->read_line())["id"], i);
  EXPECT_TRUE(all_met);
}

TEST_F(ControlServerTest, ClientBeyondTheConnectionCapIsToldWhy) {
  auto server = start_server(socket_path_, echo_handler, kControlMaxLineBytes, /*max_connections=*/1);
  RawControlClient first(socket_path_);
  ASSERT_TRUE(first.send_bytes("{\"id\": 1, \"command\": \"show\"}\n"));
  ASSERT_EQ(parse_line(first.read_line())["id"], 1);  // accepted and being served
  RawControlClient second(socket_path_);
  nlohmann::json refused = parse_line(second.read_line());
  EXPECT_EQ(refused["ok"], false);
  EXPECT_NE(refused["error"].get<std::string>().find("too many control connections"), std::string::npos);
  EXPECT_TRUE(second.closed_by_server());
  first.close();
  // The slot frees once the first connection's thread has seen the hangup;
  // a later client is served (retry: the reaping is asynchronous).
  bool served = false;
  for (int attempt = 0; attempt < 200 && !served; ++attempt) {
    RawControlClient third(socket_path_);
    third.send_bytes("{\"id\": 3, \"command\": \"show\"}\n");
    nlohmann::json response = parse_line(third.read_line());
    served = response.value("id", 0) == 3;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(served);
}

TEST_F(ControlServerTest, HandlerThatThrowsGivesAnErrorResponseAndTheServerLives) {
  auto server = start_server(socket_path_, [](const nlohmann::json& request) -> nlohmann::json {
    if (request.value("command", "") == "boom") throw std::runtime_error("handler exploded");
    return echo_handler(request);
  });
  RawControlClient client(socket_path_);
  ASSERT_TRUE(client.send_bytes("{\"id\": 1, \"command\": \"boom\"}\n{\"id\": 2, \"command\": \"show\"}\n"));
  nlohmann::json failed = parse_line(client.read_line());
  EXPECT_EQ(failed["id"], 1);
  EXPECT_EQ(failed["ok"], false);
  EXPECT_EQ(failed["error"], "internal error: handler exploded");
  EXPECT_EQ(parse_line(client.read_line())["id"], 2);
}

TEST_F(ControlServerTest, SocketIsMode0600InADirectoryCreated0700) {
  auto server = start_server(socket_path_);
  struct stat socket_info, directory_info;
  ASSERT_EQ(::lstat(socket_path_.c_str(), &socket_info), 0);
  EXPECT_TRUE(S_ISSOCK(socket_info.st_mode));
  EXPECT_EQ(socket_info.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(directory_.file("run").c_str(), &directory_info), 0);
  EXPECT_EQ(directory_info.st_mode & 07777, 0700u);
}

TEST_F(ControlServerTest, StaleSocketFromADeadDaemonIsReplaced) {
  ASSERT_EQ(::mkdir(directory_.file("run").c_str(), 0700), 0);
  {
    // A daemon that died: its socket file remains, nobody accepts on it.
    ScopedDescriptor dead(::socket(AF_UNIX, SOCK_STREAM, 0));
    auto address = control_socket_address(socket_path_);
    ASSERT_TRUE(address.is_ok());
    ASSERT_EQ(::bind(dead.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof(sockaddr_un)), 0);
    ASSERT_EQ(::listen(dead.get(), 1), 0);
  }
  ASSERT_EQ(connect_control_socket(socket_path_).status().code(), ECONNREFUSED);
  auto server = start_server(socket_path_);
  ASSERT_NE(server, nullptr);
  RawControlClient client(socket_path_);
  ASSERT_TRUE(client.send_bytes("{\"id\": 1, \"command\": \"show\"}\n"));
  EXPECT_EQ(parse_line(client.read_line())["id"], 1);
}

TEST_F(ControlServerTest, LiveSocketIsRefusedAndKeepsServing) {
  auto first = start_server(socket_path_);
  ControlServerOptions options;
  options.socket_path = socket_path_;
  auto second = ControlServer::start(options, echo_handler);
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), EADDRINUSE);
  EXPECT_EQ(second.status().message(), "another flowliftd is listening on " + socket_path_);
  RawControlClient client(socket_path_);
  ASSERT_TRUE(client.send_bytes("{\"id\": 1, \"command\": \"show\"}\n"));
  EXPECT_EQ(parse_line(client.read_line())["id"], 1);
}

TEST_F(ControlServerTest, FileThatIsNotASocketIsLeftAlone) {
  ASSERT_EQ(::mkdir(directory_.file("run").c_str(), 0700), 0);
  std::ofstream(socket_path_) << "precious\n";
  ControlServerOptions options;
  options.socket_path = socket_path_;
  auto server = ControlServer::start(options, echo_handler);
  ASSERT_FALSE(server.is_ok());
  EXPECT_EQ(server.status().code(), EEXIST);
  EXPECT_NE(server.status().message().find("is not a socket"), std::string::npos);
  std::ifstream kept(socket_path_);
  std::string content;
  std::getline(kept, content);
  EXPECT_EQ(content, "precious");
}

TEST_F(ControlServerTest, StopUnlinksTheSocketAndReturnsWithIdleClientsConnected) {
  auto server = start_server(socket_path_);
  RawControlClient idle(socket_path_);
  ASSERT_TRUE(idle.send_bytes("{\"command\": \"half"));  // mid-line, then silent
  server->stop();
  struct stat info;
  EXPECT_NE(::lstat(socket_path_.c_str(), &info), 0);
  EXPECT_TRUE(idle.closed_by_server());
  server->stop();  // idempotent
  EXPECT_EQ(connect_control_socket(socket_path_).status().code(), ENOENT);
}

TEST_F(ControlServerTest, StopWaitsForTheRequestInTheHandler) {
  std::mutex mutex;
  std::condition_variable changed;
  bool in_handler = false, finished = false;
  auto server = start_server(socket_path_, [&](const nlohmann::json& request) {
    {
      std::lock_guard lock(mutex);
      in_handler = true;
      changed.notify_all();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard lock(mutex);
    finished = true;
    return echo_handler(request);
  });
  RawControlClient client(socket_path_);
  ASSERT_TRUE(client.send_bytes("{\"command\": \"revalidate\"}\n"));
  {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return in_handler; });
  }
  server->stop();
  std::lock_guard lock(mutex);
  EXPECT_TRUE(finished);
}

TEST_F(ControlServerTest, PathTooLongForAUnixSocketIsRefused) {
  ControlServerOptions options;
  options.socket_path = directory_.file(std::string(200, 's'));
  auto server = ControlServer::start(options, echo_handler);
  ASSERT_FALSE(server.is_ok());
  EXPECT_EQ(server.status().code(), ENAMETOOLONG);
}

TEST(ControlResponseFor, EchoesIdAndFillsOk) {
  nlohmann::json request{{"id", "x"}, {"command", "show"}};
  nlohmann::json response = control_response_for(request, {{"error", "no"}});
  EXPECT_EQ(response, nlohmann::json({{"id", "x"}, {"ok", false}, {"error", "no"}}));
  EXPECT_EQ(control_response_for(request, {{"result", 1}})["ok"], true);
}

TEST(ControlResponseFor, HandlerAnsweringANonObjectIsAnInternalError) {
  nlohmann::json response = control_response_for({{"id", 1}}, nlohmann::json::array());
  EXPECT_EQ(response["ok"], false);
  EXPECT_EQ(response["id"], 1);
  EXPECT_NE(response["error"].get<std::string>().find("answered array"), std::string::npos);
}

}  // namespace
}  // namespace flowlift
