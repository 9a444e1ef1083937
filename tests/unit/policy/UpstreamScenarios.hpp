#pragma once
// Scenarios of the Kubernetes e2e netpol suite (kubernetes/kubernetes
// test/e2e/network/netpol/network_policy.go) on its model, written once and run twice: on the
// engine by policy_test (policy.Upstream/Catalogue.*) and on a real lab's datapath by the e2e
// suite (e2e.LabNetpol). Each expectation is written with the upstream Reachability calls of
// that test case, not derived from the engine. Only TCP and UDP appear here (a lab cannot
// serve SCTP); the SCTP cases stay in upstream_scenarios_test.cpp.
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "core/policy/Matrix.hpp"
#include "tests/unit/policy/NetpolModel.hpp"
#include "tests/unit/policy/Reachability.hpp"

namespace cnikit::policy::test {

struct ExpectedMatrix {
  PortCase portCase;
  Reachability reachability;  // loopback as upstream leaves it: the checker allows it
};

// What a step changes, then what must hold afterwards.
struct ScenarioStep {
  std::string apply = {};   // YAML: policies, or namespaces/pods re-applied with other labels
  std::string remove = {};  // YAML of objects to delete
  std::vector<ExpectedMatrix> expected = {};
};

struct UpstreamScenario {
  std::string name;  // a test name: [A-Za-z0-9]
  // Steps for one instance of the model (ipBlock scenarios need its addresses).
  std::function<std::vector<ScenarioStep>(const NetpolModel&)> steps;
};

const std::vector<UpstreamScenario>& upstreamScenarios();

// gtest prints parameters with this.
inline void PrintTo(const UpstreamScenario& scenario, std::ostream* out) { *out << scenario.name; }

}  // namespace cnikit::policy::test
