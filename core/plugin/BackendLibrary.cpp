// Loading a backend: file checks, Boost.DLL, entry symbol, ABI negotiation.
#include <sys/stat.h>

#include <boost/dll/shared_library.hpp>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "core/plugin/BackendInstance.hpp"

namespace cnikit::plugin {

namespace {

// The size of cnikit_backend_api at ABI 1.0. Fields appended by later minors are read only
// when api->size covers them, so keep this constant when appending.
constexpr size_t kApiSizeV1_0 = sizeof(cnikit_backend_api);
// Enough to read size, abi_major and abi_minor, which stay first in every major.
constexpr size_t kApiVersionPrefix = offsetof(cnikit_backend_api, abi_minor) + sizeof(uint32_t);

std::string version(uint32_t major, uint32_t minor) { return std::to_string(major) + "." + std::to_string(minor); }

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

template <class Table>
void checkCapability(const Table* table, const char* capability, const std::string& who) {
  if (table == nullptr) return;
  if (table->size < sizeof(Table))
    throw LoadError(who + ": its " + capability + " table has size " + std::to_string(table->size) + ", expected " +
                    std::to_string(sizeof(Table)));
  if (!cnikit_struct_tail_is_zero(table, sizeof(Table)))
    throw LoadError(who + ": its " + capability + " table has non-zero bytes beyond the " +
                    std::to_string(sizeof(Table)) + " this host knows");
}

}  // namespace

void checkAbi(const cnikit_backend_api* api, const std::string& libraryName, uint32_t hostMajor, uint32_t hostMinor) {
  const std::string host = version(hostMajor, hostMinor);
  if (api == nullptr)
    throw LoadError("backend library " + libraryName + " returned no function table (NULL) from " +
                    CNIKIT_BACKEND_ENTRY_SYMBOL + " for host ABI " + host);
  if (api->size < kApiVersionPrefix)
    throw LoadError("backend library " + libraryName + " returned a function table of " + std::to_string(api->size) +
                    " bytes, too small to hold an ABI version");
  const std::string theirs = version(api->abi_major, api->abi_minor);
  // Across majors the layout beyond the version may differ: do not read the name.
  if (api->abi_major != hostMajor)
    throw LoadError("backend library " + libraryName + " was built for ABI major " + std::to_string(api->abi_major) +
                    " (cnikit ABI " + theirs + ") but this host provides " + host);
  if (api->size < kApiSizeV1_0)
    throw LoadError("backend library " + libraryName + " returned a function table of " + std::to_string(api->size) +
                    " bytes, smaller than the " + std::to_string(kApiSizeV1_0) + " of cnikit ABI " +
                    std::to_string(hostMajor) + ".0");
  const std::string who =
      "backend '" + std::string(api->name ? api->name : "?") + "' (" + libraryName + ")";
  if (api->abi_minor > hostMinor)
    throw LoadError(who + " needs cnikit ABI " + theirs + " but this host provides " + host);
  if (api->size > sizeof(cnikit_backend_api) && !cnikit_struct_tail_is_zero(api, sizeof(cnikit_backend_api)))
    throw LoadError(who + " (ABI " + theirs + ") returned a function table with non-zero bytes beyond the " +
                    std::to_string(sizeof(cnikit_backend_api)) + " this host (ABI " + host + ") knows");
  if (api->create == nullptr || api->destroy == nullptr || api->last_error == nullptr)
    throw LoadError(who + " lacks a mandatory function (create, destroy or last_error)");
  checkCapability(api->pod, "pod", who);
  checkCapability(api->node, "node", who);
  checkCapability(api->policy, "policy", who);
  checkCapability(api->service, "service", who);
  checkCapability(api->encryption, "encryption", who);
  checkCapability(api->flows, "flows", who);
  if (api->pod && (!api->pod->pod_add || !api->pod->pod_del || !api->pod->pod_check))
    throw LoadError(who + " has a pod table with a NULL function");
}

void checkFileSafety(const std::filesystem::path& path) {
  struct stat st {};
  // stat follows symlinks: load() passes the resolved path so that what is judged is loaded.
  if (::stat(path.c_str(), &st) != 0)
    throw LoadError("backend library " + path.string() + ": cannot stat: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw LoadError("backend library " + path.string() + " is not a regular file");
  if (st.st_uid != 0)
    throw LoadError("backend library " + path.string() + " is owned by uid " + std::to_string(st.st_uid) +
                    ", not root (uid 0): refusing to load it");
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    throw LoadError("backend library " + path.string() + " is " +
                    ((st.st_mode & S_IWOTH) ? "world-writable" : "group-writable") + " (mode " + octal(st.st_mode) +
                    "): refusing to load it");
}

struct BackendLibrary::Impl {
  boost::dll::shared_library library;
};

std::shared_ptr<BackendLibrary> BackendLibrary::load(const std::filesystem::path& path) {
  // Judge and load the file itself, not a symlink that could be re-pointed in between.
  std::error_code ec;
  std::filesystem::path real = std::filesystem::canonical(path, ec);
  if (ec) throw LoadError("backend library " + path.string() + ": " + ec.message());
  checkFileSafety(real);

  std::shared_ptr<BackendLibrary> lib(new BackendLibrary());
  lib->path_ = real;
  lib->impl_ = std::make_unique<Impl>();
  try {
    lib->impl_->library.load(boost::dll::fs::path(real.string()),
                             boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw LoadError("backend library " + real.string() + " cannot be loaded: " + e.what());
  }
  if (!lib->impl_->library.has(CNIKIT_BACKEND_ENTRY_SYMBOL))
    throw LoadError("backend library " + real.string() + " does not export " + CNIKIT_BACKEND_ENTRY_SYMBOL +
                    " (is it a cnikit backend built with CNIKIT_BACKEND?)");
  auto entry = lib->impl_->library.get<const cnikit_backend_api*(uint32_t, uint32_t)>(CNIKIT_BACKEND_ENTRY_SYMBOL);
  lib->api_ = entry(CNIKIT_ABI_MAJOR, CNIKIT_ABI_MINOR);
  checkAbi(lib->api_, real.filename().string());
  return lib;
}

std::filesystem::path BackendLibrary::locate(const std::filesystem::path& dir, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name.find("..") != std::string::npos)
    throw LoadError("backend name '" + name + "' is empty or contains '/' or '..'");
  const std::filesystem::path candidates[] = {dir / ("libcnikit-" + name + ".so"), dir / (name + ".so")};
  for (const auto& candidate : candidates) {
    std::error_code ec;
    if (std::filesystem::exists(candidate, ec)) return candidate;
  }
  throw LoadError("no backend '" + name + "' in " + dir.string() + " (looked for " + candidates[0].filename().string() +
                  " and " + candidates[1].filename().string() + ")");
}

BackendLibrary::~BackendLibrary() = default;

std::vector<std::string> BackendLibrary::capabilities() const {
  std::vector<std::string> out;
  if (api_->pod) out.emplace_back("pod");
  if (api_->node) out.emplace_back("node");
  if (api_->policy) out.emplace_back("policy");
  if (api_->service) out.emplace_back("service");
  if (api_->encryption) out.emplace_back("encryption");
  if (api_->flows) out.emplace_back("flows");
  return out;
}

}  // namespace cnikit::plugin
