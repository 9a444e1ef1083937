#include "tools/lab/AgentClient.hpp"

#include <stdexcept>

#include "core/rpc/UnixClient.hpp"

namespace cnikit::lab {

nlohmann::json callAgentSocket(const std::string& socket, const nlohmann::json& request,
                               std::chrono::milliseconds timeout) {
  auto client = rpc::UnixClient::connect(socket, std::chrono::seconds(2));
  auto response = nlohmann::json::parse(client.call(request.dump(), timeout), nullptr, false);
  if (response.is_discarded()) throw std::runtime_error("agent at " + socket + " answered no JSON");
  if (response.is_object() && response.contains("error")) {
    std::string message =
        response["error"].is_string() ? response["error"].get<std::string>() : response["error"].dump();
    throw std::runtime_error("agent at " + socket + ": " + message);
  }
  return response;
}

}  // namespace cnikit::lab
