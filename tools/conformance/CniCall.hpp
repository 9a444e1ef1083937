#pragma once
// One call of the real `cnikit` CNI executable, made as a runtime makes it (environment +
// network configuration on stdin), for the checks that need verbs and inputs the lab's pods
// never send: a second ADD, CHECK, a second DEL, bad interface names, missing namespaces.
#include <nlohmann/json.hpp>
#include <string>

namespace cnikit::conformance {

struct CniCall {
  std::string command;  // ADD | CHECK | DEL
  std::string containerId;
  std::string netnsPath;  // "" for a DEL without a namespace
  std::string ifname = "eth0";
  std::string args = "IgnoreUnknown=1";
  nlohmann::json config;  // the network configuration (stdin)
};

struct CniReply {
  int exitCode = -1;
  nlohmann::json out;  // stdout parsed; null when empty or not JSON
  std::string stdoutText;
  std::string stderrText;

  bool ok() const { return exitCode == 0; }
  // A CNI error object: an integer `code` and a non-empty `msg`.
  bool isCniError() const;
  // "exit 1: CNI error 4: CNI_IFNAME ... is too long"
  std::string describe() const;
};

CniReply callCni(const std::string& cnikitPath, const CniCall& call);

// The host-side interface of an ADD result (the interface without `sandbox`); "" when none.
std::string hostInterfaceOf(const nlohmann::json& result);
// Addresses of an ADD result without prefix length.
std::vector<std::string> addressesOf(const nlohmann::json& result);

}  // namespace cnikit::conformance
