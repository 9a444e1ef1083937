#pragma once
// Runs a tool (ip, sysctl, the cnikit executable) to completion and captures its output,
// optionally inside a network namespace: the child setns()es before exec, so unlike
// `ip netns exec` it keeps the caller's /sys.
#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace cnikit::lab {

struct CommandSpec {
  std::vector<std::string> argv;  // argv[0] looked up in PATH unless it holds a '/'
  std::string netnsPath;          // "" = the caller's namespace
  std::string stdinText;
  // Replaces the environment when not empty (PATH is kept when absent).
  std::map<std::string, std::string> env;
  bool replaceEnv = false;
  std::chrono::milliseconds timeout{30000};
};

struct CommandResult {
  int exitCode = -1;  // 128+signal when killed; -1 when it could not start
  std::string out;
  std::string err;
  bool timedOut = false;
  // "ip link add ...: exit 2: RTNETLINK answers: File exists"
  std::string describe(const std::vector<std::string>& argv) const;
};

CommandResult runCommand(const CommandSpec& spec);
// Throws std::runtime_error with describe() when the command does not exit 0.
std::string runChecked(const CommandSpec& spec);
std::string runChecked(const std::vector<std::string>& argv, const std::string& netnsPath = "",
                       const std::string& stdinText = "");

}  // namespace cnikit::lab
