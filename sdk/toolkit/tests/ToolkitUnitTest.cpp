// Toolkit pieces that need no privileges: parsing, Result, Rollback, error mapping.
#include <cnikit/toolkit/Error.hpp>
#include <cnikit/toolkit/IpPrefix.hpp>
#include <cnikit/toolkit/MacAddress.hpp>
#include <cnikit/toolkit/Result.hpp>
#include <cnikit/toolkit/Rollback.hpp>

#include <arpa/inet.h>
#include <netlink/errno.h>

#include <gtest/gtest.h>

#include <set>

namespace ct = cnikit::toolkit;

TEST(IpPrefix, ParsesIpv4WithPrefixAndKeepsHostBits) {
  auto p = ct::IpPrefix::parse("10.244.1.5/24");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p.value().family(), AF_INET);
  EXPECT_EQ(p.value().prefixLen, 24);
  EXPECT_EQ(p.value().str(), "10.244.1.5/24");
  EXPECT_EQ(p.value().network().str(), "10.244.1.0/24");
}

TEST(IpPrefix, ParsesIpv6AndDefaultsToFullLength) {
  auto p = ct::IpPrefix::parse("fd00:10::5");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.value().family(), AF_INET6);
  EXPECT_EQ(p.value().prefixLen, 128);
  auto q = ct::IpPrefix::parse("fd00:10::5/61");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q.value().network().str(), "fd00:10::/61");
  EXPECT_EQ(ct::IpPrefix::parse("fd00:10:0:f::1/61").value().network().str(), "fd00:10:0:8::/61");
}

TEST(IpPrefix, RejectsBadTextNamingIt) {
  for (std::string bad :
       {"10.0.0.1/33", "10.0.0/24", "fd00::1/129", "10.0.0.1/", "10.0.0.1/2x", "", "/24", "10.0.0.1/-1"}) {
    auto p = ct::IpPrefix::parse(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.error().code, EINVAL);
    EXPECT_NE(p.error().message.find("'" + bad + "'"), std::string::npos) << p.error().message;
  }
}

TEST(IpPrefix, ContainsComparesNetworks) {
  auto p = ct::IpPrefix::parse("10.244.1.5/24").value();
  EXPECT_TRUE(p.contains(ct::IpAddress::parse("10.244.1.1").value()));
  EXPECT_FALSE(p.contains(ct::IpAddress::parse("10.244.2.1").value()));
  EXPECT_FALSE(p.contains(ct::IpAddress::parse("fd00::1").value()));
  auto host = ct::IpPrefix::parse("10.244.1.5/32").value();
  EXPECT_FALSE(host.contains(ct::IpAddress::parse("10.244.1.1").value()));
}

TEST(MacAddress, RandomLocalIsUnicastLocallyAdministeredAndRandom) {
  std::set<std::string> seen;
  for (int i = 0; i < 64; ++i) {
    auto mac = ct::MacAddress::randomLocal();
    EXPECT_EQ(mac.bytes[0] & 0x01, 0) << mac.str();  // unicast
    EXPECT_EQ(mac.bytes[0] & 0x02, 2) << mac.str();  // locally administered
    seen.insert(mac.str());
  }
  EXPECT_GT(seen.size(), 60u);  // 46 random bits: a repeat in 64 draws is next to impossible
}

TEST(MacAddress, RoundTripsAndRejects) {
  auto m = ct::MacAddress::parse("0A:1b:2c:3d:4e:5F");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m.value().str(), "0a:1b:2c:3d:4e:5f");
  for (std::string bad : {"0a:1b:2c:3d:4e", "0a-1b-2c-3d-4e-5f", "0a:1b:2c:3d:4e:5g", "0a:1b:2c:3d:4e:5f:"})
    EXPECT_FALSE(ct::MacAddress::parse(bad).ok()) << bad;
}

TEST(Result, ValueThrowsCarryingCodeAndMessage) {
  ct::Result<int> r = ct::Error{ENOENT, "opening 'x': No such file"};
  EXPECT_FALSE(r.ok());
  try {
    (void)r.value();
    FAIL() << "value() did not throw";
  } catch (const ct::ToolkitError& e) {
    EXPECT_EQ(e.code(), ENOENT);
    EXPECT_STREQ(e.what(), "opening 'x': No such file");
  }
  ct::Result<int> good = 5;
  EXPECT_EQ(good.value(), 5);
}

TEST(Rollback, RunsUndosNewestFirstUnlessCommitted) {
  std::string order;
  {
    ct::Rollback r;
    r.add([&] { order += "a"; });
    r.add([&] { throw std::runtime_error("undo failed"); });  // swallowed, the rest still run
    r.add([&] { order += "c"; });
  }
  EXPECT_EQ(order, "ca");
  {
    ct::Rollback r;
    r.add([&] { order += "x"; });
    r.commit();
  }
  EXPECT_EQ(order, "ca");
}

TEST(Error, NlErrorsMapToErrnoAndKeepTheLibnlText) {
  EXPECT_EQ(ct::nlErrorToErrno(-NLE_EXIST), EEXIST);
  EXPECT_EQ(ct::nlErrorToErrno(-NLE_OBJ_NOTFOUND), ENOENT);
  auto e = ct::nlError(-NLE_EXIST, "creating veth 'v1'");
  EXPECT_EQ(e.code, EEXIST);
  EXPECT_NE(e.message.find("creating veth 'v1'"), std::string::npos);
  EXPECT_NE(e.message.find("libnl:"), std::string::npos);
}
