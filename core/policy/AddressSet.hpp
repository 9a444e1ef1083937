#pragma once
// A named set of peer addresses that compiled rules refer to instead of listing pods, so the
// rule count grows with policies, not with pods. A set is defined by what selects its members
// (a peer of some policy); policies with equal peers share one set. Three types, each with a
// direct datapath form:
//   ip      pod addresses                      (ipset hash:ip, eBPF hash map)
//   net     one ipBlock: cidr minus except     (ipset hash:net with nomatch, eBPF LPM trie)
//   ip-port (address, protocol, port) of pods that expose a named port (egress named
//           ports resolve per destination pod)  (ipset hash:ip,port, eBPF hash map)
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include <cnikit/toolkit/IpPrefix.hpp>

#include "core/k8s/Objects.hpp"

namespace cnikit::policy {

enum class SetType { Ip, Net, IpPort };
const char* setTypeName(SetType type);  // "ip", "net", "ip-port"

struct IpPortEntry {
  std::string ip;
  k8s::Protocol protocol = k8s::Protocol::TCP;
  uint16_t port = 0;
  auto operator<=>(const IpPortEntry&) const = default;
};

// What selects a set's members.
struct SetDefinition {
  SetType type = SetType::Ip;
  // Pod selection (ip, ip-port). namespaceName fixes the namespace (a podSelector-only peer
  // selects in the policy's namespace); otherwise namespaceSelector (absent = every namespace).
  std::optional<std::string> namespaceName;
  std::optional<k8s::LabelSelector> namespaceSelector;
  k8s::LabelSelector podSelector;
  // net: the block. ip-port: only pod addresses inside the block count.
  std::optional<k8s::IpBlock> ipBlock;
  // ip-port: the container port name and protocol.
  std::string portName;
  k8s::Protocol portProtocol = k8s::Protocol::TCP;

  nlohmann::json toJson() const;  // canonical (sorted keys): also the input of the set id
  std::string describe() const;   // one line for humans
  bool operator==(const SetDefinition&) const = default;
};

// Does the definition select this pod (namespace labels given)? Not meaningful for net.
bool selectsPod(const SetDefinition& def, const k8s::Pod& pod, const k8s::Labels& namespaceLabels);
// The entries a pod contributes: addresses (ip) or address/protocol/port (ip-port).
std::vector<std::string> ipEntries(const SetDefinition& def, const k8s::Pod& pod, const k8s::Labels& namespaceLabels);
std::vector<IpPortEntry> ipPortEntries(const SetDefinition& def, const k8s::Pod& pod,
                                       const k8s::Labels& namespaceLabels);

// A set's current content.
struct AddressSet {
  std::string id;
  SetDefinition definition;
  std::vector<std::string> ips;           // ip: sorted, unique
  std::vector<IpPortEntry> ipPorts;       // ip-port: sorted, unique
  std::optional<toolkit::IpPrefix> cidr;  // net
  std::vector<toolkit::IpPrefix> except;  // net

  bool containsIp(const std::string& ip) const;  // ip and net sets
  bool containsIpPort(const std::string& ip, k8s::Protocol protocol, uint16_t port) const;
  nlohmann::json toJson() const;
};

// "s" + 16 hex digits of a hash of the canonical definition: stable across restarts and
// nodes, short enough for ipset names (31 characters) with a prefix. `salt` > 0 only to step
// around a collision.
std::string setIdFor(const SetDefinition& def, int salt = 0);

}  // namespace cnikit::policy
