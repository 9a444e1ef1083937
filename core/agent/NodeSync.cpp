#include "core/agent/NodeSync.hpp"

#include <fstream>

#include <spdlog/spdlog.h>

#include "core/store/Keys.hpp"

namespace cnikit::agent {

using nlohmann::json;

namespace {

std::string programmedFile(const AgentConfig& config) { return (config.stateDir / "programmed-nodes.json").string(); }

}  // namespace

NodeSync::NodeSync(const AgentConfig& config, store::Store& store, ipam::Ipam& ipam, const BackendMap& backends,
                   plugin::Underlay underlay)
    : config_(config), store_(store), ipam_(ipam), backends_(backends), underlay_(std::move(underlay)) {
  // Nodes this agent programmed before a restart: the first reconcile removes those that
  // are gone from the store and re-asserts the others.
  std::ifstream in(programmedFile(config_));
  auto saved = json::parse(in, nullptr, false);
  if (saved.is_array())
    for (const auto& name : saved)
      if (name.is_string()) programmed_[name.get<std::string>()] = "";
}

NodeSync::~NodeSync() { stop(); }

void NodeSync::start() {
  thread_ = std::thread([this] { run(); });
}

void NodeSync::stop() {
  stopping_ = true;
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  watch_.reset();
}

void NodeSync::leave() {
  stop();
  store::LeaseId lease;
  {
    std::lock_guard lock(mutex_);
    lease = lease_;
    lease_ = 0;
  }
  if (lease != 0)
    store_.revokeLease(lease);
  else
    store_.remove(store::keys::node(config_.node));
}

void NodeSync::reprogramAll() {
  std::lock_guard lock(mutex_);
  for (auto& [name, text] : programmed_) text.clear();
  dirty_ = true;
  wake_.notify_all();
}

void NodeSync::markDirty() {
  std::lock_guard lock(mutex_);
  dirty_ = true;
  wake_.notify_all();
}

void NodeSync::registerNode() {
  auto lease = store_.grantLease(std::chrono::seconds(config_.nodeLeaseTtlSeconds));
  NodeRecord record{config_.node,
                    underlay_.ipv4,
                    underlay_.ipv6,
                    config_.nodeLabels,
                    {},
                    {},
                    underlay_.ipv4PrefixLength,
                    underlay_.ipv6PrefixLength};
  NodeSubnets claimed;
  for (const auto& pool : config_.pools) {
    claimed[pool.name] = ipam_.ensureNodeSubnets(pool, lease);
    auto& list = record.subnets[pool.name];
    for (const auto& subnet : claimed[pool.name]) list.push_back(subnet.str());
  }
  if (localSubnets_) localSubnets_(claimed);
  for (const auto& [name, backend] : backends_) {
    auto data = json::parse(backend->localNodeData(), nullptr, false);
    record.backends[name] = data.is_discarded() ? json::object() : data;
  }
  store_.put(store::keys::node(config_.node), json(record).dump(), lease);
  std::lock_guard lock(mutex_);
  lease_ = lease;
  spdlog::info("node {} registered (lease {}, ttl {}s): {}", config_.node, lease, config_.nodeLeaseTtlSeconds,
               json(record.subnets).dump());
}

void NodeSync::startWatch() {
  watch_.reset();
  {
    std::lock_guard lock(mutex_);
    watchBroken_ = false;
  }
  watch_ = store_.watch(
      store::keys::kNodesPrefix, store_.revision(), [this](const std::vector<store::Event>&) { markDirty(); },
      [this] {
        std::lock_guard lock(mutex_);
        watchBroken_ = true;
        dirty_ = true;
        wake_.notify_all();
      });
}

void NodeSync::reconcile() {
  std::map<std::string, NodeRecord> records;
  std::map<std::string, std::string> texts;
  for (const auto& kv : store_.list(store::keys::kNodesPrefix)) {
    auto name = store::keys::nodeNameOf(kv.key);
    if (!name || *name == config_.node) continue;
    auto record = parseNodeRecord(kv.value);
    if (!record) continue;
    records[*name] = *record;
    texts[*name] = kv.value;
  }

  std::map<std::string, std::string> programmed;
  {
    std::lock_guard lock(mutex_);
    programmed = programmed_;
  }
  std::map<std::string, std::string> errors;
  for (const auto& [name, record] : records) {
    auto it = programmed.find(name);
    if (it != programmed.end() && it->second == texts[name]) continue;
    bool ok = true;
    for (const auto& [instance, backend] : backends_) {
      if (!backend->supportsNodes()) continue;
      plugin::NodeInfo info;
      info.name = name;
      info.underlayIpv4 = record.underlayIpv4;
      info.underlayIpv6 = record.underlayIpv6;
      for (const auto& pool : config_.pools) {
        auto subnets = record.subnets.find(pool.name);
        if (pool.backend != instance || subnets == record.subnets.end()) continue;
        info.subnets.insert(info.subnets.end(), subnets->second.begin(), subnets->second.end());
      }
      auto data = record.backends.find(instance);
      info.backendDataJson = data != record.backends.end() ? data->second.dump() : "{}";
      info.labelsJson = json(record.labels).dump();
      info.underlayIpv4PrefixLength = record.underlayIpv4PrefixLength;
      info.underlayIpv6PrefixLength = record.underlayIpv6PrefixLength;
      try {
        backend->nodeUpsert(info);
      } catch (const plugin::BackendError& e) {
        ok = false;
        errors[name] = e.what();
        spdlog::warn("node {}: {}", name, e.what());
      }
    }
    // A failed node is retried at the next resync (its text is not remembered).
    programmed[name] = ok ? texts[name] : "";
    if (ok) spdlog::info("node {} programmed ({})", name, record.underlayIpv4);
  }
  for (auto it = programmed.begin(); it != programmed.end();) {
    if (records.count(it->first)) {
      ++it;
      continue;
    }
    for (const auto& [instance, backend] : backends_) {
      try {
        backend->nodeRemove(it->first);
      } catch (const plugin::BackendError& e) {
        spdlog::warn("node {} removal: {}", it->first, e.what());
      }
    }
    spdlog::info("node {} is gone: its routes were withdrawn", it->first);
    it = programmed.erase(it);
  }
  {
    std::lock_guard lock(mutex_);
    programmed_ = programmed;
    nodeErrors_ = errors;
    lastResync_ = std::chrono::system_clock::now();
  }
  saveProgrammed();
}

void NodeSync::saveProgrammed() {
  json names = json::array();
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, text] : programmed_) names.push_back(name);
  }
  std::string tmp = programmedFile(config_) + ".tmp";
  std::ofstream(tmp) << names.dump();
  std::filesystem::rename(tmp, programmedFile(config_));
}

void NodeSync::run() {
  using clock = std::chrono::steady_clock;
  auto backoff = std::chrono::milliseconds(100);
  auto keepAliveEvery = std::chrono::milliseconds(config_.nodeLeaseTtlSeconds * 1000 / 3);
  auto nextKeepAlive = clock::now();
  auto nextResync = clock::now();
  while (!stopping_) {
    try {
      if (lease_ == 0) {
        registerNode();
        startWatch();
        nextKeepAlive = clock::now() + keepAliveEvery;
        markDirty();
      }
      if (clock::now() >= nextKeepAlive) {
        if (!store_.keepAlive(lease_)) {
          spdlog::warn("node lease {} expired: registering again", lease_);
          std::lock_guard lock(mutex_);
          lease_ = 0;
          continue;
        }
        nextKeepAlive = clock::now() + keepAliveEvery;
      }
      bool rewatch, resync;
      {
        std::lock_guard lock(mutex_);
        rewatch = watchBroken_;
        resync = dirty_ || clock::now() >= nextResync;
        dirty_ = false;
      }
      if (rewatch) startWatch();
      if (resync) {
        reconcile();
        nextResync = clock::now() + std::chrono::seconds(config_.resyncSeconds);
      }
      {
        std::lock_guard lock(mutex_);
        if (!storeError_.empty()) spdlog::info("cluster store reachable again");
        storeError_.clear();
      }
      backoff = std::chrono::milliseconds(100);
    } catch (const store::StoreUnavailable& e) {
      {
        std::lock_guard lock(mutex_);
        if (storeError_.empty()) {
          storeErrorSince_ = std::chrono::system_clock::now();
          spdlog::warn("cluster store unavailable, keeping the datapath as it is: {}", e.what());
        }
        storeError_ = e.what();
        dirty_ = true;  // resync once it is back
      }
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, backoff, [&] { return stopping_.load(); });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    } catch (const std::exception& e) {
      spdlog::error("node sync: {}", e.what());
      std::lock_guard lock(mutex_);
      dirty_ = true;
    }
    std::unique_lock lock(mutex_);
    auto until = std::min(nextKeepAlive, nextResync);
    wake_.wait_until(lock, until, [&] { return stopping_ || dirty_ || watchBroken_; });
  }
}

json NodeSync::status() {
  std::lock_guard lock(mutex_);
  json nodes = json::array();
  for (const auto& [name, text] : programmed_) {
    // The record last programmed, with the outcome beside it.
    json entry = parseNodeRecord(text).value_or(NodeRecord{name, "", "", {}, {}, {}});
    entry["programmed"] = !text.empty();
    if (nodeErrors_.count(name)) entry["error"] = nodeErrors_.at(name);
    nodes.push_back(entry);
  }
  json out = {{"registered", lease_ != 0},
              {"lease", lease_},
              {"underlay",
               {{"interface", underlay_.interface},
                {"ipv4", underlay_.ipv4},
                {"ipv6", underlay_.ipv6},
                {"mtu", underlay_.mtu}}},
              {"remoteNodes", nodes}};
  if (!storeError_.empty()) {
    out["storeError"] = storeError_;
    out["storeErrorSince"] =
        std::chrono::duration_cast<std::chrono::seconds>(storeErrorSince_.time_since_epoch()).count();
  }
  return out;
}

}  // namespace cnikit::agent
