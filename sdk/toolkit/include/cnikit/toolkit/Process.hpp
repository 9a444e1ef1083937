#pragma once
// Runs a program to completion and captures what it printed: optionally inside a network
// namespace (the calling thread enters it for the spawn only, so the child starts there and
// keeps the caller's /sys, unlike `ip netns exec`), with stdin text, an environment, and a
// timeout after which the child is killed by its PID. posix_spawn, so a large parent forks
// nothing; safe from several threads at once (every pipe is close-on-exec).
#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <cnikit/toolkit/Result.hpp>

namespace cnikit::toolkit {

struct ProcessSpec {
  // Every member has an initializer, so designated initializers may leave any out.
  std::vector<std::string> argv{};  // argv[0] looked up in PATH unless it holds a '/'
  std::string netnsPath{};          // "" = the calling thread's namespace
  std::string stdinText{};
  // Set in the child's environment (over the parent's, or alone with replaceEnv; PATH is
  // kept when replaceEnv and env has none).
  std::map<std::string, std::string> env{};
  bool replaceEnv = false;
  std::chrono::milliseconds timeout{30000};  // 0: no limit
};

struct ProcessResult {
  int exitCode = -1;  // 128+signal when killed by a signal; see notStarted()
  int signal = 0;     // the signal that ended it, 0 when it exited
  std::string out;
  std::string err;
  bool timedOut = false;  // killed (SIGKILL) at the timeout
  std::chrono::nanoseconds wall{0};  // from just before the spawn to just after the reap

  bool succeeded() const { return exitCode == 0 && !timedOut; }
  // "ip link add ...: exit 2: RTNETLINK answers: File exists"
  std::string describe(const std::vector<std::string>& argv) const;
};

// The child's own failure (exit code, signal, timeout) is in the ProcessResult. An Error when
// it could not start: empty argv, a namespace that cannot be entered, a program that cannot
// be executed (ENOENT naming it), no pipes.
Result<ProcessResult> runProcess(const ProcessSpec& spec);

// For callers that want a result either way: what a shell reports for a process that did not
// start (exit code 127 when the program cannot be executed, else -1), the reason in err.
ProcessResult notStarted(const Error& error);

}  // namespace cnikit::toolkit
