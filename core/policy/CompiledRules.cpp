#include "core/policy/CompiledRules.hpp"

namespace cnikit::policy {

using nlohmann::json;

std::string PortRange::str() const {
  std::string out = k8s::protocolName(protocol);
  if (anyPort()) return out;
  out += "/" + std::to_string(first);
  if (last != first) out += "-" + std::to_string(last);
  return out;
}

json PortRange::toJson() const {
  json j = {{"protocol", k8s::protocolName(protocol)}};
  if (anyPort()) return j;
  j["port"] = first;
  if (last != first) j["endPort"] = last;
  return j;
}

json toJson(const CompiledRule& rule) {
  json ports = json::array();
  for (const auto& p : rule.ports) ports.push_back(p.toJson());
  json peer = rule.set.empty() ? json{{"any", true}} : json{{"set", rule.set}};
  json from = {{"policy", rule.from.policy}, {"rule", rule.from.rule}};
  from["peer"] = rule.from.peer < 0 ? json(nullptr) : json(rule.from.peer);
  return {{"peer", peer}, {"ports", ports}, {"from", from}};
}

json toJson(const DirectionRules& rules) {
  json list = json::array();
  for (const auto& r : rules.rules) list.push_back(toJson(r));
  return {{"isolated", rules.isolated}, {"policies", rules.policies}, {"rules", list}};
}

json toJson(const CompiledEndpoint& endpoint) {
  return {{"version", 1},
          {"endpoint", {{"namespace", endpoint.ns}, {"name", endpoint.name}, {"ips", endpoint.ips}}},
          {"ingress", toJson(endpoint.ingress)},
          {"egress", toJson(endpoint.egress)}};
}

}  // namespace cnikit::policy
