#pragma once
// `cnikitctl conformance`: runs a backend through the checks every cnikit backend must pass,
// in a private lab (fabric namespace with etcd, two node namespaces each with its own
// cnikitd, pods through the real `cnikit` executable), and removes the lab at the end.
// docs/conformance.md says what each check means.
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tools/conformance/Report.hpp"

namespace cnikit::conformance {

struct KitOptions {
  std::string backend;  // a name in the backend dir, or a path to a .so
  nlohmann::json backendOptions = nlohmann::json::object();
  int nodes = 2;
  std::string labName;  // "" = conf<pid>
  std::string binDir;   // cnikit, cnikitd, cnikitctl; "" = next to the running executable
  std::set<int> only;   // check numbers to run; empty = all
  std::function<void(const std::string&)> progress;
};

// Never throws for a failing backend: failures are rows of the report.
Report runConformance(const KitOptions& options);

// Every check, in the order of the table: {number, name}.
const std::vector<std::pair<int, std::string>>& checkNames();

}  // namespace cnikit::conformance
