#include "core/policy/iptables/NetnsBinding.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace cnikit::policy::iptables {

namespace {
constexpr const char* kSelf = "/proc/thread-self/ns/net";

ino_t currentInode() {
  struct stat st {};
  if (::stat(kSelf, &st) != 0) throw std::runtime_error(std::string("stat ") + kSelf + ": " + std::strerror(errno));
  return st.st_ino;
}
}  // namespace

NetnsBinding::NetnsBinding() {
  fd_ = ::open(kSelf, O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error(std::string("open ") + kSelf + ": " + std::strerror(errno));
  struct stat st {};
  ::fstat(fd_, &st);
  inode_ = st.st_ino;
}

NetnsBinding::~NetnsBinding() {
  if (fd_ >= 0) ::close(fd_);
}

NetnsBinding::Scope::Scope(const NetnsBinding& binding) {
  if (currentInode() == binding.inode()) return;
  previous_ = ::open(kSelf, O_RDONLY | O_CLOEXEC);
  if (previous_ < 0) throw std::runtime_error(std::string("open ") + kSelf + ": " + std::strerror(errno));
  if (::setns(binding.fd(), CLONE_NEWNET) != 0) {
    std::string why = std::strerror(errno);
    ::close(previous_);
    previous_ = -1;
    throw std::runtime_error("cannot enter the policy provider's network namespace: " + why);
  }
}

NetnsBinding::Scope::~Scope() {
  if (previous_ < 0) return;
  if (::setns(previous_, CLONE_NEWNET) != 0)
    spdlog::error("cannot return to the caller's network namespace: {}", std::strerror(errno));
  ::close(previous_);
}

}  // namespace cnikit::policy::iptables
