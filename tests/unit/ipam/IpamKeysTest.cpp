// Where IPAM keeps its records: key texts and the scan prefixes of a subnet.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/ipam/IpamKeys.hpp"
#include "core/ipam/SubnetMath.hpp"

namespace cnikit::ipam {
namespace {

using toolkit::IpAddress;
using toolkit::IpPrefix;

IpAddress ip(const std::string& text) { return IpAddress::parse(text).value(); }
// As pools take them: host bits refused.
IpPrefix cidr(const std::string& text) {
  return IpPrefix::parse(text, {.hostBits = toolkit::HostBits::Refuse}).value();
}

TEST(IpamKeys, AddressKeysUseAFixedWidthIpv6Form) {
  EXPECT_EQ(keys::ipText(ip("10.1.2.3")), "10.1.2.3");
  EXPECT_EQ(keys::ipText(ip("fd00:10::a")), "fd00:0010:0000:0000:0000:0000:0000:000a");
  EXPECT_EQ(ip(keys::ipText(ip("fd00:10::a"))).str(), "fd00:10::a");
  EXPECT_EQ(keys::address("p", ip("10.1.2.3")), "/cnikit/v1/ipam/addresses/p/10.1.2.3");
  EXPECT_EQ(keys::subnet("p", cidr("10.1.2.0/24")), "/cnikit/v1/ipam/subnets/p/10.1.2.0_24");
  EXPECT_EQ(keys::parseCidrText("fd00:10::_64")->str(), "fd00:10::/64");
  EXPECT_FALSE(keys::parseCidrText("10.0.0.0"));
  EXPECT_EQ(keys::handle("n1", "abc", "eth0"), "/cnikit/v1/ipam/handles/n1/abc/eth0");
}

// Every address of subnet has a key under one of the scan prefixes; aligned subnets get
// exactly one prefix.
void expectScanCovers(const std::string& text, size_t expectedPrefixes) {
  auto subnet = cidr(text);
  auto prefixes = keys::addressScanPrefixes("p", subnet);
  EXPECT_EQ(prefixes.size(), expectedPrefixes) << text;
  uint64_t n = std::min<uint64_t>(addressCount(subnet), 4096);
  uint64_t step = addressCount(subnet) / n;
  for (uint64_t i = 0; i < n; ++i) {
    auto ip = subnet.network().offset(static_cast<int64_t>(i * step));
    auto key = keys::address("p", ip);
    bool covered = false;
    for (const auto& p : prefixes) covered = covered || key.starts_with(p);
    ASSERT_TRUE(covered) << key << " not covered for " << text;
  }
  // The neighbours outside are not covered when the prefixes are exact.
  if (expectedPrefixes >= 1 && (subnet.isV4() ? subnet.prefixLength() % 8 == 0 && subnet.prefixLength() <= 24
                                              : subnet.prefixLength() % 4 == 0)) {
    auto outside = keys::address("p", subnet.last().offset(1));
    for (const auto& p : prefixes) EXPECT_FALSE(outside.starts_with(p)) << outside << " under " << p;
  }
}

TEST(IpamKeys, ScanPrefixesCoverTheSubnet) {
  expectScanCovers("10.244.1.0/24", 1);
  expectScanCovers("10.244.1.64/26", 1);
  expectScanCovers("10.244.2.0/23", 2);
  expectScanCovers("10.244.16.0/20", 16);
  expectScanCovers("10.244.0.0/16", 1);
  expectScanCovers("10.0.0.0/29", 1);
  expectScanCovers("fd00:10:0:5::/64", 1);
  expectScanCovers("fd00:0:0:1::/64", 1);
  expectScanCovers("fd00::100/120", 1);
  expectScanCovers("fd00::400/118", 1);
}

}  // namespace
}  // namespace cnikit::ipam
