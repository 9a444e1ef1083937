#pragma once
// Network interfaces: lookup by name or index, and changes (up, MTU, MAC, name, master,
// namespace) sent as one rtnetlink message each, in the socket's namespace.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <cnikit/toolkit/MacAddress.hpp>
#include <cnikit/toolkit/NetlinkSocket.hpp>

namespace cnikit::toolkit {

struct LinkInfo {
  int index = 0;
  std::string name;
  std::string kind;  // rtnl "kind": "veth", "bridge", "vxlan", "" for lo/physical
  MacAddress mac;
  uint32_t mtu = 0;
  bool up = false;  // administratively up (IFF_UP)
  int master = 0;   // ifindex of the bridge/bond it is enslaved to, 0 if none
  int link = 0;     // IFLA_LINK: for a veth, the peer's ifindex (in the peer's namespace)
  uint32_t group = 0;     // device group (IFLA_GROUP); LinkReaper parks retired links in one
  bool loopback = false;  // IFF_LOOPBACK
};

// nullopt when no link has that name.
Result<std::optional<LinkInfo>> findLink(NetlinkSocket& sock, const std::string& name);
// ENODEV naming the link when it does not exist.
Result<LinkInfo> getLink(NetlinkSocket& sock, const std::string& name);
Result<LinkInfo> getLink(NetlinkSocket& sock, int ifindex);
Result<std::vector<LinkInfo>> listLinks(NetlinkSocket& sock);

// Fields left empty are not changed. Everything goes in one message; a rename happens
// before the link is brought up.
struct LinkChanges {
  std::optional<bool> up;
  std::optional<uint32_t> mtu;
  std::optional<MacAddress> mac;
  std::optional<std::string> name;
  std::optional<int> master;     // 0 releases it from its master
  const Netns* netns = nullptr;  // move it there (it is then gone from this namespace)
};
Status changeLink(NetlinkSocket& sock, int ifindex, const LinkChanges& changes);

inline Status setLinkUp(NetlinkSocket& sock, int ifindex, bool up = true) {
  LinkChanges c;
  c.up = up;
  return changeLink(sock, ifindex, c);
}
inline Status setLinkMtu(NetlinkSocket& sock, int ifindex, uint32_t mtu) {
  LinkChanges c;
  c.mtu = mtu;
  return changeLink(sock, ifindex, c);
}
inline Status setLinkMac(NetlinkSocket& sock, int ifindex, const MacAddress& mac) {
  LinkChanges c;
  c.mac = mac;
  return changeLink(sock, ifindex, c);
}
inline Status renameLink(NetlinkSocket& sock, int ifindex, const std::string& name) {
  LinkChanges c;
  c.name = name;
  return changeLink(sock, ifindex, c);
}
inline Status setLinkMaster(NetlinkSocket& sock, int ifindex, int masterIndex) {
  LinkChanges c;
  c.master = masterIndex;
  return changeLink(sock, ifindex, c);
}
inline Status moveLinkToNetns(NetlinkSocket& sock, int ifindex, const Netns& target) {
  LinkChanges c;
  c.netns = &target;
  return changeLink(sock, ifindex, c);
}

// true when deleted, false when it did not exist.
Result<bool> deleteLink(NetlinkSocket& sock, const std::string& name);
Result<bool> deleteLink(NetlinkSocket& sock, int ifindex);

// Checks a name against the kernel's rules (1..15 bytes, no '/', ':' or whitespace, not
// "." or ".."); EINVAL naming it otherwise.
Status validateIfname(const std::string& name);

}  // namespace cnikit::toolkit
