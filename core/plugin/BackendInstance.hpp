#pragma once
// Host side of the backend ABI: a loaded library (BackendLibrary) and a created instance
// (BackendInstance) with C++ calls that throw BackendError instead of returning statuses.
#include <cstdint>
#include <filesystem>
#include <memory>
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
  // Names of the capabilities whose tables are non-NULL: "pod", "node", "policy", "service",
  // "encryption", "flows".
  std::vector<std::string> capabilities() const;
  const std::filesystem::path& path() const { return path_; }

 private:
  struct Impl;
  BackendLibrary() = default;
  std::unique_ptr<Impl> impl_;
  const cnikit_backend_api* api_ = nullptr;
  std::filesystem::path path_;
};

struct IpSpec {
  int family;             // AF_INET / AF_INET6
  std::string address;    // "10.244.1.5/24"
  std::string gateway;    // may be empty
  std::string subnet;     // "10.244.1.0/24"
  std::string poolCidr;   // "10.244.0.0/16"
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
};

struct PodResult {
  std::string hostIfname;
  std::string hostMac;
  std::string containerIfname;
  std::string containerMac;
  uint32_t mtu = 0;
};

// Another node of the cluster as this backend sees it (cnikit_node_info).
struct NodeInfo {
  std::string name;
  std::string underlayIpv4;
  std::string underlayIpv6;
  std::vector<std::string> subnets;  // that node's subnets in this backend's pools
  std::string backendDataJson = "{}";  // what that node's instance published
};

// The node's underlay as passed to create (cnikit_create_args.underlay_*); empty = unknown.
struct Underlay {
  std::string interface;
  std::string ipv4;
  std::string ipv6;
  uint32_t mtu = 0;
};

class BackendInstance {
 public:
  // Calls the library's create; BackendError carries the backend's last_error text.
  BackendInstance(std::shared_ptr<BackendLibrary> library, const std::string& instanceName,
                  const std::string& nodeName, const std::string& optionsJson, const std::string& stateDir,
                  std::shared_ptr<HostServices> host, const Underlay& underlay = {});
  ~BackendInstance();
  BackendInstance(const BackendInstance&) = delete;
  BackendInstance& operator=(const BackendInstance&) = delete;

  const std::string& instanceName() const { return instanceName_; }
  const BackendLibrary& library() const { return *library_; }

  bool supportsPods() const;
  PodResult podAdd(const PodRequest& request);   // throws BackendError (also when unsupported)
  void podDel(const PodRequest& request);
  void podCheck(const PodRequest& request);
  std::string statusJson();  // "{}" when the backend reports nothing

  // Node routing capability (NULL table = unsupported: the calls below then do nothing and
  // localNodeData answers "{}").
  bool supportsNodes() const;
  std::string localNodeData();
  void nodeUpsert(const NodeInfo& node);  // throws BackendError
  void nodeRemove(const std::string& nodeName);

 private:
  std::shared_ptr<BackendLibrary> library_;
  std::shared_ptr<HostServices> host_;
  std::string instanceName_;
  cnikit_backend* handle_ = nullptr;
};

}  // namespace cnikit::plugin
