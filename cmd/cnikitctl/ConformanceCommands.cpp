// cnikitctl conformance: runs a backend (in-tree name or an out-of-tree .so) through the
// conformance kit (tools/conformance) in a private lab and prints a pass/fail table.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <sstream>

#include "cmd/cnikitctl/Commands.hpp"
#include "cmd/cnikitctl/Table.hpp"
#include "tools/conformance/Kit.hpp"
#include "tools/conformance/LabIncludes.hpp"

namespace cnikit::ctl {
namespace {

using nlohmann::json;

volatile sig_atomic_t gChild = 0;

void forwardSignal(int) {
  if (gChild > 0) ::kill(gChild, SIGTERM);
}

std::string clock() {
  std::time_t now = std::time(nullptr);
  char text[16];
  std::strftime(text, sizeof text, "%H:%M:%S", std::localtime(&now));
  return text;
}

std::string seconds(std::chrono::milliseconds ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ms.count()) / 1000.0);
  return text;
}

std::set<int> parseChecks(const std::string& text) {
  std::set<int> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    char* end = nullptr;
    long n = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || n < 1 || n > static_cast<long>(conformance::checkNames().size()))
      throw std::runtime_error("--checks " + text + ": '" + item + "' is no check number (1-" +
                               std::to_string(conformance::checkNames().size()) + ")");
    out.insert(static_cast<int>(n));
  }
  return out;
}

// Labs of earlier runs whose cnikitctl died without cleaning up (e.g. SIGKILL): conf<pid>.
void sweepStaleLabs() {
  for (const auto& name : lab::listLabs()) {
    if (name.rfind("conf", 0) != 0 || name.size() == 4 || name.find_first_not_of("0123456789", 4) != std::string::npos)
      continue;
    pid_t pid = static_cast<pid_t>(std::stol(name.substr(4)));
    if (pid == ::getpid() || ::kill(pid, 0) == 0) continue;
    lab::downLab(name, nullptr);
    std::cerr << "removed the lab " << name << " a dead conformance run left behind\n";
  }
}

void printReport(const GlobalOptions& options, const conformance::Report& report) {
  if (options.output != "table") {
    std::cout << report.toJson().dump(2) << "\n";
    return;
  }
  std::cout << "backend " << report.backend << " (" << (report.library.empty() ? "?" : report.library) << ")";
  if (!report.instance.empty()) std::cout << ", instance " << report.instance;
  if (!report.options.empty()) std::cout << ", options " << report.options.dump();
  std::string caps;
  for (const auto& c : report.capabilities) caps += (caps.empty() ? "" : ",") + c;
  if (!caps.empty()) std::cout << ", capabilities " << caps;
  std::cout << "\n";
  if (!report.setupError.empty()) std::cout << "lab setup failed: " << report.setupError << "\n";
  Table table({"#", "CHECK", "RESULT", "TIME", "DETAIL"});
  for (const auto& c : report.checks)
    table.add({std::to_string(c.number), c.name, conformance::verdictName(c.verdict),
               c.verdict == conformance::Verdict::Skipped ? "-" : seconds(c.elapsed), c.detail});
  table.print(std::cout);
  int failed = 0;
  for (const auto& c : report.checks) failed += c.verdict == conformance::Verdict::Fail;
  std::cout << (report.failed() ? "FAILED (" + std::to_string(failed) + " checks)" : std::string("PASSED"))
            << ", wall time " << seconds(report.wall) << " for " << report.backend << "\n";
}

}  // namespace

void registerConformanceCommands(CLI::App& app, const GlobalOptions& options, int& exitCode) {
  struct State {
    std::string backend;
    std::string backendOptions = "{}";
    int nodes = 2;
    std::string name;
    std::string checks;
    bool quiet = false;
  };
  auto state = std::make_shared<State>();
  auto* cmd = app.add_subcommand("conformance",
                                 "run a backend through the conformance checks in a private lab (pass/fail table)");
  cmd->add_option("--backend", state->backend, "backend name in the backend dir, or a path to its .so")->required();
  cmd->add_option("--options", state->backendOptions, "backend options as JSON, e.g. '{\"mode\":\"host-gw\"}'")
      ->capture_default_str();
  cmd->add_option("--nodes", state->nodes, "nodes in the lab (node1 and node2 are checked)")
      ->check(CLI::Range(2, 16))
      ->capture_default_str();
  cmd->add_option("--name", state->name, "lab name (default conf<pid>)");
  cmd->add_option("--checks", state->checks, "run only these checks, e.g. 1,2,3 (the others are 'skipped')");
  cmd->add_flag("-q,--quiet", state->quiet, "no progress lines on stderr");
  cmd->callback([state, &options, &exitCode] {
    conformance::KitOptions kit;
    kit.backend = state->backend;
    kit.backendOptions = json::parse(state->backendOptions, nullptr, false);
    if (!kit.backendOptions.is_object())
      throw std::runtime_error("--options " + state->backendOptions + ": not a JSON object");
    kit.nodes = state->nodes;
    kit.labName = state->name.empty() ? "conf" + std::to_string(::getpid()) : state->name;
    lab::validateLabName(kit.labName);
    if (!state->checks.empty()) kit.only = parseChecks(state->checks);
    if (!state->quiet) kit.progress = [](const std::string& line) { std::cerr << clock() << " " << line << std::endl; };
    sweepStaleLabs();

    // The kit runs in a child; this process removes the lab after it whatever way it ended
    // (a crash, a signal), and forwards SIGINT/SIGTERM to it.
    std::cout.flush();
    pid_t child = ::fork();
    if (child < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (child == 0) {
      int code = 1;
      try {
        auto report = conformance::runConformance(kit);
        printReport(options, report);
        code = report.failed() ? 1 : 0;
      } catch (const std::exception& e) {
        std::cerr << "cnikitctl conformance: " << e.what() << "\n";
      }
      std::cout.flush();
      std::cerr.flush();
      ::_exit(code);
    }
    gChild = child;
    struct sigaction forward {};
    forward.sa_handler = forwardSignal;
    for (int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(s, &forward, nullptr);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    gChild = 0;
    auto removed = lab::downLab(kit.labName, nullptr);
    if (WIFSIGNALED(status)) {
      std::cerr << "cnikitctl conformance: the kit died of signal " << WTERMSIG(status) << "; its lab " << kit.labName
                << " was removed (" << removed.size() << " steps)\n";
      exitCode = 2;
    } else {
      exitCode = WEXITSTATUS(status);
    }
  });
}

}  // namespace cnikit::ctl
