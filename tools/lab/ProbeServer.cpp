#include "tools/lab/ProbeServer.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <cnikit/toolkit/UniqueFd.hpp>

namespace cnikit::lab {

namespace {

struct Listener {
  toolkit::UniqueFd fd;
  ServedPort port;
};

toolkit::UniqueFd bindPort(const ServedPort& p) {
  int type = p.protocol == k8s::Protocol::UDP ? SOCK_DGRAM : SOCK_STREAM;
  std::string what = std::to_string(p.port) + "/" + k8s::protocolName(p.protocol);
  toolkit::UniqueFd fd(::socket(AF_INET6, type | SOCK_CLOEXEC, 0));
  int one = 1, zero = 0;
  if (fd) {
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in6 any{};
    any.sin6_family = AF_INET6;
    any.sin6_port = htons(p.port);
    any.sin6_addr = in6addr_any;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&any), sizeof any) != 0) fd.reset();
  }
  if (!fd) {  // no IPv6 in this namespace: IPv4 only
    fd = toolkit::UniqueFd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
    if (!fd) throw std::runtime_error("socket for " + what + ": " + std::strerror(errno));
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(p.port);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&any), sizeof any) != 0)
      throw std::runtime_error("cannot bind " + what + ": " + std::strerror(errno));
  }
  if (type == SOCK_STREAM && ::listen(fd.get(), 512) != 0)
    throw std::runtime_error("cannot listen on " + what + ": " + std::strerror(errno));
  return fd;
}

void serveConnection(int fd, std::string greeting) {
  toolkit::UniqueFd conn(fd);
  if (::send(conn.get(), greeting.data(), greeting.size(), MSG_NOSIGNAL) < 0) return;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::send(conn.get(), buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return;
      off += w;
    }
  }
}

// "10.250.0.250:41234" (an IPv4-mapped peer of the dual-stack socket as IPv4) or "[fd00::1]:41234".
std::string peerText(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (peer.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&peer);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    port = ntohs(a->sin_port);
    return std::string(text) + ":" + std::to_string(port);
  }
  const auto* a = reinterpret_cast<const sockaddr_in6*>(&peer);
  port = ntohs(a->sin6_port);
  if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
    ::inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], text, sizeof text);
    return std::string(text) + ":" + std::to_string(port);
  }
  ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
  return "[" + std::string(text) + "]:" + std::to_string(port);
}

}  // namespace

std::string probeGreeting(const std::string& podKey, const std::string& peer) {
  return "cnikit-lab " + podKey + " from " + peer + "\n";
}

std::optional<ProbeAnswer> parseProbeGreeting(std::string_view line) {
  constexpr std::string_view kPrefix = "cnikit-lab ";
  if (line.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  line.remove_prefix(kPrefix.size());
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  ProbeAnswer answer;
  auto from = line.find(" from ");
  answer.pod = std::string(line.substr(0, from));
  if (from == std::string_view::npos) return answer;
  std::string peer(line.substr(from + 6));
  // "[v6]:port" or "v4:port": the address without the port.
  if (!peer.empty() && peer.front() == '[') {
    answer.peerAddress = peer.substr(1, peer.find(']') - 1);
  } else {
    answer.peerAddress = peer.substr(0, peer.rfind(':'));
  }
  return answer;
}

std::vector<ServedPort> parseServedPorts(const std::string& text) {
  std::vector<ServedPort> out;
  size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(',', start);
    std::string item = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    start = end == std::string::npos ? text.size() + 1 : end + 1;
    if (item.empty()) continue;
    ServedPort p;
    auto slash = item.find('/');
    std::string number = item.substr(0, slash);
    if (slash != std::string::npos) {
      std::string proto = item.substr(slash + 1);
      for (auto& c : proto) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      auto parsed = k8s::parseProtocol(proto);
      if (!parsed || *parsed == k8s::Protocol::SCTP)
        throw std::invalid_argument("port '" + item + "': protocol must be TCP or UDP");
      p.protocol = *parsed;
    }
    char* rest = nullptr;
    long value = std::strtol(number.c_str(), &rest, 10);
    if (number.empty() || *rest || value < 1 || value > 65535)
      throw std::invalid_argument("port '" + item + "': not a port number in 1..65535");
    p.port = static_cast<uint16_t>(value);
    out.push_back(p);
  }
  if (out.empty()) throw std::invalid_argument("no ports to serve");
  return out;
}

void serveProbes(const std::vector<ServedPort>& ports, const std::string& podKey, int readyFd) {
  ::signal(SIGPIPE, SIG_IGN);
  std::vector<Listener> listeners;
  for (const auto& p : ports) listeners.push_back({bindPort(p), p});
  if (readyFd >= 0) {
    char byte = 1;
    (void)!::write(readyFd, &byte, 1);
    ::close(readyFd);
  }
  std::vector<pollfd> fds;
  for (const auto& l : listeners) fds.push_back({l.fd.get(), POLLIN, 0});
  char buf[65536];
  for (;;) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      if (listeners[i].port.protocol == k8s::Protocol::TCP) {
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        int conn = ::accept4(fds[i].fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
        if (conn >= 0) std::thread(serveConnection, conn, probeGreeting(podKey, peerText(peer))).detach();
        continue;
      }
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      ssize_t n = ::recvfrom(fds[i].fd, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) continue;
      std::string_view datagram(buf, static_cast<size_t>(n));
      if (datagram == kWhoami || datagram == std::string(kWhoami) + "\n") {
        std::string answer = probeGreeting(podKey, peerText(from));
        ::sendto(fds[i].fd, answer.data(), answer.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), len);
      } else {
        ::sendto(fds[i].fd, buf, static_cast<size_t>(n), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), len);
      }
    }
  }
}

}  // namespace cnikit::lab
