#pragma once
// The agent's Service loop: watches the cluster store (Service, EndpointSlice and Pod objects
// under /cnikit/v1/k8s/, endpoint records under /cnikit/v1/endpoints/, node records under
// /cnikit/v1/nodes/), plays the endpoints controller, keeps one ServiceTable for this node
// and hands every change to its ServiceProvider (ServiceProvider.hpp), like
// agent::PolicyController does for policy: list at a revision, then watch; compaction ->
// relist; after a provider error a background thread retries with a full sync.
//
// Backends of a Service with a selector: the Pods of its namespace matching it, at their
// addresses (endpoint records first, else status.podIPs); ready = has an address and its node
// (endpoint record's, else spec.nodeName) is alive (has a node record). A named targetPort
// resolves per pod from its containerPorts (a pod without that port is no backend of that
// port). Without a selector: the EndpointSlices labelled kubernetes.io/service-name=<name>,
// ports matched by name. Headless Services (clusterIP None) are not in the table.
//
// Incremental: a pod change recomputes only the Services of its namespace whose selector
// matches its old or new labels; the provider gets only the keys whose entry changed.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/k8s/ServiceObjects.hpp"
#include "core/service/ServiceProvider.hpp"
#include "core/service/ServiceTable.hpp"
#include "core/store/Store.hpp"

namespace cnikit::service {

struct ServiceControllerOptions {
  // The cluster's pod pools (NodeContext::podCidrs), e.g. from AgentConfig::pools.
  std::vector<std::string> podCidrs;
  // After a failed update, how soon the controller retries with a full sync.
  std::chrono::milliseconds retryInterval{1000};
};

class ServiceController {
 public:
  // provider must not be null.
  ServiceController(store::Store& store, std::string node, std::unique_ptr<ServiceProvider> provider,
                    ServiceControllerOptions options = {});
  // Stops the watches; the datapath stays (it outlives the agent).
  ~ServiceController();
  ServiceController(const ServiceController&) = delete;
  ServiceController& operator=(const ServiceController&) = delete;

  // Lists the store, syncs the provider, then watches. Throws when the store cannot be read
  // or the first sync fails.
  void start();
  void stop();
  // The node leaves the cluster: stops, then the provider removes everything it programmed.
  void teardown();

  // {"provider", "services", "backends", "readyBackends", "lastError"?, ...provider status}
  nlohmann::json status() const;
  ServiceTable table() const;
  NodeContext nodeContext() const;
  // The provider's explain for one Service key ("ns/name"); null when it has nothing.
  nlohmann::json explain(const std::string& serviceKey) const;

 private:
  struct PodAttachment {  // an endpoint record
    std::string node;
    std::string podKey;
    std::vector<std::string> ips;
  };

  void loadLocked(store::Revision& revision);
  void watchFrom(store::Revision revision);
  void onEvents(const std::vector<store::Event>& events);
  void onCompacted();
  void background();

  // Everything below runs with mutex_ held; each returns the Service keys to recompute.
  void objectEvent(const store::Event& e, std::set<std::string>& dirty);
  void endpointEvent(const store::Event& e, std::set<std::string>& dirty);
  void nodeEvent(const store::Event& e, std::set<std::string>& dirty);
  void podServices(const std::string& podKey, const k8s::Labels* oldLabels, std::set<std::string>& dirty) const;
  std::optional<Service> build(const std::string& serviceKey) const;
  void recompute(const std::set<std::string>& keys, ServiceChanges& changes);
  std::string nodeOfPod(const std::string& podKey) const;
  std::vector<std::string> addressesOfPod(const std::string& podKey) const;
  bool program(const ServiceChanges& changes, std::string* error = nullptr);

  store::Store& store_;
  std::string node_;
  ServiceControllerOptions options_;
  std::unique_ptr<ServiceProvider> provider_;

  mutable std::mutex mutex_;
  std::map<std::string, k8s::ServiceSpec> services_;  // by "ns/name"
  // Indexes by "<ns>\n<key>=<value>": a Service under the first pair of its selector (a pod
  // it selects has that pair), a pod under each of its labels.
  std::map<std::string, std::set<std::string>> servicesByLabel_;
  std::map<std::string, k8s::EndpointSlice> slices_;              // by "ns/name"
  std::map<std::string, std::set<std::string>> slicesByService_;  // "ns/service" -> slice keys
  std::map<std::string, k8s::Pod> pods_;                          // by "ns/name"
  std::map<std::string, std::set<std::string>> podsByLabel_;
  std::map<std::string, PodAttachment> attachments_;  // by endpoint store key
  std::map<std::string, std::set<std::string>> attachmentsByPod_;
  std::map<std::string, std::vector<std::string>> nodeAddresses_;  // alive nodes -> underlay addresses
  ServiceTable table_;
  NodeContext programmedNode_;
  std::string lastError_;
  bool needsSync_ = true;
  bool needsRelist_ = false;

  std::vector<std::unique_ptr<store::Watch>> watches_;
  std::mutex wakeMutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread background_;
};

}  // namespace cnikit::service
