#pragma once
// veth pairs, created in one rtnetlink message: the peer is created directly inside its
// target namespace (IFLA_NET_NS_FD) under its final name, so no half-moved link can be
// left in between. The kernel echoes the new link (NLM_F_ECHO), so the caller learns both
// indexes without looking the pair up again.
#include <cstdint>
#include <optional>
#include <string>

#include <cnikit/toolkit/Link.hpp>

namespace cnikit::toolkit {

struct VethSpec {
  std::string name;  // this end, in the socket's namespace
  std::string peerName;
  const Netns* peerNetns = nullptr;  // nullptr: the peer stays in the socket's namespace
  uint32_t mtu = 0;                  // both ends; 0 = kernel default
  std::optional<MacAddress> mac;     // this end
  std::optional<MacAddress> peerMac;
  int master = 0;   // enslave this end at creation (a bridge ifindex)
  bool up = false;  // bring this end up at creation (the peer cannot be: it has no peer yet
                    // when the kernel configures it, ENOTCONN)
};

// The created end (this one) as the kernel reports it; its `link` is the peer's index in the
// peer's namespace. EEXIST when a name is taken (the kernel does not say which end: check
// first when it matters). Deleting either end later deletes both.
Result<LinkInfo> createVeth(NetlinkSocket& sock, const VethSpec& spec);

}  // namespace cnikit::toolkit
