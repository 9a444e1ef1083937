#include "tests/unit/policy/UpstreamScenarios.hpp"

namespace cnikit::policy::test {
namespace {

using k8s::Protocol;
using P = Reachability::Peer;
using Steps = std::vector<ScenarioStep>;

// The label the apiserver puts on namespaces, as the suite's namespaceLabelKey.
const std::string kNsLabel = "kubernetes.io/metadata.name";

const PortCase kTcp80{Protocol::TCP, 80};
const PortCase kTcp81{Protocol::TCP, 81};
const PortCase kUdp80{Protocol::UDP, 80};
const PortCase kUdp81{Protocol::UDP, 81};

Reachability all(bool connected = true) { return Reachability(modelPods(), connected); }

// upstream's makeLargeCIDRForIP, for IPv4: a /8 holding the address (and the whole model).
std::string largeCidrAround(const std::string& ip) { return ip.substr(0, ip.find('.')) + ".0.0.0/8"; }

std::string fromNamespaceY(const std::string& portsLine) {
  return R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {)" +
         kNsLabel + R"(: y}}}])" + portsLine;
}

Steps defaultDenyIngress(const NetpolModel&) {
  auto r = all();
  r.expectPeer(P{}, P{"x", ""}, false);
  return {{.apply = policyYaml("x", "deny-ingress", "  podSelector: {}\n  policyTypes: [Ingress]"),
           .expected = {{kTcp80, r}, {kUdp80, r}}}};
}

Steps defaultDenyAll(const NetpolModel&) {
  auto r = all();
  r.expectPeer(P{}, P{"x", ""}, false);
  r.expectPeer(P{"x", ""}, P{}, false);
  return {{.apply = policyYaml("x", "deny-all", "  podSelector: {}\n  policyTypes: [Ingress, Egress]"),
           .expected = {{kTcp80, r}}}};
}

Steps allowFromPodsWithinServerNamespaceByPodSelector(const NetpolModel&) {
  auto r = all();
  r.expectAllIngress("x/a", false);
  r.expect("x/b", "x/a", true);
  return {{.apply = policyYaml("x", "x-a-allows-x-b", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {pod: b}}}])"),
           .expected = {{kTcp80, r}}}};
}

Steps allowIngressTrafficForATarget(const NetpolModel&) {
  auto r = all();
  r.expectAllIngress("x/a", true);
  r.expectAllIngress("x/b", false);
  r.expectAllIngress("x/c", false);
  return {{.apply = policyYaml("x", "deny-all", "  podSelector: {}\n  policyTypes: [Ingress]") +
                    policyYaml("x", "allow-all-to-a", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {}, namespaceSelector: {}}])"),
           .expected = {{kTcp80, r}}}};
}

Steps allowIngressFromPodsInAllNamespaces(const NetpolModel&) {
  return {{.apply = policyYaml("x", "allow-from-another-ns", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {}}}])"),
           .expected = {{kTcp80, all()}}}};
}

Steps allowOnlyFromADifferentNamespaceByNamespaceSelector(const NetpolModel&) {
  auto r = all();
  r.expectPeer(P{"x", ""}, P{"x", "a"}, false);
  r.expectPeer(P{"z", ""}, P{"x", "a"}, false);
  return {{.apply = policyYaml("x", "allow-client-a-via-ns-selector", fromNamespaceY("")), .expected = {{kTcp80, r}}}};
}

Steps podSelectorWithMatchExpressions(const NetpolModel&) {
  auto r = all();
  r.expectAllIngress("x/a", false);
  r.expect("x/b", "x/a", true);
  return {{.apply = policyYaml("x", "x-a-allows-x-b", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchExpressions: [{key: pod, operator: In, values: [b]}]}}])"),
           .expected = {{kTcp80, r}}}};
}

Steps namespaceSelectorWithMatchExpressions(const NetpolModel&) {
  auto r = all();
  r.expectPeer(P{"x", ""}, P{"x", "a"}, false);
  r.expectPeer(P{"z", ""}, P{"x", "a"}, false);
  return {{.apply = policyYaml("x", "allow-ns-y-match-selector",
                               R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchExpressions: [{key: )" +
                                   kNsLabel + R"(, operator: In, values: [y]}]}}])"),
           .expected = {{kTcp80, r}}}};
}

Steps podSelectorOrNamespaceSelector(const NetpolModel&) {
  auto r = all();
  r.expect("x/a", "x/a", false);
  r.expect("x/c", "x/a", false);
  return {{.apply = policyYaml("x", "allow-ns-y-match-selector",
                               R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchExpressions: [{key: )" +
                                   kNsLabel + R"(, operator: NotIn, values: [x]}]}
    - podSelector: {matchLabels: {pod: b}})"),
           .expected = {{kTcp80, r}}}};
}

Steps podSelectorAndNamespaceSelector(const NetpolModel&) {
  auto r = all();
  r.expectAllIngress("x/a", false);
  r.expect("y/b", "x/a", true);
  r.expect("z/b", "x/a", true);
  return {{.apply = policyYaml("x", "allow-ns-y-podselector-and-nsselector",
                               R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchExpressions: [{key: )" +
                                   kNsLabel + R"(, operator: NotIn, values: [x]}]}
      podSelector: {matchLabels: {pod: b}})"),
           .expected = {{kTcp80, r}}}};
}

Steps multiplePodSelectorsAndNamespaceSelectors(const NetpolModel&) {
  auto r = all();
  r.expectPeer(P{"x", ""}, P{"x", "a"}, false);
  r.expect("y/a", "x/a", false);
  r.expect("z/a", "x/a", false);
  return {{.apply = policyYaml("x", "allow-ns-y-z-pod-b-c",
                               R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchExpressions: [{key: )" +
                                   kNsLabel + R"(, operator: NotIn, values: [x]}]}
      podSelector: {matchExpressions: [{key: pod, operator: In, values: [b, c]}]})"),
           .expected = {{kTcp80, r}}}};
}

Steps anyPodSelectors(const NetpolModel&) {
  auto r = all();
  r.expectAllIngress("x/a", false);
  r.expect("x/b", "x/a", true);
  r.expect("x/c", "x/a", true);
  return {{.apply = policyYaml("x", "allow-ns-x-pod-b-c", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector: {matchLabels: {pod: b}}
    - podSelector: {matchLabels: {pod: c}})"),
           .expected = {{kTcp80, r}}}};
}

Steps stackedPoliciesWithOverlappingPodSelectors(const NetpolModel&) {
  auto allowY = all();
  allowY.expectPeer(P{"x", ""}, P{"x", "a"}, false);
  allowY.expectPeer(P{"y", ""}, P{"x", "a"}, true);
  allowY.expectPeer(P{"z", ""}, P{"x", "a"}, false);
  auto deny = all();
  deny.expectAllIngress("x/a", false);
  return {{.apply = policyYaml("x", "allow-client-a-via-ns-selector",
                               fromNamespaceY("\n    ports: [{port: 81, protocol: TCP}]")),
           .expected = {{kTcp81, allowY}, {kTcp80, deny}}},
          {.apply = policyYaml("x", "allow-client-a-via-ns-selector-80",
                               fromNamespaceY("\n    ports: [{port: 80, protocol: TCP}]")),
           .expected = {{kTcp80, allowY}}}};
}

Steps allowAll(const NetpolModel&) {
  return {{.apply = policyYaml("x", "allow-all", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress: [{}]"),
           .expected = {{kTcp80, all()}, {kTcp81, all()}}}};
}

Steps ingressOnOneNamedPort(const NetpolModel&) {
  auto r = all();
  r.expectPeer(P{}, P{"x", ""}, false);
  return {{.apply =
               policyYaml("x", "allow-all",
                          "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - ports: [{port: serve-81-tcp}]"),
           .expected = {{kTcp81, all()}, {kTcp80, r}}}};
}

Steps ingressFromNamespaceOnOneNamedPort(const NetpolModel&) {
  auto r = all();
  r.expectPeer(P{"x", ""}, P{"x", "a"}, false);
  r.expectPeer(P{"z", ""}, P{"x", "a"}, false);
  auto fail = all();
  fail.expectAllIngress("x/a", false);
  return {{.apply = policyYaml("x", "allow-client-a-via-ns-selector-80",
                               fromNamespaceY("\n    ports: [{port: serve-80-tcp, protocol: TCP}]")),
           .expected = {{kTcp80, r}, {kTcp81, fail}}}};
}

Steps egressOnOneNamedPort(const NetpolModel&) {
  auto r = all();
  r.expectPeer(P{"x", ""}, P{}, false);
  return {
      {.apply = policyYaml("x", "allow-egress",
                           "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - ports: [{port: serve-80-tcp}]"),
       .expected = {{kTcp80, all()}, {kTcp81, r}}}};
}

Steps enforceUpdatedPolicy(const NetpolModel&) {
  auto r = all();
  r.expectPeer(P{}, P{"x", ""}, false);
  return {{.apply = policyYaml("x", "allow-all-mutate-to-deny-all",
                               "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress: [{}]"),
           .expected = {{kTcp81, all()}}},
          {.apply = policyYaml("x", "allow-all-mutate-to-deny-all",
                               "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress: []"),
           .expected = {{kTcp81, r}}}};
}

Steps ingressFromUpdatedNamespace(const NetpolModel&) {
  auto r = all();
  r.expectAllIngress("x/a", false);
  auto updated = all();
  updated.expectAllIngress("x/a", false);
  updated.expectPeer(P{"y", ""}, P{}, true);
  return {{.apply = policyYaml("x", "allow-client-a-via-ns-selector", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {ns2: updated}}}])"),
           .expected = {{kTcp80, r}}},
          {.apply = namespaceYaml("y", ", ns2: updated"), .expected = {{kTcp80, updated}}}};
}

Steps ingressFromUpdatedPod(const NetpolModel& model) {
  auto r = all();
  r.expectAllIngress("x/a", false);
  auto updated = all();
  updated.expectAllIngress("x/a", false);
  updated.expect("x/b", "x/a", true);
  return {{.apply = policyYaml("x", "allow-client-a-via-pod-selector", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {pod: b, pod2: updated}}}])"),
           .expected = {{kTcp80, r}}},
          {.apply = model.podYaml("x/b", ", pod2: updated"), .expected = {{kTcp80, updated}}}};
}

Steps denyIngressFromPodsInOtherNamespaces(const NetpolModel&) {
  auto r = all();
  r.expectPeer(P{"y", ""}, P{"x", ""}, false);
  r.expectPeer(P{"z", ""}, P{"x", ""}, false);
  return {
      {.apply = policyYaml("x", "deny-empty-policy",
                           "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - from: [{podSelector: {}}]"),
       .expected = {{kTcp80, r}}}};
}

Steps denyIngressToUpdatedPod(const NetpolModel& model) {
  auto r = all();
  r.expectAllIngress("x/a", false);
  return {{.apply = policyYaml("x", "deny-ingress-via-label-selector",
                               "  podSelector: {matchLabels: {target: isolated}}\n  policyTypes: [Ingress]"),
           .expected = {{kTcp80, all()}}},
          {.apply = model.podYaml("x/a", ", target: isolated"), .expected = {{kTcp80, r}}}};
}

Steps denyEgressByPodSelector(const NetpolModel&) {
  auto r = all();
  r.expectAllEgress("x/a", false);
  return {
      {.apply = policyYaml("x", "deny-egress-pod-a", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]"),
       .expected = {{kTcp80, r}}}};
}

Steps denyEgressFromAllPodsInANamespace(const NetpolModel&) {
  auto r = all();
  r.expectPeer(P{"x", ""}, P{}, false);
  return {{.apply = policyYaml("x", "deny-egress-ns-x", "  podSelector: {}\n  policyTypes: [Egress]"),
           .expected = {{kTcp80, r}, {kUdp81, r}}}};
}

Steps ingressAndEgressSpecifiedTogether(const NetpolModel&) {
  auto port80 = all();
  port80.expectAllIngress("x/a", false);
  port80.expect("x/b", "x/a", true);
  auto port81 = all();
  port81.expectAllIngress("x/a", false);
  port81.expectAllEgress("x/a", false);
  port81.expect("x/b", "x/a", true);
  return {{.apply = policyYaml("x", "allow-client-a-via-pod-selector", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress, Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {pod: b}}}]
  egress:
  - ports: [{port: 80}])"),
           .expected = {{kTcp80, port80}, {kTcp81, port81}}}};
}

Steps denyEgressOnTheClientSideEvenIfTheServerAllowsIt(const NetpolModel&) {
  std::string fromXa = R"(  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {)" +
                       kNsLabel + R"(: x}}, podSelector: {matchLabels: {pod: a}}}])";
  auto r = all();
  r.expectPeer(P{"x", "a"}, P{}, false);
  r.expectPeer(P{}, P{"y", "a"}, false);
  r.expectPeer(P{"x", "a"}, P{"y", "a"}, true);
  r.expectPeer(P{}, P{"y", "b"}, false);
  return {
      {.apply =
           policyYaml("x", "allow-to-ns-y-pod-a",
                      R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {)" +
                          kNsLabel + R"(: y}}, podSelector: {matchLabels: {pod: a}}}])") +
           policyYaml("y", "allow-from-xa-on-ya-match-selector", "  podSelector: {matchLabels: {pod: a}}\n" + fromXa) +
           policyYaml("y", "allow-from-xa-on-yb-match-selector", "  podSelector: {matchLabels: {pod: b}}\n" + fromXa),
       .expected = {{kTcp80, r}}}};
}

Steps egressToAServerInADifferentNamespaceByPodAndNamespaceSelector(const NetpolModel&) {
  auto r = all();
  r.expectAllEgress("x/a", false);
  r.expect("x/a", "y/a", true);
  return {{.apply = policyYaml("x", "allow-to-ns-y-pod-a",
                               R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {)" +
                                   kNsLabel + R"(: y}}, podSelector: {matchLabels: {pod: a}}}])"),
           .expected = {{kTcp80, r}}}};
}

Steps ingressAnyPortOnASpecificProtocol(const NetpolModel&) {
  auto udp = all();
  udp.expectPeer(P{}, P{"x", "a"}, false);
  return {
      {.apply = policyYaml("x", "allow-ingress-by-proto",
                           "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress]\n  ingress:\n  - ports: "
                           "[{protocol: TCP}]"),
       .expected = {{kTcp80, all()}, {kUdp80, udp}}}};
}

Steps multipleIngressPoliciesWithAllowAllTakingPrecedence(const NetpolModel&) {
  auto r = all();
  r.expectPeer(P{}, P{"x", ""}, false);
  return {{.apply = policyYaml("x", "allow-ingress-port-80",
                               "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - ports: [{port: 80}]"),
           .expected = {{kTcp81, r}}},
          {.apply = policyYaml("x", "allow-ingress", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress: [{}]"),
           .expected = {{kTcp81, all()}}}};
}

Steps multipleEgressPoliciesWithAllowAllTakingPrecedence(const NetpolModel&) {
  auto r = all();
  r.expectPeer(P{"x", ""}, P{}, false);
  return {{.apply = policyYaml("x", "allow-egress-port-80",
                               "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - ports: [{port: 80}]"),
           .expected = {{kTcp81, r}}},
          {.apply = policyYaml("x", "allow-egress", "  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{}]"),
           .expected = {{kTcp81, all()}}}};
}

Steps stopEnforcingPoliciesAfterTheyAreDeleted(const NetpolModel&) {
  auto r = all();
  r.expectPeer(P{"x", ""}, P{}, false);
  r.expectPeer(P{}, P{"x", ""}, false);
  std::string denyAll = policyYaml("x", "deny-all", "  podSelector: {}\n  policyTypes: [Ingress, Egress]");
  return {{.apply = denyAll, .expected = {{kTcp80, r}}}, {.remove = denyAll, .expected = {{kTcp80, all()}}}};
}

Steps egressToAServerInACidrBlock(const NetpolModel& model) {
  auto r = all();
  r.expectAllEgress("x/a", false);
  r.expect("x/a", "y/b", true);
  return {{.apply = policyYaml("x", "allow-client-a-via-cidr-egress-rule", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: )" + model.addressOf("y/b") + "/32}}]"),
           .expected = {{kTcp80, r}}}};
}

// A large block around x/b but not x/b itself.
std::string egressAroundButNotXb(const NetpolModel& model) {
  const std::string xb = model.addressOf("x/b");
  return policyYaml("x", "allow-client-a-via-cidr-egress-rule",
                    R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: )" +
                        largeCidrAround(xb) + ", except: [" + xb + "/32]}}]");
}

Steps exceptClauseInAnEgressCidrBlock(const NetpolModel& model) {
  auto r = all();
  r.expect("x/a", "x/b", false);
  return {{.apply = egressAroundButNotXb(model), .expected = {{kTcp80, r}}}};
}

Steps anAddressInBothCidrAndExceptIsAllowedByAnotherPolicy(const NetpolModel& model) {
  auto r = all();
  r.expect("x/a", "x/b", false);
  auto allow = all();
  allow.expectAllEgress("x/a", false);
  allow.expect("x/a", "x/b", true);
  // Upstream updates the same policy to allow x/b's address only.
  return {{.apply = egressAroundButNotXb(model), .expected = {{kTcp80, r}}},
          {.apply = policyYaml("x", "allow-client-a-via-cidr-egress-rule", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: )" + model.addressOf("x/b") + "/32}}]"),
           .expected = {{kTcp80, allow}}}};
}

Steps ingressAndEgressControlledIndependently(const NetpolModel&) {
  auto r = all();
  r.expectAllIngress("x/a", false);
  return {{.apply = policyYaml("x", "allow-egress-for-target",
                               "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{}]"),
           .expected = {{kTcp80, all()}}},
          {.apply = policyYaml("x", "deny-ingress-via-label-selector",
                               "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress]"),
           .expected = {{kTcp80, r}}}};
}

Steps noTcpWhenAPolicyAllowsOnlyUdp(const NetpolModel&) {
  auto tcp = all();
  tcp.expectAllIngress("x/a", false);
  return {
      {.apply = policyYaml("x", "allow-only-udp-ingress-on-port-81",
                           "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress]\n  ingress:\n  - ports: "
                           "[{port: 81, protocol: UDP}]"),
       .expected = {{kTcp81, tcp}, {kUdp81, all()}}}};
}

Steps namespaceSelectorMatchLabelsWithTheNsLabel(const NetpolModel&) {
  // The older suite labelled namespaces ns=<name> and selected on that.
  auto r = all();
  r.expectPeer(P{"x", ""}, P{"x", "a"}, false);
  r.expectPeer(P{"z", ""}, P{"x", "a"}, false);
  return {{.apply = policyYaml("x", "allow-client-a-via-ns-selector", R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {ns: y}}}])"),
           .expected = {{kTcp80, r}}}};
}

Steps namespaceSelectorMatchExpressionsWithTheDefaultNsLabel(const NetpolModel&) {
  auto r = all();
  r.expectPeer(P{"x", "a"}, P{"y", ""}, false);
  return {{.apply = policyYaml("x", "allow-ns-y-match-selector-for-immutable-ns-label",
                               R"(  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchExpressions: [{key: )" +
                                   kNsLabel + R"(, operator: NotIn, values: [y]}]}}])"),
           .expected = {{kTcp80, r}}}};
}

// Upstream's "should enforce policy based on Ports" with a port range (endPort, KEP-2079):
// ingress of x/a from namespace y on TCP 81-85, and egress of x/b to UDP 80-81.
Steps portRanges(const NetpolModel&) {
  auto tcp81 = all();
  tcp81.expectPeer(P{"x", ""}, P{"x", "a"}, false);
  tcp81.expectPeer(P{"z", ""}, P{"x", "a"}, false);
  tcp81.expectAllEgress("x/b", false);
  auto tcp80 = all();
  tcp80.expectAllIngress("x/a", false);
  tcp80.expectAllEgress("x/b", false);
  auto udp = all();
  udp.expectAllIngress("x/a", false);
  return {{.apply = policyYaml("x", "allow-ns-y-on-tcp-81-85",
                               fromNamespaceY("\n    ports: [{port: 81, endPort: 85, protocol: TCP}]")) +
                    policyYaml("x", "allow-x-b-egress-on-udp-80-81", R"(  podSelector: {matchLabels: {pod: b}}
  policyTypes: [Egress]
  egress:
  - ports: [{port: 80, endPort: 81, protocol: UDP}])"),
           .expected = {{kTcp81, tcp81}, {kTcp80, tcp80}, {kUdp80, udp}, {kUdp81, udp}}}};
}

}  // namespace

const std::vector<UpstreamScenario>& upstreamScenarios() {
  static const std::vector<UpstreamScenario> scenarios{
      {"DefaultDenyIngress", defaultDenyIngress},
      {"DefaultDenyAll", defaultDenyAll},
      {"AllowFromPodsWithinServerNamespaceByPodSelector", allowFromPodsWithinServerNamespaceByPodSelector},
      {"AllowIngressTrafficForATarget", allowIngressTrafficForATarget},
      {"AllowIngressFromPodsInAllNamespaces", allowIngressFromPodsInAllNamespaces},
      {"AllowOnlyFromADifferentNamespaceByNamespaceSelector", allowOnlyFromADifferentNamespaceByNamespaceSelector},
      {"PodSelectorWithMatchExpressions", podSelectorWithMatchExpressions},
      {"NamespaceSelectorWithMatchExpressions", namespaceSelectorWithMatchExpressions},
      {"PodSelectorOrNamespaceSelector", podSelectorOrNamespaceSelector},
      {"PodSelectorAndNamespaceSelector", podSelectorAndNamespaceSelector},
      {"MultiplePodSelectorsAndNamespaceSelectors", multiplePodSelectorsAndNamespaceSelectors},
      {"AnyPodSelectors", anyPodSelectors},
      {"StackedPoliciesWithOverlappingPodSelectors", stackedPoliciesWithOverlappingPodSelectors},
      {"AllowAll", allowAll},
      {"IngressOnOneNamedPort", ingressOnOneNamedPort},
      {"IngressFromNamespaceOnOneNamedPort", ingressFromNamespaceOnOneNamedPort},
      {"EgressOnOneNamedPort", egressOnOneNamedPort},
      {"EnforceUpdatedPolicy", enforceUpdatedPolicy},
      {"IngressFromUpdatedNamespace", ingressFromUpdatedNamespace},
      {"IngressFromUpdatedPod", ingressFromUpdatedPod},
      {"DenyIngressFromPodsInOtherNamespaces", denyIngressFromPodsInOtherNamespaces},
      {"DenyIngressToUpdatedPod", denyIngressToUpdatedPod},
      {"DenyEgressByPodSelector", denyEgressByPodSelector},
      {"DenyEgressFromAllPodsInANamespace", denyEgressFromAllPodsInANamespace},
      {"IngressAndEgressSpecifiedTogether", ingressAndEgressSpecifiedTogether},
      {"DenyEgressOnTheClientSideEvenIfTheServerAllowsIt", denyEgressOnTheClientSideEvenIfTheServerAllowsIt},
      {"EgressToAServerInADifferentNamespaceByPodAndNamespaceSelector",
       egressToAServerInADifferentNamespaceByPodAndNamespaceSelector},
      {"IngressAnyPortOnASpecificProtocol", ingressAnyPortOnASpecificProtocol},
      {"MultipleIngressPoliciesWithAllowAllTakingPrecedence", multipleIngressPoliciesWithAllowAllTakingPrecedence},
      {"MultipleEgressPoliciesWithAllowAllTakingPrecedence", multipleEgressPoliciesWithAllowAllTakingPrecedence},
      {"StopEnforcingPoliciesAfterTheyAreDeleted", stopEnforcingPoliciesAfterTheyAreDeleted},
      {"EgressToAServerInACidrBlock", egressToAServerInACidrBlock},
      {"ExceptClauseInAnEgressCidrBlock", exceptClauseInAnEgressCidrBlock},
      {"AnAddressInBothCidrAndExceptIsAllowedByAnotherPolicy", anAddressInBothCidrAndExceptIsAllowedByAnotherPolicy},
      {"IngressAndEgressControlledIndependently", ingressAndEgressControlledIndependently},
      {"NoTcpWhenAPolicyAllowsOnlyUdp", noTcpWhenAPolicyAllowsOnlyUdp},
      {"NamespaceSelectorMatchLabelsWithTheNsLabel", namespaceSelectorMatchLabelsWithTheNsLabel},
      {"NamespaceSelectorMatchExpressionsWithTheDefaultNsLabel",
       namespaceSelectorMatchExpressionsWithTheDefaultNsLabel},
      {"PortRanges", portRanges},
  };
  return scenarios;
}

}  // namespace cnikit::policy::test
