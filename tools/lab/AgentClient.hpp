#pragma once
// One call to a lab node's agent over its socket (the agent protocol of core/agent).
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace cnikit::lab {

// Throws std::runtime_error naming the socket: cannot connect, the call failed, or the agent
// answered {"error": ...}.
nlohmann::json callAgentSocket(const std::string& socket, const nlohmann::json& request,
                               std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace cnikit::lab
