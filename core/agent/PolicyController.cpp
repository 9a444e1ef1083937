#include "core/agent/PolicyController.hpp"

#include <algorithm>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/k8s/ObjectKeys.hpp"
#include "core/k8s/Objects.hpp"
#include "core/store/Keys.hpp"

namespace cnikit::agent {

using nlohmann::json;

namespace {

std::string withoutPrefixLength(const std::string& address) { return address.substr(0, address.find('/')); }

}  // namespace

PolicyController::PolicyController(store::Store& store, std::string node,
                                   std::unique_ptr<policy::PolicyProvider> provider, PolicyControllerOptions options)
    : store_(store), node_(std::move(node)), options_(std::move(options)), provider_(std::move(provider)) {
  if (!provider_) throw std::invalid_argument("policy controller: no provider");
  policy::EngineOptions engineOptions;
  engineOptions.isLocal = [this](const k8s::Pod& pod) { return localEndpointsByPod_.count(pod.key()) > 0; };
  engine_ = std::make_unique<policy::Engine>(engineOptions);
}

PolicyController::~PolicyController() { stop(); }

void PolicyController::start() {
  store::Revision revision = 0;
  {
    std::lock_guard lock(mutex_);
    loadLocked(revision);
    std::string error;
    if (!programLocked({}, &error)) throw std::runtime_error("policy: cannot program this node's rules: " + error);
    spdlog::info("policy: {} provider programmed {} local endpoint(s)", provider_->name(),
                 engine_->endpointKeys().size());
  }
  watchFrom(revision);
  background_ = std::thread([this] { background(); });
}

void PolicyController::stop() {
  {
    std::lock_guard lock(wakeMutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (background_.joinable()) background_.join();
  // Never with mutex_ held: destroying a watch waits for its callback, which takes mutex_.
  objectWatch_.reset();
  endpointWatch_.reset();
}

void PolicyController::loadLocked(store::Revision& revision) {
  // Revision first: events after it are replayed by the watch; replaying what the list
  // already shows is harmless (every update is idempotent).
  revision = store_.revision();
  auto objects = store_.list(k8s::kObjectsPrefix);
  auto endpoints = store_.list(store::keys::kEndpointsPrefix);
  policy::EngineOptions engineOptions;
  engineOptions.isLocal = [this](const k8s::Pod& pod) { return localEndpointsByPod_.count(pod.key()) > 0; };
  engine_ = std::make_unique<policy::Engine>(engineOptions);
  storedPods_.clear();
  endpoints_.clear();
  endpointsByPod_.clear();
  localEndpointsByPod_.clear();
  std::vector<store::Event> events;
  for (auto& kv : endpoints) events.push_back({store::EventType::Put, std::move(kv)});
  for (const auto& e : events) {
    auto endpoint = json::parse(e.kv.value, nullptr, false);
    if (endpoint.is_discarded()) continue;
    putEndpoint(e.kv.key, endpoint.get<Endpoint>());
  }
  events.clear();
  for (auto& kv : objects) events.push_back({store::EventType::Put, std::move(kv)});
  // The same path as live events, without programming in between.
  for (const auto& e : events) {
    auto ref = k8s::refFromStoreKey(e.kv.key);
    if (!ref) continue;
    auto object = json::parse(e.kv.value, nullptr, false);
    if (object.is_discarded()) continue;
    try {
      switch (ref->kind) {
        case k8s::Kind::Namespace: engine_->upsertNamespace(k8s::namespaceFromJson(object)); break;
        case k8s::Kind::Pod:
          storedPods_[ref->ns + "/" + ref->name] = k8s::podFromJson(object);
          refreshPod(ref->ns + "/" + ref->name);
          break;
        case k8s::Kind::NetworkPolicy: engine_->upsertPolicy(k8s::networkPolicyFromJson(object)); break;
        case k8s::Kind::Service:
        case k8s::Kind::EndpointSlice: break;  // policy sees the endpoints behind a Service, after DNAT
      }
    } catch (const std::exception& ex) {
      spdlog::warn("policy: ignoring {}: {}", e.kv.key, ex.what());
    }
  }
  needsSync_ = true;
}

void PolicyController::watchFrom(store::Revision revision) {
  objectWatch_ = store_.watch(
      k8s::kObjectsPrefix, revision, [this](const std::vector<store::Event>& events) { onObjectEvents(events); },
      [this] { onCompacted(); });
  endpointWatch_ = store_.watch(
      store::keys::kEndpointsPrefix, revision,
      [this](const std::vector<store::Event>& events) { onEndpointEvents(events); }, [this] { onCompacted(); });
}

void PolicyController::onObjectEvents(const std::vector<store::Event>& events) {
  std::lock_guard lock(mutex_);
  policy::Changes changes;
  for (const auto& e : events) {
    auto ref = k8s::refFromStoreKey(e.kv.key);
    if (!ref) continue;
    const std::string podKey = ref->ns + "/" + ref->name;
    try {
      if (e.type == store::EventType::Delete) {
        switch (ref->kind) {
          case k8s::Kind::Namespace: changes.merge(engine_->deleteNamespace(ref->name)); break;
          case k8s::Kind::Pod:
            storedPods_.erase(podKey);
            changes.merge(refreshPod(podKey));
            break;
          case k8s::Kind::NetworkPolicy: changes.merge(engine_->deletePolicy(ref->ns, ref->name)); break;
          case k8s::Kind::Service:
          case k8s::Kind::EndpointSlice: break;
        }
        continue;
      }
      auto object = json::parse(e.kv.value, nullptr, false);
      if (object.is_discarded()) throw std::invalid_argument("not JSON");
      switch (ref->kind) {
        case k8s::Kind::Namespace: changes.merge(engine_->upsertNamespace(k8s::namespaceFromJson(object))); break;
        case k8s::Kind::Pod:
          storedPods_[podKey] = k8s::podFromJson(object);
          changes.merge(refreshPod(podKey));
          break;
        case k8s::Kind::NetworkPolicy: changes.merge(engine_->upsertPolicy(k8s::networkPolicyFromJson(object))); break;
        case k8s::Kind::Service:
        case k8s::Kind::EndpointSlice: break;
      }
    } catch (const std::exception& ex) {
      spdlog::warn("policy: ignoring {}: {}", e.kv.key, ex.what());
    }
  }
  programLocked(changes);
}

void PolicyController::onEndpointEvents(const std::vector<store::Event>& events) {
  std::lock_guard lock(mutex_);
  policy::Changes changes;
  for (const auto& e : events) {
    if (e.type == store::EventType::Delete) {
      changes.merge(removeEndpoint(e.kv.key));
      continue;
    }
    auto object = json::parse(e.kv.value, nullptr, false);
    if (object.is_discarded()) continue;
    changes.merge(putEndpoint(e.kv.key, object.get<Endpoint>()));
  }
  programLocked(changes);
}

void PolicyController::onCompacted() {
  {
    std::lock_guard lock(mutex_);
    needsRelist_ = true;
  }
  wake_.notify_all();
}

void PolicyController::background() {
  std::unique_lock wakeLock(wakeMutex_);
  while (!stopping_) {
    wake_.wait_for(wakeLock, options_.retryInterval);
    if (stopping_) break;
    wakeLock.unlock();
    bool relist = false;
    {
      std::lock_guard lock(mutex_);
      relist = needsRelist_;
      if (!relist && needsSync_) programLocked({});
    }
    if (relist) {
      // The watch lost history (compaction): list again and watch from there.
      objectWatch_.reset();
      endpointWatch_.reset();
      store::Revision revision = 0;
      bool loaded = false;
      {
        std::lock_guard lock(mutex_);
        try {
          loadLocked(revision);
          needsRelist_ = false;
          loaded = true;
          programLocked({});
        } catch (const std::exception& e) {
          lastError_ = std::string("relisting the store: ") + e.what();
          spdlog::warn("policy: {}", lastError_);
        }
      }
      if (loaded) watchFrom(revision);
    }
    wakeLock.lock();
  }
}

bool PolicyController::isLocalEndpoint(const EndpointInfo& info) const {
  return info.node == node_ && (options_.backends.empty() || options_.backends.count(info.backend));
}

policy::Changes PolicyController::refreshPod(const std::string& podKey) {
  policy::Changes changes;
  const auto slash = podKey.find('/');
  const std::string ns = podKey.substr(0, slash), name = podKey.substr(slash + 1);
  std::vector<std::string> ips;
  if (auto it = endpointsByPod_.find(podKey); it != endpointsByPod_.end())
    for (const auto& key : it->second)
      for (const auto& ip : endpoints_.at(key).ips) ips.push_back(ip);
  std::sort(ips.begin(), ips.end());
  ips.erase(std::unique(ips.begin(), ips.end()), ips.end());

  std::optional<k8s::Pod> desired;
  if (auto stored = storedPods_.find(podKey); stored != storedPods_.end()) {
    desired = stored->second;
    if (!ips.empty()) desired->ips = ips;
  } else if (endpointsByPod_.count(podKey)) {
    desired = k8s::Pod{ns, name, {}, {}, {}, ips};
  }
  const bool known = engine_->pods().count(podKey) > 0;
  if (!desired) {
    if (known) changes.merge(engine_->deletePod(ns, name));
    return changes;
  }
  // The engine evaluates isLocal when a pod changes; a pod that only became (or stopped
  // being) local is taken out and put back so it does.
  const bool local = localEndpointsByPod_.count(podKey) > 0;
  const bool engineLocal = known && engine_->endpoint(podKey).has_value();
  if (known && local != engineLocal) changes.merge(engine_->deletePod(ns, name));
  changes.merge(engine_->upsertPod(*desired));
  return changes;
}

policy::Changes PolicyController::putEndpoint(const std::string& storeKey, const Endpoint& endpoint) {
  policy::Changes changes;
  if (endpoint.podNamespace.empty() || endpoint.podName.empty()) return changes;  // not a Kubernetes pod
  EndpointInfo info;
  info.node = store::keys::endpointNodeOf(storeKey);
  info.podKey = endpoint.podNamespace + "/" + endpoint.podName;
  info.backend = endpoint.backend;
  for (const auto& address : endpoint.addresses) info.ips.push_back(withoutPrefixLength(address));
  if (auto old = endpoints_.find(storeKey); old != endpoints_.end() && old->second.podKey != info.podKey)
    changes.merge(removeEndpoint(storeKey));
  endpoints_[storeKey] = info;
  endpointsByPod_[info.podKey].insert(storeKey);
  int local = 0;
  for (const auto& key : endpointsByPod_[info.podKey]) local += isLocalEndpoint(endpoints_.at(key));
  if (local)
    localEndpointsByPod_[info.podKey] = local;
  else
    localEndpointsByPod_.erase(info.podKey);
  changes.merge(refreshPod(info.podKey));
  return changes;
}

policy::Changes PolicyController::removeEndpoint(const std::string& storeKey) {
  auto it = endpoints_.find(storeKey);
  if (it == endpoints_.end()) return {};
  const std::string podKey = it->second.podKey;
  endpoints_.erase(it);
  auto& keys = endpointsByPod_[podKey];
  keys.erase(storeKey);
  int local = 0;
  for (const auto& key : keys) local += isLocalEndpoint(endpoints_.at(key));
  if (keys.empty()) endpointsByPod_.erase(podKey);
  if (local)
    localEndpointsByPod_[podKey] = local;
  else
    localEndpointsByPod_.erase(podKey);
  return refreshPod(podKey);
}

bool PolicyController::programLocked(const policy::Changes& changes, std::string* error) {
  if (changes.empty() && !needsSync_) return true;
  try {
    if (needsSync_)
      provider_->sync(*engine_);
    else
      provider_->apply(*engine_, changes);
    needsSync_ = false;
    lastError_.clear();
    return true;
  } catch (const std::exception& e) {
    lastError_ = e.what();
    needsSync_ = true;  // the background thread retries with a full sync
    spdlog::error("policy: programming {} failed (retrying): {}", provider_->name(), lastError_);
    if (error) *error = lastError_;
    wake_.notify_all();
    return false;
  }
}

void PolicyController::endpointAdded(const Endpoint& endpoint) {
  std::lock_guard lock(mutex_);
  auto changes = putEndpoint(store::keys::endpoint(node_, endpoint.containerId, endpoint.ifname), endpoint);
  std::string error;
  if (!programLocked(changes, &error))
    throw std::runtime_error("policy rules for pod " + endpoint.podNamespace + "/" + endpoint.podName +
                             " could not be programmed: " + error);
}

void PolicyController::endpointRemoved(const Endpoint& endpoint) {
  std::lock_guard lock(mutex_);
  programLocked(removeEndpoint(store::keys::endpoint(node_, endpoint.containerId, endpoint.ifname)));
}

json PolicyController::status() const {
  json out;
  {
    std::lock_guard lock(mutex_);
    out["provider"] = provider_->name();
    out["localEndpoints"] = engine_->endpointKeys().size();
    out["pods"] = engine_->pods().size();
    out["policies"] = engine_->policies().size();
    out["namespaces"] = engine_->namespaces().size();
    if (!lastError_.empty()) out["lastError"] = lastError_;
  }
  out.update(provider_->status());
  return out;
}

bool PolicyController::allowed(const std::string& from, const std::string& to, uint16_t port,
                               k8s::Protocol protocol) const {
  std::lock_guard lock(mutex_);
  return engine_->verdict(from, to, port, protocol).allowed;
}

}  // namespace cnikit::agent
