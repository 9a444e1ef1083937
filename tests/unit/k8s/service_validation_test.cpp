// Service and EndpointSlice manifests: the apiserver's checks with messages naming object and
// field, the defaults it applies, and the typed decoding the service controller reads.
#include <gtest/gtest.h>

#include "core/k8s/ObjectKeys.hpp"
#include "core/k8s/ServiceObjects.hpp"
#include "core/k8s/Validation.hpp"
#include "core/yaml/YamlToJson.hpp"

namespace cnikit::k8s {
namespace {

using nlohmann::json;

std::vector<std::string> errorsOf(const std::string& yaml) {
  try {
    validateObjects(yaml::yamlToJson(yaml));
  } catch (const ValidationError& e) {
    return e.errors();
  }
  return {};
}

std::string service(const std::string& spec) {
  return "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: x\nspec:\n" + spec;
}

json normalised(const std::string& yaml) {
  auto objects = validateObjects(yaml::yamlToJson(yaml));
  EXPECT_EQ(objects.size(), 1u);
  return objects.at(0).object;
}

TEST(ServiceValidation, GoldenMessages) {
  struct Case {
    std::string spec;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"  ports: [{port: 70000}]\n",
       "Service x/web: spec.ports[0].port: must be between 1 and 65535, inclusive (got 70000)"},
      {"  ports: []\n", "Service x/web: spec.ports: Required value"},
      {"  ports: [{port: 80}, {port: 81}]\n", "Service x/web: spec.ports[0].name: Required value"},
      {"  ports: [{name: a, port: 80}, {name: b, port: 80}]\n",
       "Service x/web: spec.ports[1]: Duplicate value: {\"port\":80,\"protocol\":\"TCP\"}"},
      {"  ports: [{name: a, port: 80}, {name: a, port: 81}]\n",
       "Service x/web: spec.ports[1].name: Duplicate value: \"a\""},
      {"  ports: [{port: 80, protocol: SCTP}]\n",
       "Service x/web: spec.ports[0].protocol: Unsupported value \"SCTP\": supported values: \"TCP\", \"UDP\""},
      {"  ports: [{port: 80, targetPort: 0}]\n",
       "Service x/web: spec.ports[0].targetPort: must be between 1 and 65535, inclusive (got 0)"},
      {"  ports: [{port: 80, nodePort: 30080}]\n",
       "Service x/web: spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"},
      {"  type: ExternalName\n  ports: [{port: 80}]\n",
       "Service x/web: spec.type: Unsupported value \"ExternalName\": supported values: \"ClusterIP\", \"NodePort\", "
       "\"LoadBalancer\""},
      {"  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 0}}\n  ports: [{port: 80}]\n",
       "Service x/web: spec.sessionAffinityConfig.clientIP.timeoutSeconds: must be greater than 0 and less than 86400 "
       "(got 0)"},
      {"  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 86401}}\n  ports: [{port: "
       "80}]\n",
       "Service x/web: spec.sessionAffinityConfig.clientIP.timeoutSeconds: must be greater than 0 and less than 86400 "
       "(got 86401)"},
      {"  externalTrafficPolicy: Local\n  ports: [{port: 80}]\n",
       "Service x/web: spec.externalTrafficPolicy: may only be set when `type` is 'NodePort' or 'LoadBalancer' (got "
       "\"Local\")"},
      {"  clusterIP: 10.96.0.1\n  clusterIPs: [10.96.0.2]\n  ports: [{port: 80}]\n",
       "Service x/web: spec.clusterIPs[0]: must be consistent with spec.clusterIP \"10.96.0.1\" (got \"10.96.0.2\")"},
      {"  clusterIPs: [10.96.0.1, 10.96.0.2]\n  ipFamilyPolicy: RequireDualStack\n  ports: [{port: 80}]\n",
       "Service x/web: spec.clusterIPs[1]: may specify no more than one IP for each IP family (got \"10.96.0.2\")"},
      {"  clusterIP: None\n  type: NodePort\n  ports: [{port: 80}]\n",
       "Service x/web: spec.clusterIPs[0]: may not be set to 'None' for NodePort services (got \"None\")"},
      {"  clusterIP: banana\n  ports: [{port: 80}]\n",
       "Service x/web: spec.clusterIPs[0]: must be a valid IP address or 'None' (got \"banana\")"},
      {"  clusterIPs: [10.96.0.1, fd00::1]\n  ipFamilyPolicy: SingleStack\n  ports: [{port: 80}]\n",
       "Service x/web: spec.ipFamilyPolicy: must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families "
       "or cluster IPs are specified (got \"SingleStack\")"},
      {"  ipFamilies: [IPv6]\n  clusterIP: 10.96.0.1\n  ports: [{port: 80}]\n",
       "Service x/web: spec.clusterIPs[0]: expected an IPv6 value as indicated by `ipFamilies[0]` (got \"10.96.0.1\")"},
      {"  internalTrafficPolicy: Sometimes\n  ports: [{port: 80}]\n",
       "Service x/web: spec.internalTrafficPolicy: Unsupported value \"Sometimes\": supported values: \"Cluster\", "
       "\"Local\""},
  };
  for (const auto& c : cases) {
    auto errors = errorsOf(service(c.spec));
    EXPECT_NE(std::find(errors.begin(), errors.end(), c.error), errors.end())
        << "want: " << c.error << "\ngot: " << (errors.empty() ? "(none)" : errors[0]);
  }
}

TEST(ServiceValidation, ServiceNamesAreDns1035Labels) {
  auto errors = errorsOf("apiVersion: v1\nkind: Service\nmetadata: {name: 1web}\nspec:\n  ports: [{port: 80}]\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("Service default/1web: metadata.name: a DNS-1035 label", 0), 0u) << errors[0];
}

TEST(ServiceValidation, DefaultsAsTheApiserverAppliesThem) {
  auto o = normalised(service("  selector: {app: web}\n  ports: [{port: 80}]\n"));
  EXPECT_EQ(o["apiVersion"], "v1");
  EXPECT_EQ(o["spec"]["type"], "ClusterIP");
  EXPECT_EQ(o["spec"]["ports"][0], json({{"protocol", "TCP"}, {"port", 80}, {"targetPort", 80}}));
  EXPECT_EQ(o["spec"]["sessionAffinity"], "None");
  EXPECT_FALSE(o["spec"].contains("sessionAffinityConfig"));
  EXPECT_EQ(o["spec"]["internalTrafficPolicy"], "Cluster");
  EXPECT_FALSE(o["spec"].contains("externalTrafficPolicy"));
  EXPECT_EQ(o["status"], json({{"loadBalancer", json::object()}}));

  auto np =
      normalised(service("  type: NodePort\n  sessionAffinity: ClientIP\n  ports: [{port: 80, targetPort: http}]\n"));
  EXPECT_EQ(np["spec"]["externalTrafficPolicy"], "Cluster");
  EXPECT_EQ(np["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"], 10800);
  EXPECT_EQ(np["spec"]["ports"][0]["targetPort"], "http");

  auto typed = serviceFromJson(np);
  EXPECT_EQ(typed.type, ServiceType::NodePort);
  EXPECT_TRUE(typed.clientIpAffinity);
  EXPECT_EQ(typed.affinityTimeoutSeconds, 10800u);
  EXPECT_FALSE(typed.selector.has_value());
  EXPECT_EQ(std::get<std::string>(typed.ports.at(0).targetPort), "http");
}

TEST(ServiceValidation, HeadlessIsAccepted) {
  auto o = normalised(service("  clusterIP: None\n  selector: {app: db}\n"));
  EXPECT_EQ(o["spec"]["clusterIPs"], json::array({"None"}));
  EXPECT_TRUE(serviceFromJson(o).headless());
}

TEST(ServiceValidation, KindsKeysAndNames) {
  EXPECT_EQ(parseKind("svc"), Kind::Service);
  EXPECT_EQ(parseKind("endpointslices"), Kind::EndpointSlice);
  EXPECT_EQ(storeKey({Kind::Service, "x", "web"}), "/cnikit/v1/k8s/services/x/web");
  EXPECT_EQ(storeKey({Kind::EndpointSlice, "x", "web-1"}), "/cnikit/v1/k8s/endpointslices/x/web-1");
  auto ref = refFromStoreKey("/cnikit/v1/k8s/endpointslices/x/web-1");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->kind, Kind::EndpointSlice);
  EXPECT_EQ(ref->str(), "EndpointSlice x/web-1");
}

const char* kSlice = R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ext-1
  namespace: x
  labels: {kubernetes.io/service-name: ext}
addressType: IPv4
endpoints:
- addresses: [192.0.2.10]
  conditions: {ready: false}
  nodeName: node-1
  targetRef: {kind: Pod, namespace: x, name: p}
- addresses: [192.0.2.11]
ports:
- {name: http, port: 8080}
)";

TEST(EndpointSliceValidation, DecodesWhatTheControllerReads) {
  auto slice = endpointSliceFromJson(normalised(kSlice));
  EXPECT_EQ(slice.serviceName, "ext");
  EXPECT_FALSE(slice.ipv6);
  ASSERT_EQ(slice.endpoints.size(), 2u);
  EXPECT_EQ(slice.endpoints[0].ready, std::optional<bool>(false));
  EXPECT_EQ(slice.endpoints[0].nodeName, "node-1");
  EXPECT_EQ(slice.endpoints[0].targetName, "p");
  EXPECT_FALSE(slice.endpoints[1].ready.has_value());
  ASSERT_EQ(slice.ports.size(), 1u);
  EXPECT_EQ(slice.ports[0].port, std::optional<uint16_t>(8080));
  EXPECT_EQ(slice.ports[0].protocol, Protocol::TCP);
}

TEST(EndpointSliceValidation, GoldenMessages) {
  std::string bad = kSlice;
  bad.replace(bad.find("addressType: IPv4"), 17, "addressType: FQDN");
  auto errors = errorsOf(bad);
  EXPECT_NE(std::find(errors.begin(), errors.end(),
                      "EndpointSlice x/ext-1: addressType: Unsupported value \"FQDN\": supported values: \"IPv4\", "
                      "\"IPv6\""),
            errors.end());
  std::string v6 = kSlice;
  v6.replace(v6.find("addressType: IPv4"), 17, "addressType: IPv6");
  errors = errorsOf(v6);
  EXPECT_NE(std::find(errors.begin(), errors.end(),
                      "EndpointSlice x/ext-1: endpoints[0].addresses[0]: must be an IPv6 address (addressType) (got "
                      "\"192.0.2.10\")"),
            errors.end());
  std::string port = kSlice;
  port.replace(port.find("port: 8080"), 10, "port: 0");
  errors = errorsOf(port);
  EXPECT_NE(std::find(errors.begin(), errors.end(),
                      "EndpointSlice x/ext-1: ports[0].port: must be between 1 and 65535, inclusive (got 0)"),
            errors.end());
}

TEST(ServiceValidation, AnInvalidServiceRejectsTheWholeFile) {
  std::string yaml = "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n" + service("  ports: [{port: 0}]\n");
  EXPECT_THROW(validateObjects(yaml::yamlToJson(yaml)), ValidationError);
}

}  // namespace
}  // namespace cnikit::k8s
