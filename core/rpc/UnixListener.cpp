#include "core/rpc/UnixListener.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace cnikit::rpc {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what, int err) {
  throw std::runtime_error("unix socket " + path + ": " + what + ": " + std::strerror(err));
}

// True when someone accepts connections on the socket file at addr.
bool isLive(const sockaddr_un& addr) {
  toolkit::UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe) return false;
  return ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
}

}  // namespace

UnixListener::UnixListener(const std::string& path, mode_t mode) : path_(path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    throw std::runtime_error("unix socket path \"" + path + "\" is empty or longer than " +
                             std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());

  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      throw std::runtime_error("unix socket " + path + ": a file that is not a socket is in the way");
    }
    if (isLive(addr)) throw std::runtime_error("unix socket " + path + ": another process is listening on it");
    // A leftover from a process that died: safe to replace.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail(path, "removing the stale socket", errno);
  }

  fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd_) fail(path, "socket", errno);
  if (::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) fail(path, "bind", errno);
  if (::stat(path.c_str(), &st) == 0) {
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  }
  // Before listen(): until then every connect is refused, so the mode is never looser.
  if (::chmod(path.c_str(), mode) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    fail(path, "chmod", err);
  }
  if (::listen(fd_.get(), SOMAXCONN) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    fail(path, "listen", err);
  }
}

UnixListener::~UnixListener() { close(); }

int UnixListener::accept() {
  for (;;) {
    if (!fd_ || shutDown_.load()) return -1;
    int c = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c >= 0) {
      if (shutDown_.load()) {
        ::close(c);
        return -1;
      }
      return c;
    }
    // These concern one connection that died before we took it; keep serving.
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
    return -1;
  }
}

void UnixListener::shutdown() {
  shutDown_.store(true);
  // On Linux, shutdown() of a listening socket makes a blocked accept() return EINVAL.
  if (fd_) ::shutdown(fd_.get(), SHUT_RDWR);
}

void UnixListener::close() {
  if (!fd_) return;
  shutdown();
  struct stat st{};
  if (ino_ != 0 && ::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
    ::unlink(path_.c_str());
  }
  fd_.reset();
}

}  // namespace cnikit::rpc
