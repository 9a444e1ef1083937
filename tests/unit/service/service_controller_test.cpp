// ServiceController: the service table it derives from the store (selector and EndpointSlice
// paths, readiness by node liveness, named targetPorts per pod, dual-stack, headless) and
// what it hands its provider (only the changed Service keys; a full sync after an error).
#include "core/service/ServiceController.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <functional>

#include "core/agent/NodeRecord.hpp"
#include "core/k8s/ObjectKeys.hpp"
#include "core/service/ServiceMethods.hpp"
#include "core/store/Keys.hpp"
#include "core/store/SqliteStore.hpp"
#include "core/yaml/YamlToJson.hpp"

namespace cnikit::service {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Records what the controller hands it; fails the next calls when told to.
class RecordingProvider : public ServiceProvider {
 public:
  struct Call {
    bool sync = false;
    ServiceChanges changed;
  };
  const char* name() const override { return "recording"; }
  void sync(const NodeContext& node, const ServiceTable& table) override { record(node, table, true, {}); }
  void apply(const NodeContext& node, const ServiceTable& table, const ServiceChanges& changed) override {
    record(node, table, false, changed);
  }
  void removeAll() override {}
  json status() const override { return {{"recorded", true}}; }
  json explain(const std::string& key) const override { return {{"chains", {"KUBE-SVC-" + key}}}; }

  // Waits (bounded, only to fail instead of hanging) until pred holds over the calls so far.
  bool waitFor(const std::function<bool(const std::vector<Call>&, const ServiceTable&)>& pred) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 20s, [&] { return pred(calls_, table_); });
  }
  std::vector<Call> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  ServiceTable table() {
    std::lock_guard lock(mutex_);
    return table_;
  }
  NodeContext node() {
    std::lock_guard lock(mutex_);
    return node_;
  }
  std::atomic<int> failures{0};

 private:
  void record(const NodeContext& node, const ServiceTable& table, bool sync, const ServiceChanges& changed) {
    std::lock_guard lock(mutex_);
    calls_.push_back({sync, changed});
    if (failures > 0) {
      --failures;
      changed_.notify_all();
      throw std::runtime_error("injected failure");
    }
    node_ = node;
    if (sync) {
      table_ = table;
    } else {
      for (const auto& key : changed) {
        auto it = table.find(key);
        if (it == table.end())
          table_.erase(key);
        else
          table_[key] = it->second;
      }
    }
    changed_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Call> calls_;
  ServiceTable table_;
  NodeContext node_;
};

// A real store whose watches can be told that their history was compacted away.
class CompactingStore : public store::Store {
 public:
  explicit CompactingStore(store::Store& inner) : inner_(inner) {}
  std::optional<store::KeyValue> get(std::string_view key) override { return inner_.get(key); }
  store::Revision put(std::string_view key, std::string_view value, store::LeaseId lease) override {
    return inner_.put(key, value, lease);
  }
  bool createIfAbsent(std::string_view key, std::string_view value, store::LeaseId lease) override {
    return inner_.createIfAbsent(key, value, lease);
  }
  bool compareAndSwap(std::string_view key, store::Revision expected, std::string_view value,
                      store::LeaseId lease) override {
    return inner_.compareAndSwap(key, expected, value, lease);
  }
  bool remove(std::string_view key) override { return inner_.remove(key); }
  bool compareAndDelete(std::string_view key, store::Revision expected) override {
    return inner_.compareAndDelete(key, expected);
  }
  std::vector<store::KeyValue> list(std::string_view prefix) override { return inner_.list(prefix); }
  store::Revision revision() override { return inner_.revision(); }
  std::unique_ptr<store::Watch> watch(std::string_view prefix, store::Revision from, store::WatchCallback onEvents,
                                      store::CompactedCallback onCompacted) override {
    std::lock_guard lock(mutex_);
    compacted_.push_back(onCompacted);
    return inner_.watch(prefix, from, std::move(onEvents), std::move(onCompacted));
  }
  store::LeaseId grantLease(std::chrono::seconds ttl) override { return inner_.grantLease(ttl); }
  bool keepAlive(store::LeaseId lease) override { return inner_.keepAlive(lease); }
  void revokeLease(store::LeaseId lease) override { inner_.revokeLease(lease); }
  std::string describe() const override { return inner_.describe(); }

  // As a store does when a watch fell behind its history: the first watch is told.
  void compactFirstWatch() {
    store::CompactedCallback callback;
    {
      std::lock_guard lock(mutex_);
      callback = compacted_.at(0);
    }
    callback();
  }

 private:
  store::Store& inner_;
  std::mutex mutex_;
  std::vector<store::CompactedCallback> compacted_;
};

class ServiceControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/cnkt-" + std::to_string(getpid()) + "-svcctl-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    store_ = std::make_unique<store::SqliteStore>((dir_ / "store.db").string());
  }
  void TearDown() override {
    controller_.reset();
    compacting_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void start() {
    auto provider = std::make_unique<RecordingProvider>();
    provider_ = provider.get();
    ServiceControllerOptions options;
    options.podCidrs = {"10.244.0.0/16"};
    options.retryInterval = 20ms;
    compacting_ = std::make_unique<CompactingStore>(*store_);
    controller_ = std::make_unique<ServiceController>(*compacting_, "node-a", std::move(provider), options);
    controller_->start();
  }
  void put(const std::string& yaml) {
    for (const auto& o : k8s::validateObjects(yaml::yamlToJson(yaml)))
      store_->put(k8s::storeKey(o.ref), o.object.dump());
  }
  void node(const std::string& name, const std::string& ipv4) {
    agent::NodeRecord r;
    r.name = name;
    r.underlayIpv4 = ipv4;
    store_->put(store::keys::node(name), json(r).dump());
  }
  void endpoint(const std::string& node, const std::string& pod, const std::vector<std::string>& addresses) {
    json e = {{"containerId", "c-" + pod},
              {"ifname", "eth0"},
              {"podNamespace", "x"},
              {"podName", pod},
              {"addresses", addresses}};
    store_->put(store::keys::endpoint(node, "c-" + pod, "eth0"), e.dump());
  }
  static std::string pod(const std::string& name, const std::string& labels, const std::string& node,
                         const std::string& ip, const std::string& ports = "") {
    return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: x, labels: {" + labels +
           "}}\nspec:\n  nodeName: " + node + "\n  containers:\n  - name: c\n" + ports + "status: {podIP: " + ip +
           "}\n---\n";
  }
  // The entry of "x/<name>" once the provider has one satisfying pred.
  Service entry(const std::string& name, const std::function<bool(const Service&)>& pred = nullptr) {
    Service out;
    bool ok = provider_->waitFor([&](const auto&, const ServiceTable& t) {
      auto it = t.find("x/" + name);
      if (it == t.end() || (pred && !pred(it->second))) return false;
      out = it->second;
      return true;
    });
    EXPECT_TRUE(ok) << "the provider never got the expected x/" << name;
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<CompactingStore> compacting_;
  RecordingProvider* provider_ = nullptr;
  std::unique_ptr<ServiceController> controller_;
};

const char* kWeb = R"(apiVersion: v1
kind: Service
metadata: {name: web, namespace: x}
spec:
  clusterIP: 10.96.0.10
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
)";

TEST_F(ServiceControllerTest, SelectorBackendsWithReadinessByNodeLiveness) {
  node("node-a", "192.168.0.1");
  put(kWeb);
  put(pod("p1", "app: web", "node-a", "10.244.1.5") + pod("p2", "app: web", "node-b", "10.244.2.5") +
      pod("p3", "app: db", "node-a", "10.244.1.6"));
  endpoint("node-a", "p1", {"10.244.1.50/24"});  // the endpoint record wins over status.podIP
  start();
  auto s = entry("web", [](const Service& s) { return s.ports.size() == 1 && s.ports[0].backends.size() == 2; });
  EXPECT_EQ(s.clusterIPs, std::vector<std::string>{"10.96.0.10"});
  ASSERT_EQ(s.ports[0].backends.size(), 2u);
  EXPECT_EQ(s.ports[0].backends[0], (Backend{"10.244.1.50", 8080, "x/p1", "node-a", true, true}));
  EXPECT_EQ(s.ports[0].backends[1], (Backend{"10.244.2.5", 8080, "x/p2", "node-b", false, false}))
      << "node-b has no node record: not ready";
  EXPECT_EQ(provider_->node().nodeAddresses, std::vector<std::string>{"192.168.0.1"});
  EXPECT_EQ(provider_->node().podCidrs, std::vector<std::string>{"10.244.0.0/16"});

  node("node-b", "192.168.0.2");  // node-b comes alive
  s = entry("web", [](const Service& s) { return s.ports[0].backends.size() == 2 && s.ports[0].backends[1].ready; });
  store_->remove(store::keys::node("node-b"));  // and its lease expires
  entry("web", [](const Service& s) { return !s.ports[0].backends[1].ready; });
}

TEST_F(ServiceControllerTest, EveryLabelOfTheSelectorMustMatch) {
  node("node-a", "192.168.0.1");
  put(R"(apiVersion: v1
kind: Service
metadata: {name: fe, namespace: x}
spec:
  clusterIP: 10.96.0.15
  selector: {app: web, tier: fe}
  ports: [{port: 80}]
---
)");
  put(pod("a", "app: web, tier: fe", "node-a", "10.244.1.60") + pod("b", "app: web", "node-a", "10.244.1.61") +
      pod("c", "tier: fe", "node-a", "10.244.1.62"));
  start();
  auto s = entry("fe", [](const Service& s) { return s.ports[0].backends.size() == 1; });
  EXPECT_EQ(s.ports[0].backends[0].pod, "x/a");
  put(pod("b", "app: web, tier: fe", "node-a", "10.244.1.61"));  // b gains the second label
  entry("fe", [](const Service& s) { return s.ports[0].backends.size() == 2; });
  store_->remove(k8s::storeKey({k8s::Kind::Pod, "x", "a"}));
  s = entry("fe", [](const Service& s) { return s.ports[0].backends.size() == 1; });
  EXPECT_EQ(s.ports[0].backends[0].pod, "x/b");
}

TEST_F(ServiceControllerTest, NamedTargetPortResolvesPerPod) {
  put(R"(apiVersion: v1
kind: Service
metadata: {name: named, namespace: x}
spec:
  clusterIP: 10.96.0.11
  selector: {app: n}
  ports: [{name: web, port: 80, targetPort: http}, {name: dns, port: 53, protocol: UDP, targetPort: dns}]
---
)");
  node("node-a", "192.168.0.1");
  put(pod("n1", "app: n", "node-a", "10.244.1.7", "    ports: [{name: http, containerPort: 8080}]\n") +
      pod("n2", "app: n", "node-a", "10.244.1.8",
          "    ports: [{name: http, containerPort: 9090}, {name: dns, containerPort: 5353, protocol: UDP}]\n") +
      pod("n3", "app: n", "node-a", "10.244.1.9"));
  start();
  auto s = entry("named", [](const Service& s) { return s.ports.size() == 2 && s.ports[0].backends.size() == 2; });
  std::vector<std::pair<std::string, uint16_t>> web, dns;
  for (const auto& b : s.ports[0].backends) web.push_back({b.pod, b.port});
  for (const auto& b : s.ports[1].backends) dns.push_back({b.pod, b.port});
  EXPECT_EQ(web, (std::vector<std::pair<std::string, uint16_t>>{{"x/n1", 8080}, {"x/n2", 9090}}));
  EXPECT_EQ(dns, (std::vector<std::pair<std::string, uint16_t>>{{"x/n2", 5353}})) << "n1 and n3 lack the dns port";
  EXPECT_EQ(s.ports[1].protocol, k8s::Protocol::UDP);
}

TEST_F(ServiceControllerTest, EndpointSlicesServeAServiceWithoutSelector) {
  put(R"(apiVersion: v1
kind: Service
metadata: {name: ext, namespace: x}
spec:
  type: NodePort
  clusterIP: 10.96.0.12
  ports: [{name: http, port: 80, nodePort: 30080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ext-1, namespace: x, labels: {kubernetes.io/service-name: ext}}
addressType: IPv4
endpoints:
- addresses: [192.0.2.10]
  nodeName: node-a
- addresses: [192.0.2.11]
  conditions: {ready: false}
ports: [{name: http, port: 8080}, {name: other, port: 9}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: unrelated, namespace: x, labels: {kubernetes.io/service-name: nope}}
addressType: IPv4
endpoints: [{addresses: [192.0.2.99]}]
ports: [{name: http, port: 1}]
)");
  start();
  auto s = entry("ext", [](const Service& s) { return s.ports.size() == 1 && s.ports[0].backends.size() == 2; });
  EXPECT_EQ(s.ports[0].nodePort, 30080);
  EXPECT_EQ(s.ports[0].backends[0], (Backend{"192.0.2.10", 8080, "", "node-a", true, true}));
  EXPECT_EQ(s.ports[0].backends[1], (Backend{"192.0.2.11", 8080, "", "", false, false}));
  store_->remove(k8s::storeKey({k8s::Kind::EndpointSlice, "x", "ext-1"}));
  entry("ext", [](const Service& s) { return s.ports[0].backends.empty(); });
}

TEST_F(ServiceControllerTest, DualStackPodsGiveOneBackendPerFamilyAndHeadlessIsSkipped) {
  node("node-a", "192.168.0.1");
  put(R"(apiVersion: v1
kind: Service
metadata: {name: ds, namespace: x}
spec:
  clusterIPs: [10.96.0.13, "fd00:96::13"]
  ipFamilyPolicy: RequireDualStack
  selector: {app: ds}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: headless, namespace: x}
spec:
  clusterIP: None
  selector: {app: ds}
---
)");
  put(pod("d1", "app: ds", "node-a", "10.244.1.20"));
  endpoint("node-a", "d1", {"10.244.1.20/24", "fd00:244:1::20/64"});
  start();
  auto s = entry("ds", [](const Service& s) { return s.ports[0].backends.size() == 2; });
  EXPECT_EQ(s.clusterIPs, (std::vector<std::string>{"10.96.0.13", "fd00:96::13"}));
  EXPECT_EQ(s.ports[0].backends[0].address, "10.244.1.20");
  EXPECT_EQ(s.ports[0].backends[1].address, "fd00:244:1::20");
  EXPECT_EQ(provider_->table().count("x/headless"), 0u);
  EXPECT_EQ(controller_->table().count("x/headless"), 0u);
}

TEST_F(ServiceControllerTest, APodChangeHandsOnlyItsServices) {
  node("node-a", "192.168.0.1");
  put(kWeb);
  put(R"(apiVersion: v1
kind: Service
metadata: {name: db, namespace: x}
spec:
  clusterIP: 10.96.0.14
  selector: {app: db}
  ports: [{port: 5432}]
---
)");
  start();
  ASSERT_TRUE(provider_->waitFor([](const auto& calls, const auto&) { return !calls.empty() && calls[0].sync; }));
  put(pod("w1", "app: web", "node-a", "10.244.1.30"));
  entry("web", [](const Service& s) { return s.ports[0].backends.size() == 1; });
  auto calls = provider_->calls();
  EXPECT_EQ(calls.back().changed, ServiceChanges{"x/web"});
  // Relabelled from web to db: both Services change, in one or two applies.
  put(pod("w1", "app: db", "node-a", "10.244.1.30"));
  entry("db", [](const Service& s) { return s.ports[0].backends.size() == 1; });
  entry("web", [](const Service& s) { return s.ports[0].backends.empty(); });
  ServiceChanges seen;
  const auto after = provider_->calls();
  for (size_t i = calls.size(); i < after.size(); ++i) seen.insert(after[i].changed.begin(), after[i].changed.end());
  EXPECT_EQ(seen, (ServiceChanges{"x/db", "x/web"}));
}

TEST_F(ServiceControllerTest, TenThousandServicesAndOnePodChangeHandOnlyTheAffectedKey) {
  constexpr int kServices = 10000;
  std::string many;
  for (int i = 0; i < kServices; ++i) {
    json s = {{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", {{"name", "s" + std::to_string(i)}, {"namespace", "x"}}},
              {"spec",
               {{"type", "ClusterIP"},
                {"clusterIP", "10.96." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)},
                {"clusterIPs", {"10.96." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)}},
                {"selector", {{"app", "a" + std::to_string(i)}}},
                {"ports", {{{"port", 80}, {"targetPort", 80}, {"protocol", "TCP"}}}}}}};
    store_->put(k8s::storeKey({k8s::Kind::Service, "x", "s" + std::to_string(i)}), s.dump());
  }
  node("node-a", "192.168.0.1");
  start();
  ASSERT_TRUE(provider_->waitFor(
      [](const auto& calls, const ServiceTable& t) { return !calls.empty() && t.size() == size_t{kServices}; }));
  const size_t before = provider_->calls().size();
  put(pod("one", "app: a4242", "node-a", "10.244.1.40"));
  entry("s4242", [](const Service& s) { return s.ports[0].backends.size() == 1; });
  auto calls = provider_->calls();
  ASSERT_EQ(calls.size(), before + 1);
  EXPECT_FALSE(calls.back().sync);
  EXPECT_EQ(calls.back().changed, ServiceChanges{"x/s4242"});
}

TEST_F(ServiceControllerTest, AProviderErrorIsFollowedByAFullSync) {
  node("node-a", "192.168.0.1");
  put(kWeb);
  start();
  ASSERT_TRUE(provider_->waitFor([](const auto& calls, const auto&) { return !calls.empty(); }));
  provider_->failures = 1;
  put(pod("w1", "app: web", "node-a", "10.244.1.30"));
  entry("web", [](const Service& s) { return s.ports[0].backends.size() == 1; });
  auto calls = provider_->calls();
  ASSERT_GE(calls.size(), 3u);
  EXPECT_FALSE(calls[calls.size() - 2].sync) << "the failed apply";
  EXPECT_TRUE(calls.back().sync) << "then a full sync";
  EXPECT_FALSE(controller_->status().contains("lastError"));
}

TEST_F(ServiceControllerTest, ACompactedWatchIsFollowedByARelistAndAFullSync) {
  node("node-a", "192.168.0.1");
  put(kWeb);
  start();
  ASSERT_TRUE(provider_->waitFor([](const auto& calls, const auto&) { return !calls.empty(); }));
  const size_t before = provider_->calls().size();
  compacting_->compactFirstWatch();
  ASSERT_TRUE(provider_->waitFor(
      [before](const auto& calls, const auto&) { return calls.size() > before && calls.back().sync; }));
  // Watching again after the relist: a new pod still reaches the provider.
  put(pod("w1", "app: web", "node-a", "10.244.1.30"));
  entry("web", [](const Service& s) { return s.ports[0].backends.size() == 1; });
}

TEST_F(ServiceControllerTest, AgentMethodsListAndExplain) {
  EXPECT_TRUE(ServiceMethods::handle(nullptr, {{"method", "service.list"}}).contains("error"));
  node("node-a", "192.168.0.1");
  put(kWeb);
  start();
  auto list = ServiceMethods::handle(controller_.get(), {{"method", "service.list"}});
  ASSERT_EQ(list["services"].size(), 1u) << list.dump();
  EXPECT_EQ(list["services"][0]["name"], "web");
  EXPECT_EQ(list["services"][0]["ports"][0]["port"], 80);
  EXPECT_EQ(list["status"]["provider"], "recording");
  EXPECT_EQ(list["node"]["nodeAddresses"], json({"192.168.0.1"}));
  auto explain = ServiceMethods::handle(controller_.get(), {{"method", "service.explain"}, {"service", "x/web"}});
  EXPECT_EQ(explain["explain"]["chains"][0], "KUBE-SVC-x/web") << explain.dump();
  EXPECT_TRUE(ServiceMethods::handle(controller_.get(), {{"method", "service.explain"}, {"service", "x/none"}})
                  .contains("error"));
}

}  // namespace
}  // namespace cnikit::service
