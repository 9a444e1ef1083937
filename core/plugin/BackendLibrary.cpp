// Loading a backend: file checks, Boost.DLL, entry symbol, ABI negotiation.
#include <sys/stat.h>

#include <boost/dll/shared_library.hpp>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <system_error>
#include <utility>

#include "core/plugin/BackendInstance.hpp"

namespace cnikit::plugin {

namespace {

// The size of cnikit_backend_api at ABI 1.0. Fields appended by later minors are read only
// when api->size covers them.
constexpr size_t kApiSizeV1_0 = offsetof(cnikit_backend_api, lifecycle);
// Enough to read size, abi_major and abi_minor, which stay first in every major.
constexpr size_t kApiVersionPrefix = offsetof(cnikit_backend_api, abi_minor) + sizeof(uint32_t);

std::string version(uint32_t major, uint32_t minor) { return std::to_string(major) + "." + std::to_string(minor); }

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// A capability table: its size, a zero unknown tail, and no NULL function among those the
// host knows (every one of them has a caller).
template <class Table, class... Fn>
void checkCapability(const Table* table, const char* capability, const std::string& who,
                     std::initializer_list<std::pair<const char*, bool>> functions) {
  if (table == nullptr) return;
  if (table->size < sizeof(Table))
    throw LoadError(who + ": its " + capability + " table has size " + std::to_string(table->size) + ", expected " +
                    std::to_string(sizeof(Table)));
  if (!cnikit_struct_tail_is_zero(table, sizeof(Table)))
    throw LoadError(who + ": its " + capability + " table has non-zero bytes beyond the " +
                    std::to_string(sizeof(Table)) + " this host knows");
  for (const auto& [name, present] : functions)
    if (!present) throw LoadError(who + ": its " + capability + " table has a NULL " + name);
}

// Tables of ABI 1.0 that no host calls yet: a backend that fills one would expect calls that
// never come.
void refuseReserved(const void* table, const char* capability, const std::string& who) {
  if (table != nullptr)
    throw LoadError(who + " sets the " + capability +
                    " table, which this host does not offer (reserved in cnikit ABI 1.x: it must be NULL)");
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
  const std::string who = "backend '" + std::string(api->name ? api->name : "?") + "' (" + libraryName + ")";
  if (api->abi_minor > hostMinor)
    throw LoadError(who + " needs cnikit ABI " + theirs + " but this host provides " + host);
  if (api->size > sizeof(cnikit_backend_api) && !cnikit_struct_tail_is_zero(api, sizeof(cnikit_backend_api)))
    throw LoadError(who + " (ABI " + theirs + ") returned a function table with non-zero bytes beyond the " +
                    std::to_string(sizeof(cnikit_backend_api)) + " this host (ABI " + host + ") knows");
  if (api->create == nullptr || api->destroy == nullptr || api->last_error == nullptr)
    throw LoadError(who + " lacks a mandatory function (create, destroy or last_error)");
  refuseReserved(api->policy, "policy", who);
  refuseReserved(api->service, "service", who);
  refuseReserved(api->encryption, "encryption", who);
  refuseReserved(api->flows, "flows", who);
  if (const auto* t = api->pod)
    checkCapability(t, "pod", who, {{"pod_add", t->pod_add}, {"pod_del", t->pod_del}, {"pod_check", t->pod_check}});
  if (const auto* t = api->node)
    checkCapability(
        t, "node", who,
        {{"local_node_data", t->local_node_data}, {"node_upsert", t->node_upsert}, {"node_remove", t->node_remove}});
  if (const auto* t = lifecycleOf(*api))
    checkCapability(t, "lifecycle", who,
                    {{"start", t->start},
                     {"shutdown", t->shutdown},
                     {"ready", t->ready},
                     {"config_update", t->config_update},
                     {"pods_sync", t->pods_sync},
                     {"local_node_update", t->local_node_update}});
}

const cnikit_lifecycle_ops* lifecycleOf(const cnikit_backend_api& api) {
  if (api.abi_minor < 1 || api.size < offsetof(cnikit_backend_api, lifecycle) + sizeof(api.lifecycle)) return nullptr;
  return api.lifecycle;
}

const char* optionsSchemaOf(const cnikit_backend_api& api) {
  if (api.abi_minor < 1 || api.size < offsetof(cnikit_backend_api, options_schema_json) + sizeof(const char*))
    return nullptr;
  return api.options_schema_json;
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
  if (lifecycleOf(*api_)) out.emplace_back("lifecycle");
  return out;
}

std::string BackendLibrary::optionsSchema() const {
  const char* schema = optionsSchemaOf(*api_);
  return schema ? schema : "";
}

}  // namespace cnikit::plugin
