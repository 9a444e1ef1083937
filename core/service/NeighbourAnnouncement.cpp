#include "core/service/NeighbourAnnouncement.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <cnikit/toolkit/UniqueFd.hpp>

namespace cnikit::service {

namespace {

toolkit::Status sysError(const std::string& what) { return toolkit::Error{errno, what + ": " + std::strerror(errno)}; }

// ARP request with sender = target = the address (RFC 5227's announcement), broadcast.
toolkit::Status gratuitousArp(int ifindex, const toolkit::MacAddress& mac, const in_addr& ip) {
  toolkit::UniqueFd fd(::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP)));
  if (!fd) return sysError("gratuitous ARP: socket");
  struct [[gnu::packed]] {
    arphdr header;
    uint8_t senderMac[6];
    uint8_t senderIp[4];
    uint8_t targetMac[6];
    uint8_t targetIp[4];
  } packet{};
  packet.header.ar_hrd = htons(ARPHRD_ETHER);
  packet.header.ar_pro = htons(ETH_P_IP);
  packet.header.ar_hln = 6;
  packet.header.ar_pln = 4;
  packet.header.ar_op = htons(ARPOP_REQUEST);
  std::memcpy(packet.senderMac, mac.bytes.data(), 6);
  std::memcpy(packet.senderIp, &ip, 4);
  std::memcpy(packet.targetIp, &ip, 4);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ARP);
  to.sll_ifindex = ifindex;
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xff, 6);
  if (::sendto(fd.get(), &packet, sizeof packet, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
    return sysError("gratuitous ARP: sendto");
  return {};
}

// Unsolicited NA (RFC 4861 7.2.6): Override set, Solicited clear, target link-layer option.
toolkit::Status unsolicitedNa(int ifindex, const toolkit::MacAddress& mac, const in6_addr& ip) {
  toolkit::UniqueFd fd(::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6));
  if (!fd) return sysError("unsolicited NA: socket");
  int hops = 255;  // receivers drop ND messages with any other hop limit
  if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) < 0)
    return sysError("unsolicited NA: IPV6_MULTICAST_HOPS");
  if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex) < 0)
    return sysError("unsolicited NA: IPV6_MULTICAST_IF");
  struct [[gnu::packed]] {
    nd_neighbor_advert advert;
    uint8_t optionType;
    uint8_t optionLength;  // in units of 8 bytes
    uint8_t linkAddress[6];
  } packet{};
  packet.advert.nd_na_type = ND_NEIGHBOR_ADVERT;
  packet.advert.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE;
  packet.advert.nd_na_target = ip;
  packet.optionType = ND_OPT_TARGET_LINKADDR;
  packet.optionLength = 1;
  std::memcpy(packet.linkAddress, mac.bytes.data(), 6);
  sockaddr_in6 to{};
  to.sin6_family = AF_INET6;
  to.sin6_scope_id = static_cast<uint32_t>(ifindex);
  inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
  // The source is the announced address itself (IPV6_PKTINFO); the kernel fills the checksum.
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(in6_pktinfo))> control{};
  iovec iov{&packet, sizeof packet};
  msghdr msg{};
  msg.msg_name = &to;
  msg.msg_namelen = sizeof to;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = IPPROTO_IPV6;
  cmsg->cmsg_type = IPV6_PKTINFO;
  cmsg->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
  in6_pktinfo info{};
  info.ipi6_addr = ip;
  info.ipi6_ifindex = static_cast<unsigned>(ifindex);
  std::memcpy(CMSG_DATA(cmsg), &info, sizeof info);
  if (::sendmsg(fd.get(), &msg, 0) < 0) return sysError("unsolicited NA: sendmsg");
  return {};
}

}  // namespace

toolkit::Status announceAddress(int ifindex, const toolkit::MacAddress& mac, const std::string& address) {
  in_addr v4{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return gratuitousArp(ifindex, mac, v4);
  in6_addr v6{};
  if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) return unsolicitedNa(ifindex, mac, v6);
  return toolkit::Error{EINVAL, "announce: '" + address + "' is not an IP address"};
}

}  // namespace cnikit::service
