#pragma once
// The node's underlay: the interface that reaches other nodes, its addresses and MTU, read
// through the toolkit's rtnetlink in the agent's own network namespace (never sysfs: /sys
// may belong to another namespace when the agent was started with nsenter).
#include <string>

#include <cnikit/toolkit/Link.hpp>

#include "core/plugin/BackendInstance.hpp"

namespace cnikit::agent {

// A backend's own device, never the underlay: a bridge named cni*/cnikit*, a VXLAN device,
// a port of a bridge or bond, a link retired into the LinkReaper's group.
bool isBackendDevice(const toolkit::LinkInfo& link);

// interfaceName "" = the interface of the IPv4 default route, else of the IPv6 one (an
// IPv6-only node), unless that is a backend's own device; without such a route, the first
// interface that is up, not loopback, not a backend device nor a veth (a pod's host end),
// and has a global address. Throws std::runtime_error naming the interface when it does not
// exist or has no address, or saying what was looked for when nothing qualifies.
plugin::Underlay detectUnderlay(const std::string& interfaceName);

}  // namespace cnikit::agent
