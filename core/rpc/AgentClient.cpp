#include "core/rpc/AgentClient.hpp"

#include "core/rpc/AgentProtocol.hpp"

namespace cnikit::rpc {

using nlohmann::json;

json AgentClient::call(const std::string& method, const json& params, std::chrono::milliseconds timeout) const {
  if (!params.is_null() && !params.is_object())
    throw std::invalid_argument("agent method " + method + ": parameters must be a JSON object");
  json request = params.is_null() ? json::object() : params;
  request["method"] = method;
  auto client = UnixClient::connect(socket_, connectTimeout_);
  auto response = json::parse(client.call(request.dump(), timeout), nullptr, false);
  if (response.is_discarded()) throw ProtocolError("agent at " + socket_ + " answered " + method + " with no JSON");
  if (response.is_object() && response.contains("error")) {
    const auto& error = response["error"];
    throw AgentError(socket_, error.is_string() ? error.get<std::string>() : error.dump(),
                     response.value("errors", json::array()));
  }
  return response;
}

}  // namespace cnikit::rpc
