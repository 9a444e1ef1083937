#include "core/policy/iptables/PolicyChains.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstdio>

#include "core/policy/StableHash.hpp"

namespace cnikit::policy::iptables {

namespace {

uint8_t protocolNumber(k8s::Protocol protocol) {
  switch (protocol) {
    case k8s::Protocol::TCP:
      return IPPROTO_TCP;
    case k8s::Protocol::UDP:
      return IPPROTO_UDP;
    case k8s::Protocol::SCTP:
      return IPPROTO_SCTP;
  }
  return 0;
}

const char* ipsetProtocol(k8s::Protocol protocol) {
  switch (protocol) {
    case k8s::Protocol::TCP:
      return "tcp";
    case k8s::Protocol::UDP:
      return "udp";
    case k8s::Protocol::SCTP:
      return "sctp";
  }
  return "tcp";
}

bool isFamily(const std::string& address, Family family) { return familyOf(address) == family; }

std::string describe(const CompiledRule& rule, bool ingress) {
  std::string text = rule.from.policy + (ingress ? " ingress[" : " egress[") + std::to_string(rule.from.rule) + "]";
  if (rule.from.peer >= 0) text += (ingress ? " from[" : " to[") + std::to_string(rule.from.peer) + "]";
  return text;
}

std::vector<IptablesRule> buildDirection(const DirectionRules& direction,
                                         bool ingress, Family family, const std::vector<std::string>& ips,
                                         const SetLookup& sets, const ChainOptions& options,
                                         std::set<std::string>& setIds) {
  std::vector<IptablesRule> out;
  const std::string allow = ingress ? "ACCEPT" : "RETURN";
  auto invalid = ruleTo("DROP");
  invalid.ctstate = kCtInvalid;
  out.push_back(invalid);
  // A pod always reaches itself (through a hairpinned service, the only way it gets here).
  for (const auto& ip : ips) {
    auto self = ruleTo(allow);
    (ingress ? self.source : self.destination) = ip;
    out.push_back(self);
  }
  for (const auto& rule : direction.rules) {
    std::optional<SetMatch> match;
    if (!rule.set.empty()) {
      const AddressSet* set = sets(rule.set);
      if (!set) continue;  // cannot happen for an engine's endpoint; never allow by accident
      if (set->definition.type == SetType::Net) {
        // An ipBlock of the other family matches nothing here.
        if (!set->cidr || (set->cidr->isV4() != (family == Family::V4))) continue;
      }
      int dimensions = set->definition.type == SetType::IpPort ? 2 : 1;
      match = SetMatch{setName(family, rule.set), dimensions, ingress && dimensions == 1};
      setIds.insert(rule.set);
    }
    auto base = ruleTo(allow);
    base.set = match;
    if (options.comments) base.comment = describe(rule, ingress);
    if (rule.ports.empty()) {
      out.push_back(base);
      continue;
    }
    for (const auto& range : rule.ports) {
      IptablesRule r = base;
      r.protocol = protocolNumber(range.protocol);
      if (!range.anyPort()) r.destinationPorts = std::make_pair(range.first, range.last);
      out.push_back(r);
    }
  }
  if (options.rejectTcp) {
    auto reject = ruleTo("REJECT");
    reject.protocol = IPPROTO_TCP;
    out.push_back(reject);
  }
  out.push_back(ruleTo("DROP"));
  return out;
}

}  // namespace

std::string ingressChainName(const std::string& endpointKey) { return kIngressChainPrefix + stableHashHex(endpointKey); }
std::string egressChainName(const std::string& endpointKey) { return kEgressChainPrefix + stableHashHex(endpointKey); }

std::string setName(Family family, const std::string& setId) {
  return std::string(kSetPrefix) + (family == Family::V4 ? "4-" : "6-") + setId;
}

std::string tempSetName(Family family, const std::string& setId) {
  return std::string(kTempSetPrefix) + (family == Family::V4 ? "4-" : "6-") + setId;
}

Family familyOf(const std::string& address) {
  return address.find(':') == std::string::npos ? Family::V4 : Family::V6;
}

EndpointChains buildEndpointChains(const CompiledEndpoint& endpoint, Family family, const SetLookup& sets,
                                   const ChainOptions& options) {
  EndpointChains out;
  for (const auto& ip : endpoint.ips)
    if (isFamily(ip, family)) out.ips.push_back(ip);
  if (out.ips.empty()) return out;
  if (endpoint.ingress.isolated)
    out.ingress = buildDirection(endpoint.ingress, true, family, out.ips, sets, options, out.setIds);
  if (endpoint.egress.isolated)
    out.egress = buildDirection(endpoint.egress, false, family, out.ips, sets, options, out.setIds);
  return out;
}

std::vector<IptablesRule> buildDispatch(const std::map<std::string, EndpointChains>& endpoints, Family family) {
  std::vector<IptablesRule> out;
  bool any = std::any_of(endpoints.begin(), endpoints.end(), [](const auto& e) { return !e.second.empty(); });
  if (!any) return out;
  auto established = ruleTo("ACCEPT");
  established.ctstate = kCtEstablished | kCtRelated;
  out.push_back(established);
  if (family == Family::V6) {
    // Router/neighbour solicitation and advertisement are not tracked by conntrack; without
    // them isolated IPv6 pods could not resolve each other.
    for (uint8_t type : {133, 134, 135, 136})
    {
      auto nd = ruleTo("ACCEPT");
      nd.protocol = IPPROTO_ICMPV6;
      nd.icmp6Type = type;
      out.push_back(nd);
    }
  }
  // Egress first: an allowed egress returns here so the destination's ingress is checked.
  for (const auto& [key, chains] : endpoints)
    if (chains.egress)
      for (const auto& ip : chains.ips) {
        auto jump = ruleTo(egressChainName(key));
        jump.source = ip;
        out.push_back(jump);
      }
  for (const auto& [key, chains] : endpoints)
    if (chains.ingress)
      for (const auto& ip : chains.ips) {
        auto jump = ruleTo(ingressChainName(key));
        jump.destination = ip;
        out.push_back(jump);
      }
  return out;
}

SetContent setContent(const AddressSet& set, Family family) {
  SetContent out;
  switch (set.definition.type) {
    case SetType::Ip:
      out.type = "hash:ip";
      for (const auto& ip : set.ips)
        if (isFamily(ip, family)) out.entries.push_back(ip);
      break;
    case SetType::Net: {
      out.type = "hash:net";
      if (!set.cidr || set.cidr->isV4() != (family == Family::V4)) break;
      // hash:net cannot hold a /0: two halves instead.
      if (set.cidr->prefixLength() == 0) {
        if (family == Family::V4) {
          out.entries = {"0.0.0.0/1", "128.0.0.0/1"};
        } else {
          out.entries = {"::/1", "8000::/1"};
        }
      } else {
        out.entries.push_back(set.cidr->str());
      }
      for (const auto& e : set.except) out.entries.push_back(e.str() + " nomatch");
      break;
    }
    case SetType::IpPort:
      out.type = "hash:ip,port";
      for (const auto& e : set.ipPorts)
        if (isFamily(e.ip, family)) out.entries.push_back(e.ip + "," + ipsetProtocol(e.protocol) + ":" + std::to_string(e.port));
      break;
  }
  std::sort(out.entries.begin(), out.entries.end());
  out.entries.erase(std::unique(out.entries.begin(), out.entries.end()), out.entries.end());
  return out;
}

}  // namespace cnikit::policy::iptables
