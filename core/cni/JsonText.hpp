#pragma once
// A JSON value as short text for error messages: enough to recognise it, never megabytes.
#include <string>

#include <nlohmann/json.hpp>

namespace cnikit::cni {

inline std::string jsonText(const nlohmann::json& value, size_t maxChars = 120) {
  auto text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > maxChars) text = text.substr(0, maxChars) + "...";
  return text;
}

}  // namespace cnikit::cni
