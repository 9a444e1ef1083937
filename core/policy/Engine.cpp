#include "core/policy/Engine.hpp"

#include <algorithm>
#include <stdexcept>

namespace cnikit::policy {

using nlohmann::json;

void Changes::merge(const Changes& later) {
  for (const auto& e : later.endpoints) {
    removedEndpoints.erase(e);
    endpoints.insert(e);
  }
  for (const auto& e : later.removedEndpoints) {
    endpoints.erase(e);
    removedEndpoints.insert(e);
  }
  for (const auto& s : later.sets) {
    removedSets.erase(s);
    sets.insert(s);
  }
  for (const auto& s : later.removedSets) {
    sets.erase(s);
    removedSets.insert(s);
  }
}

struct Engine::SetState {
  mutable AddressSet content;  // ips/ipPorts materialised lazily from the counts below
  mutable bool dirty = true;
  mutable std::optional<json> cachedJson;  // every endpoint using the set embeds this
  int refs = 0;
  std::map<std::string, std::vector<std::string>> ipsByPod;
  std::map<std::string, std::vector<IpPortEntry>> ipPortsByPod;
  std::map<std::string, int> ipCount;
  std::map<IpPortEntry, int> ipPortCount;

  const json& toJson() const {
    if (!cachedJson) cachedJson = materialise().toJson();
    return *cachedJson;
  }

  const AddressSet& materialise() const {
    if (dirty) {
      content.ips.clear();
      content.ipPorts.clear();
      for (const auto& [ip, n] : ipCount) content.ips.push_back(ip);
      for (const auto& [entry, n] : ipPortCount) content.ipPorts.push_back(entry);
      dirty = false;
    }
    return content;
  }
};

// A policy rule prepared once per policy update; endpoints only resolve ingress named ports.
struct RuleTemplate {
  struct Peer {
    int index = -1;   // -1: the rule has no peers
    std::string set;  // "" = any address
  };
  struct NamedPeer {
    int index = -1;
    std::string set;  // ip-port set for one egress named port and one peer
  };
  bool allPorts = false;
  std::vector<PortRange> numeric;
  std::vector<std::pair<std::string, k8s::Protocol>> named;
  std::vector<Peer> peers;
  std::vector<NamedPeer> namedPeers;  // egress only
};

struct Engine::PolicyState {
  k8s::NetworkPolicy policy;
  std::vector<RuleTemplate> ingress;
  std::vector<RuleTemplate> egress;
  std::vector<std::string> sets;  // every acquire, released on replace/delete
  std::set<std::string> targets;  // local endpoints the podSelector selects
};

struct Engine::Contribution {
  bool ingress = false;
  bool egress = false;
  std::vector<CompiledRule> ingressRules;
  std::vector<CompiledRule> egressRules;
  bool operator==(const Contribution&) const = default;
};

struct Engine::EndpointState {
  std::vector<std::string> ips;
  std::map<std::string, Contribution> contributions;  // by policy key
  bool operator==(const EndpointState&) const = default;
};

namespace {

void sortUnique(std::vector<PortRange>& ports) {
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
}

std::vector<std::string> canonicalIps(const std::vector<std::string>& ips) {
  std::vector<std::string> out;
  for (const auto& text : ips) {
    auto ip = toolkit::IpAddress::tryParse(text);
    out.push_back(ip ? ip->str() : text);
  }
  return out;
}

// Which pods a selector peer picks, as a set definition (without type).
SetDefinition selectionOf(const k8s::PolicyPeer& peer, const std::string& policyNamespace) {
  SetDefinition def;
  if (peer.namespaceSelector) {
    // An empty namespaceSelector is every namespace: the same set as no namespace restriction.
    if (!peer.namespaceSelector->empty()) def.namespaceSelector = peer.namespaceSelector;
  } else {
    def.namespaceName = policyNamespace;
  }
  if (peer.podSelector) def.podSelector = *peer.podSelector;
  return def;
}

}  // namespace

Engine::Engine(EngineOptions options) : options_(std::move(options)) {}
Engine::~Engine() = default;

k8s::Labels Engine::labelsOfNamespace(const std::string& name) const { return namespaceLabels(namespaces_, name); }

namespace {

// Equal peers written differently (except order, host bits) must share a set.
SetDefinition canonical(SetDefinition def) {
  if (def.ipBlock) {
    auto text = [](const std::string& cidr) {
      auto net = k8s::parseBlockCidr(cidr);
      return net ? net->str() : cidr;
    };
    def.ipBlock->cidr = text(def.ipBlock->cidr);
    for (auto& e : def.ipBlock->except) e = text(e);
    std::sort(def.ipBlock->except.begin(), def.ipBlock->except.end());
    def.ipBlock->except.erase(std::unique(def.ipBlock->except.begin(), def.ipBlock->except.end()),
                              def.ipBlock->except.end());
  }
  auto sortSelector = [](k8s::LabelSelector& s) {
    for (auto& r : s.matchExpressions) {
      std::sort(r.values.begin(), r.values.end());
      r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
    }
    std::sort(s.matchExpressions.begin(), s.matchExpressions.end());
  };
  sortSelector(def.podSelector);
  if (def.namespaceSelector) sortSelector(*def.namespaceSelector);
  return def;
}

}  // namespace

std::string Engine::acquireSet(const SetDefinition& given, Changes& changes) {
  const SetDefinition def = canonical(given);
  int salt = 0;
  std::string id = setIdFor(def);
  while (true) {
    auto it = sets_.find(id);
    if (it == sets_.end()) break;
    if (it->second->content.definition == def) {
      ++it->second->refs;
      return id;
    }
    id = setIdFor(def, ++salt);  // a hash collision: step around it
  }
  auto state = std::make_unique<SetState>();
  state->content.id = id;
  state->content.definition = def;
  state->refs = 1;
  if (def.type == SetType::Net && def.ipBlock) {
    state->content.cidr = k8s::parseBlockCidr(def.ipBlock->cidr);
    for (const auto& e : def.ipBlock->except)
      if (auto net = k8s::parseBlockCidr(e)) state->content.except.push_back(*net);
    std::sort(state->content.except.begin(), state->content.except.end());
  }
  auto& set = *state;
  sets_[id] = std::move(state);
  if (def.type != SetType::Net) {
    const std::string* ns = nullptr;
    k8s::Labels labels;
    for (const auto& [key, pod] : pods_) {  // in key order: one namespace after the other
      if (!ns || pod.ns != *ns) {
        ns = &pod.ns;
        labels = labelsOfNamespace(pod.ns);
      }
      refreshSetForPod(set, key, &pod, labels, changes);
    }
  }
  changes.removedSets.erase(id);
  changes.sets.insert(id);
  return id;
}

void Engine::releaseSet(const std::string& id, Changes& changes) {
  auto it = sets_.find(id);
  if (it == sets_.end()) return;
  if (--it->second->refs > 0) return;
  sets_.erase(it);
  changes.sets.erase(id);
  changes.removedSets.insert(id);
}

void Engine::refreshSetForPod(SetState& set, const std::string& podKey, const k8s::Pod* pod,
                              const k8s::Labels& nsLabels, Changes& changes) {
  // Members are counted: two pods may (briefly) share an address, and only a change of the
  // member list is a change of the set.
  bool membersChanged = false;
  auto update = [&](auto& byPod, auto& count, auto entries) {
    auto it = byPod.find(podKey);
    if (it == byPod.end() ? entries.empty() : it->second == entries) return;
    if (it != byPod.end())
      for (const auto& e : it->second)
        if (--count[e] == 0) {
          count.erase(e);
          membersChanged = true;
        }
    for (const auto& e : entries)
      if (++count[e] == 1) membersChanged = true;
    if (entries.empty())
      byPod.erase(podKey);
    else
      byPod[podKey] = std::move(entries);
  };
  const auto& def = set.content.definition;
  if (def.type == SetType::Ip)
    update(set.ipsByPod, set.ipCount, pod ? ipEntries(def, *pod, nsLabels) : std::vector<std::string>{});
  else if (def.type == SetType::IpPort)
    update(set.ipPortsByPod, set.ipPortCount, pod ? ipPortEntries(def, *pod, nsLabels) : std::vector<IpPortEntry>{});
  if (membersChanged) {
    set.dirty = true;
    set.cachedJson.reset();
    changes.sets.insert(set.content.id);
  }
}

std::unique_ptr<Engine::PolicyState> Engine::buildPolicy(const k8s::NetworkPolicy& policy, Changes& changes) {
  auto state = std::make_unique<PolicyState>();
  state->policy = policy;
  auto build = [&](const std::vector<k8s::PolicyRule>& rules, bool egress) {
    std::vector<RuleTemplate> out;
    for (const auto& rule : rules) {
      RuleTemplate t;
      t.allPorts = rule.ports.empty();
      for (const auto& p : rule.ports) {
        if (std::holds_alternative<std::monostate>(p.port)) {
          t.numeric.push_back({p.protocol, 0, 65535});
        } else if (const auto* n = std::get_if<uint16_t>(&p.port)) {
          t.numeric.push_back({p.protocol, *n, p.endPort.value_or(*n)});
        } else {
          t.named.emplace_back(std::get<std::string>(p.port), p.protocol);
        }
      }
      sortUnique(t.numeric);
      std::sort(t.named.begin(), t.named.end());
      t.named.erase(std::unique(t.named.begin(), t.named.end()), t.named.end());

      // Selection of each peer (index -1: no peers = every address).
      struct Selection {
        int index;
        std::optional<SetDefinition> def;  // nullopt: any address
      };
      std::vector<Selection> selections;
      if (rule.peers.empty()) selections.push_back({-1, std::nullopt});
      for (size_t i = 0; i < rule.peers.size(); ++i) {
        const auto& peer = rule.peers[i];
        SetDefinition def;
        if (peer.ipBlock) {
          def.type = SetType::Net;
          def.ipBlock = peer.ipBlock;
        } else {
          def = selectionOf(peer, policy.ns);
          def.type = SetType::Ip;
        }
        selections.push_back({static_cast<int>(i), def});
      }
      // Numeric ports (or all ports) with one set per peer; ingress named ports too, as
      // they resolve against the endpoint itself.
      bool portsPerPeer = t.allPorts || !t.numeric.empty() || (!egress && !t.named.empty());
      if (portsPerPeer) {
        for (const auto& s : selections) {
          RuleTemplate::Peer p{s.index, ""};
          if (s.def) {
            p.set = acquireSet(*s.def, changes);
            state->sets.push_back(p.set);
          }
          t.peers.push_back(p);
        }
      }
      // Egress named ports resolve per destination pod: an ip-port set per (peer, port).
      if (egress) {
        for (const auto& [name, protocol] : t.named) {
          for (const auto& s : selections) {
            SetDefinition def;
            if (s.def && s.def->type == SetType::Net) {
              def.ipBlock = s.def->ipBlock;  // pods (any namespace) with an address in the block
            } else if (s.def) {
              def = *s.def;
            }
            def.type = SetType::IpPort;
            def.portName = name;
            def.portProtocol = protocol;
            RuleTemplate::NamedPeer np{s.index, acquireSet(def, changes)};
            state->sets.push_back(np.set);
            t.namedPeers.push_back(np);
          }
        }
      }
      out.push_back(std::move(t));
    }
    return out;
  };
  if (policy.ingressType) state->ingress = build(policy.ingress, false);
  if (policy.egressType) state->egress = build(policy.egress, true);
  return state;
}

Engine::Contribution Engine::contribute(const PolicyState& state, const k8s::Pod& pod) const {
  Contribution c;
  const auto key = state.policy.key();
  c.ingress = state.policy.ingressType;
  c.egress = state.policy.egressType;
  for (size_t r = 0; r < state.ingress.size(); ++r) {
    const auto& t = state.ingress[r];
    std::vector<PortRange> ports = t.numeric;
    for (const auto& [name, protocol] : t.named)
      if (auto number = pod.namedPort(name, protocol)) ports.push_back({protocol, *number, *number});
    sortUnique(ports);
    if (!t.allPorts && ports.empty()) continue;  // only named ports this pod does not have
    for (const auto& p : t.peers)
      c.ingressRules.push_back(
          {p.set, t.allPorts ? std::vector<PortRange>{} : ports, {key, static_cast<int>(r), p.index}});
  }
  for (size_t r = 0; r < state.egress.size(); ++r) {
    const auto& t = state.egress[r];
    for (const auto& p : t.peers)
      c.egressRules.push_back(
          {p.set, t.allPorts ? std::vector<PortRange>{} : t.numeric, {key, static_cast<int>(r), p.index}});
    for (const auto& np : t.namedPeers) c.egressRules.push_back({np.set, {}, {key, static_cast<int>(r), np.index}});
  }
  return c;
}

void Engine::recomputeContribution(const std::string& podKey, const std::string& policyKey, Changes& changes) {
  auto ep = endpoints_.find(podKey);
  auto pod = pods_.find(podKey);
  if (ep == endpoints_.end() || pod == pods_.end()) return;
  auto st = policyStates_.find(policyKey);
  auto& contributions = ep->second->contributions;
  if (st != policyStates_.end() && st->second->policy.ns == pod->second.ns &&
      st->second->policy.podSelector.matches(pod->second.labels)) {
    st->second->targets.insert(podKey);
    auto c = contribute(*st->second, pod->second);
    auto it = contributions.find(policyKey);
    if (it == contributions.end() || !(it->second == c)) {
      contributions[policyKey] = std::move(c);
      changes.endpoints.insert(podKey);
    }
  } else {
    if (st != policyStates_.end()) st->second->targets.erase(podKey);
    if (contributions.erase(policyKey)) changes.endpoints.insert(podKey);
  }
}

void Engine::recomputeEndpoint(const std::string& podKey, Changes& changes) {
  auto pod = pods_.find(podKey);
  auto existing = endpoints_.find(podKey);
  bool local = pod != pods_.end() && (!options_.isLocal || options_.isLocal(pod->second));
  if (!local) {
    if (existing == endpoints_.end()) return;
    for (const auto& [policyKey, c] : existing->second->contributions)
      if (auto st = policyStates_.find(policyKey); st != policyStates_.end()) st->second->targets.erase(podKey);
    endpoints_.erase(existing);
    changes.endpoints.erase(podKey);
    changes.removedEndpoints.insert(podKey);
    return;
  }
  auto next = std::make_unique<EndpointState>();
  next->ips = canonicalIps(pod->second.ips);
  if (auto byNs = policiesByNamespace_.find(pod->second.ns); byNs != policiesByNamespace_.end()) {
    for (const auto& policyKey : byNs->second) {
      auto& st = *policyStates_.at(policyKey);
      if (st.policy.podSelector.matches(pod->second.labels)) {
        st.targets.insert(podKey);
        next->contributions[policyKey] = contribute(st, pod->second);
      } else {
        st.targets.erase(podKey);
      }
    }
  }
  if (existing == endpoints_.end() || !(*existing->second == *next)) {
    endpoints_[podKey] = std::move(next);
    changes.removedEndpoints.erase(podKey);
    changes.endpoints.insert(podKey);
  }
}

Changes Engine::upsertNamespace(const k8s::Namespace& ns) {
  Changes changes;
  auto before = labelsOfNamespace(ns.name);
  namespaces_[ns.name] = ns;
  if (before == ns.labels) return changes;
  auto pods = podsByNamespace_.find(ns.name);
  if (pods == podsByNamespace_.end()) return changes;
  for (auto& [id, set] : sets_) {
    const auto& def = set->content.definition;
    if (def.type == SetType::Net || def.namespaceName || !def.namespaceSelector) continue;
    for (const auto& podKey : pods->second) refreshSetForPod(*set, podKey, &pods_.at(podKey), ns.labels, changes);
  }
  return changes;
}

Changes Engine::deleteNamespace(const std::string& name) {
  Changes changes;
  auto it = namespaces_.find(name);
  if (it == namespaces_.end()) return changes;
  k8s::Namespace unknown{name, {{k8s::kNamespaceNameLabel, name}}};
  changes = upsertNamespace(unknown);  // label sets see what an unknown namespace has
  namespaces_.erase(name);
  return changes;
}

Changes Engine::upsertPod(const k8s::Pod& pod) {
  Changes changes;
  const auto key = pod.key();
  auto old = pods_.find(key);
  if (old != pods_.end() && old->second == pod) return changes;
  pods_[key] = pod;
  podsByNamespace_[pod.ns].insert(key);
  const auto& stored = pods_.at(key);
  auto labels = labelsOfNamespace(pod.ns);
  for (auto& [id, set] : sets_)
    if (set->content.definition.type != SetType::Net) refreshSetForPod(*set, key, &stored, labels, changes);
  recomputeEndpoint(key, changes);
  return changes;
}

Changes Engine::deletePod(const std::string& ns, const std::string& name) {
  Changes changes;
  const auto key = ns + "/" + name;
  if (!pods_.count(key)) return changes;
  for (auto& [id, set] : sets_)
    if (set->content.definition.type != SetType::Net) refreshSetForPod(*set, key, nullptr, {}, changes);
  pods_.erase(key);
  if (auto it = podsByNamespace_.find(ns); it != podsByNamespace_.end()) {
    it->second.erase(key);
    if (it->second.empty()) podsByNamespace_.erase(it);
  }
  recomputeEndpoint(key, changes);
  return changes;
}

Changes Engine::upsertPolicy(const k8s::NetworkPolicy& policy) {
  Changes changes;
  const auto key = policy.key();
  std::unique_ptr<PolicyState> old;
  if (auto it = policyStates_.find(key); it != policyStates_.end()) {
    if (it->second->policy == policy) return changes;
    old = std::move(it->second);
  }
  auto state = buildPolicy(policy, changes);  // acquire new sets before releasing old ones
  std::set<std::string> affected;
  if (old) affected = old->targets;
  policies_[key] = policy;
  policyStates_[key] = std::move(state);
  policiesByNamespace_[policy.ns].insert(key);
  if (auto pods = podsByNamespace_.find(policy.ns); pods != podsByNamespace_.end())
    for (const auto& podKey : pods->second)
      if (endpoints_.count(podKey) && policy.podSelector.matches(pods_.at(podKey).labels)) affected.insert(podKey);
  for (const auto& podKey : affected) recomputeContribution(podKey, key, changes);
  if (old)
    for (const auto& id : old->sets) releaseSet(id, changes);
  return changes;
}

Changes Engine::deletePolicy(const std::string& ns, const std::string& name) {
  Changes changes;
  const auto key = ns + "/" + name;
  auto it = policyStates_.find(key);
  if (it == policyStates_.end()) return changes;
  auto state = std::move(it->second);
  policyStates_.erase(it);
  policies_.erase(key);
  if (auto byNs = policiesByNamespace_.find(ns); byNs != policiesByNamespace_.end()) {
    byNs->second.erase(key);
    if (byNs->second.empty()) policiesByNamespace_.erase(byNs);
  }
  for (const auto& podKey : state->targets)
    if (auto ep = endpoints_.find(podKey); ep != endpoints_.end() && ep->second->contributions.erase(key))
      changes.endpoints.insert(podKey);
  for (const auto& id : state->sets) releaseSet(id, changes);
  return changes;
}

std::vector<std::string> Engine::endpointKeys() const {
  std::vector<std::string> keys;
  for (const auto& [key, ep] : endpoints_) keys.push_back(key);
  return keys;
}

std::optional<CompiledEndpoint> Engine::endpoint(const std::string& key) const {
  auto it = endpoints_.find(key);
  if (it == endpoints_.end()) return std::nullopt;
  const auto& pod = pods_.at(key);
  CompiledEndpoint out;
  out.ns = pod.ns;
  out.name = pod.name;
  out.ips = it->second->ips;
  for (const auto& [policyKey, c] : it->second->contributions) {
    if (c.ingress) {
      out.ingress.isolated = true;
      out.ingress.policies.push_back(policyKey);
      out.ingress.rules.insert(out.ingress.rules.end(), c.ingressRules.begin(), c.ingressRules.end());
    }
    if (c.egress) {
      out.egress.isolated = true;
      out.egress.policies.push_back(policyKey);
      out.egress.rules.insert(out.egress.rules.end(), c.egressRules.begin(), c.egressRules.end());
    }
  }
  return out;
}

const AddressSet* Engine::set(const std::string& id) const {
  auto it = sets_.find(id);
  if (it == sets_.end()) return nullptr;
  return &it->second->materialise();
}

std::vector<std::string> Engine::setIds() const {
  std::vector<std::string> ids;
  for (const auto& [id, s] : sets_) ids.push_back(id);
  return ids;
}

json Engine::endpointJson(const std::string& key) const {
  auto ep = endpoint(key);
  if (!ep) throw std::out_of_range("no local endpoint " + key);
  json j = toJson(*ep);
  json sets = json::object();
  for (const auto* rules : {&ep->ingress.rules, &ep->egress.rules})
    for (const auto& r : *rules)
      if (!r.set.empty() && !sets.contains(r.set)) sets[r.set] = sets_.at(r.set)->toJson();
  j["sets"] = sets;
  return j;
}

std::set<std::string> Engine::affectedEndpoints(const Changes& changes) const {
  std::set<std::string> out;
  for (const auto& key : changes.endpoints)
    if (endpoints_.count(key)) out.insert(key);
  if (changes.sets.empty()) return out;
  for (const auto& [key, ep] : endpoints_) {
    if (out.count(key)) continue;
    for (const auto& [policyKey, c] : ep->contributions) {
      auto uses = [&](const std::vector<CompiledRule>& rules) {
        return std::any_of(rules.begin(), rules.end(),
                           [&](const CompiledRule& r) { return changes.sets.count(r.set); });
      };
      if (uses(c.ingressRules) || uses(c.egressRules)) {
        out.insert(key);
        break;
      }
    }
  }
  return out;
}

Verdict Engine::verdict(const std::string& from, const std::string& to, uint16_t port, k8s::Protocol protocol) const {
  auto f = pods_.find(from);
  if (f == pods_.end()) throw std::out_of_range("no pod " + from);
  auto t = pods_.find(to);
  if (t == pods_.end()) throw std::out_of_range("no pod " + to);
  return evaluate(state(), f->second, t->second, port, protocol);
}

bool Engine::compiledVerdict(const std::string& from, const std::string& to, uint16_t port,
                             k8s::Protocol protocol) const {
  if (from == to) return true;
  auto source = endpoint(from);
  auto destination = endpoint(to);
  if (!source) throw std::out_of_range("no local endpoint " + from);
  if (!destination) throw std::out_of_range("no local endpoint " + to);
  std::string sourceIp = source->ips.empty() ? "" : source->ips.front();
  std::string destinationIp = destination->ips.empty() ? "" : destination->ips.front();
  auto allows = [&](const DirectionRules& rules, const std::string& remoteIp) {
    if (!rules.isolated) return true;
    for (const auto& r : rules.rules) {
      bool peer = true;
      if (!r.set.empty()) {
        const auto* s = set(r.set);
        if (!s || remoteIp.empty()) continue;
        peer = s->definition.type == SetType::IpPort ? s->containsIpPort(remoteIp, protocol, port)
                                                     : s->containsIp(remoteIp);
      }
      if (!peer) continue;
      if (r.ports.empty()) return true;
      for (const auto& p : r.ports)
        if (p.contains(protocol, port)) return true;
    }
    return false;
  };
  return allows(source->egress, destinationIp) && allows(destination->ingress, sourceIp);
}

}  // namespace cnikit::policy
