#pragma once
// The messages between the CNI executable (cnikit) and the node agent (cnikitd), one frame
// each way per call:
//   request  {"method":"cni","env":{"CNI_COMMAND":..., ...},"stdin":"<raw config text>"}
//   response {"exitCode":N,"stdout":"<text to print>","stderr":"<optional text>"}
// Builders and parsers for both ends live here so the two sides cannot drift apart.
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/rpc/AgentMethods.hpp"

namespace cnikit::rpc {

// The CNI_* variables the executable forwards (others in its environment stay behind).
inline constexpr const char* kCniEnvNames[] = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS",
                                               "CNI_IFNAME",  "CNI_ARGS",        "CNI_PATH"};

// A message that does not follow the protocol. what() says which field is wrong.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CniRequest {
  std::map<std::string, std::string> env;
  std::string stdinText;
};

struct CniResponse {
  int exitCode = 0;
  std::string stdout_;  // trailing underscore: stdout/stderr are macros in <cstdio>
  std::string stderr_;
};

// Client side.
std::string makeCniRequest(const std::map<std::string, std::string>& env, std::string_view stdinText);
CniResponse parseCniResponse(std::string_view text);  // throws ProtocolError

// Agent side.
CniRequest parseCniRequest(std::string_view text);  // throws ProtocolError
std::string makeCniResponse(const CniResponse& response);
// The same for a frame the agent has parsed already (to read "method"): one parse per hop.
CniRequest cniRequestFromObject(const nlohmann::json& request);  // throws ProtocolError
nlohmann::json cniResponseObject(const CniResponse& response);

}  // namespace cnikit::rpc
