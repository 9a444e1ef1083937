#pragma once
// Progress lines of long lab operations ("etcd ready", "node2 ready (subnet ...)").
#include <functional>
#include <string>

namespace cnikit::lab {

using Progress = std::function<void(const std::string&)>;

}  // namespace cnikit::lab
