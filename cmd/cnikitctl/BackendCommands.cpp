// cnikitctl backend describe NAME|PATH: what a backend library is (identity, ABI, capabilities)
// and the JSON Schema of its instance options, read from the library itself without an agent.
#include <iostream>

#include "cmd/cnikitctl/Commands.hpp"
#include "core/plugin/BackendInstance.hpp"

namespace cnikit::ctl {
namespace {

using nlohmann::json;

std::shared_ptr<plugin::BackendLibrary> openBackend(const std::string& nameOrPath, const std::string& dir) {
  bool path = nameOrPath.find('/') != std::string::npos || nameOrPath.ends_with(".so");
  return plugin::BackendLibrary::load(path ? std::filesystem::path(nameOrPath)
                                           : plugin::BackendLibrary::locate(dir, nameOrPath));
}

}  // namespace

void registerBackendCommands(CLI::App& app, const GlobalOptions& options, int& exitCode) {
  auto* backend = app.add_subcommand("backend", "inspect backend libraries");
  backend->require_subcommand(1);
  auto* describe = backend->add_subcommand("describe", "identity, ABI, capabilities and options schema of a backend");
  auto name = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>(CNIKIT_DEFAULT_BACKEND_DIR);
  describe->add_option("backend", *name, "backend name (looked up in --backend-dir) or path to its .so")->required();
  describe->add_option("--backend-dir", *dir, "where backends are installed")->capture_default_str();
  describe->callback([&options, &exitCode, name, dir] {
    auto lib = openBackend(*name, *dir);
    std::string schemaText = lib->optionsSchema();
    json schema = schemaText.empty() ? json(nullptr) : json::parse(schemaText, nullptr, false);
    json out = {{"name", lib->name()},
                {"version", lib->version()},
                {"abi", std::to_string(lib->api().abi_major) + "." + std::to_string(lib->abiMinor())},
                {"library", lib->path().string()},
                {"capabilities", lib->capabilities()},
                {"optionsSchema", schema.is_discarded() ? json(schemaText) : schema}};
    if (options.json()) {
      std::cout << out.dump(2) << "\n";
    } else {
      std::cout << "Backend:      " << lib->name() << " " << lib->version()
                << "\nABI:          " << out["abi"].get<std::string>() << "\nLibrary:      " << lib->path().string()
                << "\nCapabilities:";
      for (const auto& c : lib->capabilities()) std::cout << " " << c;
      std::cout << "\nOptions schema:\n"
                << (schemaText.empty() ? "  (none declared: any JSON object)" : out["optionsSchema"].dump(2)) << "\n";
    }
    exitCode = 0;
  });
}

}  // namespace cnikit::ctl
