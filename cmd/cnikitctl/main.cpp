// cnikitctl: inspect and drive cnikit. Command groups live in their own files.
#include <cstdlib>
#include <iostream>

#include "cmd/cnikitctl/Commands.hpp"
#include "core/cni/Request.hpp"

int main(int argc, char** argv) {
  CLI::App app{"cnikitctl: inspect and drive cnikit"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  cnikit::ctl::GlobalOptions options;
  const char* envSocket = std::getenv("CNIKIT_AGENT_SOCKET");
  options.socket = envSocket ? envSocket : cnikit::cni::kDefaultAgentSocket;
  app.add_option("--socket", options.socket, "agent socket (env CNIKIT_AGENT_SOCKET)")->capture_default_str();
  app.add_option("-o,--output", options.output, "table, json or yaml")
      ->check(CLI::IsMember({"table", "json", "yaml"}))
      ->capture_default_str();
  app.add_option("--lab", options.lab, "talk to the agent of this `cnikitctl lab` (its first running node)")
      ->each([&options](const std::string& name) { options.socket = cnikit::ctl::labAgentSocket(name); });

  int exitCode = 0;
  cnikit::ctl::registerAgentCommands(app, options, exitCode);
  cnikit::ctl::registerObjectCommands(app, options, exitCode);
  cnikit::ctl::registerPolicyCommands(app, options, exitCode);
  cnikit::ctl::registerServiceCommands(app, options, exitCode);
  cnikit::ctl::registerLabCommands(app, options, exitCode);
  cnikit::ctl::registerBackendCommands(app, options, exitCode);
  cnikit::ctl::registerConformanceCommands(app, options, exitCode);
  cnikit::ctl::registerDiagCommands(app, options, exitCode);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "cnikitctl: " << e.what() << "\n";
    return 1;
  }
  return exitCode;
}
