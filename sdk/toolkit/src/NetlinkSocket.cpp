#include <cnikit/toolkit/NetlinkSocket.hpp>
#include <cnikit/toolkit/NetnsGuard.hpp>

#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <cerrno>

namespace cnikit::toolkit {

Result<NetlinkSocket> NetlinkSocket::open() {
  nl_sock* sock = nl_socket_alloc();
  if (!sock) return Error{ENOMEM, "allocating a netlink socket: out of memory"};
  NetlinkSocket owner(sock);
  if (int err = nl_connect(sock, NETLINK_ROUTE); err < 0) return nlError(err, "connecting an rtnetlink socket");
  return owner;
}

Result<NetlinkSocket> NetlinkSocket::openIn(const Netns& ns) {
  auto guard = NetnsGuard::enter(ns);
  if (!guard) return guard.error();
  auto sock = open();
  if (auto restored = guard.value().restore(); !restored) return restored.error();
  if (!sock) return Error{sock.error().code, sock.error().message + " in '" + ns.path() + "'"};
  return sock;
}

NetlinkSocket::~NetlinkSocket() {
  if (sock_) nl_socket_free(sock_);  // closes the fd too
}

NetlinkSocket& NetlinkSocket::operator=(NetlinkSocket&& other) noexcept {
  if (this != &other) {
    if (sock_) nl_socket_free(sock_);
    sock_ = std::exchange(other.sock_, nullptr);
  }
  return *this;
}

}  // namespace cnikit::toolkit
