#include "KernelCounter.hpp"

#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <vector>

#include "tools/lab/Netns.hpp"

namespace cnikit::bench {

namespace {

// Sends one dump request and calls f for every message until NLMSG_DONE.
void dump(int fd, unsigned seq, uint16_t type, const void* body, size_t bodyLength,
          const std::function<void(const nlmsghdr*)>& f) {
  std::vector<char> request(NLMSG_SPACE(bodyLength));
  auto* h = reinterpret_cast<nlmsghdr*>(request.data());
  h->nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(bodyLength));
  h->nlmsg_type = type;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  h->nlmsg_seq = seq;
  std::memcpy(NLMSG_DATA(h), body, bodyLength);
  if (::send(fd, request.data(), h->nlmsg_len, 0) < 0)
    throw std::runtime_error(std::string("netlink send: ") + std::strerror(errno));
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("netlink recv: ") + std::strerror(errno));
    }
    for (auto* m = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(m, static_cast<unsigned>(n));
         m = NLMSG_NEXT(m, n)) {
      if (m->nlmsg_seq != seq) continue;
      if (m->nlmsg_type == NLMSG_DONE) return;
      if (m->nlmsg_type == NLMSG_ERROR) throw std::runtime_error("netlink dump failed");
      f(m);
    }
  }
}

}  // namespace

KernelCounter::KernelCounter(const std::string& netnsPath) : netnsPath_(netnsPath) {
  auto inside = toolkit::NetnsGuard::enter(netnsPath).value();
  fd_ = toolkit::UniqueFd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd_) throw std::runtime_error("netlink socket in " + netnsPath + ": " + std::strerror(errno));
  int size = 4 << 20;
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

size_t KernelCounter::routes(int protocol) {
  rtmsg r{};
  r.rtm_family = AF_INET;
  size_t count = 0;
  dump(fd_.get(), ++seq_, RTM_GETROUTE, &r, sizeof r, [&](const nlmsghdr* m) {
    const auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(m));
    if (rt->rtm_protocol == protocol && rt->rtm_table == RT_TABLE_MAIN) ++count;
  });
  return count;
}

bool KernelCounter::hasRoute(int protocol, const std::string& dst, int prefix) {
  in_addr want{};
  if (::inet_pton(AF_INET, dst.c_str(), &want) != 1) return false;
  rtmsg r{};
  r.rtm_family = AF_INET;
  bool found = false;
  dump(fd_.get(), ++seq_, RTM_GETROUTE, &r, sizeof r, [&](const nlmsghdr* m) {
    const auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(m));
    if (rt->rtm_protocol != protocol || rt->rtm_dst_len != prefix) return;
    int len = static_cast<int>(RTM_PAYLOAD(m));
    for (auto* a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len))
      if (a->rta_type == RTA_DST && std::memcmp(RTA_DATA(a), &want, sizeof want) == 0) found = true;
  });
  return found;
}

int KernelCounter::ifindex(const std::string& device) {
  auto inside = toolkit::NetnsGuard::enter(netnsPath_).value();
  return static_cast<int>(::if_nametoindex(device.c_str()));
}

size_t KernelCounter::fdbEntries(const std::string& device) {
  int index = ifindex(device);
  if (index == 0) return 0;
  ndmsg n{};
  n.ndm_family = AF_BRIDGE;
  size_t count = 0;
  dump(fd_.get(), ++seq_, RTM_GETNEIGH, &n, sizeof n, [&](const nlmsghdr* m) {
    const auto* nd = static_cast<const ndmsg*>(NLMSG_DATA(m));
    if (nd->ndm_ifindex != index) return;
    int len = static_cast<int>(m->nlmsg_len - NLMSG_LENGTH(sizeof(ndmsg)));
    for (auto* a =
             reinterpret_cast<rtattr*>(reinterpret_cast<char*>(const_cast<ndmsg*>(nd)) + NLMSG_ALIGN(sizeof(ndmsg)));
         RTA_OK(a, len); a = RTA_NEXT(a, len))
      if (a->rta_type == NDA_DST) {
        ++count;
        break;
      }
  });
  return count;
}

size_t KernelCounter::permanentNeighbours(const std::string& device) {
  int index = ifindex(device);
  if (index == 0) return 0;
  ndmsg n{};
  n.ndm_family = AF_INET;
  size_t count = 0;
  dump(fd_.get(), ++seq_, RTM_GETNEIGH, &n, sizeof n, [&](const nlmsghdr* m) {
    const auto* nd = static_cast<const ndmsg*>(NLMSG_DATA(m));
    if (nd->ndm_ifindex == index && (nd->ndm_state & NUD_PERMANENT)) ++count;
  });
  return count;
}

}  // namespace cnikit::bench
