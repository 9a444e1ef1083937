#include "tests/support/NetnsSweeper.hpp"

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <regex>

#include "tests/support/Command.hpp"

namespace cnikit::testing {

std::vector<std::string> sweepStaleNetns() {
  std::vector<std::string> removed;
  std::error_code ec;
  std::filesystem::directory_iterator it("/run/netns", ec);
  if (ec) return removed;  // no namespaces at all
  static const std::regex kPattern("^cnkt-([0-9]+)-.*");
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    std::smatch m;
    if (!std::regex_match(name, m, kPattern)) continue;
    pid_t pid = static_cast<pid_t>(std::stol(m[1].str()));
    if (pid == ::getpid()) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to judge)
    if (run({"ip", "netns", "del", name}).exitCode == 0) removed.push_back(name);
  }
  return removed;
}

}  // namespace cnikit::testing
