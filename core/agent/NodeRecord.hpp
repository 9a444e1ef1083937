#pragma once
// What a node publishes about itself at /cnikit/v1/nodes/<name> (store::keys::node), under
// its lease: NodeSync writes it and reads the others'; the agent's status shows the remote
// ones (cluster.remoteNodes, with "programmed" and "error" beside); cnikitctl and the lab
// read them from there. One type, so no side spells a field its own way.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cnikit::agent {

struct NodeRecord {
  std::string name;
  std::string underlayIpv4;  // "" when the node has none
  std::string underlayIpv6;
  std::map<std::string, std::string> labels;
  // Backend instance -> the data its backend publishes for this node (e.g. a VTEP MAC).
  std::map<std::string, nlohmann::json> backends;
  // Pool -> this node's subnets in it ("10.244.1.0/24", ...).
  std::map<std::string, std::vector<std::string>> subnets;
  // Prefix lengths of the underlay addresses (a CrossSubnet backend tells same-subnet peers
  // from routed ones); 0 = unknown, and then not written, so a record without them keeps the
  // text older agents wrote.
  uint32_t underlayIpv4PrefixLength = 0;
  uint32_t underlayIpv6PrefixLength = 0;

  bool operator==(const NodeRecord&) const = default;
};

// Missing fields take their defaults, so records of older agents still read.
inline void to_json(nlohmann::json& j, const NodeRecord& r) {
  j = {{"name", r.name},     {"underlayIpv4", r.underlayIpv4}, {"underlayIpv6", r.underlayIpv6},
       {"labels", r.labels}, {"backends", r.backends},         {"subnets", r.subnets}};
  if (r.underlayIpv4PrefixLength) j["underlayIpv4PrefixLength"] = r.underlayIpv4PrefixLength;
  if (r.underlayIpv6PrefixLength) j["underlayIpv6PrefixLength"] = r.underlayIpv6PrefixLength;
}
inline void from_json(const nlohmann::json& j, NodeRecord& r) {
  const NodeRecord defaults;
  r.name = j.value("name", defaults.name);
  r.underlayIpv4 = j.value("underlayIpv4", defaults.underlayIpv4);
  r.underlayIpv6 = j.value("underlayIpv6", defaults.underlayIpv6);
  r.labels = j.value("labels", defaults.labels);
  r.backends = j.value("backends", defaults.backends);
  r.subnets = j.value("subnets", defaults.subnets);
  r.underlayIpv4PrefixLength = j.value("underlayIpv4PrefixLength", 0u);
  r.underlayIpv6PrefixLength = j.value("underlayIpv6PrefixLength", 0u);
}

// nullopt when text is not a JSON object of that shape.
inline std::optional<NodeRecord> parseNodeRecord(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    return j.get<NodeRecord>();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace cnikit::agent
