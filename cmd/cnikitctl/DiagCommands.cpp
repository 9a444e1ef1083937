// cnikitctl diag [--out FILE.tar.gz]: a diagnostics bundle of this node (the agent at
// --socket, the kernel state of cnikitctl's own namespace), or with --lab NAME of every
// node of that lab (each node's agent and namespace). Layout: tools/diag/NodeBundle.hpp.
#include <unistd.h>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "cmd/cnikitctl/Commands.hpp"
#include "tools/diag/NodeBundle.hpp"
#include "tools/lab/LabPaths.hpp"
#include "tools/lab/LabState.hpp"

namespace cnikit::ctl {

namespace {

std::string timestamp() {
  std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", std::gmtime(&now));
  return text;
}

std::vector<diag::NodeTarget> targets(const GlobalOptions& options) {
  if (options.lab.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return {{host[0] ? host : "node", options.socket, "", ""}};
  }
  auto state = lab::LabState::load(options.lab);
  std::vector<diag::NodeTarget> out;
  for (const auto& node : state.nodes)
    out.push_back({node.name, node.socket, lab::netnsPath(node.netns), node.logFile});
  return out;
}

}  // namespace

void registerDiagCommands(CLI::App& app, const GlobalOptions& options, int& exitCode) {
  auto out = std::make_shared<std::string>();
  auto* diag = app.add_subcommand(
      "diag", "bundle agent status, config (secrets redacted), store view, log, metrics and kernel state per node");
  diag->add_option("--out", *out, "the .tar.gz to write (default cnikit-diag-<time>.tar.gz)");
  diag->callback([&options, &exitCode, out] {
    const std::string base = "cnikit-diag-" + timestamp();
    const std::filesystem::path file = out->empty() ? base + ".tar.gz" : *out;
    char tmpl[] = "/tmp/cnikit-diag-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("cannot make a temporary directory");
    const std::filesystem::path dir = std::filesystem::path(tmpl) / base;
    size_t errors = 0;
    try {
      for (const auto& node : targets(options)) {
        auto result = diag::collectNode(node, dir);
        errors += result.errors.size();
        std::cerr << node.name << ": " << result.files.size() << " files";
        if (!result.errors.empty()) std::cerr << ", " << result.errors.size() << " not collected (see errors.txt)";
        std::cerr << "\n";
      }
      diag::writeArchive(dir, file);
    } catch (...) {
      std::filesystem::remove_all(tmpl);
      throw;
    }
    std::filesystem::remove_all(tmpl);
    std::cout << file.string() << "\n";
    // The bundle is useful even when a part is missing; the exit code says it is incomplete.
    exitCode = errors ? 2 : 0;
  });
}

}  // namespace cnikit::ctl
