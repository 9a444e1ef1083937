#include "core/ipam/Ipam.hpp"

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "core/ipam/IpamKeys.hpp"

namespace cnikit::ipam {

using toolkit::HostBits;
using toolkit::IpAddress;
using toolkit::IpPrefix;

namespace {

using json = nlohmann::json;
using U128 = unsigned __int128;

// Candidates looked up by key before allocateOne lists the whole subnet instead.
constexpr int kProbesBeforeScan = 8;
// Allocations per subnet between two saves of the round-robin mark to the store.
constexpr int kMarkSaveEvery = 8;

U128 toInt(const IpAddress& ip) { return ip.toInteger(); }

IpAddress fromInt(U128 value, bool v4) { return IpAddress::fromInteger(v4 ? AF_INET : AF_INET6, value); }

bool validName(std::string_view name) {
  return !name.empty() && name.find('/') == std::string_view::npos && name != "." && name != "..";
}

std::string family(bool v4) { return v4 ? "IPv4" : "IPv6"; }

// What an address key holds.
std::string recordJson(const Allocation& a) {
  return json{{"containerId", a.containerId},
              {"ifname", a.ifname},
              {"node", a.node},
              {"subnet", a.subnet.str()},
              {"poolCidr", a.poolCidr.str()},
              {"podNamespace", a.podNamespace},
              {"podName", a.podName},
              {"netns", a.netns}}
      .dump();
}

std::optional<Allocation> parseRecord(const std::string& pool, const IpAddress& ip, const std::string& value) {
  auto j = json::parse(value, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  Allocation a;
  a.pool = pool;
  a.address = ip;
  a.containerId = j.value("containerId", "");
  a.ifname = j.value("ifname", "");
  a.node = j.value("node", "");
  a.podNamespace = j.value("podNamespace", "");
  a.podName = j.value("podName", "");
  a.netns = j.value("netns", "");
  auto subnet = IpPrefix::tryParse(j.value("subnet", ""), {.hostBits = HostBits::Refuse});
  if (!subnet || !subnet->contains(ip)) return std::nullopt;
  a.subnet = *subnet;
  a.poolCidr = IpPrefix::tryParse(j.value("poolCidr", ""), {.hostBits = HostBits::Refuse}).value_or(*subnet);
  a.gateway = subnet->network().offset(1);
  return a;
}

// "<pool>/<ip>" as listed in a handle.
std::string handleEntry(const std::string& pool, const IpAddress& ip) { return pool + "/" + keys::ipText(ip); }

std::optional<std::pair<std::string, IpAddress>> parseHandleEntry(const std::string& entry) {
  auto slash = entry.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto ip = IpAddress::tryParse(std::string_view(entry).substr(slash + 1));
  if (!ip) return std::nullopt;
  return std::make_pair(entry.substr(0, slash), *ip);
}

std::vector<std::string> parseHandle(const std::string& value) {
  std::vector<std::string> out;
  auto j = json::parse(value, nullptr, false);
  if (!j.is_object() || !j.contains("addresses") || !j["addresses"].is_array()) return out;
  for (const auto& e : j["addresses"]) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

std::string handleJson(const std::vector<Allocation>& allocations) {
  json list = json::array();
  for (const auto& a : allocations) list.push_back(handleEntry(a.pool, a.address));
  return json{{"addresses", list}}.dump();
}

std::optional<std::string> subnetOwner(const std::string& value) {
  auto j = json::parse(value, nullptr, false);
  if (!j.is_object() || !j.contains("node") || !j["node"].is_string()) return std::nullopt;
  return j["node"].get<std::string>();
}

bool owns(const Allocation& a, const std::string& node, const std::string& containerId, const std::string& ifname) {
  return a.node == node && a.containerId == containerId && a.ifname == ifname;
}

// Usable range of a node subnet: after the network address and the gateway; before the
// IPv4 broadcast.
struct HostRange {
  U128 first;
  U128 last;
};

HostRange hostRange(const IpPrefix& subnet) {
  U128 net = toInt(subnet.network());
  U128 top = toInt(subnet.last());
  return {net + 2, subnet.isV4() ? top - 1 : top};
}

// Why ip cannot be handed out, or empty.
std::string reservedReason(const PoolConfig& pool, const IpPrefix& subnet, const IpAddress& ip) {
  if (ip == subnet.network()) return "the network address of " + subnet.str();
  if (ip == subnet.network().offset(1)) return "the gateway of " + subnet.str();
  if (subnet.isV4() && ip == subnet.last()) return "the broadcast address of " + subnet.str();
  for (const auto& range : pool.exclude) {
    if (range.contains(ip)) return "excluded by pool '" + pool.name + "' (" + range.str() + ")";
  }
  return "";
}

// Address keys (and values) in subnet.
std::vector<std::pair<IpAddress, store::KeyValue>> scanSubnet(store::Store& store, const std::string& pool,
                                                              const IpPrefix& subnet) {
  std::vector<std::pair<IpAddress, store::KeyValue>> out;
  size_t skip = keys::addressPrefix(pool).size();
  for (const auto& prefix : keys::addressScanPrefixes(pool, subnet)) {
    for (auto& kv : store.list(prefix)) {
      auto ip = IpAddress::tryParse(std::string_view(kv.key).substr(skip));
      if (ip && subnet.contains(*ip)) out.emplace_back(*ip, std::move(kv));
    }
  }
  return out;
}

void validateIds(const AllocateRequest& request) {
  if (!validName(request.containerId)) {
    throw IpamError(IpamError::Kind::InvalidConfig,
                    "containerId '" + request.containerId + "' is empty or contains '/'");
  }
  if (!validName(request.ifname)) {
    throw IpamError(IpamError::Kind::InvalidConfig, "ifname '" + request.ifname + "' is empty or contains '/'");
  }
}

void validate(const PoolConfig& pool) {
  try {
    validatePool(pool);
  } catch (const std::invalid_argument& e) {
    throw IpamError(IpamError::Kind::InvalidConfig, e.what());
  }
}

}  // namespace

Ipam::Ipam(store::Store& store, std::string node) : store_(store), node_(std::move(node)) {
  if (!validName(node_)) throw std::invalid_argument("ipam: node name '" + node_ + "' is empty or contains '/'");
}

std::vector<IpPrefix> Ipam::ensureNodeSubnets(const PoolConfig& pool, store::LeaseId lease) {
  validate(pool);
  std::lock_guard claimLock(claimMutex_);
  std::string value = json{{"node", node_}}.dump();
  std::vector<IpPrefix> result;
  auto claimed = store_.list(keys::subnetPrefix(pool.name));
  size_t skip = keys::subnetPrefix(pool.name).size();
  for (const auto& cidr : pool.cidrs) {
    int nodePrefix = cidr.isV4() ? pool.nodeSubnetPrefixV4 : pool.nodeSubnetPrefixV6;
    std::optional<IpPrefix> mine;
    std::vector<IpPrefix> taken;
    for (const auto& kv : claimed) {
      auto subnet = keys::parseCidrText(std::string_view(kv.key).substr(skip));
      if (!subnet || !cidr.contains(*subnet)) continue;
      taken.push_back(*subnet);
      if (mine || subnetOwner(kv.value) != node_) continue;
      mine = *subnet;
      // A restarted agent brings a new lease: move the claim onto it.
      if (lease != 0 && kv.lease != lease && !store_.compareAndSwap(kv.key, kv.modRevision, kv.value, lease)) {
        throw IpamError(IpamError::Kind::Exhausted, "pool '" + pool.name + "': node subnet " + subnet->str() +
                                                        " of node '" + node_ + "' changed while re-leasing it");
      }
    }
    if (!mine) {
      // First free subnet in order. Skipping jumps over whole blockers (claims of any size,
      // excluded ranges), so the walk is short even in a huge IPv6 CIDR.
      IpAddress cursor = cidr.network();
      for (;;) {
        IpPrefix candidate(cursor, nodePrefix);
        if (!cidr.contains(candidate)) break;
        std::optional<IpPrefix> blocker;
        for (const auto& t : taken) {
          if (t.overlaps(candidate)) blocker = t.contains(candidate) ? t : candidate;
        }
        for (const auto& e : pool.exclude) {
          if (e.contains(candidate)) blocker = e;  // entirely excluded: no address to give
        }
        if (!blocker) {
          std::string key = keys::subnet(pool.name, candidate);
          if (store_.createIfAbsent(key, value, lease)) {
            mine = candidate;
            purgeForeign(pool.name, candidate);
            break;
          }
          // Lost the race, perhaps to another agent process of this same node.
          if (auto kv = store_.get(key); kv && subnetOwner(kv->value) == node_) {
            mine = candidate;
            break;
          }
          blocker = candidate;  // another node was faster
          taken.push_back(candidate);
        }
        IpAddress next = blocker->last().offset(1);
        if (next <= cursor) break;  // wrapped past the end of the address family
        cursor = next;
      }
    }
    if (!mine) {
      throw IpamError(IpamError::Kind::Exhausted, "pool '" + pool.name + "': no free /" + std::to_string(nodePrefix) +
                                                      " node subnet left in " + cidr.str() + " for node '" + node_ +
                                                      "' (" + std::to_string(taken.size()) + " claimed)");
    }
    adoptOrphans(pool.name, *mine);
    {
      std::lock_guard lock(mutex_);
      subnets_.insert_or_assign(pool.name + " " + cidr.str(), *mine);
    }
    result.push_back(*mine);
  }
  return result;
}

std::vector<IpPrefix> Ipam::nodeSubnets(const PoolConfig& pool) {
  auto claimed = store_.list(keys::subnetPrefix(pool.name));
  size_t skip = keys::subnetPrefix(pool.name).size();
  std::vector<IpPrefix> result;
  for (const auto& cidr : pool.cidrs) {
    for (const auto& kv : claimed) {
      auto subnet = keys::parseCidrText(std::string_view(kv.key).substr(skip));
      if (subnet && cidr.contains(*subnet) && subnetOwner(kv.value) == node_) {
        result.push_back(*subnet);
        break;
      }
    }
  }
  return result;
}

void Ipam::adoptOrphans(const std::string& pool, const IpPrefix& subnet) {
  // Agents before handle-first allocation wrote the address record before the handle: one
  // that died in between left a record no handle names. Listing them in their handle once
  // here lets allocate() and release() follow handles only, without scanning the subnet.
  for (const auto& [ip, kv] : scanSubnet(store_, pool, subnet)) {
    auto record = parseRecord(pool, ip, kv.value);
    if (!record || record->node != node_) continue;
    std::string handleKey = keys::handle(node_, record->containerId, record->ifname);
    auto handle = store_.get(handleKey);
    auto entries = handle ? parseHandle(handle->value) : std::vector<std::string>{};
    std::string entry = handleEntry(pool, ip);
    if (std::find(entries.begin(), entries.end(), entry) != entries.end()) continue;
    entries.push_back(entry);
    store_.compareAndSwap(handleKey, handle ? handle->modRevision : 0, json{{"addresses", entries}}.dump());
  }
}

void Ipam::purgeForeign(const std::string& pool, const IpPrefix& subnet) {
  // A fresh claim means the previous owner's subnet lease is gone (the node died): its
  // address records in here are stale.
  for (const auto& [ip, kv] : scanSubnet(store_, pool, subnet)) {
    auto record = parseRecord(pool, ip, kv.value);
    if (record && record->node == node_) continue;
    if (store_.compareAndDelete(kv.key, kv.modRevision) && record) {
      std::string handleKey = keys::handle(record->node, record->containerId, record->ifname);
      if (auto handle = store_.get(handleKey)) {
        auto entries = parseHandle(handle->value);
        if (std::find(entries.begin(), entries.end(), handleEntry(pool, ip)) != entries.end()) {
          store_.compareAndDelete(handleKey, handle->modRevision);
        }
      }
    }
  }
}

IpPrefix Ipam::nodeSubnet(const PoolConfig& pool, const IpPrefix& cidr) {
  std::string cacheKey = pool.name + " " + cidr.str();
  std::optional<IpPrefix> cached;
  {
    std::lock_guard lock(mutex_);
    if (auto it = subnets_.find(cacheKey); it != subnets_.end()) cached = it->second;
  }
  if (cached) {
    auto kv = store_.get(keys::subnet(pool.name, *cached));
    if (kv && subnetOwner(kv->value) == node_) return *cached;
    std::lock_guard lock(mutex_);
    subnets_.erase(cacheKey);  // lost it (lease expired): claim again
  }
  auto subnets = ensureNodeSubnets(pool);
  for (const auto& s : subnets) {
    if (cidr.contains(s)) return s;
  }
  throw IpamError(IpamError::Kind::Exhausted,
                  "pool '" + pool.name + "': node '" + node_ + "' has no subnet of " + cidr.str());
}

std::vector<Allocation> Ipam::allocate(const PoolConfig& pool, const AllocateRequest& request) {
  validate(pool);
  validateIds(request);
  // Requested addresses by family.
  std::optional<IpAddress> wanted[2];  // [0] IPv4, [1] IPv6
  for (const auto& ip : request.requested) {
    auto& slot = wanted[ip.isV4() ? 0 : 1];
    if (slot) {
      throw IpamError(IpamError::Kind::InvalidConfig, "requested two " + family(ip.isV4()) + " addresses (" +
                                                          slot->str() + ", " + ip.str() + "); at most one per family");
    }
    bool served =
        std::any_of(pool.cidrs.begin(), pool.cidrs.end(), [&](const IpPrefix& c) { return c.isV4() == ip.isV4(); });
    if (!served) {
      throw IpamError(IpamError::Kind::RequestedUnavailable, "requested address " + ip.str() + ": pool '" + pool.name +
                                                                 "' has no " + family(ip.isV4()) + " CIDR");
    }
    slot = ip;
  }

  // The node's subnets first: taking one up adopts records no handle names (adoptOrphans).
  std::vector<IpPrefix> subnets;
  for (const auto& cidr : pool.cidrs) subnets.push_back(nodeSubnet(pool, cidr));

  // Idempotency: what the handle already lists (and still holds) comes back as it is.
  std::string handleKey = keys::handle(node_, request.containerId, request.ifname);
  auto handle = store_.get(handleKey);
  std::vector<Allocation> have;
  if (handle) {
    for (const auto& entry : parseHandle(handle->value)) {
      auto parsed = parseHandleEntry(entry);
      if (!parsed || parsed->first != pool.name) continue;
      auto kv = store_.get(keys::address(parsed->first, parsed->second));
      if (!kv) continue;
      auto record = parseRecord(parsed->first, parsed->second, kv->value);
      if (record && owns(*record, node_, request.containerId, request.ifname)) have.push_back(*record);
    }
  }

  std::vector<std::string> taken;  // address keys this call wrote
  std::vector<Allocation> result;
  // The handle names an address before its record is written: an ADD that dies in between
  // leaves a handle that release() and a retried allocate() follow, never a record nobody
  // can find without scanning the subnet.
  std::string announced;  // what the handle says now, when this call wrote it
  auto announce = [&](const Allocation& candidate) {
    std::vector<Allocation> listed = result;
    listed.push_back(candidate);
    announced = handleJson(listed);
    store_.put(handleKey, announced);
  };
  try {
    for (size_t i = 0; i < pool.cidrs.size(); ++i) {
      const IpPrefix& cidr = pool.cidrs[i];
      const auto& want = wanted[cidr.isV4() ? 0 : 1];
      auto existing =
          std::find_if(have.begin(), have.end(), [&](const Allocation& a) { return cidr.contains(a.address); });
      if (existing != have.end()) {
        if (want && *want != existing->address) {
          throw IpamError(IpamError::Kind::RequestedUnavailable, "requested address " + want->str() + ": container " +
                                                                     request.containerId + " (" + request.ifname +
                                                                     ") already holds " + existing->address.str() +
                                                                     " in pool '" + pool.name + "'");
        }
        result.push_back(*existing);
        continue;
      }
      result.push_back(allocateOne(pool, cidr, subnets[i], request, want, taken, announce));
    }
    if (taken.empty() && result.size() == have.size()) return result;
    // Usually the last announcement already listed everything.
    if (std::string complete = handleJson(result); complete != announced) store_.put(handleKey, complete);
  } catch (...) {
    // All or nothing: give back what this call took, and the handle as it was.
    try {
      for (const auto& key : taken) {
        auto kv = store_.get(key);
        auto slash = key.rfind('/');
        auto ip = IpAddress::tryParse(std::string_view(key).substr(slash + 1));
        auto record = kv && ip ? parseRecord(pool.name, *ip, kv->value) : std::nullopt;
        if (record && owns(*record, node_, request.containerId, request.ifname))
          store_.compareAndDelete(key, kv->modRevision);
      }
      if (handle)
        store_.put(handleKey, handle->value);
      else
        store_.remove(handleKey);
    } catch (...) {
      // Store gone: the handle names this container's records, so a retry re-uses them
      // and DEL or GC frees them.
    }
    throw;
  }
  return result;
}

Allocation Ipam::allocateOne(const PoolConfig& pool, const IpPrefix& poolCidr, const IpPrefix& subnet,
                             const AllocateRequest& request, const std::optional<IpAddress>& requested,
                             std::vector<std::string>& taken, const std::function<void(const Allocation&)>& announce) {
  Allocation a;
  a.pool = pool.name;
  a.poolCidr = poolCidr;
  a.subnet = subnet;
  a.gateway = subnet.network().offset(1);
  a.containerId = request.containerId;
  a.ifname = request.ifname;
  a.node = node_;
  a.podNamespace = request.podNamespace;
  a.podName = request.podName;
  a.netns = request.netns;

  // Claims ip; true when it is ours now. Remembers the key for rollback.
  auto claim = [&](const IpAddress& ip) {
    a.address = ip;
    announce(a);
    std::string key = keys::address(pool.name, ip);
    if (!store_.createIfAbsent(key, recordJson(a))) return false;
    taken.push_back(key);
    return true;
  };
  // Re-uses an address a crashed earlier attempt of this container left without a handle.
  auto adopt = [&](const IpAddress& ip, const store::KeyValue& kv) {
    a.address = ip;
    if (!store_.compareAndSwap(kv.key, kv.modRevision, recordJson(a))) return false;
    taken.push_back(kv.key);
    return true;
  };

  if (requested) {
    if (!subnet.contains(*requested)) {
      throw IpamError(IpamError::Kind::RequestedUnavailable, "requested address " + requested->str() + " is not in " +
                                                                 subnet.str() + ", the subnet of node '" + node_ +
                                                                 "' in pool '" + pool.name + "'");
    }
    if (auto why = reservedReason(pool, subnet, *requested); !why.empty()) {
      throw IpamError(IpamError::Kind::RequestedUnavailable, "requested address " + requested->str() + " is " + why);
    }
    if (claim(*requested)) return a;
    auto kv = store_.get(keys::address(pool.name, *requested));
    auto holder = kv ? parseRecord(pool.name, *requested, kv->value) : std::nullopt;
    if (kv && holder && owns(*holder, node_, request.containerId, request.ifname) && adopt(*requested, *kv)) return a;
    std::string who =
        holder ? "container " + holder->containerId + " (" + holder->ifname + ") on node '" + holder->node + "'"
               : "another container";
    throw IpamError(IpamError::Kind::RequestedUnavailable,
                    "requested address " + requested->str() + " is in use by " + who);
  }

  // Excluded ranges clipped to the subnet, as [lo, hi].
  std::vector<std::pair<U128, U128>> excluded;
  for (const auto& e : pool.exclude) {
    if (e.isV4() != subnet.isV4() || !e.overlaps(subnet)) continue;
    excluded.emplace_back(std::max(toInt(e.network()), toInt(subnet.network())),
                          std::min(toInt(e.last()), toInt(subnet.last())));
  }

  auto [first, last] = hostRange(subnet);
  // Round-robin: resume after the last address handed out here, as host-local does, so a
  // released address is not reused at once. The mark lives in memory and is saved to the
  // store every kMarkSaveEvery allocations; the store's copy is read only when this process
  // has none yet. A mark that lags (after a restart) only makes the search start a few
  // addresses early: those are taken, and probing skips them.
  const std::string subnetKey = pool.name + " " + subnet.str();
  std::string lastKey = keys::last(pool.name, subnet);
  std::optional<U128> mark;
  {
    std::lock_guard lock(mutex_);
    if (auto it = marks_.find(subnetKey); it != marks_.end()) mark = it->second.last;
  }
  if (!mark) {
    if (auto kv = store_.get(lastKey)) {
      if (auto ip = IpAddress::tryParse(kv->value); ip && subnet.contains(*ip)) mark = toInt(*ip);
    }
  }
  U128 cursor = first;
  if (mark && *mark >= first && *mark < last) cursor = *mark + 1;
  auto remember = [&](U128 v) {
    std::lock_guard lock(mutex_);
    auto& m = marks_[subnetKey];
    m.last = v;
    if (++m.unsaved < kMarkSaveEvery) return false;
    m.unsaved = 0;
    return true;
  };

  // Addresses other threads of this agent are claiming right now: skipped, so that
  // concurrent ADDs starting from the same round-robin mark do not race for one address.
  auto reserve = [&](U128 v) {
    std::lock_guard lock(mutex_);
    return inFlight_[subnetKey].insert(v).second;
  };
  auto unreserve = [&](U128 v) {
    std::lock_guard lock(mutex_);
    inFlight_[subnetKey].erase(v);
  };

  // The common case needs no list of the subnet: the address after the mark is usually free.
  // Probe a few candidates by key; only when they are all taken (a wrapped, crowded subnet),
  // list the subnet once and skip what is in use. createIfAbsent decides either way.
  std::optional<std::vector<U128>> busy;
  size_t allocated = 0;
  int probes = 0;
  auto isBusy = [&](U128 v) {
    if (!busy) {
      if (probes < kProbesBeforeScan) {
        ++probes;
        return store_.get(keys::address(pool.name, fromInt(v, subnet.isV4()))).has_value();
      }
      auto used = scanSubnet(store_, pool.name, subnet);
      busy.emplace();
      for (const auto& entry : used) busy->push_back(toInt(entry.first));
      std::sort(busy->begin(), busy->end());
      allocated = busy->size();
    }
    return std::binary_search(busy->begin(), busy->end(), v);
  };

  U128 remaining = last - first + 1;
  while (remaining > 0) {
    bool skipped = false;
    for (const auto& [lo, hi] : excluded) {
      if (cursor >= lo && cursor <= hi) {
        U128 span = std::min<U128>(hi, last) - cursor + 1;
        remaining -= std::min(span, remaining);
        cursor = hi >= last ? first : hi + 1;
        skipped = true;
        break;
      }
    }
    if (skipped) continue;
    U128 candidate = cursor;
    cursor = cursor >= last ? first : cursor + 1;
    --remaining;
    if (!reserve(candidate)) continue;
    bool claimed = false;
    try {
      claimed = !isBusy(candidate) && claim(fromInt(candidate, subnet.isV4()));
      if (claimed && remember(candidate)) store_.put(lastKey, a.address.str());
    } catch (...) {
      unreserve(candidate);
      throw;
    }
    unreserve(candidate);
    if (claimed) return a;
    // Taken, or lost a race for it (another agent process that shares this node name).
  }
  if (!busy) allocated = scanSubnet(store_, pool.name, subnet).size();
  throw IpamError(IpamError::Kind::Exhausted, "pool '" + pool.name + "': no free address left in " + subnet.str() +
                                                  ", the subnet of node '" + node_ + "' (" + std::to_string(allocated) +
                                                  " allocated)");
}

std::vector<Allocation> Ipam::find(const std::string& containerId, const std::string& ifname) {
  std::vector<Allocation> out;
  if (!validName(containerId) || !validName(ifname)) return out;
  auto handle = store_.get(keys::handle(node_, containerId, ifname));
  if (!handle) return out;
  for (const auto& entry : parseHandle(handle->value)) {
    auto parsed = parseHandleEntry(entry);
    if (!parsed) continue;
    auto kv = store_.get(keys::address(parsed->first, parsed->second));
    if (!kv) continue;
    auto record = parseRecord(parsed->first, parsed->second, kv->value);
    if (record && owns(*record, node_, containerId, ifname)) out.push_back(*record);
  }
  return out;
}

std::vector<std::pair<std::string, IpPrefix>> Ipam::ownSubnets(const std::string& pool) {
  std::string prefix = std::string(keys::kRoot) + "subnets/";
  if (!pool.empty()) prefix = keys::subnetPrefix(pool);
  std::vector<std::pair<std::string, IpPrefix>> out;
  for (const auto& kv : store_.list(prefix)) {
    if (subnetOwner(kv.value) != node_) continue;
    std::string_view rest = std::string_view(kv.key).substr(std::string(keys::kRoot).size() + 8);  // "subnets/"
    auto slash = rest.find('/');
    if (slash == std::string_view::npos) continue;
    auto subnet = keys::parseCidrText(rest.substr(slash + 1));
    if (subnet) out.emplace_back(std::string(rest.substr(0, slash)), *subnet);
  }
  return out;
}

std::vector<Allocation> Ipam::release(const std::string& containerId, const std::string& ifname) {
  std::vector<Allocation> out;
  if (!validName(containerId) || !validName(ifname)) return out;
  std::string handleKey = keys::handle(node_, containerId, ifname);
  auto handle = store_.get(handleKey);
  if (handle) {
    for (const auto& entry : parseHandle(handle->value)) {
      auto parsed = parseHandleEntry(entry);
      if (!parsed) continue;
      auto kv = store_.get(keys::address(parsed->first, parsed->second));
      if (!kv) continue;
      auto record = parseRecord(parsed->first, parsed->second, kv->value);
      if (record && owns(*record, node_, containerId, ifname) && store_.compareAndDelete(kv->key, kv->modRevision)) {
        out.push_back(*record);
      }
    }
    store_.compareAndDelete(handleKey, handle->modRevision);
    return out;
  }
  // No handle: maybe an ADD crashed between taking the address and writing the handle.
  for (const auto& [pool, subnet] : ownSubnets("")) {
    for (const auto& [ip, kv] : scanSubnet(store_, pool, subnet)) {
      if (kv.value.find(containerId) == std::string::npos) continue;
      auto record = parseRecord(pool, ip, kv.value);
      if (record && owns(*record, node_, containerId, ifname) && store_.compareAndDelete(kv.key, kv.modRevision)) {
        out.push_back(*record);
      }
    }
  }
  return out;
}

std::vector<Allocation> Ipam::list(const std::string& pool) {
  std::vector<Allocation> out;
  for (const auto& [name, subnet] : ownSubnets(pool)) {
    for (const auto& [ip, kv] : scanSubnet(store_, name, subnet)) {
      auto record = parseRecord(name, ip, kv.value);
      if (record && record->node == node_) out.push_back(*record);
    }
  }
  std::sort(out.begin(), out.end(), [](const Allocation& x, const Allocation& y) {
    // IPv4 before IPv6, then by address.
    if (x.address.isV4() != y.address.isV4()) return x.address.isV4();
    return x.address < y.address;
  });
  return out;
}

std::vector<Allocation> Ipam::gc(const std::vector<Attachment>& valid) {
  std::set<std::pair<std::string, std::string>> keep;
  for (const auto& v : valid) keep.emplace(v.containerId, v.ifname);
  std::vector<Allocation> released;
  for (const auto& a : list()) {
    if (keep.count({a.containerId, a.ifname})) continue;
    auto kv = store_.get(keys::address(a.pool, a.address));
    if (kv && store_.compareAndDelete(kv->key, kv->modRevision)) released.push_back(a);
  }
  // Handles whose attachment is gone (also ones whose addresses already were).
  std::string prefix = keys::handlePrefix(node_);
  for (const auto& kv : store_.list(prefix)) {
    std::string_view rest = std::string_view(kv.key).substr(prefix.size());
    auto slash = rest.find('/');
    if (slash == std::string_view::npos) continue;
    if (keep.count({std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))})) continue;
    store_.compareAndDelete(kv.key, kv.modRevision);
  }
  return released;
}

}  // namespace cnikit::ipam
