#pragma once
// The service table as JSON (`cnikitctl service list`, the service.list agent method): field
// names as in ServiceTable.hpp.
#include <nlohmann/json.hpp>

#include "core/service/ServiceTable.hpp"

namespace cnikit::service {

void to_json(nlohmann::json& j, const Backend& b);
void to_json(nlohmann::json& j, const ServicePort& p);
void to_json(nlohmann::json& j, const Service& s);
void to_json(nlohmann::json& j, const NodeContext& n);

}  // namespace cnikit::service
