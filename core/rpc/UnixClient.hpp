#pragma once
// Client end of the agent socket: connect with a timeout, then framed request/response calls.
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

#include <cnikit/toolkit/UniqueFd.hpp>

namespace cnikit::rpc {

// Could not connect. what() = "cannot connect to <path>: <reason>".
class ConnectError : public std::runtime_error {
 public:
  ConnectError(std::string path, std::string reason, int err)
      : std::runtime_error("cannot connect to " + path + ": " + reason),
        path_(std::move(path)), reason_(std::move(reason)), errno_(err) {}
  const std::string& path() const { return path_; }
  const std::string& reason() const { return reason_; }  // strerror text or "timed out"
  int error() const { return errno_; }                    // errno, 0 when not from the OS

 private:
  std::string path_;
  std::string reason_;
  int errno_;
};

// A call failed part way (I/O error, peer closed, timeout). what() names the socket path.
class CallError : public std::runtime_error {
 public:
  CallError(std::string path, std::string reason)
      : std::runtime_error("call on " + path + " failed: " + reason), path_(std::move(path)),
        reason_(std::move(reason)) {}
  const std::string& path() const { return path_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string path_;
  std::string reason_;
};

class UnixClient {
 public:
  // Throws ConnectError (missing socket, nobody listening, timeout, path too long).
  static UnixClient connect(const std::string& path, std::chrono::milliseconds timeout);

  // Sends one frame and waits for one frame back; the whole exchange must finish within
  // `timeout`. Throws CallError. Several calls may share one connection.
  std::string call(std::string_view request, std::chrono::milliseconds timeout);

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

 private:
  UnixClient(toolkit::UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  toolkit::UniqueFd fd_;
  std::string path_;
};

}  // namespace cnikit::rpc
