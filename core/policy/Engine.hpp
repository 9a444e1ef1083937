#pragma once
// The NetworkPolicy engine: holds namespaces, pods and policies, and keeps per local
// endpoint (pod) a compiled rule set (CompiledRules.hpp) over shared address sets
// (AddressSet.hpp), recomputed incrementally: every update returns what changed, and only
// endpoints and sets the update can affect are looked at.
//  - a policy change touches the pods its old and new podSelector select, and its sets;
//  - a pod change touches its own endpoint and the sets it may enter or leave;
//  - a namespace label change touches the sets with a namespaceSelector.
// Not thread-safe: one owner (the agent's policy loop) calls it.
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/k8s/Objects.hpp"
#include "core/policy/AddressSet.hpp"
#include "core/policy/CompiledRules.hpp"
#include "core/policy/Verdict.hpp"

namespace cnikit::policy {

// What one or more updates changed.
struct Changes {
  std::set<std::string> endpoints;         // compiled rules (or the pod's own addresses) changed, or new
  std::set<std::string> removedEndpoints;  // no longer a local endpoint
  std::set<std::string> sets;              // members changed, or new
  std::set<std::string> removedSets;       // no rule refers to them any more

  bool empty() const { return endpoints.empty() && removedEndpoints.empty() && sets.empty() && removedSets.empty(); }
  void merge(const Changes& later);
};

struct EngineOptions {
  // Which pods are endpoints to compile for (e.g. those on this node). Default: every pod.
  // Address sets always cover every pod.
  std::function<bool(const k8s::Pod&)> isLocal;
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Changes upsertNamespace(const k8s::Namespace& ns);
  Changes deleteNamespace(const std::string& name);
  Changes upsertPod(const k8s::Pod& pod);
  Changes deletePod(const std::string& ns, const std::string& name);
  Changes upsertPolicy(const k8s::NetworkPolicy& policy);
  Changes deletePolicy(const std::string& ns, const std::string& name);

  // Local endpoints ("ns/name"), sorted.
  std::vector<std::string> endpointKeys() const;
  std::optional<CompiledEndpoint> endpoint(const std::string& key) const;
  const AddressSet* set(const std::string& id) const;
  std::vector<std::string> setIds() const;
  // The rules_json of cnikit_policy_ops.endpoint_policy_set: the compiled endpoint plus the
  // sets it refers to ("sets": {id: {...}}). Throws std::out_of_range for an unknown key.
  nlohmann::json endpointJson(const std::string& key) const;
  // Endpoints whose endpointJson differs after `changes`: changed ones plus those that refer
  // to a changed set (removed ones excluded).
  std::set<std::string> affectedEndpoints(const Changes& changes) const;

  // Semantic verdict for a connection between two known pods ("ns/name"); throws
  // std::out_of_range naming an unknown pod.
  Verdict verdict(const std::string& from, const std::string& to, uint16_t port, k8s::Protocol protocol) const;
  // The same decision taken from the compiled rule sets and set contents alone, as a
  // datapath would (both endpoints must be local; addresses: the pods' first IPs).
  bool compiledVerdict(const std::string& from, const std::string& to, uint16_t port, k8s::Protocol protocol) const;

  const std::map<std::string, k8s::Namespace>& namespaces() const { return namespaces_; }
  const std::map<std::string, k8s::Pod>& pods() const { return pods_; }
  const std::map<std::string, k8s::NetworkPolicy>& policies() const { return policies_; }
  ClusterState state() const { return {namespaces_, pods_, policies_}; }

 private:
  struct SetState;
  struct PolicyState;
  struct Contribution;
  struct EndpointState;

  std::string acquireSet(const SetDefinition& def, Changes& changes);
  void releaseSet(const std::string& id, Changes& changes);
  void refreshSetForPod(SetState& set, const std::string& podKey, const k8s::Pod* pod, const k8s::Labels& nsLabels,
                        Changes& changes);
  std::unique_ptr<PolicyState> buildPolicy(const k8s::NetworkPolicy& policy, Changes& changes);
  Contribution contribute(const PolicyState& policy, const k8s::Pod& pod) const;
  void recomputeEndpoint(const std::string& podKey, Changes& changes);
  void recomputeContribution(const std::string& podKey, const std::string& policyKey, Changes& changes);
  k8s::Labels labelsOfNamespace(const std::string& name) const;

  EngineOptions options_;
  std::map<std::string, k8s::Namespace> namespaces_;
  std::map<std::string, k8s::Pod> pods_;
  std::map<std::string, k8s::NetworkPolicy> policies_;
  std::map<std::string, std::unique_ptr<PolicyState>> policyStates_;
  std::map<std::string, std::unique_ptr<SetState>> sets_;
  std::map<std::string, std::unique_ptr<EndpointState>> endpoints_;
  std::map<std::string, std::set<std::string>> podsByNamespace_;
  std::map<std::string, std::set<std::string>> policiesByNamespace_;
};

}  // namespace cnikit::policy
