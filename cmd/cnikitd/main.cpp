// cnikitd: the cnikit node agent.
#include <csignal>
#include <iostream>
#include <thread>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "core/agent/Agent.hpp"
#include "core/agent/RecentLog.hpp"

int main(int argc, char** argv) {
  CLI::App app{"cnikitd: the cnikit node agent"};
  std::string configPath = "/etc/cnikit/cnikitd.yaml";
  std::string logLevel;
  app.add_option("-c,--config", configPath, "agent configuration (YAML or JSON)")->capture_default_str();
  app.add_option("--log-level", logLevel, "debug, info, warn or error (overrides the config)");
  CLI11_PARSE(app, argc, argv);

  spdlog::set_default_logger(spdlog::stderr_color_mt("cnikitd"));
  cnikit::agent::keepRecentLog();  // for `cnikitctl diag`
  // Signals are taken by one thread with sigwait, so the agent stops cleanly.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    auto config = cnikit::agent::loadAgentConfig(configPath);
    spdlog::set_level(spdlog::level::from_str(logLevel.empty() ? config.logLevel : logLevel));
    cnikit::agent::Agent agent(std::move(config));
    std::thread signalThread([&] {
      int signal = 0;
      sigwait(&signals, &signal);
      spdlog::info("signal {}: stopping", signal);
      agent.stop();
    });
    agent.serve();
    // serve() returns only after stop(): the signal thread has finished or will on the
    // next signal; detach so a stop from elsewhere does not block exit.
    signalThread.detach();
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  return 0;
}
