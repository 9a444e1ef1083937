#include "core/rpc/UnixClient.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "core/rpc/Frame.hpp"

namespace cnikit::rpc {

UnixClient UnixClient::connect(const std::string& path, std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    throw ConnectError(path, path.empty() ? "empty socket path" : "socket path longer than " +
                                 std::to_string(sizeof(addr.sun_path) - 1) + " bytes", ENAMETOOLONG);
  }
  std::memcpy(addr.sun_path, path.data(), path.size());

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Non-blocking so that neither connect nor later I/O can outlive a deadline.
    toolkit::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) throw ConnectError(path, std::strerror(errno), errno);
    int rc;
    do {
      rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) return UnixClient(std::move(fd), path);

    const int err = errno;
    if (err == EINPROGRESS) {
      pollfd p{fd.get(), POLLOUT, 0};
      for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) throw ConnectError(path, "timed out", ETIMEDOUT);
        int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw ConnectError(path, std::strerror(errno), errno);
        if (n > 0) break;
      }
      int soErr = 0;
      socklen_t len = sizeof(soErr);
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &soErr, &len);
      if (soErr == 0) return UnixClient(std::move(fd), path);
      throw ConnectError(path, std::strerror(soErr), soErr);
    }
    if (err == EAGAIN) {
      // The listener's backlog is full: the agent is busy, not gone. Retry until the deadline.
      if (std::chrono::steady_clock::now() >= deadline) {
        throw ConnectError(path, "timed out (listen backlog full)", ETIMEDOUT);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    throw ConnectError(path, std::strerror(err), err);
  }
}

std::string UnixClient::call(std::string_view request, std::chrono::milliseconds timeout) {
  if (!fd_) throw CallError(path_, "not connected");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string why;
  if (!writeFrame(fd_.get(), request, deadline, &why)) {
    fd_.reset();
    throw CallError(path_, "sending the request: " + why);
  }
  auto response = readFrame(fd_.get(), deadline, &why);
  if (!response) {
    // A half-read frame leaves the stream out of step: the connection is done for.
    fd_.reset();
    throw CallError(path_, "waiting for the response: " + why);
  }
  return std::move(*response);
}

}  // namespace cnikit::rpc
