#pragma once
// Runs the real `cnikit` executable the way a container runtime does: CNI_* environment,
// the network configuration on stdin, the result or error JSON read from stdout.
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace cnikit::testing {

struct CniOutcome {
  int exitCode = -1;
  std::string out;
  std::string err;
  nlohmann::json json() const;  // stdout parsed (null when empty or not JSON)
  std::string describe() const;
};

CniOutcome invokeCni(const std::string& executable, const std::map<std::string, std::string>& env,
                     const std::string& stdinText);

}  // namespace cnikit::testing
