#include <cnikit/toolkit/Veth.hpp>

#include <net/if.h>
#include <netlink/route/link/veth.h>

#include <cerrno>
#include <memory>

#include "Nl.hpp"

namespace cnikit::toolkit {

Status createVeth(NetlinkSocket& sock, const VethSpec& spec) {
  std::string label = "creating veth '" + spec.name + "' (peer '" + spec.peerName + "'" +
                      (spec.peerNetns ? " in '" + spec.peerNetns->path() + "'" : std::string()) + ")";
  if (auto valid = validateIfname(spec.name); !valid) return Error{EINVAL, label + ": " + valid.error().message};
  if (auto valid = validateIfname(spec.peerName); !valid) return Error{EINVAL, label + ": " + valid.error().message};

  // A veth object and its peer refer to each other: rtnl_link_veth_release frees both.
  struct VethRelease {
    void operator()(rtnl_link* l) const { rtnl_link_veth_release(l); }
  };
  std::unique_ptr<rtnl_link, VethRelease> link(rtnl_link_veth_alloc());
  if (!link) return Error{ENOMEM, label + ": out of memory"};
  detail::LinkPtr peer(rtnl_link_veth_get_peer(link.get()));  // our own reference, dropped first
  rtnl_link_set_name(link.get(), spec.name.c_str());
  rtnl_link_set_name(peer.get(), spec.peerName.c_str());
  if (spec.mtu) {
    rtnl_link_set_mtu(link.get(), spec.mtu);
    rtnl_link_set_mtu(peer.get(), spec.mtu);
  }
  if (spec.mac) {
    detail::NlAddrPtr addr(nl_addr_build(AF_LLC, spec.mac->bytes.data(), 6));
    rtnl_link_set_addr(link.get(), addr.get());
  }
  if (spec.peerMac) {
    detail::NlAddrPtr addr(nl_addr_build(AF_LLC, spec.peerMac->bytes.data(), 6));
    rtnl_link_set_addr(peer.get(), addr.get());
  }
  if (spec.peerNetns) rtnl_link_set_ns_fd(peer.get(), spec.peerNetns->fd());
  if (spec.master) rtnl_link_set_master(link.get(), spec.master);
  if (spec.up) rtnl_link_set_flags(link.get(), IFF_UP);

  if (int err = rtnl_link_add(sock.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) return nlError(err, label);
  return {};
}

}  // namespace cnikit::toolkit
