// Scenarios of the Kubernetes e2e netpol suite (kubernetes/kubernetes
// test/e2e/network/netpol/network_policy.go) on its model: namespaces x, y, z with pods a,
// b, c. Each expectation is written with the upstream Reachability calls of that test case
// (the 9-pod version of the suite), not derived from this engine; loopback is allowed (the
// suite ignores it, cnikit defines it). Every matrix is checked against both the semantic
// verdict and the compiled rule sets.
#include <gtest/gtest.h>

#include "tests/unit/policy/PolicyFixture.hpp"

namespace cnikit::policy::test {
namespace {

using k8s::Protocol;
using P = Reachability::Peer;

// The label the apiserver puts on namespaces, as the suite's namespaceLabelKey.
const std::string kNsLabel = "kubernetes.io/metadata.name";

class Upstream : public ::testing::Test {
 protected:
  void SetUp() override { applyYaml(engine_, netpolModelYaml()); }
  Reachability all(bool connected = true) { return Reachability(modelPods(), connected); }
  void policy(const std::string& ns, const std::string& name, const std::string& spec) {
    applyYaml(engine_, policyYaml(ns, name, spec));
  }
  Engine engine_;
};

TEST_F(Upstream, DefaultDenyIngress) {
  policy("x", "deny-ingress", "  podSelector: {}\n  policyTypes: [Ingress]");
  auto r = all();
  r.expectPeer(P{}, P{"x", ""}, false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, DefaultDenyAll) {
  policy("x", "deny-all", "  podSelector: {}\n  policyTypes: [Ingress, Egress]");
  auto r = all();
  r.expectPeer(P{}, P{"x", ""}, false);
  r.expectPeer(P{"x", ""}, P{}, false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, AllowFromPodsWithinServerNamespaceByPodSelector) {
  policy("x", "x-a-allows-x-b", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {pod: b}}}])");
  auto r = all();
  r.expectAllIngress("x/a", false);
  r.expect("x/b", "x/a", true);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, AllowIngressTrafficForATarget) {
  policy("x", "deny-all", "  podSelector: {}\n  policyTypes: [Ingress]");
  policy("x", "allow-all-to-a", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {}, namespaceSelector: {}}])");
  auto r = all();
  r.expectAllIngress("x/a", true);
  r.expectAllIngress("x/b", false);
  r.expectAllIngress("x/c", false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, AllowIngressFromPodsInAllNamespaces) {
  policy("x", "allow-from-another-ns", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {}}}])");
  expectMatrix(engine_, all(), Protocol::TCP, 80);
}

TEST_F(Upstream, AllowOnlyFromADifferentNamespaceByNamespaceSelector) {
  policy("x", "allow-client-a-via-ns-selector",
         R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {)" +
             kNsLabel + R"(: y}}}])");
  auto r = all();
  r.expectPeer(P{"x", ""}, P{"x", "a"}, false);
  r.expectPeer(P{"z", ""}, P{"x", "a"}, false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, PodSelectorWithMatchExpressions) {
  policy("x", "x-a-allows-x-b", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchExpressions: [{key: pod, operator: In, values: [b]}]}}])");
  auto r = all();
  r.expectAllIngress("x/a", false);
  r.expect("x/b", "x/a", true);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, NamespaceSelectorWithMatchExpressions) {
  policy("x", "allow-ns-y-match-selector",
         R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchExpressions: [{key: )" +
             kNsLabel + R"(, operator: In, values: [y]}]}}])");
  auto r = all();
  r.expectPeer(P{"x", ""}, P{"x", "a"}, false);
  r.expectPeer(P{"z", ""}, P{"x", "a"}, false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, PodSelectorOrNamespaceSelector) {
  policy("x", "allow-ns-y-match-selector",
         R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchExpressions: [{key: )" +
             kNsLabel + R"(, operator: NotIn, values: [x]}]}
    - podSelector: {matchLabels: {pod: b}})");
  auto r = all();
  r.expect("x/a", "x/a", false);
  r.expect("x/c", "x/a", false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, PodSelectorAndNamespaceSelector) {
  policy("x", "allow-ns-y-podselector-and-nsselector",
         R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchExpressions: [{key: )" +
             kNsLabel + R"(, operator: NotIn, values: [x]}]}
      podSelector: {matchLabels: {pod: b}})");
  auto r = all();
  r.expectAllIngress("x/a", false);
  r.expect("y/b", "x/a", true);
  r.expect("z/b", "x/a", true);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, MultiplePodSelectorsAndNamespaceSelectors) {
  policy("x", "allow-ns-y-z-pod-b-c",
         R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchExpressions: [{key: )" +
             kNsLabel + R"(, operator: NotIn, values: [x]}]}
      podSelector: {matchExpressions: [{key: pod, operator: In, values: [b, c]}]})");
  auto r = all();
  r.expectPeer(P{"x", ""}, P{"x", "a"}, false);
  r.expect("y/a", "x/a", false);
  r.expect("z/a", "x/a", false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, AnyPodSelectors) {
  policy("x", "allow-ns-x-pod-b-c", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector: {matchLabels: {pod: b}}
    - podSelector: {matchLabels: {pod: c}})");
  auto r = all();
  r.expectAllIngress("x/a", false);
  r.expect("x/b", "x/a", true);
  r.expect("x/c", "x/a", true);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, OnlyFromAPodInADifferentNamespaceByPodAndNamespaceSelector) {
  for (auto protocol : {Protocol::TCP, Protocol::UDP, Protocol::SCTP}) {
    SCOPED_TRACE(k8s::protocolName(protocol));
    Engine engine;
    applyYaml(engine, netpolModelYaml());
    applyYaml(engine,
              policyYaml("x", "allow-ns-y-pod-a-via-namespace-pod-selector", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {)" + kNsLabel + R"(: y}}
      podSelector: {matchLabels: {pod: a}})"));
    auto r = all();
    r.expectAllIngress("x/a", false);
    r.expect("y/a", "x/a", true);
    expectMatrix(engine, r, protocol, 80);
  }
}

TEST_F(Upstream, Ports) {
  for (auto protocol : {Protocol::TCP, Protocol::UDP, Protocol::SCTP}) {
    SCOPED_TRACE(k8s::protocolName(protocol));
    Engine engine;
    applyYaml(engine, netpolModelYaml());
    applyYaml(engine, policyYaml("x", "allow-client-a-via-ns-selector", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {)" + kNsLabel + R"(: y}}}]
    ports: [{port: 81, protocol: )" + k8s::protocolName(protocol) + "}]"));
    auto r = all();
    r.expectPeer(P{"x", ""}, P{"x", "a"}, false);
    r.expectPeer(P{"y", ""}, P{"x", "a"}, true);
    r.expectPeer(P{"z", ""}, P{"x", "a"}, false);
    expectMatrix(engine, r, protocol, 81);
  }
}

TEST_F(Upstream, StackedPoliciesWithOverlappingPodSelectors) {
  std::string allow = R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {)" +
                      kNsLabel + R"(: y}}}]
    ports: [{port: PORT, protocol: TCP}])";
  auto withPort = [&](const char* port) {
    std::string s = allow;
    s.replace(s.find("PORT"), 4, port);
    return s;
  };
  policy("x", "allow-client-a-via-ns-selector", withPort("81"));
  auto allowY = all();
  allowY.expectPeer(P{"x", ""}, P{"x", "a"}, false);
  allowY.expectPeer(P{"y", ""}, P{"x", "a"}, true);
  allowY.expectPeer(P{"z", ""}, P{"x", "a"}, false);
  expectMatrix(engine_, allowY, Protocol::TCP, 81);
  auto deny = all();
  deny.expectAllIngress("x/a", false);
  expectMatrix(engine_, deny, Protocol::TCP, 80);
  policy("x", "allow-client-a-via-ns-selector-80", withPort("80"));
  expectMatrix(engine_, allowY, Protocol::TCP, 80);
}

TEST_F(Upstream, AllowAll) {
  policy("x", "allow-all", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress: [{}]");
  expectMatrix(engine_, all(), Protocol::TCP, 80);
  expectMatrix(engine_, all(), Protocol::TCP, 81);
}

TEST_F(Upstream, IngressOnOneNamedPort) {
  policy("x", "allow-all",
         "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - ports: [{port: serve-81-tcp}]");
  expectMatrix(engine_, all(), Protocol::TCP, 81);
  auto r = all();
  r.expectPeer(P{}, P{"x", ""}, false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, IngressFromNamespaceOnOneNamedPort) {
  policy("x", "allow-client-a-via-ns-selector-80",
         R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {)" +
             kNsLabel + R"(: y}}}]
    ports: [{port: serve-80-tcp, protocol: TCP}])");
  auto r = all();
  r.expectPeer(P{"x", ""}, P{"x", "a"}, false);
  r.expectPeer(P{"z", ""}, P{"x", "a"}, false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
  auto fail = all();
  fail.expectAllIngress("x/a", false);
  expectMatrix(engine_, fail, Protocol::TCP, 81);
}

TEST_F(Upstream, EgressOnOneNamedPort) {
  policy("x", "allow-egress",
         "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - ports: [{port: serve-80-tcp}]");
  expectMatrix(engine_, all(), Protocol::TCP, 80);
  auto r = all();
  r.expectPeer(P{"x", ""}, P{}, false);
  expectMatrix(engine_, r, Protocol::TCP, 81);
}

TEST_F(Upstream, EnforceUpdatedPolicy) {
  policy("x", "allow-all-mutate-to-deny-all", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress: [{}]");
  expectMatrix(engine_, all(), Protocol::TCP, 81);
  policy("x", "allow-all-mutate-to-deny-all", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress: []");
  auto r = all();
  r.expectPeer(P{}, P{"x", ""}, false);
  expectMatrix(engine_, r, Protocol::TCP, 81);
}

TEST_F(Upstream, IngressFromUpdatedNamespace) {
  policy("x", "allow-client-a-via-ns-selector", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {ns2: updated}}}])");
  auto r = all();
  r.expectAllIngress("x/a", false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
  applyYaml(engine_, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: y\n  labels: {ns: y, ns2: updated}\n");
  auto updated = all();
  updated.expectAllIngress("x/a", false);
  updated.expectPeer(P{"y", ""}, P{}, true);
  expectMatrix(engine_, updated, Protocol::TCP, 80);
}

TEST_F(Upstream, IngressFromUpdatedPod) {
  policy("x", "allow-client-a-via-pod-selector", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {pod: b, pod2: updated}}}])");
  auto r = all();
  r.expectAllIngress("x/a", false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
  applyYaml(engine_, podYaml("x", "b", "10.0.1.2", ", pod2: updated"));
  auto updated = all();
  updated.expectAllIngress("x/a", false);
  updated.expect("x/b", "x/a", true);
  expectMatrix(engine_, updated, Protocol::TCP, 80);
}

TEST_F(Upstream, DenyIngressFromPodsInOtherNamespaces) {
  policy("x", "deny-empty-policy",
         "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - from: [{podSelector: {}}]");
  auto r = all();
  r.expectPeer(P{"y", ""}, P{"x", ""}, false);
  r.expectPeer(P{"z", ""}, P{"x", ""}, false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, DenyIngressToUpdatedPod) {
  policy("x", "deny-ingress-via-label-selector",
         "  podSelector: {matchLabels: {target: isolated}}\n  policyTypes: [Ingress]");
  expectMatrix(engine_, all(), Protocol::TCP, 80);
  applyYaml(engine_, podYaml("x", "a", "10.0.1.1", ", target: isolated"));
  auto r = all();
  r.expectAllIngress("x/a", false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, DenyEgressByPodSelector) {
  policy("x", "deny-egress-pod-a", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]");
  auto r = all();
  r.expectAllEgress("x/a", false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, DenyEgressFromAllPodsInANamespace) {
  policy("x", "deny-egress-ns-x", "  podSelector: {}\n  policyTypes: [Egress]");
  auto r = all();
  r.expectPeer(P{"x", ""}, P{}, false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, IngressAndEgressSpecifiedTogether) {
  policy("x", "allow-client-a-via-pod-selector", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress, Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {pod: b}}}]
  egress:
  - ports: [{port: 80}])");
  auto port80 = all();
  port80.expectAllIngress("x/a", false);
  port80.expect("x/b", "x/a", true);
  expectMatrix(engine_, port80, Protocol::TCP, 80);
  auto port81 = all();
  port81.expectAllIngress("x/a", false);
  port81.expectAllEgress("x/a", false);
  port81.expect("x/b", "x/a", true);
  expectMatrix(engine_, port81, Protocol::TCP, 81);
}

TEST_F(Upstream, DenyEgressOnTheClientSideEvenIfTheServerAllowsIt) {
  policy("x", "allow-to-ns-y-pod-a",
         R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {)" +
             kNsLabel + R"(: y}}, podSelector: {matchLabels: {pod: a}}}])");
  std::string fromXa = R"(  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {)" +
                       kNsLabel + R"(: x}}, podSelector: {matchLabels: {pod: a}}}])";
  policy("y", "allow-from-xa-on-ya-match-selector", "  podSelector: {matchLabels: {pod: a}}\n" + fromXa);
  policy("y", "allow-from-xa-on-yb-match-selector", "  podSelector: {matchLabels: {pod: b}}\n" + fromXa);
  auto r = all();
  r.expectPeer(P{"x", "a"}, P{}, false);
  r.expectPeer(P{}, P{"y", "a"}, false);
  r.expectPeer(P{"x", "a"}, P{"y", "a"}, true);
  r.expectPeer(P{}, P{"y", "b"}, false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, EgressToAServerInADifferentNamespaceByPodAndNamespaceSelector) {
  policy("x", "allow-to-ns-y-pod-a",
         R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {)" +
             kNsLabel + R"(: y}}, podSelector: {matchLabels: {pod: a}}}])");
  auto r = all();
  r.expectAllEgress("x/a", false);
  r.expect("x/a", "y/a", true);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, IngressAnyPortOnASpecificProtocol) {
  policy("x", "allow-ingress-by-proto",
         "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress]\n  ingress:\n  - ports: [{protocol: TCP}]");
  expectMatrix(engine_, all(), Protocol::TCP, 80);
  auto udp = all();
  udp.expectPeer(P{}, P{"x", "a"}, false);
  expectMatrix(engine_, udp, Protocol::UDP, 80);
}

TEST_F(Upstream, MultipleIngressPoliciesWithAllowAllTakingPrecedence) {
  policy("x", "allow-ingress-port-80",
         "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - ports: [{port: 80}]");
  auto r = all();
  r.expectPeer(P{}, P{"x", ""}, false);
  expectMatrix(engine_, r, Protocol::TCP, 81);
  policy("x", "allow-ingress", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress: [{}]");
  expectMatrix(engine_, all(), Protocol::TCP, 81);
}

TEST_F(Upstream, MultipleEgressPoliciesWithAllowAllTakingPrecedence) {
  policy("x", "allow-egress-port-80", "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - ports: [{port: 80}]");
  auto r = all();
  r.expectPeer(P{"x", ""}, P{}, false);
  expectMatrix(engine_, r, Protocol::TCP, 81);
  policy("x", "allow-egress", "  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{}]");
  expectMatrix(engine_, all(), Protocol::TCP, 81);
}

TEST_F(Upstream, StopEnforcingPoliciesAfterTheyAreDeleted) {
  policy("x", "deny-all", "  podSelector: {}\n  policyTypes: [Ingress, Egress]");
  auto r = all();
  r.expectPeer(P{"x", ""}, P{}, false);
  r.expectPeer(P{}, P{"x", ""}, false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
  removeYaml(engine_, policyYaml("x", "deny-all", ""));
  expectMatrix(engine_, all(), Protocol::TCP, 80);
}

TEST_F(Upstream, EgressToAServerInACidrBlock) {
  // y/b is 10.0.2.2.
  policy("x", "allow-client-a-via-cidr-egress-rule", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 10.0.2.2/32}}])");
  auto r = all();
  r.expectAllEgress("x/a", false);
  r.expect("x/a", "y/b", true);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, ExceptClauseInAnEgressCidrBlock) {
  // A large block around x/b (10.0.1.2) but not x/b itself.
  policy("x", "allow-client-a-via-cidr-egress-rule", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.1.2/32]}}])");
  auto r = all();
  r.expect("x/a", "x/b", false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, AnAddressInBothCidrAndExceptIsAllowedByAnotherPolicy) {
  policy("x", "allow-client-a-via-cidr-egress-rule", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.1.2/32]}}])");
  auto r = all();
  r.expect("x/a", "x/b", false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
  // Upstream updates the same policy to allow x/b's address only.
  policy("x", "allow-client-a-via-cidr-egress-rule", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 10.0.1.2/32}}])");
  auto allow = all();
  allow.expectAllEgress("x/a", false);
  allow.expect("x/a", "x/b", true);
  expectMatrix(engine_, allow, Protocol::TCP, 80);
}

TEST_F(Upstream, IngressAndEgressControlledIndependently) {
  policy("x", "allow-egress-for-target",
         "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{}]");
  expectMatrix(engine_, all(), Protocol::TCP, 80);
  policy("x", "deny-ingress-via-label-selector", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress]");
  auto r = all();
  r.expectAllIngress("x/a", false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, SctpIsNotMistakenForTcp) {
  policy("x", "deny-ingress", "  podSelector: {}\n  policyTypes: [Ingress]");
  policy("x", "allow-only-sctp-ingress-on-port-81",
         "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress]\n  ingress:\n  - ports: [{port: 81, "
         "protocol: SCTP}]");
  auto r = all();
  r.expectPeer(P{}, P{"x", ""}, false);
  expectMatrix(engine_, r, Protocol::TCP, 81);
}

TEST_F(Upstream, PodsSelectedByAnSctpPolicyAreIsolated) {
  policy("x", "allow-only-sctp-ingress-on-port-80",
         "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress]\n  ingress:\n  - ports: [{port: 80, "
         "protocol: SCTP}]");
  auto r = all();
  r.expectAllIngress("x/a", false);
  expectMatrix(engine_, r, Protocol::TCP, 81);
}

TEST_F(Upstream, NoTcpWhenAPolicyAllowsOnlyUdp) {
  policy("x", "allow-only-udp-ingress-on-port-81",
         "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress]\n  ingress:\n  - ports: [{port: 81, "
         "protocol: UDP}]");
  auto r = all();
  r.expectAllIngress("x/a", false);
  expectMatrix(engine_, r, Protocol::TCP, 81);
}

TEST_F(Upstream, NamespaceSelectorMatchLabelsWithTheNsLabel) {
  // The older suite labelled namespaces ns=<name> and selected on that.
  policy("x", "allow-client-a-via-ns-selector", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {ns: y}}}])");
  auto r = all();
  r.expectPeer(P{"x", ""}, P{"x", "a"}, false);
  r.expectPeer(P{"z", ""}, P{"x", "a"}, false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, NamespaceSelectorMatchExpressionsWithTheDefaultNsLabel) {
  policy("x", "allow-ns-y-match-selector-for-immutable-ns-label", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchExpressions: [{key: )" + kNsLabel + R"(, operator: NotIn, values: [y]}]}}])");
  auto r = all();
  r.expectPeer(P{"x", "a"}, P{"y", ""}, false);
  expectMatrix(engine_, r, Protocol::TCP, 80);
}

TEST_F(Upstream, DefaultDenyIngressUdpAndSctp) {
  policy("x", "deny-all", "  podSelector: {}\n  policyTypes: [Ingress]");
  auto r = all();
  r.expectPeer(P{}, P{"x", ""}, false);
  expectMatrix(engine_, r, Protocol::UDP, 80);
  expectMatrix(engine_, r, Protocol::SCTP, 80);
}

// The matrix as `cnikitctl policy matrix` prints it.
TEST(Matrix, PrintsTheSuiteTruthTableAndJson) {
  Engine engine;
  applyYaml(engine, namespaceYaml("x") + podYaml("x", "a", "10.0.1.1") + podYaml("x", "b", "10.0.1.2") +
                        policyYaml("x", "deny", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress]"));
  auto matrix = computeMatrix(engine.state(), {{Protocol::TCP, 80}});
  EXPECT_EQ(toTable(matrix), "TCP/80:\n-\tx/a\tx/b\nx/a\t.\t.\nx/b\tX\t.\n");
  EXPECT_EQ(toJson(matrix), nlohmann::json::parse(R"({"TCP/80": {"x/a": {"x/a": true, "x/b": true},
                                                                 "x/b": {"x/a": false, "x/b": true}}})"));
  auto declared = declaredPorts(engine.state());
  ASSERT_EQ(declared.size(), 6u);  // 80 and 81 on TCP, UDP, SCTP
  EXPECT_EQ(declared.front().str(), "TCP/80");
  EXPECT_EQ(parsePortCase("udp/53"), (PortCase{Protocol::UDP, 53}));
  EXPECT_FALSE(parsePortCase("TCP/0"));
  EXPECT_FALSE(parsePortCase("ICMP/1"));
  EXPECT_FALSE(parsePortCase("80"));
}

}  // namespace
}  // namespace cnikit::policy::test
