// Pool validation names the pool and the field.
#include <gtest/gtest.h>

#include <stdexcept>

#include "core/ipam/Pool.hpp"

namespace cnikit::ipam {
namespace {

using toolkit::IpPrefix;

// As pools take them: host bits refused.
IpPrefix cidr(const std::string& text) {
  return IpPrefix::parse(text, {.hostBits = toolkit::HostBits::Refuse}).value();
}

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

TEST(Pool, ValidationNamesPoolAndField) {
  PoolConfig pool;
  pool.name = "blue";
  pool.cidrs = {cidr("10.0.0.0/16")};
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
  p.cidrs.push_back(cidr("10.1.0.0/16"));
  expectBad(p, "cidrs");
  p = pool;
  p.nodeSubnetPrefixV4 = 8;
  expectBad(p, "nodeSubnetPrefixV4");
  p = pool;
  p.nodeSubnetPrefixV4 = 31;
  expectBad(p, "nodeSubnetPrefixV4");
  p = pool;
  p.cidrs.push_back(cidr("fd00::/48"));
  p.nodeSubnetPrefixV6 = 127;
  expectBad(p, "nodeSubnetPrefixV6");
  p = pool;
  p.exclude = {cidr("192.168.0.1/32")};
  expectBad(p, "exclude");
  p = pool;
  p.name = "a/b";
  expectBad(p, "name");
  p = pool;
  p.cidrs = {IpPrefix::parse("10.0.0.1/16").value()};
  expectBad(p, "host bits");
  p = pool;
  p.name = "";
  EXPECT_THROW(validatePool(p), std::invalid_argument);
  // Dual-stack and a single-node pool (node subnet = the CIDR) are fine.
  p = pool;
  p.cidrs.push_back(cidr("fd00::/48"));
  EXPECT_NO_THROW(validatePool(p));
  p = pool;
  p.nodeSubnetPrefixV4 = 16;
  EXPECT_NO_THROW(validatePool(p));
}

}  // namespace
}  // namespace cnikit::ipam
