// The agent's ObjectService (objects.apply / objects.delete / objects.list) against a real
// SQLite store on a temporary file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/agent/ObjectService.hpp"
#include "core/k8s/ObjectKeys.hpp"
#include "core/store/SqliteStore.hpp"
#include "core/yaml/YamlToJson.hpp"

namespace cnikit::agent {
namespace {

using nlohmann::json;
using yaml::yamlToJson;

class ObjectServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/cnkt-" + std::to_string(getpid()) + "-objects-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    store_ = std::make_unique<store::SqliteStore>((dir_ / "store.db").string());
    service_ = std::make_unique<ObjectService>(*store_);
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  json call(const std::string& method, json request) {
    request["method"] = method;
    return service_->handle(request);
  }
  json apply(const std::string& yaml) {
    json objects = json::array();
    for (auto& doc : yamlToJson(yaml)) objects.push_back(doc);
    return call("objects.apply", {{"objects", objects}});
  }
  std::vector<std::string> names(const json& list) {
    std::vector<std::string> out;
    for (const auto& item : list["items"]) {
      std::string ns = item["metadata"].value("namespace", "");
      out.push_back((ns.empty() ? "" : ns + "/") + item["metadata"]["name"].get<std::string>());
    }
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<ObjectService> service_;
};

const char* kObjects = R"(
apiVersion: v1
kind: Namespace
metadata: {name: x, labels: {ns: x}}
---
apiVersion: v1
kind: Namespace
metadata: {name: y, labels: {ns: y}}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {pod: a}}
spec:
  containers: [{name: c, ports: [{name: serve-80-tcp, containerPort: 80}]}]
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: y, labels: {pod: b}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: x}
spec: {podSelector: {}}
)";

TEST_F(ObjectServiceTest, ApplyWritesNormalisedObjectsUnderTheirKeys) {
  auto result = apply(kObjects);
  ASSERT_FALSE(result.contains("error")) << result.dump();
  ASSERT_EQ(result["results"].size(), 5u);
  for (const auto& r : result["results"]) EXPECT_EQ(r["action"], "created") << r.dump();
  EXPECT_EQ(result["results"][4],
            (json{{"kind", "NetworkPolicy"}, {"namespace", "x"}, {"name", "deny"}, {"action", "created"}}));

  auto ns = store_->get("/cnikit/v1/k8s/namespaces/x");
  ASSERT_TRUE(ns);
  // The format the agent's pool selection reads: metadata.labels.
  EXPECT_EQ(json::parse(ns->value)["metadata"]["labels"], (json{{"ns", "x"}, {"kubernetes.io/metadata.name", "x"}}));
  auto policy = store_->get("/cnikit/v1/k8s/networkpolicies/x/deny");
  ASSERT_TRUE(policy);
  EXPECT_EQ(json::parse(policy->value)["spec"]["policyTypes"], json::array({"Ingress"}));
  EXPECT_TRUE(store_->get("/cnikit/v1/k8s/pods/x/a"));
  EXPECT_TRUE(store_->get("/cnikit/v1/k8s/pods/y/b"));
}

TEST_F(ObjectServiceTest, ReapplyReportsUnchangedAndConfigured) {
  apply(kObjects);
  auto rev = store_->revision();
  auto again = apply(kObjects);
  for (const auto& r : again["results"]) EXPECT_EQ(r["action"], "unchanged") << r.dump();
  EXPECT_EQ(store_->revision(), rev) << "an unchanged object is not rewritten";
  auto changed = apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: x, labels: {ns: x, team: blue}}\n");
  EXPECT_EQ(changed["results"][0]["action"], "configured");
  auto value = json::parse(store_->get("/cnikit/v1/k8s/namespaces/x")->value);
  EXPECT_EQ(value["metadata"]["labels"]["team"], "blue");
}

TEST_F(ObjectServiceTest, AnInvalidObjectAppliesNothing) {
  std::string yaml = std::string(kObjects) + R"(
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: broken, namespace: y}
spec:
  ingress:
  - ports: [{port: 80, endPort: 79}]
)";
  auto result = apply(yaml);
  ASSERT_TRUE(result.contains("error"));
  EXPECT_NE(result["error"].get<std::string>().find(
                "NetworkPolicy y/broken: spec.ingress[0].ports[0].endPort: must be greater than or equal to port"),
            std::string::npos)
      << result["error"];
  ASSERT_EQ(result["errors"].size(), 1u);
  EXPECT_TRUE(store_->list(k8s::kObjectsPrefix).empty()) << "valid objects of the same request were written";
}

TEST_F(ObjectServiceTest, ListByKindAndNamespace) {
  apply(kObjects);
  EXPECT_EQ(names(call("objects.list", {{"kind", "namespaces"}})), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(names(call("objects.list", {{"kind", "pods"}, {"namespace", "x"}})), (std::vector<std::string>{"x/a"}));
  EXPECT_EQ(names(call("objects.list", {{"kind", "po"}, {"all", true}})), (std::vector<std::string>{"x/a", "y/b"}));
  EXPECT_EQ(names(call("objects.list", {{"kind", "netpol"}, {"namespace", "y"}})), (std::vector<std::string>{}));
  auto list = call("objects.list", {{"kind", "networkpolicies"}, {"all", true}});
  EXPECT_EQ(list["kind"], "List");
  EXPECT_EQ(names(list), (std::vector<std::string>{"x/deny"}));
  EXPECT_TRUE(call("objects.list", {{"kind", "configmaps"}}).contains("error"));
}

TEST_F(ObjectServiceTest, DeleteByObjectsAndByRefs) {
  apply(kObjects);
  auto result =
      call("objects.delete", {{"objects", yamlToJson("apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: y}\n"
                                                     "spec: {containers: [{name: ignored}]}\n")}});
  ASSERT_EQ(result["results"].size(), 1u);
  EXPECT_EQ(result["results"][0]["action"], "deleted");
  EXPECT_FALSE(store_->get("/cnikit/v1/k8s/pods/y/b"));
  result = call("objects.delete", {{"refs", {{{"kind", "netpol"}, {"namespace", "x"}, {"name", "nope"}}}}});
  EXPECT_EQ(result["results"][0]["action"], "not found");
  EXPECT_TRUE(store_->get("/cnikit/v1/k8s/networkpolicies/x/deny"));
}

TEST_F(ObjectServiceTest, DeletingANamespaceDeletesWhatLivesInIt) {
  apply(kObjects);
  auto result = call("objects.delete", {{"refs", {{{"kind", "Namespace"}, {"name", "x"}}}}});
  std::set<std::string> deleted;
  for (const auto& r : result["results"])
    deleted.insert(r["kind"].get<std::string>() + " " + r.value("namespace", "") + "/" + r["name"].get<std::string>());
  EXPECT_EQ(deleted, (std::set<std::string>{"Namespace /x", "Pod x/a", "NetworkPolicy x/deny"}));
  EXPECT_EQ(names(call("objects.list", {{"kind", "pods"}, {"all", true}})), (std::vector<std::string>{"y/b"}));
  EXPECT_TRUE(store_->get("/cnikit/v1/k8s/namespaces/y"));
}

TEST_F(ObjectServiceTest, RequestNamespaceIsTheDefault) {
  json objects = yamlToJson("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n");
  auto result = call("objects.apply", {{"objects", objects}, {"namespace", "team"}});
  EXPECT_EQ(result["results"][0]["namespace"], "team");
  EXPECT_TRUE(store_->get("/cnikit/v1/k8s/pods/team/a"));
}

TEST_F(ObjectServiceTest, MalformedRequests) {
  EXPECT_TRUE(call("objects.apply", {{"objects", "nope"}}).contains("error"));
  EXPECT_TRUE(call("objects.delete", json::object()).contains("error"));
  EXPECT_TRUE(call("objects.frobnicate", json::object()).contains("error"));
  EXPECT_TRUE(ObjectService::handles("objects.list"));
  EXPECT_FALSE(ObjectService::handles("status"));
}

}  // namespace
}  // namespace cnikit::agent
