#pragma once
// Shared by the policy tests: objects from YAML through the same validation cnikitctl and
// the agent use, the upstream netpol model (namespaces x, y, z; pods a, b, c), and checks
// that ask both the semantic verdict and the compiled rule sets.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/yaml/YamlToJson.hpp"
#include "core/k8s/Validation.hpp"
#include "core/policy/Engine.hpp"
#include "core/policy/Matrix.hpp"

namespace cnikit::policy::test {

inline Changes applyYaml(Engine& engine, const std::string& yaml) {
  Changes changes;
  for (const auto& object : k8s::validateObjects(yaml::yamlToJson(yaml))) {
    switch (object.ref.kind) {
      case k8s::Kind::Namespace:
        changes.merge(engine.upsertNamespace(k8s::namespaceFromJson(object.object)));
        break;
      case k8s::Kind::Pod:
        changes.merge(engine.upsertPod(k8s::podFromJson(object.object)));
        break;
      case k8s::Kind::NetworkPolicy:
        changes.merge(engine.upsertPolicy(k8s::networkPolicyFromJson(object.object)));
        break;
    }
  }
  return changes;
}

inline Changes removeYaml(Engine& engine, const std::string& yaml) {
  Changes changes;
  for (const auto& ref : k8s::objectRefs(yaml::yamlToJson(yaml))) {
    switch (ref.kind) {
      case k8s::Kind::Namespace:
        changes.merge(engine.deleteNamespace(ref.name));
        break;
      case k8s::Kind::Pod:
        changes.merge(engine.deletePod(ref.ns, ref.name));
        break;
      case k8s::Kind::NetworkPolicy:
        changes.merge(engine.deletePolicy(ref.ns, ref.name));
        break;
    }
  }
  return changes;
}

inline std::string namespaceYaml(const std::string& name) {
  return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n  labels: {ns: " + name + "}\n---\n";
}

// A pod serving 80 and 81 on TCP, UDP and SCTP, with the upstream port names.
inline std::string podYaml(const std::string& ns, const std::string& name, const std::string& ip,
                           const std::string& extraLabels = "") {
  std::string out = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
                    "\n  labels: {pod: " + name + extraLabels + "}\nspec:\n  containers:\n";
  for (const char* protocol : {"tcp", "udp", "sctp"}) {
    std::string upper = protocol == std::string("tcp") ? "TCP" : protocol == std::string("udp") ? "UDP" : "SCTP";
    for (int port : {80, 81}) {
      std::string p = std::to_string(port);
      out += "  - name: cont-" + p + "-" + protocol + "\n    ports:\n    - {name: serve-" + p + "-" + protocol +
             ", containerPort: " + p + ", protocol: " + upper + "}\n";
    }
  }
  return out + "status: {podIP: " + ip + "}\n---\n";
}

// Namespaces x, y, z (labelled ns=<name>, plus kubernetes.io/metadata.name) with pods a, b,
// c (labelled pod=<name>) at 10.0.<namespace index>.<pod index>.
inline std::string netpolModelYaml() {
  std::string out;
  std::vector<std::string> names = {"x", "y", "z"};
  for (size_t n = 0; n < names.size(); ++n) {
    out += namespaceYaml(names[n]);
    for (size_t p = 0; p < 3; ++p)
      out += podYaml(names[n], std::string(1, char('a' + p)),
                     "10.0." + std::to_string(n + 1) + "." + std::to_string(p + 1));
  }
  return out;
}

inline std::vector<std::string> modelPods() { return {"x/a", "x/b", "x/c", "y/a", "y/b", "y/c", "z/a", "z/b", "z/c"}; }

inline std::string policyYaml(const std::string& ns, const std::string& name, const std::string& spec) {
  return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
         "\nspec:\n" + spec + "\n---\n";
}

// Asserts the semantic verdict and the verdict a datapath would take from the compiled rules.
inline void expectReach(const Engine& engine, const std::string& from, const std::string& to, uint16_t port,
                        k8s::Protocol protocol, bool expected) {
  std::string what = from + " -> " + to + " " + k8s::protocolName(protocol) + "/" + std::to_string(port);
  EXPECT_EQ(engine.verdict(from, to, port, protocol).allowed, expected) << "semantic verdict " << what;
  EXPECT_EQ(engine.compiledVerdict(from, to, port, protocol), expected) << "compiled rules " << what;
}

// The upstream e2e suite's Reachability: a truth table filled with a default, then
// adjusted by Expect* calls exactly as the upstream test cases write them.
class Reachability {
 public:
  struct Peer {
    std::string ns;   // "" = any
    std::string pod;  // "" = any
  };

  Reachability(std::vector<std::string> pods, bool connected) : pods_(std::move(pods)) {
    for (const auto& f : pods_)
      for (const auto& t : pods_) values_[f][t] = connected;
  }
  void expect(const std::string& from, const std::string& to, bool connected) { values_.at(from).at(to) = connected; }
  void expectAllIngress(const std::string& to, bool connected) {
    for (const auto& f : pods_) values_[f].at(to) = connected;
  }
  void expectAllEgress(const std::string& from, bool connected) {
    for (const auto& t : pods_) values_.at(from)[t] = connected;
  }
  void expectPeer(const Peer& from, const Peer& to, bool connected) {
    for (const auto& f : pods_)
      if (matches(from, f))
        for (const auto& t : pods_)
          if (matches(to, t)) values_[f][t] = connected;
  }
  // Upstream ignores loopback (its behaviour varies between plugins); cnikit defines it:
  // a pod always reaches itself.
  void allowLoopback() {
    for (const auto& p : pods_) values_[p][p] = true;
  }
  const std::map<std::string, std::map<std::string, bool>>& values() const { return values_; }

 private:
  static bool matches(const Peer& peer, const std::string& pod) {
    auto slash = pod.find('/');
    return (peer.ns.empty() || peer.ns == pod.substr(0, slash)) &&
           (peer.pod.empty() || peer.pod == pod.substr(slash + 1));
  }
  std::vector<std::string> pods_;
  std::map<std::string, std::map<std::string, bool>> values_;
};

inline std::string truthTable(const std::vector<std::string>& pods,
                              const std::map<std::string, std::map<std::string, bool>>& values) {
  std::string out = "-";
  for (const auto& t : pods) out += "\t" + t;
  out += "\n";
  for (const auto& f : pods) {
    out += f;
    for (const auto& t : pods) out += values.at(f).at(t) ? "\t." : "\tX";
    out += "\n";
  }
  return out;
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
