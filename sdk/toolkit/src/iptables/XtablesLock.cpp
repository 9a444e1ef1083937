#include <cnikit/toolkit/XtablesLock.hpp>

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <thread>

namespace cnikit::toolkit {

Result<XtablesLock> XtablesLock::acquire(const std::string& path, std::chrono::milliseconds timeout) {
  UniqueFd fd(::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600));
  if (!fd.valid()) return errnoError(errno, "opening the xtables lock " + path);
  auto start = std::chrono::steady_clock::now();
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) return errnoError(errno, "locking " + path);
    if (std::chrono::steady_clock::now() - start > timeout)
      return Error{ETIMEDOUT, "another program holds the xtables lock " + path + " for more than " +
                                  std::to_string(timeout.count()) + " ms"};
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  auto waited = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  return XtablesLock(std::move(fd), waited);
}

}  // namespace cnikit::toolkit
