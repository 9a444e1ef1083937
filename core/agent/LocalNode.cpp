#include "core/agent/LocalNode.hpp"

namespace cnikit::agent {

plugin::CreateSpec createSpecFor(const AgentConfig& config, const BackendConfig& backend,
                                 const plugin::Underlay& underlay) {
  plugin::CreateSpec spec;
  spec.instanceName = backend.name;
  spec.nodeName = config.node;
  // "policy" is the core's business (the iptables provider), not the backend's.
  auto options = backend.options;
  options.erase("policy");
  spec.optionsJson = options.dump();
  spec.stateDir = (config.stateDir / "backends" / backend.name).string();
  spec.underlay = underlay;
  spec.nodeLabelsJson = nlohmann::json(config.nodeLabels).dump();
  for (const auto& pool : config.pools) {
    if (pool.backend != backend.name) continue;
    plugin::PoolInfo info;
    info.name = pool.name;
    for (const auto& cidr : pool.cidrs) info.cidrs.push_back(cidr.str());
    info.nodePrefixIpv4 = static_cast<uint32_t>(pool.nodeSubnetPrefixV4);
    info.nodePrefixIpv6 = static_cast<uint32_t>(pool.nodeSubnetPrefixV6);
    nlohmann::json poolOptions = nlohmann::json::object();
    if (!pool.exclude.empty()) {
      poolOptions["exclude"] = nlohmann::json::array();
      for (const auto& e : pool.exclude) poolOptions["exclude"].push_back(e.str());
    }
    info.optionsJson = poolOptions.dump();
    spec.pools.push_back(std::move(info));
  }
  return spec;
}

plugin::NodeInfo localNodeFor(const AgentConfig& config, const std::string& instance, const NodeSubnets& subnets,
                              const plugin::Underlay& underlay, const std::string& backendDataJson) {
  plugin::NodeInfo self;
  self.name = config.node;
  self.underlayIpv4 = underlay.ipv4;
  self.underlayIpv6 = underlay.ipv6;
  self.underlayIpv4PrefixLength = underlay.ipv4PrefixLength;
  self.underlayIpv6PrefixLength = underlay.ipv6PrefixLength;
  self.labelsJson = nlohmann::json(config.nodeLabels).dump();
  self.backendDataJson = backendDataJson;
  for (const auto& pool : config.pools) {
    if (pool.backend != instance) continue;
    auto it = subnets.find(pool.name);
    if (it == subnets.end()) continue;
    for (const auto& subnet : it->second) self.subnets.push_back(subnet.str());
  }
  return self;
}

plugin::PodRequest podRequestFor(const Endpoint& endpoint) {
  plugin::PodRequest request;
  request.containerId = endpoint.containerId;
  request.netns = endpoint.netns;
  request.ifname = endpoint.ifname;
  request.podNamespace = endpoint.podNamespace;
  request.podName = endpoint.podName;
  request.pool = endpoint.pool;
  request.mtu = endpoint.mtu;
  for (size_t i = 0; i < endpoint.addresses.size(); ++i) {
    const auto& address = endpoint.addresses[i];
    auto cidr = toolkit::IpPrefix::parse(address).value();
    request.ips.push_back(
        {cidr.family(), address, i < endpoint.gateways.size() ? endpoint.gateways[i] : "", cidr.masked().str(), ""});
  }
  return request;
}

plugin::IpSpec ipSpecFor(const ipam::Allocation& a) {
  return {a.address.family(), a.address.str() + "/" + std::to_string(a.subnet.prefixLength()),
          a.gateway ? a.gateway->str() : "", a.subnet.str(), a.poolCidr.str()};
}

}  // namespace cnikit::agent
