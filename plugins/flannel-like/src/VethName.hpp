#pragma once
// The host-side veth name of a pod interface: "veth" + 8 hex digits of a hash of
// (container id, ifname). Stable, so DEL finds it without any saved state and without the
// pod's namespace, which may already be gone.
#include <string>

namespace cnikit::flannel {

std::string hostVethName(const std::string& containerId, const std::string& ifname);

}  // namespace cnikit::flannel
