#include <cnikit/toolkit/Bridge.hpp>

#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/inet6.h>

#include <cerrno>

#include <cnikit/toolkit/Address.hpp>

#include "Nl.hpp"

namespace cnikit::toolkit {

namespace {

// The bridge's IPv6 link-local address is the source of the neighbour solicitations it sends
// for forwarded packets. The kernel makes it tentative for 1-2 s of DAD when the bridge comes
// up, and solicits nothing meanwhile: IPv6 to pods behind a new bridge would be lost. So a
// bridge we create gets no automatic link-local address; we add the same EUI-64 address
// without DAD (a bridge's random MAC, pinned, has no one to clash with on its own segment).
Status addLinkLocalWithoutDad(NetlinkSocket& sock, const LinkInfo& bridge) {
  const std::string what = "setting up the IPv6 link-local address of bridge '" + bridge.name + "'";
  detail::LinkPtr orig(rtnl_link_alloc());
  detail::LinkPtr change(rtnl_link_alloc());
  if (!orig || !change) return Error{ENOMEM, what + ": out of memory"};
  rtnl_link_set_ifindex(orig.get(), bridge.index);
  if (int err = rtnl_link_inet6_set_addr_gen_mode(change.get(), IN6_ADDR_GEN_MODE_NONE); err < 0)
    return nlError(err, what);
  int err = rtnl_link_change(sock.get(), orig.get(), change.get(), 0);
  if (err == -NLE_AF_NOSUPPORT || err == -NLE_OPNOTSUPP) return {};  // no IPv6 in this namespace
  if (err < 0) return nlError(err, what);
  // fe80::/64 with the modified EUI-64 of the MAC (what the kernel's own mode would make).
  const auto& m = bridge.mac.bytes;
  const uint8_t eui64[16] = {0xfe, 0x80, 0,    0,    0,    0,    0,   0, static_cast<uint8_t>(m[0] ^ 2),
                             m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]};
  IpPrefix linkLocal(IpAddress::fromBytes(AF_INET6, eui64), 64);
  if (auto added = addAddress(sock, bridge.index, linkLocal, AddressOptions{.noDad = true}); !added)
    return Error{added.error().code, what + ": " + added.error().message};
  return {};
}

}  // namespace

Result<LinkInfo> ensureBridge(NetlinkSocket& sock, const std::string& name, const BridgeOptions& options) {
  auto found = findLink(sock, name);
  if (!found) return found.error();
  if (!found.value()) {
    detail::LinkPtr link(rtnl_link_bridge_alloc());
    if (!link) return Error{ENOMEM, "creating bridge '" + name + "': out of memory"};
    rtnl_link_set_name(link.get(), name.c_str());
    if (options.mtu) rtnl_link_set_mtu(link.get(), options.mtu);
    int err = rtnl_link_add(sock.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err < 0 && err != -NLE_EXIST) return nlError(err, "creating bridge '" + name + "'");
    auto created = getLink(sock, name);
    if (!created) return created.error();
    if (err == 0) {
      // A bridge whose MAC was never set takes the lowest MAC of its ports, so it would change
      // as pods come and go and pods' neighbour entries for the gateway would go stale. Setting
      // it (to the random one it got) pins it.
      if (auto pinned = setLinkMac(sock, created.value().index, created.value().mac); !pinned)
        return Error{pinned.error().code, "pinning the MAC of bridge '" + name + "': " + pinned.error().message};
      // Created down, so that this happens before the kernel would start DAD (it comes up below).
      if (auto linkLocal = addLinkLocalWithoutDad(sock, created.value()); !linkLocal) return linkLocal.error();
    }
    found = std::optional<LinkInfo>(created.value());
  }
  LinkInfo info = *found.value();
  if (info.kind != "bridge")
    return Error{EEXIST, "link '" + name + "' exists but is " +
                             (info.kind.empty() ? "not a bridge" : "a " + info.kind + ", not a bridge")};
  if (options.up && !info.up) {
    if (auto up = setLinkUp(sock, info.index); !up) return up.error();
    info.up = true;
  }
  return info;
}

Status setBridgePortHairpin(NetlinkSocket& sock, int portIndex, bool on) {
  std::string what =
      std::string("turning hairpin ") + (on ? "on" : "off") + " on bridge port " + detail::linkLabel(portIndex);
  detail::MsgPtr msg(nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK));
  if (!msg) return Error{ENOMEM, what + ": out of memory"};
  ifinfomsg ifi{};
  ifi.ifi_family = AF_BRIDGE;
  ifi.ifi_index = portIndex;
  if (nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0) return Error{ENOMEM, what + ": message too small"};
  nlattr* protinfo = nla_nest_start(msg.get(), IFLA_PROTINFO | NLA_F_NESTED);
  if (!protinfo || nla_put_u8(msg.get(), IFLA_BRPORT_MODE, on ? 1 : 0) < 0)
    return Error{ENOMEM, what + ": message too small"};
  nla_nest_end(msg.get(), protinfo);
  int err = nl_send_auto(sock.get(), msg.get());
  if (err >= 0) err = nl_wait_for_ack(sock.get());
  if (err < 0) return nlError(err, what);
  return {};
}

Result<bool> bridgePortHairpin(NetlinkSocket& sock, int portIndex) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_link_alloc_cache(sock.get(), AF_BRIDGE, &raw); err < 0)
    return nlError(err, "listing bridge ports");
  detail::CachePtr cache(raw);
  detail::LinkPtr port(rtnl_link_get(cache.get(), portIndex));
  if (!port) return Error{ENODEV, detail::linkLabel(portIndex) + " is not a bridge port"};
  int flags = rtnl_link_bridge_get_flags(port.get());
  if (flags < 0) return nlError(flags, "reading bridge port flags of " + detail::linkLabel(portIndex));
  return (flags & RTNL_BRIDGE_HAIRPIN_MODE) != 0;
}

}  // namespace cnikit::toolkit
