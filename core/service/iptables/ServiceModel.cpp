#include "core/service/iptables/ServiceModel.hpp"

namespace cnikit::service::iptables {

namespace {

const std::vector<IptablesRule> kNoRules;
const ServiceRules kNoServiceRules;

const std::vector<IptablesRule>& shardRules(const ServiceRules& rules, uint8_t shard) {
  auto it = rules.shardEntries.find(shard);
  return it == rules.shardEntries.end() ? kNoRules : it->second;
}

template <class Member>
void setMember(std::set<Member>& members, const Member& key, bool in) {
  if (in)
    members.insert(key);
  else
    members.erase(key);
}

}  // namespace

FamilyPlan FamilyModel::plan(Family family, const NodeContext& node, const ChainOptions& options,
                             const std::set<std::string>& keys, const RulesFn& rulesFor, bool full) const {
  FamilyPlan plan;
  for (const auto& key : keys) {
    ServiceRules next = rulesFor(key);
    auto it = services_.find(key);
    if (it == services_.end() ? next.empty() : (!full && it->second == next)) continue;
    plan.updates[key] = std::move(next);
  }
  auto rulesOf = [&](const std::string& key) -> const ServiceRules& {
    auto u = plan.updates.find(key);
    return u != plan.updates.end() ? u->second : services_.at(key);
  };

  // Which shared chains the changes touch, and their members afterwards.
  std::set<uint8_t> shards;
  bool nodePortsChanged = full;
  plan.rejectChanged = full;
  plan.shardMembers = shardMembers_;
  plan.nodePortMembers = nodePortMembers_;
  plan.rejectMembers = rejectMembers_;
  plan.hairpinMembers = hairpinMembers_;
  for (const auto& [key, rules] : plan.updates) {
    auto old = services_.find(key);
    const ServiceRules& before = old == services_.end() ? kNoServiceRules : old->second;
    std::set<uint8_t> touched;
    for (const auto& [shard, entries] : before.shardEntries) touched.insert(shard);
    for (const auto& [shard, entries] : rules.shardEntries) touched.insert(shard);
    for (uint8_t shard : touched) {
      if (full || shardRules(before, shard) != shardRules(rules, shard)) shards.insert(shard);
      auto& members = plan.shardMembers[shard];
      setMember(members, key, rules.shardEntries.count(shard) > 0);
      if (members.empty()) plan.shardMembers.erase(shard);
    }
    if (before.nodePortEntries != rules.nodePortEntries) nodePortsChanged = true;
    if (before.rejectEntries != rules.rejectEntries) plan.rejectChanged = true;
    setMember(plan.nodePortMembers, key, !rules.nodePortEntries.empty());
    setMember(plan.rejectMembers, key, !rules.rejectEntries.empty());
    std::set<std::string> addresses = before.hairpinAddresses;
    addresses.insert(rules.hairpinAddresses.begin(), rules.hairpinAddresses.end());
    for (const auto& address : addresses) {
      auto& members = plan.hairpinMembers[address];
      setMember(members, key, rules.hairpinAddresses.count(address) > 0);
      if (members.empty()) plan.hairpinMembers.erase(address);
    }

    for (const auto& backend : before.udpBackends)
      if (!rules.udpBackends.count(backend)) plan.staleUdpBackends.insert(backend);

    // The Service's own chains: those that differ, and those it no longer has.
    for (const auto& [chain, chainRules] : rules.chains) {
      if (!full) {
        auto was = before.chains.find(chain);
        if (was != before.chains.end() && was->second == chainRules) continue;
      }
      plan.natWrites[chain] = chainRules;
    }
    for (const auto& [chain, chainRules] : before.chains)
      if (!rules.chains.count(chain)) plan.natRemoves.insert(chain);
  }
  plan.natWanted = !plan.shardMembers.empty() || !plan.nodePortMembers.empty();
  const bool natHad = natInUse();

  if (full)
    for (const auto& [shard, members] : plan.shardMembers) shards.insert(shard);
  for (uint8_t shard : shards) {
    auto members = plan.shardMembers.find(shard);
    if (members == plan.shardMembers.end()) {
      plan.natRemoves.insert(shardChainName(shard));
      continue;
    }
    std::vector<IptablesRule> rules;
    for (const auto& key : members->second) {
      const auto& entries = shardRules(rulesOf(key), shard);
      rules.insert(rules.end(), entries.begin(), entries.end());
    }
    plan.natWrites[shardChainName(shard)] = std::move(rules);
  }
  if (nodePortsChanged) {
    std::vector<IptablesRule> rules;
    for (const auto& key : plan.nodePortMembers) {
      const auto& entries = rulesOf(key).nodePortEntries;
      rules.insert(rules.end(), entries.begin(), entries.end());
    }
    if (rules.empty())
      plan.natRemoves.insert(kNodePortsChain);
    else
      plan.natWrites[kNodePortsChain] = std::move(rules);
  }
  // The dispatch chain changes only with the set of shards in use (or node ports on/off).
  if (plan.natWanted) {
    std::vector<uint8_t> shardList, before;
    for (const auto& [shard, members] : plan.shardMembers) shardList.push_back(shard);
    for (const auto& [shard, members] : shardMembers_) before.push_back(shard);
    const bool sameShards = before == shardList;
    if (full || !natHad || !sameShards || nodePortMembers_.empty() != plan.nodePortMembers.empty())
      plan.natWrites[kServicesChain] = buildServicesDispatch(shardList, node, family, !plan.nodePortMembers.empty());
    std::vector<std::string> hairpins, hairpinsBefore;
    for (const auto& [address, members] : plan.hairpinMembers) hairpins.push_back(address);
    for (const auto& [address, members] : hairpinMembers_) hairpinsBefore.push_back(address);
    if (full || !natHad || hairpins != hairpinsBefore)
      plan.natWrites[kPostroutingChain] = buildPostrouting(hairpins, options);
    if (full || !natHad) plan.natWrites[kMarkNonPodChain] = buildMarkNonPod(node, family, options);
  } else {
    for (const char* chain : {kServicesChain, kPostroutingChain, kMarkNonPodChain, kNodePortsChain})
      plan.natRemoves.insert(chain);
  }
  plan.natTouched = full || !plan.natWrites.empty() || !plan.natRemoves.empty();
  if (!plan.natWanted && !natHad && !full) plan.natTouched = false;

  if (plan.rejectChanged)
    for (const auto& key : plan.rejectMembers) {
      const auto& entries = rulesOf(key).rejectEntries;
      plan.rejectRules.insert(plan.rejectRules.end(), entries.begin(), entries.end());
    }
  return plan;
}

void FamilyModel::accept(FamilyPlan&& plan) {
  for (auto& [key, rules] : plan.updates) {
    if (rules.empty())
      services_.erase(key);
    else
      services_[key] = std::move(rules);
  }
  shardMembers_ = std::move(plan.shardMembers);
  nodePortMembers_ = std::move(plan.nodePortMembers);
  rejectMembers_ = std::move(plan.rejectMembers);
  hairpinMembers_ = std::move(plan.hairpinMembers);
}

}  // namespace cnikit::service::iptables
