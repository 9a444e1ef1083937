// The toolkit's libiptc/libipset helpers against the real kernel, inside namespaces the test
// makes (root): chains and rules of both families in the filter and nat tables, read back with
// iptables-legacy-save in the namespace; bad rules refused with nothing committed.
#include <cnikit/toolkit/IptcTable.hpp>
#include <cnikit/toolkit/Ipset.hpp>
#include <cnikit/toolkit/NetnsGuard.hpp>
#include <cnikit/toolkit/XtablesLock.hpp>

#include <netinet/in.h>

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/Command.hpp"
#include "tests/support/NetnsSweeper.hpp"
#include "tests/support/TestNetns.hpp"

namespace ct = cnikit::toolkit;
namespace cs = cnikit::testing;

namespace {

class ToolkitIptables : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cs::sweepStaleNetns(); }

  // Runs fn on a fresh thread inside the test namespace (libiptc works in the caller's).
  template <class F>
  void inNode(F fn) {
    std::thread worker([&] {
      auto ns = ct::Netns::open(node_.path()).value();
      auto guard = ct::NetnsGuard::enter(ns).value();
      std::lock_guard lock(ct::iptcMutex());
      fn();
    });
    worker.join();
  }

  std::string save(const char* tool, const char* table) {
    auto r = cs::runInNetns(node_.path(), {tool, "-t", table});
    EXPECT_EQ(r.exitCode, 0) << r.describe();
    return r.out;
  }

  cs::TestNetns node_{"iptc"};
  std::string lockPath_ = (std::filesystem::temp_directory_path() / ("cnikit-iptc-" + node_.name() + ".lock")).string();
  void TearDown() override { std::filesystem::remove(lockPath_); }
};

ct::IptablesRule masquerade(const std::string& source, const std::string& notTo) {
  ct::IptablesRule rule = ct::ruleTo("MASQUERADE");
  rule.source = source;
  rule.destination = notTo;
  rule.destinationInverted = true;
  rule.comment = "toolkit test";
  return rule;
}

TEST_F(ToolkitIptables, NatMasqueradeOfBothFamiliesIsCommittedAndFound) {
  inNode([&] {
    struct Case {
      ct::IpFamily family;
      ct::IptablesRule rule;
    } cases[] = {{ct::IpFamily::V4, masquerade("10.244.1.0/24", "10.244.0.0/16")},
                 {ct::IpFamily::V6, masquerade("fd00:1:1::/64", "fd00:1::/48")}};
    for (const auto& c : cases) {
      auto lock = ct::XtablesLock::acquire(lockPath_).value();
      auto table = ct::IptcTable::open(c.family, "nat").value();
      EXPECT_FALSE(table.contains("POSTROUTING", c.rule).value());
      table.append("POSTROUTING", c.rule).value();
      EXPECT_TRUE(table.changed());
      table.commit().value();
      auto again = ct::IptcTable::open(c.family, "nat").value();
      EXPECT_TRUE(again.contains("POSTROUTING", c.rule).value());
      auto other = c.rule;
      other.destinationInverted = false;  // a different rule must not be found
      EXPECT_FALSE(again.contains("POSTROUTING", other).value());
      EXPECT_EQ(again.ruleTargets("POSTROUTING"), std::vector<std::string>{"MASQUERADE"});
    }
  });
  auto v4 = save("iptables-legacy-save", "nat");
  EXPECT_NE(v4.find("-A POSTROUTING -s 10.244.1.0/24 ! -d 10.244.0.0/16 -m comment --comment \"toolkit test\" -j MASQUERADE"),
            std::string::npos)
      << v4;
  auto v6 = save("ip6tables-legacy-save", "nat");
  EXPECT_NE(v6.find("-A POSTROUTING -s fd00:1:1::/64 ! -d fd00:1::/48 -m comment --comment \"toolkit test\" -j MASQUERADE"),
            std::string::npos)
      << v6;
}

TEST_F(ToolkitIptables, FilterChainsWithSetMatchAndReject) {
  inNode([&] {
    auto ipset = ct::Ipset::open().value();
    ipset->restore("create cnikit-tk-set hash:ip family inet\nadd cnikit-tk-set 10.0.0.7\n").value();
    auto names = ipset->names().value();
    EXPECT_NE(std::find(names.begin(), names.end(), "cnikit-tk-set"), names.end());
    ct::SetIndexFn setIndex = [](const std::string& name) { return ct::ipsetIndex(name); };

    auto table = ct::IptcTable::open(ct::IpFamily::V4).value();
    table.createChain("CNIKIT-TK").value();
    ct::IptablesRule allow = ct::ruleTo("ACCEPT");
    allow.set = ct::SetMatch{"cnikit-tk-set", 1, true};
    allow.protocol = IPPROTO_TCP;
    allow.destinationPorts = std::make_pair(uint16_t{80}, uint16_t{81});
    table.append("CNIKIT-TK", allow, setIndex).value();
    ct::IptablesRule reject = ct::ruleTo("REJECT");
    reject.protocol = IPPROTO_TCP;
    table.append("CNIKIT-TK", reject).value();
    table.insert("FORWARD", ct::ruleTo("CNIKIT-TK"), 0).value();
    EXPECT_TRUE(table.contains("CNIKIT-TK", allow, setIndex).value());
    table.commit().value();
  });
  auto text = save("iptables-legacy-save", "filter");
  EXPECT_NE(text.find("-A FORWARD -j CNIKIT-TK"), std::string::npos) << text;
  EXPECT_NE(text.find("-A CNIKIT-TK -p tcp -m tcp --dport 80:81 -m set --match-set cnikit-tk-set src -j ACCEPT"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("-A CNIKIT-TK -p tcp -j REJECT --reject-with tcp-reset"), std::string::npos) << text;
}

TEST_F(ToolkitIptables, BadRulesAreRefusedNamingWhatWasWrongAndNothingIsCommitted) {
  inNode([&] {
    auto table = ct::IptcTable::open(ct::IpFamily::V4).value();
    ct::IptablesRule badAddress = ct::ruleTo("ACCEPT");
    badAddress.source = "10.0.0.300/24";
    auto r = table.append("FORWARD", badAddress);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, EINVAL);
    EXPECT_NE(r.error().message.find("10.0.0.300/24"), std::string::npos) << r.error().message;

    ct::IptablesRule portWithoutProtocol = ct::ruleTo("ACCEPT");
    portWithoutProtocol.destinationPorts = std::make_pair(uint16_t{53}, uint16_t{53});
    EXPECT_EQ(table.append("FORWARD", portWithoutProtocol).error().code, EINVAL);

    auto missing = table.append("NO-SUCH-CHAIN", ct::ruleTo("ACCEPT"));
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("NO-SUCH-CHAIN"), std::string::npos) << missing.error().message;
    EXPECT_FALSE(table.changed());

    auto nat6 = ct::IptcTable::open(ct::IpFamily::V6, "no-such-table");
    ASSERT_FALSE(nat6.ok());
    EXPECT_NE(nat6.error().message.find("no-such-table"), std::string::npos) << nat6.error().message;
  });
  auto text = save("iptables-legacy-save", "filter");
  EXPECT_EQ(text.find("-A FORWARD"), std::string::npos) << text;
}

TEST_F(ToolkitIptables, XtablesLockTimesOutWhileAnotherHolderKeepsIt) {
  auto held = ct::XtablesLock::acquire(lockPath_).value();
  std::thread other([&] {
    // flock is per open file: a second open of the same path waits like another process would.
    auto second = ct::XtablesLock::acquire(lockPath_, std::chrono::milliseconds(50));
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code, ETIMEDOUT);
    EXPECT_NE(second.error().message.find(lockPath_), std::string::npos);
  });
  other.join();
}

}  // namespace
