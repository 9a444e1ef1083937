// Scenarios of the Kubernetes e2e netpol suite (kubernetes/kubernetes
// test/e2e/network/netpol/network_policy.go) on its model: namespaces x, y, z with pods a,
// b, c. Each expectation is written with the upstream Reachability calls of that test case
// (the 9-pod version of the suite), not derived from this engine; loopback is allowed (the
// suite ignores it, cnikit defines it). Every matrix is checked against both the semantic
// verdict and the compiled rule sets. The TCP/UDP scenarios live in UpstreamScenarios.cpp,
// shared with the lab e2e suite; the SCTP ones are here.
#include <gtest/gtest.h>

#include "tests/unit/policy/PolicyFixture.hpp"
#include "tests/unit/policy/UpstreamScenarios.hpp"

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

// The shared catalogue on the engine, with the unit model (fixed addresses, TCP/UDP/SCTP ports).
class Catalogue : public ::testing::TestWithParam<UpstreamScenario> {};

TEST_P(Catalogue, EngineGivesTheSuitesMatrices) {
  Engine engine;
  NetpolModel model;
  applyYaml(engine, model.yaml());
  auto steps = GetParam().steps(model);
  for (size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i + 1));
    if (!steps[i].apply.empty()) applyYaml(engine, steps[i].apply);
    if (!steps[i].remove.empty()) removeYaml(engine, steps[i].remove);
    for (const auto& e : steps[i].expected) expectMatrix(engine, e.reachability, e.portCase.protocol, e.portCase.port);
  }
}

INSTANTIATE_TEST_SUITE_P(Upstream, Catalogue, ::testing::ValuesIn(upstreamScenarios()),
                         [](const auto& info) { return info.param.name; });

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
