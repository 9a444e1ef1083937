#include <cnikit/toolkit/Veth.hpp>

#include <net/if.h>
#include <netlink/route/link/veth.h>

#include <cerrno>
#include <memory>

#include "Nl.hpp"

namespace cnikit::toolkit {

namespace {

// Collects the echo of RTM_NEWLINK for the link named `name` until the kernel's ack.
struct Echo {
  const std::string* name = nullptr;
  std::optional<LinkInfo> link;
  bool acked = false;
};

int onLinkMessage(nl_msg* msg, void* arg) {
  auto* echo = static_cast<Echo*>(arg);
  nl_msg_parse(
      msg,
      [](nl_object* object, void* p) {
        auto* e = static_cast<Echo*>(p);
        auto* link = reinterpret_cast<rtnl_link*>(object);
        const char* name = rtnl_link_get_name(link);
        if (!e->link && name && *e->name == name) e->link = detail::toInfo(link);
      },
      echo);
  return NL_OK;
}

int onAck(nl_msg*, void* arg) {
  static_cast<Echo*>(arg)->acked = true;
  return NL_STOP;
}
int acceptAnySeq(nl_msg*, void*) { return NL_OK; }

}  // namespace

Result<LinkInfo> createVeth(NetlinkSocket& sock, const VethSpec& spec) {
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

  nl_msg* raw = nullptr;
  if (int err = rtnl_link_build_add_request(link.get(), NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, &raw); err < 0)
    return nlError(err, label);
  detail::MsgPtr msg(raw);
  if (int err = nl_send_auto(sock.get(), msg.get()); err < 0) return nlError(err, label);

  // The echo comes before the ack. Kernels before 6.3 send none: then look the link up.
  std::unique_ptr<nl_cb, decltype(&nl_cb_put)> cb(nl_cb_clone(nl_socket_get_cb(sock.get())), &nl_cb_put);
  if (!cb) return Error{ENOMEM, label + ": out of memory"};
  Echo echo{&spec.name, std::nullopt, false};
  nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, onLinkMessage, &echo);
  nl_cb_set(cb.get(), NL_CB_ACK, NL_CB_CUSTOM, onAck, &echo);
  nl_cb_set(cb.get(), NL_CB_SEQ_CHECK, NL_CB_CUSTOM, acceptAnySeq, nullptr);
  // One call returns after each (non-multipart) message: read until the ack.
  while (!echo.acked)
    if (int err = nl_recvmsgs(sock.get(), cb.get()); err < 0) return nlError(err, label);
  if (echo.link && echo.link->link != 0) return *echo.link;
  auto created = getLink(sock, spec.name);
  if (!created) return Error{created.error().code, label + ": " + created.error().message};
  return created.value();
}

}  // namespace cnikit::toolkit
