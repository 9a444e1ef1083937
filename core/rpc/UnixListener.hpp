#pragma once
// Server end of a unix stream socket: binds (replacing a stale socket file), sets the mode,
// listens; unlinks the path again on destruction.
#include <sys/types.h>

#include <atomic>
#include <string>

#include <cnikit/toolkit/UniqueFd.hpp>

namespace cnikit::rpc {

class UnixListener {
 public:
  // Throws std::runtime_error naming the path when: it is too long, a non-socket file is in
  // the way, another process is listening there, or socket/bind/chmod/listen fail. The
  // parent directory must exist. mode is applied before listen(), so no client can connect
  // through a looser mode.
  explicit UnixListener(const std::string& path, mode_t mode = 0660);
  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;
  ~UnixListener();

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

  // A connected client fd (SOCK_CLOEXEC, blocking) the caller owns, or -1 once shut down or
  // on error (errno says which; EAGAIN if the caller made fd() non-blocking). Retries on
  // EINTR and on errors that concern only the one aborted connection.
  int accept();
  // Wakes a thread blocked in accept() (it returns -1); keeps the fd for close().
  void shutdown();
  // Shuts down, closes the fd and unlinks the path (if it is still our socket). Idempotent.
  void close();

 private:
  std::string path_;
  toolkit::UniqueFd fd_;
  dev_t dev_ = 0;  // identity of the socket file we bound, so we never unlink someone else's
  ino_t ino_ = 0;
  std::atomic<bool> shutDown_{false};
};

}  // namespace cnikit::rpc
