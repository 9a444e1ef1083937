// The probe clients against the real probe server (`cnikitctl lab serve`) on loopback: TCP
// connects and gets the greeting (pod and peer) and echo, UDP is echoed and answers "whoami",
// a closed port is refused; the Service probe's parsing, frontend resolution and repeated
// connections.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cnikit/toolkit/UniqueFd.hpp>
#include "tools/lab/Probe.hpp"
#include "tools/lab/ProbeServer.hpp"
#include "tools/lab/Process.hpp"
#include "tools/lab/ServiceProbe.hpp"

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

// `lab serve` on port/TCP and port/UDP as pod x/a, once it listens (pid 0 when it did not start).
ProcessRecord startServer(uint16_t port) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return {};
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
  if (::poll(&pfd, 1, 5000) != 1 || ::read(readEnd.get(), &byte, 1) != 1) {
    terminate(server, std::chrono::seconds(2));
    return {};
  }
  return server;
}

TEST(LabProbe, ConnectsToTheProbeServerAndIsRefusedElsewhere) {
  uint16_t port = freePort();
  auto server = startServer(port);
  ASSERT_GT(server.pid, 0);

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
  // The greeting names the pod and the client as the server saw it (our own source port).
  sockaddr_in self{};
  socklen_t selfLen = sizeof self;
  ASSERT_EQ(::getsockname(c.get(), reinterpret_cast<sockaddr*>(&self), &selfLen), 0);
  EXPECT_EQ(got, "cnikit-lab x/a from 127.0.0.1:" + std::to_string(ntohs(self.sin_port)) + "\n");
  ASSERT_EQ(::send(c.get(), "ping\n", 5, 0), 5);
  ssize_t n = ::recv(c.get(), buf, sizeof buf, 0);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "ping\n");
  EXPECT_TRUE(terminate(server, std::chrono::seconds(2)));
}

TEST(LabProbe, ParsesGreetings) {
  auto v4 = parseProbeGreeting("cnikit-lab x/a from 10.250.0.250:41234\n");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->pod, "x/a");
  EXPECT_EQ(v4->peerAddress, "10.250.0.250");
  auto v6 = parseProbeGreeting(probeGreeting("y/b", "[fd00:250::250]:80"));
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->pod, "y/b");
  EXPECT_EQ(v6->peerAddress, "fd00:250::250");
  auto old = parseProbeGreeting("cnikit-lab x/a\n");  // without a peer
  ASSERT_TRUE(old);
  EXPECT_EQ(old->pod, "x/a");
  EXPECT_EQ(old->peerAddress, "");
  EXPECT_FALSE(parseProbeGreeting("hello\n"));
}

TEST(LabServiceProbe, ParsesTargets) {
  auto t = parseServiceProbeTarget("svc/x/web:http");
  EXPECT_EQ(t.ns, "x");
  EXPECT_EQ(t.name, "web");
  EXPECT_EQ(t.port, "http");
  EXPECT_EQ(parseServiceProbeTarget("svc/x/web").port, "");
  for (const char* bad : {"x/web", "svc/web", "svc//web", "svc/x/", "svc/x/web:", "pod/x/a"})
    EXPECT_THROW(parseServiceProbeTarget(bad), std::invalid_argument) << bad;
}

TEST(LabServiceProbe, ResolvesFrontendsFromTheStoredService) {
  LabState state;
  state.name = "t";
  for (int i = 1; i <= 2; ++i) {
    NodeState n;
    n.name = "node" + std::to_string(i);
    n.underlayIpv4 = "10.250.0." + std::to_string(10 + i);
    n.underlayIpv6 = "fd00:250::" + std::to_string(10 + i);
    state.nodes.push_back(n);
  }
  const nlohmann::json service = {
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata", {{"namespace", "x"}, {"name", "web"}}},
      {"spec",
       {{"type", "LoadBalancer"},
        {"clusterIP", "10.96.0.10"},
        {"clusterIPs", {"10.96.0.10", "fd00:96::10"}},
        {"ports",
         {{{"name", "http"}, {"protocol", "TCP"}, {"port", 80}, {"targetPort", 8080}, {"nodePort", 30080}},
          {{"name", "dns"}, {"protocol", "UDP"}, {"port", 53}, {"targetPort", 53}, {"nodePort", 30053}},
          {{"name", "dns-tcp"}, {"protocol", "TCP"}, {"port", 53}, {"targetPort", 53}, {"nodePort", 30054}}}}}},
      {"status", {{"loadBalancer", {{"ingress", {{{"ip", "10.250.200.1"}}}}}}}}};
  ServiceProbeOptions o;
  o.target = parseServiceProbeTarget("svc/x/web:http");
  auto f = resolveServiceFrontends(service, state, o);
  EXPECT_EQ(f.protocol, k8s::Protocol::TCP);
  EXPECT_EQ(f.port, 80);
  ASSERT_EQ(f.addresses.size(), 1u);
  EXPECT_EQ(f.addresses[0].str(), "10.96.0.10:80");

  o.ipv6 = true;
  EXPECT_EQ(resolveServiceFrontends(service, state, o).addresses.at(0).str(), "[fd00:96::10]:80");

  // Port 53 is served on UDP and TCP: the protocol picks one; a number alone is ambiguous.
  o.ipv6 = false;
  o.target = parseServiceProbeTarget("svc/x/web:53");
  EXPECT_THROW(resolveServiceFrontends(service, state, o), std::runtime_error);
  o.protocol = k8s::Protocol::UDP;
  o.frontend = ServiceFrontend::NodePort;
  f = resolveServiceFrontends(service, state, o);
  EXPECT_EQ(f.protocol, k8s::Protocol::UDP);
  ASSERT_EQ(f.addresses.size(), 2u);  // every node
  EXPECT_EQ(f.addresses[0].str(), "10.250.0.11:30053");
  EXPECT_EQ(f.addresses[1].via, "node2");
  o.nodes = {"node2"};
  EXPECT_EQ(resolveServiceFrontends(service, state, o).addresses.at(0).str(), "10.250.0.12:30053");
  o.nodes = {"node9"};
  EXPECT_THROW(resolveServiceFrontends(service, state, o), std::runtime_error);

  o.nodes.clear();
  o.protocol.reset();
  o.target = parseServiceProbeTarget("svc/x/web:http");
  o.frontend = ServiceFrontend::LoadBalancer;
  EXPECT_EQ(resolveServiceFrontends(service, state, o).addresses.at(0).str(), "10.250.200.1:80");
  o.ipv6 = true;  // no IPv6 ingress
  EXPECT_THROW(resolveServiceFrontends(service, state, o), std::runtime_error);

  // Several ports and none named; a ClusterIP Service has no nodePort.
  o.ipv6 = false;
  o.frontend = ServiceFrontend::ClusterIP;
  o.target = parseServiceProbeTarget("svc/x/web");
  EXPECT_THROW(resolveServiceFrontends(service, state, o), std::runtime_error);
  auto clusterIpOnly = service;
  clusterIpOnly["spec"]["type"] = "ClusterIP";
  clusterIpOnly["spec"]["ports"] = {{{"protocol", "TCP"}, {"port", 80}, {"targetPort", 80}}};
  EXPECT_EQ(resolveServiceFrontends(clusterIpOnly, state, o).port, 80);
  o.frontend = ServiceFrontend::NodePort;
  EXPECT_THROW(resolveServiceFrontends(clusterIpOnly, state, o), std::runtime_error);
}

TEST(LabServiceProbe, CountsWhoAnsweredAndWhy) {
  uint16_t port = freePort();
  auto server = startServer(port);
  ASSERT_GT(server.pid, 0);
  ServiceProbeRow tcp;
  connectRepeatedly("127.0.0.1", port, k8s::Protocol::TCP, 30, std::chrono::seconds(2), tcp);
  EXPECT_EQ(tcp.connections, 30);
  EXPECT_EQ(tcp.answered, (std::map<std::string, int>{{"x/a", 30}}));
  EXPECT_TRUE(tcp.failed.empty());
  EXPECT_EQ(tcp.seenFrom, (std::map<std::string, int>{{"127.0.0.1", 30}}));

  ServiceProbeRow udp;
  connectRepeatedly("::1", port, k8s::Protocol::UDP, 5, std::chrono::seconds(2), udp);
  EXPECT_EQ(udp.answered, (std::map<std::string, int>{{"x/a", 5}}));
  EXPECT_EQ(udp.seenFrom, (std::map<std::string, int>{{"::1", 5}}));

  ServiceProbeRow refused;
  uint16_t closed = freePort();
  connectRepeatedly("127.0.0.1", closed, k8s::Protocol::TCP, 3, std::chrono::seconds(2), refused);
  connectRepeatedly("127.0.0.1", closed, k8s::Protocol::UDP, 2, std::chrono::seconds(2), refused);
  EXPECT_EQ(refused.connections, 5);
  EXPECT_TRUE(refused.answered.empty());
  EXPECT_EQ(refused.failed, (std::map<std::string, int>{{"Connection refused", 5}}));
  EXPECT_TRUE(terminate(server, std::chrono::seconds(2)));
}

}  // namespace
}  // namespace cnikit::lab
