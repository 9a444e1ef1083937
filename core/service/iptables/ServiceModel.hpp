#pragma once
// What the iptables service proxy has programmed in one address family, and the plan of an
// update against it (which chains to write, which to remove), computed without the kernel
// so that the incremental diff is unit-testable. IptablesServiceProxy carries plans out.
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/service/iptables/ServiceChains.hpp"

namespace cnikit::service::iptables {

struct FamilyPlan {
  // Services whose rules change (empty rules: they go).
  std::map<std::string, ServiceRules> updates;
  // nat table: chains to create or rewrite, chains to remove, and whether our hooks and
  // shared chains stay (false: everything of ours in nat goes).
  std::map<std::string, std::vector<IptablesRule>> natWrites;
  std::set<std::string> natRemoves;
  bool natWanted = false;
  bool natTouched = false;  // anything to do in nat at all
  // filter table: the reject chain's whole content when it changed.
  bool rejectChanged = false;
  std::vector<IptablesRule> rejectRules;
  // Indices after the update.
  std::map<uint8_t, std::set<std::string>> shardMembers;
  std::set<std::string> nodePortMembers;
  std::set<std::string> rejectMembers;
  std::map<std::string, std::set<std::string>> hairpinMembers;  // address -> Services
  // UDP backends some changed Service no longer sends to: their flows are flushed after
  // the commit (another Service may still use one: flushing it costs a re-balance, no more).
  std::set<std::pair<std::string, uint16_t>> staleUdpBackends;
};

class FamilyModel {
 public:
  using RulesFn = std::function<ServiceRules(const std::string& key)>;

  // `keys`: the Services to look at (rulesFor gives their new rules; empty: gone). With
  // `full`, every chain of every Service in `keys` and every shared chain is in natWrites
  // (the caller keeps those the kernel already holds exactly) and `keys` must name every
  // Service there is.
  FamilyPlan plan(Family family, const NodeContext& node, const ChainOptions& options,
                  const std::set<std::string>& keys, const RulesFn& rulesFor, bool full) const;
  // The kernel has the plan: remember it.
  void accept(FamilyPlan&& plan);

  const std::map<std::string, ServiceRules>& services() const { return services_; }
  size_t shardCount() const { return shardMembers_.size(); }
  bool hasNodePorts() const { return !nodePortMembers_.empty(); }
  bool hasRejects() const { return !rejectMembers_.empty(); }
  bool natInUse() const { return !shardMembers_.empty() || !nodePortMembers_.empty(); }

 private:
  std::map<std::string, ServiceRules> services_;  // non-empty ones only
  std::map<uint8_t, std::set<std::string>> shardMembers_;
  std::set<std::string> nodePortMembers_;
  std::set<std::string> rejectMembers_;
  std::map<std::string, std::set<std::string>> hairpinMembers_;
};

}  // namespace cnikit::service::iptables
