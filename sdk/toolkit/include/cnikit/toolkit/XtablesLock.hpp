#pragma once
// The lock the iptables tools take (flock on /run/xtables.lock): held around each libiptc
// commit, so a writer never interleaves with `iptables-legacy`, kube-proxy or another agent
// replacing the same table (a commit replaces the whole table). Released on destruction.
#include <chrono>
#include <string>

#include <cnikit/toolkit/Result.hpp>
#include <cnikit/toolkit/UniqueFd.hpp>

namespace cnikit::toolkit {

inline constexpr const char* kXtablesLockPath = "/run/xtables.lock";

class XtablesLock {
 public:
  // Waits up to `timeout`; ETIMEDOUT naming the path when another program keeps it.
  static Result<XtablesLock> acquire(const std::string& path = kXtablesLockPath,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

  std::chrono::microseconds waited() const { return waited_; }

 private:
  XtablesLock(UniqueFd fd, std::chrono::microseconds waited) : fd_(std::move(fd)), waited_(waited) {}
  UniqueFd fd_;  // closing it releases the flock
  std::chrono::microseconds waited_{0};
};

}  // namespace cnikit::toolkit
