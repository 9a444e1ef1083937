#include <cnikit/toolkit/NetnsGuard.hpp>
#include <cnikit/toolkit/Sysctl.hpp>
#include <cnikit/toolkit/UniqueFd.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace cnikit::toolkit {

namespace {
Result<std::string> sysctlPath(const std::string& key) {
  if (key.empty() || key.find("..") != std::string::npos || key.front() == '/' || key.front() == '.')
    return Error{EINVAL, "'" + key + "' is not a sysctl name"};
  std::string path = "/proc/sys/" + key;
  if (key.find('/') == std::string::npos)
    for (size_t i = 10; i < path.size(); ++i)
      if (path[i] == '.') path[i] = '/';
  return path;
}
}  // namespace

Status writeSysctl(const std::string& key, const std::string& value) {
  auto path = sysctlPath(key);
  if (!path) return path.error();
  UniqueFd fd(::open(path.value().c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return errnoError(errno, "opening sysctl " + path.value());
  ssize_t n = ::write(fd.get(), value.data(), value.size());
  if (n < 0) return errnoError(errno, "writing '" + value + "' to " + path.value());
  if (static_cast<size_t>(n) != value.size()) return Error{EIO, "short write of '" + value + "' to " + path.value()};
  return {};
}

Result<std::string> readSysctl(const std::string& key) {
  auto path = sysctlPath(key);
  if (!path) return path.error();
  UniqueFd fd(::open(path.value().c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errnoError(errno, "opening sysctl " + path.value());
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) return errnoError(errno, "reading " + path.value());
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

Status writeSysctlIn(const Netns& ns, const std::string& key, const std::string& value) {
  return inNetns(ns, [&] { return writeSysctl(key, value); });
}

Result<std::string> readSysctlIn(const Netns& ns, const std::string& key) {
  return inNetns(ns, [&] { return readSysctl(key); });
}

}  // namespace cnikit::toolkit
