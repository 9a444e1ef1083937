// IPAM's arithmetic over the toolkit's prefix type: nth subnet, counts, sizes.
#include <gtest/gtest.h>

#include <stdexcept>

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

TEST(SubnetMath, NthSubnetAndCounts) {
  auto c = cidr("10.244.0.0/16");
  EXPECT_EQ(subnetCount(c, 24), 256u);
  EXPECT_EQ(subnet(c, 24, 0).str(), "10.244.0.0/24");
  EXPECT_EQ(subnet(c, 24, 5).str(), "10.244.5.0/24");
  EXPECT_EQ(subnet(c, 24, 255).str(), "10.244.255.0/24");
  EXPECT_EQ(subnet(c, 26, 5).str(), "10.244.1.64/26");
  EXPECT_EQ(subnet(c, 16, 0), c);
  EXPECT_THROW(subnet(c, 24, 256), std::out_of_range);
  EXPECT_THROW(subnet(c, 8, 0), std::out_of_range);
  EXPECT_THROW(subnet(c, 33, 0), std::out_of_range);
  EXPECT_EQ(subnetCount(c, 8), 0u);
  auto v6 = cidr("fd00:10::/48");
  EXPECT_EQ(subnet(v6, 64, 1).str(), "fd00:10:0:1::/64");
  EXPECT_EQ(subnet(v6, 64, 0xffff).str(), "fd00:10:0:ffff::/64");
  EXPECT_EQ(subnetCount(v6, 64), 65536u);
  EXPECT_EQ(subnetCount(cidr("::/0"), 64), uint64_t{1} << 62);  // saturated
  EXPECT_EQ(addressCount(cidr("fd00::/64")), uint64_t{1} << 62);
  EXPECT_EQ(addressCount(cidr("fd00::/120")), 256u);
  EXPECT_EQ(subnet(cidr("::/0"), 1, 1).str(), "8000::/1");
}

TEST(SubnetMath, AddressCountIsSaturated) {
  EXPECT_EQ(addressCount(cidr("0.0.0.0/0")), uint64_t{1} << 32);
  EXPECT_EQ(addressCount(cidr("10.0.0.5/32")), 1u);
  EXPECT_EQ(addressCount(cidr("10.0.0.0/24")), 256u);
  EXPECT_EQ(addressCount(IpPrefix::parse("10.0.0.5/24").value()), 256u);  // host bits do not count
  EXPECT_EQ(addressCount(cidr("::/0")), uint64_t{1} << 62);
}

}  // namespace
}  // namespace cnikit::ipam
