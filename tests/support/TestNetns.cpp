#include "tests/support/TestNetns.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "tests/support/Command.hpp"
#include "tests/support/NetnsThread.hpp"
#include "tests/support/UniqueName.hpp"

namespace cnikit::testing {

namespace {
void loopbackUp(const std::string& path) {
  inNetnsThread(path, [&] {
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    ifreq req{};
    std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
    bool ok = ::ioctl(s, SIOCGIFFLAGS, &req) == 0;
    req.ifr_flags |= IFF_UP;
    ok = ok && ::ioctl(s, SIOCSIFFLAGS, &req) == 0;
    std::string why = std::strerror(errno);
    ::close(s);
    if (!ok) throw std::runtime_error("bringing lo up in '" + path + "': " + why);
  });
}
}  // namespace

TestNetns::TestNetns(const std::string& base) : name_(uniquePrefix() + base) {
  auto r = run({"ip", "netns", "add", name_});
  if (r.exitCode != 0) throw std::runtime_error("ip netns add " + name_ + ": " + r.describe());
  try {
    loopbackUp(path());
  } catch (...) {
    run({"ip", "netns", "del", name_});
    throw;
  }
}

TestNetns::~TestNetns() {
  auto r = run({"ip", "netns", "del", name_});
  if (r.exitCode != 0) std::fprintf(stderr, "warning: ip netns del %s: %s\n", name_.c_str(), r.describe().c_str());
}

}  // namespace cnikit::testing
