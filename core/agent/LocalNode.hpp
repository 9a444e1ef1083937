#pragma once
// What the agent tells backend instances about their own node and its pods: the create
// spec (pools, labels, underlay), this node as the other nodes see it (local_node_update),
// and a pod request rebuilt from an endpoint record (DEL, CHECK, pods_sync).
#include <map>
#include <string>
#include <vector>

#include "core/agent/AgentConfig.hpp"
#include "core/agent/Endpoints.hpp"
#include "core/ipam/Ipam.hpp"
#include "core/plugin/BackendInstance.hpp"

namespace cnikit::agent {

// Pool name -> this node's subnets in it.
using NodeSubnets = std::map<std::string, std::vector<toolkit::IpPrefix>>;

plugin::CreateSpec createSpecFor(const AgentConfig& config, const BackendConfig& backend,
                                 const plugin::Underlay& underlay);

// This node for one backend instance: its subnets in the instance's pools, labels, underlay.
plugin::NodeInfo localNodeFor(const AgentConfig& config, const std::string& instance, const NodeSubnets& subnets,
                              const plugin::Underlay& underlay, const std::string& backendDataJson = "{}");

plugin::PodRequest podRequestFor(const Endpoint& endpoint);

// One address IPAM allocated, as a backend receives it: "10.244.1.5/24" (the node subnet's
// prefix), its gateway, subnet and pool CIDR.
plugin::IpSpec ipSpecFor(const ipam::Allocation& allocation);

}  // namespace cnikit::agent
