#include <cnikit/toolkit/Netns.hpp>
#include <cnikit/toolkit/NetnsGuard.hpp>

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace cnikit::toolkit {

Result<Netns> Netns::open(const std::string& path) {
  if (path.empty()) return Error{EINVAL, "opening network namespace: empty path"};
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errnoError(errno, "opening network namespace '" + path + "'");
  struct statfs fs {};
  if (::fstatfs(fd.get(), &fs) != 0) return errnoError(errno, "inspecting network namespace '" + path + "'");
  if (static_cast<unsigned long>(fs.f_type) != NSFS_MAGIC)
    return Error{EINVAL, "'" + path + "' is not a network namespace (not an nsfs file)"};
  int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
  if (type < 0) return errnoError(errno, "asking the namespace type of '" + path + "'");
  if (type != CLONE_NEWNET) return Error{EINVAL, "'" + path + "' is a namespace but not a network namespace"};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errnoError(errno, "inspecting network namespace '" + path + "'");
  return Netns(std::move(fd), path, NetnsId{st.st_dev, st.st_ino});
}

Result<Netns> Netns::current() { return open("/proc/thread-self/ns/net"); }

Result<NetnsGuard> NetnsGuard::enter(const std::string& path) {
  auto target = Netns::open(path);
  if (!target) return target.error();
  return enter(target.value());
}

Result<NetnsGuard> NetnsGuard::enter(const Netns& target) {
  auto original = Netns::current();
  if (!original) return original.error();
  if (original.value().sameAs(target)) return NetnsGuard(std::move(original).value(), false);
  if (::setns(target.fd(), CLONE_NEWNET) != 0)
    return errnoError(errno, "entering network namespace '" + target.path() + "'");
  return NetnsGuard(std::move(original).value(), true);
}

NetnsGuard::NetnsGuard(NetnsGuard&& other) noexcept
    : original_(std::move(other.original_)), switched_(std::exchange(other.switched_, false)), thread_(other.thread_) {}

Status NetnsGuard::restore() {
  if (!switched_) return {};
  if (std::this_thread::get_id() != thread_)
    return Error{EPERM, "NetnsGuard restored on another thread than the one that entered the namespace"};
  if (::setns(original_.fd(), CLONE_NEWNET) != 0)
    return errnoError(errno, "returning to network namespace '" + original_.path() + "'");
  switched_ = false;
  return {};
}

NetnsGuard::~NetnsGuard() {
  if (auto restored = restore(); !restored) {
    // Continuing would run later work of this thread in a foreign namespace.
    std::fprintf(stderr, "cnikit toolkit: fatal: %s\n", restored.error().message.c_str());
    std::abort();
  }
}

}  // namespace cnikit::toolkit
