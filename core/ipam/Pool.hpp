#pragma once
// A pool: cluster CIDRs (IPv4 and/or IPv6) bound to one backend instance, carved into
// per-node subnets.
#include <string>
#include <vector>

#include <cnikit/toolkit/IpPrefix.hpp>

namespace cnikit::ipam {

struct PoolConfig {
  std::string name;
  std::string backend;                   // backend instance name
  std::vector<toolkit::IpPrefix> cidrs;  // at most one IPv4 and one IPv6 (dual-stack)
  int nodeSubnetPrefixV4 = 24;           // size of the subnet each node gets
  int nodeSubnetPrefixV6 = 64;
  std::vector<toolkit::IpPrefix> exclude;  // addresses/ranges never handed out (a /32 or /128 for one)
};

// Throws std::invalid_argument naming the pool and the field when the config is unusable
// (no cidrs, two of one family, subnet prefix not longer than the cidr's, overlapping...).
void validatePool(const PoolConfig& pool);

}  // namespace cnikit::ipam
