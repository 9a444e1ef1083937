#pragma once
// The node agent's configuration file (YAML or JSON): who this node is, where the store
// and the backends are, which backend instances and pools exist, and how pods pick a pool.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/ipam/Pool.hpp"
#include "core/store/StoreFactory.hpp"

namespace cnikit::agent {

struct BackendConfig {
  std::string name;          // instance name, referenced by pools
  std::string type;          // library: "flannel-like" -> <backendDir>/libcnikit-flannel-like.so
  nlohmann::json options = nlohmann::json::object();
};

// First matching rule wins. Empty criteria match everything.
struct SelectionRule {
  std::string pool;
  std::vector<std::string> namespaces;               // names, '*' globs allowed
  std::map<std::string, std::string> namespaceLabels;  // labels of the stored Namespace object
  std::map<std::string, std::string> nodeLabels;       // labels of this node
};

struct AgentConfig {
  std::string node;                                   // default: the host name
  std::map<std::string, std::string> nodeLabels;
  std::string socket = "/run/cnikit/cnikitd.sock";
  std::filesystem::path stateDir = "/var/lib/cnikit";
  store::StoreConfig store;                           // default sqlite at <stateDir>/store.db
  std::filesystem::path backendDir;                   // default: the installed backend dir
  std::string metricsAddress;                         // "127.0.0.1:9090" serves /metrics; "" = off
  int gcIntervalSeconds = 60;                         // check for pods whose netns is gone
  std::string logLevel = "info";
  std::vector<BackendConfig> backends;
  std::vector<ipam::PoolConfig> pools;
  std::vector<SelectionRule> selection;
};

// Parses and validates; throws std::invalid_argument naming the file and the field.
AgentConfig loadAgentConfig(const std::filesystem::path& file);
AgentConfig parseAgentConfig(const std::string& text, const std::string& origin = "config");

}  // namespace cnikit::agent
