#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace cnikit::bench {

// What one child process did: how it ended, what it printed, how long it took.
struct ProcessOutcome {
  bool exited = false;  // false: killed by a signal
  int exitCode = -1;
  int signal = 0;
  std::string out;
  std::string err;
  std::chrono::nanoseconds wall{0};  // from just before spawn to just after reap

  bool succeeded() const { return exited && exitCode == 0; }
  std::string describeEnd() const;
};

// Runs `path` the way a container runtime runs a CNI plugin: posix_spawn with exactly
// `env`, `stdinText` on stdin, stdout and stderr captured through pipes. Safe to call from
// several threads at once (every pipe is close-on-exec, so no child inherits another's).
// Throws std::system_error when the process cannot be started.
ProcessOutcome runProcess(const std::string& path, const std::vector<std::string>& env,
                          const std::string& stdinText);

}  // namespace cnikit::bench
