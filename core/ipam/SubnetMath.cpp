#include "core/ipam/SubnetMath.hpp"

#include <stdexcept>
#include <string>

namespace cnikit::ipam {

namespace {

constexpr uint64_t kSaturated = uint64_t{1} << 62;

uint64_t saturatedPow2(int exponent) { return exponent >= 62 ? kSaturated : uint64_t{1} << exponent; }

}  // namespace

uint64_t addressCount(const toolkit::IpPrefix& prefix) {
  return saturatedPow2(prefix.address().bits() - prefix.prefixLength());
}

uint64_t subnetCount(const toolkit::IpPrefix& prefix, int newPrefix) {
  if (newPrefix < prefix.prefixLength() || newPrefix > prefix.address().bits()) return 0;
  return saturatedPow2(newPrefix - prefix.prefixLength());
}

toolkit::IpPrefix subnet(const toolkit::IpPrefix& prefix, int newPrefix, uint64_t n) {
  if (newPrefix < prefix.prefixLength() || newPrefix > prefix.address().bits()) {
    throw std::out_of_range("cannot split " + prefix.str() + " into /" + std::to_string(newPrefix) + " subnets");
  }
  if (n >= subnetCount(prefix, newPrefix)) {
    throw std::out_of_range(prefix.str() + " has no /" + std::to_string(newPrefix) + " subnet number " +
                            std::to_string(n));
  }
  const int shift = prefix.address().bits() - newPrefix;
  toolkit::IpInteger step = shift >= 128 ? 0 : static_cast<toolkit::IpInteger>(n) << shift;
  toolkit::IpAddress base = toolkit::IpAddress::fromInteger(prefix.family(), prefix.network().toInteger() + step);
  return toolkit::IpPrefix(base, newPrefix);
}

}  // namespace cnikit::ipam
