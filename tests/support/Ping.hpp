#pragma once
// ICMP echo from inside a network namespace, in-process (raw socket on a thread that
// entered the namespace), so tests depend on no ping binary.
#include <chrono>
#include <string>

namespace cnikit::testing {

// true when an echo reply from toAddress (IPv4 or IPv6 text) arrives before timeout.
// Requests are repeated every 100 ms (the first may wait on ARP/ND). Throws
// std::runtime_error for a bad address or when the namespace cannot be entered.
bool ping(const std::string& fromNetnsPath, const std::string& toAddress,
          std::chrono::milliseconds timeout = std::chrono::seconds(2));

}  // namespace cnikit::testing
