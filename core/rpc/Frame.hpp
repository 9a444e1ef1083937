#pragma once
// Framing on a stream socket: 4-byte big-endian length, then that many bytes of UTF-8 JSON.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cnikit::rpc {

inline constexpr uint32_t kMaxFrameSize = 16u * 1024 * 1024;

using Deadline = std::chrono::steady_clock::time_point;

// Blocking forms (they also work on non-blocking fds, by polling). Retry on EINTR and
// partial transfers. writeFrame: false on error or a payload over kMaxFrameSize. readFrame:
// nullopt on EOF (also mid-frame), error, or an announced length over kMaxFrameSize.
bool writeFrame(int fd, std::string_view payload);
std::optional<std::string> readFrame(int fd);

// Same, giving up at `deadline`; on failure `why` (when given) says what happened
// ("timed out", "connection closed by peer", strerror text, ...). The deadline holds on
// sockets of either kind; a blocking pipe can still block inside one write().
bool writeFrame(int fd, std::string_view payload, Deadline deadline, std::string* why = nullptr);
std::optional<std::string> readFrame(int fd, Deadline deadline, std::string* why = nullptr);

}  // namespace cnikit::rpc
