#include "tools/conformance/CniCall.hpp"

#include "tools/conformance/LabIncludes.hpp"

namespace cnikit::conformance {

using nlohmann::json;

bool CniReply::isCniError() const {
  return out.is_object() && out.contains("code") && out["code"].is_number_integer() && out.contains("msg") &&
         out["msg"].is_string() && !out["msg"].get<std::string>().empty();
}

std::string CniReply::describe() const {
  std::string text = "exit " + std::to_string(exitCode);
  if (isCniError()) return text + ": CNI error " + out["code"].dump() + ": " + out["msg"].get<std::string>();
  if (!stdoutText.empty()) text += ": stdout " + stdoutText.substr(0, 300);
  if (!stderrText.empty()) text += ": stderr " + stderrText.substr(0, 300);
  return text;
}

CniReply callCni(const std::string& cnikitPath, const CniCall& call) {
  lab::CommandSpec spec;
  spec.argv = {cnikitPath};
  spec.env = {{"CNI_COMMAND", call.command}, {"CNI_CONTAINERID", call.containerId},
              {"CNI_NETNS", call.netnsPath}, {"CNI_IFNAME", call.ifname},
              {"CNI_ARGS", call.args},       {"CNI_PATH", cnikitPath.substr(0, cnikitPath.rfind('/'))}};
  spec.replaceEnv = true;
  spec.stdinText = call.config.dump();
  spec.timeout = std::chrono::seconds(60);
  auto r = lab::runCommand(spec);
  CniReply reply;
  reply.exitCode = r.timedOut ? -1 : r.exitCode;
  reply.stdoutText = r.out;
  reply.stderrText = r.timedOut ? "timed out after 60 s" : r.err;
  reply.out = json::parse(r.out.empty() ? "null" : r.out, nullptr, false);
  if (reply.out.is_discarded()) reply.out = nullptr;
  return reply;
}

std::string hostInterfaceOf(const json& result) {
  for (const auto& i : result.value("interfaces", json::array()))
    if (!i.contains("sandbox") || i["sandbox"].get<std::string>().empty()) return i.value("name", "");
  return "";
}

std::vector<std::string> addressesOf(const json& result) {
  std::vector<std::string> out;
  for (const auto& ip : result.value("ips", json::array())) {
    std::string a = ip.value("address", "");
    out.push_back(a.substr(0, a.find('/')));
  }
  return out;
}

}  // namespace cnikit::conformance
