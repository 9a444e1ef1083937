#include "core/k8s/Objects.hpp"

#include <stdexcept>

#include "core/k8s/JsonMembers.hpp"

namespace cnikit::k8s {

using nlohmann::json;

const char* protocolName(Protocol p) {
  switch (p) {
    case Protocol::TCP: return "TCP";
    case Protocol::UDP: return "UDP";
    case Protocol::SCTP: return "SCTP";
  }
  return "?";
}

std::optional<Protocol> parseProtocol(const std::string& text) {
  if (text == "TCP") return Protocol::TCP;
  if (text == "UDP") return Protocol::UDP;
  if (text == "SCTP") return Protocol::SCTP;
  return std::nullopt;
}

std::optional<uint16_t> Pod::namedPort(const std::string& portName, Protocol protocol) const {
  for (const auto& p : ports)
    if (p.name == portName && p.protocol == protocol) return p.port;
  return std::nullopt;
}

namespace {

using json_members::member;
using json_members::stringMember;

Labels labelsOf(const json& metadata) {
  Labels labels;
  const auto& l = member(metadata, "labels");
  if (l.is_object())
    for (const auto& [k, v] : l.items())
      if (v.is_string()) labels[k] = v.get<std::string>();
  return labels;
}

Protocol protocolOf(const json& j, const std::string& what) {
  auto text = stringMember(j, "protocol");
  if (text.empty()) return Protocol::TCP;
  auto p = parseProtocol(text);
  if (!p) throw std::invalid_argument(what + ": protocol '" + text + "' is not TCP, UDP or SCTP");
  return *p;
}

PolicyPeer peerFromJson(const json& j) {
  PolicyPeer peer;
  if (const auto& s = member(j, "podSelector"); s.is_object()) peer.podSelector = selectorFromJson(s);
  if (const auto& s = member(j, "namespaceSelector"); s.is_object()) peer.namespaceSelector = selectorFromJson(s);
  if (const auto& b = member(j, "ipBlock"); b.is_object()) {
    IpBlock block;
    block.cidr = stringMember(b, "cidr");
    if (const auto& e = member(b, "except"); e.is_array())
      for (const auto& x : e)
        if (x.is_string()) block.except.push_back(x.get<std::string>());
    peer.ipBlock = block;
  }
  return peer;
}

PolicyPort portFromJson(const json& j, const std::string& what) {
  PolicyPort port;
  port.protocol = protocolOf(j, what);
  const auto& p = member(j, "port");
  if (p.is_number_integer())
    port.port = static_cast<uint16_t>(p.get<int64_t>());
  else if (p.is_string())
    port.port = p.get<std::string>();
  const auto& e = member(j, "endPort");
  if (e.is_number_integer()) port.endPort = static_cast<uint16_t>(e.get<int64_t>());
  return port;
}

std::vector<PolicyRule> rulesFromJson(const json& rules, const char* peersField, const std::string& what) {
  std::vector<PolicyRule> out;
  if (!rules.is_array()) return out;
  for (const auto& r : rules) {
    PolicyRule rule;
    if (const auto& peers = member(r, peersField); peers.is_array())
      for (const auto& p : peers) rule.peers.push_back(peerFromJson(p));
    if (const auto& ports = member(r, "ports"); ports.is_array())
      for (const auto& p : ports) rule.ports.push_back(portFromJson(p, what));
    out.push_back(std::move(rule));
  }
  return out;
}

}  // namespace

Namespace namespaceFromJson(const json& object) {
  Namespace ns;
  const auto& metadata = member(object, "metadata");
  ns.name = stringMember(metadata, "name");
  if (ns.name.empty()) throw std::invalid_argument("Namespace object without metadata.name");
  ns.labels = labelsOf(metadata);
  return ns;
}

Pod podFromJson(const json& object) {
  Pod pod;
  const auto& metadata = member(object, "metadata");
  pod.name = stringMember(metadata, "name");
  pod.ns = stringMember(metadata, "namespace");
  if (pod.name.empty() || pod.ns.empty())
    throw std::invalid_argument("Pod object without metadata.name or metadata.namespace");
  pod.labels = labelsOf(metadata);
  const auto& spec = member(object, "spec");
  pod.nodeName = stringMember(spec, "nodeName");
  std::string what = "Pod " + pod.key();
  if (const auto& containers = member(spec, "containers"); containers.is_array())
    for (const auto& c : containers)
      if (const auto& ports = member(c, "ports"); ports.is_array())
        for (const auto& p : ports) {
          ContainerPort cp;
          cp.name = stringMember(p, "name");
          const auto& number = member(p, "containerPort");
          if (!number.is_number_integer()) throw std::invalid_argument(what + ": containerPort is not a number");
          cp.port = static_cast<uint16_t>(number.get<int64_t>());
          cp.protocol = protocolOf(p, what);
          pod.ports.push_back(cp);
        }
  const auto& status = member(object, "status");
  if (const auto& ips = member(status, "podIPs"); ips.is_array())
    for (const auto& ip : ips) {
      auto text = stringMember(ip, "ip");
      if (!text.empty()) pod.ips.push_back(text);
    }
  if (pod.ips.empty()) {
    auto ip = stringMember(status, "podIP");
    if (!ip.empty()) pod.ips.push_back(ip);
  }
  return pod;
}

NetworkPolicy networkPolicyFromJson(const json& object) {
  NetworkPolicy policy;
  const auto& metadata = member(object, "metadata");
  policy.name = stringMember(metadata, "name");
  policy.ns = stringMember(metadata, "namespace");
  if (policy.name.empty() || policy.ns.empty())
    throw std::invalid_argument("NetworkPolicy object without metadata.name or metadata.namespace");
  std::string what = "NetworkPolicy " + policy.key();
  const auto& spec = member(object, "spec");
  policy.podSelector = selectorFromJson(member(spec, "podSelector"));
  policy.ingress = rulesFromJson(member(spec, "ingress"), "from", what);
  policy.egress = rulesFromJson(member(spec, "egress"), "to", what);
  const auto& types = member(spec, "policyTypes");
  if (types.is_array() && !types.empty()) {
    policy.ingressType = policy.egressType = false;
    for (const auto& t : types) {
      if (t == "Ingress") policy.ingressType = true;
      if (t == "Egress") policy.egressType = true;
    }
  } else {
    policy.ingressType = true;
    policy.egressType = !policy.egress.empty();
  }
  return policy;
}

std::optional<toolkit::IpPrefix> parseBlockCidr(std::string_view text) {
  return toolkit::IpPrefix::tryParse(text, {.hostBits = toolkit::HostBits::Clear});
}

}  // namespace cnikit::k8s
