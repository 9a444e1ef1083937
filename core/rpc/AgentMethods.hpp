#pragma once
// The method names of the agent socket, shared by the agent (core/agent: Agent::dispatch,
// ObjectService) and its clients (cnikit, cnikitctl, the lab, tests) so they cannot drift.
// A request is {"method": NAME, ...parameters}; an answer is JSON, {"error": ...} on failure.

namespace cnikit::rpc {

// {"env": {CNI_*}, "stdin": "<config>"} -> {"exitCode", "stdout", "stderr"} (AgentProtocol.hpp).
inline constexpr const char* kCniMethod = "cni";
// -> agent, store, cluster, policy, backends, pools and allocations of this node. Never writes.
inline constexpr const char* kStatusMethod = "status";
// -> [{pool, address, subnet, containerId, ifname, ...}] allocated on this node.
inline constexpr const char* kIpamListMethod = "ipam.list";
// -> {"version", "abi"}.
inline constexpr const char* kVersionMethod = "version";
// {} -> {config, store, log, metrics}: the agent's part of `cnikitctl diag` (core/agent/Diagnostics).
inline constexpr const char* kDiagMethod = "diag";
// -> {"released": [...]}: addresses of pods whose network namespace is gone.
inline constexpr const char* kGcNamespacesMethod = "gc.namespaces";
// The node leaves the cluster: pods released, backends shut down with TEARDOWN, the node's
// registration withdrawn, then the agent exits. Answers {"leaving": node}.
inline constexpr const char* kNodeLeaveMethod = "node.leave";

// Kubernetes objects in the store (core/agent/ObjectService).
inline constexpr const char* kObjectsMethodPrefix = "objects.";
// {"objects": [...], "namespace"?} -> {"results": [{kind, namespace?, name, action}]}.
inline constexpr const char* kObjectsApplyMethod = "objects.apply";
// {"refs": [{kind, namespace, name}]} or {"objects": [...]} -> {"results": [...]}.
inline constexpr const char* kObjectsDeleteMethod = "objects.delete";
// {"kind", "namespace"?, "all"?} -> {"items": [...]}.
inline constexpr const char* kObjectsListMethod = "objects.list";

// Services of this node (core/service/ServiceMethods, from the ServiceController).
// -> {"node": NodeContext, "status": {...}, "services": [service table entries]}.
inline constexpr const char* kServiceListMethod = "service.list";
// {"service": "ns/name"} -> {"service": entry, "provider", "explain": provider's explain}.
inline constexpr const char* kServiceExplainMethod = "service.explain";

}  // namespace cnikit::rpc
