#pragma once
// The small server every lab pod runs (`cnikitctl lab serve`, started inside the pod's
// namespace): on each TCP port it accepts, writes "cnikit-lab <ns/pod> from <peer>\n" (who
// served, and the client address it saw: a Service's balancing, affinity and source NAT
// become visible) and then echoes what it receives until the peer closes (so a long-lived
// stream can be checked); on each UDP port it answers the datagram "whoami" with the same
// line and echoes every other datagram. Sockets are dual-stack ([::], IPv4-mapped too).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/k8s/Objects.hpp"

namespace cnikit::lab {

struct ServedPort {
  uint16_t port = 0;
  k8s::Protocol protocol = k8s::Protocol::TCP;
};

// The datagram a UDP client sends to learn who serves it.
inline constexpr const char* kWhoami = "whoami";

// "cnikit-lab x/a from 10.250.0.250:41234\n" ("[fd00::1]:41234" for IPv6).
std::string probeGreeting(const std::string& podKey, const std::string& peer);

struct ProbeAnswer {
  std::string pod;          // "x/a"
  std::string peerAddress;  // the client address the server saw, without port ("" if absent)
};
// The parsed greeting line; nullopt when it is not one.
std::optional<ProbeAnswer> parseProbeGreeting(std::string_view line);

// "80/TCP,80/UDP,81" (protocol defaults to TCP). Throws std::invalid_argument naming the item.
std::vector<ServedPort> parseServedPorts(const std::string& text);

// Binds every port, then writes one byte to readyFd (when >= 0) and closes it, then serves
// until the process is killed. Throws std::runtime_error naming the port it cannot bind.
[[noreturn]] void serveProbes(const std::vector<ServedPort>& ports, const std::string& podKey, int readyFd);

}  // namespace cnikit::lab
