#pragma once
// Removes test namespaces ("cnkt-<pid>-*" under /run/netns) whose process is gone, e.g.
// after a test crashed before its destructors ran. Call it at the start of a test suite.
#include <string>
#include <vector>

namespace cnikit::testing {

// Returns the names it deleted. Never touches namespaces of living processes.
std::vector<std::string> sweepStaleNetns();

}  // namespace cnikit::testing
