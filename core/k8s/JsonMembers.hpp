#pragma once
// Reading members of normalised object JSON in the typed decoders (Objects.cpp,
// ServiceObjects.cpp): a missing member or one of another type reads as empty, since
// validation has already refused what a decoder cannot use.
#include <string>

#include <nlohmann/json.hpp>

namespace cnikit::k8s::json_members {

inline const nlohmann::json& member(const nlohmann::json& j, const char* name) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(name);
  return it == j.end() ? kNull : *it;
}

inline std::string stringMember(const nlohmann::json& j, const char* name) {
  const auto& v = member(j, name);
  return v.is_string() ? v.get<std::string>() : std::string();
}

}  // namespace cnikit::k8s::json_members
