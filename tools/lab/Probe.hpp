#pragma once
// `cnikitctl lab probe`: real connections from every pod to every pod, made from inside the
// source pod's namespace (a thread that setns()es) to the target's pod IP: TCP connect, or a
// UDP datagram answered by the target's echo. The result is the reachability matrix of
// core/policy, printed exactly as `cnikitctl policy matrix` prints the expected one.
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <cnikit/toolkit/UniqueFd.hpp>
#include "core/policy/Matrix.hpp"
#include "tools/lab/LabState.hpp"

namespace cnikit::lab {

struct ProbeOptions {
  std::optional<uint16_t> port;             // none: every port/protocol a pod serves
  std::optional<k8s::Protocol> protocol;    // with port: default TCP; alone: a filter
  std::chrono::milliseconds timeout{1000};  // per probe
  size_t threads = 32;
  bool ipv6 = false;  // probe the pods' IPv6 addresses instead of IPv4
};

struct ProbeFailure {
  std::string from, to, portCase, reason;  // reason: "timed out", "Connection refused", ...
};

struct ProbeResult {
  policy::Matrix matrix;
  std::vector<ProbeFailure> failures;
  std::chrono::milliseconds elapsed{0};
};

// Throws std::runtime_error when the lab has no pod with an address, or no port to probe.
ProbeResult probeLab(const LabState& state, const ProbeOptions& options);

// "10.0.0.1" or "fd00::1" and a port as a socket address; false when ip is no address.
bool toSockaddr(const std::string& ip, uint16_t port, sockaddr_storage& out, socklen_t& len);
// Raises the soft descriptor limit to the hard one (up to 65536): probes keep many sockets open.
void raiseDescriptorLimit();

// The first step of a probe, shared by the reachability probe and `probe --to svc/...`: a
// non-blocking TCP connect, or a connected UDP socket that has sent `datagram`. connected is
// set when a TCP connect finished at once; failure names why the socket could not start.
struct ProbeStart {
  toolkit::UniqueFd fd;
  bool connected = false;
  std::string failure;  // "" while the probe is under way
};
ProbeStart startProbe(const sockaddr_storage& address, socklen_t length, k8s::Protocol protocol,
                      const std::string& datagram);

// One probe from inside the calling thread's namespace; "" when it connected, else why not.
std::string probeOnce(const std::string& address, uint16_t port, k8s::Protocol protocol,
                      std::chrono::milliseconds timeout);

}  // namespace cnikit::lab
