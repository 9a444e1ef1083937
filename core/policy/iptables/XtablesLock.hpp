#pragma once
// The lock the iptables tools take (flock on /run/xtables.lock): held around each libiptc
// commit, so cnikit never interleaves with `iptables-legacy`, kube-proxy or another agent
// replacing the same table. Released by the destructor.
#include <chrono>
#include <string>

namespace cnikit::policy::iptables {

inline constexpr const char* kXtablesLockPath = "/run/xtables.lock";

class XtablesLock {
 public:
  // Waits up to `timeout`; throws std::runtime_error naming the path when it cannot.
  explicit XtablesLock(const std::string& path = kXtablesLockPath,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~XtablesLock();
  XtablesLock(const XtablesLock&) = delete;
  XtablesLock& operator=(const XtablesLock&) = delete;

  std::chrono::microseconds waited() const { return waited_; }

 private:
  int fd_ = -1;
  std::chrono::microseconds waited_{0};
};

}  // namespace cnikit::policy::iptables
