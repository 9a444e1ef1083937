#pragma once
// Telling an L2 segment that an address now lives behind this interface, so neighbours that
// cached another node's MAC for it (a load-balancer address that moved) update at once
// instead of after their neighbour entry goes stale: a gratuitous ARP request for IPv4, an
// unsolicited Neighbour Advertisement with the Override flag to ff02::1 for IPv6. Both act
// in the network namespace of the calling thread.
#include <string>

#include <cnikit/toolkit/MacAddress.hpp>
#include <cnikit/toolkit/Result.hpp>

namespace cnikit::service {

// address: "10.250.200.1" or "fd00:250::200:1"; it must already be on the interface (IPv6:
// not tentative), so the kernel accepts it as the source.
toolkit::Status announceAddress(int ifindex, const toolkit::MacAddress& mac, const std::string& address);

}  // namespace cnikit::service
