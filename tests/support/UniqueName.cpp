#include "tests/support/UniqueName.hpp"

#include <unistd.h>

#include <atomic>

namespace cnikit::testing {

std::string uniquePrefix() { return "cnkt-" + std::to_string(::getpid()) + "-"; }

std::string uniqueName(const std::string& base) {
  static std::atomic<unsigned> counter{0};
  return uniquePrefix() + base + "-" + std::to_string(counter++);
}

}  // namespace cnikit::testing
