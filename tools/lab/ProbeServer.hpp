#pragma once
// The small server every lab pod runs (`cnikitctl lab serve`, started inside the pod's
// namespace): on each TCP port it accepts, writes "cnikit-lab <ns/pod>\n" and then echoes
// what it receives until the peer closes (so a long-lived stream can be checked); on each
// UDP port it echoes every datagram. Sockets are dual-stack ([::], IPv4-mapped too).
#include <string>
#include <vector>

#include "core/k8s/Objects.hpp"

namespace cnikit::lab {

struct ServedPort {
  uint16_t port = 0;
  k8s::Protocol protocol = k8s::Protocol::TCP;
};

// "80/TCP,80/UDP,81" (protocol defaults to TCP). Throws std::invalid_argument naming the item.
std::vector<ServedPort> parseServedPorts(const std::string& text);

// Binds every port, then writes one byte to readyFd (when >= 0) and closes it, then serves
// until the process is killed. Throws std::runtime_error naming the port it cannot bind.
[[noreturn]] void serveProbes(const std::vector<ServedPort>& ports, const std::string& podKey, int readyFd);

}  // namespace cnikit::lab
