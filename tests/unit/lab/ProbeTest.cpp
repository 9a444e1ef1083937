// The probe client against the real probe server (`cnikitctl lab serve`) on loopback: TCP
// connects and gets the greeting and echo, UDP is echoed, a closed port is refused.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/lab/Probe.hpp"
#include "tools/lab/ProbeServer.hpp"
#include "tools/lab/Process.hpp"
#include <cnikit/toolkit/UniqueFd.hpp>

namespace cnikit::lab {
namespace {

// A port nobody listens on right now (TCP and UDP), from the kernel's ephemeral range.
uint16_t freePort() {
  toolkit::UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

TEST(LabProbe, ParsesServedPorts) {
  auto ports = parseServedPorts("80/TCP,80/udp,81");
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(ports[1].protocol, k8s::Protocol::UDP);
  EXPECT_EQ(ports[2].protocol, k8s::Protocol::TCP);
  EXPECT_EQ(ports[2].port, 81);
  EXPECT_THROW(parseServedPorts("0/TCP"), std::invalid_argument);
  EXPECT_THROW(parseServedPorts("80/SCTP"), std::invalid_argument);
  EXPECT_THROW(parseServedPorts(""), std::invalid_argument);
}

TEST(LabProbe, ConnectsToTheProbeServerAndIsRefusedElsewhere) {
  uint16_t port = freePort();
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  toolkit::UniqueFd readEnd(ready[0]), writeEnd(ready[1]);
  std::string p = std::to_string(port);
  auto server = spawnDaemon(
      {{CNIKITCTL_PATH, "lab", "serve", "--ports", p + "/TCP," + p + "/UDP", "--pod", "x/a", "--ready-fd", "3"},
       "",
       "",
       writeEnd.get()});
  writeEnd.reset();
  pollfd pfd{readEnd.get(), POLLIN, 0};
  char byte;
  ASSERT_EQ(::poll(&pfd, 1, 5000), 1);
  ASSERT_EQ(::read(readEnd.get(), &byte, 1), 1);

  EXPECT_EQ(probeOnce("127.0.0.1", port, k8s::Protocol::TCP, std::chrono::seconds(1)), "");
  EXPECT_EQ(probeOnce("127.0.0.1", port, k8s::Protocol::UDP, std::chrono::seconds(1)), "");
  EXPECT_EQ(probeOnce("::1", port, k8s::Protocol::TCP, std::chrono::seconds(1)), "");  // dual-stack
  EXPECT_EQ(probeOnce("127.0.0.1", freePort(), k8s::Protocol::TCP, std::chrono::seconds(1)), "Connection refused");
  EXPECT_EQ(probeOnce("127.0.0.1", freePort(), k8s::Protocol::UDP, std::chrono::seconds(1)), "Connection refused");

  // TCP: the greeting names the pod, then what is sent comes back.
  toolkit::UniqueFd c(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::string got;
  char buf[256];
  while (got.find('\n') == std::string::npos) {
    ssize_t n = ::recv(c.get(), buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(got, "cnikit-lab x/a\n");
  ASSERT_EQ(::send(c.get(), "ping\n", 5, 0), 5);
  ssize_t n = ::recv(c.get(), buf, sizeof buf, 0);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "ping\n");
  EXPECT_TRUE(terminate(server, std::chrono::seconds(2)));
}

}  // namespace
}  // namespace cnikit::lab
