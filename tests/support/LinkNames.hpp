#pragma once
// Interface names in a network namespace, read from the kernel (if_nameindex on a thread
// inside it): for asserting that nothing was left behind.
#include <chrono>
#include <string>
#include <vector>

namespace cnikit::testing {

// Sorted. Throws std::runtime_error naming the namespace when it cannot be read.
std::vector<std::string> linkNames(const std::string& netnsPath);

// Backends delete the veths of deleted pods in batches shortly after DEL returns (the
// toolkit's LinkReaper): waits until no retired link is left in the namespace; false when
// some still are after `timeout`.
bool waitUntilRetiredLinksGone(const std::string& netnsPath,
                               std::chrono::milliseconds timeout = std::chrono::seconds(3));

}  // namespace cnikit::testing
