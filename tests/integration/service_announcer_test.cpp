// The load-balancer announcer (core/service/LoadBalancerAnnouncer) against the real kernel:
// the holder's address on a veth in a test-made namespace, the peer's neighbour entry moved
// to the holder's MAC by the announcement, release when the node stops being the holder, and
// the stable choice of holders.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "core/service/LoadBalancerAnnouncer.hpp"
#include "tests/support/Command.hpp"
#include "tests/support/NetnsSweeper.hpp"
#include "tests/support/NetnsThread.hpp"
#include "tests/support/TestNetns.hpp"

namespace cnikit::service {
namespace {

using namespace std::chrono_literals;

using testing::mustRun;

std::string inNs(const testing::TestNetns& ns, const std::vector<std::string>& argv) {
  auto r = testing::runInNetns(ns.path(), argv);
  if (r.exitCode != 0) throw std::runtime_error(argv[0] + " in " + ns.name() + ": " + r.describe());
  return r.out;
}

// Polls `condition` until it holds or 3 s pass (neighbour updates arrive asynchronously).
template <class F>
bool eventually(F condition) {
  for (auto deadline = std::chrono::steady_clock::now() + 3s; std::chrono::steady_clock::now() < deadline;) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

ServiceTable tableWith(const std::vector<std::string>& loadBalancerIPs) {
  Service service;
  service.ns = "default";
  service.name = "web";
  service.loadBalancerIPs = loadBalancerIPs;
  ServicePort port;
  port.port = 80;
  port.backends.push_back({"10.244.1.5", 8080, "default/a", "node-a", false, true});
  service.ports.push_back(port);
  return {{service.key(), service}};
}

TEST(LoadBalancerHolder, IsStableAndSpreadAndMovesOnlyTheLeaversAddresses) {
  const std::set<std::string> three{"node-a", "node-b", "node-c"};
  std::map<std::string, int> counts;
  std::map<std::string, std::string> before;
  for (int i = 0; i < 300; ++i) {
    auto ip = "10.250.200." + std::to_string(i % 250) + (i >= 250 ? "1" : "");
    auto holder = LoadBalancerAnnouncer::holderOf(ip, three);
    EXPECT_EQ(holder, LoadBalancerAnnouncer::holderOf(ip, three)) << ip;
    before[ip] = holder;
    ++counts[holder];
  }
  for (const auto& node : three) EXPECT_GE(counts[node], 50) << node << " holds too few of 300 addresses";
  const std::set<std::string> two{"node-a", "node-c"};
  for (const auto& [ip, holder] : before) {
    auto after = LoadBalancerAnnouncer::holderOf(ip, two);
    if (holder != "node-b") {
      EXPECT_EQ(after, holder) << ip << " moved although its holder stayed";
    }
    EXPECT_NE(after, "node-b");
  }
  EXPECT_EQ(LoadBalancerAnnouncer::holderOf("10.0.0.1", {}), "");
}

class AnnouncerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { testing::sweepStaleNetns(); }
  void SetUp() override {
    node_ = std::make_unique<testing::TestNetns>("lbnode");
    peer_ = std::make_unique<testing::TestNetns>("lbpeer");
    mustRun({"ip", "-n", node_->name(), "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns",
             peer_->name()});
    inNs(*node_, {"ip", "addr", "add", "10.99.0.1/24", "dev", "eth0"});
    inNs(*node_, {"ip", "addr", "add", "fd00:99::1/64", "dev", "eth0", "nodad"});
    inNs(*peer_, {"ip", "addr", "add", "10.99.0.2/24", "dev", "eth0"});
    inNs(*peer_, {"ip", "addr", "add", "fd00:99::2/64", "dev", "eth0", "nodad"});
    inNs(*node_, {"ip", "link", "set", "eth0", "up"});
    inNs(*peer_, {"ip", "link", "set", "eth0", "up"});
    nodeThread_ = std::make_unique<testing::NetnsThread>(node_->path());
    // A fresh veth drops what it is given until the kernel activates its queue (up to ~1 s
    // later): wait until the segment carries packets both ways before announcing on it.
    EXPECT_TRUE(eventually([&] {
      return testing::runInNetns(node_->path(), {"ping", "-c", "1", "-W", "1", "fd00:99::2"}).exitCode == 0;
    }));
  }
  void TearDown() override {
    announcer_.reset();
    nodeThread_.reset();
    node_.reset();
    peer_.reset();
  }
  void makeAnnouncer() {
    announcer_ = nodeThread_->call([] {
      return std::make_unique<LoadBalancerAnnouncer>(
          LoadBalancerAnnouncerOptions{"node-a", "eth0", {"10.99.0.96/28", "fd00:99::100/124"}});
    });
  }
  std::string nodeAddresses() { return inNs(*node_, {"ip", "addr", "show", "dev", "eth0"}); }
  std::string peerNeighbour(const std::string& ip) { return inNs(*peer_, {"ip", "neigh", "show", ip, "dev", "eth0"}); }
  std::string nodeMac() {
    // Not /sys: runInNetns keeps the caller's sysfs, which shows the root namespace's links.
    auto out = inNs(*node_, {"ip", "-br", "link", "show", "eth0"});
    auto start = out.find_first_not_of(' ', out.find(' ', out.find("UP")));
    return out.substr(start, 17);
  }

  std::unique_ptr<testing::TestNetns> node_, peer_;
  std::unique_ptr<testing::NetnsThread> nodeThread_;
  std::unique_ptr<LoadBalancerAnnouncer> announcer_;
};

TEST_F(AnnouncerTest, HolderTakesTheAddressesAndTheSegmentLearnsItsMac) {
  // The peer cached another MAC for both addresses (their previous holder).
  inNs(*peer_, {"ip", "neigh", "add", "10.99.0.100", "lladdr", "02:00:00:00:00:99", "dev", "eth0", "nud", "stale"});
  inNs(*peer_, {"ip", "neigh", "add", "fd00:99::100", "lladdr", "02:00:00:00:00:99", "dev", "eth0", "nud", "stale"});
  makeAnnouncer();
  announcer_->setLiveNodes({"node-a"});
  announcer_->sync({}, tableWith({"10.99.0.100", "fd00:99::100"}));

  EXPECT_EQ(announcer_->heldAddresses(), (std::set<std::string>{"10.99.0.100", "fd00:99::100"}));
  auto addresses = nodeAddresses();
  EXPECT_NE(addresses.find("10.99.0.100/32"), std::string::npos) << addresses;
  EXPECT_NE(addresses.find("fd00:99::100/128"), std::string::npos) << addresses;
  const auto mac = nodeMac();
  EXPECT_TRUE(eventually([&] { return peerNeighbour("10.99.0.100").find(mac) != std::string::npos; }))
      << peerNeighbour("10.99.0.100") << " (want " << mac << ")";
  EXPECT_TRUE(eventually([&] { return peerNeighbour("fd00:99::100").find(mac) != std::string::npos; }))
      << peerNeighbour("fd00:99::100") << " (want " << mac << ")";
  // The kernel answers for it: the peer reaches the address.
  auto ping = testing::runInNetns(peer_->path(), {"ping", "-c", "1", "-W", "2", "10.99.0.100"});
  EXPECT_EQ(ping.exitCode, 0) << ping.describe();

  auto explained = announcer_->explain("default/web");
  ASSERT_TRUE(explained.is_object());
  EXPECT_EQ(explained["loadBalancerIPs"].size(), 2u);
  EXPECT_TRUE(announcer_->explain("default/other").is_null());
}

TEST_F(AnnouncerTest, ReleasesWhenAnotherNodeHoldsAndTakesOverLeftovers) {
  // An address of the pool an earlier run left, and one outside the pools that is not ours.
  inNs(*node_, {"ip", "addr", "add", "10.99.0.101/32", "dev", "eth0"});
  inNs(*node_, {"ip", "addr", "add", "10.99.5.5/32", "dev", "eth0"});
  makeAnnouncer();
  announcer_->setLiveNodes({"node-a"});
  announcer_->sync({}, tableWith({"10.99.0.100"}));
  auto addresses = nodeAddresses();
  EXPECT_NE(addresses.find("10.99.0.100/32"), std::string::npos) << addresses;
  EXPECT_EQ(addresses.find("10.99.0.101/32"), std::string::npos) << "leftover of the pool not removed: " << addresses;
  EXPECT_NE(addresses.find("10.99.5.5/32"), std::string::npos) << "an address outside the pools was removed";

  // This node dies in the others' view: another live node holds it now.
  announcer_->setLiveNodes({"node-b"});
  EXPECT_TRUE(announcer_->heldAddresses().empty());
  addresses = nodeAddresses();
  EXPECT_EQ(addresses.find("10.99.0.100/32"), std::string::npos) << addresses;

  // Back, then the Service goes: released again.
  announcer_->setLiveNodes({"node-a"});
  EXPECT_NE(nodeAddresses().find("10.99.0.100/32"), std::string::npos);
  announcer_->apply({}, {}, {"default/web"});
  EXPECT_EQ(nodeAddresses().find("10.99.0.100/32"), std::string::npos);
}

TEST_F(AnnouncerTest, ExternalTrafficPolicyLocalPrefersNodesWithABackend) {
  makeAnnouncer();
  auto table = tableWith({"10.99.0.100"});
  table.begin()->second.externalTrafficPolicy = TrafficPolicy::Local;
  // The only ready backend is on node-b: node-b holds it whatever the hash says.
  table.begin()->second.ports[0].backends[0].node = "node-b";
  announcer_->setLiveNodes({"node-a", "node-b"});
  announcer_->sync({}, table);
  EXPECT_TRUE(announcer_->heldAddresses().empty());
  // The backend moves to this node.
  table.begin()->second.ports[0].backends[0].node = "node-a";
  announcer_->apply({}, table, {"default/web"});
  EXPECT_EQ(announcer_->heldAddresses(), (std::set<std::string>{"10.99.0.100"}));
}

TEST_F(AnnouncerTest, NamesAMissingInterface) {
  try {
    nodeThread_->call([] { LoadBalancerAnnouncer announcer({"node-a", "nosuch0", {}}); });
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("nosuch0"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cnikit::service
