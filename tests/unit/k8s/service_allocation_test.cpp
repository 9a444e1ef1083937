// ClusterIP, NodePort and load-balancer address allocation through objects.apply, on a real
// SQLite store and a real etcd: no two Services share one, also from concurrent appliers; a
// taken address or port is refused naming its owner; re-apply keeps, delete frees, and a
// refused file leaves nothing allocated.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include "core/agent/ObjectService.hpp"
#include "core/k8s/ObjectKeys.hpp"
#include "core/store/EtcdStore.hpp"
#include "core/store/Keys.hpp"
#include "core/store/SqliteStore.hpp"
#include "core/yaml/YamlToJson.hpp"
#include "tests/support/EtcdProcess.hpp"

namespace cnikit::agent {
namespace {

using nlohmann::json;

ServicesConfig smallRanges() {
  ServicesConfig c;
  c.clusterIPv4Cidr = toolkit::IpPrefix::parse("10.96.0.0/24").value();
  c.clusterIPv6Cidr = toolkit::IpPrefix::parse("fd00:96::/112").value();
  c.nodePortMin = 30000;
  c.nodePortMax = 30999;
  c.loadBalancerPools = {{"public", {toolkit::IpPrefix::parse("192.0.2.0/28").value()}}};
  return c;
}

json applyYaml(ObjectService& service, const std::string& yaml) {
  json objects = json::array();
  for (auto& doc : yaml::yamlToJson(yaml)) objects.push_back(doc);
  return service.handle({{"method", "objects.apply"}, {"objects", objects}});
}

std::string svc(const std::string& name, const std::string& spec) {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: x}\nspec:\n" + spec;
}

json stored(store::Store& store, const std::string& name) {
  auto kv = store.get(k8s::storeKey({k8s::Kind::Service, "x", name}));
  return kv ? json::parse(kv->value) : json();
}

class ServiceAllocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/cnkt-" + std::to_string(getpid()) + "-svcalloc-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    store_ = std::make_unique<store::SqliteStore>((dir_ / "store.db").string());
    service_ = std::make_unique<ObjectService>(*store_, smallRanges());
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  size_t allocations() { return store_->list(store::keys::kServicesPrefix).size(); }

  std::filesystem::path dir_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<ObjectService> service_;
};

TEST_F(ServiceAllocationTest, AllocatesAsTheApiWouldShowIt) {
  auto r = applyYaml(*service_,
                     svc("lb", "  type: LoadBalancer\n  ipFamilyPolicy: PreferDualStack\n  ports: [{port: 80}]\n"));
  ASSERT_FALSE(r.contains("error")) << r.dump();
  auto o = stored(*store_, "lb");
  ASSERT_EQ(o["spec"]["clusterIPs"].size(), 2u) << o.dump();
  EXPECT_EQ(o["spec"]["clusterIP"], o["spec"]["clusterIPs"][0]);
  EXPECT_TRUE(toolkit::IpPrefix::parse("10.96.0.0/24").value()
                  .contains(toolkit::IpAddress::parse(o["spec"]["clusterIPs"][0].get<std::string>()).value()));
  EXPECT_TRUE(toolkit::IpPrefix::parse("fd00:96::/112").value()
                  .contains(toolkit::IpAddress::parse(o["spec"]["clusterIPs"][1].get<std::string>()).value()));
  EXPECT_EQ(o["spec"]["ipFamilies"], json({"IPv4", "IPv6"}));
  int nodePort = o["spec"]["ports"][0]["nodePort"].get<int>();
  EXPECT_GE(nodePort, 30000);
  EXPECT_LE(nodePort, 30999);
  auto ingress = o["status"]["loadBalancer"]["ingress"];
  ASSERT_EQ(ingress.size(), 1u) << o.dump();
  EXPECT_TRUE(toolkit::IpPrefix::parse("192.0.2.0/28").value().contains(toolkit::IpAddress::parse(ingress[0]["ip"].get<std::string>()).value()));
  EXPECT_EQ(allocations(), 4u);  // two clusterIPs, one nodePort, one load-balancer address
}

TEST_F(ServiceAllocationTest, ReapplyKeepsAndTheClusterIpIsImmutable) {
  const auto yaml = svc("web", "  type: NodePort\n  ports: [{port: 80}]\n");
  applyYaml(*service_, yaml);
  auto first = stored(*store_, "web");
  auto again = applyYaml(*service_, yaml);
  EXPECT_EQ(again["results"][0]["action"], "unchanged") << again.dump();
  EXPECT_EQ(stored(*store_, "web"), first);
  EXPECT_EQ(allocations(), 2u);
  std::string other = first["spec"]["clusterIP"] == "10.96.0.77" ? "10.96.0.78" : "10.96.0.77";
  auto changed =
      applyYaml(*service_, svc("web", "  clusterIP: " + other + "\n  type: NodePort\n  ports: [{port: 80}]\n"));
  ASSERT_TRUE(changed.contains("error"));
  EXPECT_NE(changed["error"].get<std::string>().find("Service x/web: spec.clusterIPs[0]: field is immutable"),
            std::string::npos)
      << changed.dump();
  // Back to ClusterIP: the NodePort is freed, the ClusterIP kept.
  applyYaml(*service_, svc("web", "  ports: [{port: 80}]\n"));
  EXPECT_EQ(stored(*store_, "web")["spec"]["clusterIP"], first["spec"]["clusterIP"]);
  EXPECT_EQ(allocations(), 1u);
}

TEST_F(ServiceAllocationTest, TakenAddressOrPortIsRefusedNamingTheOwner) {
  applyYaml(*service_, svc("a", "  clusterIP: 10.96.0.10\n  type: NodePort\n  ports: [{port: 80, nodePort: 30080}]\n"));
  auto ip = applyYaml(*service_, svc("b", "  clusterIP: 10.96.0.10\n  ports: [{port: 80}]\n"));
  ASSERT_EQ(ip["errors"].size(), 1u) << ip.dump();
  EXPECT_EQ(ip["errors"][0],
            "Service x/b: spec.clusterIPs[0]: provided IP is already allocated to Service x/a (got \"10.96.0.10\")");
  auto port = applyYaml(*service_, svc("c", "  type: NodePort\n  ports: [{port: 80, nodePort: 30080}]\n"));
  ASSERT_EQ(port["errors"].size(), 1u) << port.dump();
  EXPECT_EQ(port["errors"][0],
            "Service x/c: spec.ports[0].nodePort: provided port is already allocated to Service x/a (got 30080)");
  auto range = applyYaml(*service_, svc("d", "  clusterIP: 10.97.0.1\n  ports: [{port: 80}]\n"));
  EXPECT_EQ(range["errors"][0],
            "Service x/d: spec.clusterIPs[0]: provided IP is not in the valid range. The range of valid IPs is "
            "10.96.0.0/24 (got \"10.97.0.1\")");
  EXPECT_EQ(allocations(), 2u) << "the refused Services hold nothing";
  EXPECT_FALSE(store_->get(k8s::storeKey({k8s::Kind::Service, "x", "b"})));
}

TEST_F(ServiceAllocationTest, ARefusedFileAppliesNothingAndLeavesNothingAllocated) {
  applyYaml(*service_, svc("a", "  clusterIP: 10.96.0.10\n  ports: [{port: 80}]\n"));
  auto r = applyYaml(*service_, "apiVersion: v1\nkind: Namespace\nmetadata: {name: y}\n---\n" +
                                    svc("fine", "  type: LoadBalancer\n  ports: [{port: 80}]\n") + "---\n" +
                                    svc("clash", "  clusterIP: 10.96.0.10\n  ports: [{port: 80}]\n"));
  ASSERT_TRUE(r.contains("error"));
  EXPECT_EQ(allocations(), 1u);
  EXPECT_FALSE(store_->get(k8s::storeKey({k8s::Kind::Namespace, "", "y"})));
  EXPECT_FALSE(store_->get(k8s::storeKey({k8s::Kind::Service, "x", "fine"})));
}

TEST_F(ServiceAllocationTest, DeleteFreesAndNamespaceDeleteToo) {
  applyYaml(*service_, svc("a", "  type: LoadBalancer\n  ports: [{port: 80}]\n"));
  EXPECT_EQ(allocations(), 3u);
  service_->handle(
      {{"method", "objects.delete"}, {"refs", {{{"kind", "Service"}, {"namespace", "x"}, {"name", "a"}}}}});
  EXPECT_EQ(allocations(), 0u);
  applyYaml(*service_, "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n" +
                           svc("b", "  type: NodePort\n  ports: [{port: 80}]\n"));
  EXPECT_EQ(allocations(), 2u);
  service_->handle({{"method", "objects.delete"}, {"refs", {{{"kind", "Namespace"}, {"name", "x"}}}}});
  EXPECT_EQ(allocations(), 0u);
}

TEST_F(ServiceAllocationTest, RequireDualStackNeedsAnIpv6Cidr) {
  ObjectService single(*store_, ServicesConfig{});
  auto r = applyYaml(single, svc("d", "  ipFamilyPolicy: RequireDualStack\n  ports: [{port: 80}]\n"));
  ASSERT_EQ(r["errors"].size(), 1u) << r.dump();
  EXPECT_EQ(r["errors"][0],
            "Service x/d: spec.ipFamilyPolicy: this cluster is not configured for dual-stack services "
            "(services.clusterIPv6Cidr) (got \"RequireDualStack\")");
  auto headless = applyYaml(single, svc("h", "  clusterIP: None\n  selector: {app: h}\n"));
  ASSERT_FALSE(headless.contains("error")) << headless.dump();
  EXPECT_EQ(allocations(), 0u);
}

// N appliers (each its own ObjectService and store connection, as several agents) apply M
// Services each at once: every Service gets its own ClusterIP and NodePort.
void concurrentApplies(const std::function<std::unique_ptr<store::Store>()>& open) {
  constexpr int kThreads = 4, kServices = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      auto store = open();
      ObjectService service(*store, smallRanges());
      for (int i = 0; i < kServices; ++i) {
        auto r = applyYaml(service, svc("s" + std::to_string(t) + "-" + std::to_string(i),
                                        "  type: NodePort\n  ports: [{port: 80}]\n"));
        if (r.contains("error")) ++failures;
      }
      // And all of them re-apply one shared Service: it ends with one ClusterIP.
      if (applyYaml(service, svc("shared", "  ports: [{port: 80}]\n")).contains("error")) ++failures;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  auto store = open();
  std::set<std::string> ips;
  std::set<int> ports;
  for (const auto& kv : store->list(k8s::storePrefix(k8s::Kind::Service, "x"))) {
    auto o = json::parse(kv.value);
    EXPECT_TRUE(ips.insert(o["spec"]["clusterIP"].get<std::string>()).second) << "duplicate IP in " << kv.key;
    if (o["spec"]["type"] == "NodePort") {
      EXPECT_TRUE(ports.insert(o["spec"]["ports"][0]["nodePort"].get<int>()).second) << "duplicate port " << kv.key;
    }
  }
  EXPECT_EQ(ips.size(), size_t{kThreads * kServices + 1});
  EXPECT_EQ(ports.size(), size_t{kThreads * kServices});
  // Every allocation key is held by the Service that names it, and nothing else is held.
  EXPECT_EQ(store->list(store::keys::kServicesPrefix).size(), ips.size() + ports.size());
}

TEST_F(ServiceAllocationTest, ConcurrentAppliesOnSqlite) {
  const auto path = (dir_ / "store.db").string();
  concurrentApplies([path] { return std::make_unique<store::SqliteStore>(path); });
}

TEST(ServiceAllocationEtcd, ConcurrentAppliesOnEtcd) {
  testing::EtcdProcess etcd;
  concurrentApplies([&] { return std::make_unique<store::EtcdStore>(std::vector<std::string>{etcd.endpoint()}); });
}

}  // namespace
}  // namespace cnikit::agent
