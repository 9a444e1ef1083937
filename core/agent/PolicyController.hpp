#pragma once
// The agent's NetworkPolicy loop: watches the cluster store for Namespace, Pod and
// NetworkPolicy objects (/cnikit/v1/k8s/) and for endpoint records of every node
// (/cnikit/v1/endpoints/), feeds the policy engine, and programs what changed through its
// provider (core/policy/PolicyProvider.hpp; iptables/ipset today).
//
// - Local endpoints: pods with an endpoint record of this node (matched by podNamespace and
//   podName), optionally only those of some backend instances (the ones whose config says
//   `policy: iptables`).
// - Pod addresses: from the endpoint records of any node when there are some (what the
//   datapath really has), else from the stored Pod's status.podIP(s).
// - A pod whose Pod object is not (yet) in the store but has an endpoint is known by
//   namespace and name only: policies selecting every pod of its namespace police it.
// - endpointAdded() is called in the CNI ADD path after the backend's podAdd: it programs the
//   pod's rules synchronously, so they are in the kernel before ADD returns.
//
// The provider is made by the caller, on a thread in the node's network namespace (the
// iptables provider binds to the namespace of the thread that constructs it).
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/agent/Endpoints.hpp"
#include "core/policy/Engine.hpp"
#include "core/policy/PolicyProvider.hpp"
#include "core/store/Store.hpp"

namespace cnikit::agent {

struct PolicyControllerOptions {
  // Backend instances whose pods this node polices; empty: every local endpoint.
  std::set<std::string> backends;
  // After a failed update, how soon the controller retries with a full sync.
  std::chrono::milliseconds retryInterval{1000};
};

class PolicyController {
 public:
  // provider must not be null.
  PolicyController(store::Store& store, std::string node, std::unique_ptr<policy::PolicyProvider> provider,
                   PolicyControllerOptions options = {});
  // Stops the watches; the rules stay in the kernel (the datapath outlives the agent).
  ~PolicyController();
  PolicyController(const PolicyController&) = delete;
  PolicyController& operator=(const PolicyController&) = delete;

  // Lists the store, programs everything (taking over what an earlier run left), then
  // watches. Throws when the store cannot be read or the first programming fails.
  void start();
  void stop();

  // CNI ADD, after the backend's podAdd (and before or after the endpoint record is written):
  // the pod's chains are in the kernel when this returns. Throws when they could not be
  // programmed, so the ADD fails rather than leave a pod unpoliced.
  void endpointAdded(const Endpoint& endpoint);
  // CNI DEL (or GC): the pod's chains go when its last local endpoint does. Never throws.
  void endpointRemoved(const Endpoint& endpoint);

  // {"provider": name, "localEndpoints", "pods", "policies", "lastError", ...provider status}
  nlohmann::json status() const;
  // The engine's verdict for a connection between two known pods (tests, diagnostics).
  bool allowed(const std::string& from, const std::string& to, uint16_t port, k8s::Protocol protocol) const;

 private:
  struct EndpointInfo {
    std::string node;
    std::string podKey;   // "namespace/name"
    std::string backend;
    std::vector<std::string> ips;  // without prefix length
  };

  void loadLocked(store::Revision& revision);
  void watchFrom(store::Revision revision);
  void onObjectEvents(const std::vector<store::Event>& events);
  void onEndpointEvents(const std::vector<store::Event>& events);
  void onCompacted();
  void background();

  // Everything below runs with mutex_ held.
  bool isLocalEndpoint(const EndpointInfo& info) const;
  policy::Changes refreshPod(const std::string& podKey);
  policy::Changes putEndpoint(const std::string& storeKey, const Endpoint& endpoint);
  policy::Changes removeEndpoint(const std::string& storeKey);
  // Programs `changes`; on failure remembers the error and asks the background thread to
  // retry with a sync. Returns false on failure.
  bool programLocked(const policy::Changes& changes, std::string* error = nullptr);

  store::Store& store_;
  std::string node_;
  PolicyControllerOptions options_;
  std::unique_ptr<policy::PolicyProvider> provider_;

  mutable std::mutex mutex_;
  std::unique_ptr<policy::Engine> engine_;
  std::map<std::string, k8s::Pod> storedPods_;       // by "ns/name", as stored
  std::map<std::string, EndpointInfo> endpoints_;    // by endpoint store key
  std::map<std::string, std::set<std::string>> endpointsByPod_;
  std::map<std::string, int> localEndpointsByPod_;
  std::string lastError_;
  bool needsSync_ = false;
  bool needsRelist_ = false;

  std::unique_ptr<store::Watch> objectWatch_;
  std::unique_ptr<store::Watch> endpointWatch_;
  std::mutex wakeMutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread background_;
};

}  // namespace cnikit::agent
