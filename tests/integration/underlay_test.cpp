// Underlay detection in test-made node namespaces (root): an IPv6-only node finds the
// interface of its IPv6 default route, and a node without a default route never takes the
// backend's own bridge or VXLAN device.
#include <gtest/gtest.h>

#include <stdexcept>

#include "core/agent/Underlay.hpp"
#include "tests/support/Command.hpp"
#include "tests/support/NetnsSweeper.hpp"
#include "tests/support/NetnsThread.hpp"
#include "tests/support/TestNetns.hpp"

namespace cnikit::agent {
namespace {

namespace cs = cnikit::testing;

class UnderlayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cs::sweepStaleNetns(); }

  void ip(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"ip"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = cs::runInNetns(node_.path(), argv);
    ASSERT_EQ(r.exitCode, 0) << r.describe();
  }

  plugin::Underlay detect(const std::string& name = "") {
    cs::NetnsThread inNode(node_.path());
    return inNode.call([&] { return detectUnderlay(name); });
  }

  // The backend's devices, made first so that they come first in the link list.
  void backendDevices() {
    ip({"link", "add", "cni0", "type", "bridge"});
    ip({"addr", "add", "10.244.1.1/24", "dev", "cni0"});
    ip({"addr", "add", "fd00:244:1::1/64", "dev", "cni0", "nodad"});
    ip({"link", "set", "cni0", "up"});
    ip({"link", "add", "flannel.1", "type", "vxlan", "id", "1", "dstport", "8472", "nolearning"});
    ip({"addr", "add", "10.244.1.0/32", "dev", "flannel.1"});
    ip({"link", "set", "flannel.1", "up"});
  }

  cs::TestNetns node_{"underlay"};
  cs::TestNetns peer_{"underlay-peer"};
};

TEST_F(UnderlayTest, Ipv6OnlyNodeFindsTheInterfaceOfItsIpv6DefaultRoute) {
  backendDevices();
  ip({"link", "add", "eth0", "type", "veth", "peer", "name", "up0", "netns", peer_.name()});
  ip({"addr", "add", "fd00:250::10/64", "dev", "eth0", "nodad"});
  ip({"link", "set", "eth0", "up"});
  ip({"-6", "route", "add", "default", "via", "fd00:250::1", "dev", "eth0", "onlink"});
  auto underlay = detect();
  EXPECT_EQ(underlay.interface, "eth0");
  EXPECT_EQ(underlay.ipv6, "fd00:250::10");
  EXPECT_EQ(underlay.ipv6PrefixLength, 64u);  // CrossSubnet tells same-subnet peers by it
  EXPECT_EQ(underlay.ipv4, "");
  EXPECT_EQ(underlay.ipv4PrefixLength, 0u);
  EXPECT_EQ(underlay.mtu, 1500u);
}

TEST_F(UnderlayTest, WithoutDefaultRouteTheBackendsBridgeIsNeverTaken) {
  backendDevices();
  // The node's real uplink, a bridge of its own (made after the backend's devices).
  ip({"link", "add", "br0", "type", "bridge"});
  ip({"addr", "add", "192.168.50.10/24", "dev", "br0"});
  ip({"link", "set", "br0", "up"});
  auto underlay = detect();
  EXPECT_EQ(underlay.interface, "br0");
  EXPECT_EQ(underlay.ipv4, "192.168.50.10");
  EXPECT_EQ(underlay.ipv4PrefixLength, 24u);
}

TEST_F(UnderlayTest, WithOnlyBackendDevicesDetectionFailsSayingWhy) {
  backendDevices();
  // A pod's host end (a veth on cni0) does not qualify either.
  ip({"link", "add", "vethab12", "type", "veth", "peer", "name", "eth0", "netns", peer_.name()});
  ip({"link", "set", "vethab12", "master", "cni0", "up"});
  try {
    detect();
    FAIL() << "detected an underlay on a node with only the backend's devices";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no underlay interface"), std::string::npos) << e.what();
  }
}

TEST_F(UnderlayTest, ADefaultRouteThroughTheBackendsBridgeIsNotTheUnderlay) {
  backendDevices();
  ip({"route", "add", "default", "via", "10.244.1.254", "dev", "cni0"});
  ip({"link", "add", "br0", "type", "bridge"});
  ip({"addr", "add", "192.168.50.10/24", "dev", "br0"});
  ip({"link", "set", "br0", "up"});
  EXPECT_EQ(detect().interface, "br0");
}

TEST_F(UnderlayTest, ANamedInterfaceIsTakenAsGivenAndAMissingOneIsNamed) {
  backendDevices();
  EXPECT_EQ(detect("cni0").ipv4, "10.244.1.1");
  try {
    detect("nosuch0");
    FAIL() << "a missing interface was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("'nosuch0'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cnikit::agent
