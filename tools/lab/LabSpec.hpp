#pragma once
// What `lab up` builds: nodes, the backend and its mode, the cluster config (pools,
// backend instances, selection) and agent settings. Defaults: 3 nodes, flannel-like in
// vxlan mode, pool 10.244.0.0/16 (+ fd00:10:244::/56) with a /24 (/64) per node, and a
// load-balancer pool `lab` inside the fabric subnet, 10.250.200.0/24 (+ fd00:250::200:0/112).
// A lab.yaml may set any of it:
//
//   nodes: 3                      # or a list: [{name: node1, labels: {zone: a}}, ...]
//   backend: flannel-like         # library of the default backend instance
//   mode: vxlan                   # vxlan | host-gw | bridge (flannel-like)
//   backendOptions: {vni: 7}      # more options of the default backend instance
//   policy: iptables              # NetworkPolicy provider of the default instance (none)
//   ipv6: true                    # dual-stack default pool
//   backends: [...]               # the cluster config itself (as the agent reads it):
//   pools: [...]                  #   replaces the default backend instance and pool
//   selection: [...]
//   services: {...}               # the cluster config's services section (service CIDRs,
//                                 #   nodePortRange, loadBalancerPools), replaces the default
//   nodeLeaseTtlSeconds: 6        # agent settings
//   resyncSeconds: 5
//   logLevel: info
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cnikit::lab {

struct LabNodeSpec {
  std::string name;
  std::map<std::string, std::string> labels;
};

struct LabSpec {
  std::string name;
  std::vector<LabNodeSpec> nodes;  // empty: node1..node3
  std::string backend = "flannel-like";
  std::string mode = "vxlan";
  nlohmann::json backendOptions = nlohmann::json::object();
  std::string policy;  // "" = the agent's default (none)
  bool ipv6 = true;
  // {backends, pools, selection} from lab.yaml; null = the default instance and pool.
  nlohmann::json cluster;
  // The services section from lab.yaml; null = the default load-balancer pool.
  nlohmann::json services;
  int nodeLeaseTtlSeconds = 6;
  int resyncSeconds = 5;
  std::string logLevel = "info";
  std::chrono::seconds readyTimeout{60};
  std::string binDir;      // "" = the directory of the running executable
  std::string backendDir;  // "" = found from binDir, else the installed default

  // node1..nodeN with no labels.
  void setNodeCount(int count);
  // The document written to /cnikit/v1/cluster/config, validated with the agent's parser.
  // Throws std::invalid_argument naming the field.
  nlohmann::json clusterConfig() const;
};

// Reads lab.yaml (YAML or JSON) into spec; fields it does not name keep their value.
// Throws std::invalid_argument naming the file and field.
void readLabConfig(const std::string& file, LabSpec& spec);
void parseLabConfig(const std::string& text, const std::string& origin, LabSpec& spec);

// <binDir>/../lib/cnikit/backends when it holds the backend library, else the installed dir.
std::string findBackendDir(const std::string& binDir, const std::string& backendType);

}  // namespace cnikit::lab
