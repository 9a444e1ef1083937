// The incremental plan of the iptables service proxy (ServiceModel.hpp): what an update
// writes and removes, against a model of 1 000 programmed Services.
#include <gtest/gtest.h>

#include "core/service/iptables/ServiceModel.hpp"

namespace cnikit::service::iptables {
namespace {

NodeContext node() {
  NodeContext n;
  n.name = "node-a";
  n.nodeAddresses = {"192.168.50.2"};
  n.podCidrs = {"10.244.0.0/16"};
  return n;
}

Service service(int i, int backendCount = 3) {
  Service s;
  s.ns = "bench";
  s.name = "svc-" + std::to_string(i);
  s.clusterIPs = {"10.96." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)};
  ServicePort p;
  p.port = 80;
  for (int b = 0; b < backendCount; ++b) {
    Backend backend;
    int n = i * 3 + b;
    backend.address = "10.244." + std::to_string(n / 250) + "." + std::to_string(n % 250 + 1);
    backend.port = 8080;
    backend.local = b == 0;  // one local backend each: every Service has a hairpin address
    p.backends.push_back(backend);
  }
  s.ports = {p};
  return s;
}

struct Fixture {
  ServiceTable table;
  FamilyModel model;

  FamilyPlan plan(const std::set<std::string>& keys, bool full) {
    return model.plan(
        Family::V4, node(), {}, keys,
        [&](const std::string& key) {
          auto it = table.find(key);
          return it == table.end() ? ServiceRules{} : buildServiceRules(it->second, Family::V4, node(), {});
        },
        full);
  }
  void programAll(int n) {
    std::set<std::string> keys;
    for (int i = 0; i < n; ++i) {
      Service s = service(i);
      keys.insert(s.key());
      table[s.key()] = s;
    }
    model.accept(plan(keys, true));
  }
};

std::set<std::string> names(const std::map<std::string, std::vector<IptablesRule>>& writes) {
  std::set<std::string> out;
  for (const auto& [chain, rules] : writes) out.insert(chain);
  return out;
}

TEST(ServiceModel, FullPlanNamesEveryChain) {
  Fixture f;
  f.programAll(1000);
  EXPECT_EQ(f.model.services().size(), 1000u);
  // From empty, a full plan writes one chain per Service (SVC), every shard in use, the
  // dispatch, postrouting and non-pod chains.
  Fixture g;
  for (int i = 0; i < 1000; ++i) g.table[service(i).key()] = service(i);
  std::set<std::string> keys;
  for (const auto& [key, s] : g.table) keys.insert(key);
  auto plan = g.plan(keys, true);
  EXPECT_EQ(plan.natWrites.size(), 1000u + 250 + 3);
  EXPECT_TRUE(plan.natWanted);
  EXPECT_FALSE(plan.rejectChanged && !plan.rejectRules.empty());
}

TEST(ServiceModel, OneBackendChangeWritesOnlyThatServicesChains) {
  Fixture f;
  f.programAll(1000);
  Service& s = f.table.at("bench/svc-417");
  const std::string key = portKey(s, s.ports[0]);
  Backend old = s.ports[0].backends[1];
  s.ports[0].backends[1].address = "10.245.0.1";
  auto plan = f.plan({s.key()}, false);

  ASSERT_EQ(plan.updates.size(), 1u);
  EXPECT_EQ(plan.updates.begin()->first, "bench/svc-417");
  // Its balancing chain only: no shard, dispatch or other Service's chain is touched.
  EXPECT_EQ(names(plan.natWrites), (std::set<std::string>{serviceChainName(key)}));
  EXPECT_TRUE(plan.natRemoves.empty());
  std::string rules;
  for (const auto& rule : plan.natWrites.at(serviceChainName(key))) rules += render(rule, Family::V4) + "\n";
  EXPECT_NE(rules.find("10.245.0.1:8080"), std::string::npos);
  EXPECT_EQ(rules.find(old.address + ":"), std::string::npos);
  EXPECT_FALSE(plan.rejectChanged);
  EXPECT_TRUE(plan.natTouched);
}

TEST(ServiceModel, HairpinAddressesAreSharedAndCounted) {
  Fixture f;
  f.programAll(3);
  // svc-1's local backend moves to svc-0's local address: one hairpin address fewer.
  f.table.at("bench/svc-1").ports[0].backends[0].address = "10.244.0.1";
  auto plan = f.plan({"bench/svc-1"}, false);
  ASSERT_TRUE(plan.natWrites.count(kPostroutingChain));
  EXPECT_EQ(plan.natWrites.at(kPostroutingChain).size(), 1u + 2);  // mark + svc-0/1's and svc-2's
  f.model.accept(std::move(plan));
  // Back again: one more; a change that keeps the set leaves the chain alone.
  f.table.at("bench/svc-1").ports[0].backends[1].address = "10.245.0.9";
  plan = f.plan({"bench/svc-1"}, false);
  EXPECT_FALSE(plan.natWrites.count(kPostroutingChain));
}

TEST(ServiceModel, RemovedUdpBackendsAreNamedForTheConntrackFlush) {
  Fixture f;
  f.programAll(3);
  Service& s = f.table.at("bench/svc-1");
  s.ports[0].protocol = k8s::Protocol::UDP;
  f.model.accept(f.plan({s.key()}, false));
  const Backend gone = s.ports[0].backends[2];
  s.ports[0].backends.pop_back();
  auto plan = f.plan({s.key()}, false);
  EXPECT_EQ(plan.staleUdpBackends, (std::set<std::pair<std::string, uint16_t>>{{gone.address, gone.port}}));
  // TCP backends are left to their connections' own end.
  f.table.at("bench/svc-2").ports[0].backends.pop_back();
  EXPECT_TRUE(f.plan({"bench/svc-2"}, false).staleUdpBackends.empty());
}

TEST(ServiceModel, UnchangedServiceWritesNothing) {
  Fixture f;
  f.programAll(100);
  auto plan = f.plan({"bench/svc-5", "bench/svc-6"}, false);
  EXPECT_TRUE(plan.updates.empty());
  EXPECT_TRUE(plan.natWrites.empty());
  EXPECT_TRUE(plan.natRemoves.empty());
  EXPECT_FALSE(plan.natTouched);
}

TEST(ServiceModel, NewServiceWritesItsChainsAndItsShardOnly) {
  Fixture f;
  f.programAll(1000);
  Service s = service(1000);  // 10.96.4.1: shard 01, already in use
  f.table[s.key()] = s;
  auto plan = f.plan({s.key()}, false);
  auto written = names(plan.natWrites);
  // Its chain, its shard, and the hairpin list (its local backend is a new address).
  EXPECT_EQ(written,
            (std::set<std::string>{serviceChainName(portKey(s, s.ports[0])), shardChainName(1), kPostroutingChain}));
  EXPECT_FALSE(written.count(kServicesChain));  // the set of shards is the same
  // The shard holds every member's entry, the new one included.
  EXPECT_EQ(plan.natWrites.at(shardChainName(1)).size(), 5u);
}

TEST(ServiceModel, RemovingTheLastServiceRemovesEverything) {
  Fixture f;
  f.programAll(1);
  f.table.clear();
  auto plan = f.plan({"bench/svc-0"}, false);
  EXPECT_FALSE(plan.natWanted);
  EXPECT_TRUE(plan.natWrites.empty());
  for (const char* chain : {kServicesChain, kPostroutingChain, kMarkNonPodChain})
    EXPECT_TRUE(plan.natRemoves.count(chain)) << chain;
  EXPECT_TRUE(plan.natRemoves.count(shardChainName(1)));
  f.model.accept(std::move(plan));
  EXPECT_TRUE(f.model.services().empty());
  EXPECT_FALSE(f.model.natInUse());
}

TEST(ServiceModel, LosingAllBackendsMovesTheServiceToTheRejectChain) {
  Fixture f;
  f.programAll(10);
  f.table.at("bench/svc-3").ports[0].backends.clear();
  auto plan = f.plan({"bench/svc-3"}, false);
  EXPECT_TRUE(plan.rejectChanged);
  ASSERT_EQ(plan.rejectRules.size(), 1u);
  EXPECT_EQ(plan.rejectRules[0].destination, "10.96.0.4");
  EXPECT_EQ(plan.natRemoves.size(), 1u + 1);  // SVC and its shard (no one else in it)
}

}  // namespace
}  // namespace cnikit::service::iptables
