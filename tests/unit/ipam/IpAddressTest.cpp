#include <gtest/gtest.h>
#include <sys/socket.h>

#include <set>

#include "core/ipam/IpAddress.hpp"
#include "core/ipam/IpamKeys.hpp"
#include "core/ipam/Pool.hpp"

namespace cnikit::ipam {
namespace {

// The exception message of f, or "" when it does not throw E.
template <typename E, typename F>
std::string messageOf(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

TEST(IpAddress, ParsesAndPrintsIpv4) {
  auto ip = IpAddress::parse("10.1.2.3");
  EXPECT_TRUE(ip.isV4());
  EXPECT_EQ(ip.family(), AF_INET);
  EXPECT_EQ(ip.bits(), 32);
  EXPECT_EQ(ip.str(), "10.1.2.3");
  EXPECT_EQ(ip.bytes()[0], 10);
  EXPECT_EQ(ip.bytes()[3], 3);
  EXPECT_EQ(IpAddress::v4(0x0a010203), ip);
  EXPECT_EQ(IpAddress::parse("0.0.0.0").str(), "0.0.0.0");
  EXPECT_EQ(IpAddress::parse("255.255.255.255").str(), "255.255.255.255");
}

TEST(IpAddress, PrintsIpv6CanonicallyPerRfc5952) {
  EXPECT_EQ(IpAddress::parse("FD00:0:0:0:0:0:0:1").str(), "fd00::1");
  EXPECT_EQ(IpAddress::parse("2001:0db8:0000:0000:0001:0000:0000:0001").str(), "2001:db8::1:0:0:1");
  EXPECT_EQ(IpAddress::parse("2001:db8:0:1:1:1:1:1").str(), "2001:db8:0:1:1:1:1:1");  // one zero group stays
  EXPECT_EQ(IpAddress::parse("2001:db8:0:0:1:0:0:0").str(), "2001:db8:0:0:1::");      // longest run wins
  EXPECT_EQ(IpAddress::parse("::").str(), "::");
  EXPECT_EQ(IpAddress::parse("::1").str(), "::1");
  EXPECT_EQ(IpAddress::parse("::2:3").str(), "::2:3");
  EXPECT_EQ(IpAddress::parse("fd00::").str(), "fd00::");
  EXPECT_EQ(IpAddress::parse("::ffff:10.0.0.1").str(), "::ffff:10.0.0.1");
  auto ip = IpAddress::parse("fd00::1");
  EXPECT_FALSE(ip.isV4());
  EXPECT_EQ(ip.family(), AF_INET6);
  EXPECT_EQ(ip.bits(), 128);
}

TEST(IpAddress, BadTextIsRefusedNamingIt) {
  for (const char* bad : {"", "10.1.2", "10.1.2.256", "10.1.2.3.4", "hello", " 10.0.0.1", "10.0.0.1 ", "fe80::1%eth0",
                          "fd00::1::2", "10.0.0.01", "10.0.0.0/8", "gggg::1"}) {
    EXPECT_FALSE(IpAddress::tryParse(bad)) << bad;
    auto message = messageOf<std::invalid_argument>([&] { IpAddress::parse(bad); });
    EXPECT_NE(message.find(std::string("'") + bad + "'"), std::string::npos) << message;
  }
}

TEST(IpAddress, OffsetStepsAndWrapsWithinTheFamily) {
  EXPECT_EQ(IpAddress::parse("10.0.0.255").offset(1).str(), "10.0.1.0");
  EXPECT_EQ(IpAddress::parse("10.0.1.0").offset(-1).str(), "10.0.0.255");
  EXPECT_EQ(IpAddress::parse("0.0.0.0").offset(-1).str(), "255.255.255.255");
  EXPECT_EQ(IpAddress::parse("255.255.255.255").offset(2).str(), "0.0.0.1");
  EXPECT_EQ(IpAddress::parse("fd00::ffff").offset(1).str(), "fd00::1:0");
  EXPECT_EQ(IpAddress::parse("fd00::1:0").offset(-1).str(), "fd00::ffff");
  EXPECT_EQ(IpAddress::parse("::").offset(-1).str(), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_EQ(IpAddress::parse("fd00::").offset(int64_t{1} << 40).str(), "fd00::100:0:0");
}

TEST(IpAddress, Orders) {
  EXPECT_LT(IpAddress::parse("10.0.0.1"), IpAddress::parse("10.0.0.2"));
  EXPECT_LT(IpAddress::parse("9.255.255.255"), IpAddress::parse("10.0.0.0"));
  EXPECT_EQ(IpAddress::parse("fd00::1"), IpAddress::parse("fd00:0::1"));
  EXPECT_NE(IpAddress::parse("::ffff:10.0.0.1"), IpAddress::parse("10.0.0.1"));
}

TEST(Cidr, ParsesAndPrints) {
  auto c = Cidr::parse("10.0.0.0/8");
  EXPECT_EQ(c.prefixLength(), 8);
  EXPECT_EQ(c.str(), "10.0.0.0/8");
  EXPECT_TRUE(c.isV4());
  EXPECT_EQ(Cidr::parse("FD00:0::/64").str(), "fd00::/64");
  EXPECT_EQ(Cidr::parse("0.0.0.0/0").size(), uint64_t{1} << 32);
  EXPECT_EQ(Cidr::parse("10.0.0.5/32").size(), 1u);
}

TEST(Cidr, BadTextIsRefusedNamingItAndTheReason) {
  for (const char* bad :
       {"10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8x", "fd00::/129", "x/8", "10.0.0/8", "/8"}) {
    EXPECT_FALSE(Cidr::tryParse(bad)) << bad;
    auto message = messageOf<std::invalid_argument>([&] { Cidr::parse(bad); });
    EXPECT_NE(message.find(std::string("'") + bad + "'"), std::string::npos) << message;
  }
  auto message = messageOf<std::invalid_argument>([] { Cidr::parse("10.0.0.1/8"); });
  EXPECT_NE(message.find("host bits"), std::string::npos) << message;
  EXPECT_NE(message.find("10.0.0.0/8"), std::string::npos) << message;  // the suggestion
}

TEST(Cidr, HostBitsKeptWhenAllowed) {
  auto c = Cidr::parse("10.1.2.3/16", true);
  EXPECT_EQ(c.address().str(), "10.1.2.3");
  EXPECT_EQ(c.network().str(), "10.1.0.0");
  EXPECT_EQ(c.broadcast().str(), "10.1.255.255");
  EXPECT_EQ(c.str(), "10.1.2.3/16");
  auto v6 = Cidr::parse("fd00::1:2/112", true);
  EXPECT_EQ(v6.network().str(), "fd00::1:0");
  EXPECT_EQ(v6.broadcast().str(), "fd00::1:ffff");
}

TEST(Cidr, ContainsAndOverlaps) {
  auto c = Cidr::parse("10.1.0.0/16");
  EXPECT_TRUE(c.contains(IpAddress::parse("10.1.255.255")));
  EXPECT_TRUE(c.contains(IpAddress::parse("10.1.0.0")));
  EXPECT_FALSE(c.contains(IpAddress::parse("10.2.0.0")));
  EXPECT_FALSE(c.contains(IpAddress::parse("::ffff:10.1.0.1")));  // other family
  EXPECT_TRUE(c.contains(Cidr::parse("10.1.4.0/24")));
  EXPECT_TRUE(c.contains(c));
  EXPECT_FALSE(c.contains(Cidr::parse("10.0.0.0/8")));
  EXPECT_TRUE(c.overlaps(Cidr::parse("10.0.0.0/8")));
  EXPECT_TRUE(Cidr::parse("10.0.0.0/8").overlaps(c));
  EXPECT_FALSE(c.overlaps(Cidr::parse("10.2.0.0/16")));
  EXPECT_FALSE(c.overlaps(Cidr::parse("fd00::/8")));
  auto v6 = Cidr::parse("fd00:10::/48");
  EXPECT_TRUE(v6.contains(IpAddress::parse("fd00:10:0:ffff::1")));
  EXPECT_FALSE(v6.contains(IpAddress::parse("fd00:11::1")));
}

TEST(Cidr, Subnetting) {
  auto c = Cidr::parse("10.244.0.0/16");
  EXPECT_EQ(c.subnetCount(24), 256u);
  EXPECT_EQ(c.subnet(24, 0).str(), "10.244.0.0/24");
  EXPECT_EQ(c.subnet(24, 5).str(), "10.244.5.0/24");
  EXPECT_EQ(c.subnet(24, 255).str(), "10.244.255.0/24");
  EXPECT_EQ(c.subnet(26, 5).str(), "10.244.1.64/26");
  EXPECT_EQ(c.subnet(16, 0), c);
  EXPECT_THROW(c.subnet(24, 256), std::out_of_range);
  EXPECT_THROW(c.subnet(8, 0), std::out_of_range);
  EXPECT_THROW(c.subnet(33, 0), std::out_of_range);
  EXPECT_EQ(c.subnetCount(8), 0u);
  auto v6 = Cidr::parse("fd00:10::/48");
  EXPECT_EQ(v6.subnet(64, 1).str(), "fd00:10:0:1::/64");
  EXPECT_EQ(v6.subnet(64, 0xffff).str(), "fd00:10:0:ffff::/64");
  EXPECT_EQ(v6.subnetCount(64), 65536u);
  EXPECT_EQ(Cidr::parse("::/0").subnetCount(64), uint64_t{1} << 62);  // saturated
  EXPECT_EQ(Cidr::parse("fd00::/64").size(), uint64_t{1} << 62);
  EXPECT_EQ(Cidr::parse("fd00::/120").size(), 256u);
  EXPECT_EQ(Cidr::parse("::/0").subnet(1, 1).str(), "8000::/1");
}

TEST(IpamKeys, AddressKeysUseAFixedWidthIpv6Form) {
  EXPECT_EQ(keys::ipText(IpAddress::parse("10.1.2.3")), "10.1.2.3");
  EXPECT_EQ(keys::ipText(IpAddress::parse("fd00:10::a")), "fd00:0010:0000:0000:0000:0000:0000:000a");
  EXPECT_EQ(IpAddress::parse(keys::ipText(IpAddress::parse("fd00:10::a"))).str(), "fd00:10::a");
  EXPECT_EQ(keys::address("p", IpAddress::parse("10.1.2.3")), "/cnikit/v1/ipam/addresses/p/10.1.2.3");
  EXPECT_EQ(keys::subnet("p", Cidr::parse("10.1.2.0/24")), "/cnikit/v1/ipam/subnets/p/10.1.2.0_24");
  EXPECT_EQ(keys::parseCidrText("fd00:10::_64")->str(), "fd00:10::/64");
  EXPECT_FALSE(keys::parseCidrText("10.0.0.0"));
  EXPECT_EQ(keys::handle("n1", "abc", "eth0"), "/cnikit/v1/ipam/handles/n1/abc/eth0");
}

// Every address of subnet has a key under one of the scan prefixes; aligned subnets get
// exactly one prefix.
void expectScanCovers(const std::string& text, size_t expectedPrefixes) {
  auto subnet = Cidr::parse(text);
  auto prefixes = keys::addressScanPrefixes("p", subnet);
  EXPECT_EQ(prefixes.size(), expectedPrefixes) << text;
  uint64_t n = std::min<uint64_t>(subnet.size(), 4096);
  uint64_t step = subnet.size() / n;
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
    auto outside = keys::address("p", subnet.broadcast().offset(1));
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

TEST(Pool, ValidationNamesPoolAndField) {
  PoolConfig pool;
  pool.name = "blue";
  pool.cidrs = {Cidr::parse("10.0.0.0/16")};
  EXPECT_NO_THROW(validatePool(pool));

  auto expectBad = [](PoolConfig p, const std::string& field) {
    auto message = messageOf<std::invalid_argument>([&] { validatePool(p); });
    EXPECT_NE(message.find(field), std::string::npos) << "'" << message << "' should name " << field;
    if (!p.name.empty()) {
      EXPECT_NE(message.find(p.name), std::string::npos) << message;
    }
  };
  auto p = pool;
  p.cidrs.clear();
  expectBad(p, "cidrs");
  p = pool;
  p.cidrs.push_back(Cidr::parse("10.1.0.0/16"));
  expectBad(p, "cidrs");
  p = pool;
  p.nodeSubnetPrefixV4 = 8;
  expectBad(p, "nodeSubnetPrefixV4");
  p = pool;
  p.nodeSubnetPrefixV4 = 31;
  expectBad(p, "nodeSubnetPrefixV4");
  p = pool;
  p.cidrs.push_back(Cidr::parse("fd00::/48"));
  p.nodeSubnetPrefixV6 = 127;
  expectBad(p, "nodeSubnetPrefixV6");
  p = pool;
  p.exclude = {Cidr::parse("192.168.0.1/32")};
  expectBad(p, "exclude");
  p = pool;
  p.name = "a/b";
  expectBad(p, "name");
  p = pool;
  p.cidrs = {Cidr::parse("10.0.0.1/16", true)};
  expectBad(p, "host bits");
  p = pool;
  p.name = "";
  EXPECT_THROW(validatePool(p), std::invalid_argument);
  // Dual-stack and a single-node pool (node subnet = the CIDR) are fine.
  p = pool;
  p.cidrs.push_back(Cidr::parse("fd00::/48"));
  EXPECT_NO_THROW(validatePool(p));
  p = pool;
  p.nodeSubnetPrefixV4 = 16;
  EXPECT_NO_THROW(validatePool(p));
}

}  // namespace
}  // namespace cnikit::ipam
