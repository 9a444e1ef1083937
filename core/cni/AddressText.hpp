#pragma once
// Syntax checks for the address text CNI carries (IPs, CIDRs, MACs). Kept here, on inet_pton,
// so the CNI executable does not pull in the IPAM library.
#include <string_view>

namespace cnikit::cni {

bool isIpAddress(std::string_view text);  // "10.0.0.1", "fd00::1"
bool isCidr(std::string_view text);       // "10.0.0.1/24" (host bits allowed, as in results)
bool isIpOrCidr(std::string_view text);
bool isMacAddress(std::string_view text);  // "aa:bb:cc:dd:ee:ff" (also '-' separated)
bool isV6Text(std::string_view text);      // a ':' means IPv6

}  // namespace cnikit::cni
