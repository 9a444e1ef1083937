#include <cnikit/toolkit/Fdb.hpp>

#include <linux/neighbour.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/route/neighbour.h>

#include <cerrno>

#include "Nl.hpp"

namespace cnikit::toolkit {

namespace {

Result<detail::NeighPtr> build(const FdbEntry& e, const std::string& what) {
  detail::NeighPtr n(rtnl_neigh_alloc());
  detail::NlAddrPtr ll(nl_addr_build(AF_LLC, e.mac.bytes.data(), 6));
  if (!n || !ll) return Error{ENOMEM, what + ": out of memory"};
  rtnl_neigh_set_ifindex(n.get(), e.ifindex);
  rtnl_neigh_set_lladdr(n.get(), ll.get());
  if (e.destination) {
    // The order matters to libnl: setting the IP destination also sets the object's family
    // (and refuses a destination of another family than the one set), so the IP comes
    // first and AF_BRIDGE second.
    detail::NlAddrPtr dst = detail::toNlAddr(*e.destination, e.destination->bits());
    if (!dst) return Error{ENOMEM, what + ": out of memory"};
    if (int err = rtnl_neigh_set_dst(n.get(), dst.get()); err < 0) return nlError(err, what);
  }
  rtnl_neigh_set_family(n.get(), AF_BRIDGE);
  rtnl_neigh_set_flags(n.get(), NTF_SELF);
  if (e.permanent) rtnl_neigh_set_state(n.get(), NUD_PERMANENT);
  return n;
}

}  // namespace

std::string FdbEntry::str() const {
  std::string s = mac.str();
  if (destination) s += " dst " + destination->str();
  return s + " dev " + detail::linkLabel(ifindex);
}

Status addFdbEntry(NetlinkSocket& sock, const FdbEntry& entry, const FdbAddOptions& options) {
  std::string what = (options.replace ? "replacing fdb entry " : "adding fdb entry ") + entry.str();
  auto n = build(entry, what);
  if (!n) return n.error();
  int err =
      rtnl_neigh_add(sock.get(), n.value().get(), NLM_F_CREATE | (options.replace ? NLM_F_REPLACE : NLM_F_APPEND));
  if (err == -NLE_EXIST) return {};
  if (err < 0) return nlError(err, what);
  return {};
}

Result<bool> deleteFdbEntry(NetlinkSocket& sock, const FdbEntry& entry) {
  std::string what = "deleting fdb entry " + entry.str();
  auto n = build(entry, what);
  if (!n) return n.error();
  int err = rtnl_neigh_delete(sock.get(), n.value().get(), 0);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return false;
  if (err < 0) return nlError(err, what);
  return true;
}

Result<std::vector<FdbEntry>> listFdbEntries(NetlinkSocket& sock, int ifindex) {
  // A plain neighbour cache dump (AF_UNSPEC) leaves the bridge family out: ask for AF_BRIDGE.
  detail::CachePtr cache(nl_cache_alloc(nl_cache_ops_lookup("route/neigh")));
  if (!cache) return Error{ENOMEM, "listing fdb entries: out of memory"};
  nl_cache_set_arg1(cache.get(), AF_BRIDGE);
  if (int err = nl_cache_refill(sock.get(), cache.get()); err < 0) return nlError(err, "listing fdb entries");
  std::vector<FdbEntry> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* n = reinterpret_cast<rtnl_neigh*>(o);
    if (rtnl_neigh_get_family(n) != AF_BRIDGE) continue;
    if (ifindex && rtnl_neigh_get_ifindex(n) != ifindex) continue;
    if (!(rtnl_neigh_get_flags(n) & NTF_SELF)) continue;
    nl_addr* ll = rtnl_neigh_get_lladdr(n);
    if (!ll || nl_addr_get_len(ll) != 6) continue;
    FdbEntry e;
    e.ifindex = rtnl_neigh_get_ifindex(n);
    const auto* bytes = static_cast<const uint8_t*>(nl_addr_get_binary_addr(ll));
    std::copy(bytes, bytes + 6, e.mac.bytes.begin());
    if (nl_addr* dst = rtnl_neigh_get_dst(n)) {
      // libnl labels NDA_DST of a bridge entry by its length.
      unsigned len = nl_addr_get_len(dst);
      if (len == 4 || len == 16) {
        e.destination = IpAddress::fromBytes(len == 4 ? AF_INET : AF_INET6,
                                             static_cast<const uint8_t*>(nl_addr_get_binary_addr(dst)));
      }
    }
    e.permanent = (rtnl_neigh_get_state(n) & NUD_PERMANENT) != 0;
    out.push_back(e);
  }
  return out;
}

}  // namespace cnikit::toolkit
