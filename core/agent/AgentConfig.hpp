#pragma once
// The node agent's configuration file (YAML or JSON): who this node is, where the store
// and the backends are, which backend instances and pools exist, and how pods pick a pool.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/agent/ServicesConfig.hpp"
#include "core/ipam/Pool.hpp"
#include "core/policy/PolicyProvider.hpp"
#include "core/store/Keys.hpp"
#include "core/store/StoreFactory.hpp"

namespace cnikit::agent {

struct BackendConfig {
  std::string name;  // instance name, referenced by pools
  std::string type;  // library: "flannel-like" -> <backendDir>/libcnikit-flannel-like.so
  nlohmann::json options = nlohmann::json::object();  // the backend's own, passed to it as they are
  // Who enforces NetworkPolicy for this instance's pods: the core's provider, not the backend.
  // `policy: none|iptables`; the old spelling `options.policy` is read with a warning.
  policy::ProviderKind policy = policy::ProviderKind::None;
};

// First matching rule wins. Empty criteria match everything.
struct SelectionRule {
  std::string pool;
  std::vector<std::string> namespaces;                 // names, '*' globs allowed
  std::map<std::string, std::string> namespaceLabels;  // labels of the stored Namespace object
  std::map<std::string, std::string> nodeLabels;       // labels of this node
};

struct AgentConfig {
  std::string node;  // default: the host name
  std::map<std::string, std::string> nodeLabels;
  std::string socket = "/run/cnikit/cnikitd.sock";
  std::filesystem::path stateDir = "/var/lib/cnikit";
  store::StoreConfig store;          // default sqlite at <stateDir>/store.db
  std::filesystem::path backendDir;  // default: the installed backend dir
  std::string metricsAddress;        // "127.0.0.1:9090" serves /metrics; "" = off
  int gcIntervalSeconds = 60;        // check for pods whose netns is gone
  std::string logLevel = "info";
  std::string underlayInterface;  // "" = interface of the default route
  int nodeLeaseTtlSeconds = 20;   // a dead node's routes go after this
  int resyncSeconds = 30;         // full reconcile of remote nodes
  // Cluster part: backend instances, pools and selection rules. When the file has none of
  // them they come from the store (kClusterConfigKey), the same for every node.
  bool clusterFromStore = false;
  std::vector<BackendConfig> backends;
  std::vector<ipam::PoolConfig> pools;
  std::vector<SelectionRule> selection;
  // `services:` (of the file or the stored cluster config): service CIDRs, NodePort range,
  // load-balancer pools. Defaults when absent.
  ServicesConfig services;
};

inline constexpr const char* kClusterConfigKey = store::keys::kClusterConfig;

// Parses and validates; throws std::invalid_argument naming the file and the field.
AgentConfig loadAgentConfig(const std::filesystem::path& file);
AgentConfig parseAgentConfig(const std::string& text, const std::string& origin = "config");
// Fills backends, pools and selection of config from a cluster config document (YAML or
// JSON: {backends, pools, selection, services}); throws std::invalid_argument naming the field.
void applyClusterConfig(AgentConfig& config, const std::string& text, const std::string& origin);

}  // namespace cnikit::agent
