#pragma once
// The node's underlay: the interface that reaches other nodes, its addresses and MTU, read
// in the agent's own network namespace (netlink and ioctl, never sysfs: /sys may belong to
// another namespace when the agent was started with nsenter).
#include <string>

#include "core/plugin/BackendInstance.hpp"

namespace cnikit::agent {

// interfaceName "" = the interface of the IPv4 default route, else the first interface that
// is up, not loopback and has an IPv4 address. Throws std::runtime_error naming the
// interface when it does not exist or has no address.
plugin::Underlay detectUnderlay(const std::string& interfaceName);

}  // namespace cnikit::agent
