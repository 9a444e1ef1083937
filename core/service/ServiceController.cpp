#include "core/service/ServiceController.hpp"

#include <algorithm>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/agent/NodeRecord.hpp"
#include "core/k8s/ObjectKeys.hpp"
#include "core/store/Keys.hpp"

namespace cnikit::service {

using nlohmann::json;

namespace {

bool startsWith(const std::string& s, std::string_view prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool selects(const k8s::Labels& selector, const k8s::Labels& labels) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

std::string namespaceOf(const std::string& key) { return key.substr(0, key.find('/')); }

std::string labelKey(const std::string& ns, const std::string& key, const std::string& value) {
  return ns + "\n" + key + "=" + value;
}

void unindex(std::map<std::string, std::set<std::string>>& index, const std::string& label, const std::string& key) {
  auto it = index.find(label);
  if (it == index.end()) return;
  it->second.erase(key);
  if (it->second.empty()) index.erase(it);
}

}  // namespace

ServiceController::ServiceController(store::Store& store, std::string node, std::unique_ptr<ServiceProvider> provider,
                                     ServiceControllerOptions options)
    : store_(store), node_(std::move(node)), options_(std::move(options)), provider_(std::move(provider)) {
  if (!provider_) throw std::invalid_argument("service controller: no provider");
}

ServiceController::~ServiceController() { stop(); }

void ServiceController::start() {
  store::Revision revision = 0;
  {
    std::lock_guard lock(mutex_);
    loadLocked(revision);
    std::string error;
    if (!program({}, &error)) throw std::runtime_error("services: cannot program this node: " + error);
    spdlog::info("services: {} provider programmed {} service(s)", provider_->name(), table_.size());
  }
  watchFrom(revision);
  background_ = std::thread([this] { background(); });
}

void ServiceController::stop() {
  {
    std::lock_guard lock(wakeMutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (background_.joinable()) background_.join();
  // Never with mutex_ held: destroying a watch waits for its callback, which takes mutex_.
  watches_.clear();
}

void ServiceController::teardown() {
  stop();
  std::lock_guard lock(mutex_);
  provider_->removeAll();
}

void ServiceController::loadLocked(store::Revision& revision) {
  // Revision first: the watch replays what follows it; replaying what the list shows is
  // harmless (every update is idempotent).
  revision = store_.revision();
  services_.clear();
  servicesByLabel_.clear();
  slices_.clear();
  slicesByService_.clear();
  pods_.clear();
  podsByLabel_.clear();
  attachments_.clear();
  attachmentsByPod_.clear();
  nodeAddresses_.clear();
  std::set<std::string> dirty;
  for (auto& kv : store_.list(store::keys::kNodesPrefix)) nodeEvent({store::EventType::Put, std::move(kv)}, dirty);
  for (auto& kv : store_.list(store::keys::kEndpointsPrefix))
    endpointEvent({store::EventType::Put, std::move(kv)}, dirty);
  for (auto kind : {k8s::Kind::Pod, k8s::Kind::Service, k8s::Kind::EndpointSlice})
    for (auto& kv : store_.list(k8s::storePrefix(kind))) objectEvent({store::EventType::Put, std::move(kv)}, dirty);
  table_.clear();
  ServiceChanges ignored;
  std::set<std::string> all;
  for (const auto& [key, s] : services_) all.insert(key);
  recompute(all, ignored);
  needsSync_ = true;
}

void ServiceController::watchFrom(store::Revision revision) {
  for (auto prefix : {std::string(k8s::kObjectsPrefix), std::string(store::keys::kEndpointsPrefix),
                      std::string(store::keys::kNodesPrefix)})
    watches_.push_back(store_.watch(
        prefix, revision, [this](const std::vector<store::Event>& events) { onEvents(events); },
        [this] { onCompacted(); }));
}

void ServiceController::onEvents(const std::vector<store::Event>& events) {
  std::lock_guard lock(mutex_);
  std::set<std::string> dirty;
  for (const auto& e : events) {
    try {
      if (startsWith(e.kv.key, k8s::kObjectsPrefix))
        objectEvent(e, dirty);
      else if (startsWith(e.kv.key, store::keys::kEndpointsPrefix))
        endpointEvent(e, dirty);
      else if (startsWith(e.kv.key, store::keys::kNodesPrefix))
        nodeEvent(e, dirty);
    } catch (const std::exception& ex) {
      spdlog::warn("services: ignoring {}: {}", e.kv.key, ex.what());
    }
  }
  ServiceChanges changes;
  recompute(dirty, changes);
  program(changes);
}

void ServiceController::onCompacted() {
  {
    std::lock_guard lock(mutex_);
    needsRelist_ = true;
  }
  wake_.notify_all();
}

void ServiceController::background() {
  std::unique_lock wakeLock(wakeMutex_);
  while (!stopping_) {
    wake_.wait_for(wakeLock, options_.retryInterval);
    if (stopping_) break;
    wakeLock.unlock();
    bool relist = false;
    {
      std::lock_guard lock(mutex_);
      relist = needsRelist_;
      if (!relist && needsSync_) program({});
    }
    if (relist) {
      // The watch lost history (compaction): list again and watch from there.
      watches_.clear();
      store::Revision revision = 0;
      bool loaded = false;
      {
        std::lock_guard lock(mutex_);
        try {
          loadLocked(revision);
          needsRelist_ = false;
          loaded = true;
          program({});
        } catch (const std::exception& e) {
          lastError_ = std::string("relisting the store: ") + e.what();
          spdlog::warn("services: {}", lastError_);
        }
      }
      if (loaded) watchFrom(revision);
    }
    wakeLock.lock();
  }
}

void ServiceController::objectEvent(const store::Event& e, std::set<std::string>& dirty) {
  auto ref = k8s::refFromStoreKey(e.kv.key);
  if (!ref) return;
  const std::string key = ref->ns + "/" + ref->name;
  const bool put = e.type == store::EventType::Put;
  json object;
  if (put) {
    object = json::parse(e.kv.value, nullptr, false);
    if (object.is_discarded()) throw std::invalid_argument("not JSON");
  }
  switch (ref->kind) {
    case k8s::Kind::Service: {
      if (auto old = services_.find(key); old != services_.end()) {
        if (old->second.selector)
          unindex(servicesByLabel_,
                  labelKey(ref->ns, old->second.selector->begin()->first, old->second.selector->begin()->second), key);
        services_.erase(old);
      }
      if (put) {
        auto spec = k8s::serviceFromJson(object);
        if (spec.selector)  // never empty: an empty selector decodes as none
          servicesByLabel_[labelKey(ref->ns, spec.selector->begin()->first, spec.selector->begin()->second)].insert(
              key);
        services_[key] = std::move(spec);
      }
      dirty.insert(key);
      break;
    }
    case k8s::Kind::EndpointSlice: {
      if (auto old = slices_.find(key); old != slices_.end()) {
        std::string service = ref->ns + "/" + old->second.serviceName;
        slicesByService_[service].erase(key);
        dirty.insert(service);
        slices_.erase(old);
      }
      if (put) {
        auto slice = k8s::endpointSliceFromJson(object);
        if (!slice.serviceName.empty()) {
          std::string service = ref->ns + "/" + slice.serviceName;
          slicesByService_[service].insert(key);
          dirty.insert(service);
        }
        slices_[key] = std::move(slice);
      }
      break;
    }
    case k8s::Kind::Pod: {
      std::optional<k8s::Labels> oldLabels;
      if (auto old = pods_.find(key); old != pods_.end()) {
        oldLabels = old->second.labels;
        for (const auto& [k, v] : old->second.labels) unindex(podsByLabel_, labelKey(ref->ns, k, v), key);
        pods_.erase(old);
      }
      if (put) {
        auto pod = k8s::podFromJson(object);
        for (const auto& [k, v] : pod.labels) podsByLabel_[labelKey(ref->ns, k, v)].insert(key);
        pods_[key] = std::move(pod);
      }
      podServices(key, oldLabels ? &*oldLabels : nullptr, dirty);
      break;
    }
    case k8s::Kind::Namespace:
    case k8s::Kind::NetworkPolicy: break;  // not the business of services
  }
}

void ServiceController::endpointEvent(const store::Event& e, std::set<std::string>& dirty) {
  if (auto old = attachments_.find(e.kv.key); old != attachments_.end()) {
    std::string podKey = old->second.podKey;
    attachmentsByPod_[podKey].erase(e.kv.key);
    if (attachmentsByPod_[podKey].empty()) attachmentsByPod_.erase(podKey);
    attachments_.erase(old);
    podServices(podKey, nullptr, dirty);
  }
  if (e.type != store::EventType::Put) return;
  auto record = json::parse(e.kv.value, nullptr, false);
  if (!record.is_object()) return;
  PodAttachment a;
  a.node = store::keys::endpointNodeOf(e.kv.key);
  std::string ns = record.value("podNamespace", ""), name = record.value("podName", "");
  if (ns.empty() || name.empty()) return;  // not a Kubernetes pod
  a.podKey = ns + "/" + name;
  for (const auto& address : record.value("addresses", std::vector<std::string>{}))
    a.ips.push_back(address.substr(0, address.find('/')));
  attachmentsByPod_[a.podKey].insert(e.kv.key);
  std::string podKey = a.podKey;
  attachments_[e.kv.key] = std::move(a);
  podServices(podKey, nullptr, dirty);
}

void ServiceController::nodeEvent(const store::Event& e, std::set<std::string>& dirty) {
  auto name = store::keys::nodeNameOf(e.kv.key);
  if (!name) return;
  const bool wasAlive = nodeAddresses_.count(*name) > 0;
  if (e.type == store::EventType::Delete) {
    nodeAddresses_.erase(*name);
  } else {
    std::vector<std::string> addresses;
    if (auto record = agent::parseNodeRecord(e.kv.value)) {
      if (!record->underlayIpv4.empty()) addresses.push_back(record->underlayIpv4);
      if (!record->underlayIpv6.empty()) addresses.push_back(record->underlayIpv6);
    }
    nodeAddresses_[*name] = addresses;
  }
  if (wasAlive == (nodeAddresses_.count(*name) > 0)) return;
  // Liveness changed: the readiness of every pod on that node.
  for (const auto& [podKey, pod] : pods_)
    if (nodeOfPod(podKey) == *name) podServices(podKey, nullptr, dirty);
}

void ServiceController::podServices(const std::string& podKey, const k8s::Labels* oldLabels,
                                    std::set<std::string>& dirty) const {
  const std::string ns = namespaceOf(podKey);
  auto pod = pods_.find(podKey);
  // Candidates: the Services indexed under one of the pod's (old or new) labels.
  std::set<std::string> candidates;
  auto collect = [&](const k8s::Labels& labels) {
    for (const auto& [k, v] : labels)
      if (auto it = servicesByLabel_.find(labelKey(ns, k, v)); it != servicesByLabel_.end())
        candidates.insert(it->second.begin(), it->second.end());
  };
  if (pod != pods_.end()) collect(pod->second.labels);
  if (oldLabels) collect(*oldLabels);
  for (const auto& serviceKey : candidates) {
    const auto& selector = *services_.at(serviceKey).selector;
    if ((pod != pods_.end() && selects(selector, pod->second.labels)) || (oldLabels && selects(selector, *oldLabels)))
      dirty.insert(serviceKey);
  }
}

std::string ServiceController::nodeOfPod(const std::string& podKey) const {
  if (auto it = attachmentsByPod_.find(podKey); it != attachmentsByPod_.end() && !it->second.empty())
    return attachments_.at(*it->second.begin()).node;
  auto pod = pods_.find(podKey);
  return pod == pods_.end() ? "" : pod->second.nodeName;
}

std::vector<std::string> ServiceController::addressesOfPod(const std::string& podKey) const {
  std::vector<std::string> ips;
  if (auto it = attachmentsByPod_.find(podKey); it != attachmentsByPod_.end())
    for (const auto& key : it->second)
      for (const auto& ip : attachments_.at(key).ips) ips.push_back(ip);
  if (ips.empty())
    if (auto pod = pods_.find(podKey); pod != pods_.end()) ips = pod->second.ips;
  std::sort(ips.begin(), ips.end());
  ips.erase(std::unique(ips.begin(), ips.end()), ips.end());
  return ips;
}

std::optional<Service> ServiceController::build(const std::string& serviceKey) const {
  auto it = services_.find(serviceKey);
  if (it == services_.end() || it->second.headless()) return std::nullopt;  // headless: nothing, as kube-proxy
  const k8s::ServiceSpec& s = it->second;
  Service out;
  out.ns = s.ns;
  out.name = s.name;
  out.clusterIPs = s.clusterIPs;
  out.loadBalancerIPs = s.type == k8s::ServiceType::LoadBalancer ? s.loadBalancerIPs : std::vector<std::string>{};
  out.clientIpAffinity = s.clientIpAffinity;
  out.affinityTimeoutSeconds = s.affinityTimeoutSeconds;
  out.internalTrafficPolicy = s.internalTrafficLocal ? TrafficPolicy::Local : TrafficPolicy::Cluster;
  out.externalTrafficPolicy = s.externalTrafficLocal ? TrafficPolicy::Local : TrafficPolicy::Cluster;
  for (const auto& spec : s.ports) {
    ServicePort port;
    port.name = spec.name;
    port.protocol = spec.protocol;
    port.port = spec.port;
    port.nodePort = s.type == k8s::ServiceType::ClusterIP ? 0 : spec.nodePort;
    if (s.selector) {
      // The pods under the rarest label of the selector, then the whole selector.
      const std::set<std::string>* pods = nullptr;
      static const std::set<std::string> kNone;
      for (const auto& [k, v] : *s.selector) {
        auto it = podsByLabel_.find(labelKey(s.ns, k, v));
        const auto* candidates = it == podsByLabel_.end() ? &kNone : &it->second;
        if (!pods || candidates->size() < pods->size()) pods = candidates;
      }
      if (pods)
        for (const auto& podKey : *pods) {
          const k8s::Pod& pod = pods_.at(podKey);
          if (!selects(*s.selector, pod.labels)) continue;
          std::optional<uint16_t> target;
          if (auto* number = std::get_if<uint16_t>(&spec.targetPort))
            target = *number;
          else
            target = pod.namedPort(std::get<std::string>(spec.targetPort), spec.protocol);
          if (!target) continue;  // this pod lacks the named port
          const std::string node = nodeOfPod(podKey);
          const bool ready = !node.empty() && nodeAddresses_.count(node) > 0;
          for (const auto& ip : addressesOfPod(podKey))
            port.backends.push_back({ip, *target, podKey, node, node == node_, ready});
        }
    } else if (auto slices = slicesByService_.find(serviceKey); slices != slicesByService_.end()) {
      for (const auto& sliceKey : slices->second) {
        const k8s::EndpointSlice& slice = slices_.at(sliceKey);
        std::optional<uint16_t> target;
        for (const auto& p : slice.ports)
          if (p.name == spec.name && p.protocol == spec.protocol) target = p.port;
        if (!target) continue;
        for (const auto& e : slice.endpoints) {
          if (e.addresses.empty()) continue;
          std::string pod;
          if (e.targetKind == "Pod" && !e.targetName.empty())
            pod = (e.targetNamespace.empty() ? s.ns : e.targetNamespace) + "/" + e.targetName;
          // Addresses of one endpoint are fungible: the first one serves (as kube-proxy does).
          port.backends.push_back({e.addresses[0], *target, pod, e.nodeName, !e.nodeName.empty() && e.nodeName == node_,
                                   e.ready.value_or(true)});
        }
      }
    }
    std::sort(port.backends.begin(), port.backends.end());
    port.backends.erase(std::unique(port.backends.begin(), port.backends.end()), port.backends.end());
    out.ports.push_back(std::move(port));
  }
  return out;
}

void ServiceController::recompute(const std::set<std::string>& keys, ServiceChanges& changes) {
  for (const auto& key : keys) {
    auto built = build(key);
    auto current = table_.find(key);
    if (!built) {
      if (current != table_.end()) {
        table_.erase(current);
        changes.insert(key);
      }
      continue;
    }
    if (current != table_.end() && current->second == *built) continue;
    table_[key] = std::move(*built);
    changes.insert(key);
  }
}

NodeContext ServiceController::nodeContext() const {
  std::lock_guard lock(mutex_);
  NodeContext node;
  node.name = node_;
  if (auto it = nodeAddresses_.find(node_); it != nodeAddresses_.end()) node.nodeAddresses = it->second;
  node.podCidrs = options_.podCidrs;
  return node;
}

bool ServiceController::program(const ServiceChanges& changes, std::string* error) {
  NodeContext node;
  node.name = node_;
  if (auto it = nodeAddresses_.find(node_); it != nodeAddresses_.end()) node.nodeAddresses = it->second;
  node.podCidrs = options_.podCidrs;
  if (node != programmedNode_) needsSync_ = true;  // NodePorts listen on other addresses now
  if (changes.empty() && !needsSync_) return true;
  try {
    if (needsSync_)
      provider_->sync(node, table_);
    else
      provider_->apply(node, table_, changes);
    programmedNode_ = node;
    needsSync_ = false;
    lastError_.clear();
    return true;
  } catch (const std::exception& e) {
    lastError_ = e.what();
    needsSync_ = true;  // the background thread retries with a full sync
    spdlog::error("services: programming {} failed (retrying): {}", provider_->name(), lastError_);
    if (error) *error = lastError_;
    wake_.notify_all();
    return false;
  }
}

json ServiceController::status() const {
  json out;
  {
    std::lock_guard lock(mutex_);
    size_t backends = 0, ready = 0;
    for (const auto& [key, s] : table_)
      for (const auto& p : s.ports)
        for (const auto& b : p.backends) {
          ++backends;
          ready += b.ready;
        }
    out["provider"] = provider_->name();
    out["services"] = table_.size();
    out["backends"] = backends;
    out["readyBackends"] = ready;
    if (!lastError_.empty()) out["lastError"] = lastError_;
  }
  out.update(provider_->status());
  return out;
}

ServiceTable ServiceController::table() const {
  std::lock_guard lock(mutex_);
  return table_;
}

json ServiceController::explain(const std::string& serviceKey) const { return provider_->explain(serviceKey); }

}  // namespace cnikit::service
