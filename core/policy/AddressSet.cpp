#include "core/policy/AddressSet.hpp"
#include "core/policy/StableHash.hpp"

#include <algorithm>
#include <cstdio>

namespace cnikit::policy {

using nlohmann::json;

const char* setTypeName(SetType type) {
  switch (type) {
    case SetType::Ip:
      return "ip";
    case SetType::Net:
      return "net";
    case SetType::IpPort:
      return "ip-port";
  }
  return "?";
}

namespace {

k8s::LabelSelector sorted(k8s::LabelSelector s) {
  for (auto& r : s.matchExpressions) {
    std::sort(r.values.begin(), r.values.end());
    r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
  }
  std::sort(s.matchExpressions.begin(), s.matchExpressions.end());
  return s;
}

std::string canonicalNet(const std::string& text) {
  auto net = k8s::parseBlockCidr(text);
  return net ? net->str() : text;
}

json blockJson(const k8s::IpBlock& block) {
  json j = {{"cidr", canonicalNet(block.cidr)}};
  std::vector<std::string> except;
  for (const auto& e : block.except) except.push_back(canonicalNet(e));
  std::sort(except.begin(), except.end());
  except.erase(std::unique(except.begin(), except.end()), except.end());
  if (!except.empty()) j["except"] = except;
  return j;
}

bool inBlock(const k8s::IpBlock& block, const std::string& ipText) {
  auto ip = toolkit::IpAddress::tryParse(ipText);
  auto net = k8s::parseBlockCidr(block.cidr);
  if (!ip || !net || !net->contains(*ip)) return false;
  for (const auto& e : block.except) {
    auto x = k8s::parseBlockCidr(e);
    if (x && x->contains(*ip)) return false;
  }
  return true;
}

std::string canonicalIp(const std::string& text) {
  auto ip = toolkit::IpAddress::tryParse(text);
  return ip ? ip->str() : text;
}

}  // namespace

json SetDefinition::toJson() const {
  json j = {{"type", setTypeName(type)}};
  if (type != SetType::Net || !ipBlock) {
    if (namespaceName)
      j["namespace"] = *namespaceName;
    else if (namespaceSelector)
      j["namespaceSelector"] = k8s::selectorToJson(sorted(*namespaceSelector));
    j["podSelector"] = k8s::selectorToJson(sorted(podSelector));
  }
  if (ipBlock) j["ipBlock"] = blockJson(*ipBlock);
  if (type == SetType::IpPort) j["port"] = {{"name", portName}, {"protocol", k8s::protocolName(portProtocol)}};
  return j;
}

std::string SetDefinition::describe() const {
  std::string pods;
  if (type != SetType::Net) {
    if (ipBlock && type == SetType::IpPort) {
      pods = "pods";
    } else {
      pods = "pods";
      if (!podSelector.empty()) pods += " matching " + podSelector.str();
      if (namespaceName)
        pods += " in namespace " + *namespaceName;
      else if (namespaceSelector && !namespaceSelector->empty())
        pods += " in namespaces matching " + namespaceSelector->str();
      else
        pods += " in every namespace";
    }
  }
  std::string block;
  if (ipBlock) {
    block = canonicalNet(ipBlock->cidr);
    if (!ipBlock->except.empty()) {
      block += " except ";
      for (size_t i = 0; i < ipBlock->except.size(); ++i) block += (i ? "," : "") + canonicalNet(ipBlock->except[i]);
    }
  }
  switch (type) {
    case SetType::Ip:
      return pods;
    case SetType::Net:
      return block;
    case SetType::IpPort:
      return "port " + portName + "/" + k8s::protocolName(portProtocol) + " of " + pods +
             (ipBlock ? " with addresses in " + block : "");
  }
  return pods;
}

bool selectsPod(const SetDefinition& def, const k8s::Pod& pod, const k8s::Labels& namespaceLabels) {
  if (def.type == SetType::Net) return false;
  if (def.namespaceName) {
    if (pod.ns != *def.namespaceName) return false;
  } else if (def.namespaceSelector) {
    if (!def.namespaceSelector->matches(namespaceLabels)) return false;
  }
  return def.podSelector.matches(pod.labels);
}

std::vector<std::string> ipEntries(const SetDefinition& def, const k8s::Pod& pod, const k8s::Labels& namespaceLabels) {
  std::vector<std::string> out;
  if (def.type != SetType::Ip || !selectsPod(def, pod, namespaceLabels)) return out;
  for (const auto& ip : pod.ips) out.push_back(canonicalIp(ip));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<IpPortEntry> ipPortEntries(const SetDefinition& def, const k8s::Pod& pod,
                                       const k8s::Labels& namespaceLabels) {
  std::vector<IpPortEntry> out;
  if (def.type != SetType::IpPort || !selectsPod(def, pod, namespaceLabels)) return out;
  auto port = pod.namedPort(def.portName, def.portProtocol);
  if (!port) return out;
  for (const auto& ip : pod.ips) {
    if (def.ipBlock && !inBlock(*def.ipBlock, ip)) continue;
    out.push_back({canonicalIp(ip), def.portProtocol, *port});
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool AddressSet::containsIp(const std::string& ipText) const {
  if (definition.type == SetType::Ip) return std::binary_search(ips.begin(), ips.end(), canonicalIp(ipText));
  if (definition.type == SetType::Net) {
    auto ip = toolkit::IpAddress::tryParse(ipText);
    if (!ip || !cidr || !cidr->contains(*ip)) return false;
    for (const auto& e : except)
      if (e.contains(*ip)) return false;
    return true;
  }
  return false;
}

bool AddressSet::containsIpPort(const std::string& ip, k8s::Protocol protocol, uint16_t port) const {
  if (definition.type != SetType::IpPort) return false;
  return std::binary_search(ipPorts.begin(), ipPorts.end(), IpPortEntry{canonicalIp(ip), protocol, port});
}

json AddressSet::toJson() const {
  json j = {{"type", setTypeName(definition.type)}, {"description", definition.describe()}};
  switch (definition.type) {
    case SetType::Ip:
      j["members"] = ips;
      break;
    case SetType::Net: {
      j["cidr"] = cidr ? cidr->str() : "";
      json x = json::array();
      for (const auto& e : except) x.push_back(e.str());
      j["except"] = x;
      break;
    }
    case SetType::IpPort: {
      json members = json::array();
      for (const auto& e : ipPorts)
        members.push_back({{"ip", e.ip}, {"protocol", k8s::protocolName(e.protocol)}, {"port", e.port}});
      j["members"] = members;
      break;
    }
  }
  return j;
}

std::string setIdFor(const SetDefinition& def, int salt) {
  std::string text = def.toJson().dump();
  if (salt > 0) text += "#" + std::to_string(salt);
  return "s" + stableHashHex(text);
}

}  // namespace cnikit::policy
