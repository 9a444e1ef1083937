#include "core/service/LoadBalancerAnnouncer.hpp"

#include <sys/socket.h>

#include <algorithm>

#include <stdexcept>

#include <spdlog/spdlog.h>
#include <cnikit/toolkit/Address.hpp>
#include <cnikit/toolkit/IpPrefix.hpp>
#include <cnikit/toolkit/Link.hpp>
#include <cnikit/toolkit/NetnsGuard.hpp>

#include "core/policy/StableHash.hpp"
#include "core/service/NeighbourAnnouncement.hpp"
#include "core/store/Keys.hpp"

namespace cnikit::service {

using nlohmann::json;

namespace {

// The address as a full-length prefix ("10.250.200.1/32").
toolkit::IpPrefix hostPrefix(const std::string& address) {
  return toolkit::IpPrefix::host(toolkit::IpAddress::parse(address).value());
}

}  // namespace

LoadBalancerAnnouncer::LoadBalancerAnnouncer(LoadBalancerAnnouncerOptions options)
    : options_(std::move(options)), netns_(toolkit::Netns::current().value()) {
  if (options_.interface.empty()) throw std::runtime_error("load-balancer announcer: no underlay interface");
  netlink_ = std::make_unique<toolkit::NetlinkSocket>(toolkit::NetlinkSocket::open().value());
  toolkit::getLink(*netlink_, options_.interface).value();  // names the interface when missing
  for (const auto& pool : options_.pools) {
    auto prefix = toolkit::IpPrefix::tryParse(pool);
    if (!prefix) throw std::invalid_argument("load-balancer announcer: pool '" + pool + "' is not a CIDR");
    pools_.push_back(*prefix);
  }
}

LoadBalancerAnnouncer::~LoadBalancerAnnouncer() {
  // The watch callback takes mutex_; stop it first. Held addresses stay (the datapath
  // outlives the agent); the next run takes them over.
  nodeWatch_.reset();
}

std::string LoadBalancerAnnouncer::holderOf(const std::string& address, const std::set<std::string>& candidates) {
  std::string best;
  std::string bestHash;
  for (const auto& node : candidates) {
    auto hash = policy::stableHashHex(address + "\n" + node);
    if (best.empty() || hash > bestHash) {
      best = node;
      bestHash = std::move(hash);
    }
  }
  return best;
}

void LoadBalancerAnnouncer::watchNodes(store::Store& store) {
  auto load = [this, &store] {
    std::set<std::string> nodes;
    for (const auto& kv : store.list(store::keys::kNodesPrefix)) {
      if (auto name = store::keys::nodeNameOf(kv.key)) nodes.insert(*name);
    }
    return nodes;
  };
  auto revision = store.revision();
  setLiveNodes(load());
  nodeWatch_ = store.watch(
      store::keys::kNodesPrefix, revision,
      [this](const std::vector<store::Event>& events) {
        std::lock_guard lock(mutex_);
        auto before = liveNodes_;
        for (const auto& e : events) {
          auto name = store::keys::nodeNameOf(e.kv.key);
          if (!name) continue;
          if (e.type == store::EventType::Delete)
            liveNodes_.erase(*name);
          else
            liveNodes_.insert(*name);
        }
        if (liveNodes_ != before) reconcileLocked();
      },
      [this, load] { setLiveNodes(load()); });
}

void LoadBalancerAnnouncer::setLiveNodes(std::set<std::string> nodes) {
  std::lock_guard lock(mutex_);
  liveNodes_ = std::move(nodes);
  reconcileLocked();
}

void LoadBalancerAnnouncer::sync(const NodeContext&, const ServiceTable& table) {
  std::lock_guard lock(mutex_);
  takeTable(table);
  reconcileLocked();
  if (!lastError_.empty()) throw std::runtime_error(lastError_);
}

void LoadBalancerAnnouncer::apply(const NodeContext& node, const ServiceTable& table, const ServiceChanges& changed) {
  // Only Services with (or that had) load-balancer addresses matter; the table is small.
  bool relevant = false;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [address, entry] : addresses_) relevant = relevant || changed.count(entry.service) > 0;
  }
  for (const auto& key : changed) {
    auto it = table.find(key);
    relevant = relevant || (it != table.end() && !it->second.loadBalancerIPs.empty());
  }
  if (relevant) sync(node, table);
}

void LoadBalancerAnnouncer::takeTable(const ServiceTable& table) {
  addresses_.clear();
  for (const auto& [key, service] : table) {
    for (const auto& ip : service.loadBalancerIPs) {
      Address& entry = addresses_[ip];
      entry.service = key;
      entry.local = service.externalTrafficPolicy == TrafficPolicy::Local;
      const bool v4 = ip.find(':') == std::string::npos;
      for (const auto& port : service.ports) {
        for (const auto& backend : port.backends) {
          const bool backendV4 = backend.address.find(':') == std::string::npos;
          if (backend.ready && backendV4 == v4 && !backend.node.empty()) entry.backendNodes.insert(backend.node);
        }
      }
    }
  }
}

std::set<std::string> LoadBalancerAnnouncer::candidatesLocked(const Address& address) const {
  if (address.local) {
    std::set<std::string> withBackend;
    for (const auto& node : address.backendNodes) {
      if (liveNodes_.count(node)) withBackend.insert(node);
    }
    if (!withBackend.empty()) return withBackend;
  }
  return liveNodes_;
}

bool LoadBalancerAnnouncer::inPools(const toolkit::IpAddress& address) const {
  return std::any_of(pools_.begin(), pools_.end(), [&](const auto& pool) { return pool.contains(address); });
}

void LoadBalancerAnnouncer::reconcileLocked() {
  std::set<std::string> desired;
  for (const auto& [ip, entry] : addresses_) {
    if (holderOf(ip, candidatesLocked(entry)) == options_.node) desired.insert(ip);
  }
  std::string error;
  auto fail = [&error](const std::string& what) {
    if (error.empty()) error = what;
    spdlog::warn("load-balancer announcer: {}", what);
  };
  auto link = toolkit::getLink(*netlink_, options_.interface);
  if (!link) {
    lastError_ = link.error().message;
    return;
  }
  // What is on the interface now: full-length addresses inside the pools are ours.
  std::set<std::string> present;
  if (auto list = toolkit::listAddresses(*netlink_, link->index)) {
    for (const auto& info : *list) {
      const auto& address = info.prefix.address();
      if (info.prefix.prefixLength() == address.bits() && inPools(address)) present.insert(address.str());
    }
  } else {
    fail(list.error().message);
  }
  for (const auto& ip : desired) {
    const bool isNew = !present.count(ip);
    if (isNew) {
      if (auto added = toolkit::addAddress(*netlink_, link->index, hostPrefix(ip)); !added) {
        fail(added.error().message);
        continue;
      }
      spdlog::info("load-balancer announcer: holding {} on {}", ip, options_.interface);
    }
    if (isNew || !held_.count(ip)) {
      // Sockets are made in the node's namespace, whichever thread reconciles.
      auto sent = toolkit::inNetns(netns_, [&] { return announceAddress(link->index, link->mac, ip); });
      if (!sent) fail(sent.error().message);
    }
  }
  for (const auto& ip : present) {
    if (desired.count(ip)) continue;
    if (auto removed = toolkit::deleteAddress(*netlink_, link->index, hostPrefix(ip)); !removed) {
      fail(removed.error().message);
      continue;
    }
    spdlog::info("load-balancer announcer: released {} on {}", ip, options_.interface);
  }
  held_ = std::move(desired);
  lastError_ = error;
}

void LoadBalancerAnnouncer::removeAll() {
  nodeWatch_.reset();
  std::lock_guard lock(mutex_);
  addresses_.clear();
  reconcileLocked();  // nothing is desired: every pool address on the interface goes
  if (!lastError_.empty()) throw std::runtime_error(lastError_);
}

std::set<std::string> LoadBalancerAnnouncer::heldAddresses() const {
  std::lock_guard lock(mutex_);
  return held_;
}

json LoadBalancerAnnouncer::status() const {
  std::lock_guard lock(mutex_);
  json addresses = json::object();
  for (const auto& [ip, entry] : addresses_) addresses[ip] = holderOf(ip, candidatesLocked(entry));
  return {{"interface", options_.interface},
          {"held", held_},
          {"addresses", addresses},
          {"liveNodes", liveNodes_},
          {"lastError", lastError_}};
}

json LoadBalancerAnnouncer::explain(const std::string& serviceKey) const {
  std::lock_guard lock(mutex_);
  json out = json::array();
  for (const auto& [ip, entry] : addresses_) {
    if (entry.service != serviceKey) continue;
    auto candidates = candidatesLocked(entry);
    out.push_back({{"ip", ip}, {"holder", holderOf(ip, candidates)}, {"candidates", candidates}});
  }
  if (out.empty()) return nullptr;
  return {{"loadBalancerIPs", out}};
}

}  // namespace cnikit::service
