#include "core/service/iptables/IptablesServiceProxy.hpp"

#include <algorithm>
#include <optional>

#include <spdlog/spdlog.h>

#include <cnikit/toolkit/IptcTable.hpp>
#include <cnikit/toolkit/NetnsGuard.hpp>
#include "core/policy/iptables/IptablesFlavour.hpp"
#include "core/service/iptables/ConntrackFlush.hpp"

namespace cnikit::service::iptables {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using toolkit::iptcMutex;
using toolkit::IptcTable;

namespace {

constexpr Family kFamilies[] = {Family::V4, Family::V6};
const std::vector<std::pair<std::string, std::string>> kNatHooks = {
    {"PREROUTING", kServicesChain}, {"OUTPUT", kServicesChain}, {"POSTROUTING", kPostroutingChain}};
const std::vector<std::pair<std::string, std::string>> kFilterHooks = {
    {"INPUT", kRejectChain}, {"FORWARD", kRejectChain}, {"OUTPUT", kRejectChain}};

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Chains to write in one table snapshot: every one is created before any is filled, since a
// jump needs its target chain to exist.
class TableWriter {
 public:
  TableWriter(IptcTable& table, bool checkKernel, ServiceApplyStats& stats)
      : table_(table), checkKernel_(checkKernel), stats_(stats) {}

  void write(const std::string& chain, std::vector<IptablesRule> rules) { writes_[chain] = std::move(rules); }
  void remove(const std::string& chain) { removes_.insert(chain); }
  bool writing(const std::string& chain) const { return writes_.count(chain) > 0; }

  // Jumps from built-in chains first (inserted at the top when missing, removed when the
  // target goes), then chains written, then chains removed (flushed first: they may refer to
  // each other).
  // hooks: (built-in chain, our chain it jumps to).
  void run(const std::vector<std::pair<std::string, std::string>>& hooks, bool hooked) {
    for (const auto& [builtin, target] : hooks) {
      auto targets = table_.ruleTargets(builtin);
      bool present = std::find(targets.begin(), targets.end(), target) != targets.end();
      if (!hooked)
        for (size_t at = targets.size(); at-- > 0;)
          if (targets[at] == target) table_.deleteRule(builtin, static_cast<unsigned>(at)).value();
      if (hooked && !present && !table_.hasChain(target)) table_.createChain(target).value();
      if (hooked && !present) table_.insert(builtin, toolkit::ruleTo(target), 0).value();
    }
    for (auto& [chain, rules] : writes_) {
      if (checkKernel_ && table_.holdsExactly(chain, rules).value()) {
        ++stats_.chainsKept;
        kept_.insert(chain);
        continue;
      }
      if (!table_.hasChain(chain)) table_.createChain(chain).value();
    }
    for (auto& [chain, rules] : writes_) {
      if (kept_.count(chain)) continue;
      table_.flushChain(chain).value();
      for (const auto& rule : rules) table_.append(chain, rule).value();
      ++stats_.chainsWritten;
      stats_.rulesWritten += static_cast<int>(rules.size());
    }
    std::vector<std::string> gone;
    for (const auto& chain : removes_)
      if (!writes_.count(chain) && table_.hasChain(chain)) gone.push_back(chain);
    for (const auto& chain : gone) table_.flushChain(chain).value();
    for (const auto& chain : gone) {
      table_.deleteChain(chain).value();
      ++stats_.chainsDeleted;
    }
  }

 private:
  IptcTable& table_;
  bool checkKernel_;
  ServiceApplyStats& stats_;
  std::map<std::string, std::vector<IptablesRule>> writes_;
  std::set<std::string> removes_;
  std::set<std::string> kept_;
};

}  // namespace

json ServiceApplyStats::toJson() const {
  return {{"services", services},         {"chainsWritten", chainsWritten},
          {"chainsKept", chainsKept},     {"chainsDeleted", chainsDeleted},
          {"rulesWritten", rulesWritten}, {"commits", commits},
          {"buildMs", buildMs},           {"readMs", readMs},
          {"writeMs", writeMs},           {"commitMs", commitMs},
          {"totalMs", totalMs},           {"udpFlowsFlushed", udpFlowsFlushed}};
}

IptablesServiceProxy::IptablesServiceProxy(IptablesServiceProxyOptions options)
    : options_(std::move(options)), netns_(toolkit::Netns::current().value()) {}

IptablesServiceProxy::~IptablesServiceProxy() = default;

void IptablesServiceProxy::sync(const NodeContext& node, const ServiceTable& table) {
  std::lock_guard lock(iptcMutex());
  auto scope = toolkit::NetnsGuard::enter(netns_).value();
  std::set<std::string> keys;
  for (const auto& [key, service] : table) keys.insert(key);
  for (Family family : kFamilies)
    for (const auto& [key, rules] : state(family).services()) keys.insert(key);
  program(
      node,
      [&](const std::string& key, Family family) {
        auto it = table.find(key);
        return it == table.end() ? ServiceRules{} : buildServiceRules(it->second, family, node, options_.chains);
      },
      keys, true);
}

void IptablesServiceProxy::apply(const NodeContext& node, const ServiceTable& table, const ServiceChanges& changed) {
  if (needsSync_ || node != node_) return sync(node, table);
  std::lock_guard lock(iptcMutex());
  auto scope = toolkit::NetnsGuard::enter(netns_).value();
  program(
      node,
      [&](const std::string& key, Family family) {
        auto it = table.find(key);
        return it == table.end() ? ServiceRules{} : buildServiceRules(it->second, family, node, options_.chains);
      },
      {changed.begin(), changed.end()}, false);
}

void IptablesServiceProxy::removeAll() {
  std::lock_guard lock(iptcMutex());
  auto scope = toolkit::NetnsGuard::enter(netns_).value();
  std::set<std::string> keys;
  for (Family family : kFamilies)
    for (const auto& [key, rules] : state(family).services()) keys.insert(key);
  program(
      node_, [](const std::string&, Family) { return ServiceRules{}; }, keys, true);
}

void IptablesServiceProxy::program(const NodeContext& node, const RulesFn& rulesFor, const std::set<std::string>& keys,
                                   bool full) {
  const auto start = Clock::now();
  ServiceApplyStats stats;
  needsSync_ = true;  // until this update went through completely
  for (Family family : kFamilies) programFamily(family, node, rulesFor, keys, full, stats);
  stats.services = static_cast<int>(keys.size());
  stats.totalMs = msSince(start);
  std::lock_guard lock(stateMutex_);
  node_ = node;
  needsSync_ = false;
  last_ = stats;
  ++updates_;
}

void IptablesServiceProxy::programFamily(Family family, const NodeContext& node, const RulesFn& rulesFor,
                                         const std::set<std::string>& keys, bool full, ServiceApplyStats& stats) {
  auto t = Clock::now();
  FamilyModel& model = state(family);
  FamilyPlan plan = model.plan(
      family, node, options_.chains, keys, [&](const std::string& key) { return rulesFor(key, family); }, full);
  stats.buildMs += msSince(t);

  auto commit = [&](IptcTable& table) {
    if (!table.changed()) return;
    auto c = Clock::now();
    table.commit().value();
    stats.commitMs += msSince(c);
    ++stats.commits;
  };
  // A node without (say) ip6_tables is fine as long as nothing of that family is wanted.
  auto open = [&](const char* name, bool needed) -> std::optional<IptcTable> {
    auto r = Clock::now();
    auto snapshot = IptcTable::open(family, name);
    stats.readMs += msSince(r);
    if (snapshot) return std::move(snapshot).value();
    if (needed) throw toolkit::ToolkitError(snapshot.error());
    spdlog::debug("services: skipping {} {}: {}", toolkit::ipFamilyName(family), name, snapshot.error().message);
    return std::nullopt;
  };

  if (plan.natTouched) {
    auto lock = toolkit::XtablesLock::acquire(options_.lockPath, options_.lockTimeout).value();
    if (auto nat = open("nat", plan.natWanted || model.natInUse())) {
      t = Clock::now();
      TableWriter writer(*nat, full, stats);
      for (auto& [chain, rules] : plan.natWrites) writer.write(chain, rules);
      for (const auto& chain : plan.natRemoves) writer.remove(chain);
      if (full)
        // A full pass names every chain it wants: the rest of ours is stale (an earlier run's).
        for (const auto& chain : nat->chains())
          if ((isServiceOwnedChain(chain) || isShardChain(chain)) && !writer.writing(chain)) writer.remove(chain);
      writer.run(kNatHooks, plan.natWanted);
      stats.writeMs += msSince(t);
      commit(*nat);
    }
  }
  if (plan.rejectChanged) {
    auto lock = toolkit::XtablesLock::acquire(options_.lockPath, options_.lockTimeout).value();
    if (auto filter = open("filter", !plan.rejectRules.empty() || model.hasRejects())) {
      t = Clock::now();
      TableWriter writer(*filter, full, stats);
      const bool hooked = !plan.rejectRules.empty();
      if (hooked)
        writer.write(kRejectChain, plan.rejectRules);
      else
        writer.remove(kRejectChain);
      writer.run(kFilterHooks, hooked);
      stats.writeMs += msSince(t);
      commit(*filter);
    }
  }

  // The kernel no longer sends new flows to them: end the UDP flows it still does.
  if (!plan.staleUdpBackends.empty()) {
    std::vector<UdpBackend> stale;
    for (const auto& [address, port] : plan.staleUdpBackends) stale.push_back({address, port});
    auto flushed = flushUdpConntrack(stale);
    if (!flushed)
      spdlog::warn("services: UDP flows to {} removed backend(s) are kept until they time out: {}", stale.size(),
                   flushed.error().message);
    else
      stats.udpFlowsFlushed += flushed.value();
  }

  std::lock_guard lock(stateMutex_);
  model.accept(std::move(plan));
}

ServiceApplyStats IptablesServiceProxy::lastUpdate() const {
  std::lock_guard lock(stateMutex_);
  return last_;
}

size_t IptablesServiceProxy::chainCount() const {
  std::lock_guard lock(stateMutex_);
  size_t n = 0;
  for (Family family : kFamilies) {
    const auto& m = state(family);
    for (const auto& [key, rules] : m.services()) n += rules.chains.size();
    n += m.shardCount() + (m.hasNodePorts() ? 1 : 0) + (m.hasRejects() ? 1 : 0);
    if (m.natInUse()) n += 3;  // dispatch, postrouting, non-pod mark
  }
  return n;
}

size_t IptablesServiceProxy::ruleCount() const {
  std::lock_guard lock(stateMutex_);
  size_t n = 0;
  for (Family family : kFamilies) {
    const auto& m = state(family);
    for (const auto& [key, rules] : m.services()) n += rules.ruleCount();
    if (m.natInUse()) n += m.shardCount() + 3;  // dispatch entries, hooks
  }
  return n;
}

json IptablesServiceProxy::status() const {
  json out;
  out["chains"] = chainCount();
  out["rules"] = ruleCount();
  {
    std::lock_guard lock(stateMutex_);
    out["services"] = {{"ipv4", v4_.services().size()}, {"ipv6", v6_.services().size()}};
    out["updates"] = updates_;
    out["inSync"] = !needsSync_;
    out["lastUpdate"] = last_.toJson();
  }
  auto scope = toolkit::NetnsGuard::enter(netns_).value();
  out["flavour"] = policy::iptables::inspectFlavours().toJson();
  return out;
}

json IptablesServiceProxy::explain(const std::string& serviceKey) const {
  std::lock_guard lock(stateMutex_);
  json out = {{"provider", "iptables"}};
  bool any = false;
  for (Family family : kFamilies) {
    const auto& services = state(family).services();
    auto it = services.find(serviceKey);
    if (it == services.end()) continue;
    any = true;
    json lines = renderLines(it->second, family);
    out[toolkit::ipFamilyName(family)] = lines;
  }
  return any ? out : json(nullptr);
}

}  // namespace cnikit::service::iptables
