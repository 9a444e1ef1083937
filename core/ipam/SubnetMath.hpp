#pragma once
// IPAM's arithmetic over the one prefix type: how many addresses a prefix holds, and its
// subnets of a longer prefix (a pool cut into node subnets or blocks), by number.
#include <cstdint>

#include <cnikit/toolkit/IpPrefix.hpp>

namespace cnikit::ipam {

// Number of addresses in prefix, saturated at 2^62.
uint64_t addressCount(const toolkit::IpPrefix& prefix);
// Number of /newPrefix subnets in prefix, saturated at 2^62; 0 when newPrefix is shorter
// than the prefix or longer than the family allows.
uint64_t subnetCount(const toolkit::IpPrefix& prefix, int newPrefix);
// The nth (from 0) /newPrefix subnet of prefix. Throws std::out_of_range naming both.
toolkit::IpPrefix subnet(const toolkit::IpPrefix& prefix, int newPrefix, uint64_t n);

}  // namespace cnikit::ipam
