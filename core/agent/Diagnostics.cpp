#include "core/agent/Diagnostics.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "core/agent/RecentLog.hpp"
#include "core/store/Keys.hpp"

namespace cnikit::agent {

using nlohmann::json;

namespace {

bool looksSecret(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  name.erase(std::remove_if(name.begin(), name.end(), [](char c) { return c == '_' || c == '-'; }), name.end());
  static constexpr std::array<std::string_view, 9> kWords = {"password",   "passwd", "secret",     "token",     "psk",
                                                             "privatekey", "apikey", "credential", "passphrase"};
  for (auto word : kWords) {
    if (name.find(word) != std::string::npos) return true;
  }
  return name == "key";
}

// An IPAM entry of this node: its node is in the key (handles) or in the value (subnets,
// addresses).
bool ipamEntryOf(const store::KeyValue& kv, const json& value, const std::string& node) {
  if (kv.key.find("/" + node + "/") != std::string::npos) return true;
  return value.is_object() && value.value("node", "") == node;
}

}  // namespace

json redactSecrets(const json& value) {
  if (value.is_object()) {
    json out = json::object();
    for (const auto& [name, member] : value.items())
      out[name] = looksSecret(name) ? json(kRedacted) : redactSecrets(member);
    return out;
  }
  if (value.is_array()) {
    json out = json::array();
    for (const auto& item : value) out.push_back(redactSecrets(item));
    return out;
  }
  return value;
}

json agentConfigJson(const AgentConfig& config) {
  json backends = json::array();
  for (const auto& b : config.backends) {
    backends.push_back(
        {{"name", b.name}, {"type", b.type}, {"options", b.options}, {"policy", policy::providerKindName(b.policy)}});
  }
  json pools = json::array();
  for (const auto& p : config.pools) {
    json cidrs = json::array();
    for (const auto& c : p.cidrs) cidrs.push_back(c.str());
    json exclude = json::array();
    for (const auto& c : p.exclude) exclude.push_back(c.str());
    pools.push_back({{"name", p.name},
                     {"backend", p.backend},
                     {"cidrs", cidrs},
                     {"nodeSubnetPrefixV4", p.nodeSubnetPrefixV4},
                     {"nodeSubnetPrefixV6", p.nodeSubnetPrefixV6},
                     {"exclude", exclude}});
  }
  json selection = json::array();
  for (const auto& s : config.selection) {
    selection.push_back({{"pool", s.pool},
                         {"namespaces", s.namespaces},
                         {"namespaceLabels", s.namespaceLabels},
                         {"nodeLabels", s.nodeLabels}});
  }
  json out = {
      {"node", config.node},
      {"nodeLabels", config.nodeLabels},
      {"socket", config.socket},
      {"stateDir", config.stateDir.string()},
      {"store", {{"type", config.store.type}, {"path", config.store.path}, {"endpoints", config.store.endpoints}}},
      {"backendDir", config.backendDir.string()},
      {"metricsAddress", config.metricsAddress},
      {"gcIntervalSeconds", config.gcIntervalSeconds},
      {"logLevel", config.logLevel},
      {"underlayInterface", config.underlayInterface},
      {"nodeLeaseTtlSeconds", config.nodeLeaseTtlSeconds},
      {"resyncSeconds", config.resyncSeconds},
      {"clusterFromStore", config.clusterFromStore},
      {"backends", backends},
      {"pools", pools},
      {"selection", selection}};
  return redactSecrets(out);
}

json agentDiagnostics(const AgentConfig& config, store::Store& store, const std::string& metricsText) {
  json storeView = json::object();
  try {
    auto add = [&storeView](const store::KeyValue& kv, const json& value) {
      storeView[kv.key] = redactSecrets(value.is_discarded() ? json(kv.value) : value);
    };
    for (const auto& key : {store::keys::node(config.node), std::string(store::keys::kClusterConfig)}) {
      if (auto kv = store.get(key)) add(*kv, json::parse(kv->value, nullptr, false));
    }
    for (const auto& kv : store.list(store::keys::endpointPrefix(config.node)))
      add(kv, json::parse(kv.value, nullptr, false));
    for (const auto& kv : store.list(store::keys::kIpamPrefix)) {
      auto value = json::parse(kv.value, nullptr, false);
      if (ipamEntryOf(kv, value, config.node)) add(kv, value);
    }
  } catch (const std::exception& e) {
    storeView = {{"error", e.what()}};
  }
  return {{"config", agentConfigJson(config)}, {"store", storeView}, {"log", recentLog()}, {"metrics", metricsText}};
}

}  // namespace cnikit::agent
