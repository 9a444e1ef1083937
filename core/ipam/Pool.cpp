#include "core/ipam/Pool.hpp"

#include <stdexcept>

namespace cnikit::ipam {

namespace {

// Smallest node subnet that still has an address after network, gateway (and broadcast).
constexpr int kMaxNodePrefixV4 = 30;
constexpr int kMaxNodePrefixV6 = 126;

[[noreturn]] void invalid(const PoolConfig& pool, const std::string& field, const std::string& why) {
  throw std::invalid_argument("pool '" + pool.name + "': " + field + ": " + why);
}

}  // namespace

void validatePool(const PoolConfig& pool) {
  if (pool.name.empty()) throw std::invalid_argument("pool without a name");
  // The name is a store key component.
  for (char c : pool.name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) invalid(pool, "name", "only letters, digits, '-', '_' and '.' are allowed");
  }
  if (pool.cidrs.empty()) invalid(pool, "cidrs", "no CIDR given");
  if (pool.cidrs.size() > 2) invalid(pool, "cidrs", "at most one IPv4 and one IPv6 CIDR");
  if (pool.cidrs.size() == 2 && pool.cidrs[0].isV4() == pool.cidrs[1].isV4()) {
    invalid(pool, "cidrs",
            "two " + std::string(pool.cidrs[0].isV4() ? "IPv4" : "IPv6") + " CIDRs (" + pool.cidrs[0].str() + ", " +
                pool.cidrs[1].str() + "); give one per family");
  }
  for (const auto& cidr : pool.cidrs) {
    if (cidr.hasHostBits()) invalid(pool, "cidrs", cidr.str() + " has host bits set");
    bool v4 = cidr.isV4();
    int nodePrefix = v4 ? pool.nodeSubnetPrefixV4 : pool.nodeSubnetPrefixV6;
    std::string field = v4 ? "nodeSubnetPrefixV4" : "nodeSubnetPrefixV6";
    int maxPrefix = v4 ? kMaxNodePrefixV4 : kMaxNodePrefixV6;
    // Equal is allowed: one node owns the whole CIDR (a single-node pool).
    if (nodePrefix < cidr.prefixLength()) {
      invalid(pool, field, "/" + std::to_string(nodePrefix) + " is shorter than the CIDR " + cidr.str());
    }
    if (nodePrefix > maxPrefix) {
      invalid(pool, field,
              "/" + std::to_string(nodePrefix) + " leaves no address for pods (at most /" + std::to_string(maxPrefix) +
                  ")");
    }
  }
  for (const auto& range : pool.exclude) {
    bool inside = false;
    for (const auto& cidr : pool.cidrs) inside = inside || cidr.contains(range);
    if (!inside) invalid(pool, "exclude", range.str() + " is not inside any of the pool's CIDRs");
  }
}

}  // namespace cnikit::ipam
