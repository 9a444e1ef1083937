#pragma once
// Names that tests give to what they create, so that parallel runs never collide and a
// sweeper can find leftovers: "cnkt-<pid>-<base>".
#include <string>

namespace cnikit::testing {

// "cnkt-<pid>-"
std::string uniquePrefix();
// "cnkt-<pid>-<base>-<n>", n counting up within this process.
std::string uniqueName(const std::string& base);

}  // namespace cnikit::testing
