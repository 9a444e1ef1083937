#include "core/service/ServiceMethods.hpp"

#include "core/rpc/AgentMethods.hpp"
#include "core/service/ServiceTableJson.hpp"

namespace cnikit::service {

using nlohmann::json;

bool ServiceMethods::handles(const std::string& method) {
  return method == rpc::kServiceListMethod || method == rpc::kServiceExplainMethod;
}

json ServiceMethods::handle(const ServiceController* controller, const json& request) {
  if (!controller) return {{"error", "services are not programmed on this node (no service controller running)"}};
  const std::string method = request.value("method", "");
  if (method == rpc::kServiceListMethod) {
    json services = json::array();
    for (const auto& [key, service] : controller->table()) services.push_back(service);
    return {{"node", controller->nodeContext()}, {"status", controller->status()}, {"services", services}};
  }
  if (method == rpc::kServiceExplainMethod) {
    std::string key = request.value("service", "");
    if (key.find('/') == std::string::npos) key = "default/" + key;
    auto table = controller->table();
    auto it = table.find(key);
    if (it == table.end()) return {{"error", "service " + key + " is not in this node's service table"}};
    return {{"service", it->second},
            {"provider", controller->status().value("provider", "")},
            {"explain", controller->explain(key)}};
  }
  return {{"error", "unknown method '" + method + "'"}};
}

}  // namespace cnikit::service
