#pragma once
// NetworkPolicy v1 semantics evaluated directly on the objects, for one connection between
// two pods: the reference the compiled rule sets are tested against, and what `policy
// matrix` and `policy explain` print. A connection is allowed when the egress side of the
// source and the ingress side of the destination both allow it; a side that no policy
// isolates allows everything; policies only add allowances; a pod always reaches itself.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/k8s/Objects.hpp"

namespace cnikit::policy {

struct ClusterState {
  const std::map<std::string, k8s::Namespace>& namespaces;    // by name
  const std::map<std::string, k8s::Pod>& pods;                // by "ns/name"
  const std::map<std::string, k8s::NetworkPolicy>& policies;  // by "ns/name"
};

// Labels of a namespace; one that was never applied has only kubernetes.io/metadata.name
// (what the apiserver would give it).
k8s::Labels namespaceLabels(const std::map<std::string, k8s::Namespace>& namespaces, const std::string& name);

// Does the peer (of a policy in policyNamespace) select this pod?
bool peerSelects(const k8s::PolicyPeer& peer, const std::string& policyNamespace, const k8s::Pod& pod,
                 const k8s::Labels& podNamespaceLabels);
// Does the policy port match a connection to `destination` on protocol/port?
bool portMatches(const k8s::PolicyPort& policyPort, const k8s::Pod& destination, k8s::Protocol protocol, uint16_t port);

struct RuleMatch {
  std::string policy;  // "ns/name"
  int rule = 0;
  int peer = -1;  // -1: the rule has no peers (every peer)
  int port = -1;  // -1: the rule has no ports (every port)
  bool operator==(const RuleMatch&) const = default;
};

struct DirectionVerdict {
  bool isolated = false;
  std::vector<std::string> policies;  // that isolate this side in this direction
  std::vector<RuleMatch> allowedBy;   // every rule/peer/port that allows the connection
  bool allowed() const { return !isolated || !allowedBy.empty(); }
};

struct Verdict {
  bool allowed = false;
  bool samePod = false;      // a pod always reaches itself
  DirectionVerdict egress;   // of the source
  DirectionVerdict ingress;  // of the destination
};

Verdict evaluate(const ClusterState& state, const k8s::Pod& from, const k8s::Pod& to, uint16_t port,
                 k8s::Protocol protocol);

}  // namespace cnikit::policy
