#include "tests/support/Command.hpp"

#include <cnikit/toolkit/Process.hpp>

namespace cnikit::testing {

void mustRun(const std::vector<std::string>& argv) {
  auto r = run(argv);
  if (r.exitCode != 0) {
    std::string line;
    for (const auto& a : argv) line += a + " ";
    throw std::runtime_error(line + ": " + r.describe());
  }
}

std::string CommandResult::describe() const {
  std::string s = timedOut ? "timed out" : "exit " + std::to_string(exitCode);
  if (!out.empty()) s += ", stdout: " + out;
  if (!err.empty()) s += ", stderr: " + err;
  return s;
}

namespace {

// The toolkit's runner (posix_spawn, setns for the spawn, pipes, timeout) with the tests'
// result type.
CommandResult runSpec(const toolkit::ProcessSpec& spec) {
  auto r = toolkit::runProcess(spec);
  toolkit::ProcessResult p = r ? std::move(r).value() : toolkit::notStarted(r.error());
  return CommandResult{p.exitCode, std::move(p.out), std::move(p.err), p.timedOut};
}

}  // namespace

CommandResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  return runSpec(toolkit::ProcessSpec{.argv = argv, .timeout = timeout});
}

CommandResult runInNetns(const std::string& netnsPath, const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout) {
  return runSpec(toolkit::ProcessSpec{.argv = argv, .netnsPath = netnsPath, .timeout = timeout});
}

}  // namespace cnikit::testing
