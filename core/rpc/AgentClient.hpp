#pragma once
// The one client of the agent's JSON methods (AgentMethods.hpp) over its socket, used by
// cnikitctl, the lab and tests. The CNI executable frames its own request (AgentProtocol.hpp)
// over UnixClient: it must stay small and map a missing agent to CNI error 11.
#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "core/rpc/AgentMethods.hpp"
#include "core/rpc/UnixClient.hpp"

namespace cnikit::rpc {

// The agent answered {"error": ...}. what() = "agent at <socket>: <message>"; errors() holds
// the agent's "errors" list (field-by-field validation errors), empty when it sent none.
class AgentError : public std::runtime_error {
 public:
  AgentError(const std::string& socket, const std::string& message, nlohmann::json errors)
      : std::runtime_error("agent at " + socket + ": " + message), errors_(std::move(errors)) {}
  const nlohmann::json& errors() const { return errors_; }

 private:
  nlohmann::json errors_;
};

class AgentClient {
 public:
  explicit AgentClient(std::string socket, std::chrono::milliseconds connectTimeout = std::chrono::seconds(2))
      : socket_(std::move(socket)), connectTimeout_(connectTimeout) {}

  // Sends {"method": method, ...params} (params: a JSON object or null) on a new connection
  // and returns the answer. Throws ConnectError or CallError (UnixClient.hpp), AgentError, or
  // ProtocolError when the answer is not JSON.
  nlohmann::json call(const std::string& method, const nlohmann::json& params = nullptr,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

  const std::string& socket() const { return socket_; }

 private:
  std::string socket_;
  std::chrono::milliseconds connectTimeout_;
};

}  // namespace cnikit::rpc
