#pragma once
// The Kubernetes objects cnikit reads, as typed values decoded from their normalised JSON
// (see Validation.hpp): Namespace, Pod and networking.k8s.io/v1 NetworkPolicy.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <cnikit/toolkit/IpPrefix.hpp>

#include "core/k8s/LabelSelector.hpp"

namespace cnikit::k8s {

enum class Protocol { TCP, UDP, SCTP };
const char* protocolName(Protocol p);
std::optional<Protocol> parseProtocol(const std::string& text);  // exact "TCP" | "UDP" | "SCTP"

// The label the apiserver puts on every namespace (immutable, = the name).
inline constexpr const char* kNamespaceNameLabel = "kubernetes.io/metadata.name";

struct Namespace {
  std::string name;
  Labels labels;
  bool operator==(const Namespace&) const = default;
};

struct ContainerPort {
  std::string name;  // may be empty
  uint16_t port = 0;
  Protocol protocol = Protocol::TCP;
  bool operator==(const ContainerPort&) const = default;
};

struct Pod {
  std::string ns;
  std::string name;
  Labels labels;
  std::string nodeName;
  std::vector<ContainerPort> ports;  // of every container
  std::vector<std::string> ips;      // status.podIPs (or status.podIP)

  std::string key() const { return ns + "/" + name; }
  // The containerPort named `name` with that protocol, as named NetworkPolicy ports resolve.
  std::optional<uint16_t> namedPort(const std::string& portName, Protocol protocol) const;
  bool operator==(const Pod&) const = default;
};

struct IpBlock {
  std::string cidr;                 // as written (host bits cleared during validation)
  std::vector<std::string> except;  // each strictly inside cidr
  auto operator<=>(const IpBlock&) const = default;
};

// ipBlock.cidr or an except entry as the apiserver reads it: Go's net.ParseCIDR, which
// clears host bits ("10.1.2.3/16" is 10.1.0.0/16). nullopt for anything else.
std::optional<toolkit::IpPrefix> parseBlockCidr(std::string_view text);

// One entry of from/to. Either ipBlock, or at least one of the selectors.
struct PolicyPeer {
  std::optional<LabelSelector> podSelector;
  std::optional<LabelSelector> namespaceSelector;
  std::optional<IpBlock> ipBlock;
  bool operator==(const PolicyPeer&) const = default;
};

struct PolicyPort {
  Protocol protocol = Protocol::TCP;
  // Absent: every port of the protocol. A number, or a container port name.
  std::variant<std::monostate, uint16_t, std::string> port;
  std::optional<uint16_t> endPort;  // only with a numeric port
  bool operator==(const PolicyPort&) const = default;
};

// An ingress or egress rule: peers empty = every peer; ports empty = every port/protocol.
struct PolicyRule {
  std::vector<PolicyPeer> peers;
  std::vector<PolicyPort> ports;
  bool operator==(const PolicyRule&) const = default;
};

struct NetworkPolicy {
  std::string ns;
  std::string name;
  LabelSelector podSelector;
  bool ingressType = true;  // policyTypes (defaulted: Ingress always, Egress when egress rules exist)
  bool egressType = false;
  std::vector<PolicyRule> ingress;
  std::vector<PolicyRule> egress;

  std::string key() const { return ns + "/" + name; }
  bool operator==(const NetworkPolicy&) const = default;
};

// Decoding from normalised JSON. Throws std::invalid_argument naming the object when a
// field the decoder needs has the wrong type (validation prevents that for applied objects).
Namespace namespaceFromJson(const nlohmann::json& object);
Pod podFromJson(const nlohmann::json& object);
NetworkPolicy networkPolicyFromJson(const nlohmann::json& object);

}  // namespace cnikit::k8s
