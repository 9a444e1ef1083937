#pragma once
// Deletes the conntrack entries of UDP flows that were DNATed to a backend the proxy no longer
// uses (kube-proxy runs `conntrack -D` for the same reason): UDP has no connection end, so a
// client that keeps sending would otherwise stay on the removed backend until the entry times
// out. Works in the calling thread's network namespace (ctnetlink, libnetfilter_conntrack).
#include <cstdint>
#include <string>
#include <vector>

#include <cnikit/toolkit/Result.hpp>

namespace cnikit::service::iptables {

struct UdpBackend {
  std::string address;  // IPv4 or IPv6 text
  uint16_t port = 0;
  auto operator<=>(const UdpBackend&) const = default;
};

// Deletes every entry with destination NAT whose reply comes from one of `backends` over UDP;
// returns how many it deleted.
toolkit::Result<int> flushUdpConntrack(const std::vector<UdpBackend>& backends);

}  // namespace cnikit::service::iptables
