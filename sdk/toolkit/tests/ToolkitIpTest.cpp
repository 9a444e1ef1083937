// The one IP address and prefix type: parsing (both flavours), canonical text, ordering,
// containment, host-bit modes and offsets. No privileges needed.
#include <cnikit/toolkit/IpAddress.hpp>
#include <cnikit/toolkit/IpPrefix.hpp>

#include <cerrno>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace ct = cnikit::toolkit;

namespace {

ct::IpAddress ip(const std::string& text) { return ct::IpAddress::parse(text).value(); }
ct::IpPrefix prefix(const std::string& text, ct::HostBits hostBits = ct::HostBits::Keep) {
  return ct::IpPrefix::parse(text, {.hostBits = hostBits}).value();
}

// Both flavours refuse text, and the message names it.
void expectAddressRefused(const std::string& bad, const std::string& reason = "") {
  EXPECT_FALSE(ct::IpAddress::tryParse(bad)) << bad;
  auto parsed = ct::IpAddress::parse(bad);
  ASSERT_FALSE(parsed.ok()) << bad;
  EXPECT_EQ(parsed.error().code, EINVAL);
  EXPECT_NE(parsed.error().message.find("'" + bad + "'"), std::string::npos) << parsed.error().message;
  EXPECT_NE(parsed.error().message.find(reason), std::string::npos) << parsed.error().message;
  EXPECT_THROW((void)ct::IpAddress::parse(bad).value(), ct::ToolkitError);
}

void expectPrefixRefused(const std::string& bad, const std::string& reason, ct::PrefixParseOptions options = {}) {
  EXPECT_FALSE(ct::IpPrefix::tryParse(bad, options)) << bad;
  auto parsed = ct::IpPrefix::parse(bad, options);
  ASSERT_FALSE(parsed.ok()) << bad;
  EXPECT_EQ(parsed.error().code, EINVAL);
  EXPECT_NE(parsed.error().message.find("'" + bad + "'"), std::string::npos) << parsed.error().message;
  EXPECT_NE(parsed.error().message.find(reason), std::string::npos) << parsed.error().message;
}

}  // namespace

TEST(IpAddress, ParsesAndPrintsIpv4) {
  auto a = ip("10.1.2.3");
  EXPECT_TRUE(a.isV4());
  EXPECT_FALSE(a.isV6());
  EXPECT_EQ(a.family(), AF_INET);
  EXPECT_EQ(a.bits(), 32);
  EXPECT_EQ(a.size(), 4u);
  EXPECT_EQ(a.str(), "10.1.2.3");
  EXPECT_EQ(a.bytes()[0], 10);
  EXPECT_EQ(a.bytes()[3], 3);
  EXPECT_EQ(a.bytes()[4], 0);
  EXPECT_EQ(ct::IpAddress::v4(0x0a010203), a);
  EXPECT_EQ(a.toInteger(), 0x0a010203u);
  EXPECT_EQ(ip("0.0.0.0").str(), "0.0.0.0");
  EXPECT_TRUE(ip("0.0.0.0").isUnspecified());
  EXPECT_EQ(ip("255.255.255.255").str(), "255.255.255.255");
  EXPECT_EQ(ct::IpAddress(), ip("0.0.0.0"));  // the default is a valid address
}

TEST(IpAddress, PrintsIpv6CanonicallyPerRfc5952) {
  EXPECT_EQ(ip("FD00:0:0:0:0:0:0:1").str(), "fd00::1");
  EXPECT_EQ(ip("2001:0db8:0000:0000:0001:0000:0000:0001").str(), "2001:db8::1:0:0:1");  // first of equal runs
  EXPECT_EQ(ip("2001:db8:0:1:1:1:1:1").str(), "2001:db8:0:1:1:1:1:1");                  // one zero group stays
  EXPECT_EQ(ip("2001:db8:0:0:1:0:0:0").str(), "2001:db8:0:0:1::");                      // longest run wins
  EXPECT_EQ(ip("::").str(), "::");
  EXPECT_EQ(ip("::1").str(), "::1");
  EXPECT_EQ(ip("::2:3").str(), "::2:3");  // glibc's inet_ntop writes "::0.2.0.3"
  EXPECT_EQ(ip("::1.2.3.4").str(), "::102:304");
  EXPECT_EQ(ip("fd00::").str(), "fd00::");
  auto a = ip("fd00::1");
  EXPECT_TRUE(a.isV6());
  EXPECT_EQ(a.family(), AF_INET6);
  EXPECT_EQ(a.bits(), 128);
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a.bytes()[0], 0xfd);
  EXPECT_EQ(a.bytes()[15], 1);
}

TEST(IpAddress, V4MappedStaysIpv6) {
  auto mapped = ip("::ffff:10.0.0.1");
  EXPECT_TRUE(mapped.isV6());
  EXPECT_TRUE(mapped.isV4Mapped());
  EXPECT_EQ(mapped.str(), "::ffff:10.0.0.1");
  EXPECT_EQ(ip("::FFFF:a00:1"), mapped);
  EXPECT_NE(mapped, ip("10.0.0.1"));
  EXPECT_FALSE(ip("10.0.0.1").isV4Mapped());
  EXPECT_FALSE(ip("::fffe:10.0.0.1").isV4Mapped());
  EXPECT_FALSE(prefix("10.0.0.0/8").contains(mapped));  // another family
}

TEST(IpAddress, BadTextIsRefusedNamingIt) {
  for (const char* bad :
       {"", "10.1.2", "10.1.2.256", "10.1.2.3.4", "hello", " 10.0.0.1", "10.0.0.1 ", "fd00::1::2", "10.0.0.0/8",
        "gggg::1", "1.2.3.4.", "0x0a.0.0.1", "10.0.0.-1", "fd00:::1", "1:2:3:4:5:6:7:8:9", "::ffff:010.0.0.1"}) {
    expectAddressRefused(bad);
  }
  expectAddressRefused("fe80::1%eth0", "zone ids are not allowed");
  expectAddressRefused("fe80::1%2", "zone ids are not allowed");
  // Octal to inet_aton, decimal to others: ambiguous, refused as Go's net.ParseIP does.
  expectAddressRefused("010.0.0.1", "leading zeros are not allowed");
  expectAddressRefused("10.0.0.01", "leading zeros are not allowed");
  // An embedded NUL must not end the text early.
  EXPECT_FALSE(ct::IpAddress::tryParse(std::string("10.0.0.1\0junk", 13)));
  // A huge text is named by its start.
  std::string huge(100000, '1');
  auto parsed = ct::IpAddress::parse(huge);
  ASSERT_FALSE(parsed.ok());
  EXPECT_LT(parsed.error().message.size(), 200u);
  EXPECT_NE(parsed.error().message.find(huge.substr(0, 50)), std::string::npos);
}

TEST(IpAddress, FromBytesAndUnspecified) {
  const uint8_t v4[4] = {192, 0, 2, 7};
  EXPECT_EQ(ct::IpAddress::fromBytes(AF_INET, v4).str(), "192.0.2.7");
  const uint8_t v6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
  EXPECT_EQ(ct::IpAddress::fromBytes(AF_INET6, v6).str(), "fd00::9");
  EXPECT_THROW(ct::IpAddress::fromBytes(AF_UNIX, v6), std::invalid_argument);
  EXPECT_EQ(ct::IpAddress::unspecified(AF_INET6).str(), "::");
  EXPECT_TRUE(ct::IpAddress::unspecified(AF_INET6).isUnspecified());
  EXPECT_FALSE(ip("::1").isUnspecified());
  EXPECT_EQ(ct::IpAddress::fromInteger(AF_INET6, ip("fd00::5").toInteger()), ip("fd00::5"));
}

TEST(IpAddress, OffsetStepsAndWrapsWithinTheFamily) {
  EXPECT_EQ(ip("10.0.0.255").offset(1).str(), "10.0.1.0");
  EXPECT_EQ(ip("10.0.1.0").offset(-1).str(), "10.0.0.255");
  EXPECT_EQ(ip("10.0.0.5").offset(0), ip("10.0.0.5"));
  EXPECT_EQ(ip("0.0.0.0").offset(-1).str(), "255.255.255.255");
  EXPECT_EQ(ip("255.255.255.255").offset(2).str(), "0.0.0.1");
  EXPECT_EQ(ip("10.0.0.0").offset(int64_t{1} << 32), ip("10.0.0.0"));  // a full turn of IPv4
  EXPECT_EQ(ip("fd00::ffff").offset(1).str(), "fd00::1:0");
  EXPECT_EQ(ip("fd00::1:0").offset(-1).str(), "fd00::ffff");
  EXPECT_EQ(ip("::").offset(-1).str(), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_EQ(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").offset(1).str(), "::");
  EXPECT_EQ(ip("fd00::").offset(int64_t{1} << 40).str(), "fd00::100:0:0");
  EXPECT_EQ(ip("fd00::1:0:0:0").offset(-1).str(), "fd00::ffff:ffff:ffff");  // borrow across groups
}

TEST(IpAddress, OrdersByFamilyThenValueAndServesAsAKey) {
  EXPECT_LT(ip("10.0.0.1"), ip("10.0.0.2"));
  EXPECT_LT(ip("9.255.255.255"), ip("10.0.0.0"));
  EXPECT_LT(ip("255.255.255.255"), ip("::"));  // every IPv4 before every IPv6
  EXPECT_LT(ip("fd00::1"), ip("fd00::1:0"));
  EXPECT_EQ(ip("fd00::1"), ip("fd00:0::1"));
  std::map<ct::IpAddress, int> byAddress{{ip("fd00::1"), 3}, {ip("10.0.0.2"), 2}, {ip("10.0.0.1"), 1}};
  std::string order;
  for (const auto& [a, n] : byAddress) order += std::to_string(n);
  EXPECT_EQ(order, "123");
  EXPECT_EQ(byAddress.at(ip("FD00::0001")), 3);
}

TEST(IpPrefix, ParsesAndPrints) {
  auto p = prefix("10.244.1.5/24");
  EXPECT_EQ(p.family(), AF_INET);
  EXPECT_TRUE(p.isV4());
  EXPECT_EQ(p.prefixLength(), 24);
  EXPECT_EQ(p.address().str(), "10.244.1.5");
  EXPECT_EQ(p.str(), "10.244.1.5/24");
  EXPECT_EQ(p.network().str(), "10.244.1.0");
  EXPECT_EQ(p.last().str(), "10.244.1.255");
  EXPECT_EQ(p.masked().str(), "10.244.1.0/24");
  EXPECT_EQ(prefix("FD00:0::/64").str(), "fd00::/64");
  EXPECT_EQ(prefix("fd00:10::5/61").masked().str(), "fd00:10::/61");
  EXPECT_EQ(prefix("fd00:10:0:f::1/61").masked().str(), "fd00:10:0:8::/61");
  EXPECT_EQ(prefix("fd00::1:2/112").network().str(), "fd00::1:0");
  EXPECT_EQ(prefix("fd00::1:2/112").last().str(), "fd00::1:ffff");
  EXPECT_EQ(prefix("0.0.0.0/0").last().str(), "255.255.255.255");
  EXPECT_EQ(prefix("::/0").last().str(), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_EQ(prefix("10.0.0.5/32").network(), prefix("10.0.0.5/32").last());
  EXPECT_EQ(prefix("10.0.0.0/024").prefixLength(), 24);  // Go's ParseCIDR reads it too
  EXPECT_EQ(ct::IpPrefix::host(ip("fd00::5")).str(), "fd00::5/128");
  EXPECT_EQ(ct::IpPrefix().str(), "0.0.0.0/0");
  EXPECT_THROW(ct::IpPrefix(ip("10.0.0.0"), 33), std::invalid_argument);
  EXPECT_THROW(ct::IpPrefix(ip("10.0.0.0"), -1), std::invalid_argument);
  EXPECT_NO_THROW(ct::IpPrefix(ip("fd00::"), 128));
}

TEST(IpPrefix, BadTextIsRefusedNamingItAndTheReason) {
  for (const char* bad : {"10.0.0.0", "", "fd00::1"}) expectPrefixRefused(bad, "not an address/prefix-length");
  for (const char* bad : {"10.0.0.0/", "10.0.0.0/33", "10.0.0.1/-1", "10.0.0.0/8x", "fd00::/129", "10.0.0.0/ 8",
                          "10.0.0.0/+8", "10.0.0.0/0008", "10.0.0.0/8/8"})
    expectPrefixRefused(bad, "bad prefix length");
  expectPrefixRefused("10.0.0.0/33", "(0-32)");
  expectPrefixRefused("fd00::/129", "(0-128)");
  for (const char* bad : {"x/8", "10.0.0/8", "/8", "010.0.0.0/8", "fe80::%eth0/64"})
    expectPrefixRefused(bad, "does not start with an IP address");
  expectPrefixRefused("fe80::1%eth0/64", "zone ids are not allowed");
}

TEST(IpPrefix, HostBitsAreKeptClearedOrRefusedAsAsked) {
  // Keep (the default): an interface address or a CNI result.
  auto kept = prefix("10.0.0.5/24");
  EXPECT_EQ(kept.str(), "10.0.0.5/24");
  EXPECT_TRUE(kept.hasHostBits());
  // Clear: Go's net.ParseCIDR, as the apiserver reads ipBlock.cidr.
  EXPECT_EQ(prefix("10.1.2.3/16", ct::HostBits::Clear).str(), "10.1.0.0/16");
  EXPECT_EQ(prefix("fd00::abcd/120", ct::HostBits::Clear).str(), "fd00::ab00/120");
  EXPECT_FALSE(prefix("10.1.2.3/16", ct::HostBits::Clear).hasHostBits());
  // Refuse: a pool CIDR, with the network meant in the message.
  expectPrefixRefused("10.0.0.1/8", "host bits set (did you mean 10.0.0.0/8?)", {.hostBits = ct::HostBits::Refuse});
  expectPrefixRefused("fd00::1/64", "did you mean fd00::/64?", {.hostBits = ct::HostBits::Refuse});
  // Without host bits every mode gives the same prefix.
  for (auto mode : {ct::HostBits::Keep, ct::HostBits::Clear, ct::HostBits::Refuse})
    EXPECT_EQ(prefix("10.0.0.0/8", mode).str(), "10.0.0.0/8");
  EXPECT_EQ(prefix("10.0.0.7/32", ct::HostBits::Refuse).str(), "10.0.0.7/32");
  EXPECT_EQ(prefix("0.0.0.0/0", ct::HostBits::Refuse).str(), "0.0.0.0/0");
}

TEST(IpPrefix, BareAddressIsAHostPrefixOnlyWhenAsked) {
  auto v4 = ct::IpPrefix::parse("10.0.0.1", {.bareAddress = true});
  ASSERT_TRUE(v4.ok()) << v4.error().message;
  EXPECT_EQ(v4.value().str(), "10.0.0.1/32");
  EXPECT_EQ(ct::IpPrefix::tryParse("fd00::1", {.bareAddress = true})->str(), "fd00::1/128");
  EXPECT_EQ(ct::IpPrefix::tryParse("10.0.0.0/8", {.bareAddress = true})->str(), "10.0.0.0/8");
  EXPECT_FALSE(ct::IpPrefix::tryParse("10.0.0.1"));
  expectPrefixRefused("10.0.0.256", "not an IPv4 or IPv6 address", {.bareAddress = true});
  expectPrefixRefused("10.0.0.1/8", "host bits", {.hostBits = ct::HostBits::Refuse, .bareAddress = true});
}

TEST(IpPrefix, ContainsAndOverlaps) {
  auto c = prefix("10.1.0.0/16");
  EXPECT_TRUE(c.contains(ip("10.1.255.255")));
  EXPECT_TRUE(c.contains(ip("10.1.0.0")));
  EXPECT_FALSE(c.contains(ip("10.2.0.0")));
  EXPECT_FALSE(c.contains(ip("::ffff:10.1.0.1")));  // other family
  EXPECT_TRUE(c.contains(prefix("10.1.4.0/24")));
  EXPECT_TRUE(c.contains(prefix("10.1.4.7/32")));
  EXPECT_TRUE(c.contains(c));
  EXPECT_FALSE(c.contains(prefix("10.0.0.0/8")));
  EXPECT_FALSE(c.contains(prefix("fd00::/8")));
  EXPECT_TRUE(c.overlaps(prefix("10.0.0.0/8")));
  EXPECT_TRUE(prefix("10.0.0.0/8").overlaps(c));
  EXPECT_TRUE(c.overlaps(prefix("10.1.2.0/24")));
  EXPECT_FALSE(c.overlaps(prefix("10.2.0.0/16")));
  EXPECT_FALSE(c.overlaps(prefix("fd00::/8")));
  EXPECT_FALSE(prefix("::/0").overlaps(prefix("0.0.0.0/0")));
  // Host bits do not change what a prefix covers.
  auto withHostBits = prefix("10.244.1.5/24");
  EXPECT_TRUE(withHostBits.contains(ip("10.244.1.1")));
  EXPECT_FALSE(withHostBits.contains(ip("10.244.2.1")));
  EXPECT_TRUE(withHostBits.contains(prefix("10.244.1.128/25")));
  EXPECT_FALSE(prefix("10.244.1.5/32").contains(ip("10.244.1.1")));
  auto v6 = prefix("fd00:10::/48");
  EXPECT_TRUE(v6.contains(ip("fd00:10:0:ffff::1")));
  EXPECT_FALSE(v6.contains(ip("fd00:11::1")));
  EXPECT_TRUE(prefix("::/0").contains(ip("fd00::1")));
  EXPECT_FALSE(prefix("::/0").contains(ip("10.0.0.1")));
}

TEST(IpPrefix, OrdersByFamilyAddressThenLength) {
  std::set<ct::IpPrefix> prefixes{prefix("fd00::/64"), prefix("10.0.0.0/16"), prefix("10.0.0.0/8"), prefix("9.0.0.0/8"),
                                  prefix("10.0.0.5/24")};
  std::string order;
  for (const auto& p : prefixes) order += p.str() + " ";
  EXPECT_EQ(order, "9.0.0.0/8 10.0.0.0/8 10.0.0.0/16 10.0.0.5/24 fd00::/64 ");
  // As kept, "10.0.0.5/24" and "10.0.0.0/24" are different values with one network.
  EXPECT_NE(prefix("10.0.0.5/24"), prefix("10.0.0.0/24"));
  EXPECT_EQ(prefix("10.0.0.5/24").masked(), prefix("10.0.0.0/24"));
}
