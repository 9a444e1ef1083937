#include "core/policy/iptables/XtablesLock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace cnikit::policy::iptables {

XtablesLock::XtablesLock(const std::string& path, std::chrono::milliseconds timeout) {
  fd_ = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ < 0) throw std::runtime_error("cannot open the xtables lock " + path + ": " + std::strerror(errno));
  auto start = std::chrono::steady_clock::now();
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      std::string why = std::strerror(errno);
      ::close(fd_);
      throw std::runtime_error("cannot lock " + path + ": " + why);
    }
    if (std::chrono::steady_clock::now() - start > timeout) {
      ::close(fd_);
      throw std::runtime_error("another program holds the xtables lock " + path + " for more than " +
                               std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  waited_ = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
}

XtablesLock::~XtablesLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace cnikit::policy::iptables
