#pragma once
// The agent methods of services (names in core/rpc/AgentMethods.hpp), served from a
// ServiceController; the agent's dispatch hands them here:
//   if (service::ServiceMethods::handles(method)) return service::ServiceMethods::handle(services_.get(), request);
// A null controller (services not running on this node) answers {error}.
#include <nlohmann/json.hpp>
#include <string>

#include "core/service/ServiceController.hpp"

namespace cnikit::service {

class ServiceMethods {
 public:
  static bool handles(const std::string& method);
  static nlohmann::json handle(const ServiceController* controller, const nlohmann::json& request);
};

}  // namespace cnikit::service
