#include "core/policy/iptables/IptablesProvider.hpp"

#include <algorithm>
#include <fstream>

#include <spdlog/spdlog.h>

#include "core/policy/iptables/IptablesFlavour.hpp"
#include <cnikit/toolkit/Ipset.hpp>
#include <cnikit/toolkit/IptcTable.hpp>
#include <cnikit/toolkit/NetnsGuard.hpp>

namespace cnikit::policy::iptables {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using toolkit::iptcMutex;
using toolkit::IptcTable;
using toolkit::Ipset;

namespace {

constexpr Family kFamilies[] = {Family::V4, Family::V6};
constexpr const char* kBridgeSysctl[] = {"/proc/sys/net/bridge/bridge-nf-call-iptables",
                                         "/proc/sys/net/bridge/bridge-nf-call-ip6tables"};

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string readSysctl(const char* path) {
  std::ifstream in(path);
  std::string value;
  if (!(in >> value)) return "";
  return value;
}

// Sets the bridge sysctls (per network namespace since Linux 5.3) and says what it found.
json enableBridgeNetfilter(bool enable) {
  json out = json::object();
  for (const char* path : kBridgeSysctl) {
    std::string key = std::string(path).substr(std::string(path).rfind('/') + 1);
    if (enable) {
      std::ofstream file(path);
      if (file) file << "1\n";
      file.close();
      if (!file) {
        out[key] = nullptr;
        out["error"] = std::string("cannot set ") + path + " (is br_netfilter loaded?)";
        continue;
      }
    }
    auto value = readSysctl(path);
    out[key] = value.empty() ? json(nullptr) : json(value == "1");
  }
  return out;
}

const char* ipsetFamily(Family family) { return family == Family::V4 ? "inet" : "inet6"; }

std::string withoutNomatch(const std::string& entry) {
  auto at = entry.find(" nomatch");
  return at == std::string::npos ? entry : entry.substr(0, at);
}

void appendCreate(std::string& script, const std::string& name, const SetContent& content, Family family) {
  script += "create " + name + " " + content.type + " family " + ipsetFamily(family) + "\n";
}

// Calls fn(key, chains) for the programmed endpoints with `updates` applied (an empty
// update removes the endpoint).
template <class Fn>
void forEachMerged(const std::map<std::string, EndpointChains>& programmed,
                   const std::map<std::string, EndpointChains>& updates, Fn fn) {
  for (const auto& [key, chains] : programmed)
    if (!updates.count(key)) fn(key, chains);
  for (const auto& [key, chains] : updates)
    if (!chains.empty()) fn(key, chains);
}

}  // namespace

json ApplyStats::toJson() const {
  return {{"chainsWritten", chainsWritten}, {"chainsDeleted", chainsDeleted}, {"setsWritten", setsWritten},
          {"setsDestroyed", setsDestroyed}, {"commits", commits},           {"ipsetMs", ipsetMs},
          {"iptablesMs", iptablesMs},       {"totalMs", totalMs}};
}

IptablesProvider::IptablesProvider(IptablesProviderOptions options)
    : options_(std::move(options)), netns_(toolkit::Netns::current().value()) {
  bridgeStatus_ = enableBridgeNetfilter(options_.bridgeNetfilter);
  if (bridgeStatus_.contains("error"))
    spdlog::warn("policy: {}: bridged pod-to-pod traffic on this node is not policed", bridgeStatus_["error"].get<std::string>());
}

IptablesProvider::~IptablesProvider() = default;

void IptablesProvider::sync(const Engine& engine) {
  std::lock_guard lock(iptcMutex());
  auto scope = toolkit::NetnsGuard::enter(netns_).value();
  std::set<std::string> keys;
  for (const auto& key : engine.endpointKeys()) keys.insert(key);
  for (Family family : kFamilies)
    for (const auto& [key, chains] : state(family).endpoints) keys.insert(key);
  program([&](const std::string& key) { return engine.endpoint(key); }, keys,
          [&](const std::string& id) { return engine.set(id); }, {}, true);
}

void IptablesProvider::apply(const Engine& engine, const Changes& changes) {
  if (needsSync_) return sync(engine);
  std::lock_guard lock(iptcMutex());
  auto scope = toolkit::NetnsGuard::enter(netns_).value();
  std::set<std::string> keys = engine.affectedEndpoints(changes);
  for (const auto& key : changes.removedEndpoints) keys.insert(key);
  std::set<std::string> changedSets = changes.sets;
  program([&](const std::string& key) { return engine.endpoint(key); }, keys,
          [&](const std::string& id) { return engine.set(id); }, changedSets, false);
}

void IptablesProvider::removeAll() {
  std::lock_guard lock(iptcMutex());
  auto scope = toolkit::NetnsGuard::enter(netns_).value();
  std::set<std::string> keys;
  for (Family family : kFamilies)
    for (const auto& [key, chains] : state(family).endpoints) keys.insert(key);
  program([](const std::string&) { return std::optional<CompiledEndpoint>(); }, keys,
          [](const std::string&) { return nullptr; }, {}, true);
}

ApplyStats IptablesProvider::program(const EndpointFn& endpointFor, const std::set<std::string>& keys,
                                     const SetLookup& sets, const std::set<std::string>& changedSets, bool full) {
  const auto start = Clock::now();
  ApplyStats stats;
  needsSync_ = true;  // until this update went through completely

  struct Plan {
    std::map<std::string, EndpointChains> updates;  // empty chains: remove the endpoint
    std::map<std::string, SetContent> setWrites;    // new content of new or changed sets
    std::vector<std::string> setDestroys;           // set ids
    bool chainsChanged = false;
  };
  Plan plans[2];

  std::set<std::string> kernelSets;
  std::unique_ptr<Ipset> ipset;
  auto session = [&]() -> Ipset& {
    if (!ipset) ipset = Ipset::open().value();
    return *ipset;
  };
  if (full)
    for (auto& name : session().names().value())
      if (name.rfind(kSetPrefix, 0) == 0 || name.rfind(kTempSetPrefix, 0) == 0) kernelSets.insert(name);

  std::string createScript, destroyScript;
  std::set<std::string> wantedNames, destroyNames, tempNames;
  for (Family family : kFamilies) {
    auto& plan = plans[family == Family::V4 ? 0 : 1];
    auto& current = state(family);
    for (const auto& key : keys) {
      auto endpoint = endpointFor(key);
      EndpointChains next;
      if (endpoint) next = buildEndpointChains(*endpoint, family, sets, options_.chains);
      auto it = current.endpoints.find(key);
      if (next.empty() && it == current.endpoints.end()) continue;
      if (!full && it != current.endpoints.end() && it->second == next) continue;
      plan.updates[key] = std::move(next);
      plan.chainsChanged = true;
    }
    // Sets the resulting chains refer to, and what each must hold.
    std::set<std::string> wanted;
    forEachMerged(current.endpoints, plan.updates,
                  [&](const std::string&, const EndpointChains& c) { wanted.insert(c.setIds.begin(), c.setIds.end()); });
    for (const auto& id : wanted) {
      wantedNames.insert(setName(family, id));
      auto known = current.sets.find(id);
      if (!full && known != current.sets.end() && !changedSets.count(id)) continue;
      const AddressSet* set = sets(id);
      if (!set) throw std::logic_error("policy: the engine has no set " + id + " that a rule refers to");
      SetContent content = setContent(*set, family);
      const std::string name = setName(family, id);
      if (known == current.sets.end() || full) {
        if (kernelSets.count(name)) {
          // Found in the kernel (an earlier run): refill atomically, rules may use it.
          const std::string temp = tempSetName(family, id);
          tempNames.insert(temp);
          appendCreate(createScript, temp, content, family);
          createScript += "flush " + temp + "\n";
          for (const auto& e : content.entries) createScript += "add " + temp + " " + e + "\n";
          createScript += "swap " + temp + " " + name + "\ndestroy " + temp + "\n";
        } else {
          appendCreate(createScript, name, content, family);
          createScript += "flush " + name + "\n";
          for (const auto& e : content.entries) createScript += "add " + name + " " + e + "\n";
        }
      } else if (content != known->second) {
        std::set<std::string> before(known->second.entries.begin(), known->second.entries.end());
        std::set<std::string> after(content.entries.begin(), content.entries.end());
        for (const auto& e : after)
          if (!before.count(e)) createScript += "add " + name + " " + e + "\n";
        for (const auto& e : before)
          if (!after.count(e)) createScript += "del " + name + " " + withoutNomatch(e) + "\n";
      } else {
        continue;
      }
      plan.setWrites[id] = std::move(content);
      ++stats.setsWritten;
    }
    for (const auto& [id, content] : current.sets)
      if (!wanted.count(id)) {
        plan.setDestroys.push_back(id);
        destroyNames.insert(setName(family, id));
        destroyScript += "destroy " + setName(family, id) + "\n";
        ++stats.setsDestroyed;
      }
  }
  if (full) {
    // Sets an earlier run left that nothing uses now (temporary ones used above are gone).
    for (const auto& name : kernelSets)
      if (!wantedNames.count(name) && !destroyNames.count(name) && !tempNames.count(name)) {
        destroyScript += "destroy " + name + "\n";
        ++stats.setsDestroyed;
      }
  }

  // 1. Sets first: rules about to be committed refer to them.
  auto t = Clock::now();
  session().restore(createScript).value();
  for (Family family : kFamilies)
    for (auto& [id, content] : plans[family == Family::V4 ? 0 : 1].setWrites) state(family).sets[id] = content;
  stats.ipsetMs += msSince(t);

  // 2. Each family's filter table in one commit.
  t = Clock::now();
  for (Family family : kFamilies) {
    auto& plan = plans[family == Family::V4 ? 0 : 1];
    auto& current = state(family);
    if (!full && !plan.chainsChanged) continue;
    std::map<std::string, EndpointChains> next = current.endpoints;
    for (auto& [key, chains] : plan.updates) {
      if (chains.empty())
        next.erase(key);
      else
        next[key] = chains;
    }
    auto dispatch = buildDispatch(next, family);

    std::map<std::string, uint16_t> indexCache;
    toolkit::SetIndexFn setIndex = [&](const std::string& name) -> toolkit::Result<uint16_t> {
      auto it = indexCache.find(name);
      if (it != indexCache.end()) return it->second;
      auto index = toolkit::ipsetIndex(name);
      if (!index) return index.error();
      if (index.value() == toolkit::kIpsetInvalidIndex)
        return toolkit::Error{ENOENT, "ipset " + name + " does not exist after it was created"};
      indexCache[name] = index.value();
      return index;
    };

    auto lock = toolkit::XtablesLock::acquire(options_.lockPath, options_.lockTimeout).value();
    auto snapshot = IptcTable::open(family);
    if (!snapshot) {
      // A node without (say) ip6_tables is fine as long as nothing of that family is wanted.
      if (!next.empty() || !current.endpoints.empty()) throw toolkit::ToolkitError(snapshot.error());
      spdlog::debug("policy: skipping {}: {}", familyName(family), snapshot.error().message);
      continue;
    }
    IptcTable& table = snapshot.value();
    auto writeChain = [&](const std::string& chain, const std::vector<IptablesRule>& rules) {
      if (table.hasChain(chain))
        table.flushChain(chain).value();
      else
        table.createChain(chain).value();
      for (const auto& rule : rules) table.append(chain, rule, setIndex).value();
      ++stats.chainsWritten;
    };
    for (const auto& [key, chains] : plan.updates) {
      if (chains.ingress) writeChain(ingressChainName(key), *chains.ingress);
      if (chains.egress) writeChain(egressChainName(key), *chains.egress);
    }
    // The dispatch chain and the jump to it.
    auto forwardTargets = table.ruleTargets("FORWARD");
    if (dispatch.empty()) {
      for (size_t i = forwardTargets.size(); i-- > 0;)
        if (forwardTargets[i] == kDispatchChain) table.deleteRule("FORWARD", static_cast<unsigned>(i)).value();
      if (table.hasChain(kDispatchChain)) {
        table.flushChain(kDispatchChain).value();
        table.deleteChain(kDispatchChain).value();
        ++stats.chainsDeleted;
      }
    } else {
      writeChain(kDispatchChain, dispatch);
      bool jumps = std::find(forwardTargets.begin(), forwardTargets.end(), kDispatchChain) != forwardTargets.end();
      if (!jumps) table.insert("FORWARD", ruleTo(kDispatchChain), 0, setIndex).value();
    }
    // Endpoint chains nothing dispatches to any more (removed now, or left by an earlier run).
    std::set<std::string> keep;
    for (const auto& [key, chains] : next) {
      if (chains.ingress) keep.insert(ingressChainName(key));
      if (chains.egress) keep.insert(egressChainName(key));
    }
    std::vector<std::string> stale;
    for (const auto& chain : table.chains())
      if ((chain.rfind(kIngressChainPrefix, 0) == 0 || chain.rfind(kEgressChainPrefix, 0) == 0) && !keep.count(chain))
        stale.push_back(chain);
    for (const auto& chain : stale) table.flushChain(chain).value();
    for (const auto& chain : stale) {
      table.deleteChain(chain).value();
      ++stats.chainsDeleted;
    }
    if (table.changed()) {
      table.commit().value();
      ++stats.commits;
    }
    current.endpoints = std::move(next);
    current.dispatchRules = dispatch.size();
  }
  stats.iptablesMs = msSince(t);

  // 3. Sets no rule refers to any more.
  t = Clock::now();
  session().restore(destroyScript).value();
  for (Family family : kFamilies)
    for (const auto& id : plans[family == Family::V4 ? 0 : 1].setDestroys) state(family).sets.erase(id);
  stats.ipsetMs += msSince(t);

  needsSync_ = false;
  stats.totalMs = msSince(start);
  last_ = stats;
  ++updates_;
  return stats;
}

size_t IptablesProvider::chainCount() const {
  std::lock_guard lock(iptcMutex());
  return chainsLocked();
}

size_t IptablesProvider::ruleCount() const {
  std::lock_guard lock(iptcMutex());
  return rulesLocked();
}

size_t IptablesProvider::setCount() const {
  std::lock_guard lock(iptcMutex());
  return v4_.sets.size() + v6_.sets.size();
}

ApplyStats IptablesProvider::lastUpdate() const {
  std::lock_guard lock(iptcMutex());
  return last_;
}

size_t IptablesProvider::chainsLocked() const {
  size_t n = 0;
  for (Family family : kFamilies) {
    const auto& s = state(family);
    if (s.dispatchRules) ++n;
    for (const auto& [key, chains] : s.endpoints) n += (chains.ingress ? 1 : 0) + (chains.egress ? 1 : 0);
  }
  return n;
}

size_t IptablesProvider::rulesLocked() const {
  size_t n = 0;
  for (Family family : kFamilies) {
    const auto& s = state(family);
    if (s.dispatchRules) n += s.dispatchRules + 1;  // + the FORWARD jump
    for (const auto& [key, chains] : s.endpoints)
      n += (chains.ingress ? chains.ingress->size() : 0) + (chains.egress ? chains.egress->size() : 0);
  }
  return n;
}

json IptablesProvider::status() const {
  json out;
  {
    std::lock_guard lock(iptcMutex());
    out["chains"] = chainsLocked();
    out["sets"] = v4_.sets.size() + v6_.sets.size();
    out["rules"] = rulesLocked();
    out["endpoints"] = {{"ipv4", v4_.endpoints.size()}, {"ipv6", v6_.endpoints.size()}};
    out["updates"] = updates_;
    out["lastUpdate"] = last_.toJson();
    out["inSync"] = !needsSync_;
  }
  auto scope = toolkit::NetnsGuard::enter(netns_).value();
  out["flavour"] = inspectFlavours().toJson();
  out["ipset"] = "libipset (in process, restore-format batches)";
  json bridge = enableBridgeNetfilter(false);  // what the namespace has now
  if (bridgeStatus_.contains("error")) bridge["error"] = bridgeStatus_["error"];
  bridge["setByCnikit"] = options_.bridgeNetfilter;
  out["bridgeNetfilter"] = bridge;
  return out;
}

}  // namespace cnikit::policy::iptables
