// The compiled form every datapath consumes: rules over shared address sets, ports resolved
// where they can be, provenance, and the JSON that crosses the C ABI (docs/policy.md).
#include <gtest/gtest.h>

#include "tests/unit/policy/PolicyFixture.hpp"

namespace cnikit::policy::test {
namespace {

using k8s::Protocol;
using nlohmann::json;

class Compile : public ::testing::Test {
 protected:
  void SetUp() override { applyYaml(engine_, netpolModelYaml()); }
  void policy(const std::string& ns, const std::string& name, const std::string& spec) {
    applyYaml(engine_, policyYaml(ns, name, spec));
  }
  Engine engine_;
};

TEST_F(Compile, RulesReferToSetsNotPods) {
  policy("x", "p", R"(  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {ns: y}}}]
    ports: [{port: 80}])");
  auto ep = engine_.endpoint("x/a");
  ASSERT_TRUE(ep);
  EXPECT_TRUE(ep->ingress.isolated);
  EXPECT_EQ(ep->ingress.policies, std::vector<std::string>{"x/p"});
  ASSERT_EQ(ep->ingress.rules.size(), 1u);
  const auto& rule = ep->ingress.rules[0];
  EXPECT_EQ(rule.from, (Provenance{"x/p", 0, 0}));
  EXPECT_EQ(rule.ports, (std::vector<PortRange>{{Protocol::TCP, 80, 80}}));
  const auto* set = engine_.set(rule.set);
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->definition.type, SetType::Ip);
  EXPECT_EQ(set->ips, (std::vector<std::string>{"10.0.2.1", "10.0.2.2", "10.0.2.3"}));

  // A hundred more pods in y: more set members, not more rules.
  std::string more;
  for (int i = 0; i < 100; ++i) more += podYaml("y", "p" + std::to_string(i), "10.0.4." + std::to_string(i + 1));
  applyYaml(engine_, more);
  EXPECT_EQ(engine_.endpoint("x/a")->ingress.rules.size(), 1u);
  EXPECT_EQ(engine_.set(rule.set)->ips.size(), 103u);
}

TEST_F(Compile, EqualPeersShareOneSet) {
  std::string spec = R"(  podSelector: {matchLabels: {pod: POD}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {matchLabels: {pod: b}}}])";
  for (const char* pod : {"a", "b", "c"}) {
    std::string s = spec;
    s.replace(s.find("POD"), 3, pod);
    policy("x", std::string("p-") + pod, s);
  }
  auto a = engine_.endpoint("x/a")->ingress.rules;
  auto c = engine_.endpoint("x/c")->ingress.rules;
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(a[0].set, c[0].set);
  EXPECT_EQ(engine_.setIds().size(), 1u);
  // A podSelector-only peer is bound to the policy's namespace: policies in two namespaces
  // with the same selector get two sets.
  policy("y", "q", "  podSelector: {}\n  ingress:\n  - from: [{podSelector: {matchLabels: {pod: b}}}]");
  policy("z", "q", "  podSelector: {}\n  ingress:\n  - from: [{podSelector: {matchLabels: {pod: b}}}]");
  EXPECT_NE(engine_.endpoint("y/a")->ingress.rules[0].set, engine_.endpoint("z/a")->ingress.rules[0].set);
  EXPECT_EQ(engine_.set(engine_.endpoint("z/a")->ingress.rules[0].set)->ips, std::vector<std::string>{"10.0.3.2"});
}

TEST_F(Compile, SetIdsAreStableAcrossEngines) {
  std::string p =
      policyYaml("x", "p", "  podSelector: {}\n  egress:\n  - to: [{namespaceSelector: {matchLabels: {ns: z}}}]");
  policy("x", "p", "  podSelector: {}\n  egress:\n  - to: [{namespaceSelector: {matchLabels: {ns: z}}}]");
  Engine other;
  applyYaml(other, p);  // policy first, no pods yet
  applyYaml(other, netpolModelYaml());
  EXPECT_EQ(other.setIds(), engine_.setIds());
  EXPECT_EQ(other.endpointJson("x/b"), engine_.endpointJson("x/b"));
  auto id = engine_.setIds().at(0);
  EXPECT_EQ(id.size(), 17u);
  EXPECT_EQ(id[0], 's');
}

TEST_F(Compile, IpBlocksBecomeNetSets) {
  policy("x", "p", R"(  podSelector: {matchLabels: {pod: a}}
  egress:
  - to: [{ipBlock: {cidr: 192.168.1.7/16, except: [192.168.3.0/24, 192.168.2.0/24]}}]
    ports: [{port: 443}, {protocol: UDP, port: 5000, endPort: 5100}, {protocol: SCTP}])");
  auto ep = engine_.endpoint("x/a");
  ASSERT_EQ(ep->egress.rules.size(), 1u);
  const auto* set = engine_.set(ep->egress.rules[0].set);
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->toJson(), json::parse(R"({"type": "net", "cidr": "192.168.0.0/16",
      "except": ["192.168.2.0/24", "192.168.3.0/24"], "description": "192.168.0.0/16 except 192.168.2.0/24,192.168.3.0/24"})"));
  EXPECT_TRUE(set->containsIp("192.168.200.1"));
  EXPECT_FALSE(set->containsIp("192.168.2.9"));
  EXPECT_FALSE(set->containsIp("10.0.1.1"));
  EXPECT_EQ(toJson(ep->egress.rules[0])["ports"],
            json::parse(R"([{"protocol": "TCP", "port": 443}, {"protocol": "UDP", "port": 5000, "endPort": 5100},
                            {"protocol": "SCTP"}])"));
}

TEST_F(Compile, IngressNamedPortsAreResolvedOnTheEndpoint) {
  policy("x", "p",
         "  podSelector: {}\n  ingress:\n  - ports: [{port: serve-81-udp, protocol: UDP}, {port: serve-80-tcp}, {port: "
         "nope}]");
  auto ep = engine_.endpoint("x/b");
  ASSERT_EQ(ep->ingress.rules.size(), 1u);
  EXPECT_TRUE(ep->ingress.rules[0].set.empty());  // no from: any source
  EXPECT_EQ(ep->ingress.rules[0].ports, (std::vector<PortRange>{{Protocol::TCP, 80, 80}, {Protocol::UDP, 81, 81}}));
}

TEST_F(Compile, EgressNamedPortsBecomeIpPortSets) {
  policy("x", "p", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {pod: b}}, namespaceSelector: {}}]
    ports: [{port: 53, protocol: UDP}, {port: serve-81-tcp}])");
  auto ep = engine_.endpoint("x/a");
  ASSERT_EQ(ep->egress.rules.size(), 2u);
  // The numeric port with the peer's address set ...
  EXPECT_EQ(ep->egress.rules[0].ports, (std::vector<PortRange>{{Protocol::UDP, 53, 53}}));
  EXPECT_EQ(engine_.set(ep->egress.rules[0].set)->definition.type, SetType::Ip);
  // ... and the named port as (address, protocol, port) of each selected pod.
  const auto& named = ep->egress.rules[1];
  EXPECT_TRUE(named.ports.empty());
  EXPECT_EQ(named.from, (Provenance{"x/p", 0, 0}));
  const auto* set = engine_.set(named.set);
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->definition.type, SetType::IpPort);
  EXPECT_EQ(set->ipPorts,
            (std::vector<IpPortEntry>{
                {"10.0.1.2", Protocol::TCP, 81}, {"10.0.2.2", Protocol::TCP, 81}, {"10.0.3.2", Protocol::TCP, 81}}));
  EXPECT_EQ(set->toJson()["members"][0], json::parse(R"({"ip": "10.0.1.2", "protocol": "TCP", "port": 81})"));
}

TEST_F(Compile, EgressNamedPortWithoutPeersCoversEveryPod) {
  policy("x", "p",
         "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress:\n  - ports: [{port: "
         "serve-80-sctp, protocol: SCTP}]");
  auto ep = engine_.endpoint("x/a");
  ASSERT_EQ(ep->egress.rules.size(), 1u);
  EXPECT_EQ(ep->egress.rules[0].from.peer, -1);
  EXPECT_EQ(engine_.set(ep->egress.rules[0].set)->ipPorts.size(), 9u);
}

TEST_F(Compile, EgressNamedPortToAnIpBlockCoversPodsInsideIt) {
  policy("x", "p", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 10.0.2.0/24, except: [10.0.2.3/32]}}]
    ports: [{port: serve-80-tcp}])");
  auto ep = engine_.endpoint("x/a");
  ASSERT_EQ(ep->egress.rules.size(), 1u);
  const auto* set = engine_.set(ep->egress.rules[0].set);
  EXPECT_EQ(set->ipPorts, (std::vector<IpPortEntry>{{"10.0.2.1", Protocol::TCP, 80}, {"10.0.2.2", Protocol::TCP, 80}}));
  expectReach(engine_, "x/a", "y/b", 80, Protocol::TCP, true);
  expectReach(engine_, "x/a", "y/c", 80, Protocol::TCP, false);
}

TEST_F(Compile, EndpointJsonIsTheDocumentedSchema) {
  policy("x", "p", R"(  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{podSelector: {matchLabels: {pod: b}}}]
    ports: [{port: 80}]
  - {}
  egress:
  - to: [{ipBlock: {cidr: 10.0.3.0/24}}])");
  auto j = engine_.endpointJson("x/a");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["endpoint"], json::parse(R"({"namespace": "x", "name": "a", "ips": ["10.0.1.1"]})"));
  EXPECT_EQ(j["ingress"]["isolated"], true);
  EXPECT_EQ(j["ingress"]["policies"], json::array({"x/p"}));
  ASSERT_EQ(j["ingress"]["rules"].size(), 2u);
  const auto& first = j["ingress"]["rules"][0];
  std::string set = first["peer"]["set"];
  EXPECT_EQ(first["ports"], json::parse(R"([{"protocol": "TCP", "port": 80}])"));
  EXPECT_EQ(first["from"], json::parse(R"({"policy": "x/p", "rule": 0, "peer": 0})"));
  EXPECT_EQ(j["ingress"]["rules"][1], json::parse(R"({"peer": {"any": true}, "ports": [],
                                                     "from": {"policy": "x/p", "rule": 1, "peer": null}})"));
  EXPECT_EQ(j["sets"][set]["type"], "ip");
  EXPECT_EQ(j["sets"][set]["members"], json::array({"10.0.1.2"}));
  std::string net = j["egress"]["rules"][0]["peer"]["set"];
  EXPECT_EQ(j["sets"][net]["cidr"], "10.0.3.0/24");
  EXPECT_EQ(j["sets"].size(), 2u);
  auto open = engine_.endpointJson("y/a");
  EXPECT_EQ(open["ingress"], json::parse(R"({"isolated": false, "policies": [], "rules": []})"));
  EXPECT_EQ(open["sets"], json::object());
  EXPECT_THROW(engine_.endpointJson("q/q"), std::out_of_range);
}

TEST(CompileLocal, OnlyLocalPodsAreEndpointsButSetsCoverAll) {
  EngineOptions options;
  options.isLocal = [](const k8s::Pod& pod) { return pod.nodeName == "node-1"; };
  Engine engine(options);
  applyYaml(engine, namespaceYaml("x") + R"(
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {pod: a}}
spec: {nodeName: node-1}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {pod: b}}
spec: {nodeName: node-2}
status: {podIP: 10.0.0.2}
)" + "---\n" + policyYaml("x", "p", "  podSelector: {}\n  ingress:\n  - from: [{podSelector: {}}]"));
  EXPECT_EQ(engine.endpointKeys(), std::vector<std::string>{"x/a"});
  auto rules = engine.endpoint("x/a")->ingress.rules;
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(engine.set(rules[0].set)->ips, (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  // The pod moves to this node: it becomes an endpoint; it moves away: it is removed.
  auto changes = applyYaml(engine,
                           "apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: x, labels: {pod: b}}\n"
                           "spec: {nodeName: node-1}\nstatus: {podIP: 10.0.0.2}\n");
  EXPECT_EQ(changes.endpoints, std::set<std::string>{"x/b"});
  changes = applyYaml(engine,
                      "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {pod: a}}\n"
                      "spec: {nodeName: node-3}\nstatus: {podIP: 10.0.0.1}\n");
  EXPECT_EQ(changes.removedEndpoints, std::set<std::string>{"x/a"});
  EXPECT_EQ(engine.endpointKeys(), std::vector<std::string>{"x/b"});
}

}  // namespace
}  // namespace cnikit::policy::test
