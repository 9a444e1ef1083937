#include "core/k8s/ServiceObjects.hpp"

#include <stdexcept>

#include "core/k8s/JsonMembers.hpp"

namespace cnikit::k8s {

using nlohmann::json;

const char* serviceTypeName(ServiceType type) {
  switch (type) {
    case ServiceType::ClusterIP: return "ClusterIP";
    case ServiceType::NodePort: return "NodePort";
    case ServiceType::LoadBalancer: return "LoadBalancer";
  }
  return "?";
}

namespace {

using json_members::member;
using json_members::stringMember;

std::vector<std::string> strings(const json& j) {
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& v : j)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

uint16_t portNumber(const json& j, const std::string& what) {
  if (!j.is_number_integer() || j.get<int64_t>() < 0 || j.get<int64_t>() > 65535)
    throw std::invalid_argument(what + ": not a port number: " + j.dump());
  return static_cast<uint16_t>(j.get<int64_t>());
}

Protocol protocolOf(const json& j, const std::string& what) {
  auto text = stringMember(j, "protocol");
  if (text.empty()) return Protocol::TCP;
  auto p = parseProtocol(text);
  if (!p) throw std::invalid_argument(what + ": protocol '" + text + "' is not TCP, UDP or SCTP");
  return *p;
}

void identity(const json& object, const char* kind, std::string& ns, std::string& name) {
  const auto& metadata = member(object, "metadata");
  name = stringMember(metadata, "name");
  ns = stringMember(metadata, "namespace");
  if (name.empty() || ns.empty())
    throw std::invalid_argument(std::string(kind) + " object without metadata.name or metadata.namespace");
}

}  // namespace

ServiceSpec serviceFromJson(const json& object) {
  ServiceSpec s;
  identity(object, "Service", s.ns, s.name);
  const std::string what = "Service " + s.key();
  const auto& spec = member(object, "spec");
  auto type = stringMember(spec, "type");
  if (type == "NodePort")
    s.type = ServiceType::NodePort;
  else if (type == "LoadBalancer")
    s.type = ServiceType::LoadBalancer;
  else if (!type.empty() && type != "ClusterIP")
    throw std::invalid_argument(what + ": type '" + type + "' is not ClusterIP, NodePort or LoadBalancer");
  if (const auto& selector = member(spec, "selector"); selector.is_object()) {
    Labels labels;
    for (const auto& [k, v] : selector.items())
      if (v.is_string()) labels[k] = v.get<std::string>();
    if (!labels.empty()) s.selector = labels;
  }
  if (const auto& ports = member(spec, "ports"); ports.is_array())
    for (const auto& p : ports) {
      ServicePortSpec port;
      port.name = stringMember(p, "name");
      port.protocol = protocolOf(p, what);
      port.port = portNumber(member(p, "port"), what);
      const auto& target = member(p, "targetPort");
      if (target.is_string())
        port.targetPort = target.get<std::string>();
      else
        port.targetPort = target.is_null() ? port.port : portNumber(target, what);
      if (const auto& nodePort = member(p, "nodePort"); !nodePort.is_null()) port.nodePort = portNumber(nodePort, what);
      s.ports.push_back(std::move(port));
    }
  s.clusterIPs = strings(member(spec, "clusterIPs"));
  if (s.clusterIPs.empty())
    if (auto single = stringMember(spec, "clusterIP"); !single.empty()) s.clusterIPs.push_back(single);
  s.ipFamilies = strings(member(spec, "ipFamilies"));
  s.ipFamilyPolicy = stringMember(spec, "ipFamilyPolicy");
  s.clientIpAffinity = stringMember(spec, "sessionAffinity") == "ClientIP";
  const auto& timeout = member(member(member(spec, "sessionAffinityConfig"), "clientIP"), "timeoutSeconds");
  if (timeout.is_number_integer()) s.affinityTimeoutSeconds = static_cast<uint32_t>(timeout.get<int64_t>());
  s.internalTrafficLocal = stringMember(spec, "internalTrafficPolicy") == "Local";
  s.externalTrafficLocal = stringMember(spec, "externalTrafficPolicy") == "Local";
  if (const auto& ingress = member(member(member(object, "status"), "loadBalancer"), "ingress"); ingress.is_array())
    for (const auto& i : ingress)
      if (auto ip = stringMember(i, "ip"); !ip.empty()) s.loadBalancerIPs.push_back(ip);
  return s;
}

EndpointSlice endpointSliceFromJson(const json& object) {
  EndpointSlice slice;
  identity(object, "EndpointSlice", slice.ns, slice.name);
  const std::string what = "EndpointSlice " + slice.key();
  slice.serviceName = stringMember(member(member(object, "metadata"), "labels"), kServiceNameLabel);
  slice.ipv6 = stringMember(object, "addressType") == "IPv6";
  if (const auto& endpoints = member(object, "endpoints"); endpoints.is_array())
    for (const auto& e : endpoints) {
      EndpointSliceEndpoint endpoint;
      endpoint.addresses = strings(member(e, "addresses"));
      if (const auto& ready = member(member(e, "conditions"), "ready"); ready.is_boolean())
        endpoint.ready = ready.get<bool>();
      endpoint.nodeName = stringMember(e, "nodeName");
      const auto& ref = member(e, "targetRef");
      endpoint.targetKind = stringMember(ref, "kind");
      endpoint.targetNamespace = stringMember(ref, "namespace");
      endpoint.targetName = stringMember(ref, "name");
      slice.endpoints.push_back(std::move(endpoint));
    }
  if (const auto& ports = member(object, "ports"); ports.is_array())
    for (const auto& p : ports) {
      EndpointSlicePort port;
      port.name = stringMember(p, "name");
      if (const auto& number = member(p, "port"); !number.is_null()) port.port = portNumber(number, what);
      port.protocol = protocolOf(p, what);
      slice.ports.push_back(std::move(port));
    }
  return slice;
}

}  // namespace cnikit::k8s
