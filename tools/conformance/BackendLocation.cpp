#include "tools/conformance/BackendLocation.hpp"

#include <filesystem>
#include <stdexcept>

#include "tools/conformance/LabIncludes.hpp"

namespace cnikit::conformance {

namespace fs = std::filesystem;

BackendLocation locateBackend(const std::string& nameOrPath, const std::string& binDir) {
  if (nameOrPath.empty()) throw std::invalid_argument("--backend: empty");
  std::error_code ec;
  bool isPath = nameOrPath.find('/') != std::string::npos ||
                (nameOrPath.size() > 3 && nameOrPath.compare(nameOrPath.size() - 3, 3, ".so") == 0);
  if (isPath) {
    fs::path file = fs::absolute(nameOrPath, ec);
    if (!fs::is_regular_file(file, ec))
      throw std::invalid_argument("--backend " + nameOrPath + ": no such library file");
    std::string base = file.filename().string();
    if (base.size() <= 3 || base.compare(base.size() - 3, 3, ".so") != 0)
      throw std::invalid_argument("--backend " + nameOrPath + ": a backend library is a .so file");
    std::string type = base.substr(0, base.size() - 3);
    if (type.rfind("libcnikit-", 0) == 0 && type.size() > 10) type.erase(0, 10);
    return {type, file.parent_path().string(), file.string()};
  }
  std::string dir = lab::findBackendDir(binDir, nameOrPath);
  for (const auto& candidate :
       {fs::path(dir) / ("libcnikit-" + nameOrPath + ".so"), fs::path(dir) / (nameOrPath + ".so")})
    if (fs::exists(candidate, ec)) return {nameOrPath, dir, candidate.string()};
  throw std::invalid_argument("--backend " + nameOrPath + ": no libcnikit-" + nameOrPath + ".so in " + dir +
                              " (give a path to the .so of an out-of-tree backend)");
}

}  // namespace cnikit::conformance
