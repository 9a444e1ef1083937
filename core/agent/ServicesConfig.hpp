#pragma once
// The `services:` section of the cluster config: where ClusterIPs, NodePorts and
// load-balancer addresses come from (core/agent/ServiceAllocator hands them out).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <cnikit/toolkit/IpPrefix.hpp>

namespace cnikit::agent {

// Like a MetalLB address pool or a Cilium LB-IPAM pool: addresses for type LoadBalancer.
struct LoadBalancerPool {
  std::string name;
  std::vector<toolkit::IpPrefix> cidrs;
};

struct ServicesConfig {
  // Who implements Services on the nodes: the core's iptables proxy, or nothing (a backend or
  // an external kube-proxy does; objects are still validated and allocated).
  enum class Proxy { Iptables, None };
  Proxy proxy = Proxy::Iptables;
  toolkit::IpPrefix clusterIPv4Cidr = toolkit::IpPrefix::parse("10.96.0.0/16").value();
  std::optional<toolkit::IpPrefix> clusterIPv6Cidr;  // set: dual-stack Services are possible
  uint16_t nodePortMin = 30000;
  uint16_t nodePortMax = 32767;
  std::vector<LoadBalancerPool> loadBalancerPools;  // tried in order
};

}  // namespace cnikit::agent
