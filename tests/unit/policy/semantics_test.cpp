// Every point of NetworkPolicy v1 semantics, each asked of the semantic verdict and of the
// compiled rule sets (expectReach checks both).
#include <gtest/gtest.h>

#include "tests/unit/policy/PolicyFixture.hpp"

namespace cnikit::policy::test {
namespace {

using k8s::Protocol;

class Semantics : public ::testing::Test {
 protected:
  void SetUp() override {
    applyYaml(engine_,
              namespaceYaml("x") + namespaceYaml("y") +
                  "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: z\n  labels: {ns: z, team: blue}\n---\n" +
                  podYaml("x", "a", "10.0.1.1") + podYaml("x", "b", "10.0.1.2") +
                  podYaml("x", "c", "10.0.1.3", ", role: db") + podYaml("y", "a", "10.0.2.1") +
                  podYaml("y", "b", "10.0.2.2", ", role: db") + podYaml("z", "a", "10.0.3.1"));
  }
  void policy(const std::string& ns, const std::string& name, const std::string& spec) {
    applyYaml(engine_, policyYaml(ns, name, spec));
  }
  void reach(const std::string& from, const std::string& to, bool expected, uint16_t port = 80,
             Protocol protocol = Protocol::TCP) {
    expectReach(engine_, from, to, port, protocol, expected);
  }
  Engine engine_;
};

TEST_F(Semantics, NoPolicyMeansEverythingIsAllowed) {
  for (const auto& from : engine_.pods())
    for (const auto& to : engine_.pods()) reach(from.first, to.first, true);
  auto ep = engine_.endpoint("x/a");
  ASSERT_TRUE(ep);
  EXPECT_FALSE(ep->ingress.isolated);
  EXPECT_FALSE(ep->egress.isolated);
}

TEST_F(Semantics, PodSelectorMatchLabelsPicksTheIsolatedPods) {
  policy("x", "p", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress]");
  reach("x/b", "x/a", false);
  reach("x/a", "x/b", true);
  reach("y/a", "x/a", false);
  reach("x/a", "y/a", true);  // a policy in x never isolates y/a
  reach("y/b", "y/a", true);
}

TEST_F(Semantics, MatchExpressionOperators) {
  policy("x", "in", R"(  podSelector: {matchExpressions: [{key: pod, operator: In, values: [a, b]}]}
  ingress:
  - from: [{podSelector: {matchExpressions: [{key: role, operator: Exists}]}}])");
  reach("x/c", "x/a", true);   // role=db exists
  reach("x/a", "x/b", false);  // no role label
  reach("x/a", "x/c", true);   // x/c not In [a, b]: not isolated
  policy("y", "notin", R"(  podSelector: {matchExpressions: [{key: role, operator: NotIn, values: [db]}]}
  ingress:
  - from: [{podSelector: {matchExpressions: [{key: role, operator: DoesNotExist}]}}])");
  reach("y/b", "y/a", false);  // y/a (no role: NotIn matches) isolated; y/b has role
  reach("y/a", "y/b", true);   // y/b role=db: not selected
  EXPECT_FALSE(engine_.verdict("x/a", "y/a", 80, Protocol::TCP).allowed);  // x/a has no role, but another namespace
}

TEST_F(Semantics, NamespaceSelectorOperators) {
  policy("x", "p", R"(  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{namespaceSelector: {matchExpressions: [{key: team, operator: Exists}]}}])");
  reach("z/a", "x/a", true);
  reach("y/a", "x/a", false);
  reach("x/b", "x/a", false);
  policy("x", "q", R"(  podSelector: {matchLabels: {pod: b}}
  ingress:
  - from: [{namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [x, z]}]}}])");
  reach("y/a", "x/b", true);
  reach("z/a", "x/b", false);
  reach("x/c", "x/b", false);
}

TEST_F(Semantics, PodSelectorAloneMeansThePolicysNamespace) {
  policy("x", "p",
         "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {pod: b}}}]");
  reach("x/b", "x/a", true);
  reach("y/b", "x/a", false);  // pod=b, but in y
  policy("x", "all-in-x", "  podSelector: {matchLabels: {pod: c}}\n  ingress:\n  - from: [{podSelector: {}}]");
  reach("x/a", "x/c", true);
  reach("y/a", "x/c", false);
}

TEST_F(Semantics, NamespaceSelectorAloneMeansEveryPodThere) {
  policy("x", "p",
         "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {ns: y}}}]");
  reach("y/a", "x/a", true);
  reach("y/b", "x/a", true);
  reach("x/b", "x/a", false);  // not even its own namespace
  policy("x", "q", "  podSelector: {matchLabels: {pod: b}}\n  ingress:\n  - from: [{namespaceSelector: {}}]");
  reach("z/a", "x/b", true);  // {} is every namespace
  reach("x/a", "x/b", true);
}

TEST_F(Semantics, BothSelectorsInOnePeerAreAnded) {
  policy("x", "p", R"(  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {matchLabels: {role: db}}}])");
  reach("y/b", "x/a", true);
  reach("y/a", "x/a", false);  // right namespace, wrong pod
  reach("x/c", "x/a", false);  // right pod labels, wrong namespace
}

TEST_F(Semantics, SeparatePeersAreOred) {
  policy("x", "p", R"(  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
    - podSelector: {matchLabels: {role: db}})");
  reach("y/a", "x/a", true);   // first peer
  reach("x/c", "x/a", true);   // second peer
  reach("x/b", "x/a", false);  // neither
  reach("z/a", "x/a", false);
}

TEST_F(Semantics, IpBlockWithExcept) {
  policy("x", "in", R"(  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.2.0/24]}}])");
  reach("x/b", "x/a", true);
  reach("z/a", "x/a", true);
  reach("y/a", "x/a", false);  // 10.0.2.1 is excepted
  policy("x", "out", R"(  podSelector: {matchLabels: {pod: b}}
  egress:
  - to: [{ipBlock: {cidr: 10.0.1.0/24, except: [10.0.1.3/32]}}])");
  reach("x/b", "x/a", true);
  reach("x/b", "x/c", false);  // excepted
  reach("x/b", "y/a", false);  // outside
}

TEST_F(Semantics, NumericPortsAndRanges) {
  policy("x", "p", R"(  podSelector: {matchLabels: {pod: a}}
  ingress:
  - ports: [{port: 80}, {port: 8000, endPort: 8010}])");
  reach("x/b", "x/a", true, 80);
  reach("x/b", "x/a", false, 81);
  reach("x/b", "x/a", true, 8000);
  reach("x/b", "x/a", true, 8005);
  reach("x/b", "x/a", true, 8010);
  reach("x/b", "x/a", false, 8011);
  reach("x/b", "x/a", false, 7999);
}

TEST_F(Semantics, ProtocolsAndTheTcpDefault) {
  policy("x", "p", R"(  podSelector: {matchLabels: {pod: a}}
  ingress:
  - ports: [{port: 80}, {port: 53, protocol: UDP}, {port: 9000, protocol: SCTP}])");
  reach("x/b", "x/a", true, 80, Protocol::TCP);  // protocol omitted: TCP
  reach("x/b", "x/a", false, 80, Protocol::UDP);
  reach("x/b", "x/a", false, 80, Protocol::SCTP);
  reach("x/b", "x/a", true, 53, Protocol::UDP);
  reach("x/b", "x/a", false, 53, Protocol::TCP);
  reach("x/b", "x/a", true, 9000, Protocol::SCTP);
  reach("x/b", "x/a", false, 9000, Protocol::TCP);
}

TEST_F(Semantics, IngressNamedPortsResolvePerDestinationPod) {
  // Same name, different numbers on two pods.
  applyYaml(engine_, R"(
apiVersion: v1
kind: Pod
metadata: {name: web1, namespace: x, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 10.0.1.10}
---
apiVersion: v1
kind: Pod
metadata: {name: web2, namespace: x, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 9090}]}]}
status: {podIP: 10.0.1.11}
---
apiVersion: v1
kind: Pod
metadata: {name: web3, namespace: x, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: metrics, containerPort: 8080}]}]}
status: {podIP: 10.0.1.12}
)");
  policy("x", "http", "  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - ports: [{port: http}]");
  reach("x/a", "x/web1", true, 8080);
  reach("x/a", "x/web1", false, 9090);
  reach("x/a", "x/web2", true, 9090);
  reach("x/a", "x/web2", false, 8080);
  reach("x/a", "x/web3", false, 8080);  // no port named http: the rule allows nothing there
  auto ep = engine_.endpoint("x/web3");
  ASSERT_TRUE(ep);
  EXPECT_TRUE(ep->ingress.isolated);
  EXPECT_TRUE(ep->ingress.rules.empty());
}

TEST_F(Semantics, EgressNamedPortsResolveAgainstTheDestination) {
  applyYaml(engine_, R"(
apiVersion: v1
kind: Pod
metadata: {name: web1, namespace: y, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}, {name: dns, containerPort: 53, protocol: UDP}]}]}
status: {podIP: 10.0.2.10}
---
apiVersion: v1
kind: Pod
metadata: {name: web2, namespace: y, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 9090}]}]}
status: {podIP: 10.0.2.11}
)");
  policy("x", "out", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {ns: y}}}]
    ports: [{port: http}, {port: dns, protocol: UDP}])");
  reach("x/a", "y/web1", true, 8080);
  reach("x/a", "y/web1", false, 9090);
  reach("x/a", "y/web2", true, 9090);
  reach("x/a", "y/web2", false, 8080);
  reach("x/a", "y/web1", true, 53, Protocol::UDP);
  reach("x/a", "y/web1", false, 53, Protocol::TCP);  // named port protocol must match
  reach("x/a", "y/a", false, 80);                    // y/a has no port named http
  reach("x/a", "x/b", false, 8080);                  // outside the peer
}

TEST_F(Semantics, PolicyTypesDefaulting) {
  // Only ingress rules: Ingress only, egress stays open.
  policy("x", "ingress-only", "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{}]");
  EXPECT_TRUE(engine_.endpoint("x/a")->ingress.isolated);
  EXPECT_FALSE(engine_.endpoint("x/a")->egress.isolated);
  // Egress rules without policyTypes: both Ingress (always) and Egress.
  policy("x", "both",
         "  podSelector: {matchLabels: {pod: b}}\n  egress:\n  - to: [{podSelector: {matchLabels: {pod: a}}}]");
  EXPECT_TRUE(engine_.endpoint("x/b")->ingress.isolated);
  EXPECT_TRUE(engine_.endpoint("x/b")->egress.isolated);
  reach("x/a", "x/b", false);  // ingress isolated with no ingress rules
  reach("x/b", "x/a", true);
  reach("x/b", "x/c", false);
  // Explicit Egress only: ingress stays open.
  policy("x", "egress-only", "  podSelector: {matchLabels: {pod: c}}\n  policyTypes: [Egress]");
  reach("x/a", "x/c", true);
  reach("x/c", "x/a", false);
}

TEST_F(Semantics, EmptyRuleListVersusOneEmptyRule) {
  policy("x", "none", "  podSelector: {matchLabels: {pod: a}}\n  ingress: []");
  policy("x", "everything", "  podSelector: {matchLabels: {pod: b}}\n  ingress: [{}]");
  reach("y/a", "x/a", false);  // ingress: [] isolates and allows nothing
  reach("y/a", "x/b", true);   // ingress: [{}] isolates and allows everything
  reach("y/a", "x/b", true, 12345, Protocol::UDP);
  EXPECT_TRUE(engine_.endpoint("x/b")->ingress.isolated);
  policy("y", "egress-all", "  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{}]");
  policy("z", "egress-none", "  podSelector: {}\n  policyTypes: [Egress]\n  egress: []");
  reach("y/a", "z/a", true);
  reach("z/a", "y/a", false);
}

TEST_F(Semantics, IsolationIsPerDirection) {
  policy("x", "deny-egress", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]");
  reach("x/a", "x/b", false);
  reach("x/b", "x/a", true);  // ingress of x/a not isolated by an egress policy
  policy("x", "deny-ingress", "  podSelector: {matchLabels: {pod: b}}\n  policyTypes: [Ingress]");
  reach("x/b", "x/c", true);  // egress of x/b not isolated by an ingress policy
  reach("x/c", "x/b", false);
}

TEST_F(Semantics, PoliciesOnlyAdd) {
  policy("x", "from-b",
         "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {pod: b}}}]");
  reach("x/b", "x/a", true);
  reach("x/c", "x/a", false);
  policy("x", "from-c",
         "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {pod: c}}}]");
  reach("x/b", "x/a", true);  // the second policy cannot take away what the first allows
  reach("x/c", "x/a", true);
  policy("x", "deny-all", "  podSelector: {}\n  ingress: []");
  reach("x/b", "x/a", true);  // nor can a deny-all: there is no deny
  auto v = engine_.verdict("x/c", "x/a", 80, Protocol::TCP);
  EXPECT_EQ(v.ingress.policies, (std::vector<std::string>{"x/deny-all", "x/from-b", "x/from-c"}));
}

TEST_F(Semantics, BothSidesMustAllow) {
  policy("x", "a-egress",
         "  podSelector: {matchLabels: {pod: a}}\n  egress:\n  - to: [{podSelector: {matchLabels: {pod: b}}}]");
  policy("x", "b-ingress",
         "  podSelector: {matchLabels: {pod: b}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {pod: c}}}]");
  reach("x/a", "x/b", false);  // egress allows, ingress does not
  reach("x/c", "x/b", true);
  reach("x/a", "x/c", false);  // ingress open, egress does not allow
}

TEST_F(Semantics, RepliesOfAllowedConnectionsAreAllowed) {
  // x/b may neither send nor receive anything of its own, yet answers x/a: a verdict is per
  // connection, decided by the initiator's egress and the receiver's ingress only.
  policy("x", "b-isolated",
         "  podSelector: {matchLabels: {pod: b}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from: "
         "[{podSelector: {matchLabels: {pod: a}}}]");
  reach("x/a", "x/b", true);
  reach("x/b", "x/a", false);
  auto v = engine_.verdict("x/a", "x/b", 80, Protocol::TCP);
  EXPECT_FALSE(v.egress.isolated);  // x/b's egress isolation plays no part
}

TEST_F(Semantics, APodAlwaysReachesItself) {
  policy("x", "deny-all", "  podSelector: {}\n  policyTypes: [Ingress, Egress]");
  reach("x/a", "x/a", true);
  reach("x/a", "x/b", false);
  auto v = engine_.verdict("x/a", "x/a", 80, Protocol::TCP);
  EXPECT_TRUE(v.samePod);
  EXPECT_TRUE(v.ingress.isolated);
}

TEST_F(Semantics, ExplainNamesPoliciesRulesAndPeers) {
  policy("x", "p", R"(  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{podSelector: {matchLabels: {pod: c}}}]
  - from:
    - podSelector: {matchLabels: {pod: c}}
    - podSelector: {matchLabels: {pod: b}}
    ports: [{port: 81}, {port: 80}])");
  auto v = engine_.verdict("x/b", "x/a", 80, Protocol::TCP);
  EXPECT_TRUE(v.allowed);
  EXPECT_FALSE(v.egress.isolated);
  ASSERT_EQ(v.ingress.allowedBy.size(), 1u);
  EXPECT_EQ(v.ingress.allowedBy[0], (RuleMatch{"x/p", 1, 1, 1}));
  auto none = engine_.verdict("y/a", "x/a", 80, Protocol::TCP);
  EXPECT_FALSE(none.allowed);
  EXPECT_TRUE(none.ingress.allowedBy.empty());
  EXPECT_EQ(none.ingress.policies, std::vector<std::string>{"x/p"});
}

TEST_F(Semantics, PodsOfAnUnknownNamespaceCarryOnlyTheNameLabel) {
  applyYaml(engine_, podYaml("w", "a", "10.0.9.1"));  // namespace w never applied
  policy("x", "p", R"(  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: w}}}])");
  reach("w/a", "x/a", true);
  policy("x", "q",
         "  podSelector: {matchLabels: {pod: b}}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {ns: w}}}]");
  reach("w/a", "x/b", false);
}

}  // namespace
}  // namespace cnikit::policy::test
