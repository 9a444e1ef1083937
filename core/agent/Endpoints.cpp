#include "core/agent/Endpoints.hpp"

namespace cnikit::agent {

void to_json(nlohmann::json& j, const Endpoint& e) {
  j = {{"containerId", e.containerId}, {"ifname", e.ifname},       {"netns", e.netns},
       {"podNamespace", e.podNamespace}, {"podName", e.podName},   {"pool", e.pool},
       {"backend", e.backend},           {"addresses", e.addresses}, {"gateways", e.gateways},
       {"hostIfname", e.hostIfname},     {"hostMac", e.hostMac},   {"containerMac", e.containerMac},
       {"mtu", e.mtu}};
  if (!e.routes.empty()) j["routes"] = e.routes;
  if (!e.interfaces.empty()) j["interfaces"] = e.interfaces;
}

void from_json(const nlohmann::json& j, Endpoint& e) {
  e.containerId = j.value("containerId", "");
  e.ifname = j.value("ifname", "");
  e.netns = j.value("netns", "");
  e.podNamespace = j.value("podNamespace", "");
  e.podName = j.value("podName", "");
  e.pool = j.value("pool", "");
  e.backend = j.value("backend", "");
  e.addresses = j.value("addresses", std::vector<std::string>{});
  e.gateways = j.value("gateways", std::vector<std::string>{});
  e.hostIfname = j.value("hostIfname", "");
  e.hostMac = j.value("hostMac", "");
  e.containerMac = j.value("containerMac", "");
  e.mtu = j.value("mtu", 0u);
  e.routes = j.value("routes", nlohmann::json::array());
  e.interfaces = j.value("interfaces", nlohmann::json::array());
}

void Endpoints::put(const Endpoint& endpoint) {
  store_.put(key(endpoint.containerId, endpoint.ifname), nlohmann::json(endpoint).dump());
}

std::optional<Endpoint> Endpoints::get(const std::string& containerId, const std::string& ifname) {
  auto kv = store_.get(key(containerId, ifname));
  if (!kv) return std::nullopt;
  return nlohmann::json::parse(kv->value).get<Endpoint>();
}

void Endpoints::remove(const std::string& containerId, const std::string& ifname) {
  store_.remove(key(containerId, ifname));
}

std::vector<Endpoint> Endpoints::list() {
  std::vector<Endpoint> out;
  for (const auto& kv : store_.list(prefix(node_))) out.push_back(nlohmann::json::parse(kv.value).get<Endpoint>());
  return out;
}

}  // namespace cnikit::agent
