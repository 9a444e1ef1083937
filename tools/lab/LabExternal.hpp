#pragma once
// The lab's outside client: namespace cnikit-lab-<lab>-external with an `eth0` veth on the
// fabric bridge (10.250.0.250/16, fd00:250::250/64), no agent and no pod network. It stands
// for a machine on the nodes' network that is not part of the cluster: it reaches NodePorts
// on the nodes' underlay addresses and load-balancer addresses announced on the fabric. The
// fabric is one L2 segment, so replies come straight back from the node.
#include "tools/lab/LabState.hpp"

namespace cnikit::lab {

inline constexpr const char* kExternalPart = "external";
// What `lab probe` and `lab exec` call the outside client.
inline constexpr const char* kExternalClientName = "external";

// Records (state saved first) and makes the namespace and its underlay.
void addExternalClient(LabState& state);

// The outside client's namespace; throws std::runtime_error when the lab has none.
const std::string& externalNetns(const LabState& state);

}  // namespace cnikit::lab
