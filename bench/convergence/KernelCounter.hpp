#pragma once
// Counts what a backend programmed in one network namespace, straight from the kernel over
// a netlink socket made inside that namespace (cheap enough to poll every few ms): routes
// of one protocol, FDB entries and permanent neighbours of one device.
#include <string>

#include <cnikit/toolkit/UniqueFd.hpp>

namespace cnikit::bench {

class KernelCounter {
 public:
  // Throws std::runtime_error naming the namespace when it cannot open the socket there.
  explicit KernelCounter(const std::string& netnsPath);

  // IPv4 routes in the main table with this rtm_protocol.
  size_t routes(int protocol);
  // IPv4 routes with this protocol whose destination is dst/prefix ("10.244.3.0", 24).
  bool hasRoute(int protocol, const std::string& dst, int prefix);
  // AF_BRIDGE FDB entries with a remote destination on the device (VXLAN: one per remote VTEP).
  size_t fdbEntries(const std::string& device);
  // IPv4 permanent neighbour entries on the device.
  size_t permanentNeighbours(const std::string& device);

 private:
  int ifindex(const std::string& device);

  std::string netnsPath_;
  toolkit::UniqueFd fd_;
  unsigned seq_ = 1;
};

}  // namespace cnikit::bench
