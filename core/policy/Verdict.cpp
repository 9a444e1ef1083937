#include "core/policy/Verdict.hpp"

#include <cnikit/toolkit/IpAddress.hpp>

namespace cnikit::policy {

k8s::Labels namespaceLabels(const std::map<std::string, k8s::Namespace>& namespaces, const std::string& name) {
  auto it = namespaces.find(name);
  if (it != namespaces.end()) return it->second.labels;
  return {{k8s::kNamespaceNameLabel, name}};
}

namespace {

bool podInBlock(const k8s::IpBlock& block, const k8s::Pod& pod) {
  auto net = k8s::parseBlockCidr(block.cidr);
  if (!net) return false;
  for (const auto& text : pod.ips) {
    auto ip = toolkit::IpAddress::tryParse(text);
    if (!ip || !net->contains(*ip)) continue;
    bool excepted = false;
    for (const auto& e : block.except) {
      auto x = k8s::parseBlockCidr(e);
      if (x && x->contains(*ip)) excepted = true;
    }
    if (!excepted) return true;
  }
  return false;
}

}  // namespace

bool peerSelects(const k8s::PolicyPeer& peer, const std::string& policyNamespace, const k8s::Pod& pod,
                 const k8s::Labels& podNamespaceLabels) {
  if (peer.ipBlock) return podInBlock(*peer.ipBlock, pod);
  // namespaceSelector absent: the policy's own namespace. Both present: both must match.
  bool namespaceOk =
      peer.namespaceSelector ? peer.namespaceSelector->matches(podNamespaceLabels) : pod.ns == policyNamespace;
  bool podOk = !peer.podSelector || peer.podSelector->matches(pod.labels);
  return namespaceOk && podOk;
}

bool portMatches(const k8s::PolicyPort& policyPort, const k8s::Pod& destination, k8s::Protocol protocol,
                 uint16_t port) {
  if (policyPort.protocol != protocol) return false;
  if (std::holds_alternative<std::monostate>(policyPort.port)) return true;
  if (const auto* number = std::get_if<uint16_t>(&policyPort.port)) {
    uint16_t last = policyPort.endPort.value_or(*number);
    return port >= *number && port <= last;
  }
  const auto& name = std::get<std::string>(policyPort.port);
  auto resolved = destination.namedPort(name, protocol);
  return resolved && *resolved == port;
}

namespace {

// One side: `subject` is the pod whose policies apply, `peer` the other end, `destination`
// the pod that receives the connection (named ports resolve against it).
DirectionVerdict evaluateSide(const ClusterState& state, const k8s::Pod& subject, const k8s::Pod& peer,
                              const k8s::Pod& destination, bool ingress, uint16_t port, k8s::Protocol protocol) {
  DirectionVerdict out;
  auto peerLabels = namespaceLabels(state.namespaces, peer.ns);
  for (const auto& [key, policy] : state.policies) {
    if (policy.ns != subject.ns) continue;
    if (ingress ? !policy.ingressType : !policy.egressType) continue;
    if (!policy.podSelector.matches(subject.labels)) continue;
    out.isolated = true;
    out.policies.push_back(key);
    const auto& rules = ingress ? policy.ingress : policy.egress;
    for (size_t r = 0; r < rules.size(); ++r) {
      const auto& rule = rules[r];
      std::vector<int> ports;
      if (rule.ports.empty()) ports.push_back(-1);
      for (size_t p = 0; p < rule.ports.size(); ++p)
        if (portMatches(rule.ports[p], destination, protocol, port)) ports.push_back(static_cast<int>(p));
      if (ports.empty()) continue;
      std::vector<int> peers;
      if (rule.peers.empty()) peers.push_back(-1);
      for (size_t p = 0; p < rule.peers.size(); ++p)
        if (peerSelects(rule.peers[p], policy.ns, peer, peerLabels)) peers.push_back(static_cast<int>(p));
      for (int pe : peers)
        for (int po : ports) out.allowedBy.push_back({key, static_cast<int>(r), pe, po});
    }
  }
  return out;
}

}  // namespace

Verdict evaluate(const ClusterState& state, const k8s::Pod& from, const k8s::Pod& to, uint16_t port,
                 k8s::Protocol protocol) {
  Verdict v;
  v.egress = evaluateSide(state, from, to, to, false, port, protocol);
  v.ingress = evaluateSide(state, to, from, to, true, port, protocol);
  v.samePod = from.key() == to.key();
  v.allowed = v.samePod || (v.egress.allowed() && v.ingress.allowed());
  return v;
}

}  // namespace cnikit::policy
