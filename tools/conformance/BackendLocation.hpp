#pragma once
// Where the backend under test lives. A name ("flannel-like") is looked up as the lab looks
// up backends (the build tree's lib/cnikit/backends next to the executables, else the
// installed dir); a path to a .so (a platform team's own backend, built out of tree) is
// served from its own directory under the name the agent's loader derives from it.
#include <string>

namespace cnikit::conformance {

struct BackendLocation {
  std::string type;     // what the cluster config names: the agent finds <dir>/libcnikit-<type>.so or <dir>/<type>.so
  std::string dir;      // the agents' backendDir
  std::string library;  // the file itself
};

// Throws std::invalid_argument naming what is missing.
BackendLocation locateBackend(const std::string& nameOrPath, const std::string& binDir);

}  // namespace cnikit::conformance
