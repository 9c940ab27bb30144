// run_daemon() over SwitchCore and a fake datapath: the configuration file
// through to the control socket, and a stop signal through to the clean-up.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "slowpath/control_client.h"
#include "slowpath/control_server.h"
#include "slowpath/control_test_support.h"
#include "slowpath/daemon.h"
#include "slowpath/switch_core_test_dpif.h"

namespace flowlift {
namespace {

constexpr std::string_view kTwoDummyPorts = R"({
  "flowlift_config": 1,
  "bridges": [{"name": "br0",
               "ports": [{"name": "p1", "type": "dummy", "ofport": 1},
                         {"name": "p2", "type": "dummy", "ofport": 2}],
               "flows": ["priority=0,actions=drop"]}]
})";

class DaemonRunTest : public ::testing::Test {
 protected:
  std::string write(std::string_view name, std::string_view text) {
    std::string path = directory_.file(name);
    std::ofstream(path) << text;
    return path;
  }
  DaemonOptions options_for(const std::string& config_path) {
    DaemonOptions options;
    options.config_path = config_path;
    options.control_path = directory_.file("run/flowliftd.sock");
    options.pidfile_path = directory_.file("flowliftd.pid");
    options.handlers = 1;
    return options;
  }

  ControlTestDirectory directory_;
  SwitchCoreTestDpif dpif_;
  std::ostringstream log_text_;
  DaemonLog log_{log_text_, DaemonLogLevel::kDebug};
};

TEST_F(DaemonRunTest, ServesTheConfiguredSwitchUntilSigtermThenCleansUp) {
  DaemonOptions options = options_for(write("flowliftd.json", kTwoDummyPorts));
  sigset_t previous;
  pthread_sigmask(SIG_SETMASK, nullptr, &previous);
  block_daemon_stop_signals();

  nlohmann::json shown, added, dumped;
  bool pidfile_seen = false;
  // The signal goes to this thread, the one waiting for it: a signal sent
  // to the whole process could land on a thread of the test runner that
  // does not block it, and end the run.
  pthread_t waiting_thread = pthread_self();
  std::thread client([&] {
    for (int attempt = 0; attempt < 1000; ++attempt) {  // wait for the socket
      auto response = control_request(options.control_path, {{"command", "show"}});
      if (response) {
        shown = *response;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    struct stat info;
    pidfile_seen = ::stat(options.pidfile_path.c_str(), &info) == 0;
    auto add = control_request(options.control_path,
                               {{"command", "add-flow"},
                                {"args", {{"bridge", "br0"}, {"flow", "priority=10,ip,actions=output:2"}}}});
    if (add) added = *add;
    auto dump = control_request(options.control_path,
                                {{"command", "dump-flows"}, {"args", {{"bridge", "br0"}, {"stats", false}}}});
    if (dump) dumped = *dump;
    pthread_kill(waiting_thread, SIGTERM);
  });
  int exit_status = run_daemon(options, dpif_, log_);
  client.join();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);

  EXPECT_EQ(exit_status, 0) << log_text_.str();
  EXPECT_EQ(shown["ok"], true) << shown.dump();
  EXPECT_NE(shown["text"].get<std::string>().find("p2"), std::string::npos) << shown.dump();
  EXPECT_EQ(added["ok"], true) << added.dump();
  EXPECT_EQ(dumped["text"], " priority=10,ip actions=output:2\n priority=0 actions=drop\n") << dumped.dump();
  EXPECT_TRUE(pidfile_seen);
  struct stat info;
  EXPECT_NE(::lstat(options.control_path.c_str(), &info), 0) << "socket left behind";
  EXPECT_NE(::stat(options.pidfile_path.c_str(), &info), 0) << "pidfile left behind";
  std::string log = log_text_.str();
  EXPECT_NE(log.find("|info|" + options.config_path + ": configuration applied"), std::string::npos) << log;
  EXPECT_NE(log.find("|debug|control: "), std::string::npos) << log;
  EXPECT_NE(log.find("|info|received SIGTERM"), std::string::npos) << log;
  EXPECT_NE(log.find("|info|stopped"), std::string::npos) << log;
  // Neither the file nor the command line names a handler count.
  EXPECT_NE(log.find(", " + std::to_string(default_handler_threads()) + " upcall handler threads"),
            std::string::npos)
      << log;
}

TEST_F(DaemonRunTest, ConfigurationThatDoesNotParseStopsTheStartWithFileAndLine) {
  std::string path = write("bad.json", "{\n\"flowlift_config\": 1,\n\"bridges\": [}\n");
  EXPECT_EQ(run_daemon(options_for(path), dpif_, log_), 1);
  EXPECT_NE(log_text_.str().find("|error|" + path + ": parse error at line 3"), std::string::npos)
      << log_text_.str();
  struct stat info;
  EXPECT_NE(::stat(directory_.file("flowliftd.pid").c_str(), &info), 0);
  EXPECT_TRUE(dpif_.port_dump().empty());
}

TEST_F(DaemonRunTest, ConfigurationSwitchCoreRefusesIsLoggedWithItsPathAndNothingListens) {
  std::string path =
      write("refused.json", R"({"flowlift_config": 1, "bridges": [{"name": "br0", "colour": "red"}]})");
  EXPECT_EQ(run_daemon(options_for(path), dpif_, log_), 1);
  EXPECT_NE(log_text_.str().find("|error|" + path + ": bridges[0].colour: unknown key"), std::string::npos)
      << log_text_.str();
  struct stat info;
  EXPECT_NE(::lstat(directory_.file("run/flowliftd.sock").c_str(), &info), 0);
  EXPECT_NE(::stat(directory_.file("flowliftd.pid").c_str(), &info), 0);
}

TEST_F(DaemonRunTest, LiveDaemonOnTheSocketIsRefusedBeforeTheDatapathIsTouched) {
  DaemonOptions options = options_for(write("flowliftd.json", kTwoDummyPorts));
  ControlServerOptions other;
  other.socket_path = options.control_path;
  auto running = ControlServer::start(other, [](const nlohmann::json&) { return nlohmann::json::object(); });
  ASSERT_TRUE(running.is_ok()) << running.status().message();
  EXPECT_EQ(run_daemon(options, dpif_, log_), 1);
  EXPECT_NE(log_text_.str().find("|error|another flowliftd is listening on " + options.control_path),
            std::string::npos)
      << log_text_.str();
  EXPECT_TRUE(dpif_.port_dump().empty());
  struct stat info;
  EXPECT_NE(::stat(options.pidfile_path.c_str(), &info), 0);
}

TEST_F(DaemonRunTest, CheckConfigAcceptsAValidFileAndStartsNothing) {
  DaemonOptions options = options_for(write("flowliftd.json", kTwoDummyPorts));
  options.check_config = true;
  EXPECT_EQ(run_daemon(options, dpif_, log_), 0);
  EXPECT_NE(log_text_.str().find("configuration is valid"), std::string::npos);
  struct stat info;
  EXPECT_NE(::lstat(options.control_path.c_str(), &info), 0);
  EXPECT_NE(::stat(options.pidfile_path.c_str(), &info), 0);
}

TEST_F(DaemonRunTest, CheckConfigRefusesAPortTheDatapathCannotOpen) {
  DaemonOptions options = options_for(write(
      "flowliftd.json",
      R"({"flowlift_config": 1, "bridges": [{"name": "br0", "ports": [{"name": "eth9", "type": "system"}]}]})"));
  options.check_config = true;
  EXPECT_EQ(run_daemon(options, dpif_, log_), 1);
  EXPECT_NE(log_text_.str().find("eth9"), std::string::npos) << log_text_.str();
}

TEST_F(DaemonRunTest, HandlersOnTheCommandLineOverrideTheFile) {
  std::string path = write("flowliftd.json", R"({"flowlift_config": 1, "datapath": {"n_handlers": 3}})");
  DaemonOptions options = options_for(path);
  options.handlers = 1;
  auto config = load_daemon_config(options);
  ASSERT_TRUE(config.is_ok()) << config.status().message();
  ASSERT_TRUE(config->has_value());
  EXPECT_EQ((**config)["datapath"]["n_handlers"], 1);
  options.handlers.reset();
  EXPECT_EQ((**load_daemon_config(options))["datapath"]["n_handlers"], 3);
  options.check_config = true;
  options.handlers = 1;
  EXPECT_EQ(run_daemon(options, dpif_, log_), 0) << log_text_.str();
}

TEST(DaemonDefaults, HandlerThreadsAreTheOnlineCoresLessTheRevalidator) {
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  const size_t expected = online > 2 ? static_cast<size_t>(online - 1) : 1;
  EXPECT_EQ(default_handler_threads(), expected);
  EXPECT_GE(default_handler_threads(), 1u);
}

TEST_F(DaemonRunTest, FlowsFileIsResolvedAgainstTheConfigurationsDirectory) {
  ASSERT_EQ(::mkdir(directory_.file("etc").c_str(), 0700), 0);
  write("etc/br0.flows", "priority=5,actions=drop\n");
  std::string path = write("etc/flowliftd.json", R"({"flowlift_config": 1,
      "bridges": [{"name": "br0", "flows_file": "br0.flows"}]})");
  auto config = load_daemon_config(options_for(path));
  ASSERT_TRUE(config.is_ok()) << config.status().message();
  EXPECT_EQ((**config)["bridges"][0]["flows_file"], directory_.file("etc/br0.flows"));
}

TEST_F(DaemonRunTest, NoConfigurationMeansNoDocument) {
  auto config = load_daemon_config(options_for(""));
  ASSERT_TRUE(config.is_ok());
  EXPECT_FALSE(config->has_value());
}

}  // namespace
}  // namespace flowlift
