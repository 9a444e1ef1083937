// Manifest validation: every rejection names the object and the field path, as the
// apiserver / kubectl do, and a document with any invalid object yields nothing.
#include "core/k8s/Validation.hpp"

#include <gtest/gtest.h>

#include "core/yaml/YamlToJson.hpp"

namespace cnikit::k8s {
namespace {

std::vector<std::string> errorsOf(const std::string& yaml) {
  try {
    validateObjects(yaml::yamlToJson(yaml));
  } catch (const ValidationError& e) {
    return e.errors();
  }
  return {};
}

// One error line must start with "<object>: <path>: " and contain detail.
void expectError(const std::string& yaml, const std::string& object, const std::string& path,
                 const std::string& detail) {
  auto errors = errorsOf(yaml);
  std::string head = object + ": " + path + ": ";
  for (const auto& e : errors)
    if (e.rfind(head, 0) == 0 && e.find(detail) != std::string::npos) return;
  std::string all;
  for (const auto& e : errors) all += "\n  " + e;
  ADD_FAILURE() << "no error \"" << head << "..." << detail << "\" among:" << (all.empty() ? " (none)" : all);
}

std::string policy(const std::string& spec) {
  return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\n  namespace: x\nspec:\n" +
         spec;
}

TEST(Validation, EndPortBelowPort) {
  expectError(policy(R"(
  podSelector: {}
  ingress:
  - ports:
    - port: 80
    - port: 80
      endPort: 79
)"),
              "NetworkPolicy x/deny", "spec.ingress[0].ports[1].endPort", "must be greater than or equal to port");
  // The brief's exact wording, as one line.
  auto errors = errorsOf(policy("  ingress:\n  - ports:\n    - port: 80\n    - port: 80\n      endPort: 79\n"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(
      errors[0].find("NetworkPolicy x/deny: spec.ingress[0].ports[1].endPort: must be greater than or equal to port"),
      std::string::npos);
}

TEST(Validation, BadSelectorOperator) {
  expectError(policy(R"(
  podSelector:
    matchExpressions:
    - {key: pod, operator: Equals, values: [a]}
)"),
              "NetworkPolicy x/deny", "spec.podSelector.matchExpressions[0].operator", "not a valid selector operator");
  expectError(policy(R"(
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions:
        - {key: ns, operator: in, values: [y]}
)"),
              "NetworkPolicy x/deny", "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].operator",
              "\"in\"");
}

TEST(Validation, ValuesWithExistsOrDoesNotExist) {
  expectError(policy(R"(
  podSelector:
    matchExpressions:
    - {key: pod, operator: Exists, values: [a]}
    - {key: tier, operator: DoesNotExist, values: [web]}
)"),
              "NetworkPolicy x/deny", "spec.podSelector.matchExpressions[0].values",
              "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
  expectError(policy(R"(
  podSelector:
    matchExpressions:
    - {key: pod, operator: Exists, values: [a]}
    - {key: tier, operator: DoesNotExist, values: [web]}
)"),
              "NetworkPolicy x/deny", "spec.podSelector.matchExpressions[1].values", "may not be specified");
}

TEST(Validation, MissingValuesForInAndNotIn) {
  expectError(policy(R"(
  podSelector: {}
  egress:
  - to:
    - podSelector:
        matchExpressions:
        - {key: pod, operator: NotIn}
)"),
              "NetworkPolicy x/deny", "spec.egress[0].to[0].podSelector.matchExpressions[0].values",
              "must be specified when `operator` is 'In' or 'NotIn'");
  expectError(policy(R"(
  podSelector:
    matchExpressions:
    - {key: pod, operator: In, values: []}
)"),
              "NetworkPolicy x/deny", "spec.podSelector.matchExpressions[0].values", "Required value");
}

TEST(Validation, PortOutOfRange) {
  std::string spec = R"(
  podSelector: {}
  ingress:
  - ports:
    - port: 0
    - port: 65536
      protocol: UDP
    - port: 65535
)";
  expectError(policy(spec), "NetworkPolicy x/deny", "spec.ingress[0].ports[0].port",
              "must be between 1 and 65535, inclusive (got 0)");
  expectError(policy(spec), "NetworkPolicy x/deny", "spec.ingress[0].ports[1].port", "(got 65536)");
  EXPECT_EQ(errorsOf(policy(spec)).size(), 2u) << "port 65535 is valid";
}

TEST(Validation, NamedPortWithEndPort) {
  expectError(policy(R"(
  podSelector: {}
  ingress:
  - ports:
    - port: serve-80-tcp
      endPort: 90
)"),
              "NetworkPolicy x/deny", "spec.ingress[0].ports[0].endPort",
              "may not be specified when `port` is non-numeric");
}

TEST(Validation, EndPortWithoutPort) {
  expectError(policy(R"(
  podSelector: {}
  egress:
  - ports:
    - protocol: TCP
      endPort: 90
)"),
              "NetworkPolicy x/deny", "spec.egress[0].ports[0].endPort",
              "may not be specified when `port` is not specified");
}

TEST(Validation, EndPortOutOfRange) {
  expectError(policy("  ingress:\n  - ports:\n    - {port: 80, endPort: 70000}\n"), "NetworkPolicy x/deny",
              "spec.ingress[0].ports[0].endPort", "must be between 1 and 65535");
}

TEST(Validation, BadPortName) {
  expectError(policy("  ingress:\n  - ports:\n    - port: Serve_80\n"), "NetworkPolicy x/deny",
              "spec.ingress[0].ports[0].port", "must contain only alpha-numeric characters");
  expectError(policy("  ingress:\n  - ports:\n    - port: \"8080\"\n"), "NetworkPolicy x/deny",
              "spec.ingress[0].ports[0].port", "must contain at least one letter");
  expectError(policy("  ingress:\n  - ports:\n    - port: this-name-is-far-too-long\n"), "NetworkPolicy x/deny",
              "spec.ingress[0].ports[0].port", "no more than 15 characters");
}

TEST(Validation, MalformedCidr) {
  for (const char* cidr : {"10.0.0/8", "10.0.0.0", "10.0.0.0/33", "fd00::/129", "banana/8", "10.0.0.0/x"}) {
    SCOPED_TRACE(cidr);
    expectError(policy(std::string("  egress:\n  - to:\n    - ipBlock:\n        cidr: ") + cidr + "\n"),
                "NetworkPolicy x/deny", "spec.egress[0].to[0].ipBlock.cidr", "must be a valid CIDR");
  }
  expectError(policy("  ingress:\n  - from:\n    - ipBlock:\n        except: [10.0.0.0/8]\n"), "NetworkPolicy x/deny",
              "spec.ingress[0].from[0].ipBlock.cidr", "Required value");
}

TEST(Validation, ExceptOutsideItsCidr) {
  std::string spec = R"(
  ingress:
  - from:
    - ipBlock:
        cidr: 10.0.0.0/16
        except: [10.0.1.0/24, 10.1.0.0/24, 10.0.0.0/16, 10.0.0.0/8, fd00::/64, 10.0.2.0/zz]
)";
  expectError(policy(spec), "NetworkPolicy x/deny", "spec.ingress[0].from[0].ipBlock.except[1]",
              "must be a strict subset of `cidr`");
  expectError(policy(spec), "NetworkPolicy x/deny", "spec.ingress[0].from[0].ipBlock.except[2]", "strict subset");
  expectError(policy(spec), "NetworkPolicy x/deny", "spec.ingress[0].from[0].ipBlock.except[3]", "strict subset");
  expectError(policy(spec), "NetworkPolicy x/deny", "spec.ingress[0].from[0].ipBlock.except[4]", "strict subset");
  expectError(policy(spec), "NetworkPolicy x/deny", "spec.ingress[0].from[0].ipBlock.except[5]", "valid CIDR");
  EXPECT_EQ(errorsOf(policy(spec)).size(), 5u) << "except[0] lies inside the cidr";
}

TEST(Validation, BadProtocol) {
  expectError(policy("  ingress:\n  - ports:\n    - {protocol: ICMP, port: 80}\n"), "NetworkPolicy x/deny",
              "spec.ingress[0].ports[0].protocol",
              "Unsupported value \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"");
  expectError(policy("  ingress:\n  - ports:\n    - {protocol: tcp, port: 80}\n"), "NetworkPolicy x/deny",
              "spec.ingress[0].ports[0].protocol", "Unsupported value \"tcp\"");
}

TEST(Validation, LabelKeyAndValueSyntax) {
  std::string pod = R"(
apiVersion: v1
kind: Pod
metadata:
  name: a
  namespace: x
  labels:
    "bad key!": a
    good: "not valid!"
    example.com/app: web
    -leading: x
    "Example.com/app": y
    toolong: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
    version: 1.5
)";
  expectError(pod, "Pod x/a", "metadata.labels.bad key!", "name part must consist of alphanumeric characters");
  expectError(pod, "Pod x/a", "metadata.labels.good", "a valid label must be an empty string or consist of");
  expectError(pod, "Pod x/a", "metadata.labels.-leading", "name part must consist");
  expectError(pod, "Pod x/a", "metadata.labels.Example.com/app", "prefix part");
  expectError(pod, "Pod x/a", "metadata.labels.toolong", "must be no more than 63 characters");
  expectError(pod, "Pod x/a", "metadata.labels.version", "must be a string");
  EXPECT_EQ(errorsOf(pod).size(), 6u) << "example.com/app: web is valid";
  expectError(policy("  podSelector:\n    matchLabels:\n      \"a/b/c\": x\n"), "NetworkPolicy x/deny",
              "spec.podSelector.matchLabels.a/b/c", "qualified name");
  expectError(policy("  podSelector:\n    matchExpressions:\n    - {key: pod, operator: In, values: [\"a b\"]}\n"),
              "NetworkPolicy x/deny", "spec.podSelector.matchExpressions[0].values[0]", "a valid label");
}

TEST(Validation, Dns1123Names) {
  expectError("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: Team_A\n", "Namespace Team_A", "metadata.name",
              "a lowercase RFC 1123 label");
  expectError("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a.b\n", "Namespace a.b", "metadata.name",
              "RFC 1123 label");
  expectError("apiVersion: v1\nkind: Pod\nmetadata:\n  name: Web-1\n  namespace: x\n", "Pod x/Web-1", "metadata.name",
              "a lowercase RFC 1123 subdomain");
  expectError("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-1\n  namespace: X\n", "Pod X/web-1",
              "metadata.namespace", "RFC 1123 label");
  std::string dashed = policy("  podSelector: {}\n");
  dashed.replace(dashed.find("name: deny"), 10, "name: -deny");
  expectError(dashed, "NetworkPolicy x/-deny", "metadata.name", "RFC 1123 subdomain");
  EXPECT_TRUE(errorsOf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-1.v2\n  namespace: x\n").empty());
  expectError("apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: x\n", "Pod x/<unnamed> (document 1)", "metadata.name",
              "Required value");
}

TEST(Validation, PeerShapes) {
  expectError(policy("  ingress:\n  - from:\n    - {}\n"), "NetworkPolicy x/deny", "spec.ingress[0].from[0]",
              "must specify a peer");
  expectError(policy(R"(
  egress:
  - to:
    - ipBlock: {cidr: 10.0.0.0/8}
      podSelector: {}
)"),
              "NetworkPolicy x/deny", "spec.egress[0].to[0]", "may not specify more than 1 peer type");
}

TEST(Validation, UnknownFieldsInPolicies) {
  expectError(policy("  ingres:\n  - {}\n"), "NetworkPolicy x/deny", "spec.ingres", "unknown field");
  expectError(policy("  ingress:\n  - to:\n    - podSelector: {}\n"), "NetworkPolicy x/deny", "spec.ingress[0].to",
              "unknown field");
  expectError(policy("  podSelector:\n    matchLabel: {a: b}\n"), "NetworkPolicy x/deny", "spec.podSelector.matchLabel",
              "unknown field");
}

TEST(Validation, PolicyTypes) {
  expectError(policy("  policyTypes: [Ingress, Outgress]\n"), "NetworkPolicy x/deny", "spec.policyTypes[1]",
              "Unsupported value \"Outgress\": supported values: \"Egress\", \"Ingress\"");
  expectError(policy("  policyTypes: [Ingress, Egress, Ingress]\n"), "NetworkPolicy x/deny", "spec.policyTypes",
              "may not specify more than two policyTypes");
}

TEST(Validation, PodPortsAndAddresses) {
  std::string pod = R"(
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x}
spec:
  containers:
  - name: c1
    ports:
    - {name: http, containerPort: 80}
    - {name: http, containerPort: 81}
    - {containerPort: 0}
    - {name: Bad_Name, containerPort: 82}
    - {containerPort: 83, protocol: icmp}
    - {name: no-number}
status:
  podIP: 10.0.0.300
  podIPs:
  - ip: fd00::1
  - ip: fd00::2
)";
  expectError(pod, "Pod x/a", "spec.containers[0].ports[1].name", "Duplicate value: \"http\"");
  expectError(pod, "Pod x/a", "spec.containers[0].ports[2].containerPort", "must be between 1 and 65535");
  expectError(pod, "Pod x/a", "spec.containers[0].ports[3].name", "must contain only alpha-numeric");
  expectError(pod, "Pod x/a", "spec.containers[0].ports[4].protocol", "Unsupported value \"icmp\"");
  expectError(pod, "Pod x/a", "spec.containers[0].ports[5].containerPort", "Required value");
  expectError(pod, "Pod x/a", "status.podIP", "must be a valid IP address");
  expectError(pod, "Pod x/a", "status.podIPs", "no more than one IP for each IP family");
}

TEST(Validation, ApiVersionAndKind) {
  expectError("apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\n",
              "NetworkPolicy x/p", "apiVersion", "Unsupported value \"extensions/v1beta1\"");
  auto errors = errorsOf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("document 1: kind \"ConfigMap\" is not supported"), std::string::npos) << errors[0];
  expectError("apiVersion: v1\nkind: EndpointSlice\nmetadata: {name: e, namespace: x}\naddressType: IPv4\n",
              "EndpointSlice x/e", "apiVersion", "Unsupported value \"v1\": supported values: \"discovery.k8s.io/v1\"");
  errors = errorsOf("apiVersion: v1\nmetadata: {name: s}\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("document 1: kind: Required value"), std::string::npos) << errors[0];
}

TEST(Validation, EveryProblemOfEveryObjectIsReportedAndNothingReturned) {
  std::string yaml = R"(
apiVersion: v1
kind: Namespace
metadata: {name: good}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p1, namespace: x}
spec:
  ingress:
  - ports: [{port: 0}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p2, namespace: y}
spec:
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/8]}}]
)";
  try {
    validateObjects(yaml::yamlToJson(yaml), {"default", "policies.yaml"});
    FAIL() << "invalid objects accepted";
  } catch (const ValidationError& e) {
    ASSERT_EQ(e.errors().size(), 2u);
    EXPECT_EQ(e.errors()[0].rfind("policies.yaml: NetworkPolicy x/p1: spec.ingress[0].ports[0].port: ", 0), 0u)
        << e.errors()[0];
    EXPECT_EQ(e.errors()[1].rfind("policies.yaml: NetworkPolicy y/p2: spec.egress[0].to[0].ipBlock.except[0]: ", 0), 0u)
        << e.errors()[1];
    EXPECT_NE(std::string(e.what()).find('\n'), std::string::npos);
  }
}

TEST(Validation, ListsAreExpandedAndItemsNamedInMessages) {
  std::string yaml = R"(
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: x}
- apiVersion: v1
  kind: Pod
  metadata: {namespace: x}
)";
  expectError(yaml, "Pod x/<unnamed> (document 1 item 2)", "metadata.name", "Required value");
  auto ok = validateObjects(yaml::yamlToJson(R"(
kind: List
apiVersion: v1
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: x}}
- {apiVersion: v1, kind: Namespace, metadata: {name: y}}
)"));
  ASSERT_EQ(ok.size(), 2u);
  EXPECT_EQ(ok[1].ref.str(), "Namespace y");
}

}  // namespace
}  // namespace cnikit::k8s
