// Toolkit against the real kernel, inside namespaces the test makes (root). The test's own
// thread enters a test namespace only inside a guard (NetlinkSocket::openIn, *SysctlIn), so
// everything is made in the test namespaces; guard behaviour is checked on worker threads.
#include <cnikit/toolkit/Address.hpp>
#include <cnikit/toolkit/Bridge.hpp>
#include <cnikit/toolkit/Link.hpp>
#include <cnikit/toolkit/LinkReaper.hpp>
#include <cnikit/toolkit/NetlinkSocket.hpp>
#include <cnikit/toolkit/NetnsGuard.hpp>
#include <cnikit/toolkit/Route.hpp>
#include <cnikit/toolkit/Sysctl.hpp>
#include <cnikit/toolkit/Veth.hpp>

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/Command.hpp"
#include "tests/support/LinkNames.hpp"
#include "tests/support/NetnsSweeper.hpp"
#include "tests/support/NetnsThread.hpp"
#include "tests/support/Ping.hpp"
#include "tests/support/TestNetns.hpp"
#include "tests/support/UniqueName.hpp"

namespace ct = cnikit::toolkit;
namespace cs = cnikit::testing;

namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

class ToolkitNetns : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cs::sweepStaleNetns(); }

  void SetUp() override {
    nsA_ = std::make_unique<ct::Netns>(ct::Netns::open(a_.path()).value());
    nsB_ = std::make_unique<ct::Netns>(ct::Netns::open(b_.path()).value());
    sockA_ = std::make_unique<ct::NetlinkSocket>(ct::NetlinkSocket::openIn(*nsA_).value());
    sockB_ = std::make_unique<ct::NetlinkSocket>(ct::NetlinkSocket::openIn(*nsB_).value());
  }

  ct::VethSpec veth(const std::string& name, const std::string& peer, const ct::Netns* peerNs = nullptr) {
    ct::VethSpec s;
    s.name = name;
    s.peerName = peer;
    s.peerNetns = peerNs;
    return s;
  }

  cs::TestNetns a_{"tk-a"};
  cs::TestNetns b_{"tk-b"};
  std::unique_ptr<ct::Netns> nsA_, nsB_;
  std::unique_ptr<ct::NetlinkSocket> sockA_, sockB_;
};

TEST(ToolkitNetnsBasics, OpenMissingPathIsEnoentNamingIt) {
  std::string path = "/run/netns/" + cs::uniqueName("absent");
  auto ns = ct::Netns::open(path);
  ASSERT_FALSE(ns.ok());
  EXPECT_EQ(ns.error().code, ENOENT);
  EXPECT_NE(ns.error().message.find(path), std::string::npos) << ns.error().message;
}

TEST(ToolkitNetnsBasics, OpenRejectsWhatIsNotANetworkNamespace) {
  auto file = ct::Netns::open("/proc/self/status");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, EINVAL);
  auto uts = ct::Netns::open("/proc/self/ns/uts");
  ASSERT_FALSE(uts.ok());
  EXPECT_EQ(uts.error().code, EINVAL);
  EXPECT_NE(uts.error().message.find("not a network namespace"), std::string::npos);
}

TEST_F(ToolkitNetns, GuardEntersOnItsThreadOnlyAndRestores) {
  auto testThreadNs = ct::Netns::current().value().id();
  std::thread worker([&] {
    auto before = ct::Netns::current().value().id();
    {
      auto guard = ct::NetnsGuard::enter(a_.path());
      ASSERT_TRUE(guard.ok()) << guard.error().message;
      EXPECT_EQ(ct::Netns::current().value().id(), nsA_->id());
      // The guard's namespace is per thread: the test's thread did not move.
      EXPECT_NE(testThreadNs, nsA_->id());
    }
    EXPECT_EQ(ct::Netns::current().value().id(), before);
  });
  worker.join();
  EXPECT_EQ(ct::Netns::current().value().id(), testThreadNs);
}

TEST_F(ToolkitNetns, GuardOnMissingNamespaceFailsWithoutMoving) {
  auto before = ct::Netns::current().value().id();
  auto guard = ct::NetnsGuard::enter("/run/netns/" + cs::uniqueName("absent"));
  EXPECT_FALSE(guard.ok());
  EXPECT_EQ(ct::Netns::current().value().id(), before);
}

TEST_F(ToolkitNetns, InNetnsRunsTheFunctionInside) {
  std::thread worker([&] {
    auto id = ct::inNetns(*nsB_, [] { return ct::Netns::current(); });
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_EQ(id.value().id(), nsB_->id());
    EXPECT_NE(ct::Netns::current().value().id(), nsB_->id());
  });
  worker.join();
}

TEST_F(ToolkitNetns, VethPeerIsCreatedInsideItsNamespace) {
  auto spec = veth("vtk0", "eth0", nsB_.get());
  spec.mtu = 1400;
  spec.peerMac = ct::MacAddress::parse("02:aa:bb:cc:dd:01").value();
  spec.up = true;
  auto created = ct::createVeth(*sockA_, spec);
  ASSERT_TRUE(created.ok()) << created.error().message;

  EXPECT_TRUE(has(cs::linkNames(a_.path()), "vtk0"));
  EXPECT_FALSE(has(cs::linkNames(a_.path()), "eth0"));
  EXPECT_TRUE(has(cs::linkNames(b_.path()), "eth0"));
  auto host = ct::getLink(*sockA_, "vtk0").value();
  auto peer = ct::getLink(*sockB_, "eth0").value();
  EXPECT_EQ(host.kind, "veth");
  EXPECT_TRUE(host.up);
  EXPECT_EQ(host.mtu, 1400u);
  EXPECT_EQ(peer.mtu, 1400u);
  EXPECT_EQ(peer.mac.str(), "02:aa:bb:cc:dd:01");
  EXPECT_EQ(host.link, peer.index);
  // The kernel's echo of the new link names both ends: no lookup needed after creating it.
  EXPECT_EQ(created.value().name, "vtk0");
  EXPECT_EQ(created.value().index, host.index);
  EXPECT_EQ(created.value().mac, host.mac);
  EXPECT_EQ(created.value().link, peer.index);
  // And the echo and the ack were both read: the socket answers the next request, not an old one.
  EXPECT_EQ(ct::getLink(*sockA_, host.index).value().name, "vtk0");

  // Deleting one end deletes the pair, across namespaces.
  EXPECT_TRUE(ct::deleteLink(*sockA_, "vtk0").value());
  EXPECT_FALSE(has(cs::linkNames(b_.path()), "eth0"));
  EXPECT_FALSE(ct::deleteLink(*sockA_, "vtk0").value());
  EXPECT_FALSE(ct::findLink(*sockA_, "vtk0").value().has_value());
}

TEST_F(ToolkitNetns, VethWithTakenNameIsEexistAndLeavesNothing) {
  ASSERT_TRUE(ct::createVeth(*sockA_, veth("vtk1", "eth0", nsB_.get())).ok());
  auto again = ct::createVeth(*sockA_, veth("vtk2", "eth0", nsB_.get()));  // eth0 taken in B
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, EEXIST);
  EXPECT_NE(again.error().message.find("vtk2"), std::string::npos) << again.error().message;
  EXPECT_FALSE(has(cs::linkNames(a_.path()), "vtk2"));
}

TEST_F(ToolkitNetns, ChangeLinkRenamesSetsMtuMacUpAndMoves) {
  ASSERT_TRUE(ct::createVeth(*sockA_, veth("vtk3", "vtk3p")).ok());
  int index = ct::getLink(*sockA_, "vtk3p").value().index;
  ct::LinkChanges c;
  c.name = "renamed0";
  c.mtu = 1300;
  c.mac = ct::MacAddress::parse("02:00:00:00:33:01").value();
  c.up = true;
  auto changed = ct::changeLink(*sockA_, index, c);
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  auto l = ct::getLink(*sockA_, index).value();
  EXPECT_EQ(l.name, "renamed0");
  EXPECT_EQ(l.mtu, 1300u);
  EXPECT_EQ(l.mac.str(), "02:00:00:00:33:01");
  EXPECT_TRUE(l.up);

  ASSERT_TRUE(ct::moveLinkToNetns(*sockA_, index, *nsB_).ok());
  EXPECT_FALSE(has(cs::linkNames(a_.path()), "renamed0"));
  EXPECT_TRUE(has(cs::linkNames(b_.path()), "renamed0"));
}

TEST_F(ToolkitNetns, ErrorsNameTheObject) {
  auto up = ct::setLinkUp(*sockA_, 99999);
  ASSERT_FALSE(up.ok());
  EXPECT_NE(up.error().message.find("link #99999"), std::string::npos) << up.error().message;
  auto get = ct::getLink(*sockA_, "nosuch0");
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.error().code, ENODEV);
  EXPECT_NE(get.error().message.find("'nosuch0'"), std::string::npos);
  auto badName = ct::findLink(*sockA_, "this-name-is-too-long");
  ASSERT_FALSE(badName.ok());
  EXPECT_EQ(badName.error().code, EINVAL);
}

TEST_F(ToolkitNetns, EnsureBridgeIsIdempotentAndPinsItsMac) {
  auto br = ct::ensureBridge(*sockA_, "brtk0");
  ASSERT_TRUE(br.ok()) << br.error().message;
  EXPECT_EQ(br.value().kind, "bridge");
  EXPECT_TRUE(br.value().up);
  auto mac = br.value().mac;
  // A port with a MAC lower than the bridge's would become the bridge's MAC if it were not pinned.
  auto spec = veth("vtk4", "vtk4p");
  spec.mac = ct::MacAddress::parse("02:00:00:00:00:01").value();
  spec.master = br.value().index;
  spec.up = true;
  ASSERT_TRUE(ct::createVeth(*sockA_, spec).ok());
  EXPECT_EQ(ct::getLink(*sockA_, "vtk4").value().master, br.value().index);
  auto again = ct::ensureBridge(*sockA_, "brtk0");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value().index, br.value().index);
  EXPECT_EQ(again.value().mac, mac);
}

TEST_F(ToolkitNetns, NewBridgeHasItsLinkLocalAddressWithoutDad) {
  auto br = ct::ensureBridge(*sockA_, "brtk3");
  ASSERT_TRUE(br.ok()) << br.error().message;
  // Right away: one link-local address, not tentative (it sources the bridge's neighbour
  // solicitations for forwarded IPv6), the EUI-64 of the bridge's MAC.
  auto shown = cs::runInNetns(a_.path(), {"ip", "-6", "-o", "addr", "show", "dev", "brtk3", "scope", "link"});
  ASSERT_EQ(shown.exitCode, 0) << shown.describe();
  EXPECT_EQ(std::count(shown.out.begin(), shown.out.end(), '\n'), 1) << shown.out;
  EXPECT_NE(shown.out.find("fe80::"), std::string::npos) << shown.out;
  EXPECT_EQ(shown.out.find("tentative"), std::string::npos) << shown.out;
  const auto& m = br.value().mac.bytes;
  char tail[16];
  std::snprintf(tail, sizeof tail, "fe%02x:%02x%02x/64", m[3], m[4], m[5]);
  EXPECT_NE(shown.out.find(tail), std::string::npos) << shown.out << " lacks " << tail;
}

TEST_F(ToolkitNetns, EnsureBridgeRefusesALinkThatIsNotABridge) {
  ASSERT_TRUE(ct::createVeth(*sockA_, veth("notbr0", "notbr0p")).ok());
  auto br = ct::ensureBridge(*sockA_, "notbr0");
  ASSERT_FALSE(br.ok());
  EXPECT_EQ(br.error().code, EEXIST);
  EXPECT_NE(br.error().message.find("not a bridge"), std::string::npos) << br.error().message;
}

TEST_F(ToolkitNetns, HairpinOnBridgePort) {
  auto br = ct::ensureBridge(*sockA_, "brtk1").value();
  auto spec = veth("vtk5", "vtk5p");
  spec.master = br.index;
  ASSERT_TRUE(ct::createVeth(*sockA_, spec).ok());
  int port = ct::getLink(*sockA_, "vtk5").value().index;
  EXPECT_FALSE(ct::bridgePortHairpin(*sockA_, port).value());
  auto on = ct::setBridgePortHairpin(*sockA_, port, true);
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_TRUE(ct::bridgePortHairpin(*sockA_, port).value());
  ASSERT_TRUE(ct::setBridgePortHairpin(*sockA_, port, false).ok());
  EXPECT_FALSE(ct::bridgePortHairpin(*sockA_, port).value());
}

TEST_F(ToolkitNetns, ReaperRetiresAtOnceAndDeletesInOneBatch) {
  auto br = ct::ensureBridge(*sockA_, "brtk2").value();
  for (const char* name : {"vtk7", "vtk8", "vtk9"}) {
    auto spec = veth(name, std::string(name) + "p", nsB_.get());
    spec.master = br.index;
    spec.up = true;
    ASSERT_TRUE(ct::createVeth(*sockA_, spec).ok()) << name;
  }
  // A long batch window, so the three retirements are seen before the batch runs.
  auto reaper = ct::LinkReaper::create(ct::Netns::open(a_.path()).value(), std::chrono::seconds(30));
  ASSERT_TRUE(reaper.ok()) << reaper.error().message;
  for (const char* name : {"vtk7", "vtk8", "vtk9"}) {
    auto retired = reaper.value()->retire(name);
    ASSERT_TRUE(retired.ok()) << retired.error().message;
    EXPECT_TRUE(retired.value()) << name;
    // Out of service at once: down and off the bridge, waiting in the group.
    auto link = ct::getLink(*sockA_, name).value();
    EXPECT_FALSE(link.up) << name;
    EXPECT_EQ(link.master, 0) << name;
    EXPECT_TRUE(reaper.value()->isRetired(name).value()) << name;
  }
  EXPECT_FALSE(reaper.value()->retire("nosuch1").value());
  EXPECT_FALSE(reaper.value()->isRetired("brtk2").value());

  ASSERT_TRUE(reaper.value()->flush().ok());
  for (const char* name : {"vtk7", "vtk8", "vtk9"}) {
    EXPECT_FALSE(has(cs::linkNames(a_.path()), name)) << name;
    EXPECT_FALSE(has(cs::linkNames(b_.path()), std::string(name) + "p")) << "peer of " << name;
  }
  EXPECT_TRUE(has(cs::linkNames(a_.path()), "brtk2"));
  EXPECT_TRUE(reaper.value()->flush().ok());  // nothing retired: still fine
}

TEST_F(ToolkitNetns, ReaperBatchRunsByItselfAndStartupClearsLeftovers) {
  {
    auto reaper = ct::LinkReaper::create(ct::Netns::open(a_.path()).value());
    ASSERT_TRUE(reaper.ok()) << reaper.error().message;
    ASSERT_TRUE(ct::createVeth(*sockA_, veth("vtk10", "vtk10p")).ok());
    ASSERT_TRUE(reaper.value()->retire("vtk10").value());
    EXPECT_TRUE(cs::waitUntilRetiredLinksGone(a_.path()));
    EXPECT_FALSE(has(cs::linkNames(a_.path()), "vtk10"));
  }
  // A link left in the group (a process that died before its batch): a new reaper deletes it.
  ASSERT_TRUE(ct::createVeth(*sockA_, veth("vtk11", "vtk11p")).ok());
  auto moved =
      cs::runInNetns(a_.path(), {"ip", "link", "set", "vtk11", "group", std::to_string(ct::kRetiredLinkGroup)});
  ASSERT_EQ(moved.exitCode, 0) << moved.describe();
  auto reaper = ct::LinkReaper::create(ct::Netns::open(a_.path()).value());
  ASSERT_TRUE(reaper.ok()) << reaper.error().message;
  EXPECT_FALSE(has(cs::linkNames(a_.path()), "vtk11"));
  EXPECT_FALSE(has(cs::linkNames(a_.path()), "vtk11p"));
}

TEST_F(ToolkitNetns, AddressesBothFamiliesWithoutDad) {
  ASSERT_TRUE(ct::createVeth(*sockA_, veth("vtk6", "vtk6p")).ok());
  int idx = ct::getLink(*sockA_, "vtk6").value().index;
  ASSERT_TRUE(ct::setLinkUp(*sockA_, ct::getLink(*sockA_, "vtk6p").value().index).ok());
  auto v4 = ct::IpPrefix::parse("10.1.0.1/24").value();
  auto v6 = ct::IpPrefix::parse("fd00:1::1/64").value();
  ASSERT_TRUE(ct::addAddress(*sockA_, idx, v4).ok());
  auto add6 = ct::addAddress(*sockA_, idx, v6);
  ASSERT_TRUE(add6.ok()) << add6.error().message;
  ASSERT_TRUE(ct::setLinkUp(*sockA_, idx).ok());

  auto list = ct::listAddresses(*sockA_, idx).value();
  bool found4 = false, found6 = false;
  for (const auto& a : list) {
    if (a.prefix == v4) found4 = true;
    if (a.prefix == v6) {
      found6 = true;
      EXPECT_TRUE(a.flags & IFA_F_NODAD);
      EXPECT_FALSE(a.flags & IFA_F_TENTATIVE) << "DAD would delay the address";
    }
  }
  EXPECT_TRUE(found4);
  EXPECT_TRUE(found6);
  EXPECT_EQ(ct::listAddresses(*sockA_, idx, AF_INET).value().size(), 1u);

  EXPECT_TRUE(ct::addAddress(*sockA_, idx, v4).ok());  // existOk
  auto strict = ct::addAddress(*sockA_, idx, v4, ct::AddressOptions{.noDad = true, .existOk = false});
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.error().code, EEXIST);
  EXPECT_NE(strict.error().message.find("10.1.0.1/24"), std::string::npos);

  EXPECT_TRUE(ct::deleteAddress(*sockA_, idx, v4).value());
  EXPECT_FALSE(ct::deleteAddress(*sockA_, idx, v4).value());
}

TEST_F(ToolkitNetns, DefaultAndOnlinkRoutes) {
  ASSERT_TRUE(ct::createVeth(*sockA_, veth("vtk7", "vtk7p")).ok());
  int idx = ct::getLink(*sockA_, "vtk7").value().index;
  ASSERT_TRUE(ct::setLinkUp(*sockA_, ct::getLink(*sockA_, "vtk7p").value().index).ok());
  ASSERT_TRUE(ct::addAddress(*sockA_, idx, ct::IpPrefix::parse("10.2.0.2/24").value()).ok());
  ASSERT_TRUE(ct::addAddress(*sockA_, idx, ct::IpPrefix::parse("fd00:2::2/64").value()).ok());
  ASSERT_TRUE(ct::setLinkUp(*sockA_, idx).ok());

  ct::Route def;
  def.family = AF_INET;
  def.gateway = ct::IpAddress::parse("10.2.0.1").value();
  def.ifindex = idx;
  auto added = ct::addRoute(*sockA_, def);
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_TRUE(ct::addRoute(*sockA_, def).ok());  // existOk
  EXPECT_FALSE(ct::addRoute(*sockA_, def, ct::RouteOptions{.existOk = false}).ok());
  auto routes = ct::listRoutes(*sockA_, AF_INET).value();
  auto isDefault = [&](const ct::Route& r) { return !r.destination && r.gateway == def.gateway && r.ifindex == idx; };
  EXPECT_EQ(std::count_if(routes.begin(), routes.end(), isDefault), 1);

  ct::Route def6;
  def6.family = AF_INET6;
  def6.gateway = ct::IpAddress::parse("fd00:2::1").value();
  def6.ifindex = idx;
  auto added6 = ct::addRoute(*sockA_, def6);
  ASSERT_TRUE(added6.ok()) << added6.error().message;
  auto routes6 = ct::listRoutes(*sockA_, AF_INET6).value();
  EXPECT_TRUE(std::any_of(routes6.begin(), routes6.end(),
                          [&](const ct::Route& r) { return !r.destination && r.gateway == def6.gateway; }));

  // A gateway outside every connected prefix needs onlink.
  ct::Route far;
  far.family = AF_INET;
  far.destination = ct::IpPrefix::parse("10.9.0.0/16").value();
  far.gateway = ct::IpAddress::parse("192.168.77.1").value();
  far.ifindex = idx;
  EXPECT_FALSE(ct::addRoute(*sockA_, far).ok());
  far.onlink = true;
  auto onlink = ct::addRoute(*sockA_, far);
  ASSERT_TRUE(onlink.ok()) << onlink.error().message;
  routes = ct::listRoutes(*sockA_, AF_INET).value();
  EXPECT_TRUE(std::any_of(routes.begin(), routes.end(), [&](const ct::Route& r) {
    return r.destination && r.destination->str() == "10.9.0.0/16" && r.onlink;
  }));

  EXPECT_TRUE(ct::deleteRoute(*sockA_, def).value());
  EXPECT_FALSE(ct::deleteRoute(*sockA_, def).value());
  routes = ct::listRoutes(*sockA_, AF_INET).value();
  EXPECT_EQ(std::count_if(routes.begin(), routes.end(), isDefault), 0);
}

TEST_F(ToolkitNetns, SysctlIsPerNamespaceOfTheCallingThread) {
  ASSERT_EQ(ct::readSysctlIn(*nsA_, "net.ipv4.ip_forward").value(), "0");
  auto written = ct::writeSysctlIn(*nsA_, "net.ipv4.ip_forward", "1");
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(ct::readSysctlIn(*nsA_, "net.ipv4.ip_forward").value(), "1");
  EXPECT_EQ(ct::readSysctlIn(*nsB_, "net.ipv4.ip_forward").value(), "0");
  // Seen from outside too.
  auto seen = cs::runInNetns(a_.path(), {"cat", "/proc/sys/net/ipv4/ip_forward"});
  EXPECT_EQ(seen.out, "1\n") << seen.describe();
  // Plain readSysctl on threads parked in each namespace (the path is resolved per thread).
  cs::NetnsThread inB(b_.path());
  EXPECT_EQ(inB.call([] { return ct::readSysctl("net/ipv4/ip_forward").value(); }), "0");
  cs::NetnsThread inA(a_.path());
  EXPECT_EQ(inA.call([] { return ct::readSysctl("net/ipv4/ip_forward").value(); }), "1");
  EXPECT_FALSE(ct::writeSysctl("../etc/passwd", "x").ok());
}

// ---- the test support library itself ------------------------------------------------------

TEST_F(ToolkitNetns, SupportPingAndCommandsWorkBetweenTestNamespaces) {
  ASSERT_TRUE(ct::createVeth(*sockA_, veth("vtk8", "vtk8p", nsB_.get())).ok());
  int a = ct::getLink(*sockA_, "vtk8").value().index;
  int b = ct::getLink(*sockB_, "vtk8p").value().index;
  ASSERT_TRUE(ct::addAddress(*sockA_, a, ct::IpPrefix::parse("10.3.0.1/24").value()).ok());
  ASSERT_TRUE(ct::addAddress(*sockB_, b, ct::IpPrefix::parse("10.3.0.2/24").value()).ok());
  ASSERT_TRUE(ct::addAddress(*sockA_, a, ct::IpPrefix::parse("fd00:3::1/64").value()).ok());
  ASSERT_TRUE(ct::addAddress(*sockB_, b, ct::IpPrefix::parse("fd00:3::2/64").value()).ok());
  ASSERT_TRUE(ct::setLinkUp(*sockA_, a).ok());
  ASSERT_TRUE(ct::setLinkUp(*sockB_, b).ok());
  EXPECT_TRUE(cs::ping(a_.path(), "10.3.0.2"));
  EXPECT_TRUE(cs::ping(b_.path(), "fd00:3::1"));
  EXPECT_FALSE(cs::ping(a_.path(), "10.3.0.99", std::chrono::milliseconds(300)));
  EXPECT_THROW(cs::ping(a_.path(), "not-an-ip"), std::runtime_error);

  auto r = cs::runInNetns(b_.path(), {"ip", "-o", "addr", "show", "dev", "vtk8p"});
  EXPECT_EQ(r.exitCode, 0) << r.describe();
  EXPECT_NE(r.out.find("10.3.0.2/24"), std::string::npos) << r.out;
  auto failing = cs::run({"sh", "-c", "echo oops >&2; exit 3"});
  EXPECT_EQ(failing.exitCode, 3);
  EXPECT_EQ(failing.err, "oops\n");
  auto missing = cs::run({"/nonexistent/binary"});
  EXPECT_EQ(missing.exitCode, 127);
  auto slow = cs::run({"sleep", "5"}, std::chrono::milliseconds(100));
  EXPECT_TRUE(slow.timedOut);
}

TEST(ToolkitSupport, SweeperRemovesNamespacesOfDeadProcessesOnly) {
  pid_t child = ::fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);
  std::string stale = "cnkt-" + std::to_string(child) + "-stale";
  ASSERT_EQ(cs::run({"ip", "netns", "add", stale}).exitCode, 0);
  cs::TestNetns mine("alive");
  auto removed = cs::sweepStaleNetns();
  bool gone = !std::filesystem::exists("/run/netns/" + stale);
  if (!gone) cs::run({"ip", "netns", "del", stale});  // do not leak it when the check fails
  EXPECT_TRUE(gone);
  EXPECT_TRUE(has(removed, stale));
  EXPECT_TRUE(std::filesystem::exists(mine.path()));
  EXPECT_FALSE(has(removed, mine.name()));
}

}  // namespace
