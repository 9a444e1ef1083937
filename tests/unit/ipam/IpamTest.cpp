// Ipam on the real embedded store (a SQLite file in a temp dir).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/ipam/Ipam.hpp"
#include "core/ipam/IpamKeys.hpp"
#include "core/store/SqliteStore.hpp"
#include "tests/unit/store/TempDir.hpp"

namespace cnikit::ipam {
namespace {

using toolkit::IpAddress;
using toolkit::IpPrefix;

IpPrefix poolCidr(const std::string& text) {
  return IpPrefix::parse(text, {.hostBits = toolkit::HostBits::Refuse}).value();
}

using namespace std::chrono_literals;
using store::test::TempDir;

// Counts what Ipam asks of the store (a pass-through, not a fake).
class CountingStore : public store::Store {
 public:
  explicit CountingStore(store::Store& inner) : inner_(inner) {}
  std::atomic<int> reads{0}, lists{0}, writes{0};
  void reset() { reads = lists = writes = 0; }

  std::optional<store::KeyValue> get(std::string_view key) override {
    ++reads;
    return inner_.get(key);
  }
  store::Revision put(std::string_view key, std::string_view value, store::LeaseId lease) override {
    ++writes;
    return inner_.put(key, value, lease);
  }
  bool createIfAbsent(std::string_view key, std::string_view value, store::LeaseId lease) override {
    ++writes;
    return inner_.createIfAbsent(key, value, lease);
  }
  bool compareAndSwap(std::string_view key, store::Revision expected, std::string_view value,
                      store::LeaseId lease) override {
    ++writes;
    return inner_.compareAndSwap(key, expected, value, lease);
  }
  bool remove(std::string_view key) override {
    ++writes;
    return inner_.remove(key);
  }
  bool compareAndDelete(std::string_view key, store::Revision expected) override {
    ++writes;
    return inner_.compareAndDelete(key, expected);
  }
  std::vector<store::KeyValue> list(std::string_view prefix) override {
    ++lists;
    return inner_.list(prefix);
  }
  store::Revision revision() override { return inner_.revision(); }
  std::unique_ptr<store::Watch> watch(std::string_view prefix, store::Revision from, store::WatchCallback cb,
                                      store::CompactedCallback compacted) override {
    return inner_.watch(prefix, from, std::move(cb), std::move(compacted));
  }
  store::LeaseId grantLease(std::chrono::seconds ttl) override { return inner_.grantLease(ttl); }
  bool keepAlive(store::LeaseId lease) override { return inner_.keepAlive(lease); }
  void revokeLease(store::LeaseId lease) override { inner_.revokeLease(lease); }
  std::string describe() const override { return inner_.describe(); }

 private:
  store::Store& inner_;
};

PoolConfig pool(const std::string& name, std::vector<std::string> cidrs, int v4 = 24, int v6 = 64,
                std::vector<std::string> exclude = {}) {
  PoolConfig p;
  p.name = name;
  p.backend = "test";
  for (const auto& c : cidrs) p.cidrs.push_back(poolCidr(c));
  for (const auto& e : exclude) p.exclude.push_back(poolCidr(e));
  p.nodeSubnetPrefixV4 = v4;
  p.nodeSubnetPrefixV6 = v6;
  return p;
}

AllocateRequest req(const std::string& id, const std::string& ifname = "eth0", std::vector<std::string> ips = {}) {
  AllocateRequest r;
  r.containerId = id;
  r.ifname = ifname;
  r.podNamespace = "default";
  r.podName = "pod-" + id;
  r.netns = "/var/run/netns/" + id;
  for (const auto& ip : ips) r.requested.push_back(IpAddress::parse(ip).value());
  return r;
}

// The IpamError kind and message of f; fails the test when f does not throw one.
template <typename F>
std::pair<IpamError::Kind, std::string> ipamError(F&& f) {
  try {
    f();
  } catch (const IpamError& e) {
    return {e.kind(), e.what()};
  }
  ADD_FAILURE() << "no IpamError thrown";
  return {IpamError::Kind::InvalidConfig, ""};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class IpamTest : public ::testing::Test {
 protected:
  IpamTest() : dir_("ipam"), store_(dir_.file("store.db")) {}
  TempDir dir_;
  store::SqliteStore store_;
};

TEST_F(IpamTest, AllocatesInOrderFromTheNodeSubnetSkippingNetworkAndGateway) {
  Ipam ipam(store_, "node-a");
  auto p = pool("blue", {"10.10.0.0/16"});
  auto subnets = ipam.ensureNodeSubnets(p);
  ASSERT_EQ(subnets.size(), 1u);
  EXPECT_EQ(subnets[0].str(), "10.10.0.0/24");

  auto a = ipam.allocate(p, req("c1"));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].address.str(), "10.10.0.2");
  EXPECT_EQ(a[0].gateway->str(), "10.10.0.1");
  EXPECT_EQ(a[0].subnet.str(), "10.10.0.0/24");
  EXPECT_EQ(a[0].poolCidr.str(), "10.10.0.0/16");
  EXPECT_EQ(a[0].pool, "blue");
  EXPECT_EQ(a[0].node, "node-a");
  EXPECT_EQ(a[0].containerId, "c1");
  EXPECT_EQ(a[0].ifname, "eth0");
  EXPECT_EQ(a[0].podName, "pod-c1");
  EXPECT_EQ(ipam.allocate(p, req("c2"))[0].address.str(), "10.10.0.3");
  EXPECT_EQ(ipam.allocate(p, req("c3"))[0].address.str(), "10.10.0.4");

  // The records are where the layout says, with what it says.
  auto kv = store_.get("/cnikit/v1/ipam/addresses/blue/10.10.0.2");
  ASSERT_TRUE(kv);
  auto record = nlohmann::json::parse(kv->value);
  EXPECT_EQ(record["containerId"], "c1");
  EXPECT_EQ(record["ifname"], "eth0");
  EXPECT_EQ(record["node"], "node-a");
  EXPECT_EQ(record["subnet"], "10.10.0.0/24");
  EXPECT_EQ(record["podNamespace"], "default");
  EXPECT_EQ(record["netns"], "/var/run/netns/c1");
  auto handle = nlohmann::json::parse(store_.get("/cnikit/v1/ipam/handles/node-a/c1/eth0")->value);
  EXPECT_EQ(handle["addresses"], nlohmann::json::array({"blue/10.10.0.2"}));
  EXPECT_EQ(nlohmann::json::parse(store_.get("/cnikit/v1/ipam/subnets/blue/10.10.0.0_24")->value)["node"], "node-a");
}

TEST_F(IpamTest, AllocationIsIdempotentPerContainerAndIfname) {
  Ipam ipam(store_, "n1");
  auto p = pool("blue", {"10.10.0.0/16"});
  auto first = ipam.allocate(p, req("c1"));
  auto again = ipam.allocate(p, req("c1"));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].address, first[0].address);
  auto other = ipam.allocate(p, req("c1", "net1"));
  EXPECT_NE(other[0].address, first[0].address);
  auto found = ipam.find("c1", "eth0");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].address, first[0].address);
  EXPECT_TRUE(ipam.find("c9", "eth0").empty());
  EXPECT_EQ(ipam.list().size(), 2u);
  // Same id asking for a different address than it holds is refused, not silently ignored.
  auto [kind, message] = ipamError([&] { ipam.allocate(p, req("c1", "eth0", {"10.10.0.77"})); });
  EXPECT_EQ(kind, IpamError::Kind::RequestedUnavailable);
  EXPECT_TRUE(contains(message, first[0].address.str())) << message;
  // ... but asking for the one it holds is fine.
  EXPECT_EQ(ipam.allocate(p, req("c1", "eth0", {first[0].address.str()}))[0].address, first[0].address);
}

TEST_F(IpamTest, SingleNodePoolHandsOutEveryHostAddress) {
  Ipam ipam(store_, "n1");
  // A single-node pool: 10.0.0.0/29 has .2 to .6 for pods.
  auto p = pool("tiny", {"10.0.0.0/29"}, 29);
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i) got.push_back(ipam.allocate(p, req("c" + std::to_string(i)))[0].address.str());
  EXPECT_EQ(got, (std::vector<std::string>{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"}));
  auto [kind, message] = ipamError([&] { ipam.allocate(p, req("full")); });
  EXPECT_EQ(kind, IpamError::Kind::Exhausted) << message;
}

TEST_F(IpamTest, ReleasedAddressComesBackAfterTheOthers) {
  Ipam ipam(store_, "n1");
  auto p = pool("tiny", {"10.0.0.0/29"}, 29);
  auto a = ipam.allocate(p, req("a"))[0].address.str();  // .2
  auto b = ipam.allocate(p, req("b"))[0].address.str();  // .3
  auto released = ipam.release("a", "eth0");
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].address.str(), a);
  EXPECT_TRUE(ipam.release("a", "eth0").empty());  // twice is fine
  EXPECT_TRUE(ipam.find("a", "eth0").empty());
  // Round-robin: .4, .5, .6 before .2 again.
  EXPECT_EQ(ipam.allocate(p, req("c"))[0].address.str(), "10.0.0.4");
  EXPECT_EQ(ipam.allocate(p, req("d"))[0].address.str(), "10.0.0.5");
  EXPECT_EQ(ipam.allocate(p, req("e"))[0].address.str(), "10.0.0.6");
  EXPECT_EQ(ipam.allocate(p, req("f"))[0].address.str(), a);
  (void)b;
}

TEST_F(IpamTest, TinyPoolExhaustsAddressesAndSubnets) {
  // /29 split in two /30 node subnets, each with a single pod address (.2 and .6).
  auto p = pool("tiny", {"10.0.0.0/29"}, 30);
  Ipam a(store_, "a"), b(store_, "b"), c(store_, "c");
  EXPECT_EQ(a.allocate(p, req("a1"))[0].address.str(), "10.0.0.2");
  auto [kind, message] = ipamError([&] { a.allocate(p, req("a2")); });
  EXPECT_EQ(kind, IpamError::Kind::Exhausted);
  EXPECT_TRUE(contains(message, "tiny")) << message;
  EXPECT_TRUE(contains(message, "10.0.0.0/30")) << message;
  EXPECT_TRUE(a.find("a2", "eth0").empty());

  EXPECT_EQ(b.allocate(p, req("b1"))[0].address.str(), "10.0.0.6");
  auto [kind2, message2] = ipamError([&] { c.allocate(p, req("c1")); });
  EXPECT_EQ(kind2, IpamError::Kind::Exhausted);
  EXPECT_TRUE(contains(message2, "tiny")) << message2;
  EXPECT_TRUE(contains(message2, "10.0.0.0/29")) << message2;
  EXPECT_TRUE(contains(message2, "node subnet")) << message2;
}

TEST_F(IpamTest, ReservedAndExcludedAddressesAreNeverHandedOut) {
  Ipam ipam(store_, "n1");
  auto p = pool("ex", {"10.0.0.0/28"}, 28, 64, {"10.0.0.3/32", "10.0.0.8/30"});
  std::set<std::string> got;
  for (int i = 0;; ++i) {
    try {
      got.insert(ipam.allocate(p, req("c" + std::to_string(i)))[0].address.str());
    } catch (const IpamError& e) {
      EXPECT_EQ(e.kind(), IpamError::Kind::Exhausted);
      break;
    }
    ASSERT_LT(i, 20) << "more addresses than the subnet has";
  }
  // .0 network, .1 gateway, .3 and .8-.11 excluded, .15 broadcast.
  EXPECT_EQ(got, (std::set<std::string>{"10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.12",
                                        "10.0.0.13", "10.0.0.14"}));
}

TEST_F(IpamTest, ASubnetEntirelyExcludedIsNotClaimed) {
  auto p = pool("ex", {"10.0.0.0/16"}, 24, 64, {"10.0.0.0/23"});
  Ipam ipam(store_, "n1");
  EXPECT_EQ(ipam.ensureNodeSubnets(p)[0].str(), "10.0.2.0/24");
}

TEST_F(IpamTest, GcKeepsValidAttachmentsAndReleasesTheRest) {
  Ipam ipam(store_, "n1");
  Ipam other(store_, "n2");
  auto p = pool("blue", {"10.10.0.0/16"});
  auto c1 = ipam.allocate(p, req("c1"))[0];
  auto c2 = ipam.allocate(p, req("c2"))[0];
  auto c3 = ipam.allocate(p, req("c3"))[0];
  auto c3b = ipam.allocate(p, req("c3", "net1"))[0];
  auto foreign = other.allocate(p, req("x1"))[0];

  auto released = ipam.gc({{"c1", "eth0"}, {"c3", "eth0"}});
  std::set<std::string> gone;
  for (const auto& a : released) gone.insert(a.address.str());
  EXPECT_EQ(gone, (std::set<std::string>{c2.address.str(), c3b.address.str()}));
  auto left = ipam.list();
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].address, c1.address);
  EXPECT_EQ(left[1].address, c3.address);
  EXPECT_TRUE(ipam.find("c2", "eth0").empty());
  EXPECT_FALSE(store_.get("/cnikit/v1/ipam/handles/n1/c2/eth0"));
  EXPECT_FALSE(store_.get("/cnikit/v1/ipam/handles/n1/c3/net1"));
  EXPECT_TRUE(store_.get("/cnikit/v1/ipam/handles/n1/c3/eth0"));
  // Another node's allocations are not this node's to collect.
  EXPECT_EQ(other.find("x1", "eth0").size(), 1u);
  EXPECT_EQ(other.find("x1", "eth0")[0].address, foreign.address);
}

TEST_F(IpamTest, Ipv6Allocation) {
  Ipam ipam(store_, "n1");
  auto p = pool("six", {"fd00:10::/48"});
  auto a = ipam.allocate(p, req("c1"));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].subnet.str(), "fd00:10::/64");
  EXPECT_EQ(a[0].address.str(), "fd00:10::2");
  EXPECT_EQ(a[0].gateway->str(), "fd00:10::1");
  EXPECT_EQ(ipam.allocate(p, req("c2"))[0].address.str(), "fd00:10::3");
  EXPECT_TRUE(store_.get("/cnikit/v1/ipam/addresses/six/fd00:0010:0000:0000:0000:0000:0000:0002"));
  Ipam second(store_, "n2");
  EXPECT_EQ(second.allocate(p, req("d1"))[0].address.str(), "fd00:10:0:1::2");
  EXPECT_EQ(ipam.release("c1", "eth0").size(), 1u);
  EXPECT_EQ(ipam.list().size(), 1u);
}

TEST_F(IpamTest, TinyIpv6SubnetExhausts) {
  Ipam ipam(store_, "n1");
  auto p = pool("six", {"fd00::/120"}, 24, 126);  // ::0 net, ::1 gw, ::2 and ::3 for pods
  EXPECT_EQ(ipam.allocate(p, req("a"))[0].address.str(), "fd00::2");
  EXPECT_EQ(ipam.allocate(p, req("b"))[0].address.str(), "fd00::3");  // no broadcast in IPv6
  auto [kind, message] = ipamError([&] { ipam.allocate(p, req("c")); });
  EXPECT_EQ(kind, IpamError::Kind::Exhausted);
  EXPECT_TRUE(contains(message, "fd00::/126")) << message;
}

TEST_F(IpamTest, DualStackGivesOneAddressPerFamily) {
  Ipam ipam(store_, "n1");
  auto p = pool("dual", {"10.20.0.0/16", "fd00:20::/48"});
  auto subnets = ipam.ensureNodeSubnets(p);
  ASSERT_EQ(subnets.size(), 2u);
  auto a = ipam.allocate(p, req("c1"));
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].address.str(), "10.20.0.2");
  EXPECT_EQ(a[1].address.str(), "fd00:20::2");
  EXPECT_EQ(a[1].poolCidr.str(), "fd00:20::/48");
  auto again = ipam.allocate(p, req("c1"));
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[1].address, a[1].address);
  auto handle = nlohmann::json::parse(store_.get("/cnikit/v1/ipam/handles/n1/c1/eth0")->value);
  EXPECT_EQ(handle["addresses"].size(), 2u);
  auto listed = ipam.list("dual");
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_TRUE(listed[0].address.isV4());  // IPv4 first
  EXPECT_EQ(ipam.release("c1", "eth0").size(), 2u);
  EXPECT_TRUE(ipam.list().empty());
}

TEST_F(IpamTest, RequestedAddressIsHonoured) {
  Ipam ipam(store_, "n1");
  auto p = pool("dual", {"10.20.0.0/16", "fd00:20::/48"});
  auto a = ipam.allocate(p, req("c1", "eth0", {"10.20.0.50", "fd00:20::50"}));
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].address.str(), "10.20.0.50");
  EXPECT_EQ(a[1].address.str(), "fd00:20::50");
  // Only one family requested: the other is picked.
  auto b = ipam.allocate(p, req("c2", "eth0", {"fd00:20::60"}));
  EXPECT_EQ(b[0].address.str(), "10.20.0.2");
  EXPECT_EQ(b[1].address.str(), "fd00:20::60");
}

TEST_F(IpamTest, RequestedAddressIsRefusedWithTheReason) {
  Ipam ipam(store_, "n1");
  Ipam other(store_, "n2");
  auto p = pool("blue", {"10.10.0.0/16"}, 24, 64, {"10.10.0.100/32"});
  auto subnet = ipam.ensureNodeSubnets(p)[0];  // 10.10.0.0/24
  other.ensureNodeSubnets(p);                  // 10.10.1.0/24
  ipam.allocate(p, req("holder", "eth0", {"10.10.0.42"}));

  struct Case {
    std::string ip;
    std::vector<std::string> mentions;
  };
  std::vector<Case> cases = {
      {"10.10.1.5", {"10.10.1.5", subnet.str()}},                  // another node's subnet
      {"10.99.0.5", {"10.99.0.5", subnet.str()}},                  // outside the pool
      {"10.10.0.0", {"10.10.0.0", "network"}},                     // network address
      {"10.10.0.1", {"10.10.0.1", "gateway"}},                     // gateway
      {"10.10.0.255", {"10.10.0.255", "broadcast"}},               // broadcast
      {"10.10.0.100", {"10.10.0.100", "excluded", "blue"}},        // excluded
      {"10.10.0.42", {"10.10.0.42", "in use", "holder", "eth0"}},  // held by another container
      {"fd00::1", {"fd00::1", "IPv6"}},                            // family not in the pool
  };
  for (const auto& c : cases) {
    auto [kind, message] = ipamError([&] { ipam.allocate(p, req("asker", "eth0", {c.ip})); });
    EXPECT_EQ(kind, IpamError::Kind::RequestedUnavailable) << c.ip << ": " << message;
    for (const auto& m : c.mentions) EXPECT_TRUE(contains(message, m)) << "'" << message << "' lacks " << m;
    EXPECT_TRUE(ipam.find("asker", "eth0").empty());
  }
  auto [kind, message] = ipamError([&] { ipam.allocate(p, req("asker", "eth0", {"10.10.0.5", "10.10.0.6"})); });
  EXPECT_EQ(kind, IpamError::Kind::InvalidConfig) << message;
  EXPECT_EQ(ipam.list().size(), 1u);  // only the holder
}

TEST_F(IpamTest, NodesGetDifferentSubnetsAndKeepThemAcrossRestart) {
  auto p = pool("blue", {"10.10.0.0/16", "fd00:10::/48"});
  std::vector<IpPrefix> first, second;
  std::string address;
  {
    Ipam a(store_, "node-a");
    Ipam b(store_, "node-b");
    first = a.ensureNodeSubnets(p);
    second = b.ensureNodeSubnets(p);
    address = a.allocate(p, req("c1"))[0].address.str();
  }
  ASSERT_EQ(first.size(), 2u);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_FALSE(first[0].overlaps(second[0]));
  EXPECT_FALSE(first[1].overlaps(second[1]));
  // The agent restarts: a new Ipam object (and a new store connection) for node-a.
  store::SqliteStore reopened(dir_.file("store.db"));
  Ipam restarted(reopened, "node-a");
  EXPECT_EQ(restarted.ensureNodeSubnets(p), first);
  auto again = restarted.allocate(p, req("c1"));
  EXPECT_EQ(again[0].address.str(), address);  // idempotent across the restart
  EXPECT_EQ(restarted.allocate(p, req("c2"))[0].address.str(), "10.10.0.3");
  Ipam third(store_, "node-c");
  auto thirdSubnets = third.ensureNodeSubnets(p);
  EXPECT_EQ(thirdSubnets[0].str(), "10.10.2.0/24");
  EXPECT_EQ(thirdSubnets[1].str(), "fd00:10:0:2::/64");
}

TEST_F(IpamTest, NodeSubnetFollowsTheNodeLease) {
  auto p = pool("blue", {"10.10.0.0/16"});
  store::LeaseId first = store_.grantLease(60s);
  Ipam a(store_, "node-a");
  auto subnet = a.ensureNodeSubnets(p, first)[0];
  std::string key = keys::subnet("blue", subnet);
  EXPECT_EQ(store_.get(key)->lease, first);
  a.allocate(p, req("c1"));
  // The agent restarts with a new lease: the same subnet moves onto it.
  store::LeaseId second = store_.grantLease(60s);
  Ipam restarted(store_, "node-a");
  EXPECT_EQ(restarted.ensureNodeSubnets(p, second)[0], subnet);
  EXPECT_EQ(store_.get(key)->lease, second);
  store_.revokeLease(first);
  EXPECT_TRUE(store_.get(key));
  // The node dies: its lease goes, and with it the subnet. Another node claims it and the
  // dead node's records in it are dropped.
  store_.revokeLease(second);
  EXPECT_FALSE(store_.get(key));
  ASSERT_TRUE(store_.get("/cnikit/v1/ipam/addresses/blue/10.10.0.2"));
  Ipam b(store_, "node-b");
  EXPECT_EQ(b.ensureNodeSubnets(p)[0], subnet);
  EXPECT_FALSE(store_.get("/cnikit/v1/ipam/addresses/blue/10.10.0.2"));
  EXPECT_FALSE(store_.get("/cnikit/v1/ipam/handles/node-a/c1/eth0"));
  auto got = b.allocate(p, req("d1"))[0];
  EXPECT_EQ(got.subnet, subnet);
  EXPECT_EQ(got.node, "node-b");
}

TEST_F(IpamTest, ALostSubnetIsClaimedAgainOnNextAllocation) {
  auto p = pool("blue", {"10.10.0.0/16"});
  Ipam a(store_, "node-a");
  auto subnet = a.ensureNodeSubnets(p)[0];
  store_.remove(keys::subnet("blue", subnet));  // the lease expired under the agent
  Ipam b(store_, "node-b");
  EXPECT_EQ(b.ensureNodeSubnets(p)[0], subnet);  // and someone else took it
  auto got = a.allocate(p, req("c1"))[0];
  EXPECT_NE(got.subnet, subnet);
  EXPECT_TRUE(got.subnet.contains(got.address));
}

TEST_F(IpamTest, ConcurrentAllocationsNeverDuplicate) {
  auto p = pool("blue", {"10.10.0.0/16"});
  Ipam shared(store_, "n1");
  // Several agents claiming as one node (a crash-restart overlap) race at the store level.
  store::SqliteStore secondHandle(dir_.file("store.db"));
  std::vector<std::unique_ptr<Ipam>> own;
  for (int t = 0; t < 4; ++t) own.push_back(std::make_unique<Ipam>(t % 2 ? secondHandle : store_, "n1"));
  std::vector<std::vector<Allocation>> got(8);
  std::vector<std::string> errors;
  std::mutex errorMutex;
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Ipam& ipam = t < 4 ? shared : *own[t - 4];
      while (!go) std::this_thread::yield();
      for (int i = 0; i < 25; ++i) {
        try {
          auto a = ipam.allocate(p, req("t" + std::to_string(t) + "-" + std::to_string(i)));
          got[t].insert(got[t].end(), a.begin(), a.end());
        } catch (const std::exception& e) {
          std::lock_guard lock(errorMutex);
          errors.push_back(e.what());
        }
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  EXPECT_TRUE(errors.empty()) << errors.front();
  std::set<IpAddress> seen;
  std::set<IpPrefix> subnets;
  for (const auto& list : got) {
    for (const auto& a : list) {
      EXPECT_TRUE(seen.insert(a.address).second) << a.address.str() << " handed out twice";
      subnets.insert(a.subnet);
    }
  }
  EXPECT_EQ(seen.size(), 200u);
  EXPECT_EQ(subnets.size(), 1u) << "one node claimed more than one subnet";
  EXPECT_EQ(shared.list().size(), 200u);
}

TEST_F(IpamTest, DualStackFailureLeavesNothingAllocated) {
  Ipam ipam(store_, "n1");
  auto p = pool("dual", {"10.20.0.0/16", "fd00:20::/120"}, 24, 126);  // IPv6: ::2 and ::3 only
  ipam.allocate(p, req("a"));
  ipam.allocate(p, req("b"));
  auto before = ipam.list();
  ASSERT_EQ(before.size(), 4u);
  auto [kind, message] = ipamError([&] { ipam.allocate(p, req("c")); });
  EXPECT_EQ(kind, IpamError::Kind::Exhausted) << message;
  EXPECT_EQ(ipam.list().size(), before.size());  // the IPv4 address taken for c went back
  EXPECT_TRUE(ipam.find("c", "eth0").empty());
  EXPECT_FALSE(store_.get("/cnikit/v1/ipam/handles/n1/c/eth0"));

  // Same with a refused requested IPv6 address.
  auto q = pool("dual2", {"10.30.0.0/16", "fd00:30::/48"});
  ipam.allocate(q, req("holder", "eth0", {"fd00:30::9"}));
  auto [kind2, message2] = ipamError([&] { ipam.allocate(q, req("d", "eth0", {"fd00:30::9"})); });
  EXPECT_EQ(kind2, IpamError::Kind::RequestedUnavailable) << message2;
  EXPECT_EQ(ipam.list("dual2").size(), 2u);
}

// The handle names an address before its record exists: whatever step an ADD dies after,
// a retry gets the same address back and a DEL frees it; nothing needs a scan.
TEST_F(IpamTest, CrashAfterTheHandleLeavesNothingBehind) {
  Ipam ipam(store_, "n1");
  auto p = pool("blue", {"10.10.0.0/16"});
  auto subnet = ipam.ensureNodeSubnets(p)[0];
  nlohmann::json record = {
      {"containerId", "crashy"},    {"ifname", "eth0"},     {"node", "n1"},   {"subnet", subnet.str()},
      {"poolCidr", "10.10.0.0/16"}, {"podNamespace", "ns"}, {"podName", "p"}, {"netns", "x"}};
  // Died after the handle and the record: the retry returns that address.
  store_.put("/cnikit/v1/ipam/handles/n1/crashy/eth0", R"({"addresses":["blue/10.10.0.77"]})");
  ASSERT_TRUE(store_.createIfAbsent("/cnikit/v1/ipam/addresses/blue/10.10.0.77", record.dump()));
  EXPECT_EQ(ipam.allocate(p, req("crashy"))[0].address.str(), "10.10.0.77");
  EXPECT_EQ(ipam.list().size(), 1u);

  // Died after the handle only: the retry takes an address of its own, the handle names it.
  store_.put("/cnikit/v1/ipam/handles/n1/crashy2/eth0", R"({"addresses":["blue/10.10.0.88"]})");
  auto retried = ipam.allocate(p, req("crashy2"))[0];
  EXPECT_EQ(ipam.find("crashy2", "eth0").size(), 1u);
  EXPECT_EQ(ipam.list().size(), 2u);
  ASSERT_EQ(ipam.release("crashy2", "eth0").size(), 1u);
  EXPECT_FALSE(store_.get(keys::address("blue", retried.address)));
  EXPECT_FALSE(store_.get("/cnikit/v1/ipam/handles/n1/crashy2/eth0"));

  // A handle that names another container's address (lost the race, then died) frees nothing of it.
  auto other = ipam.allocate(p, req("other"))[0];
  store_.put("/cnikit/v1/ipam/handles/n1/crashy3/eth0",
             nlohmann::json{{"addresses", {"blue/" + other.address.str()}}}.dump());
  EXPECT_TRUE(ipam.release("crashy3", "eth0").empty());
  EXPECT_TRUE(store_.get(keys::address("blue", other.address)));
}

// Agents before handle-first allocation wrote the record first: a record of theirs without a
// handle is listed in its handle when an agent takes up its subnet, then found like any other.
TEST_F(IpamTest, RecordLeftWithoutAHandleIsAdoptedWhenTheSubnetIsTakenUp) {
  auto p = pool("blue", {"10.10.0.0/16"});
  IpPrefix subnet;
  {
    Ipam before(store_, "n1");
    subnet = before.ensureNodeSubnets(p)[0];
  }
  nlohmann::json record = {
      {"containerId", "crashy"},    {"ifname", "eth0"},     {"node", "n1"},   {"subnet", subnet.str()},
      {"poolCidr", "10.10.0.0/16"}, {"podNamespace", "ns"}, {"podName", "p"}, {"netns", "x"}};
  ASSERT_TRUE(store_.createIfAbsent("/cnikit/v1/ipam/addresses/blue/10.10.0.77", record.dump()));
  record["containerId"] = "crashy2";
  ASSERT_TRUE(store_.createIfAbsent("/cnikit/v1/ipam/addresses/blue/10.10.0.78", record.dump()));

  Ipam ipam(store_, "n1");  // the restarted agent
  auto a = ipam.allocate(p, req("crashy"));
  EXPECT_EQ(a[0].address.str(), "10.10.0.77");
  EXPECT_EQ(ipam.list().size(), 2u);
  EXPECT_EQ(ipam.find("crashy", "eth0").size(), 1u);
  auto released = ipam.release("crashy2", "eth0");
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].address.str(), "10.10.0.78");
  EXPECT_FALSE(store_.get("/cnikit/v1/ipam/addresses/blue/10.10.0.78"));

  // And a DEL for a record no handle names (the store changed under a running agent) still frees it.
  record["containerId"] = "crashy3";
  ASSERT_TRUE(store_.createIfAbsent("/cnikit/v1/ipam/addresses/blue/10.10.0.79", record.dump()));
  ASSERT_EQ(ipam.release("crashy3", "eth0").size(), 1u);
  EXPECT_FALSE(store_.get("/cnikit/v1/ipam/addresses/blue/10.10.0.79"));
}

// Two agents of one node (two store handles) allocate and release at once in a small subnet,
// so the round-robin mark wraps, probes hit taken addresses and the subnet gets listed: no
// address is ever held twice, and every free address can still be found.
TEST_F(IpamTest, ConcurrentAllocateAndReleaseFromTwoInstancesNeverDuplicate) {
  auto p = pool("small", {"10.40.0.0/24"}, 28);  // 13 usable addresses per node subnet
  store::SqliteStore secondHandle(dir_.file("store.db"));
  Ipam first(store_, "n1");
  Ipam second(secondHandle, "n1");
  std::mutex heldMutex;
  std::map<IpAddress, std::string> held;  // address -> holder
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      Ipam& ipam = t % 2 ? second : first;
      while (!go) std::this_thread::yield();
      for (int i = 0; i < 40; ++i) {
        std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        try {
          auto a = ipam.allocate(p, req(id));
          {
            std::lock_guard lock(heldMutex);
            auto [it, fresh] = held.emplace(a[0].address, id);
            if (!fresh) errors.push_back(a[0].address.str() + " given to " + id + " while " + it->second + " held it");
          }
          std::this_thread::yield();
          {
            std::lock_guard lock(heldMutex);
            held.erase(a[0].address);
          }
          ipam.release(id, "eth0");
        } catch (const std::exception& e) {
          std::lock_guard lock(heldMutex);
          errors.push_back(id + ": " + e.what());
        }
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  EXPECT_TRUE(errors.empty()) << errors.size() << " errors, first: " << errors.front();
  EXPECT_TRUE(first.list().empty());
  // Fill the subnet from both instances: all 13 addresses, each once, then exhausted.
  std::set<IpAddress> seen;
  for (int i = 0; i < 13; ++i) {
    auto a = (i % 2 ? second : first).allocate(p, req("fill" + std::to_string(i)));
    EXPECT_TRUE(seen.insert(a[0].address).second) << a[0].address.str();
  }
  EXPECT_EQ(ipamError([&] { first.allocate(p, req("one-too-many")); }).first, IpamError::Kind::Exhausted);
  // A released address in the middle is found again, wherever the mark stands.
  auto middle = *std::next(seen.begin(), 6);
  auto holder = first.list()[6];
  ASSERT_EQ(holder.address, middle);
  second.release(holder.containerId, holder.ifname);
  EXPECT_EQ(second.allocate(p, req("again"))[0].address, middle);
}

TEST_F(IpamTest, BadIdsAndConfigAreInvalid) {
  Ipam ipam(store_, "n1");
  auto p = pool("blue", {"10.10.0.0/16"});
  EXPECT_EQ(ipamError([&] { ipam.allocate(p, req("")); }).first, IpamError::Kind::InvalidConfig);
  EXPECT_EQ(ipamError([&] { ipam.allocate(p, req("a/b")); }).first, IpamError::Kind::InvalidConfig);
  EXPECT_EQ(ipamError([&] { ipam.allocate(p, req("ok", "")); }).first, IpamError::Kind::InvalidConfig);
  auto bad = p;
  bad.nodeSubnetPrefixV4 = 8;
  auto [kind, message] = ipamError([&] { ipam.allocate(bad, req("ok")); });
  EXPECT_EQ(kind, IpamError::Kind::InvalidConfig);
  EXPECT_TRUE(contains(message, "blue")) << message;
  EXPECT_THROW(Ipam(store_, ""), std::invalid_argument);
}

// CPU time of this thread: unlike wall time, not inflated by other load on the machine.
double threadCpuUs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// One allocation in a /24 that already holds 200 addresses: no list of the subnet, three
// small reads (subnet, handle, candidate) and two writes (handle, address), plus the
// round-robin mark every 8th allocation.
TEST_F(IpamTest, AllocationCostOnABusySubnet) {
  auto p = pool("blue", {"10.10.0.0/16"});
  {
    Ipam filler(store_, "n1");
    for (int i = 0; i < 200; ++i) filler.allocate(p, req("fill" + std::to_string(i)));
  }
  CountingStore counting(store_);
  Ipam ipam(counting, "n1");
  ipam.ensureNodeSubnets(p);
  constexpr int kRounds = 40;
  double totalUs = 0, cpuUs = 0;
  int lists = 0, writes = 0, reads = 0;
  for (int i = 0; i < kRounds; ++i) {
    counting.reset();
    auto start = std::chrono::steady_clock::now();
    double cpuStart = threadCpuUs();
    auto a = ipam.allocate(p, req("probe" + std::to_string(i)));
    cpuUs += threadCpuUs() - cpuStart;
    totalUs += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    lists += counting.lists;
    writes += counting.writes;
    reads += counting.reads;
    ASSERT_EQ(a.size(), 1u);
    ipam.release("probe" + std::to_string(i), "eth0");
  }
  std::printf(
      "[ bench    ] allocate on a /24 with 200 used: %.1f us wall, %.1f us cpu, %.1f lists, %.1f reads, "
      "%.1f writes per call\n",
      totalUs / kRounds, cpuUs / kRounds, double(lists) / kRounds, double(reads) / kRounds, double(writes) / kRounds);
  EXPECT_EQ(lists, 0);                               // the address after the round-robin mark is free
  EXPECT_LE(writes, 2 * kRounds + kRounds / 8 + 1);  // handle, address; the mark now and then
  EXPECT_LT(totalUs / kRounds, 5000.0);              // generous: shared CI machines; typical is far lower
}

TEST_F(IpamTest, NodeSubnetsOnlyReadsTheStore) {
  auto p = pool("dual", {"10.30.0.0/16", "fd00:30::/48"});
  CountingStore counting(store_);
  Ipam ipam(counting, "node-a");
  // A node that has claimed nothing yet: nothing to report, and nothing claimed by asking.
  auto before = store_.revision();
  EXPECT_TRUE(ipam.nodeSubnets(p).empty());
  EXPECT_EQ(store_.revision(), before);
  EXPECT_TRUE(store_.list(keys::subnetPrefix("dual")).empty());

  auto claimed = ipam.ensureNodeSubnets(p);
  ASSERT_EQ(claimed.size(), 2u);
  Ipam other(store_, "node-b");
  other.ensureNodeSubnets(p);  // another node's claims are not this node's subnets

  before = store_.revision();
  counting.reset();
  auto seen = ipam.nodeSubnets(p);
  EXPECT_EQ(counting.writes, 0);
  EXPECT_EQ(store_.revision(), before) << "a read wrote to the store";
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], claimed[0]);
  EXPECT_EQ(seen[1], claimed[1]);
  EXPECT_EQ(Ipam(store_, "node-c").nodeSubnets(p).size(), 0u);
  EXPECT_EQ(store_.revision(), before);
}

}  // namespace
}  // namespace cnikit::ipam
