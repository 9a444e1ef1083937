#pragma once
// Host side of the backend ABI: a loaded library (BackendLibrary) and a created instance
// (BackendInstance) with C++ calls that throw BackendError instead of returning statuses.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <cnikit/backend.h>

#include "core/plugin/HostServices.hpp"

namespace cnikit::plugin {

class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class BackendError : public std::runtime_error {
 public:
  BackendError(cnikit_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  cnikit_status status() const { return status_; }

 private:
  cnikit_status status_;
};

// Refuses (LoadError) a table whose major differs from hostMajor or whose minor is newer than
// hostMinor; the message names both versions, e.g. "backend 'x' needs cnikit ABI 1.3, this
// host provides 1.0". Also refuses a NULL table, a too-small struct, missing create/destroy/
// last_error, or non-zero unknown tail bytes.
void checkAbi(const cnikit_backend_api* api, const std::string& libraryName, uint32_t hostMajor = CNIKIT_ABI_MAJOR,
              uint32_t hostMinor = CNIKIT_ABI_MINOR);

// The 1.1 parts of a checked table: NULL when the backend was built for 1.0.
const cnikit_lifecycle_ops* lifecycleOf(const cnikit_backend_api& api);
const char* optionsSchemaOf(const cnikit_backend_api& api);

// Refuses (LoadError) a file that is not a regular file, not owned by root (uid 0), or is
// group- or world-writable; the message names the path and the problem.
void checkFileSafety(const std::filesystem::path& path);

// A loaded backend library (Boost.DLL), kept alive by every instance made from it.
class BackendLibrary {
 public:
  // Loads path (after checkFileSafety), resolves CNIKIT_BACKEND_ENTRY_SYMBOL (LoadError when
  // missing), calls it with the host version and checks the table (checkAbi).
  static std::shared_ptr<BackendLibrary> load(const std::filesystem::path& path);
  // Finds "<dir>/libcnikit-<name>.so" or "<dir>/<name>.so" for a backend name.
  static std::filesystem::path locate(const std::filesystem::path& dir, const std::string& name);
  ~BackendLibrary();

  const cnikit_backend_api& api() const { return *api_; }
  std::string name() const { return api_->name ? api_->name : ""; }
  std::string version() const { return api_->version ? api_->version : ""; }
  uint32_t abiMinor() const { return api_->abi_minor; }
  // Names of the capabilities whose tables are non-NULL: "pod", "node", "lifecycle".
  std::vector<std::string> capabilities() const;
  // The JSON Schema of the instance options the backend declares; "" when none.
  std::string optionsSchema() const;
  const std::filesystem::path& path() const { return path_; }

 private:
  struct Impl;
  BackendLibrary() = default;
  std::unique_ptr<Impl> impl_;
  const cnikit_backend_api* api_ = nullptr;
  std::filesystem::path path_;
};

struct IpSpec {
  int family;            // AF_INET / AF_INET6
  std::string address;   // "10.244.1.5/24"
  std::string gateway;   // may be empty
  std::string subnet;    // "10.244.1.0/24"
  std::string poolCidr;  // "10.244.0.0/16"
};

struct Route {
  std::string destination{};
  std::string gateway{};  // "" = on-link
};

struct Interface {
  std::string name{};
  std::string mac{};
  std::string sandbox{};
  uint32_t mtu = 0;
};

// An IPAM pool as a backend instance sees it (cnikit_pool_info).
struct PoolInfo {
  std::string name{};
  std::vector<std::string> cidrs{};
  std::string allocator = "node-subnet";
  uint32_t nodePrefixIpv4 = 0;
  uint32_t nodePrefixIpv6 = 0;
  std::string optionsJson = "{}";
};

struct PodRequest {
  std::string containerId;
  std::string netns;
  std::string ifname;
  std::string podNamespace;
  std::string podName;
  std::vector<IpSpec> ips;
  std::string mac;
  uint32_t mtu = 0;
  std::string pool;
  std::string podLabelsJson = "{}";
  std::string runtimeConfigJson = "{}";
  std::string cniArgsJson = "{}";
};

struct PodResult {
  std::string hostIfname{};
  std::string hostMac{};
  std::string containerIfname{};
  std::string containerMac{};
  uint32_t mtu = 0;
  std::vector<Route> routes{};          // ABI 1.1 backends only
  std::vector<Interface> interfaces{};  // ABI 1.1 backends only
};

// Another node of the cluster as this backend sees it (cnikit_node_info).
struct NodeInfo {
  std::string name{};
  std::string underlayIpv4{};
  std::string underlayIpv6{};
  std::vector<std::string> subnets{};  // that node's subnets in this backend's pools
  std::string backendDataJson = "{}";  // what that node's instance published
  std::string labelsJson = "{}";
  uint32_t underlayIpv4PrefixLength = 0;
  uint32_t underlayIpv6PrefixLength = 0;
};

// The node's underlay as passed to create (cnikit_create_args.underlay_*); empty = unknown.
struct Underlay {
  std::string interface {};
  std::string ipv4{};
  std::string ipv6{};
  uint32_t mtu = 0;
  uint32_t ipv4PrefixLength = 0;
  uint32_t ipv6PrefixLength = 0;
};

// Everything create receives besides the library and the host services.
struct CreateSpec {
  std::string instanceName{};
  std::string nodeName{};
  std::string optionsJson = "{}";
  std::string stateDir{};
  Underlay underlay{};
  std::vector<PoolInfo> pools{};
  std::string nodeLabelsJson = "{}";
};

// The common part of a CreateSpec (pools and labels left empty), for tools and tests.
inline CreateSpec createSpec(std::string instance, std::string node, std::string options = "{}",
                             std::string stateDir = "/tmp", Underlay underlay = {}) {
  CreateSpec spec;
  spec.instanceName = std::move(instance);
  spec.nodeName = std::move(node);
  spec.optionsJson = std::move(options);
  spec.stateDir = std::move(stateDir);
  spec.underlay = std::move(underlay);
  return spec;
}

// What the lifecycle calls did so far, for `cnikitctl status`.
struct LifecycleState {
  bool started = false;
  int localNodeUpdates = 0;
};

class BackendInstance {
 public:
  // Calls the library's create; BackendError carries the backend's last_error text.
  BackendInstance(std::shared_ptr<BackendLibrary> library, const CreateSpec& spec,
                  std::shared_ptr<HostServices> host = nullptr);
  ~BackendInstance();
  BackendInstance(const BackendInstance&) = delete;
  BackendInstance& operator=(const BackendInstance&) = delete;

  const std::string& instanceName() const { return instanceName_; }
  const BackendLibrary& library() const { return *library_; }
  const std::shared_ptr<BackendLibrary>& libraryPtr() const { return library_; }
  HostServices& host() { return *host_; }
  const std::shared_ptr<HostServices>& hostPtr() const { return host_; }

  bool supportsPods() const;
  PodResult podAdd(const PodRequest& request);  // throws BackendError (also when unsupported)
  void podDel(const PodRequest& request);
  void podCheck(const PodRequest& request);
  std::string statusJson();  // "{}" when the backend reports nothing

  // Node routing capability (NULL table = unsupported: the calls below then do nothing and
  // localNodeData answers "{}").
  bool supportsNodes() const;
  std::string localNodeData();
  void nodeUpsert(const NodeInfo& node);  // throws BackendError
  void nodeRemove(const std::string& nodeName);

  // Lifecycle (ABI 1.1). A backend without the table: every call succeeds and configUpdate
  // answers false (recreate). All throw BackendError on failure.
  void start();
  void shutdown(cnikit_shutdown_mode mode);
  // std::nullopt when ready, else the reason.
  std::optional<std::string> notReadyReason();
  // true when applied live; false when the instance must be recreated.
  bool configUpdate(const std::string& optionsJson);
  void podsSync(const std::vector<PodRequest>& pods);
  void localNodeUpdate(const NodeInfo& self);
  LifecycleState lifecycleState() const;
  // Destroys the backend's instance (after shutdown KEEP_DATAPATH) and creates it anew with
  // spec, waiting for calls in flight; the caller then runs local_node_update, start and
  // pods_sync again. For an option change the backend cannot apply live.
  void recreate(const CreateSpec& spec);

 private:
  void create(const CreateSpec& spec);

  std::shared_ptr<BackendLibrary> library_;
  std::shared_ptr<HostServices> host_;
  std::string instanceName_;
  cnikit_host_callbacks callbacks_{};  // sized for the backend's minor; outlives the handle
  // Calls share it; recreate takes it alone.
  mutable std::shared_mutex handleMutex_;
  cnikit_backend* handle_ = nullptr;
  std::atomic<bool> started_{false};
  std::atomic<int> localNodeUpdates_{0};
};

}  // namespace cnikit::plugin
