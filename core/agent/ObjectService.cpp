#include "core/agent/ObjectService.hpp"

#include <stdexcept>

#include "core/k8s/ObjectKeys.hpp"

namespace cnikit::agent {

using nlohmann::json;

namespace {

json resultOf(const k8s::ObjectRef& ref, const std::string& action) {
  json r = {{"kind", k8s::kindName(ref.kind)}, {"name", ref.name}, {"action", action}};
  if (ref.kind != k8s::Kind::Namespace) r["namespace"] = ref.ns;
  return r;
}

std::vector<json> documentsOf(const json& request) {
  auto it = request.find("objects");
  if (it == request.end() || !it->is_array())
    throw std::invalid_argument("request needs \"objects\": a list of objects");
  return std::vector<json>(it->begin(), it->end());
}

}  // namespace

json ObjectService::handle(const json& request) {
  std::string method = request.value("method", "");
  std::string defaultNamespace = request.value("namespace", "default");
  try {
    if (method == rpc::kObjectsApplyMethod) return apply(request.value("objects", json()), defaultNamespace);
    if (method == rpc::kObjectsDeleteMethod) {
      std::vector<k8s::ObjectRef> refs;
      if (auto r = request.find("refs"); r != request.end() && r->is_array()) {
        for (const auto& item : *r) {
          auto kind = k8s::parseKind(item.value("kind", ""));
          if (!kind)
            throw std::invalid_argument("refs: kind " + json(item.value("kind", "")).dump() + " is not supported");
          k8s::ObjectRef ref{*kind, item.value("namespace", ""), item.value("name", "")};
          if (ref.kind == k8s::Kind::Namespace) ref.ns.clear();
          if (ref.kind != k8s::Kind::Namespace && ref.ns.empty()) ref.ns = defaultNamespace;
          if (ref.name.empty()) throw std::invalid_argument("refs: " + ref.str() + ": name: Required value");
          refs.push_back(ref);
        }
      } else {
        refs = k8s::objectRefs(documentsOf(request), {defaultNamespace, ""});
      }
      return remove(refs);
    }
    if (method == rpc::kObjectsListMethod) {
      std::string kindText = request.value("kind", "");
      auto kind = k8s::parseKind(kindText);
      if (!kind)
        throw std::invalid_argument("kind \"" + kindText + "\" is not supported (namespaces, pods, networkpolicies)");
      return list(*kind, request.value("namespace", ""), request.value("all", false));
    }
  } catch (const k8s::ValidationError& e) {
    return {{"error", e.what()}, {"errors", e.errors()}};
  } catch (const std::invalid_argument& e) {
    return {{"error", e.what()}};
  } catch (const json::exception& e) {
    return {{"error", std::string("malformed request: ") + e.what()}};
  }
  return {{"error", "unknown method '" + method + "'"}};
}

json ObjectService::apply(const json& objects, const std::string& defaultNamespace) {
  if (!objects.is_array()) throw std::invalid_argument("request needs \"objects\": a list of objects");
  // Everything is validated before anything is written.
  auto normalized = k8s::validateObjects(std::vector<json>(objects.begin(), objects.end()), {defaultNamespace, ""});
  json results = json::array();
  for (const auto& object : normalized) {
    auto key = k8s::storeKey(object.ref);
    std::string value = object.object.dump();
    auto existing = store_.get(key);
    std::string action = !existing ? "created" : existing->value == value ? "unchanged" : "configured";
    if (action != "unchanged") store_.put(key, value);
    results.push_back(resultOf(object.ref, action));
  }
  return {{"results", results}};
}

json ObjectService::remove(const std::vector<k8s::ObjectRef>& refs) {
  json results = json::array();
  for (const auto& ref : refs) {
    bool existed = store_.remove(k8s::storeKey(ref));
    results.push_back(resultOf(ref, existed ? "deleted" : "not found"));
    if (ref.kind != k8s::Kind::Namespace) continue;
    // As the namespace controller does: what lives in a namespace goes with it.
    for (auto kind : {k8s::Kind::Pod, k8s::Kind::NetworkPolicy}) {
      for (const auto& kv : store_.list(k8s::storePrefix(kind, ref.name))) {
        auto inner = k8s::refFromStoreKey(kv.key);
        if (inner && store_.remove(kv.key)) results.push_back(resultOf(*inner, "deleted"));
      }
    }
  }
  return {{"results", results}};
}

json ObjectService::list(k8s::Kind kind, const std::string& ns, bool allNamespaces) {
  std::string prefix = allNamespaces || ns.empty() ? k8s::storePrefix(kind) : k8s::storePrefix(kind, ns);
  json items = json::array();
  for (const auto& kv : store_.list(prefix)) {
    if (!k8s::refFromStoreKey(kv.key)) continue;
    auto object = json::parse(kv.value, nullptr, false);
    if (!object.is_discarded()) items.push_back(std::move(object));
  }
  return {{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
}

}  // namespace cnikit::agent
