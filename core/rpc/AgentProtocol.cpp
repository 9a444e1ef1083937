#include "core/rpc/AgentProtocol.hpp"

#include <nlohmann/json.hpp>

namespace cnikit::rpc {
namespace {

using nlohmann::json;

// stdin is whatever the runtime sent; bytes that are not UTF-8 must not abort the call
// (the agent will report the config as undecodable instead).
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json parseObject(std::string_view text, const char* what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) throw ProtocolError(std::string(what) + " is not valid JSON");
  if (!j.is_object()) throw ProtocolError(std::string(what) + " is not a JSON object");
  return j;
}

std::string stringField(const json& j, const char* name, const char* what, bool required) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) {
    if (required) throw ProtocolError(std::string(what) + ": missing field \"" + name + "\"");
    return {};
  }
  if (!it->is_string()) throw ProtocolError(std::string(what) + ": field \"" + name + "\" is not a string");
  return it->get<std::string>();
}

}  // namespace

std::string makeCniRequest(const std::map<std::string, std::string>& env, std::string_view stdinText) {
  json j = {{"method", kCniMethod}, {"env", env}, {"stdin", std::string(stdinText)}};
  return dump(j);
}

CniResponse parseCniResponse(std::string_view text) {
  json j = parseObject(text, "agent response");
  CniResponse r;
  auto code = j.find("exitCode");
  if (code == j.end() || !code->is_number_integer()) {
    throw ProtocolError("agent response: field \"exitCode\" is missing or not an integer");
  }
  auto value = code->get<int64_t>();
  if (value < 0 || value > 255) throw ProtocolError("agent response: exitCode " + std::to_string(value) + " is not 0..255");
  r.exitCode = static_cast<int>(value);
  r.stdout_ = stringField(j, "stdout", "agent response", false);
  r.stderr_ = stringField(j, "stderr", "agent response", false);
  return r;
}

CniRequest parseCniRequest(std::string_view text) { return cniRequestFromObject(parseObject(text, "request")); }

CniRequest cniRequestFromObject(const json& j) {
  if (!j.is_object()) throw ProtocolError("request is not a JSON object");
  auto method = stringField(j, "method", "request", true);
  if (method != kCniMethod) throw ProtocolError("request: unknown method \"" + method + "\"");
  CniRequest r;
  auto env = j.find("env");
  if (env != j.end() && !env->is_null()) {
    if (!env->is_object()) throw ProtocolError("request: field \"env\" is not an object");
    for (auto it = env->begin(); it != env->end(); ++it) {
      if (!it.value().is_string()) throw ProtocolError("request: env." + it.key() + " is not a string");
      r.env[it.key()] = it.value().get<std::string>();
    }
  }
  r.stdinText = stringField(j, "stdin", "request", false);
  return r;
}

std::string makeCniResponse(const CniResponse& response) { return dump(cniResponseObject(response)); }

json cniResponseObject(const CniResponse& response) {
  json j = {{"exitCode", response.exitCode}, {"stdout", response.stdout_}};
  if (!response.stderr_.empty()) j["stderr"] = response.stderr_;
  return j;
}

}  // namespace cnikit::rpc
