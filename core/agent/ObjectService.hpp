#pragma once
// Kubernetes objects (Namespace, Pod, NetworkPolicy, Service, EndpointSlice) in the cluster
// store, served over the agent socket for `cnikitctl apply/delete/get`:
//   objects.apply  {objects: [...], namespace?}  validates every object and allocates what
//                  each Service holds (ServiceAllocator), then writes all (none, and nothing
//                  left allocated, when any is invalid or refused)
//                  -> {results: [{kind, namespace, name, action}]}
//   objects.delete {objects: [...] | refs: [{kind, namespace, name}], namespace?}
//                  -> {results: [...]}; deleting a Namespace deletes what lives in it;
//                  deleting a Service frees its ClusterIPs, NodePorts and load-balancer IPs
//   objects.list   {kind, namespace? | all?} -> {apiVersion: v1, kind: List, items: [...]}
// Keys and values: core/k8s/ObjectKeys.hpp (the normalised JSON of core/k8s/Validation.hpp).
#include <nlohmann/json.hpp>
#include <string>

#include "core/agent/ServiceAllocator.hpp"
#include "core/agent/ServicesConfig.hpp"
#include "core/k8s/Validation.hpp"
#include "core/rpc/AgentMethods.hpp"
#include "core/store/Store.hpp"

namespace cnikit::agent {

class ObjectService {
 public:
  // `services`: the cluster config's `services:` section (AgentConfig::services).
  explicit ObjectService(store::Store& store, ServicesConfig services = {})
      : store_(store), allocator_(store, std::move(services)) {}

  static bool handles(const std::string& method) { return method.rfind(rpc::kObjectsMethodPrefix, 0) == 0; }
  // One request; a bad request or invalid objects give {error, errors?}; store failures throw.
  nlohmann::json handle(const nlohmann::json& request);

  nlohmann::json apply(const nlohmann::json& objects, const std::string& defaultNamespace);
  nlohmann::json remove(const std::vector<k8s::ObjectRef>& refs);
  // namespace empty (or allNamespaces) = every namespace.
  nlohmann::json list(k8s::Kind kind, const std::string& ns, bool allNamespaces);

 private:
  // Writes one Service (completed by the allocator) unless it changed since it was read;
  // redoes the allocation against the new stored object when it did. Returns the action.
  std::string writeService(const k8s::NormalizedObject& object, nlohmann::json completed,
                           std::optional<store::KeyValue> previous, std::vector<std::string> created);
  bool removeObject(const k8s::ObjectRef& ref);

  store::Store& store_;
  ServiceAllocator allocator_;
};

}  // namespace cnikit::agent
