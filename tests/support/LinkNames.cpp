#include "tests/support/LinkNames.hpp"

#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <thread>

#include <cnikit/toolkit/LinkReaper.hpp>

#include "tests/support/Command.hpp"
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

bool waitUntilRetiredLinksGone(const std::string& netnsPath, std::chrono::milliseconds timeout) {
  const std::string group = std::to_string(toolkit::kRetiredLinkGroup);
  for (auto until = std::chrono::steady_clock::now() + timeout;;) {
    auto listed = runInNetns(netnsPath, {"ip", "-o", "link", "show", "group", group});
    if (listed.exitCode == 0 && listed.out.empty()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace cnikit::testing
