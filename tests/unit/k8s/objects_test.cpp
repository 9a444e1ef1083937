// Normalisation (the apiserver's defaults), typed decoding and store keys.
#include "core/k8s/Objects.hpp"

#include <gtest/gtest.h>

#include "core/k8s/ObjectKeys.hpp"
#include "core/k8s/Validation.hpp"
#include "core/yaml/YamlToJson.hpp"

namespace cnikit::k8s {
namespace {

using nlohmann::json;

NormalizedObject one(const std::string& yaml, const std::string& defaultNamespace = "default") {
  auto objects = validateObjects(yaml::yamlToJson(yaml), {defaultNamespace, ""});
  if (objects.size() != 1) throw std::runtime_error("expected one object");
  return objects[0];
}

TEST(Normalise, NamespaceGetsItsNameLabel) {
  auto ns = one("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels: {ns: x}\n");
  EXPECT_EQ(ns.ref.str(), "Namespace x");
  EXPECT_EQ(ns.object["metadata"]["labels"], (json{{"ns", "x"}, {"kubernetes.io/metadata.name", "x"}}));
  // The apiserver keeps the label equal to the name, whatever the manifest says.
  auto forced =
      one("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels: {kubernetes.io/metadata.name: y}\n");
  EXPECT_EQ(forced.object["metadata"]["labels"]["kubernetes.io/metadata.name"], "x");
  EXPECT_EQ(namespaceFromJson(ns.object), (Namespace{"x", {{"ns", "x"}, {"kubernetes.io/metadata.name", "x"}}}));
}

TEST(Normalise, NamespacedObjectsDefaultTheirNamespace) {
  auto pod = one("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n", "team");
  EXPECT_EQ(pod.ref.ns, "team");
  EXPECT_EQ(pod.object["metadata"]["namespace"], "team");
  EXPECT_EQ(one("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n").ref.ns, "default");
}

TEST(Normalise, PodKeepsWhatPolicyNeeds) {
  auto pod = one(R"(
apiVersion: v1
kind: Pod
metadata:
  name: a
  namespace: x
  labels: {pod: a}
  annotations: {ignored: "yes"}
spec:
  nodeName: node-1
  containers:
  - name: server
    image: busybox
    ports:
    - {name: serve-80-tcp, containerPort: 80}
    - {name: serve-80-udp, containerPort: 80, protocol: UDP}
  - name: sidecar
    ports:
    - {containerPort: 9090, protocol: SCTP}
status:
  phase: Running
  podIP: 10.0.0.1
  podIPs: [{ip: 10.0.0.1}, {ip: "fd00:0::1"}]
)");
  EXPECT_FALSE(pod.object["metadata"].contains("annotations"));
  EXPECT_FALSE(pod.object["spec"]["containers"][0].contains("image"));
  EXPECT_EQ(pod.object["spec"]["containers"][0]["ports"][0]["protocol"], "TCP");  // defaulted
  EXPECT_EQ(pod.object["status"]["podIPs"], (json::array({{{"ip", "10.0.0.1"}}, {{"ip", "fd00::1"}}})));
  Pod decoded = podFromJson(pod.object);
  EXPECT_EQ(decoded.key(), "x/a");
  EXPECT_EQ(decoded.nodeName, "node-1");
  EXPECT_EQ(decoded.ips, (std::vector<std::string>{"10.0.0.1", "fd00::1"}));
  ASSERT_EQ(decoded.ports.size(), 3u);
  EXPECT_EQ(decoded.namedPort("serve-80-tcp", Protocol::TCP), 80);
  EXPECT_EQ(decoded.namedPort("serve-80-udp", Protocol::UDP), 80);
  EXPECT_EQ(decoded.namedPort("serve-80-udp", Protocol::TCP), std::nullopt);  // protocol must match too
  EXPECT_EQ(decoded.ports[2], (ContainerPort{"", 9090, Protocol::SCTP}));
}

TEST(Normalise, PolicyTypesDefaultLikeTheApiserver) {
  auto types = [](const std::string& spec) {
    auto p = one("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\n" + spec);
    return p.object["spec"]["policyTypes"];
  };
  EXPECT_EQ(types(""), json::array({"Ingress"}));  // no spec at all: deny ingress to the namespace
  EXPECT_EQ(types("spec:\n  podSelector: {}\n"), json::array({"Ingress"}));
  EXPECT_EQ(types("spec:\n  egress: [{}]\n"), json::array({"Ingress", "Egress"}));
  EXPECT_EQ(types("spec:\n  egress: []\n"), json::array({"Ingress"}));  // no egress rules: no Egress type
  EXPECT_EQ(types("spec:\n  policyTypes: [Egress]\n"), json::array({"Egress"}));
  EXPECT_EQ(types("spec:\n  policyTypes: [Egress]\n  ingress: [{}]\n"), json::array({"Egress"}));
}

TEST(Normalise, PolicyDecodesWithDefaults) {
  auto p = one(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: x}
spec:
  podSelector:
    matchLabels: {pod: a}
  ingress:
  - {}
  - from:
    - podSelector: {matchLabels: {pod: b}}
      namespaceSelector: {matchExpressions: [{key: ns, operator: In, values: [y, x]}]}
    - ipBlock: {cidr: 10.0.0.1/8, except: [10.1.0.0/16]}
    ports:
    - port: 80
    - {port: serve-81-udp, protocol: UDP}
    - {port: 1000, endPort: 2000, protocol: SCTP}
    - {protocol: UDP}
  egress:
  -
)");
  auto policy = networkPolicyFromJson(p.object);
  EXPECT_EQ(policy.key(), "x/p");
  EXPECT_TRUE(policy.ingressType);
  EXPECT_TRUE(policy.egressType);  // "egress: [ null ]" is one rule that allows everything
  ASSERT_EQ(policy.ingress.size(), 2u);
  EXPECT_TRUE(policy.ingress[0].peers.empty());
  EXPECT_TRUE(policy.ingress[0].ports.empty());
  const auto& rule = policy.ingress[1];
  ASSERT_EQ(rule.peers.size(), 2u);
  EXPECT_EQ(rule.peers[0].podSelector->matchLabels, (Labels{{"pod", "b"}}));
  EXPECT_EQ(rule.peers[0].namespaceSelector->matchExpressions[0].values, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(rule.peers[1].ipBlock->cidr, "10.0.0.1/8");
  ASSERT_EQ(rule.ports.size(), 4u);
  EXPECT_EQ(rule.ports[0].protocol, Protocol::TCP);
  EXPECT_EQ(std::get<uint16_t>(rule.ports[0].port), 80);
  EXPECT_EQ(std::get<std::string>(rule.ports[1].port), "serve-81-udp");
  EXPECT_EQ(rule.ports[2].endPort, 2000);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(rule.ports[3].port));
  ASSERT_EQ(policy.egress.size(), 1u);
  EXPECT_TRUE(policy.egress[0].peers.empty());
}

TEST(Normalise, EmptyIngressListDiffersFromOneEmptyRule) {
  auto base = std::string("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\n");
  auto none = networkPolicyFromJson(one(base + "spec:\n  ingress: []\n").object);
  auto all = networkPolicyFromJson(one(base + "spec:\n  ingress: [{}]\n").object);
  EXPECT_TRUE(none.ingressType);
  EXPECT_TRUE(none.ingress.empty());  // isolates, allows nothing
  EXPECT_TRUE(all.ingressType);
  ASSERT_EQ(all.ingress.size(), 1u);  // isolates, allows everything
}

TEST(Normalise, NormalisingTwiceChangesNothing) {
  auto first = one(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: x, labels: {team: a}}
spec:
  podSelector: {matchExpressions: [{key: pod, operator: Exists}]}
  egress: [{to: [{namespaceSelector: {}}], ports: [{port: 53, protocol: UDP}]}]
)");
  auto second = validateObjects({first.object});
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].object, first.object);
}

TEST(ObjectKeys, RoundTrip) {
  ObjectRef ns{Kind::Namespace, "", "x"};
  ObjectRef pod{Kind::Pod, "x", "a"};
  ObjectRef policy{Kind::NetworkPolicy, "x", "deny"};
  EXPECT_EQ(storeKey(ns), "/cnikit/v1/k8s/namespaces/x");
  EXPECT_EQ(storeKey(pod), "/cnikit/v1/k8s/pods/x/a");
  EXPECT_EQ(storeKey(policy), "/cnikit/v1/k8s/networkpolicies/x/deny");
  for (const auto& ref : {ns, pod, policy}) EXPECT_EQ(refFromStoreKey(storeKey(ref)), ref);
  EXPECT_EQ(refFromStoreKey("/cnikit/v1/k8s/pods/x"), std::nullopt);
  EXPECT_EQ(refFromStoreKey("/cnikit/v1/endpoints/n/c/eth0"), std::nullopt);
  EXPECT_EQ(storePrefix(Kind::Pod, "x"), "/cnikit/v1/k8s/pods/x/");
  EXPECT_EQ(parseKind("netpol"), Kind::NetworkPolicy);
  EXPECT_EQ(parseKind("po"), Kind::Pod);
  EXPECT_EQ(parseKind("services"), Kind::Service);
  EXPECT_EQ(parseKind("configmaps"), std::nullopt);
}

TEST(IpBlockCidr, ParsesContainsAndClearsHostBitsLikeGo) {
  auto ip = [](const char* text) { return toolkit::IpAddress::parse(text).value(); };
  auto net = parseBlockCidr("10.1.2.3/16");
  ASSERT_TRUE(net);
  EXPECT_EQ(net->str(), "10.1.0.0/16");
  EXPECT_TRUE(net->contains(ip("10.1.255.1")));
  EXPECT_FALSE(net->contains(ip("10.2.0.1")));
  EXPECT_FALSE(net->contains(ip("fd00::1")));
  EXPECT_TRUE(net->contains(*parseBlockCidr("10.1.3.0/24")));
  EXPECT_FALSE(net->contains(*parseBlockCidr("10.0.0.0/8")));
  auto v6 = parseBlockCidr("fd00::abcd/120");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->str(), "fd00::ab00/120");
  EXPECT_TRUE(parseBlockCidr("0.0.0.0/0")->contains(ip("192.0.2.1")));
  EXPECT_FALSE(parseBlockCidr("10.0.0.0/-1"));
  EXPECT_FALSE(parseBlockCidr("10.0.0.0/"));
  EXPECT_FALSE(parseBlockCidr("10.0.0.0"));  // a bare address is not a CIDR
}

}  // namespace
}  // namespace cnikit::k8s
