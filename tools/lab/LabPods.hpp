#pragma once
// `cnikitctl lab apply | delete -f`: Kubernetes objects in a lab. Namespaces,
// NetworkPolicies, Services and EndpointSlices (any kind but Pod) are stored (through an
// agent, as `cnikitctl apply` does; the agents derive endpoints); a Pod also runs:
// it is placed on spec.nodeName (or the node with the fewest pods), stored with its node,
// gets a network namespace networked by that node's real `cnikit` executable (CNI ADD with
// K8S_POD_NAMESPACE/K8S_POD_NAME), a probe server (`cnikitctl lab serve`) listening on
// each containerPort, and is stored again with status.podIP(s).
#include <string>
#include <vector>

#include "core/k8s/Validation.hpp"
#include "tools/lab/LabState.hpp"
#include "tools/lab/Progress.hpp"

namespace cnikit::lab {

// Objects already validated (core/k8s). Everything but Pods goes first (namespaces, policies,
// services), so a pod is policed from its first packet. A pod that exists is updated in place (labels, ports); it
// cannot move to another node. Throws std::runtime_error at the first failure (what was
// done before stays, and is in the state file).
void applyObjects(LabState& state, const std::vector<k8s::NormalizedObject>& objects, const Progress& progress);

// Reverses apply: a Pod gets CNI DEL through cnikit, its server is stopped by PID and its
// namespace removed; every object is deleted from the store; deleting a Namespace deletes
// its pods too. Objects that do not exist are reported, not an error.
void deleteObjects(LabState& state, const std::vector<k8s::ObjectRef>& refs, const Progress& progress);

// The CNI network configuration the lab gives cnikit for a node.
std::string cniConfig(const NodeState& node);

// Starts (or restarts) the pod's probe server and waits until it listens.
void startProbeServer(LabState& state, PodState& pod);

}  // namespace cnikit::lab
