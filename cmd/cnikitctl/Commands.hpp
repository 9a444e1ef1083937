#pragma once
// cnikitctl is a set of command groups, each in its own file, registered on one CLI11 app.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/k8s/Validation.hpp"
#include "core/rpc/AgentMethods.hpp"

namespace cnikit::ctl {

struct GlobalOptions {
  std::string socket;            // agent socket
  std::string output = "table";  // table | json (| yaml where a command supports it)
  bool json() const { return output == "json"; }
};

// Calls one agent method (core/rpc/AgentMethods.hpp) through rpc::AgentClient; throws
// std::runtime_error with the agent's error or the socket problem.
nlohmann::json callAgent(const GlobalOptions& options, const std::string& method,
                         const nlohmann::json& params = nullptr);

// Each adds its subcommands and sets their callbacks; a callback returns the exit code
// through `exitCode`.
void registerAgentCommands(CLI::App& app, const GlobalOptions& options, int& exitCode);    // status, ipam, version
void registerObjectCommands(CLI::App& app, const GlobalOptions& options, int& exitCode);   // apply, delete, get
void registerServiceCommands(CLI::App& app, const GlobalOptions& options, int& exitCode);  // service list, explain
void registerPolicyCommands(CLI::App& app, const GlobalOptions& options, int& exitCode);   // policy matrix, explain
void registerLabCommands(CLI::App& app, const GlobalOptions& options, int& exitCode);  // lab up/down/apply/probe/...
void registerBackendCommands(CLI::App& app, const GlobalOptions& options, int& exitCode);      // backend describe
void registerConformanceCommands(CLI::App& app, const GlobalOptions& options, int& exitCode);  // conformance

// The socket of a lab's first running agent (for the global --lab NAME); LabCommands.cpp.
std::string labAgentSocket(const std::string& lab);

// Manifests from FILE, DIR (its *.yaml, *.yml, *.json) or "-" (stdin), validated as the agent
// validates them; throws k8s::ValidationError listing every problem (ObjectCommands.cpp).
std::vector<k8s::NormalizedObject> readObjects(const std::vector<std::string>& paths,
                                               const std::string& defaultNamespace);
// readObjects for an apply: on invalid manifests prints why nothing was applied, sets
// exitCode to 1 and returns nullopt.
std::optional<std::vector<k8s::NormalizedObject>> readObjectsForApply(const std::vector<std::string>& paths,
                                                                      const std::string& defaultNamespace,
                                                                      int& exitCode);

}  // namespace cnikit::ctl
