#pragma once
// The core's service proxy for iptables: the service table as nat-table chains (legacy
// tables through libiptc, both address families), laid out as in ServiceChains.hpp, plus
// filter-table rejects for frontends without a backend.
//
// Incremental: apply() rebuilds the rules of the changed Services only, compares them with
// what it programmed, and rewrites just the chains that differ (a Service's own chains and
// the dispatch shards its addresses fall in); everything else of the table is left as the
// snapshot had it. libiptc still replaces the whole table in the kernel at commit (one
// iptc_commit per table per update, under /run/xtables.lock): that cost grows with the
// table, see docs/services.md "The iptables proxy".
//
// sync() makes the kernel equal to the table without disturbing what is right: chains that
// already hold exactly the wanted rules (an earlier run's, found by their stable names) are
// left alone, others rewritten, chains of ours nothing wants any more removed.
//
// The proxy acts on the network namespace of the thread that constructs it, whichever thread
// calls it later. The destructor leaves the rules in place (an agent restart keeps serving);
// removeAll() clears them.
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include <cnikit/toolkit/Netns.hpp>
#include <cnikit/toolkit/XtablesLock.hpp>
#include "core/service/ServiceProvider.hpp"
#include "core/service/iptables/ServiceChains.hpp"
#include "core/service/iptables/ServiceModel.hpp"

namespace cnikit::service::iptables {

struct IptablesServiceProxyOptions {
  ChainOptions chains;
  std::string lockPath = toolkit::kXtablesLockPath;
  std::chrono::milliseconds lockTimeout{10000};
};

// What one update did, for logs, status and benchmarks.
struct ServiceApplyStats {
  int services = 0;       // Services looked at
  int chainsWritten = 0;  // created or rewritten
  int chainsKept = 0;     // sync: found holding exactly the wanted rules
  int chainsDeleted = 0;
  int rulesWritten = 0;
  int commits = 0;
  int udpFlowsFlushed = 0;  // conntrack entries of UDP flows to removed backends deleted
  double buildMs = 0;       // rules computed and compared in memory
  double readMs = 0;        // libiptc snapshots
  double writeMs = 0;       // chains rewritten in the snapshots
  double commitMs = 0;      // iptc_commit (the kernel replaces the table)
  double totalMs = 0;
  nlohmann::json toJson() const;
};

class IptablesServiceProxy : public ServiceProvider {
 public:
  // Binds to the calling thread's network namespace.
  explicit IptablesServiceProxy(IptablesServiceProxyOptions options = {});
  ~IptablesServiceProxy() override;
  IptablesServiceProxy(const IptablesServiceProxy&) = delete;
  IptablesServiceProxy& operator=(const IptablesServiceProxy&) = delete;

  const char* name() const override { return "iptables"; }
  void sync(const NodeContext& node, const ServiceTable& table) override;
  // After a failure, or with a different NodeContext, runs a sync() instead.
  void apply(const NodeContext& node, const ServiceTable& table, const ServiceChanges& changed) override;
  // Removes every chain, rule and hook of the proxy.
  void removeAll() override;

  // {"services", "chains", "rules", "updates", "inSync", "lastUpdate": {...}, "flavour"}
  nlohmann::json status() const override;
  // {"provider": "iptables", "ipv4": ["-A CHAIN ...", ...], "ipv6": [...]} in iptables-save
  // syntax (filter-table lines say "-t filter"), rendered from what was committed.
  nlohmann::json explain(const std::string& serviceKey) const override;
  ServiceApplyStats lastUpdate() const;
  size_t chainCount() const;
  size_t ruleCount() const;

 private:
  using RulesFn = std::function<ServiceRules(const std::string& key, Family family)>;

  void program(const NodeContext& node, const RulesFn& rulesFor, const std::set<std::string>& keys, bool full);
  void programFamily(Family family, const NodeContext& node, const RulesFn& rulesFor, const std::set<std::string>& keys,
                     bool full, ServiceApplyStats& stats);
  FamilyModel& state(Family family) { return family == Family::V4 ? v4_ : v6_; }
  const FamilyModel& state(Family family) const { return family == Family::V4 ? v4_ : v6_; }

  IptablesServiceProxyOptions options_;
  toolkit::Netns netns_;
  mutable std::mutex stateMutex_;  // guards what status() and explain() read
  FamilyModel v4_;
  FamilyModel v6_;
  NodeContext node_;
  bool needsSync_ = true;
  ServiceApplyStats last_;
  uint64_t updates_ = 0;
};

}  // namespace cnikit::service::iptables
