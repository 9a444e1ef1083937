#pragma once
// The agent's last log lines in memory (a spdlog ring-buffer sink on the default logger), so
// `cnikitctl diag` can bundle them wherever the agent's stderr went (journald, a file, a
// terminal that is gone).
#include <cstddef>
#include <string>
#include <vector>

namespace cnikit::agent {

// Adds the sink to the default logger; calling it again keeps the first one.
void keepRecentLog(size_t lines = 2000);
// Oldest first; empty when keepRecentLog() was never called.
std::vector<std::string> recentLog();

}  // namespace cnikit::agent
