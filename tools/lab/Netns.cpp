#include "tools/lab/Netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "tools/lab/Command.hpp"
#include "tools/lab/LabPaths.hpp"

namespace cnikit::lab {

void createNetns(const std::string& name) {
  runChecked({"ip", "netns", "add", name});
  try {
    runChecked({"ip", "link", "set", "lo", "up"}, netnsPath(name));
  } catch (...) {
    deleteNetns(name);
    throw;
  }
}

bool netnsExists(const std::string& name) {
  std::error_code ec;
  return std::filesystem::exists(netnsPath(name), ec);
}

bool deleteNetns(const std::string& name) {
  if (!netnsExists(name)) return false;
  CommandSpec del;
  del.argv = {"ip", "netns", "del", name};
  auto r = runCommand(del);
  if (r.exitCode == 0 && !netnsExists(name)) return true;
  // A file that is no mount any more (a crash between create and bind) only needs removing.
  std::string path = netnsPath(name);
  ::umount2(path.c_str(), MNT_DETACH);
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (netnsExists(name)) throw std::runtime_error("cannot remove network namespace " + name + ": " + r.err);
  return true;
}

std::vector<std::string> listNetns(const std::string& prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(kNetnsDir, ec)) {
    auto name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

NetnsGuard::NetnsGuard(const std::string& netnsPath) {
  original_ = rpc::UniqueFd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!original_)
    throw std::runtime_error(std::string("cannot open this thread's network namespace: ") + std::strerror(errno));
  rpc::UniqueFd target(::open(netnsPath.c_str(), O_RDONLY | O_CLOEXEC));
  if (!target) throw std::runtime_error("cannot open network namespace " + netnsPath + ": " + std::strerror(errno));
  if (::setns(target.get(), CLONE_NEWNET) != 0)
    throw std::runtime_error("cannot enter network namespace " + netnsPath + ": " + std::strerror(errno));
}

NetnsGuard::~NetnsGuard() {
  // Failing to go back would leave this thread in the lab: better to stop loudly.
  if (::setns(original_.get(), CLONE_NEWNET) != 0) std::terminate();
}

}  // namespace cnikit::lab
