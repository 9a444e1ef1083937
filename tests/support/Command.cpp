#include "tests/support/Command.hpp"

#include "tools/lab/Command.hpp"

namespace cnikit::testing {

std::string CommandResult::describe() const {
  std::string s = timedOut ? "timed out" : "exit " + std::to_string(exitCode);
  if (!out.empty()) s += ", stdout: " + out;
  if (!err.empty()) s += ", stderr: " + err;
  return s;
}

namespace {

// The lab's runner (fork, setns in the child, pipes, timeout) with the tests' result type.
CommandResult runSpec(const lab::CommandSpec& spec) {
  lab::CommandResult r = lab::runCommand(spec);
  return CommandResult{r.exitCode, std::move(r.out), std::move(r.err), r.timedOut};
}

}  // namespace

CommandResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  return runSpec(lab::CommandSpec{.argv = argv, .timeout = timeout});
}

CommandResult runInNetns(const std::string& netnsPath, const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout) {
  return runSpec(lab::CommandSpec{.argv = argv, .netnsPath = netnsPath, .timeout = timeout});
}

}  // namespace cnikit::testing
