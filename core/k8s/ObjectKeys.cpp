#include "core/k8s/ObjectKeys.hpp"

namespace cnikit::k8s {

namespace {

const char* plural(Kind kind) {
  switch (kind) {
    case Kind::Namespace: return "namespaces";
    case Kind::Pod: return "pods";
    case Kind::NetworkPolicy: return "networkpolicies";
    case Kind::Service: return "services";
    case Kind::EndpointSlice: return "endpointslices";
  }
  return "?";
}

}  // namespace

std::string storePrefix(Kind kind) { return std::string(kObjectsPrefix) + plural(kind) + "/"; }

std::string storePrefix(Kind kind, const std::string& ns) {
  if (kind == Kind::Namespace) return storePrefix(kind);
  return storePrefix(kind) + ns + "/";
}

std::string storeKey(const ObjectRef& ref) {
  if (ref.kind == Kind::Namespace) return storePrefix(ref.kind) + ref.name;
  return storePrefix(ref.kind) + ref.ns + "/" + ref.name;
}

std::optional<ObjectRef> refFromStoreKey(const std::string& key) {
  for (Kind kind : kAllKinds) {
    std::string prefix = storePrefix(kind);
    if (key.rfind(prefix, 0) != 0) continue;
    std::string rest = key.substr(prefix.size());
    ObjectRef ref;
    ref.kind = kind;
    if (kind == Kind::Namespace) {
      if (rest.empty() || rest.find('/') != std::string::npos) return std::nullopt;
      ref.name = rest;
      return ref;
    }
    auto slash = rest.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size()) return std::nullopt;
    ref.ns = rest.substr(0, slash);
    ref.name = rest.substr(slash + 1);
    if (ref.name.find('/') != std::string::npos) return std::nullopt;
    return ref;
  }
  return std::nullopt;
}

}  // namespace cnikit::k8s
