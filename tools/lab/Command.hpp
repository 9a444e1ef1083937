#pragma once
// Runs a tool (ip, sysctl, the cnikit executable) to completion and captures its output,
// optionally inside a network namespace (unlike `ip netns exec` it keeps the caller's /sys).
#include <string>
#include <vector>

#include <cnikit/toolkit/Process.hpp>

namespace cnikit::lab {

// The toolkit's runner (posix_spawn, setns for the spawn, pipes, timeout, kill by PID).
using CommandSpec = toolkit::ProcessSpec;
using CommandResult = toolkit::ProcessResult;

// A command that cannot start gives exit code 127 (not executable) or -1, the reason in err.
CommandResult runCommand(const CommandSpec& spec);
// Throws std::runtime_error with describe() when the command does not exit 0.
std::string runChecked(const CommandSpec& spec);
std::string runChecked(const std::vector<std::string>& argv, const std::string& netnsPath = "",
                       const std::string& stdinText = "");

}  // namespace cnikit::lab
