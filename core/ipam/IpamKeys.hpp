#pragma once
// Where IPAM keeps its records in the store (docs/store-layout.md). Everything that reads
// or writes these keys goes through here, so the layout lives in one place.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <cnikit/toolkit/IpPrefix.hpp>

#include "core/store/Keys.hpp"

namespace cnikit::ipam::keys {

inline constexpr std::string_view kRoot = store::keys::kIpamPrefix;

// An address as written in keys: dotted decimal for IPv4; for IPv6 all eight groups of
// four hex digits ("fd00:0000:...:000a"), so that every node subnet is a key prefix (the
// RFC 5952 form compresses zeros differently from address to address).
std::string ipText(const toolkit::IpAddress& ip);
// A CIDR as written in keys: canonical text with '/' as '_' ("10.244.1.0_24").
std::string cidrText(const toolkit::IpPrefix& cidr);
std::optional<toolkit::IpPrefix> parseCidrText(std::string_view text);

std::string subnetPrefix(std::string_view pool);  // /cnikit/v1/ipam/subnets/<pool>/
std::string subnet(std::string_view pool, const toolkit::IpPrefix& subnet);
std::string addressPrefix(std::string_view pool);  // /cnikit/v1/ipam/addresses/<pool>/
std::string address(std::string_view pool, const toolkit::IpAddress& ip);
// Key prefixes that together cover every address key of subnet (they may also cover
// neighbours: filter with IpPrefix::contains). One prefix for octet/nibble-aligned subnets.
std::vector<std::string> addressScanPrefixes(std::string_view pool, const toolkit::IpPrefix& subnet);
std::string handlePrefix(std::string_view node);  // /cnikit/v1/ipam/handles/<node>/
std::string handle(std::string_view node, std::string_view containerId, std::string_view ifname);
// Last address handed out in a node subnet (round-robin allocation resumes after it).
std::string last(std::string_view pool, const toolkit::IpPrefix& subnet);

}  // namespace cnikit::ipam::keys
