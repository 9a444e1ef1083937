#pragma once
// Shared by the policy tests: objects from YAML through the same validation cnikitctl and
// the agent use, the upstream netpol model (namespaces x, y, z; pods a, b, c), and checks
// that ask both the semantic verdict and the compiled rule sets.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/k8s/Validation.hpp"
#include "core/policy/Engine.hpp"
#include "core/policy/Matrix.hpp"
#include "core/yaml/YamlToJson.hpp"
#include "tests/unit/policy/NetpolModel.hpp"
#include "tests/unit/policy/Reachability.hpp"

namespace cnikit::policy::test {

inline Changes applyYaml(Engine& engine, const std::string& yaml) {
  Changes changes;
  for (const auto& object : k8s::validateObjects(yaml::yamlToJson(yaml))) {
    switch (object.ref.kind) {
      case k8s::Kind::Namespace: changes.merge(engine.upsertNamespace(k8s::namespaceFromJson(object.object))); break;
      case k8s::Kind::Pod: changes.merge(engine.upsertPod(k8s::podFromJson(object.object))); break;
      case k8s::Kind::NetworkPolicy:
        changes.merge(engine.upsertPolicy(k8s::networkPolicyFromJson(object.object)));
        break;
      case k8s::Kind::Service:
      case k8s::Kind::EndpointSlice: break;  // not the policy engine's
    }
  }
  return changes;
}

inline Changes removeYaml(Engine& engine, const std::string& yaml) {
  Changes changes;
  for (const auto& ref : k8s::objectRefs(yaml::yamlToJson(yaml))) {
    switch (ref.kind) {
      case k8s::Kind::Namespace: changes.merge(engine.deleteNamespace(ref.name)); break;
      case k8s::Kind::Pod: changes.merge(engine.deletePod(ref.ns, ref.name)); break;
      case k8s::Kind::NetworkPolicy: changes.merge(engine.deletePolicy(ref.ns, ref.name)); break;
      case k8s::Kind::Service:
      case k8s::Kind::EndpointSlice: break;
    }
  }
  return changes;
}

// Asserts the semantic verdict and the verdict a datapath would take from the compiled rules.
inline void expectReach(const Engine& engine, const std::string& from, const std::string& to, uint16_t port,
                        k8s::Protocol protocol, bool expected) {
  std::string what = from + " -> " + to + " " + k8s::protocolName(protocol) + "/" + std::to_string(port);
  EXPECT_EQ(engine.verdict(from, to, port, protocol).allowed, expected) << "semantic verdict " << what;
  EXPECT_EQ(engine.compiledVerdict(from, to, port, protocol), expected) << "compiled rules " << what;
}

// The engine's matrix for one protocol/port must equal the expectation (loopback allowed),
// and so must the compiled rules' answer for every pair.
inline void expectMatrix(const Engine& engine, Reachability expected, k8s::Protocol protocol, uint16_t port) {
  expected.allowLoopback();
  PortCase c{protocol, port};
  auto matrix = computeMatrix(engine.state(), {c});
  const auto& actual = matrix.reachable.at(c);
  EXPECT_EQ(actual, expected.values()) << c.str() << " expected:\n"
                                       << truthTable(matrix.pods, expected.values()) << "observed:\n"
                                       << truthTable(matrix.pods, actual);
  std::map<std::string, std::map<std::string, bool>> compiled;
  for (const auto& f : matrix.pods)
    for (const auto& t : matrix.pods) compiled[f][t] = engine.compiledVerdict(f, t, port, protocol);
  EXPECT_EQ(compiled, expected.values()) << c.str() << " compiled rules, expected:\n"
                                         << truthTable(matrix.pods, expected.values()) << "observed:\n"
                                         << truthTable(matrix.pods, compiled);
}

}  // namespace cnikit::policy::test
