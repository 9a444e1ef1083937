#pragma once
// Kubernetes objects (Namespace, Pod, NetworkPolicy) in the cluster store, served over the
// agent socket for `cnikitctl apply/delete/get`:
//   objects.apply  {objects: [...], namespace?}  validates every object, then writes all
//                  (none when any is invalid) -> {results: [{kind, namespace, name, action}]}
//   objects.delete {objects: [...] | refs: [{kind, namespace, name}], namespace?}
//                  -> {results: [...]}; deleting a Namespace deletes its pods and policies
//   objects.list   {kind, namespace? | all?} -> {apiVersion: v1, kind: List, items: [...]}
// Keys and values: core/k8s/ObjectKeys.hpp (the normalised JSON of core/k8s/Validation.hpp).
#include <nlohmann/json.hpp>
#include <string>

#include "core/k8s/Validation.hpp"
#include "core/rpc/AgentMethods.hpp"
#include "core/store/Store.hpp"

namespace cnikit::agent {

class ObjectService {
 public:
  explicit ObjectService(store::Store& store) : store_(store) {}

  static bool handles(const std::string& method) { return method.rfind(rpc::kObjectsMethodPrefix, 0) == 0; }
  // One request; a bad request or invalid objects give {error, errors?}; store failures throw.
  nlohmann::json handle(const nlohmann::json& request);

  nlohmann::json apply(const nlohmann::json& objects, const std::string& defaultNamespace);
  nlohmann::json remove(const std::vector<k8s::ObjectRef>& refs);
  // namespace empty (or allNamespaces) = every namespace.
  nlohmann::json list(k8s::Kind kind, const std::string& ns, bool allNamespaces);

 private:
  store::Store& store_;
};

}  // namespace cnikit::agent
