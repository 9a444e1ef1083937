#include "tests/support/LinkNames.hpp"

#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "tests/support/NetnsThread.hpp"

namespace cnikit::testing {

std::vector<std::string> linkNames(const std::string& netnsPath) {
  return inNetnsThread(netnsPath, [&] {
    struct if_nameindex* list = ::if_nameindex();
    if (!list) throw std::runtime_error("listing links in '" + netnsPath + "': " + std::strerror(errno));
    std::vector<std::string> names;
    for (struct if_nameindex* i = list; i->if_index != 0; ++i) names.emplace_back(i->if_name);
    ::if_freenameindex(list);
    std::sort(names.begin(), names.end());
    return names;
  });
}

}  // namespace cnikit::testing
