#include "tests/support/Ping.hpp"

#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "tests/support/NetnsThread.hpp"

namespace cnikit::testing {

namespace {

uint16_t checksum(const uint8_t* data, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (len & 1) sum += static_cast<uint32_t>(data[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons(static_cast<uint16_t>(~sum));
}

bool pingHere(const std::string& to, std::chrono::milliseconds timeout) {
  sockaddr_storage dst{};
  socklen_t dstLen = 0;
  int family = 0;
  auto* d4 = reinterpret_cast<sockaddr_in*>(&dst);
  auto* d6 = reinterpret_cast<sockaddr_in6*>(&dst);
  if (::inet_pton(AF_INET, to.c_str(), &d4->sin_addr) == 1) {
    family = d4->sin_family = AF_INET;
    dstLen = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, to.c_str(), &d6->sin6_addr) == 1) {
    family = d6->sin6_family = AF_INET6;
    dstLen = sizeof(sockaddr_in6);
  } else {
    throw std::runtime_error("ping: '" + to + "' is not an IP address");
  }
  int s = ::socket(family, SOCK_RAW | SOCK_CLOEXEC, family == AF_INET ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6});
  if (s < 0) throw std::runtime_error(std::string("ping: raw socket: ") + std::strerror(errno));

  static std::atomic<uint16_t> nextId{static_cast<uint16_t>(::getpid())};
  const uint16_t id = nextId++;
  uint16_t seq = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto nextSend = std::chrono::steady_clock::now();
  bool replied = false;
  while (!replied) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    if (now >= nextSend) {
      uint8_t pkt[64] = {};
      pkt[0] = family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
      uint16_t nid = htons(id), nseq = htons(++seq);
      std::memcpy(pkt + 4, &nid, 2);
      std::memcpy(pkt + 6, &nseq, 2);
      std::memcpy(pkt + 8, "cnikit-test-ping", 16);
      if (family == AF_INET) {  // the kernel fills the ICMPv6 checksum itself
        uint16_t sum = checksum(pkt, sizeof pkt);
        std::memcpy(pkt + 2, &sum, 2);
      }
      // Errors (e.g. no route yet) count as a lost request.
      ::sendto(s, pkt, sizeof pkt, 0, reinterpret_cast<sockaddr*>(&dst), dstLen);
      nextSend = now + std::chrono::milliseconds(100);
    }
    auto wait = std::min(deadline, nextSend) - std::chrono::steady_clock::now();
    int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
    pollfd pfd{s, POLLIN, 0};
    if (::poll(&pfd, 1, ms < 1 ? 1 : ms) <= 0) continue;
    uint8_t buf[2048];
    sockaddr_storage from{};
    socklen_t fromLen = sizeof from;
    ssize_t n = ::recvfrom(s, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fromLen);
    if (n <= 0) continue;
    const uint8_t* icmp = buf;
    size_t len = static_cast<size_t>(n);
    if (family == AF_INET) {  // raw IPv4 sockets deliver the IP header too
      size_t ihl = static_cast<size_t>(buf[0] & 0x0f) * 4;
      if (len < ihl + 8) continue;
      icmp += ihl;
      len -= ihl;
      if (reinterpret_cast<sockaddr_in*>(&from)->sin_addr.s_addr != d4->sin_addr.s_addr) continue;
      if (icmp[0] != ICMP_ECHOREPLY) continue;
    } else {
      if (len < 8) continue;
      if (std::memcmp(&reinterpret_cast<sockaddr_in6*>(&from)->sin6_addr, &d6->sin6_addr, 16) != 0) continue;
      if (icmp[0] != ICMP6_ECHO_REPLY) continue;
    }
    uint16_t rid;
    std::memcpy(&rid, icmp + 4, 2);
    if (ntohs(rid) == id) replied = true;
  }
  ::close(s);
  return replied;
}

}  // namespace

bool ping(const std::string& fromNetnsPath, const std::string& toAddress, std::chrono::milliseconds timeout) {
  return inNetnsThread(fromNetnsPath, [&] { return pingHere(toAddress, timeout); });
}

}  // namespace cnikit::testing
