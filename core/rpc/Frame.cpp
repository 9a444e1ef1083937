#include "core/rpc/Frame.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cnikit::rpc {
namespace {

constexpr Deadline kNever = Deadline::max();

void setWhy(std::string* why, std::string text) {
  if (why) *why = std::move(text);
}

// Waits until fd is ready for `events` or the deadline passes. False on timeout or error.
bool waitReady(int fd, short events, Deadline deadline, std::string* why) {
  for (;;) {
    int timeoutMs = -1;
    if (deadline != kNever) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        setWhy(why, "timed out");
        return false;
      }
      // Round up so we do not spin on sub-millisecond remainders.
      timeoutMs = static_cast<int>(std::min<int64_t>(left.count() + 1, INT32_MAX));
    }
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, timeoutMs);
    if (n < 0) {
      if (errno == EINTR) continue;
      setWhy(why, std::strerror(errno));
      return false;
    }
    if (n == 0) continue;  // re-check the deadline
    // POLLHUP/POLLERR: let the next read/write report the precise error or EOF.
    return true;
  }
}

bool writeAll(int fd, const char* data, size_t size, Deadline deadline, std::string* why) {
  bool useSend = true;
  // With a deadline a blocking socket must not block inside send(): ask for a partial write.
  const int flags = MSG_NOSIGNAL | (deadline != kNever ? MSG_DONTWAIT : 0);
  while (size > 0) {
    if (!useSend && deadline != kNever && !waitReady(fd, POLLOUT, deadline, why)) return false;
    ssize_t n = useSend ? ::send(fd, data, size, flags) : ::write(fd, data, size);
    if (n < 0) {
      if (errno == ENOTSOCK && useSend) {
        useSend = false;  // a pipe or file: plain write (SIGPIPE is the caller's business)
        continue;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!waitReady(fd, POLLOUT, deadline, why)) return false;
        continue;
      }
      setWhy(why, errno == EPIPE ? std::string("connection closed by peer") : std::strerror(errno));
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// 1: got all; 0: EOF before the first byte; -1: error or EOF part way.
int readAll(int fd, char* data, size_t size, Deadline deadline, std::string* why) {
  size_t got = 0;
  while (got < size) {
    if (deadline != kNever && !waitReady(fd, POLLIN, deadline, why)) return -1;
    ssize_t n = ::read(fd, data + got, size - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!waitReady(fd, POLLIN, deadline, why)) return -1;
        continue;
      }
      setWhy(why, std::strerror(errno));
      return -1;
    }
    if (n == 0) {
      setWhy(why, got == 0 ? "connection closed by peer" : "connection closed by peer in the middle of a frame");
      return got == 0 ? 0 : -1;
    }
    got += static_cast<size_t>(n);
  }
  return 1;
}

}  // namespace

bool writeFrame(int fd, std::string_view payload, Deadline deadline, std::string* why) {
  if (payload.size() > kMaxFrameSize) {
    setWhy(why, "frame of " + std::to_string(payload.size()) + " bytes exceeds the limit of " +
                    std::to_string(kMaxFrameSize));
    return false;
  }
  const auto len = static_cast<uint32_t>(payload.size());
  const char header[4] = {static_cast<char>(len >> 24), static_cast<char>(len >> 16),
                          static_cast<char>(len >> 8), static_cast<char>(len)};
  // Header and body in one buffer: one send for small frames, no Nagle-like split.
  if (payload.size() <= 64 * 1024) {
    std::string buf(header, 4);
    buf.append(payload);
    return writeAll(fd, buf.data(), buf.size(), deadline, why);
  }
  return writeAll(fd, header, 4, deadline, why) && writeAll(fd, payload.data(), payload.size(), deadline, why);
}

std::optional<std::string> readFrame(int fd, Deadline deadline, std::string* why) {
  unsigned char header[4];
  if (readAll(fd, reinterpret_cast<char*>(header), 4, deadline, why) != 1) return std::nullopt;
  const uint32_t len = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) | (uint32_t{header[2]} << 8) |
                       uint32_t{header[3]};
  if (len > kMaxFrameSize) {
    setWhy(why, "peer announced a frame of " + std::to_string(len) + " bytes, over the limit of " +
                    std::to_string(kMaxFrameSize));
    return std::nullopt;
  }
  std::string payload(len, '\0');
  if (len > 0) {
    int got = readAll(fd, payload.data(), len, deadline, why);
    if (got == 0) setWhy(why, "connection closed by peer in the middle of a frame");
    if (got != 1) return std::nullopt;
  }
  return payload;
}

bool writeFrame(int fd, std::string_view payload) { return writeFrame(fd, payload, kNever, nullptr); }

std::optional<std::string> readFrame(int fd) { return readFrame(fd, kNever, nullptr); }

}  // namespace cnikit::rpc
