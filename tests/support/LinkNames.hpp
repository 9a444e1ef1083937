#pragma once
// Interface names in a network namespace, read from the kernel (if_nameindex on a thread
// inside it): for asserting that nothing was left behind.
#include <string>
#include <vector>

namespace cnikit::testing {

// Sorted. Throws std::runtime_error naming the namespace when it cannot be read.
std::vector<std::string> linkNames(const std::string& netnsPath);

}  // namespace cnikit::testing
