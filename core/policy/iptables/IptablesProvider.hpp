#pragma once
// The core NetworkPolicy datapath for iptables (legacy tables through libiptc) and ipset
// (through libipset): turns the engine's compiled rule sets into per-endpoint chains reached
// from a dispatch chain, and its address sets into ipsets, so the number of rules grows with
// policies and local endpoints, never with the pods a selector matches. Layout:
// PolicyChains.hpp.
//
// Every update is ordered so that no packet sees a half-made state: sets are created and
// filled first; then each address family's filter table is rewritten in memory and replaced
// in one iptc_commit (under /run/xtables.lock); sets nothing refers to any more are destroyed
// last. A set whose members changed is updated in place (add/del); a set found in the kernel
// at a resync is refilled atomically (a temporary set swapped in). Chains and sets no longer
// needed are removed. Calls are serialised in the process and return once the kernel has the
// new state: an endpoint's rules exist when apply() returns.
//
// The provider acts on the network namespace of the thread that constructs it, whichever
// thread calls it later. The destructor leaves the datapath in place (an agent restart
// keeps enforcing); sync() after a restart takes it over, removeAll() clears it.
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "core/policy/Engine.hpp"
#include "core/policy/PolicyProvider.hpp"
#include "core/policy/iptables/PolicyChains.hpp"
#include <cnikit/toolkit/Netns.hpp>
#include <cnikit/toolkit/XtablesLock.hpp>

namespace cnikit::policy::iptables {

struct IptablesProviderOptions {
  ChainOptions chains;
  // Set net.bridge.bridge-nf-call-iptables and -ip6tables to 1 in this namespace, so traffic
  // between pods on one Linux bridge passes the FORWARD chain at all.
  bool bridgeNetfilter = true;
  std::string lockPath = toolkit::kXtablesLockPath;
  std::chrono::milliseconds lockTimeout{10000};
};

// What one update did, for logs, metrics and benchmarks.
struct ApplyStats {
  int chainsWritten = 0;
  int chainsDeleted = 0;
  int setsWritten = 0;  // created, refilled or changed
  int setsDestroyed = 0;
  int commits = 0;  // iptc_commit calls (0: only set members changed)
  double ipsetMs = 0;
  double iptablesMs = 0;
  double totalMs = 0;
  nlohmann::json toJson() const;
};

class IptablesProvider : public PolicyProvider {
 public:
  // Binds to the calling thread's network namespace and sets the bridge sysctls there.
  explicit IptablesProvider(IptablesProviderOptions options = {});
  ~IptablesProvider() override;
  IptablesProvider(const IptablesProvider&) = delete;
  IptablesProvider& operator=(const IptablesProvider&) = delete;

  const char* name() const override { return "iptables"; }
  // Makes the kernel equal to the engine: every local endpoint, every set they use; removes
  // every other cnikit chain and set (also what an earlier run left). Use at start and
  // after a failed apply. What it did: lastUpdate().
  void sync(const Engine& engine) override;
  // Programs what `changes` (returned by the engine's updates, merged) touched. After a
  // failure (an exception), the next apply() runs a sync(). What it did: lastUpdate().
  void apply(const Engine& engine, const Changes& changes) override;
  // Removes every cnikit chain, the FORWARD jump and every cnikit set.
  void removeAll();

  // {"flavour": {...}, "bridgeNetfilter": {...}, "chains": N, "sets": N, "rules": N, ...}
  nlohmann::json status() const override;
  size_t chainCount() const;  // cnikit chains programmed (dispatch included), both families
  size_t setCount() const;    // ipsets programmed, both families
  size_t ruleCount() const;   // rules in them plus the FORWARD jumps
  ApplyStats lastUpdate() const;

 private:
  struct FamilyState {
    std::map<std::string, EndpointChains> endpoints;  // non-empty ones only
    std::map<std::string, SetContent> sets;           // by set id
    size_t dispatchRules = 0;
  };
  using EndpointFn = std::function<std::optional<CompiledEndpoint>(const std::string& key)>;

  ApplyStats program(const EndpointFn& endpointFor, const std::set<std::string>& keys, const SetLookup& sets,
                     const std::set<std::string>& changedSets, bool full);
  size_t chainsLocked() const;
  size_t rulesLocked() const;
  FamilyState& state(Family family) { return family == Family::V4 ? v4_ : v6_; }
  const FamilyState& state(Family family) const { return family == Family::V4 ? v4_ : v6_; }

  IptablesProviderOptions options_;
  // The node's namespace, where every call acts whichever thread (a store watch, a CNI
  // request) makes it: iptables, ipset and sysctl work on the calling thread's namespace.
  toolkit::Netns netns_;
  FamilyState v4_;
  FamilyState v6_;
  bool needsSync_ = true;
  nlohmann::json bridgeStatus_;
  ApplyStats last_;
  uint64_t updates_ = 0;
};

}  // namespace cnikit::policy::iptables
