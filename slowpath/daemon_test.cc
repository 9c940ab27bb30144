#include "slowpath/daemon.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "slowpath/control_client.h"
#include "slowpath/control_test_support.h"

namespace flowlift {
namespace {

using Words = std::vector<std::string>;

TEST(DaemonOptions, DefaultsAreOvsLike) {
  auto options = parse_daemon_options(Words{});
  ASSERT_TRUE(options.is_ok());
  EXPECT_EQ(options->control_path, "/run/flowlift/flowliftd.sock");
  EXPECT_EQ(options->config_path, "");
  EXPECT_EQ(options->pidfile_path, "");
  EXPECT_FALSE(options->handlers.has_value());
  EXPECT_EQ(options->log_level, DaemonLogLevel::kInfo);
  EXPECT_FALSE(options->check_config);
  EXPECT_EQ(options->datapath, "userspace");
  EXPECT_EQ(options->kernel_datapath_name, "flowlift");
}

TEST(DaemonOptions, TheKernelDatapathIsChosenByNameAndBadChoicesAreNamed) {
  auto options = parse_daemon_options(Words{"--datapath", "kernel", "--datapath-name=br-int"});
  ASSERT_TRUE(options.is_ok()) << options.status().message();
  EXPECT_EQ(options->datapath, "kernel");
  EXPECT_EQ(options->kernel_datapath_name, "br-int");
  EXPECT_EQ(parse_daemon_options(Words{"--datapath=netdev"}).status().message(),
            "--datapath=netdev: expected userspace or kernel");
  EXPECT_EQ(parse_daemon_options(Words{"--datapath-name=a-name-far-too-long"}).status().message(),
            "--datapath-name=a-name-far-too-long: expected a name of 1 to 15 characters");
}

TEST(DaemonOptions, TcOffloadNeedsTheKernelDatapathAndTakesPoliciesPerDevice) {
  auto options = parse_daemon_options(Words{"--datapath=kernel", "--offload", "tc", "--tc-policy=skip_hw",
                                            "--tc-port-policy", "eth1=skip_sw", "--offload-profile=ice-e810",
                                            "--tc-action-counters", "no_percpu"});
  ASSERT_TRUE(options.is_ok()) << options.status().message();
  EXPECT_EQ(options->offload, "tc");
  EXPECT_EQ(options->tc_policy, "skip_hw");
  EXPECT_EQ(options->tc_port_policies, (std::map<std::string, std::string>{{"eth1", "skip_sw"}}));
  EXPECT_EQ(options->offload_profile, "ice-e810");
  EXPECT_EQ(options->tc_action_counters, "no_percpu");
  EXPECT_EQ(parse_daemon_options(Words{}).value().offload, "none");
  EXPECT_EQ(parse_daemon_options(Words{}).value().tc_action_counters, "auto");
  EXPECT_EQ(parse_daemon_options(Words{"--tc-action-counters=shared"}).status().message(),
            "--tc-action-counters=shared: expected auto, percpu or no_percpu");
  EXPECT_EQ(
      parse_daemon_options(Words{"--offload=tc"}).status().message(),
      "--offload tc needs --datapath kernel: TC flower filters sit on the Linux devices that are the kernel "
      "datapath's ports");
  EXPECT_EQ(parse_daemon_options(Words{"--offload=dpdk"}).status().message(),
            "--offload=dpdk: expected none or tc");
  EXPECT_EQ(parse_daemon_options(Words{"--tc-policy=hw"}).status().message(),
            "--tc-policy=hw: expected none, skip_sw or skip_hw");
  EXPECT_EQ(parse_daemon_options(Words{"--tc-port-policy=eth1"}).status().message(),
            "--tc-port-policy=eth1: expected DEVICE=none|skip_sw|skip_hw");
  EXPECT_EQ(parse_daemon_options(Words{"--tc-port-policy==skip_hw"}).status().message(),
            "--tc-port-policy==skip_hw: expected DEVICE=none|skip_sw|skip_hw");
}

TEST(DaemonOptions, OffloadProfilesArePerDeviceBesideTheDaemonWideDefault) {
  auto options = parse_daemon_options(
      Words{"--datapath=kernel", "--offload=tc", "--offload-profile", "enp3s0f0=mlx5-connectx6dx",
            "--offload-profile=ens1f0=/etc/flowlift/e810.json", "--offload-profile", "./my=profile.json"});
  ASSERT_TRUE(options.is_ok()) << options.status().message();
  EXPECT_EQ(options->offload_profile, "./my=profile.json");
  EXPECT_EQ(options->offload_device_profiles,
            (std::map<std::string, std::string>{{"enp3s0f0", "mlx5-connectx6dx"},
                                                {"ens1f0", "/etc/flowlift/e810.json"}}));
  EXPECT_EQ(parse_daemon_options(Words{}).value().offload_profile, "tc-software");
  EXPECT_TRUE(parse_daemon_options(Words{}).value().offload_device_profiles.empty());
}

TEST(DaemonOptions, ABadDeviceProfileTokenIsNamed) {
  EXPECT_EQ(parse_daemon_options(Words{"--offload-profile", "eth0="}).status().message(),
            "--offload-profile eth0=: no profile after '=' (expected eth0=NAME|FILE)");
  EXPECT_EQ(parse_daemon_options(Words{"--offload-profile==ice-e810"}).status().message(),
            "--offload-profile =ice-e810: no device before '=' (expected DEV=NAME|FILE)");
  EXPECT_EQ(
      parse_daemon_options(
          Words{"--offload-profile", "eth0=ice-e810", "--offload-profile", "eth0=mlx5-connectx6dx"})
          .status()
          .message(),
      "--offload-profile eth0=mlx5-connectx6dx: eth0 already has profile ice-e810 (one profile per device)");
}

TEST(DaemonOptions, EveryOptionInBothSpellings) {
  auto options =
      parse_daemon_options(Words{"--config", "/etc/f.json", "--control=/tmp/c.sock", "--pidfile", "/tmp/p",
                                 "--handlers=4", "--log-level", "debug", "--check-config"});
  ASSERT_TRUE(options.is_ok()) << options.status().message();
  EXPECT_EQ(options->config_path, "/etc/f.json");
  EXPECT_EQ(options->control_path, "/tmp/c.sock");
  EXPECT_EQ(options->pidfile_path, "/tmp/p");
  EXPECT_EQ(options->handlers, 4u);
  EXPECT_EQ(options->log_level, DaemonLogLevel::kDebug);
  EXPECT_TRUE(options->check_config);
}

TEST(DaemonOptions, ErrorsNameTheOption) {
  EXPECT_EQ(parse_daemon_options(Words{"--handlers=0"}).status().message(),
            "--handlers=0: expected a number of threads from 1 to 64");
  EXPECT_EQ(parse_daemon_options(Words{"--log-level=loud"}).status().message(),
            "--log-level=loud: expected error, warning, info or debug");
  EXPECT_EQ(parse_daemon_options(Words{"--config"}).status().message(), "option --config needs a value");
  EXPECT_EQ(parse_daemon_options(Words{"--detach"}).status().message(),
            "unknown option '--detach' (see flowliftd --help)");
  EXPECT_EQ(parse_daemon_options(Words{"extra"}).status().message(),
            "unexpected argument 'extra' (see flowliftd --help)");
  EXPECT_EQ(parse_daemon_options(Words{"--check-config"}).status().message(),
            "--check-config needs --config FILE");
  EXPECT_EQ(parse_daemon_options(Words{"--check-config=yes"}).status().message(),
            "option --check-config takes no value");
}

class DaemonFilesTest : public ::testing::Test {
 protected:
  std::string write(std::string_view name, std::string_view text) {
    std::string path = directory_.file(name);
    std::ofstream(path) << text;
    return path;
  }
  ControlTestDirectory directory_;
};

TEST_F(DaemonFilesTest, ConfigIsReadAsAJsonObject) {
  auto config = read_daemon_config(write("ok.json", R"({"bridges": [{"name": "br0"}]})"));
  ASSERT_TRUE(config.is_ok()) << config.status().message();
  EXPECT_EQ((*config)["bridges"][0]["name"], "br0");
}

TEST_F(DaemonFilesTest, ConfigErrorsNameTheFileAndWhere) {
  std::string missing = directory_.file("missing.json");
  auto absent = read_daemon_config(missing);
  EXPECT_EQ(absent.status().code(), ENOENT);
  EXPECT_EQ(absent.status().message(),
            "cannot open configuration " + missing + ": No such file or directory");

  std::string broken = write("broken.json", "{\n  \"bridges\": [\n    {\"name\" \"br0\"}\n  ]\n}\n");
  auto parsed = read_daemon_config(broken);
  ASSERT_FALSE(parsed.is_ok());
  // The column is where the unexpected token ("br0", columns 13-17) ends.
  EXPECT_EQ(parsed.status().message().rfind(broken + ": parse error at line 3, column 17:", 0), 0u)
      << parsed.status().message();

  std::string array = write("array.json", "[]");
  EXPECT_EQ(read_daemon_config(array).status().message(),
            array + ": the configuration must be a JSON object, not array");
}

TEST_F(DaemonFilesTest, PidfileHoldsThePidIsExclusiveAndIsRemoved) {
  std::string path = directory_.file("flowliftd.pid");
  {
    auto pidfile = DaemonPidfile::create(path);
    ASSERT_TRUE(pidfile.is_ok()) << pidfile.status().message();
    std::ifstream file(path);
    std::string pid;
    std::getline(file, pid);
    EXPECT_EQ(pid, std::to_string(::getpid()));

    auto second = DaemonPidfile::create(path);
    ASSERT_FALSE(second.is_ok());
    EXPECT_EQ(second.status().code(), EEXIST);
    EXPECT_EQ(second.status().message(),
              "another flowliftd (pid " + std::to_string(::getpid()) + ") holds the pidfile " + path);
  }
  struct stat info;
  EXPECT_NE(::stat(path.c_str(), &info), 0);
}

TEST_F(DaemonFilesTest, PidfileLeftByADeadDaemonIsTakenOver) {
  std::string path = write("flowliftd.pid", "999999\n");  // nobody holds its lock
  auto pidfile = DaemonPidfile::create(path);
  ASSERT_TRUE(pidfile.is_ok()) << pidfile.status().message();
  std::ifstream file(path);
  std::string pid;
  std::getline(file, pid);
  EXPECT_EQ(pid, std::to_string(::getpid()));
}

TEST(DaemonLog, LinesCarryATimestampAndTheLevelAndRespectTheThreshold) {
  std::ostringstream stream;
  DaemonLog log(stream, DaemonLogLevel::kInfo);
  log.info("listening");
  log.debug("hidden");
  log.error("broken");
  std::string text = stream.str();
  std::regex expected(
      "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\|info\\|listening\n"
      "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\|error\\|broken\n");
  EXPECT_TRUE(std::regex_match(text, expected)) << text;
}

// The daemon's wait: the server answers until SIGTERM arrives, then the
// socket is gone and the signal is returned.
TEST(DaemonServe, StopSignalStopsTheServerAndRemovesTheSocket) {
  ControlTestDirectory directory;
  std::string path = directory.file("run/flowliftd.sock");
  sigset_t previous;
  pthread_sigmask(SIG_SETMASK, nullptr, &previous);
  block_daemon_stop_signals();  // before the threads: they inherit the mask

  nlohmann::json answered;
  // The signal goes to this thread, the one waiting for it: a signal sent
  // to the whole process could land on a thread of the test runner that
  // does not block it, and end the run.
  pthread_t waiting_thread = pthread_self();
  std::thread client([&] {
    // Wait for the socket (the 10 s bound only guards a broken server), ask
    // once, then signal the waiting thread.
    for (int attempt = 0; attempt < 1000; ++attempt) {
      auto response = control_request(path, {{"id", 1}, {"command", "show"}});
      if (response) {
        answered = *response;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pthread_kill(waiting_thread, SIGTERM);
  });
  std::ostringstream log_text;
  DaemonLog log(log_text, DaemonLogLevel::kInfo);
  auto served = serve_control_until_stop_signal(
      path,
      [](const nlohmann::json&) {
        return nlohmann::json{{"ok", true}, {"result", "fake"}};
      },
      log);
  client.join();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);

  ASSERT_TRUE(served.is_ok()) << served.status().message();
  EXPECT_EQ(*served, SIGTERM);
  EXPECT_EQ(answered["result"], "fake");
  EXPECT_EQ(answered["id"], 1);
  struct stat info;
  EXPECT_NE(::lstat(path.c_str(), &info), 0);
  EXPECT_NE(log_text.str().find("|info|received SIGTERM from pid " + std::to_string(::getpid())),
            std::string::npos)
      << log_text.str();
}

TEST(DaemonServe, SocketInUseIsAnErrorNotAWait) {
  ControlTestDirectory directory;
  std::string path = directory.file("flowliftd.sock");
  ControlServerOptions options;
  options.socket_path = path;
  auto other = ControlServer::start(options, [](const nlohmann::json&) { return nlohmann::json::object(); });
  ASSERT_TRUE(other.is_ok());
  std::ostringstream log_text;
  DaemonLog log(log_text, DaemonLogLevel::kInfo);
  auto served = serve_control_until_stop_signal(
      path, [](const nlohmann::json&) { return nlohmann::json::object(); }, log);
  ASSERT_FALSE(served.is_ok());
  EXPECT_EQ(served.status().message(), "another flowliftd is listening on " + path);
}

}  // namespace
}  // namespace flowlift
