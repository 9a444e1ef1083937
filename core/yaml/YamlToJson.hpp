#pragma once
// YAML documents as JSON values, so config files and Kubernetes manifests can be written in
// either and validated by one JSON code path.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cnikit::yaml {

// Every document of a (multi-document) YAML text. Plain scalars become numbers/booleans/null
// when YAML 1.2 core schema says so; quoted scalars stay strings. Throws
// std::invalid_argument with the line/column of a syntax error.
std::vector<nlohmann::json> yamlToJson(const std::string& text);

}  // namespace cnikit::yaml
