#pragma once
// A backend's options checked against the JSON Schema it declares (cnikit_backend_api.
// options_schema_json), before the instance is created, so that a typo in a cluster config
// is refused at start with the field named instead of surfacing as a datapath oddity later.
#include <string>

#include <nlohmann/json.hpp>

namespace cnikit::plugin {

// Throws std::invalid_argument("backend instance 'x': options.mode: Failed to match ...; ...")
// naming every field that does not fit. An empty schema accepts any JSON object. A schema
// that is not valid JSON (a backend bug) is reported as such.
void validateOptions(const std::string& schemaJson, const nlohmann::json& options, const std::string& instanceName);

}  // namespace cnikit::plugin
