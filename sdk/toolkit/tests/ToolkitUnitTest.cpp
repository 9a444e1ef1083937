// Toolkit pieces that need no privileges: MAC parsing, Result, Rollback, error mapping (IP
// addresses and prefixes: ToolkitIpTest.cpp).
#include <cnikit/toolkit/Error.hpp>
#include <cnikit/toolkit/MacAddress.hpp>
#include <cnikit/toolkit/Result.hpp>
#include <cnikit/toolkit/Rollback.hpp>

#include <arpa/inet.h>
#include <netlink/errno.h>

#include <gtest/gtest.h>

#include <set>

namespace ct = cnikit::toolkit;

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
  // '-' as CNI_ARGS MAC= may write it, but one separator throughout.
  EXPECT_EQ(ct::MacAddress::parse("0a-1b-2c-3d-4e-5f").value(), m.value());
  for (std::string bad : {"0a:1b:2c:3d:4e", "0a-1b:2c-3d-4e-5f", "0a:1b:2c:3d:4e-5f", "0a:1b:2c:3d:4e:5g",
                          "0a:1b:2c:3d:4e:5f:", "0a.1b.2c.3d.4e.5f"}) {
    auto parsed = ct::MacAddress::parse(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message.find("'" + bad + "'"), std::string::npos) << parsed.error().message;
  }
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
