#pragma once
// Neighbour (ARP / NDP) entries: IP address -> link-layer address on one interface.
#include <cstdint>
#include <vector>

#include <cnikit/toolkit/IpAddress.hpp>
#include <cnikit/toolkit/MacAddress.hpp>
#include <cnikit/toolkit/NetlinkSocket.hpp>

namespace cnikit::toolkit {

struct Neighbour {
  int ifindex = 0;
  IpAddress address;  // IPv4 (ARP) or IPv6 (ND)
  MacAddress mac;
  uint16_t state = 0x80;  // NUD_PERMANENT: never probed, never expires

  std::string str() const;  // "10.244.2.1 lladdr 0e:.. dev #5" for messages
};

// Creates the entry or replaces the one for (ifindex, address): idempotent.
Status setNeighbour(NetlinkSocket& sock, const Neighbour& neighbour);
// true when deleted, false when there was none for (ifindex, address).
Result<bool> deleteNeighbour(NetlinkSocket& sock, int ifindex, const IpAddress& address);
// IPv4 and IPv6 entries (family AF_UNSPEC = both); ifindex 0 = every interface. Entries
// without a link-layer address (incomplete, failed) are left out.
Result<std::vector<Neighbour>> listNeighbours(NetlinkSocket& sock, int ifindex = 0, int family = 0);

}  // namespace cnikit::toolkit
