#pragma once
// The reachability matrix of `cnikitctl policy matrix`: for each destination protocol/port,
// whether each pod can open a connection to each other pod. Printed as the Kubernetes netpol
// e2e suite prints its truth tables (rows: from, columns: to, '.' connected, 'X' blocked) and
// as JSON {"TCP/80": {"x/a": {"x/b": true, ...}, ...}, ...}.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/policy/Verdict.hpp"

namespace cnikit::policy {

struct PortCase {
  k8s::Protocol protocol = k8s::Protocol::TCP;
  uint16_t port = 0;
  std::string str() const;  // "TCP/80"
  auto operator<=>(const PortCase&) const = default;
};

// "TCP/80" (protocol case-insensitive); nullopt otherwise.
std::optional<PortCase> parsePortCase(const std::string& text);
// Every protocol/port some pod declares as a containerPort, sorted.
std::vector<PortCase> declaredPorts(const ClusterState& state);

struct Matrix {
  std::vector<std::string> pods;  // "ns/name", sorted
  std::vector<PortCase> cases;
  std::map<PortCase, std::map<std::string, std::map<std::string, bool>>> reachable;  // [case][from][to]
};

Matrix computeMatrix(const ClusterState& state, const std::vector<PortCase>& cases);
nlohmann::json toJson(const Matrix& matrix);
// One truth table per case, each headed by its "TCP/80:" line, tab separated.
std::string toTable(const Matrix& matrix);

}  // namespace cnikit::policy
