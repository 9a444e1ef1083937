#pragma once
// What the agent adds to `cnikitctl diag`'s bundle (method rpc::kDiagMethod): its
// configuration with secrets redacted, this node's part of the store, its recent log and a
// metrics snapshot. The kernel state (links, routes, iptables, ...) is collected by cnikitctl
// itself in the node's namespace (tools/diag).
#include <nlohmann/json.hpp>
#include <string>

#include "core/agent/AgentConfig.hpp"
#include "core/store/Store.hpp"

namespace cnikit::agent {

inline constexpr const char* kRedacted = "<redacted>";

// A copy of `value` where every object member whose name suggests a secret (password,
// token, secret, psk, private key, ...) holds kRedacted instead, at any depth.
nlohmann::json redactSecrets(const nlohmann::json& value);

// The configuration as the agent understood it (after defaults), secrets redacted.
nlohmann::json agentConfigJson(const AgentConfig& config);

// {config, store: {key: value}, log: [lines], metrics: "text exposition"}. The store part
// is this node's record, endpoints and IPAM entries and the cluster config; a store that
// does not answer gives {"error": ...} there instead of failing the whole call.
nlohmann::json agentDiagnostics(const AgentConfig& config, store::Store& store, const std::string& metricsText);

}  // namespace cnikit::agent
