#pragma once
// Runs a program and captures its output and exit code, optionally inside a network
// namespace. The child enters the namespace with setns() before exec (like
// `nsenter --net=`), so unlike `ip netns exec` it keeps the caller's /sys mounts.
#include <chrono>
#include <string>
#include <vector>

namespace cnikit::testing {

struct CommandResult {
  int exitCode =
      -1;  // 128+signal when killed by a signal; 127 when it cannot be executed, -1 when it could not start otherwise
  std::string out;
  std::string err;
  bool timedOut = false;
  std::string describe() const;  // "exit 1, stderr: ..." for assertion messages
};

// argv[0] is looked up in PATH. The child is killed (by its pid) after timeout.
CommandResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = std::chrono::seconds(30));
// run() that throws std::runtime_error with the command line and its output unless it exits 0.
void mustRun(const std::vector<std::string>& argv);
// Same, inside the network namespace at netnsPath (e.g. "/run/netns/cnkt-1-a").
CommandResult runInNetns(const std::string& netnsPath, const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace cnikit::testing
