// The iptables service proxy against the real kernel, in test-made namespaces: a node
// namespace with a bridge (pods a, b, c serve TCP/UDP and say who they are; pod d is a
// client) and an underlay veth to an "outside" namespace that is not part of the cluster.
// The proxy programs the node's namespace; the traffic must do what each Service asks.
// Root only; nothing touches the root namespace.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "core/service/iptables/IptablesServiceProxy.hpp"
#include "tests/support/Command.hpp"
#include "tests/support/NetnsSweeper.hpp"
#include "tests/support/NetnsThread.hpp"
#include "tests/support/ServerSocket.hpp"
#include "tests/support/TestNetns.hpp"

namespace cnikit::service::iptables {
namespace {

using testing::NetnsThread;
using testing::TestNetns;

constexpr uint16_t kServePort = 8080;  // answers "<pod> <client address>" and closes
constexpr uint16_t kEchoPort = 9090;   // echoes every line until the client closes
const std::string kNodeAddress = "192.168.60.2";
const std::string kOutsideAddress = "192.168.60.100";

std::string base(const std::string& what) {
  static std::atomic<int> counter{0};
  return "svc" + std::to_string(counter++) + "-" + what;
}

using testing::mustRun;

std::string peerAddress(const sockaddr_storage& from) {
  char text[INET6_ADDRSTRLEN] = {};
  auto* a6 = reinterpret_cast<const sockaddr_in6*>(&from);
  if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
    ::inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], text, sizeof text);
  else
    ::inet_ntop(AF_INET6, &a6->sin6_addr, text, sizeof text);
  return text;
}

// A pod's servers (dual-stack sockets): TCP and UDP on kServePort answer with the pod's name
// and the client address it sees; TCP on kEchoPort echoes until closed.
class PodServer {
 public:
  PodServer(const std::string& netnsPath, std::string name) : name_(std::move(name)) {
    stop_ = ::eventfd(0, EFD_CLOEXEC);
    std::promise<void> ready;
    auto started = ready.get_future();
    thread_ = std::thread([this, netnsPath, p = std::move(ready)]() mutable {
      try {
        testing::enterNetns(netnsPath);
        serveTcp_ = testing::openServerSocket(SOCK_STREAM, kServePort);
        serveUdp_ = testing::openServerSocket(SOCK_DGRAM, kServePort);
        echo_ = testing::openServerSocket(SOCK_STREAM, kEchoPort);
        p.set_value();
      } catch (...) {
        p.set_exception(std::current_exception());
        return;
      }
      loop();
    });
    started.get();
  }
  ~PodServer() {
    uint64_t one = 1;
    (void)!::write(stop_, &one, sizeof one);
    thread_.join();
    for (int fd : {serveTcp_, serveUdp_, echo_}) ::close(fd);
    for (int fd : echoing_) ::close(fd);
    ::close(stop_);
  }

 private:
  void loop() {
    for (;;) {
      std::vector<pollfd> fds{{stop_, POLLIN, 0}, {serveTcp_, POLLIN, 0}, {serveUdp_, POLLIN, 0}, {echo_, POLLIN, 0}};
      for (int fd : echoing_) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds[0].revents) return;
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      if (fds[1].revents) {
        int c = ::accept4(serveTcp_, reinterpret_cast<sockaddr*>(&from), &len, SOCK_CLOEXEC);
        if (c >= 0) {
          std::string answer = name_ + " " + peerAddress(from);
          (void)!::write(c, answer.data(), answer.size());
          ::close(c);
        }
      }
      if (fds[2].revents) {
        char buf[64];
        len = sizeof from;
        ssize_t n = ::recvfrom(serveUdp_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
        std::string answer = name_ + " " + peerAddress(from);
        if (n > 0) ::sendto(serveUdp_, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
      if (fds[3].revents) {
        int c = ::accept4(echo_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) echoing_.push_back(c);
      }
      for (size_t i = 4; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        char buf[256];
        ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n > 0) {
          (void)!::write(fds[i].fd, buf, static_cast<size_t>(n));
        } else {
          ::close(fds[i].fd);
          echoing_.erase(std::find(echoing_.begin(), echoing_.end(), fds[i].fd));
          break;  // fds is stale now
        }
      }
    }
  }

  std::string name_;
  int stop_ = -1, serveTcp_ = -1, serveUdp_ = -1, echo_ = -1;
  std::vector<int> echoing_;
  std::thread thread_;
};

sockaddr_storage socketAddress(const std::string& ip, uint16_t port, socklen_t& len) {
  sockaddr_storage addr{};
  if (ip.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    ::inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
    len = sizeof(sockaddr_in);
  }
  return addr;
}

bool waitFor(int fd, short events, int ms) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, ms) == 1 && (p.revents & (events | POLLERR | POLLHUP));
}

struct Answer {
  std::string text;  // "<pod> <client address as the pod saw it>"; "" when none
  int error = 0;     // errno of a failed connect (ECONNREFUSED, ETIMEDOUT for no answer)
  std::string pod() const { return text.substr(0, text.find(' ')); }
  std::string client() const { return text.find(' ') == std::string::npos ? "" : text.substr(text.find(' ') + 1); }
};

// One TCP connection (or UDP exchange) from inside `fromNetns` to ip:kServePort. A
// connection that gets no answer at all waits 3 s and reports ETIMEDOUT.
Answer ask(const std::string& fromNetns, const std::string& ip, uint16_t port, bool udp = false) {
  Answer answer;
  std::thread t([&] {
    testing::enterNetns(fromNetns);
    socklen_t len = 0;
    auto addr = socketAddress(ip, port, len);
    int fd = ::socket(addr.ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 && errno != EINPROGRESS) {
      answer.error = errno;
      ::close(fd);
      return;
    }
    if (udp) (void)!::send(fd, "hi", 2, 0);
    if (!udp) {
      if (!waitFor(fd, POLLOUT, 3000)) {
        answer.error = ETIMEDOUT;
        ::close(fd);
        return;
      }
      int err = 0;
      socklen_t errLen = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errLen);
      if (err) {
        answer.error = err;
        ::close(fd);
        return;
      }
    }
    char buf[128] = {};
    if (waitFor(fd, POLLIN, 3000)) {
      ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
      if (n > 0)
        answer.text.assign(buf, static_cast<size_t>(n));
      else
        answer.error = n < 0 ? errno : ECONNRESET;
    } else {
      answer.error = ETIMEDOUT;
    }
    ::close(fd);
  });
  t.join();
  return answer;
}

// A TCP connection kept open from a client namespace (to the echo port).
class OpenConnection {
 public:
  OpenConnection(const std::string& fromNetns, const std::string& ip) {
    std::thread t([&] {
      testing::enterNetns(fromNetns);
      socklen_t len = 0;
      auto addr = socketAddress(ip, kEchoPort, len);
      fd_ = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      timeval timeout{3, 0};
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
        ::close(fd_);
        fd_ = -1;
      }
    });
    t.join();
  }
  ~OpenConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return fd_ >= 0; }
  // Sends a line and reads it back.
  bool echoes(const std::string& line) {
    if (fd_ < 0 || ::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return false;
    std::string got;
    char buf[64];
    while (got.size() < line.size()) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return false;
      got.append(buf, static_cast<size_t>(n));
    }
    return got == line;
  }

 private:
  int fd_ = -1;
};

// One UDP socket connected from a client namespace: every datagram is one flow (the same
// source port), which conntrack keeps on the backend it was first sent to.
class UdpFlow {
 public:
  UdpFlow(const std::string& fromNetns, const std::string& ip, uint16_t port) {
    std::thread t([&] {
      testing::enterNetns(fromNetns);
      socklen_t len = 0;
      auto addr = socketAddress(ip, port, len);
      fd_ = ::socket(addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
        ::close(fd_);
        fd_ = -1;
      }
    });
    t.join();
  }
  ~UdpFlow() {
    if (fd_ >= 0) ::close(fd_);
  }
  // The answering pod's name, "" when none answered within 2 s.
  std::string ask() {
    if (fd_ < 0 || ::send(fd_, "hi", 2, 0) != 2 || !waitFor(fd_, POLLIN, 2000)) return "";
    char buf[128] = {};
    ssize_t n = ::recv(fd_, buf, sizeof buf - 1, 0);
    if (n <= 0) return "";
    std::string text(buf, static_cast<size_t>(n));
    return text.substr(0, text.find(' '));
  }

 private:
  int fd_ = -1;
};

struct Pod {
  std::string name;
  std::string ipv4;
  std::string ipv6;
};

class ServiceIptables : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { testing::sweepStaleNetns(); }

  void SetUp() override {
    node_ = std::make_unique<TestNetns>(base("node"));
    outside_ = std::make_unique<TestNetns>(base("out"));
    const std::string n = node_->name();
    mustRun({"ip", "-n", n, "link", "add", "br0", "type", "bridge"});
    mustRun({"ip", "-n", n, "link", "set", "br0", "up"});
    mustRun({"ip", "-n", n, "addr", "add", "10.60.0.1/24", "dev", "br0"});
    mustRun({"ip", "-n", n, "addr", "add", "fd60::1/64", "dev", "br0", "nodad"});
    // The underlay: the node's eth0 facing a client outside the cluster.
    mustRun({"ip", "-n", n, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", outside_->name()});
    mustRun({"ip", "-n", n, "addr", "add", kNodeAddress + "/24", "dev", "eth0"});
    mustRun({"ip", "-n", n, "link", "set", "eth0", "up"});
    mustRun({"ip", "-n", outside_->name(), "addr", "add", kOutsideAddress + "/24", "dev", "eth0"});
    mustRun({"ip", "-n", outside_->name(), "link", "set", "eth0", "up"});
    // Nodes have a default route: traffic to a Service address is routable before DNAT.
    mustRun({"ip", "-n", n, "route", "add", "default", "via", kOutsideAddress});
    // The node routes; replies between pods on the bridge pass netfilter (un-DNAT).
    for (const char* sysctl : {"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                               "net.bridge.bridge-nf-call-iptables=1", "net.bridge.bridge-nf-call-ip6tables=1"})
      mustRun({"ip", "netns", "exec", n, "sysctl", "-q", "-w", sysctl});
    for (const Pod& pod : {Pod{"a", "10.60.0.11", "fd60::11"}, Pod{"b", "10.60.0.12", "fd60::12"},
                           Pod{"c", "10.60.0.13", "fd60::13"}, Pod{"d", "10.60.0.20", "fd60::20"}})
      addPod(pod);
    nodeThread_ = std::make_unique<NetnsThread>(node_->path());
    proxy_ = nodeThread_->call([] { return std::make_unique<IptablesServiceProxy>(); });
    context_.name = "node-a";
    context_.nodeAddresses = {kNodeAddress};
    context_.podCidrs = {"10.60.0.0/24", "fd60::/64"};
  }

  void TearDown() override {
    if (proxy_) nodeThread_->call([&] { proxy_->removeAll(); });
    proxy_.reset();
    nodeThread_.reset();
    servers_.clear();
    pods_.clear();
    outside_.reset();
    node_.reset();
  }

  void addPod(const Pod& pod) {
    auto netns = std::make_unique<TestNetns>(base(pod.name));
    std::string veth = "veth-" + pod.name;
    mustRun({"ip", "-n", node_->name(), "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns",
             netns->name()});
    mustRun({"ip", "-n", node_->name(), "link", "set", veth, "master", "br0", "up"});
    // As the CNI bridge plugin's hairpinMode: a DNATed packet bridged back to its own port.
    mustRun({"ip", "-n", node_->name(), "link", "set", veth, "type", "bridge_slave", "hairpin", "on"});
    mustRun({"ip", "-n", netns->name(), "addr", "add", pod.ipv4 + "/24", "dev", "eth0"});
    mustRun({"ip", "-n", netns->name(), "addr", "add", pod.ipv6 + "/64", "dev", "eth0", "nodad"});
    mustRun({"ip", "-n", netns->name(), "link", "set", "eth0", "up"});
    mustRun({"ip", "-n", netns->name(), "route", "add", "default", "via", "10.60.0.1"});
    mustRun({"ip", "-n", netns->name(), "-6", "route", "add", "default", "via", "fd60::1"});
    servers_.push_back(std::make_unique<PodServer>(netns->path(), pod.name));
    pods_[pod.name] = std::move(netns);
  }

  std::string pod(const std::string& name) const { return pods_.at(name)->path(); }

  static Backend backend(const std::string& ip, bool local = true) {
    Backend b;
    b.address = ip;
    b.port = kServePort;
    b.node = "node-a";
    b.local = local;
    return b;
  }

  static Service service(const std::string& name, const std::string& clusterIP, std::vector<Backend> backends,
                         k8s::Protocol protocol = k8s::Protocol::TCP) {
    Service s;
    s.ns = "default";
    s.name = name;
    s.clusterIPs = {clusterIP};
    ServicePort port;
    port.name = "http";
    port.protocol = protocol;
    port.port = 80;
    port.backends = std::move(backends);
    s.ports = {port};
    return s;
  }

  void put(const Service& s) {
    table_[s.key()] = s;
    apply({s.key()});
  }
  void apply(const ServiceChanges& changed) {
    nodeThread_->call([&] { proxy_->apply(context_, table_, changed); });
  }
  // The rules of a table in both families (iptables-save lines without comments and
  // counters, which traffic changes).
  std::string save(const char* table) {
    std::string out;
    for (const char* tool : {"iptables-legacy-save", "ip6tables-legacy-save"}) {
      std::istringstream lines(testing::runInNetns(node_->path(), {tool, "-t", table}).out);
      for (std::string line; std::getline(lines, line);)
        if (!line.empty() && line[0] != '#' && line[0] != ':') out += line + "\n";
    }
    return out;
  }

  std::unique_ptr<TestNetns> node_;
  std::unique_ptr<TestNetns> outside_;
  std::map<std::string, std::unique_ptr<TestNetns>> pods_;
  std::vector<std::unique_ptr<PodServer>> servers_;
  std::unique_ptr<NetnsThread> nodeThread_;
  std::unique_ptr<IptablesServiceProxy> proxy_;
  NodeContext context_;
  ServiceTable table_;
};

TEST_F(ServiceIptables, ClusterIpReachesEveryBackendTcpAndUdp) {
  put(service("web", "10.96.0.10", {backend("10.60.0.11"), backend("10.60.0.12"), backend("10.60.0.13")}));
  put(service("dns", "10.96.0.53", {backend("10.60.0.11"), backend("10.60.0.12"), backend("10.60.0.13")},
              k8s::Protocol::UDP));
  std::map<std::string, int> tcp, udp;
  for (int i = 0; i < 60; ++i) {
    Answer a = ask(pod("d"), "10.96.0.10", 80);
    ASSERT_EQ(a.error, 0) << std::strerror(a.error);
    ++tcp[a.pod()];
    // Pod to ClusterIP is not masqueraded: the backend sees the client pod.
    EXPECT_EQ(a.client(), "10.60.0.20");
  }
  // UDP: a fresh source port each time is a new flow.
  for (int i = 0; i < 60; ++i) {
    Answer a = ask(pod("d"), "10.96.0.53", 80, true);
    ASSERT_EQ(a.error, 0) << std::strerror(a.error);
    ++udp[a.pod()];
  }
  EXPECT_EQ(tcp.size(), 3u) << "TCP reached " << tcp.size() << " backends";
  EXPECT_EQ(udp.size(), 3u) << "UDP reached " << udp.size() << " backends";
  // The node itself (OUTPUT) reaches the ClusterIP too.
  EXPECT_EQ(ask(node_->path(), "10.96.0.10", 80).error, 0);
}

TEST_F(ServiceIptables, UdpFlowsToARemovedBackendAreFlushed) {
  Service s = service("dns", "10.96.0.22", {backend("10.60.0.12"), backend("10.60.0.13")}, k8s::Protocol::UDP);
  put(s);
  UdpFlow flow(pod("d"), "10.96.0.22", 80);
  const std::string first = flow.ask();
  ASSERT_TRUE(first == "b" || first == "c") << first;
  for (int i = 0; i < 5; ++i) ASSERT_EQ(flow.ask(), first);  // conntrack keeps the flow there
  // That backend leaves the Service (its pod still runs and would still answer).
  s.ports[0].backends = {backend(first == "b" ? "10.60.0.13" : "10.60.0.12")};
  put(s);
  EXPECT_GE(proxy_->lastUpdate().udpFlowsFlushed, 1);
  EXPECT_EQ(flow.ask(), first == "b" ? "c" : "b");
}

TEST_F(ServiceIptables, ClientIpAffinityKeepsOneBackend) {
  Service s = service("sticky", "10.96.0.11", {backend("10.60.0.11"), backend("10.60.0.12"), backend("10.60.0.13")});
  s.clientIpAffinity = true;
  s.affinityTimeoutSeconds = 300;
  put(s);
  std::set<std::string> seen;
  for (int i = 0; i < 30; ++i) {
    Answer a = ask(pod("d"), "10.96.0.11", 80);
    ASSERT_EQ(a.error, 0) << std::strerror(a.error);
    seen.insert(a.pod());
  }
  EXPECT_EQ(seen.size(), 1u);
  // Without affinity the same client spreads (the control for the check above).
  s.clientIpAffinity = false;
  put(s);
  seen.clear();
  for (int i = 0; i < 30; ++i) seen.insert(ask(pod("d"), "10.96.0.11", 80).pod());
  EXPECT_GT(seen.size(), 1u);
}

TEST_F(ServiceIptables, NodePortFromOutsideMasqueradesAndLocalPolicyKeepsTheSource) {
  Service s = service("np", "10.96.0.12", {backend("10.60.0.11"), backend("10.60.0.12", false)});
  s.ports[0].nodePort = 30080;
  put(s);
  std::set<std::string> pods;
  for (int i = 0; i < 20; ++i) {
    Answer a = ask(outside_->path(), kNodeAddress, 30080);
    ASSERT_EQ(a.error, 0) << std::strerror(a.error);
    pods.insert(a.pod());
    // externalTrafficPolicy Cluster: the backend sees the node, not the outside client.
    EXPECT_NE(a.client(), kOutsideAddress);
  }
  EXPECT_EQ(pods, (std::set<std::string>{"a", "b"}));

  s.externalTrafficPolicy = TrafficPolicy::Local;
  put(s);
  for (int i = 0; i < 10; ++i) {
    Answer a = ask(outside_->path(), kNodeAddress, 30080);
    ASSERT_EQ(a.error, 0) << std::strerror(a.error);
    EXPECT_EQ(a.pod(), "a");  // the only local backend
    EXPECT_EQ(a.client(), kOutsideAddress);
  }
  // Pods still reach it through the node port, cluster-wide.
  std::set<std::string> fromPod;
  for (int i = 0; i < 20; ++i) fromPod.insert(ask(pod("d"), kNodeAddress, 30080).pod());
  EXPECT_EQ(fromPod, (std::set<std::string>{"a", "b"}));

  // No local backend: outsiders are refused, not black-holed.
  s.ports[0].backends = {backend("10.60.0.12", false)};
  put(s);
  EXPECT_EQ(ask(outside_->path(), kNodeAddress, 30080).error, ECONNREFUSED);
}

TEST_F(ServiceIptables, LoadBalancerAddressFromOutside) {
  // The address is announced by someone else (ARP/NDP or BGP): here a route in the client.
  mustRun({"ip", "-n", outside_->name(), "route", "add", "192.168.61.10", "via", kNodeAddress});
  // Traffic to it that nothing DNATs is routed back out of eth0: the ICMP redirect the
  // kernel sends first uses up the per-peer ICMP budget and the REJECT's unreachable would
  // be suppressed (docs/services.md); a node forwarding for Services sends no redirects.
  for (const char* sysctl : {"net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.eth0.send_redirects=0"})
    mustRun({"ip", "netns", "exec", node_->name(), "sysctl", "-q", "-w", sysctl});
  Service s = service("lb", "10.96.0.23", {backend("10.60.0.11"), backend("10.60.0.12", false)});
  s.loadBalancerIPs = {"192.168.61.10"};
  put(s);
  std::set<std::string> pods;
  for (int i = 0; i < 20; ++i) {
    Answer a = ask(outside_->path(), "192.168.61.10", 80);
    ASSERT_EQ(a.error, 0) << std::strerror(a.error);
    pods.insert(a.pod());
    EXPECT_NE(a.client(), kOutsideAddress);  // externalTrafficPolicy Cluster: masqueraded
  }
  EXPECT_EQ(pods, (std::set<std::string>{"a", "b"}));
  s.externalTrafficPolicy = TrafficPolicy::Local;
  put(s);
  Answer a = ask(outside_->path(), "192.168.61.10", 80);
  EXPECT_EQ(a.pod(), "a");
  EXPECT_EQ(a.client(), kOutsideAddress);
  // Only a remote backend left: refused for outsiders (filter FORWARD).
  s.ports[0].backends = {backend("10.60.0.12", false)};
  put(s);
  EXPECT_EQ(ask(outside_->path(), "192.168.61.10", 80).error, ECONNREFUSED) << save("filter") << save("nat");
}

TEST_F(ServiceIptables, HairpinAPodReachesItselfThroughItsService) {
  put(service("self", "10.96.0.13", {backend("10.60.0.11")}));
  Answer a = ask(pod("a"), "10.96.0.13", 80);
  ASSERT_EQ(a.error, 0) << std::strerror(a.error);
  EXPECT_EQ(a.pod(), "a");
  EXPECT_NE(a.client(), "10.60.0.11");  // masqueraded, so the reply comes back through the node
}

TEST_F(ServiceIptables, NoBackendsIsRefusedFast) {
  put(service("empty", "10.96.0.14", {}));
  Service np = service("empty-np", "10.96.0.15", {});
  np.ports[0].nodePort = 30081;
  put(np);
  EXPECT_EQ(ask(pod("d"), "10.96.0.14", 80).error, ECONNREFUSED);
  EXPECT_EQ(ask(node_->path(), "10.96.0.14", 80).error, ECONNREFUSED);
  EXPECT_EQ(ask(outside_->path(), kNodeAddress, 30081).error, ECONNREFUSED);
  // A backend appears: served.
  np.ports[0].backends = {backend("10.60.0.12")};
  put(np);
  EXPECT_EQ(ask(outside_->path(), kNodeAddress, 30081).pod(), "b");
}

TEST_F(ServiceIptables, Ipv6ClusterIp) {
  Service s = service("web6", "10.96.0.16", {backend("10.60.0.11"), backend("fd60::12"), backend("fd60::13")});
  s.clusterIPs.push_back("fd00:96::16");
  put(s);
  std::set<std::string> v6;
  for (int i = 0; i < 30; ++i) {
    Answer a = ask(pod("d"), "fd00:96::16", 80);
    ASSERT_EQ(a.error, 0) << std::strerror(a.error);
    v6.insert(a.pod());
  }
  EXPECT_EQ(v6, (std::set<std::string>{"b", "c"}));
  EXPECT_EQ(ask(pod("d"), "10.96.0.16", 80).pod(), "a");
}

TEST_F(ServiceIptables, RemovingServicesRemovesEveryRule) {
  Service s = service("gone", "10.96.0.17", {backend("10.60.0.11"), backend("fd60::12")});
  s.clusterIPs.push_back("fd00:96::17");
  s.ports[0].nodePort = 30082;
  s.clientIpAffinity = true;
  put(s);
  put(service("gone-empty", "10.96.0.18", {}));
  ASSERT_NE(save("nat").find("CNIKIT-SVC-"), std::string::npos);
  // The iptables tools read back what libiptc wrote, every match and target.
  const std::string nat = save("nat");
  EXPECT_EQ(nat.find("unsupported"), std::string::npos) << nat;
  EXPECT_NE(nat.find("-j DNAT --to-destination 10.60.0.11:8080"), std::string::npos) << nat;
  EXPECT_NE(nat.find("-j DNAT --to-destination [fd60::12]:8080"), std::string::npos) << nat;
  EXPECT_NE(nat.find("-m recent --update --seconds 10800 --reap --name CNIKIT-AFF-"), std::string::npos) << nat;
  ASSERT_NE(save("filter").find("CNIKIT-SVC-REJECT"), std::string::npos);
  auto explain = proxy_->explain("default/gone");
  ASSERT_FALSE(explain.is_null());
  EXPECT_FALSE(explain["ipv4"].empty());
  EXPECT_FALSE(explain["ipv6"].empty());

  table_.clear();
  apply({"default/gone", "default/gone-empty"});
  EXPECT_EQ(save("nat").find("CNIKIT"), std::string::npos) << save("nat");
  EXPECT_EQ(save("filter").find("CNIKIT"), std::string::npos) << save("filter");
  EXPECT_TRUE(proxy_->explain("default/gone").is_null());
  EXPECT_EQ(proxy_->chainCount(), 0u);
}

TEST_F(ServiceIptables, RestartedProxyReconcilesWithoutRewritingAndKeepsConnections) {
  Service keep = service("keep", "10.96.0.19", {backend("10.60.0.11"), backend("10.60.0.12")});
  ServicePort echo = keep.ports[0];
  echo.name = "echo";
  echo.port = kEchoPort;
  for (auto& b : echo.backends) b.port = kEchoPort;
  keep.ports.push_back(echo);
  put(keep);
  Service other = service("other", "10.96.0.20", {backend("10.60.0.13")});
  other.ports[0].nodePort = 30083;
  put(other);
  put(service("none", "10.96.0.21", {}));
  OpenConnection connection(pod("d"), "10.96.0.19");
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.echoes("before\n"));
  const std::string before = save("nat") + save("filter");

  // A new agent: a new proxy object finds the chains by name and keeps them all.
  proxy_ = nodeThread_->call([] { return std::make_unique<IptablesServiceProxy>(); });
  nodeThread_->call([&] { proxy_->sync(context_, table_); });
  auto stats = proxy_->lastUpdate();
  EXPECT_EQ(stats.chainsWritten, 0);
  EXPECT_EQ(stats.chainsDeleted, 0);
  EXPECT_GT(stats.chainsKept, 0);
  EXPECT_EQ(stats.commits, 0);
  EXPECT_EQ(save("nat") + save("filter"), before);
  EXPECT_TRUE(connection.echoes("after restart\n"));

  // A restart that missed a change: only what differs is rewritten, the rest kept.
  table_.at("default/other").ports[0].backends = {backend("10.60.0.12")};
  proxy_ = nodeThread_->call([] { return std::make_unique<IptablesServiceProxy>(); });
  nodeThread_->call([&] { proxy_->sync(context_, table_); });
  stats = proxy_->lastUpdate();
  // Its SVC chain, and CNIKIT-POSTROUTING (10.60.0.13 no longer needs a hairpin rule).
  EXPECT_EQ(stats.chainsWritten, 2);
  EXPECT_EQ(stats.chainsDeleted, 0);
  EXPECT_TRUE(connection.echoes("after resync\n"));
  EXPECT_EQ(ask(outside_->path(), kNodeAddress, 30083).pod(), "b");

  // A chain of ours that nothing wants (an earlier run's) goes at a sync.
  mustRun({"ip", "netns", "exec", node_->name(), "iptables-legacy", "-t", "nat", "-N", "CNIKIT-SVC-0000000000000000"});
  nodeThread_->call([&] { proxy_->sync(context_, table_); });
  EXPECT_EQ(save("nat").find("CNIKIT-SVC-0000000000000000"), std::string::npos);
}

TEST_F(ServiceIptables, StatusAndIncrementalStats) {
  for (int i = 0; i < 20; ++i)
    table_["default/s" + std::to_string(i)] = service("s" + std::to_string(i), "10.96.1." + std::to_string(i + 1),
                                                      {backend("10.60.0.11"), backend("10.60.0.12")});
  nodeThread_->call([&] { proxy_->sync(context_, table_); });
  EXPECT_EQ(proxy_->lastUpdate().chainsWritten, 20 + 20 + 3);  // SVC each, shards, shared
  table_.at("default/s7").ports[0].backends.pop_back();
  apply({"default/s7"});
  auto stats = proxy_->lastUpdate();
  EXPECT_EQ(stats.chainsWritten, 1);  // s7's SVC chain
  EXPECT_EQ(stats.chainsDeleted, 0);
  EXPECT_EQ(stats.commits, 1);
  auto status = proxy_->status();
  EXPECT_EQ(status["services"]["ipv4"], 20);
  EXPECT_TRUE(status["inSync"].get<bool>());
  EXPECT_EQ(status["chains"].get<size_t>(), proxy_->chainCount());
  EXPECT_EQ(ask(pod("d"), "10.96.1.8", 80).pod(), "a");
}

}  // namespace
}  // namespace cnikit::service::iptables
