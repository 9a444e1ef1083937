// Toolkit overlay helpers (VXLAN devices, neighbour and FDB entries, protocol-matched route
// deletion) against the real kernel in test-made namespaces (root). Entries are also read
// back with iproute2, so the toolkit's own listing is not the only witness.
#include <cnikit/toolkit/Address.hpp>
#include <cnikit/toolkit/Fdb.hpp>
#include <cnikit/toolkit/Link.hpp>
#include <cnikit/toolkit/Neighbour.hpp>
#include <cnikit/toolkit/NetlinkSocket.hpp>
#include <cnikit/toolkit/Route.hpp>
#include <cnikit/toolkit/Veth.hpp>
#include <cnikit/toolkit/Vxlan.hpp>

#include <arpa/inet.h>
#include <linux/neighbour.h>

#include <algorithm>
#include <memory>

#include <gtest/gtest.h>

#include "tests/support/Command.hpp"
#include "tests/support/NetnsSweeper.hpp"
#include "tests/support/TestNetns.hpp"

namespace ct = cnikit::toolkit;
namespace cs = cnikit::testing;

namespace {

ct::IpAddress ip(const std::string& s) { return ct::IpAddress::parse(s).value(); }
ct::IpPrefix prefix(const std::string& s) { return ct::IpPrefix::parse(s).value(); }
ct::MacAddress mac(const std::string& s) { return ct::MacAddress::parse(s).value(); }

class ToolkitOverlay : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cs::sweepStaleNetns(); }

  void SetUp() override {
    ns_ = std::make_unique<ct::Netns>(ct::Netns::open(node_.path()).value());
    sock_ = std::make_unique<ct::NetlinkSocket>(ct::NetlinkSocket::openIn(*ns_).value());
    // An underlay: one end of a veth pair with an IPv4 and an IPv6 address.
    ct::VethSpec v;
    v.name = "under0";
    v.peerName = "under0p";
    v.up = true;
    ASSERT_TRUE(ct::createVeth(*sock_, v).ok());
    under_ = ct::getLink(*sock_, "under0").value().index;
    ASSERT_TRUE(ct::addAddress(*sock_, under_, prefix("192.168.50.1/24")).ok());
    ASSERT_TRUE(ct::addAddress(*sock_, under_, prefix("fd00:50::1/64")).ok());
  }

  ct::VxlanSpec spec() {
    ct::VxlanSpec s;
    s.name = "vx7";
    s.vni = 7;
    s.port = 8472;
    s.local = ip("192.168.50.1");
    s.underlayIndex = under_;
    s.mtu = 1450;
    s.mac = mac("0e:00:00:00:00:07");
    return s;
  }

  std::string ip2(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"ip"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = cs::runInNetns(node_.path(), argv);
    EXPECT_EQ(r.exitCode, 0) << r.describe();
    return r.out;
  }
  std::string bridgeCmd(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"bridge"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = cs::runInNetns(node_.path(), argv);
    EXPECT_EQ(r.exitCode, 0) << r.describe();
    return r.out;
  }

  cs::TestNetns node_{"tko-node"};
  std::unique_ptr<ct::Netns> ns_;
  std::unique_ptr<ct::NetlinkSocket> sock_;
  int under_ = 0;
};

TEST_F(ToolkitOverlay, VxlanIsCreatedWithItsParametersAndEnsureIsIdempotent) {
  auto made = ct::ensureVxlan(*sock_, spec());
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_TRUE(made.value().created);
  EXPECT_FALSE(made.value().recreated);
  const ct::VxlanInfo& info = made.value().info;
  EXPECT_EQ(info.vni, 7u);
  EXPECT_EQ(info.port, 8472);
  EXPECT_EQ(info.local, ip("192.168.50.1"));
  EXPECT_EQ(info.underlayIndex, under_);
  EXPECT_FALSE(info.learning);
  EXPECT_EQ(info.link.mtu, 1450u);
  EXPECT_EQ(info.link.mac, mac("0e:00:00:00:00:07"));
  EXPECT_TRUE(info.link.up);
  EXPECT_EQ(info.link.kind, "vxlan");

  std::string details = ip2({"-d", "link", "show", "vx7"});
  EXPECT_NE(details.find("vxlan id 7 "), std::string::npos) << details;
  EXPECT_NE(details.find("local 192.168.50.1 dev under0"), std::string::npos) << details;
  EXPECT_NE(details.find("dstport 8472"), std::string::npos) << details;
  EXPECT_NE(details.find("nolearning"), std::string::npos) << details;

  auto again = ct::ensureVxlan(*sock_, spec());
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(again.value().created);
  EXPECT_FALSE(again.value().recreated);
  EXPECT_EQ(again.value().info.link.index, info.link.index) << "the same device, not a new one";

  // MTU and MAC change in place; another VNI means a new device.
  auto s = spec();
  s.mtu = 1400;
  s.mac = mac("0e:00:00:00:00:08");
  auto changed = ct::ensureVxlan(*sock_, s);
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  EXPECT_FALSE(changed.value().recreated);
  EXPECT_EQ(changed.value().info.link.index, info.link.index);
  EXPECT_EQ(changed.value().info.link.mtu, 1400u);
  EXPECT_EQ(changed.value().info.link.mac, mac("0e:00:00:00:00:08"));
  s.vni = 8;
  s.port = 4789;
  auto renumbered = ct::ensureVxlan(*sock_, s);
  ASSERT_TRUE(renumbered.ok()) << renumbered.error().message;
  EXPECT_TRUE(renumbered.value().recreated);
  EXPECT_EQ(renumbered.value().info.vni, 8u);
  EXPECT_EQ(renumbered.value().info.port, 4789);
  details = ip2({"-d", "link", "show", "vx7"});
  EXPECT_NE(details.find("vxlan id 8 "), std::string::npos) << details;
}

TEST_F(ToolkitOverlay, VxlanOverIpv6AndRefusalOfAForeignLink) {
  auto s = spec();
  s.local = ip("fd00:50::1");
  auto made = ct::ensureVxlan(*sock_, s);
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(made.value().info.local, ip("fd00:50::1"));
  std::string details = ip2({"-d", "link", "show", "vx7"});
  EXPECT_NE(details.find("local fd00:50::1"), std::string::npos) << details;

  auto taken = ct::ensureVxlan(*sock_, [&] {
    auto t = spec();
    t.name = "under0";
    return t;
  }());
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, EEXIST);
  EXPECT_NE(taken.error().message.find("'under0'"), std::string::npos) << taken.error().message;
  EXPECT_NE(taken.error().message.find("veth"), std::string::npos) << taken.error().message;
  auto bad = spec();
  bad.vni = 0;
  bad.name = "vx9";
  EXPECT_EQ(ct::createVxlan(*sock_, bad).error().code, EINVAL);
}

TEST_F(ToolkitOverlay, PermanentNeighboursBothFamiliesReplaceAndDelete) {
  auto vx = ct::ensureVxlan(*sock_, spec()).value().info.link.index;
  ct::Neighbour n4{vx, ip("10.244.2.1"), mac("0e:00:00:00:02:01")};
  ct::Neighbour n6{vx, ip("fd00:244:2::1"), mac("0e:00:00:00:02:01")};
  ASSERT_TRUE(ct::setNeighbour(*sock_, n4).ok());
  ASSERT_TRUE(ct::setNeighbour(*sock_, n6).ok());
  ASSERT_TRUE(ct::setNeighbour(*sock_, n4).ok()) << "idempotent";

  std::string shown = ip2({"neigh", "show", "dev", "vx7"});
  EXPECT_NE(shown.find("10.244.2.1 lladdr 0e:00:00:00:02:01 PERMANENT"), std::string::npos) << shown;
  EXPECT_NE(shown.find("fd00:244:2::1 lladdr 0e:00:00:00:02:01 PERMANENT"), std::string::npos) << shown;

  // The kernel keeps its own NOARP entries (multicast groups) on the device: count ours.
  auto permanent = [&](int family) {
    std::vector<ct::Neighbour> out;
    auto all = ct::listNeighbours(*sock_, vx, family).value();  // not in the for: value()&& is a reference
    for (const auto& n : all)
      if (n.state == NUD_PERMANENT) out.push_back(n);
    return out;
  };
  auto listed = permanent(AF_UNSPEC);
  EXPECT_EQ(listed.size(), 2u);
  for (const auto& n : listed) EXPECT_EQ(n.mac, mac("0e:00:00:00:02:01"));
  EXPECT_EQ(permanent(AF_INET6).size(), 1u);
  EXPECT_EQ(permanent(AF_INET6).at(0).address, ip("fd00:244:2::1"));

  n4.mac = mac("0e:00:00:00:02:02");  // a new VTEP MAC replaces the old one
  ASSERT_TRUE(ct::setNeighbour(*sock_, n4).ok());
  shown = ip2({"neigh", "show", "dev", "vx7", "to", "10.244.2.1"});
  EXPECT_NE(shown.find("0e:00:00:00:02:02"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("0e:00:00:00:02:01"), std::string::npos) << shown;

  EXPECT_TRUE(ct::deleteNeighbour(*sock_, vx, ip("10.244.2.1")).value());
  EXPECT_FALSE(ct::deleteNeighbour(*sock_, vx, ip("10.244.2.1")).value());
  EXPECT_TRUE(ct::deleteNeighbour(*sock_, vx, ip("fd00:244:2::1")).value());
  EXPECT_TRUE(permanent(AF_UNSPEC).empty());
}

TEST_F(ToolkitOverlay, FdbEntriesAddReplaceListAndDeleteExactly) {
  auto vx = ct::ensureVxlan(*sock_, spec()).value().info.link.index;
  ct::FdbEntry a{vx, mac("0e:00:00:00:02:01"), ip("192.168.50.2")};
  ct::FdbEntry b{vx, mac("0e:00:00:00:03:01"), ip("192.168.50.3")};
  auto added = ct::addFdbEntry(*sock_, a);
  ASSERT_TRUE(added.ok()) << added.error().message;
  ASSERT_TRUE(ct::addFdbEntry(*sock_, a).ok()) << "an identical entry is success";
  ASSERT_TRUE(ct::addFdbEntry(*sock_, b).ok());

  std::string shown = bridgeCmd({"fdb", "show", "dev", "vx7"});
  EXPECT_NE(shown.find("0e:00:00:00:02:01 dst 192.168.50.2 self permanent"), std::string::npos) << shown;
  EXPECT_NE(shown.find("0e:00:00:00:03:01 dst 192.168.50.3 self permanent"), std::string::npos) << shown;

  auto listed = ct::listFdbEntries(*sock_, vx).value();
  ASSERT_EQ(listed.size(), 2u) << shown;
  for (const auto& want : {a, b})
    EXPECT_TRUE(std::find(listed.begin(), listed.end(), want) != listed.end()) << want.str();
  // Entries of other devices are not listed for this one.
  auto everyDevice = ct::listFdbEntries(*sock_).value();
  for (const auto& e : everyDevice) {
    if (e.ifindex != vx) {
      EXPECT_FALSE(e.destination) << e.str();
    }
  }

  // A unicast MAC moves to a new VTEP with replace; append would leave it where it was.
  ct::FdbEntry moved{vx, a.mac, ip("192.168.50.22")};
  ASSERT_TRUE(ct::addFdbEntry(*sock_, moved).ok());
  EXPECT_EQ(bridgeCmd({"fdb", "show", "dev", "vx7"}).find("192.168.50.22"), std::string::npos)
      << "append added a second destination to a unicast MAC";
  ASSERT_TRUE(ct::addFdbEntry(*sock_, moved, ct::FdbAddOptions{.replace = true}).ok());
  shown = bridgeCmd({"fdb", "show", "dev", "vx7"});
  EXPECT_NE(shown.find("0e:00:00:00:02:01 dst 192.168.50.22 self permanent"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("dst 192.168.50.2 "), std::string::npos) << shown;

  // The all-zero MAC (flooding) keeps every destination appended to it.
  ct::FdbEntry flood1{vx, ct::MacAddress{}, ip("192.168.50.2")};
  ct::FdbEntry flood2{vx, ct::MacAddress{}, ip("192.168.50.3")};
  ASSERT_TRUE(ct::addFdbEntry(*sock_, flood1).ok());
  ASSERT_TRUE(ct::addFdbEntry(*sock_, flood2).ok());
  EXPECT_EQ(ct::listFdbEntries(*sock_, vx).value().size(), 4u) << bridgeCmd({"fdb", "show", "dev", "vx7"});

  EXPECT_TRUE(ct::deleteFdbEntry(*sock_, flood1).value());
  ASSERT_TRUE(ct::deleteFdbEntry(*sock_, a).ok()) << "a's old destination is gone already";
  EXPECT_NE(bridgeCmd({"fdb", "show", "dev", "vx7"}).find("0e:00:00:00:02:01 dst 192.168.50.22"), std::string::npos)
      << "deleting (MAC, old destination) must not take the entry with the new one";
  EXPECT_TRUE(ct::deleteFdbEntry(*sock_, moved).value());
  EXPECT_FALSE(ct::deleteFdbEntry(*sock_, moved).value()) << "no entry for the MAC any more";
  shown = bridgeCmd({"fdb", "show", "dev", "vx7"});
  EXPECT_EQ(shown.find("0e:00:00:00:02:01"), std::string::npos) << shown;
  EXPECT_NE(shown.find("00:00:00:00:00:00 dst 192.168.50.3"), std::string::npos) << "only the one deleted: " << shown;
  EXPECT_NE(shown.find("0e:00:00:00:03:01 dst 192.168.50.3"), std::string::npos) << shown;

  // IPv6 destinations work the same.
  auto s6 = spec();
  s6.local = ip("fd00:50::1");
  s6.name = "vx6";
  s6.vni = 6;
  auto vx6 = ct::ensureVxlan(*sock_, s6).value().info.link.index;
  ct::FdbEntry six{vx6, mac("0e:00:00:00:04:01"), ip("fd00:50::4")};
  ASSERT_TRUE(ct::addFdbEntry(*sock_, six).ok());
  auto listed6 = ct::listFdbEntries(*sock_, vx6).value();
  EXPECT_TRUE(std::find(listed6.begin(), listed6.end(), six) != listed6.end());
  EXPECT_TRUE(ct::deleteFdbEntry(*sock_, six).value());
}

TEST_F(ToolkitOverlay, OnlinkRouteThroughVxlanAndProtocolMatchedDelete) {
  auto vx = ct::ensureVxlan(*sock_, spec()).value().info.link.index;
  ct::Route r;
  r.family = AF_INET;
  r.destination = prefix("10.244.2.0/24");
  r.gateway = ip("10.244.2.1");
  r.ifindex = vx;
  r.onlink = true;
  r.protocol = 202;
  ASSERT_TRUE(ct::addRoute(*sock_, r, ct::RouteOptions{.replace = true}).ok());
  ASSERT_TRUE(ct::addRoute(*sock_, r, ct::RouteOptions{.replace = true}).ok()) << "replace is idempotent";
  std::string shown = ip2({"route", "show", "10.244.2.0/24"});
  EXPECT_NE(shown.find("via 10.244.2.1 dev vx7 proto 202 onlink"), std::string::npos) << shown;
  auto routes = ct::listRoutes(*sock_, AF_INET).value();
  auto mine = std::count_if(routes.begin(), routes.end(), [&](const ct::Route& x) {
    return x.destination == r.destination && x.protocol == 202 && x.onlink && x.gateway == r.gateway;
  });
  EXPECT_EQ(mine, 1);

  // A route of another protocol for the same destination is not ours to delete.
  ct::Route other = r;
  other.protocol = 4;
  auto refused = ct::deleteRoute(*sock_, other, ct::RouteDeleteOptions{.matchProtocol = true});
  ASSERT_TRUE(refused.ok()) << refused.error().message;
  EXPECT_FALSE(refused.value());
  EXPECT_NE(ip2({"route", "show", "10.244.2.0/24"}).find("proto 202"), std::string::npos);
  EXPECT_TRUE(ct::deleteRoute(*sock_, r, ct::RouteDeleteOptions{.matchProtocol = true}).value());
  EXPECT_EQ(ip2({"route", "show", "10.244.2.0/24"}), "");

  ct::Route r6;
  r6.family = AF_INET6;
  r6.destination = prefix("fd00:244:2::/64");
  r6.gateway = ip("fd00:244:2::1");
  r6.ifindex = vx;
  r6.onlink = true;
  r6.protocol = 202;
  ASSERT_TRUE(ct::addRoute(*sock_, r6, ct::RouteOptions{.replace = true}).ok());
  shown = ip2({"-6", "route", "show", "fd00:244:2::/64"});
  EXPECT_NE(shown.find("via fd00:244:2::1 dev vx7 proto 202"), std::string::npos) << shown;
  EXPECT_FALSE(ct::deleteRoute(
                   *sock_,
                   [&] {
                     auto o = r6;
                     o.protocol = 4;
                     return o;
                   }(),
                   ct::RouteDeleteOptions{.matchProtocol = true})
                   .value());
  EXPECT_TRUE(ct::deleteRoute(*sock_, r6, ct::RouteDeleteOptions{.matchProtocol = true}).value());
}

}  // namespace
