// The agent's part of `cnikitctl diag`: secrets never leave, the store view is this node's.
#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

#include "core/agent/Diagnostics.hpp"
#include "core/agent/RecentLog.hpp"
#include "core/store/Keys.hpp"
#include "core/store/SqliteStore.hpp"
#include "tests/unit/store/TempDir.hpp"

namespace cnikit::agent {
namespace {

using nlohmann::json;

TEST(Diagnostics, RedactsSecretsAtAnyDepthAndKeepsTheRest) {
  json in = {{"mode", "vxlan"},
             {"password", "hunter2"},
             {"nested", {{"Api_Key", "k"}, {"peers", {{{"psk", "p"}, {"address", "10.0.0.1"}}}}}},
             {"privateKey", "x"},
             {"keyFile", "/etc/cnikit/tls.key"},
             {"key", "raw"},
             {"clientToken", "t"}};
  auto out = redactSecrets(in);
  EXPECT_EQ(out["mode"], "vxlan");
  EXPECT_EQ(out["password"], kRedacted);
  EXPECT_EQ(out["nested"]["Api_Key"], kRedacted);
  EXPECT_EQ(out["nested"]["peers"][0]["psk"], kRedacted);
  EXPECT_EQ(out["nested"]["peers"][0]["address"], "10.0.0.1");
  EXPECT_EQ(out["privateKey"], kRedacted);
  EXPECT_EQ(out["keyFile"], "/etc/cnikit/tls.key");  // a path, not the key
  EXPECT_EQ(out["key"], kRedacted);
  EXPECT_EQ(out["clientToken"], kRedacted);
  EXPECT_EQ(out.dump().find("hunter2"), std::string::npos);
}

TEST(Diagnostics, ConfigHasNoBackendSecretAndTheStoreViewIsThisNodes) {
  AgentConfig config;
  config.node = "node1";
  BackendConfig backend;
  backend.name = "mesh";
  backend.type = "weave-like";
  backend.options = {{"password", "s3cret"}, {"port", 6784}};
  config.backends.push_back(backend);

  store::test::TempDir dir("diagnostics");
  store::SqliteStore store(dir.file("store.db"));
  store.put(store::keys::node("node1"), R"({"name":"node1"})");
  store.put(store::keys::node("node2"), R"({"name":"node2"})");
  store.put(store::keys::endpoint("node1", "c1", "eth0"), R"({"containerId":"c1"})");
  store.put(store::keys::endpoint("node2", "c2", "eth0"), R"({"containerId":"c2"})");
  store.put(std::string(store::keys::kIpamPrefix) + "subnets/default/10.244.1.0_24", R"({"node":"node1"})");
  store.put(std::string(store::keys::kIpamPrefix) + "subnets/default/10.244.2.0_24", R"({"node":"node2"})");

  keepRecentLog(10);
  spdlog::info("diagnostics test line");
  auto out = agentDiagnostics(config, store, "cnikit_cni_requests_total 1\n");
  EXPECT_EQ(out["config"]["backends"][0]["options"]["password"], kRedacted);
  EXPECT_EQ(out["config"]["backends"][0]["options"]["port"], 6784);
  EXPECT_EQ(out.dump().find("s3cret"), std::string::npos);
  const auto& view = out["store"];
  EXPECT_TRUE(view.contains(store::keys::node("node1")));
  EXPECT_TRUE(view.contains(store::keys::endpoint("node1", "c1", "eth0")));
  EXPECT_TRUE(view.contains(std::string(store::keys::kIpamPrefix) + "subnets/default/10.244.1.0_24"));
  EXPECT_FALSE(view.contains(store::keys::node("node2")));
  EXPECT_FALSE(view.contains(store::keys::endpoint("node2", "c2", "eth0")));
  EXPECT_FALSE(view.contains(std::string(store::keys::kIpamPrefix) + "subnets/default/10.244.2.0_24"));
  EXPECT_EQ(out["metrics"], "cnikit_cni_requests_total 1\n");
  ASSERT_FALSE(out["log"].empty());
  EXPECT_NE(out["log"].back().get<std::string>().find("diagnostics test line"), std::string::npos);
}

}  // namespace
}  // namespace cnikit::agent
