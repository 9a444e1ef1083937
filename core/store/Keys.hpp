#pragma once
// Every area of the cluster store under /cnikit/v1/ (docs/store-layout.md). Each key and
// prefix of core, cmd and tools is spelled here once; areas with a finer layout of their own
// (IPAM: core/ipam/IpamKeys, Kubernetes objects: core/k8s/ObjectKeys) start from these roots.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cnikit::store::keys {

// The version segment changes when a layout changes incompatibly.
inline constexpr std::string_view kRoot = "/cnikit/v1/";

// The cluster config (backends, pools, selection), the same for every node; YAML or JSON.
inline constexpr const char* kClusterConfig = "/cnikit/v1/cluster/config";
// Read (never written) to learn whether the store answers.
inline constexpr const char* kHealth = "/cnikit/v1/health";

// /cnikit/v1/nodes/<node>: a NodeRecord (core/agent/NodeRecord.hpp) under the node's lease.
inline constexpr std::string_view kNodesPrefix = "/cnikit/v1/nodes/";
inline std::string node(std::string_view name) { return std::string(kNodesPrefix).append(name); }
// "<node>" of a node key; nullopt for keys outside kNodesPrefix or below a node.
inline std::optional<std::string> nodeNameOf(std::string_view key) {
  if (key.substr(0, kNodesPrefix.size()) != kNodesPrefix) return std::nullopt;
  auto name = key.substr(kNodesPrefix.size());
  if (name.empty() || name.find('/') != std::string_view::npos) return std::nullopt;
  return std::string(name);
}

// /cnikit/v1/endpoints/<node>/<containerId>/<ifname>: pod attachments (core/agent/Endpoints).
inline constexpr std::string_view kEndpointsPrefix = "/cnikit/v1/endpoints/";
inline std::string endpointPrefix(std::string_view node) {
  return std::string(kEndpointsPrefix).append(node).append("/");
}
inline std::string endpoint(std::string_view node, std::string_view containerId, std::string_view ifname) {
  return endpointPrefix(node).append(containerId).append("/").append(ifname);
}
// "<node>" of an endpoint key ("" for a key outside kEndpointsPrefix).
inline std::string endpointNodeOf(std::string_view key) {
  if (key.substr(0, kEndpointsPrefix.size()) != kEndpointsPrefix) return "";
  auto rest = key.substr(kEndpointsPrefix.size());
  return std::string(rest.substr(0, rest.find('/')));
}

// /cnikit/v1/k8s/<kind>/[<namespace>/]<name>: Kubernetes objects (core/k8s/ObjectKeys).
inline constexpr std::string_view kObjectsPrefix = "/cnikit/v1/k8s/";
// /cnikit/v1/ipam/...: subnets, addresses, handles (core/ipam/IpamKeys).
inline constexpr std::string_view kIpamPrefix = "/cnikit/v1/ipam/";
// /cnikit/v1/services/...: what Services hold cluster-wide (core/agent/ServiceAllocator), one
// key per allocation, value {"service": "<namespace>/<name>"} (+ "pool" for load-balancer
// addresses), created with create-if-absent so no two Services share one:
//   clusterips/<ip>  nodeports/<port>  loadbalancerips/<ip>   (<ip> as ipam::keys::ipText)
inline constexpr std::string_view kServicesPrefix = "/cnikit/v1/services/";
inline std::string serviceClusterIp(std::string_view ipText) {
  return std::string(kServicesPrefix).append("clusterips/").append(ipText);
}
inline std::string serviceNodePort(uint16_t port) {
  return std::string(kServicesPrefix).append("nodeports/").append(std::to_string(port));
}
inline std::string serviceLoadBalancerIp(std::string_view ipText) {
  return std::string(kServicesPrefix).append("loadbalancerips/").append(ipText);
}

// /cnikit/v1/backends/<instance>/...: what a backend stores through its host callbacks.
inline constexpr std::string_view kBackendsPrefix = "/cnikit/v1/backends/";
inline std::string backendScope(std::string_view instance) {
  return std::string(kBackendsPrefix).append(instance).append("/");
}

}  // namespace cnikit::store::keys
