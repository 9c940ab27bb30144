// Test-only: starting a program beside the test with its output appended to
// a log file, and reading such a file whole. The switch scenarios
// (switch_scenarios.h) and the Open vSwitch peer check
// (ovs_offload_peer_lab_test.cc) run flowliftd and their helper programs
// this way, and read the logs into failure messages.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern char** environ;

namespace flowlift::testing {

// The file's text; empty when it cannot be read (a log not written yet).
inline std::string read_whole_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Starts argv[0] (found on PATH) with stdout and stderr appended to `log`;
// the pid, or 0 with a test failure naming the program when it cannot start.
inline pid_t spawn_with_log(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const std::string& word : argv) args.push_back(const_cast<char*>(word.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int error = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(error, 0) << "cannot start " << argv[0];
  return error == 0 ? pid : 0;
}

}  // namespace flowlift::testing
