#pragma once
// What a node publishes about itself at /cnikit/v1/nodes/<name> (store::keys::node), under
// its lease: NodeSync writes it and reads the others'; the agent's status shows the remote
// ones (cluster.remoteNodes, with "programmed" and "error" beside); cnikitctl and the lab
// read them from there. One type, so no side spells a field its own way.
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

  bool operator==(const NodeRecord&) const = default;
};

// Missing fields take their defaults, so records of older agents still read.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NodeRecord, name, underlayIpv4, underlayIpv6, labels, backends,
                                                subnets)

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
