#include <cnikit/toolkit/Link.hpp>

#include <net/if.h>
#include <netlink/errno.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "Nl.hpp"

namespace cnikit::toolkit {

using detail::CachePtr;
using detail::linkLabel;
using detail::LinkPtr;

namespace detail {

LinkInfo toInfo(rtnl_link* link) {
  LinkInfo info;
  info.index = rtnl_link_get_ifindex(link);
  if (const char* name = rtnl_link_get_name(link)) info.name = name;
  if (const char* kind = rtnl_link_get_type(link)) info.kind = kind;
  if (nl_addr* addr = rtnl_link_get_addr(link); addr && nl_addr_get_len(addr) == 6) {
    const auto* bytes = static_cast<const uint8_t*>(nl_addr_get_binary_addr(addr));
    std::copy(bytes, bytes + 6, info.mac.bytes.begin());
  }
  info.mtu = rtnl_link_get_mtu(link);
  info.up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
  info.master = rtnl_link_get_master(link);
  info.link = rtnl_link_get_link(link);
  info.group = rtnl_link_get_group(link);
  info.loopback = (rtnl_link_get_flags(link) & IFF_LOOPBACK) != 0;
  return info;
}

}  // namespace detail

namespace {

using detail::toInfo;

bool isNotFound(int err) { return err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV; }

Result<std::optional<LinkInfo>> lookup(NetlinkSocket& sock, int ifindex, const char* name, const std::string& label) {
  rtnl_link* raw = nullptr;
  int err = rtnl_link_get_kernel(sock.get(), ifindex, name, &raw);
  LinkPtr link(raw);
  if (isNotFound(err)) return std::optional<LinkInfo>();
  if (err < 0) return nlError(err, "looking up " + label);
  return std::optional<LinkInfo>(toInfo(link.get()));
}

}  // namespace

Result<std::optional<LinkInfo>> findLink(NetlinkSocket& sock, const std::string& name) {
  if (auto valid = validateIfname(name); !valid) return valid.error();
  return lookup(sock, 0, name.c_str(), "link '" + name + "'");
}

Result<LinkInfo> getLink(NetlinkSocket& sock, const std::string& name) {
  auto found = findLink(sock, name);
  if (!found) return found.error();
  if (!found.value()) return Error{ENODEV, "link '" + name + "' does not exist"};
  return *found.value();
}

Result<LinkInfo> getLink(NetlinkSocket& sock, int ifindex) {
  auto found = lookup(sock, ifindex, nullptr, linkLabel(ifindex));
  if (!found) return found.error();
  if (!found.value()) return Error{ENODEV, linkLabel(ifindex) + " does not exist"};
  return *found.value();
}

Result<std::vector<LinkInfo>> listLinks(NetlinkSocket& sock) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_link_alloc_cache(sock.get(), AF_UNSPEC, &raw); err < 0) return nlError(err, "listing links");
  CachePtr cache(raw);
  std::vector<LinkInfo> links;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o))
    links.push_back(toInfo(reinterpret_cast<rtnl_link*>(o)));
  return links;
}

Status changeLink(NetlinkSocket& sock, int ifindex, const LinkChanges& c) {
  LinkPtr orig(rtnl_link_alloc());
  LinkPtr changes(rtnl_link_alloc());
  if (!orig || !changes) return Error{ENOMEM, "changing " + linkLabel(ifindex) + ": out of memory"};
  rtnl_link_set_ifindex(orig.get(), ifindex);
  std::string what;
  if (c.name) {
    if (auto valid = validateIfname(*c.name); !valid) return valid.error();
    rtnl_link_set_name(changes.get(), c.name->c_str());
    what += " name=" + *c.name;
  }
  if (c.mtu) {
    rtnl_link_set_mtu(changes.get(), *c.mtu);
    what += " mtu=" + std::to_string(*c.mtu);
  }
  if (c.mac) {
    detail::NlAddrPtr addr(nl_addr_build(AF_LLC, c.mac->bytes.data(), 6));
    rtnl_link_set_addr(changes.get(), addr.get());  // takes its own reference
    what += " mac=" + c.mac->str();
  }
  if (c.master) {
    rtnl_link_set_master(changes.get(), *c.master);
    what += " master=#" + std::to_string(*c.master);
  }
  if (c.netns) {
    rtnl_link_set_ns_fd(changes.get(), c.netns->fd());
    what += " netns=" + c.netns->path();
  }
  if (c.up) {
    if (*c.up)
      rtnl_link_set_flags(changes.get(), IFF_UP);
    else
      rtnl_link_unset_flags(changes.get(), IFF_UP);
    what += *c.up ? " up" : " down";
  }
  if (what.empty()) return {};
  if (int err = rtnl_link_change(sock.get(), orig.get(), changes.get(), 0); err < 0)
    return nlError(err, "setting" + what + " on " + linkLabel(ifindex));
  return {};
}

Result<bool> deleteLink(NetlinkSocket& sock, const std::string& name) {
  if (auto valid = validateIfname(name); !valid) return valid.error();
  LinkPtr link(rtnl_link_alloc());
  if (!link) return Error{ENOMEM, "deleting link '" + name + "': out of memory"};
  rtnl_link_set_name(link.get(), name.c_str());
  int err = rtnl_link_delete(sock.get(), link.get());
  if (isNotFound(err)) return false;
  if (err < 0) return nlError(err, "deleting link '" + name + "'");
  return true;
}

Result<bool> deleteLink(NetlinkSocket& sock, int ifindex) {
  LinkPtr link(rtnl_link_alloc());
  if (!link) return Error{ENOMEM, "deleting " + linkLabel(ifindex) + ": out of memory"};
  rtnl_link_set_ifindex(link.get(), ifindex);
  int err = rtnl_link_delete(sock.get(), link.get());
  if (isNotFound(err)) return false;
  if (err < 0) return nlError(err, "deleting " + linkLabel(ifindex));
  return true;
}

Status validateIfname(const std::string& name) {
  bool ok = !name.empty() && name.size() < IFNAMSIZ && name != "." && name != "..";
  for (char ch : name)
    if (ch == '/' || ch == ':' || ch == '\0' || std::isspace(static_cast<unsigned char>(ch))) ok = false;
  if (!ok)
    return Error{EINVAL, "'" + name + "' is not a valid interface name (1-15 characters, no '/', ':' or spaces)"};
  return {};
}

}  // namespace cnikit::toolkit
