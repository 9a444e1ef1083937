#include <cnikit/toolkit/Vxlan.hpp>

#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/route/link/vxlan.h>

#include <cerrno>

#include "Nl.hpp"

namespace cnikit::toolkit {

namespace {

std::string describe(const VxlanSpec& s) {
  std::string d = "vxlan '" + s.name + "' (vni " + std::to_string(s.vni) + ", dstport " + std::to_string(s.port);
  if (s.local) d += ", local " + s.local->str();
  if (s.underlayIndex) d += ", dev " + detail::linkLabel(s.underlayIndex);
  return d + ")";
}

// Which tunnel parameter differs, "" when none does.
std::string mismatch(const VxlanInfo& have, const VxlanSpec& want) {
  if (have.vni != want.vni) return "vni " + std::to_string(have.vni);
  if (have.port != want.port) return "dstport " + std::to_string(have.port);
  if (have.local != want.local) return "local " + (have.local ? have.local->str() : std::string("unset"));
  if (have.underlayIndex != want.underlayIndex) return "dev " + detail::linkLabel(have.underlayIndex);
  if (have.learning != want.learning) return have.learning ? "learning on" : "learning off";
  return "";
}

}  // namespace

Result<std::optional<VxlanInfo>> findVxlan(NetlinkSocket& sock, const std::string& name) {
  if (auto valid = validateIfname(name); !valid) return valid.error();
  rtnl_link* raw = nullptr;
  int err = rtnl_link_get_kernel(sock.get(), 0, name.c_str(), &raw);
  detail::LinkPtr link(raw);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return std::optional<VxlanInfo>();
  if (err < 0) return nlError(err, "looking up link '" + name + "'");
  auto basic = getLink(sock, rtnl_link_get_ifindex(link.get()));
  if (!basic) return basic.error();
  if (!rtnl_link_is_vxlan(link.get()))
    return Error{EEXIST, "link '" + name + "' exists but is " +
                             (basic.value().kind.empty() ? "not a vxlan device"
                                                         : "a " + basic.value().kind + ", not a vxlan device")};
  VxlanInfo info;
  info.link = basic.value();
  uint32_t value = 0;
  if (rtnl_link_vxlan_get_id(link.get(), &value) == 0) info.vni = value;
  if (rtnl_link_vxlan_get_port(link.get(), &value) == 0) info.port = static_cast<uint16_t>(value);
  if (rtnl_link_vxlan_get_link(link.get(), &value) == 0) info.underlayIndex = static_cast<int>(value);
  int learning = rtnl_link_vxlan_get_learning(link.get());
  info.learning = learning > 0;
  nl_addr* local = nullptr;
  if (rtnl_link_vxlan_get_local(link.get(), &local) == 0 && local) {
    detail::NlAddrPtr owned(local);
    auto p = detail::fromNlAddr(local);
    if (p && !p->address().isUnspecified()) info.local = p->address();
  }
  return std::optional<VxlanInfo>(info);
}

Status createVxlan(NetlinkSocket& sock, const VxlanSpec& spec) {
  std::string what = "creating " + describe(spec);
  if (auto valid = validateIfname(spec.name); !valid) return Error{EINVAL, what + ": " + valid.error().message};
  if (spec.vni == 0 || spec.vni > 0xffffff) return Error{EINVAL, what + ": the VNI must be within 1..16777215"};
  if (spec.port == 0) return Error{EINVAL, what + ": the UDP port must not be 0"};
  detail::LinkPtr link(rtnl_link_vxlan_alloc());
  if (!link) return Error{ENOMEM, what + ": out of memory"};
  rtnl_link_set_name(link.get(), spec.name.c_str());
  int err = rtnl_link_vxlan_set_id(link.get(), spec.vni);
  if (err >= 0) err = rtnl_link_vxlan_set_port(link.get(), spec.port);
  if (err >= 0) err = rtnl_link_vxlan_set_learning(link.get(), spec.learning ? 1 : 0);
  if (err >= 0 && spec.underlayIndex)
    err = rtnl_link_vxlan_set_link(link.get(), static_cast<uint32_t>(spec.underlayIndex));
  if (err >= 0 && spec.local) {
    detail::NlAddrPtr local = detail::toNlAddr(*spec.local, spec.local->bits());
    if (!local) return Error{ENOMEM, what + ": out of memory"};
    err = rtnl_link_vxlan_set_local(link.get(), local.get());
  }
  if (err < 0) return nlError(err, what);
  if (spec.mtu) rtnl_link_set_mtu(link.get(), spec.mtu);
  if (spec.mac) {
    detail::NlAddrPtr addr(nl_addr_build(AF_LLC, spec.mac->bytes.data(), 6));
    rtnl_link_set_addr(link.get(), addr.get());
  }
  if (spec.up) rtnl_link_set_flags(link.get(), IFF_UP);
  if (err = rtnl_link_add(sock.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) return nlError(err, what);
  return {};
}

Result<EnsuredVxlan> ensureVxlan(NetlinkSocket& sock, const VxlanSpec& spec) {
  EnsuredVxlan out;
  auto found = findVxlan(sock, spec.name);
  if (!found) return found.error();
  if (found.value()) {
    if (std::string differs = mismatch(*found.value(), spec); !differs.empty()) {
      auto deleted = deleteLink(sock, found.value()->link.index);
      if (!deleted)
        return Error{deleted.error().code,
                     "replacing vxlan '" + spec.name + "' that has " + differs + ": " + deleted.error().message};
      out.recreated = true;
      found = std::optional<VxlanInfo>();
    }
  }
  if (!found.value()) {
    if (auto created = createVxlan(sock, spec); !created) return created.error();
    out.created = !out.recreated;
  } else {
    // Same tunnel: fix what can change in place.
    const LinkInfo& l = found.value()->link;
    LinkChanges c;
    if (spec.mtu && l.mtu != spec.mtu) c.mtu = spec.mtu;
    if (spec.mac && l.mac != *spec.mac) c.mac = *spec.mac;
    if (spec.up && !l.up) c.up = true;
    if (auto changed = changeLink(sock, l.index, c); !changed) return changed.error();
  }
  auto now = findVxlan(sock, spec.name);
  if (!now) return now.error();
  if (!now.value()) return Error{ENODEV, "vxlan '" + spec.name + "' vanished right after it was made"};
  out.info = *now.value();
  return out;
}

}  // namespace cnikit::toolkit
