#include "core/agent/ObjectService.hpp"

#include <map>
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
        throw std::invalid_argument(
            "kind \"" + kindText + "\" is not supported (namespaces, pods, networkpolicies, services, endpointslices)");
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
  // Everything is validated, and every Service's addresses and ports allocated, before
  // anything is written; a refusal frees what this apply allocated.
  auto normalized = k8s::validateObjects(std::vector<json>(objects.begin(), objects.end()), {defaultNamespace, ""});
  struct Allocated {
    json completed;
    std::optional<store::KeyValue> previous;
    std::vector<std::string> created;
  };
  std::map<size_t, Allocated> services;
  std::vector<std::string> errors;
  for (size_t i = 0; i < normalized.size(); ++i) {
    if (normalized[i].ref.kind != k8s::Kind::Service) continue;
    Allocated a{normalized[i].object, store_.get(k8s::storeKey(normalized[i].ref)), {}};
    json previous = a.previous ? json::parse(a.previous->value, nullptr, false) : json();
    allocator_.allocate(normalized[i].ref, a.completed, previous, a.created, errors);
    services.emplace(i, std::move(a));
  }
  if (!errors.empty()) {
    for (const auto& [i, a] : services)
      allocator_.release(normalized[i].ref.ns + "/" + normalized[i].ref.name, a.created);
    throw k8s::ValidationError(std::move(errors));
  }
  json results = json::array();
  for (size_t i = 0; i < normalized.size(); ++i) {
    const auto& object = normalized[i];
    if (auto s = services.find(i); s != services.end()) {
      results.push_back(
          resultOf(object.ref, writeService(object, std::move(s->second.completed), std::move(s->second.previous),
                                            std::move(s->second.created))));
      continue;
    }
    auto key = k8s::storeKey(object.ref);
    std::string value = object.object.dump();
    auto existing = store_.get(key);
    std::string action = !existing ? "created" : existing->value == value ? "unchanged" : "configured";
    if (action != "unchanged") store_.put(key, value);
    results.push_back(resultOf(object.ref, action));
  }
  return {{"results", results}};
}

std::string ObjectService::writeService(const k8s::NormalizedObject& object, json completed,
                                        std::optional<store::KeyValue> previous, std::vector<std::string> created) {
  const std::string key = k8s::storeKey(object.ref);
  const std::string serviceKey = object.ref.ns + "/" + object.ref.name;
  // Another apply of this Service may win the race between our read and our write: then
  // what we allocated goes back and the allocation is redone on top of what it wrote.
  for (int attempt = 0; attempt < 10; ++attempt) {
    json prevObject = previous ? json::parse(previous->value, nullptr, false) : json();
    std::string value = completed.dump();
    if (previous && previous->value == value) {
      allocator_.release(serviceKey, created);
      return "unchanged";
    }
    if (store_.compareAndSwap(key, previous ? previous->modRevision : 0, value)) {
      // What the old object held and the new one does not is free now.
      auto now = ServiceAllocator::keysOf(completed);
      std::vector<std::string> dropped;
      for (const auto& k : ServiceAllocator::keysOf(prevObject))
        if (!now.count(k)) dropped.push_back(k);
      allocator_.release(serviceKey, dropped);
      return previous ? "configured" : "created";
    }
    allocator_.release(serviceKey, created);
    created.clear();
    previous = store_.get(key);
    completed = object.object;
    std::vector<std::string> errors;
    allocator_.allocate(object.ref, completed, previous ? json::parse(previous->value, nullptr, false) : json(),
                        created, errors);
    if (!errors.empty()) {
      allocator_.release(serviceKey, created);
      throw k8s::ValidationError(std::move(errors));
    }
  }
  allocator_.release(serviceKey, created);
  throw std::runtime_error(object.ref.str() + ": changed by others on every attempt to write it; try again");
}

bool ObjectService::removeObject(const k8s::ObjectRef& ref) {
  const std::string key = k8s::storeKey(ref);
  if (ref.kind != k8s::Kind::Service) return store_.remove(key);
  // A Service's allocations go with it.
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto kv = store_.get(key);
    if (!kv) return false;
    if (!store_.compareAndDelete(key, kv->modRevision)) continue;
    auto held = ServiceAllocator::keysOf(json::parse(kv->value, nullptr, false));
    allocator_.release(ref.ns + "/" + ref.name, std::vector<std::string>(held.begin(), held.end()));
    return true;
  }
  throw std::runtime_error(ref.str() + ": changed by others on every attempt to delete it; try again");
}

json ObjectService::remove(const std::vector<k8s::ObjectRef>& refs) {
  json results = json::array();
  for (const auto& ref : refs) {
    bool existed = removeObject(ref);
    results.push_back(resultOf(ref, existed ? "deleted" : "not found"));
    if (ref.kind != k8s::Kind::Namespace) continue;
    // As the namespace controller does: what lives in a namespace goes with it.
    for (auto kind : k8s::kAllKinds) {
      if (kind == k8s::Kind::Namespace) continue;
      for (const auto& kv : store_.list(k8s::storePrefix(kind, ref.name))) {
        auto inner = k8s::refFromStoreKey(kv.key);
        if (inner && removeObject(*inner)) results.push_back(resultOf(*inner, "deleted"));
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
