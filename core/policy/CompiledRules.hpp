#pragma once
// The datapath-independent form the engine compiles per endpoint (pod) and every datapath
// consumes: per direction, whether the pod is isolated and a list of allow rules. A rule
// allows a connection when its peer matches the remote address (a set id, or any) and its
// ports match the destination port. Nothing else is allowed in an isolated direction;
// replies of allowed connections are (connection tracking), and so is a pod's traffic to
// itself. JSON schema: docs/policy.md.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/k8s/Objects.hpp"

namespace cnikit::policy {

// A destination port range of one protocol; 0..65535 = every port of the protocol.
struct PortRange {
  k8s::Protocol protocol = k8s::Protocol::TCP;
  uint16_t first = 0;
  uint16_t last = 65535;

  bool anyPort() const { return first == 0 && last == 65535; }
  bool contains(k8s::Protocol p, uint16_t port) const { return p == protocol && port >= first && port <= last; }
  std::string str() const;  // "TCP", "TCP/80", "TCP/80-90"
  nlohmann::json toJson() const;
  auto operator<=>(const PortRange&) const = default;
};

// Where a compiled rule comes from, for explain and flow logs.
struct Provenance {
  std::string policy;  // "namespace/name"
  int rule = 0;        // index in spec.ingress or spec.egress
  int peer = -1;       // index in from/to; -1 when the rule has no peers (every peer)
  auto operator<=>(const Provenance&) const = default;
};

struct CompiledRule {
  // Peer: the remote address must be in this set; empty = any address. For an ip-port set
  // the set also fixes protocol and port, and `ports` is empty.
  std::string set;
  // Destination ports; empty = every port and protocol.
  std::vector<PortRange> ports;
  Provenance from;
  auto operator<=>(const CompiledRule&) const = default;
};

struct DirectionRules {
  bool isolated = false;
  std::vector<std::string> policies;  // those that isolate this direction, sorted
  std::vector<CompiledRule> rules;    // in policy order, then rule, then peer
  bool operator==(const DirectionRules&) const = default;
};

struct CompiledEndpoint {
  std::string ns;
  std::string name;
  std::vector<std::string> ips;
  DirectionRules ingress;  // peers are sources
  DirectionRules egress;   // peers are destinations
  std::string key() const { return ns + "/" + name; }
  bool operator==(const CompiledEndpoint&) const = default;
};

nlohmann::json toJson(const CompiledRule& rule);
nlohmann::json toJson(const DirectionRules& rules);
// The endpoint without set contents ("sets" is added by Engine::endpointJson).
nlohmann::json toJson(const CompiledEndpoint& endpoint);

}  // namespace cnikit::policy
