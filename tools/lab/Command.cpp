#include "tools/lab/Command.hpp"

#include <stdexcept>

namespace cnikit::lab {

CommandResult runCommand(const CommandSpec& spec) {
  auto result = toolkit::runProcess(spec);
  return result ? std::move(result).value() : toolkit::notStarted(result.error());
}

std::string runChecked(const CommandSpec& spec) {
  auto r = runCommand(spec);
  if (r.exitCode != 0) {
    std::string where = spec.netnsPath.empty() ? "" : " (in " + spec.netnsPath + ")";
    throw std::runtime_error(r.describe(spec.argv) + where);
  }
  return r.out;
}

std::string runChecked(const std::vector<std::string>& argv, const std::string& netnsPath,
                       const std::string& stdinText) {
  CommandSpec spec;
  spec.argv = argv;
  spec.netnsPath = netnsPath;
  spec.stdinText = stdinText;
  return runChecked(spec);
}

}  // namespace cnikit::lab
