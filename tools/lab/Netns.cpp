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

}  // namespace cnikit::lab
