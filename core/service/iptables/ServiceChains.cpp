#include "core/service/iptables/ServiceChains.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>

#include "core/policy/StableHash.hpp"

namespace cnikit::service::iptables {

using policy::stableHashHex;

namespace {

uint8_t protocolNumber(k8s::Protocol protocol) {
  switch (protocol) {
    case k8s::Protocol::TCP: return IPPROTO_TCP;
    case k8s::Protocol::UDP: return IPPROTO_UDP;
    case k8s::Protocol::SCTP: return IPPROTO_SCTP;
  }
  return 0;
}

IptablesRule markMasquerade(const ChainOptions& options) {
  IptablesRule rule = toolkit::ruleTo("MARK");
  rule.orMark = options.masqueradeMark;
  return rule;
}

// A frontend: this address, this protocol and port.
IptablesRule frontend(const std::string& address, uint8_t protocol, uint16_t port, std::string target) {
  IptablesRule rule = toolkit::ruleTo(std::move(target));
  rule.destination = address;
  rule.protocol = protocol;
  rule.destinationPorts = std::make_pair(port, port);
  return rule;
}

std::string dnatDestination(const Backend& backend, Family family) {
  std::string port = std::to_string(backend.port);
  return family == Family::V4 ? backend.address + ":" + port : "[" + backend.address + "]:" + port;
}

// The balancing chain over `backends` (SVC or SVL): the non-pod masquerade for cluster IPs,
// the affinity look-ups that send a known client back to its backend (refreshing its entry),
// then equal shares by successive draws, each DNAT in place (no chain per backend: every
// chain costs the table two more entries, and the whole table is what a commit replaces).
std::vector<IptablesRule> balance(const Service& service, const std::string& key, const ServicePort& port,
                                  const std::vector<std::string>& clusterIPs,
                                  const std::vector<const Backend*>& backends, Family family) {
  const uint8_t protocol = protocolNumber(port.protocol);
  std::vector<IptablesRule> out;
  // Clients outside the pods (the node itself, hosts) reaching a cluster IP are masqueraded,
  // so replies come back through this node; external frontends decide that in EXT.
  for (const auto& ip : clusterIPs) out.push_back(frontend(ip, protocol, port.port, kMarkNonPodChain));
  auto dnat = [&](const Backend& backend) {
    IptablesRule rule = toolkit::ruleTo("DNAT");
    rule.protocol = protocol;
    rule.toDestination = dnatDestination(backend, family);
    return rule;
  };
  if (service.clientIpAffinity)
    for (const Backend* backend : backends) {
      IptablesRule rule = dnat(*backend);
      rule.recent = toolkit::RecentMatch{.name = affinityListName(key, *backend),
                                         .set = false,
                                         .update = true,
                                         .seconds = service.affinityTimeoutSeconds,
                                         .reap = service.affinityTimeoutSeconds > 0};
      out.push_back(rule);
    }
  const size_t n = backends.size();
  for (size_t i = 0; i < n; ++i) {
    IptablesRule rule = dnat(*backends[i]);
    if (i + 1 < n) rule.probability = 1.0 / static_cast<double>(n - i);
    if (service.clientIpAffinity)
      rule.recent = toolkit::RecentMatch{.name = affinityListName(key, *backends[i]), .set = true};
    out.push_back(rule);
  }
  return out;
}

}  // namespace

Family familyOf(const std::string& address) { return address.find(':') == std::string::npos ? Family::V4 : Family::V6; }

std::string portKey(const Service& service, const ServicePort& port) {
  return service.key() + ":" + (port.name.empty() ? std::to_string(port.port) : port.name) + "/" +
         k8s::protocolName(port.protocol);
}

std::string serviceChainName(const std::string& portKey) { return kServiceChainPrefix + stableHashHex(portKey); }
std::string localChainName(const std::string& portKey) { return kLocalChainPrefix + stableHashHex(portKey); }
std::string externalChainName(const std::string& portKey) { return kExternalChainPrefix + stableHashHex(portKey); }
std::string affinityListName(const std::string& portKey, const Backend& backend) {
  return kAffinityListPrefix + stableHashHex(portKey + "->" + backend.address + ":" + std::to_string(backend.port));
}

std::string shardChainName(uint8_t shard) {
  char text[8];
  std::snprintf(text, sizeof text, "%02X", shard);
  return kShardChainPrefix + std::string(text);
}

uint8_t shardOf(const std::string& address) {
  unsigned char bytes[16] = {};
  if (familyOf(address) == Family::V4) {
    if (::inet_pton(AF_INET, address.c_str(), bytes) != 1) return 0;
    return bytes[3];
  }
  if (::inet_pton(AF_INET6, address.c_str(), bytes) != 1) return 0;
  return bytes[15];
}

bool isServiceOwnedChain(const std::string& chain) {
  for (const char* prefix : {kServiceChainPrefix, kLocalChainPrefix, kExternalChainPrefix})
    if (chain.rfind(prefix, 0) == 0 && chain != kRejectChain) return true;
  return false;
}

bool isShardChain(const std::string& chain) { return chain.rfind(kShardChainPrefix, 0) == 0; }

size_t ServiceRules::ruleCount() const {
  size_t n = nodePortEntries.size() + rejectEntries.size();
  for (const auto& [chain, rules] : chains) n += rules.size();
  for (const auto& [shard, rules] : shardEntries) n += rules.size();
  return n;
}

std::vector<std::string> renderLines(const ServiceRules& rules, Family family) {
  std::vector<std::string> lines;
  for (const auto& [shard, entries] : rules.shardEntries)
    for (const auto& rule : entries) lines.push_back("-A " + shardChainName(shard) + " " + render(rule, family));
  for (const auto& rule : rules.nodePortEntries)
    lines.push_back(std::string("-A ") + kNodePortsChain + " " + render(rule, family));
  for (const auto& [chain, chainRules] : rules.chains) {
    lines.push_back("-N " + chain);
    for (const auto& rule : chainRules) lines.push_back("-A " + chain + " " + render(rule, family));
  }
  for (const auto& address : rules.hairpinAddresses) {
    IptablesRule hairpin = toolkit::ruleTo("MASQUERADE");
    hairpin.source = hairpin.destination = address;
    lines.push_back(std::string("-A ") + kPostroutingChain + " " + render(hairpin, family));
  }
  for (const auto& rule : rules.rejectEntries)
    lines.push_back(std::string("-t filter -A ") + kRejectChain + " " + render(rule, family));
  return lines;
}

ServiceRules buildServiceRules(const Service& service, Family family, const NodeContext& node,
                               const ChainOptions& options) {
  ServiceRules out;
  std::vector<std::string> clusterIPs, lbIPs, nodeAddresses, podCidrs;
  for (const auto& ip : service.clusterIPs)
    if (familyOf(ip) == family) clusterIPs.push_back(ip);
  for (const auto& ip : service.loadBalancerIPs)
    if (familyOf(ip) == family) lbIPs.push_back(ip);
  for (const auto& ip : node.nodeAddresses)
    if (familyOf(ip) == family) nodeAddresses.push_back(ip);
  for (const auto& cidr : node.podCidrs)
    if (familyOf(cidr) == family) podCidrs.push_back(cidr);

  for (const auto& port : service.ports) {
    const std::string key = portKey(service, port);
    const uint8_t protocol = protocolNumber(port.protocol);
    const bool hasNodePort = port.nodePort != 0 && !nodeAddresses.empty();
    if (clusterIPs.empty() && lbIPs.empty() && !hasNodePort) continue;

    std::vector<const Backend*> all, local;
    for (const auto& backend : port.backends)
      if (backend.ready && familyOf(backend.address) == family) {
        all.push_back(&backend);
        if (backend.local) local.push_back(&backend);
      }
    const std::string svc = serviceChainName(key), svl = localChainName(key), ext = externalChainName(key);
    bool useSvc = false, useSvl = false;
    auto chainFor = [&](TrafficPolicy policy) -> std::string {
      if (policy == TrafficPolicy::Local) {
        if (local.empty()) return "";
        useSvl = true;
        return svl;
      }
      if (all.empty()) return "";
      useSvc = true;
      return svc;
    };
    auto comment = [&](const char* what) { return options.comments ? key + " " + what : std::string(); };
    auto reject = [&](const std::string& address, uint16_t dport) {
      IptablesRule rule = frontend(address, protocol, dport, "REJECT");
      // A reset for TCP: ICMP errors are rate-limited per peer (about one a second after a
      // small burst), so a client retrying would soon wait for a timeout instead.
      rule.rejectWith =
          port.protocol == k8s::Protocol::TCP ? toolkit::RejectWith::TcpReset : toolkit::RejectWith::PortUnreachable;
      rule.comment = comment("has no backend");
      out.rejectEntries.push_back(rule);
    };

    // Cluster IPs: the internal traffic policy.
    const std::string internal = chainFor(service.internalTrafficPolicy);
    for (const auto& ip : clusterIPs) {
      if (internal.empty()) {
        reject(ip, port.port);
        continue;
      }
      IptablesRule entry = frontend(ip, protocol, port.port, internal);
      entry.comment = comment("cluster IP");
      out.shardEntries[shardOf(ip)].push_back(entry);
    }

    // Node ports and load-balancer addresses: the external traffic policy, through EXT.
    if (!lbIPs.empty() || hasNodePort) {
      const std::string external = chainFor(service.externalTrafficPolicy);
      std::vector<IptablesRule> extRules;
      // Pods reaching an external frontend are served like a cluster IP, unmasqueraded.
      const std::string forPods = podCidrs.empty() ? "" : chainFor(TrafficPolicy::Cluster);
      if (!forPods.empty())
        for (const auto& cidr : podCidrs) {
          IptablesRule rule = toolkit::ruleTo(forPods);
          rule.source = cidr;
          extRules.push_back(rule);
        }
      if (!external.empty()) {
        if (service.externalTrafficPolicy == TrafficPolicy::Cluster) extRules.push_back(markMasquerade(options));
        extRules.push_back(toolkit::ruleTo(external));
      }
      const bool complete = !external.empty();
      for (const auto& ip : lbIPs) {
        if (!complete) reject(ip, port.port);
        if (extRules.empty()) continue;
        IptablesRule entry = frontend(ip, protocol, port.port, ext);
        entry.comment = comment("load balancer");
        out.shardEntries[shardOf(ip)].push_back(entry);
      }
      if (hasNodePort) {
        if (!complete)
          for (const auto& address : nodeAddresses) reject(address, port.nodePort);
        if (!extRules.empty()) {
          IptablesRule entry = toolkit::ruleTo(ext);
          entry.protocol = protocol;
          entry.destinationPorts = std::make_pair(port.nodePort, port.nodePort);
          entry.comment = comment("node port");
          out.nodePortEntries.push_back(entry);
        }
      }
      if (!extRules.empty()) out.chains[ext] = std::move(extRules);
    }

    if (useSvc) out.chains[svc] = balance(service, key, port, clusterIPs, all, family);
    if (useSvl) out.chains[svl] = balance(service, key, port, clusterIPs, local, family);
    // Hairpin (a pod reaching itself through the Service) is only possible for local pods.
    for (const Backend* backend : useSvc ? all : local) {
      if (!useSvc && !useSvl) break;
      if (backend->local) out.hairpinAddresses.insert(backend->address);
      if (port.protocol == k8s::Protocol::UDP) out.udpBackends.insert({backend->address, backend->port});
    }
  }
  return out;
}

std::vector<IptablesRule> buildServicesDispatch(const std::vector<uint8_t>& shards, const NodeContext& node,
                                                Family family, bool anyNodePorts) {
  std::vector<IptablesRule> out;
  const char* mask = family == Family::V4 ? "0.0.0.255" : "::ff";
  for (uint8_t shard : shards) {
    char address[48];
    std::snprintf(address, sizeof address, family == Family::V4 ? "0.0.0.%u/%s" : "::%x/%s", shard, mask);
    IptablesRule rule = toolkit::ruleTo(shardChainName(shard));
    rule.destination = address;
    out.push_back(rule);
  }
  if (anyNodePorts)
    for (const auto& address : node.nodeAddresses)
      if (familyOf(address) == family) {
        IptablesRule rule = toolkit::ruleTo(kNodePortsChain);
        rule.destination = address;
        out.push_back(rule);
      }
  return out;
}

std::vector<IptablesRule> buildPostrouting(const std::vector<std::string>& hairpinAddresses,
                                           const ChainOptions& options) {
  IptablesRule marked = toolkit::ruleTo("MASQUERADE");
  marked.mark = std::make_pair(options.masqueradeMark, options.masqueradeMark);
  std::vector<IptablesRule> out{marked};
  // A local pod sent to itself by DNAT: masqueraded, or its reply would never leave the pod.
  for (const auto& address : hairpinAddresses) {
    IptablesRule rule = toolkit::ruleTo("MASQUERADE");
    rule.source = rule.destination = address;
    out.push_back(rule);
  }
  return out;
}

std::vector<IptablesRule> buildMarkNonPod(const NodeContext& node, Family family, const ChainOptions& options) {
  std::vector<IptablesRule> out;
  for (const auto& cidr : node.podCidrs)
    if (familyOf(cidr) == family) {
      IptablesRule rule = toolkit::ruleTo("RETURN");
      rule.source = cidr;
      out.push_back(rule);
    }
  // Without known pod ranges nothing is masqueraded here (kube-proxy without --cluster-cidr).
  if (!out.empty()) out.push_back(markMasquerade(options));
  return out;
}

}  // namespace cnikit::service::iptables
