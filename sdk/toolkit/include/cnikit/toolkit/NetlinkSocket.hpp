#pragma once
// An rtnetlink socket (libnl nl_sock) owned RAII-style. A netlink socket works in the
// network namespace it was created in, whatever namespace the thread is in later: create
// one per namespace and reuse it for every call of a request.
#include <utility>

#include <cnikit/toolkit/Netns.hpp>
#include <cnikit/toolkit/Result.hpp>

struct nl_sock;

namespace cnikit::toolkit {

class NetlinkSocket {
 public:
  // A NETLINK_ROUTE socket in the calling thread's namespace.
  static Result<NetlinkSocket> open();
  // A socket bound to ns: the thread enters ns only while the socket is created.
  static Result<NetlinkSocket> openIn(const Netns& ns);

  ~NetlinkSocket();
  NetlinkSocket(NetlinkSocket&& other) noexcept : sock_(std::exchange(other.sock_, nullptr)) {}
  NetlinkSocket& operator=(NetlinkSocket&& other) noexcept;
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  // For direct libnl calls; owned by this object.
  nl_sock* get() const { return sock_; }

 private:
  explicit NetlinkSocket(nl_sock* sock) : sock_(sock) {}
  nl_sock* sock_ = nullptr;
};

}  // namespace cnikit::toolkit
