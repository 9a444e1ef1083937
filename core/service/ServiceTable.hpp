#pragma once
// The service table: what every node must do for Services, independent of the datapath.
// ServiceController (core/service) builds it from the store (Service, EndpointSlice and Pod
// objects, endpoint records, node records) for one node; a ServiceProvider programs it
// (the core's iptables proxy today, an eBPF backend's maps later: docs/services.md maps each
// field). One Service = one entry; each of its ports carries its own backends, because a named
// targetPort resolves per pod.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/k8s/Objects.hpp"

namespace cnikit::service {

enum class TrafficPolicy { Cluster, Local };

// One endpoint address:port behind a service port.
struct Backend {
  std::string address;  // "10.244.1.5" or "fd00:10:244:1::5", no prefix length
  uint16_t port = 0;    // the resolved targetPort
  std::string pod;      // "namespace/name"; "" for a hand-written EndpointSlice endpoint
  std::string node;     // the node that hosts it ("" when unknown)
  bool local = false;   // node == the node this table is for
  bool ready = true;    // only ready backends receive new connections
  auto operator<=>(const Backend&) const = default;
};

struct ServicePort {
  std::string name;  // may be empty when the Service has one port
  k8s::Protocol protocol = k8s::Protocol::TCP;
  uint16_t port = 0;      // on every clusterIP and load-balancer address
  uint16_t nodePort = 0;  // 0 = none (type ClusterIP)
  // Of both families, sorted; a frontend of one family uses the backends of that family.
  std::vector<Backend> backends;
  bool operator==(const ServicePort&) const = default;
};

struct Service {
  std::string ns;
  std::string name;
  std::vector<std::string> clusterIPs;       // 0..2 (one per family), no prefix length
  std::vector<std::string> loadBalancerIPs;  // status.loadBalancer.ingress[].ip
  std::vector<ServicePort> ports;
  bool clientIpAffinity = false;  // sessionAffinity: ClientIP
  uint32_t affinityTimeoutSeconds = 10800;
  TrafficPolicy internalTrafficPolicy = TrafficPolicy::Cluster;  // clusterIP frontends
  TrafficPolicy externalTrafficPolicy = TrafficPolicy::Cluster;  // nodePort and LB frontends

  std::string key() const { return ns + "/" + name; }
  bool operator==(const Service&) const = default;
};

// By Service::key().
using ServiceTable = std::map<std::string, Service>;

// Service keys whose entry was added, changed or removed (absent from the table = removed).
using ServiceChanges = std::set<std::string>;

// What a provider needs to know about the node it programs.
struct NodeContext {
  std::string name;
  std::vector<std::string> nodeAddresses;  // underlay addresses NodePorts listen on
  std::vector<std::string> podCidrs;       // the cluster's pod pools ("10.244.0.0/16")
  bool operator==(const NodeContext&) const = default;
};

inline const char* trafficPolicyName(TrafficPolicy p) { return p == TrafficPolicy::Local ? "Local" : "Cluster"; }

}  // namespace cnikit::service
