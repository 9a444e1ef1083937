#pragma once
// Where Kubernetes objects live in the cluster store (value = the normalised JSON):
//   /cnikit/v1/k8s/namespaces/<name>
//   /cnikit/v1/k8s/pods/<namespace>/<name>
//   /cnikit/v1/k8s/networkpolicies/<namespace>/<name>
//   /cnikit/v1/k8s/services/<namespace>/<name>
//   /cnikit/v1/k8s/endpointslices/<namespace>/<name>
#include <optional>
#include <string>
#include <string_view>

#include "core/k8s/Validation.hpp"
#include "core/store/Keys.hpp"

namespace cnikit::k8s {

inline constexpr std::string_view kObjectsPrefix = store::keys::kObjectsPrefix;

std::string storePrefix(Kind kind);                         // ".../pods/"
std::string storePrefix(Kind kind, const std::string& ns);  // ".../pods/<ns>/" (Namespace: whole kind)
std::string storeKey(const ObjectRef& ref);
std::optional<ObjectRef> refFromStoreKey(const std::string& key);

}  // namespace cnikit::k8s
