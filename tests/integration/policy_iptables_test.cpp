// The iptables/ipset policy provider against the real kernel, in test-made namespaces: a node
// namespace with a Linux bridge and pods on it (flannel's local layout), TCP and UDP servers
// in each pod, policies compiled by the engine and programmed by the provider in the node
// namespace; the connectivity the kernel gives must equal the engine's verdicts, for IPv4
// and IPv6. Root only.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "core/agent/PolicyController.hpp"
#include "core/k8s/ObjectKeys.hpp"
#include "core/k8s/Validation.hpp"
#include "core/policy/Engine.hpp"
#include "core/policy/iptables/IptablesProvider.hpp"
#include "core/store/StoreFactory.hpp"
#include "tests/support/Command.hpp"
#include "tests/support/NetnsSweeper.hpp"
#include "tests/support/NetnsThread.hpp"
#include "tests/support/PolicyScaleModel.hpp"
#include "tests/support/ServerSocket.hpp"
#include "tests/support/TestNetns.hpp"

namespace cnikit::policy::iptables {
namespace {

using k8s::Protocol;
using testing::NetnsThread;
using testing::TestNetns;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string base(const std::string& what) {
  static std::atomic<int> counter{0};
  return "pol" + std::to_string(counter++) + "-" + what;
}

using testing::mustRun;

// Enters a namespace on the calling thread (probe threads are fresh and end after).
// TCP and UDP servers on ports 80 and 81 (dual-stack sockets) inside a pod: TCP writes "ok"
// and closes, UDP echoes.
class PodServer {
 public:
  explicit PodServer(const std::string& netnsPath) {
    stop_ = ::eventfd(0, EFD_CLOEXEC);
    std::promise<void> ready;
    auto started = ready.get_future();
    thread_ = std::thread([this, netnsPath, p = std::move(ready)]() mutable {
      try {
        testing::enterNetns(netnsPath);
        for (uint16_t port : {80, 81})
          for (int type : {SOCK_STREAM, SOCK_DGRAM}) sockets_.push_back({testing::openServerSocket(type, port), type});
        p.set_value();
      } catch (...) {
        p.set_exception(std::current_exception());
        return;
      }
      serve();
    });
    started.get();
  }
  ~PodServer() {
    uint64_t one = 1;
    (void)!::write(stop_, &one, sizeof one);
    thread_.join();
    for (auto& s : sockets_) ::close(s.fd);
    ::close(stop_);
  }

 private:
  struct Socket {
    int fd;
    int type;
  };
  void serve() {
    for (;;) {
      std::vector<pollfd> fds{{stop_, POLLIN, 0}};
      for (const auto& s : sockets_) fds.push_back({s.fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds[0].revents) return;
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        const auto& s = sockets_[i - 1];
        if (s.type == SOCK_STREAM) {
          int c = ::accept4(s.fd, nullptr, nullptr, SOCK_CLOEXEC);
          if (c >= 0) {
            (void)!::write(c, "ok", 2);
            ::close(c);
          }
        } else {
          char buf[64];
          sockaddr_storage from{};
          socklen_t len = sizeof from;
          ssize_t n = ::recvfrom(s.fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
          if (n > 0) ::sendto(s.fd, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
      }
    }
  }
  int stop_ = -1;
  std::vector<Socket> sockets_;
  std::thread thread_;
};

// One connection attempt from inside fromNetns; true when the server answered.
bool probe(const std::string& fromNetns, const std::string& ip, uint16_t port, Protocol protocol) {
  bool ok = false;
  std::thread t([&] {
    testing::enterNetns(fromNetns);
    bool v6 = ip.find(':') != std::string::npos;
    sockaddr_storage addr{};
    socklen_t len;
    if (v6) {
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
    int type = protocol == Protocol::TCP ? SOCK_STREAM : SOCK_DGRAM;
    int fd = ::socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    auto wait = [&](short events, int ms) {
      pollfd p{fd, events, 0};
      return ::poll(&p, 1, ms) == 1 && (p.revents & events);
    };
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 && errno != EINPROGRESS) {
      ::close(fd);
      return;
    }
    char buf[8] = {};
    if (protocol == Protocol::TCP) {
      int err = 0;
      socklen_t errLen = sizeof err;
      if (wait(POLLOUT, 1500) && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errLen) == 0 && err == 0)
        ok = wait(POLLIN, 1500) && ::read(fd, buf, sizeof buf) == 2;
    } else {
      // A blocked datagram is dropped silently: no answer within the window is "blocked".
      if (::send(fd, "hi", 2, 0) == 2) ok = wait(POLLIN, 700) && ::recv(fd, buf, sizeof buf, 0) == 2;
    }
    ::close(fd);
  });
  t.join();
  return ok;
}

struct PodSpec {
  std::string ns;
  std::string name;
  std::string label;  // pod=<label>
  std::string ipv4;
  std::string ipv6;
};

k8s::Pod podObject(const PodSpec& spec) {
  k8s::Pod pod;
  pod.ns = spec.ns;
  pod.name = spec.name;
  pod.labels = {{"pod", spec.label}};
  pod.ips = {spec.ipv4, spec.ipv6};
  for (uint16_t port : {80, 81})
    for (Protocol p : {Protocol::TCP, Protocol::UDP})
      pod.ports.push_back({"serve-" + std::to_string(port) + "-" + (p == Protocol::TCP ? "tcp" : "udp"), port, p});
  return pod;
}

// A node namespace with a bridge, pods on it (veth, addresses, servers), the engine and the
// provider (made on a thread parked in the node namespace).
class PolicyIptables : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { testing::sweepStaleNetns(); }

  void SetUp() override {
    node_ = std::make_unique<TestNetns>(base("node"));
    nodeThread_ = std::make_unique<NetnsThread>(node_->path());
    mustRun({"ip", "-n", node_->name(), "link", "add", "br0", "type", "bridge"});
    mustRun({"ip", "-n", node_->name(), "link", "set", "br0", "up"});
    // The subnet's gateway on the bridge, as flannel-like has it: the node can route to its
    // pods, which TCP resets sent by REJECT need.
    mustRun({"ip", "-n", node_->name(), "addr", "add", "10.50.0.1/24", "dev", "br0"});
    mustRun({"ip", "-n", node_->name(), "addr", "add", "fd50::1/64", "dev", "br0", "nodad"});
    provider_ = nodeThread_->call([] { return std::make_unique<IptablesProvider>(); });
    engine_.upsertNamespace({"x", {{"ns", "x"}, {k8s::kNamespaceNameLabel, "x"}}});
    engine_.upsertNamespace({"y", {{"ns", "y"}, {k8s::kNamespaceNameLabel, "y"}}});
    addPod({"x", "a", "a", "10.50.0.11", "fd50::11"});
    addPod({"x", "b", "b", "10.50.0.12", "fd50::12"});
    addPod({"y", "c", "c", "10.50.0.13", "fd50::13"});
  }

  void TearDown() override {
    servers_.clear();
    if (provider_) nodeThread_->call([&] { provider_->removeAll(); });
    provider_.reset();
    nodeThread_.reset();
    pods_.clear();
    podNetns_.clear();
    node_.reset();
  }

  // Makes the pod's namespace and veth (host end on br0) and starts its servers; does not
  // tell the engine.
  void plumbPod(const PodSpec& spec) {
    auto netns = std::make_unique<TestNetns>(base(spec.name));
    std::string veth = "veth-" + spec.ns + spec.name;
    mustRun({"ip", "-n", node_->name(), "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns",
             netns->name()});
    mustRun({"ip", "-n", node_->name(), "link", "set", veth, "master", "br0", "up"});
    mustRun({"ip", "-n", netns->name(), "addr", "add", spec.ipv4 + "/24", "dev", "eth0"});
    mustRun({"ip", "-n", netns->name(), "addr", "add", spec.ipv6 + "/64", "dev", "eth0", "nodad"});
    mustRun({"ip", "-n", netns->name(), "link", "set", "eth0", "up"});
    servers_.push_back(std::make_unique<PodServer>(netns->path()));
    pods_[spec.ns + "/" + spec.name] = spec;
    podNetns_[spec.ns + "/" + spec.name] = std::move(netns);
  }

  void addPod(const PodSpec& spec) {
    plumbPod(spec);
    engine_.upsertPod(podObject(spec));
  }

  ApplyStats apply(const Changes& changes) {
    return nodeThread_->call([&] {
      provider_->apply(engine_, changes);
      return provider_->lastUpdate();
    });
  }

  // Every (from, to, family, port) probe against the engine's verdict; "" when all agree.
  std::string matrixMismatches() {
    struct Probe {
      std::string from, to, ip;
      uint16_t port;
      Protocol protocol;
      bool expected;
      bool actual = false;
    };
    std::vector<Probe> probes;
    for (const auto& [from, fromSpec] : pods_)
      for (const auto& [to, toSpec] : pods_) {
        if (from == to) continue;
        for (uint16_t port : {80, 81})
          for (Protocol protocol : {Protocol::TCP, Protocol::UDP}) {
            bool expected = engine_.verdict(from, to, port, protocol).allowed;
            for (const auto& ip : {toSpec.ipv4, toSpec.ipv6})
              probes.push_back({from, to, ip, port, protocol, expected});
          }
      }
    std::vector<std::thread> threads;
    for (auto& p : probes)
      threads.emplace_back([&p, this] { p.actual = probe(podNetns_.at(p.from)->path(), p.ip, p.port, p.protocol); });
    for (auto& t : threads) t.join();
    std::string out;
    int allowed = 0;
    for (const auto& p : probes) {
      allowed += p.actual;
      if (p.actual != p.expected)
        out += "  " + p.from + " -> " + p.to + " [" + p.ip + "] " + k8s::protocolName(p.protocol) + "/" +
               std::to_string(p.port) + ": engine says " + (p.expected ? "allowed" : "blocked") + ", kernel " +
               (p.actual ? "allowed" : "blocked") + "\n";
    }
    lastAllowed_ = allowed;
    lastProbes_ = static_cast<int>(probes.size());
    return out;
  }

  std::string legacySave() {
    std::string out;
    for (const char* tool : {"iptables-legacy-save", "ip6tables-legacy-save"}) {
      auto r = testing::runInNetns(node_->path(), {tool});
      out += r.out;
    }
    return out;
  }
  std::string ipsetNames() { return testing::runInNetns(node_->path(), {"ipset", "list", "-n"}).out; }

  std::unique_ptr<TestNetns> node_;
  std::unique_ptr<NetnsThread> nodeThread_;
  std::unique_ptr<IptablesProvider> provider_;
  Engine engine_;
  std::map<std::string, PodSpec> pods_;
  std::map<std::string, std::unique_ptr<TestNetns>> podNetns_;
  std::vector<std::unique_ptr<PodServer>> servers_;
  int lastAllowed_ = 0;
  int lastProbes_ = 0;
};

k8s::PolicyPeer podPeer(const std::string& label) {
  k8s::PolicyPeer peer;
  peer.podSelector = k8s::LabelSelector{{{"pod", label}}, {}};
  return peer;
}

k8s::PolicyPeer blockPeer(const std::string& cidr, const std::string& except) {
  k8s::PolicyPeer peer;
  peer.ipBlock = k8s::IpBlock{cidr, {except}};
  return peer;
}

k8s::NetworkPolicy denyIngress(const std::string& ns) {
  k8s::NetworkPolicy p;
  p.ns = ns;
  p.name = "deny-ingress";
  return p;
}

k8s::NetworkPolicy allowFromAToB80() {
  k8s::NetworkPolicy p;
  p.ns = "x";
  p.name = "allow-a-to-b-80";
  p.podSelector.matchLabels["pod"] = "b";
  p.ingress.push_back({{podPeer("a")}, {{Protocol::TCP, uint16_t{80}, std::nullopt}}});
  return p;
}

// a may send only inside the pod network, except to c (by address).
k8s::NetworkPolicy egressExceptC() {
  k8s::NetworkPolicy p;
  p.ns = "x";
  p.name = "a-egress-except-c";
  p.podSelector.matchLabels["pod"] = "a";
  p.ingressType = false;
  p.egressType = true;
  p.egress.push_back({{blockPeer("10.50.0.0/24", "10.50.0.13/32"), blockPeer("fd50::/64", "fd50::13/128")}, {}});
  return p;
}

// c may send only to named port serve-81-udp of any pod; a admits serve-81-udp from ns=y.
std::vector<k8s::NetworkPolicy> namedPorts() {
  k8s::NetworkPolicy egress;
  egress.ns = "y";
  egress.name = "c-egress-named";
  egress.podSelector.matchLabels["pod"] = "c";
  egress.ingressType = false;
  egress.egressType = true;
  k8s::PolicyPeer anywhere;
  anywhere.namespaceSelector = k8s::LabelSelector{};
  egress.egress.push_back({{anywhere}, {{Protocol::UDP, std::string("serve-81-udp"), std::nullopt}}});
  k8s::NetworkPolicy ingress;
  ingress.ns = "x";
  ingress.name = "a-admits-named-from-y";
  ingress.podSelector.matchLabels["pod"] = "a";
  k8s::PolicyPeer fromY;
  fromY.namespaceSelector = k8s::LabelSelector{{{"ns", "y"}}, {}};
  ingress.ingress.push_back({{fromY}, {{Protocol::UDP, std::string("serve-81-udp"), std::nullopt}}});
  return {egress, ingress};
}

TEST_F(PolicyIptables, NoPolicyAllowsEverythingAndProgramsNothing) {
  Changes all;
  all.merge(engine_.upsertNamespace({"x", {{"ns", "x"}, {k8s::kNamespaceNameLabel, "x"}}}));
  nodeThread_->call([&] { provider_->sync(engine_); });
  EXPECT_EQ(provider_->chainCount(), 0u);
  EXPECT_EQ(legacySave().find("CNIKIT"), std::string::npos);
  auto mismatches = matrixMismatches();
  EXPECT_EQ(mismatches, "");
  EXPECT_EQ(lastAllowed_, lastProbes_);
}

TEST_F(PolicyIptables, ConnectivityMatrixEqualsEngineVerdicts) {
  nodeThread_->call([&] { provider_->sync(engine_); });
  struct Step {
    const char* name;
    std::function<Changes()> update;
  };
  std::vector<Step> steps = {
      {"default deny ingress in x", [&] { return engine_.upsertPolicy(denyIngress("x")); }},
      {"allow x/a -> x/b TCP 80", [&] { return engine_.upsertPolicy(allowFromAToB80()); }},
      {"egress of x/a: ipBlock except c", [&] { return engine_.upsertPolicy(egressExceptC()); }},
      {"named ports",
       [&] {
         Changes c;
         for (const auto& p : namedPorts()) c.merge(engine_.upsertPolicy(p));
         return c;
       }},
  };
  for (const auto& step : steps) {
    auto stats = apply(step.update());
    auto mismatches = matrixMismatches();
    std::cout << "[ step ] " << step.name << ": " << stats.toJson().dump() << ", " << lastAllowed_ << "/" << lastProbes_
              << " probes connected\n";
    EXPECT_EQ(mismatches, "") << "after: " << step.name;
    EXPECT_GT(lastAllowed_, 0) << step.name;
    EXPECT_LT(lastAllowed_, lastProbes_) << step.name;
  }
  // The rule count follows policies: every set holds pod addresses, no rule names a peer pod.
  std::string rules = legacySave();
  EXPECT_NE(rules.find("--match-set cnikit-pol"), std::string::npos) << rules;
  EXPECT_NE(rules.find("-A FORWARD -j CNIKIT-FORWARD"), std::string::npos) << rules;
  EXPECT_NE(ipsetNames().find("cnikit-pol6-"), std::string::npos);
}

TEST_F(PolicyIptables, UpdatesTakeEffectWithinOneSecond) {
  Changes all = engine_.upsertPolicy(denyIngress("x"));
  all.merge(engine_.upsertPolicy(allowFromAToB80()));
  all.merge(engine_.upsertPolicy(egressExceptC()));
  nodeThread_->call([&] { provider_->sync(engine_); });
  ASSERT_EQ(matrixMismatches(), "");
  ASSERT_TRUE(probe(podNetns_.at("x/a")->path(), "10.50.0.12", 80, Protocol::TCP));

  // Label change: a is no longer pod=a, so the allow rule's set loses it (a set update only).
  auto start = Clock::now();
  auto relabelled = podObject(pods_.at("x/a"));
  relabelled.labels["pod"] = "z";
  auto stats = apply(engine_.upsertPod(relabelled));
  double applyMs = msSince(start);
  bool blocked = !probe(podNetns_.at("x/a")->path(), "10.50.0.12", 80, Protocol::TCP);
  double effectiveMs = msSince(start);
  std::cout << "[ update ] label change: programmed in " << applyMs << " ms (" << stats.toJson().dump()
            << "), connection refused " << effectiveMs << " ms after the change\n";
  EXPECT_TRUE(blocked);
  EXPECT_LT(effectiveMs, 1000);
  EXPECT_EQ(matrixMismatches(), "");

  // Policy deletion: x/b admits everything again.
  start = Clock::now();
  stats = apply(engine_.deletePolicy("x", "deny-ingress"));
  Changes more = engine_.deletePolicy("x", "allow-a-to-b-80");
  stats = apply(more);
  applyMs = msSince(start);
  bool open = probe(podNetns_.at("y/c")->path(), "fd50::12", 81, Protocol::TCP);
  effectiveMs = msSince(start);
  std::cout << "[ update ] policy deletion: programmed in " << applyMs << " ms (" << stats.toJson().dump()
            << "), connection made " << effectiveMs << " ms after the change\n";
  EXPECT_TRUE(open);
  EXPECT_LT(effectiveMs, 1000);
  EXPECT_EQ(matrixMismatches(), "");
}

TEST_F(PolicyIptables, EverythingRemovedWhenPoliciesGo) {
  Changes all = engine_.upsertPolicy(denyIngress("x"));
  all.merge(engine_.upsertPolicy(allowFromAToB80()));
  all.merge(engine_.upsertPolicy(egressExceptC()));
  for (const auto& p : namedPorts()) all.merge(engine_.upsertPolicy(p));
  apply(all);
  ASSERT_NE(legacySave().find("CNIKIT-IN-"), std::string::npos);
  ASSERT_NE(ipsetNames().find("cnikit-pol4-"), std::string::npos);
  EXPECT_GT(provider_->setCount(), 0u);

  Changes gone;
  for (const auto& [key, policy] : std::map(engine_.policies()))
    gone.merge(engine_.deletePolicy(policy.ns, policy.name));
  auto stats = apply(gone);
  std::cout << "[ remove ] " << stats.toJson().dump() << "\n";
  EXPECT_EQ(legacySave().find("CNIKIT"), std::string::npos) << legacySave();
  EXPECT_EQ(ipsetNames().find("cnikit-"), std::string::npos) << ipsetNames();
  EXPECT_EQ(provider_->chainCount(), 0u);
  EXPECT_EQ(provider_->setCount(), 0u);
  EXPECT_EQ(provider_->ruleCount(), 0u);
  auto mismatches = matrixMismatches();
  EXPECT_EQ(mismatches, "");
  EXPECT_EQ(lastAllowed_, lastProbes_);
}

TEST_F(PolicyIptables, EndpointRulesExistWhenApplyReturns) {
  apply(engine_.upsertPolicy(denyIngress("x")));
  PodSpec d{"x", "d", "d", "10.50.0.14", "fd50::14"};
  plumbPod(d);
  // Before the engine knows d, nothing polices it.
  ASSERT_TRUE(probe(podNetns_.at("y/c")->path(), d.ipv4, 80, Protocol::TCP));
  auto stats = apply(engine_.upsertPod(podObject(d)));
  // No wait: the chain is in the kernel and enforced when apply returns.
  bool blocked = !probe(podNetns_.at("y/c")->path(), d.ipv4, 80, Protocol::TCP);
  bool blocked6 = !probe(podNetns_.at("y/c")->path(), d.ipv6, 80, Protocol::TCP);
  std::cout << "[ endpoint ] new endpoint programmed in " << stats.totalMs << " ms\n";
  EXPECT_TRUE(blocked);
  EXPECT_TRUE(blocked6);
  EXPECT_NE(legacySave().find("-A CNIKIT-FORWARD -d 10.50.0.14/32 -j " + ingressChainName("x/d")), std::string::npos)
      << legacySave();
  EXPECT_NE(legacySave().find("-A CNIKIT-FORWARD -d fd50::14/128 -j " + ingressChainName("x/d")), std::string::npos);
  EXPECT_EQ(matrixMismatches(), "");
}

TEST_F(PolicyIptables, SyncTakesOverAndRemovesLeftovers) {
  Changes all = engine_.upsertPolicy(denyIngress("x"));
  all.merge(engine_.upsertPolicy(allowFromAToB80()));
  apply(all);
  // What an earlier run could have left: a chain and a set nothing uses any more.
  mustRun({"ip", "netns", "exec", node_->name(), "iptables-legacy", "-N", "CNIKIT-IN-00000000deadbeef"});
  mustRun({"ip", "netns", "exec", node_->name(), "ipset", "create", "cnikit-pol4-s00000000deadbeef", "hash:ip"});
  // An agent restart: a new provider over the same namespace; a pod was also relabelled
  // while it was away (the set must be refilled, not just reused).
  provider_ = nodeThread_->call([] { return std::make_unique<IptablesProvider>(); });
  auto relabelled = podObject(pods_.at("x/a"));
  relabelled.labels["pod"] = "z";
  engine_.upsertPod(relabelled);
  auto stats = nodeThread_->call([&] {
    provider_->sync(engine_);
    return provider_->lastUpdate();
  });
  std::cout << "[ sync ] " << stats.toJson().dump() << "\n";
  auto rules = legacySave();
  EXPECT_EQ(rules.find("deadbeef"), std::string::npos) << rules;
  EXPECT_EQ(ipsetNames().find("deadbeef"), std::string::npos);
  EXPECT_EQ(ipsetNames().find("cnikit-tmp"), std::string::npos);
  EXPECT_EQ(matrixMismatches(), "");
  EXPECT_FALSE(probe(podNetns_.at("x/a")->path(), "10.50.0.12", 80, Protocol::TCP));
}

TEST_F(PolicyIptables, StatusNamesFlavourAndWarnsAboutNftRules) {
  // The provider turns bridge netfilter on in its own namespace only.
  auto sysctl = [](const std::string& netns) {
    auto r = netns.empty() ? testing::run({"cat", "/proc/sys/net/bridge/bridge-nf-call-iptables"})
                           : testing::runInNetns(netns, {"cat", "/proc/sys/net/bridge/bridge-nf-call-ip6tables"});
    return r.out;
  };
  const std::string rootBefore = sysctl("");
  mustRun({"ip", "netns", "exec", node_->name(), "sysctl", "-q", "-w", "net.bridge.bridge-nf-call-ip6tables=0"});
  ASSERT_EQ(sysctl(node_->path()), "0\n");
  provider_ = nodeThread_->call([] { return std::make_unique<IptablesProvider>(); });
  EXPECT_EQ(sysctl(node_->path()), "1\n");
  EXPECT_EQ(sysctl(""), rootBefore);
  apply(engine_.upsertPolicy(denyIngress("x")));
  auto status = nodeThread_->call([&] { return provider_->status(); });
  std::cout << "[ status ] " << status.dump() << "\n";
  EXPECT_EQ(status["flavour"]["writes"], "legacy");
  EXPECT_EQ(status["flavour"]["nftRules"], 0);
  EXPECT_FALSE(status["flavour"].contains("warning"));
  EXPECT_EQ(status["bridgeNetfilter"]["bridge-nf-call-iptables"], true);
  EXPECT_EQ(status["bridgeNetfilter"]["bridge-nf-call-ip6tables"], true);
  EXPECT_EQ(status["chains"], provider_->chainCount());
  EXPECT_GT(status["rules"].get<int>(), 0);
  EXPECT_EQ(status["flavour"]["cnikitLegacyRules"], status["rules"]);
  // A host firewall rule in the nft flavour (this test namespace only).
  mustRun({"ip", "netns", "exec", node_->name(), "iptables-nft", "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j",
           "ACCEPT"});
  status = nodeThread_->call([&] { return provider_->status(); });
  EXPECT_EQ(status["flavour"]["nftRules"], 1);
  EXPECT_NE(status["flavour"].value("warning", "").find("iptables-legacy-save"), std::string::npos);
}

// Polls until `done` holds (up to `limit`); returns the milliseconds it took, or -1.
double waitFor(const std::function<bool()>& done, std::chrono::milliseconds limit = 3000ms) {
  auto start = Clock::now();
  while (Clock::now() - start < limit) {
    if (done()) return msSince(start);
    std::this_thread::sleep_for(5ms);
  }
  return -1;
}

// The agent's loop: objects and endpoint records in a real (SQLite) store, the controller
// watching it and programming the node; endpointAdded is synchronous.
TEST_F(PolicyIptables, ControllerFollowsTheStore) {
  char dir[] = "/tmp/cnkt-policy-store-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  struct Cleanup {
    std::string dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{dir};
  store::StoreConfig config;
  config.path = std::string(dir) + "/store.db";
  auto store = store::openStore(config);
  auto put = [&](const nlohmann::json& manifest) {
    for (const auto& o : k8s::validateObjects({manifest})) store->put(k8s::storeKey(o.ref), o.object.dump());
  };
  auto remove = [&](k8s::Kind kind, const std::string& ns, const std::string& name) {
    store->remove(k8s::storeKey({kind, ns, name}));
  };
  auto podManifest = [](const PodSpec& spec) {
    nlohmann::json ports = nlohmann::json::array();
    for (int port : {80, 81})
      for (std::string p : {"TCP", "UDP"}) {
        std::string lower = p == "TCP" ? "tcp" : "udp";
        ports.push_back(
            {{"name", "serve-" + std::to_string(port) + "-" + lower}, {"containerPort", port}, {"protocol", p}});
      }
    // No status.podIP: the controller takes addresses from the endpoint records.
    return nlohmann::json{
        {"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata", {{"name", spec.name}, {"namespace", spec.ns}, {"labels", {{"pod", spec.label}}}}},
        {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}, {"ports", ports}}}}}}};
  };
  auto endpointOf = [&](const PodSpec& spec) {
    agent::Endpoint e;
    e.containerId = "cid-" + spec.ns + "-" + spec.name;
    e.ifname = "eth0";
    e.netns = podNetns_.at(spec.ns + "/" + spec.name)->path();
    e.podNamespace = spec.ns;
    e.podName = spec.name;
    e.pool = "pool";
    e.backend = "flannel";
    e.addresses = {spec.ipv4 + "/24", spec.ipv6 + "/64"};
    e.gateways = {"", ""};
    return e;
  };
  for (const char* ns : {"x", "y"})
    put({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}, {"labels", {{"ns", ns}}}}}});
  for (const auto& [key, spec] : pods_) put(podManifest(spec));
  // b's record is in the store; c lives on another node (its address still fills sets).
  agent::Endpoints records(*store, "node-1");
  records.put(endpointOf(pods_.at("x/b")));
  agent::Endpoints(*store, "node-2").put(endpointOf(pods_.at("y/c")));

  auto controller = nodeThread_->call([&] {
    return std::make_unique<agent::PolicyController>(*store, "node-1", std::make_unique<IptablesProvider>());
  });
  controller->start();
  controller->endpointAdded(endpointOf(pods_.at("x/a")));  // the CNI ADD path, before its record
  records.put(endpointOf(pods_.at("x/a")));

  auto deny = nlohmann::json::parse(R"({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
      "metadata": {"name": "deny", "namespace": "x"}, "spec": {"podSelector": {}}})");
  auto allow = nlohmann::json::parse(R"({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
      "metadata": {"name": "allow-a", "namespace": "x"},
      "spec": {"podSelector": {"matchLabels": {"pod": "b"}},
               "ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": "a"}}}],
                            "ports": [{"port": "serve-80-tcp"}]}]}})");
  const auto& c = podNetns_.at("y/c")->path();
  const auto& a = podNetns_.at("x/a")->path();
  ASSERT_TRUE(probe(c, "10.50.0.12", 80, Protocol::TCP));  // open before any policy
  put(deny);
  double denyMs = waitFor([&] { return !probe(c, "10.50.0.12", 80, Protocol::TCP); });
  put(allow);
  double allowMs = waitFor([&] { return probe(a, "fd50::12", 80, Protocol::TCP); });
  std::cout << "[ controller ] policy put -> enforced: deny " << denyMs << " ms, allow " << allowMs << " ms\n";
  EXPECT_GE(denyMs, 0);
  EXPECT_LT(denyMs, 1000);
  EXPECT_GE(allowMs, 0);
  EXPECT_LT(allowMs, 1000);
  // The kernel agrees with the controller's engine on every pair (c is remote and never
  // isolated here).
  for (const auto& [from, fromSpec] : pods_)
    for (const auto& [to, toSpec] : pods_) {
      if (from == to) continue;
      for (uint16_t port : {80, 81})
        EXPECT_EQ(probe(podNetns_.at(from)->path(), toSpec.ipv4, port, Protocol::TCP),
                  controller->allowed(from, to, port, Protocol::TCP))
            << from << " -> " << to << " TCP/" << port;
    }
  auto status = controller->status();
  EXPECT_EQ(status["localEndpoints"], 2) << status.dump();  // a and b; c is on node-2
  EXPECT_FALSE(status.contains("lastError")) << status.dump();

  // A new pod on this node: policed when endpointAdded returns, before any record exists.
  PodSpec d{"x", "d", "d", "10.50.0.14", "fd50::14"};
  plumbPod(d);
  put(podManifest(d));
  // Wait until the watch delivered d's Pod object (as the kubelet's pod exists before ADD).
  ASSERT_GE(waitFor([&] {
              try {
                return !controller->allowed("y/c", "x/d", 80, Protocol::TCP);
              } catch (const std::out_of_range&) {
                return false;  // not delivered yet
              }
            }),
            0);
  controller->endpointAdded(endpointOf(d));
  EXPECT_FALSE(probe(c, d.ipv4, 80, Protocol::TCP));
  EXPECT_FALSE(probe(c, d.ipv6, 81, Protocol::TCP));
  EXPECT_TRUE(probe(d.ns == "x" ? podNetns_.at("x/d")->path() : c, "10.50.0.13", 80, Protocol::TCP));

  // Relabel a through the store: it loses b's port 80.
  auto relabelled = podManifest(pods_.at("x/a"));
  relabelled["metadata"]["labels"]["pod"] = "z";
  put(relabelled);
  double relabelMs = waitFor([&] { return !probe(a, "10.50.0.12", 80, Protocol::TCP); });
  std::cout << "[ controller ] label change -> enforced " << relabelMs << " ms\n";
  EXPECT_GE(relabelMs, 0);
  EXPECT_LT(relabelMs, 1000);

  // Policies deleted: everything of cnikit leaves the node.
  remove(k8s::Kind::NetworkPolicy, "x", "deny");
  remove(k8s::Kind::NetworkPolicy, "x", "allow-a");
  double goneMs = waitFor([&] { return legacySave().find("CNIKIT") == std::string::npos; });
  std::cout << "[ controller ] policies deleted -> chains gone " << goneMs << " ms\n";
  EXPECT_GE(goneMs, 0);
  EXPECT_LT(goneMs, 1000);
  EXPECT_EQ(ipsetNames().find("cnikit-"), std::string::npos);
  EXPECT_TRUE(probe(c, "10.50.0.12", 80, Protocol::TCP));
  controller->endpointRemoved(endpointOf(d));
  controller.reset();
}

// 1000 policies over 500 pods (the engine's CompileScale model), all local to one node:
// prints compile and programming times; asserts the kernel holds what the provider reports.
TEST(PolicyIptablesScale, ThousandPoliciesOverFiveHundredPods) {
  testing::sweepStaleNetns();
  TestNetns node(base("scale"));
  NetnsThread thread(node.path());
  auto [namespaces, pods, policies] = testing::makePolicyScaleModel();
  Engine engine;
  auto start = Clock::now();
  for (const auto& ns : namespaces) engine.upsertNamespace(ns);
  for (const auto& pod : pods) engine.upsertPod(pod);
  for (const auto& p : policies) engine.upsertPolicy(p);
  double compileMs = msSince(start);

  auto provider = thread.call([] { return std::make_unique<IptablesProvider>(); });
  start = Clock::now();
  auto stats = thread.call([&] {
    provider->sync(engine);
    return provider->lastUpdate();
  });
  double programMs = msSince(start);

  // One pod relabelled: its own chains (policies selecting it) and the sets it is in.
  auto pod = pods[7];
  pod.labels["app"] = "app3";
  start = Clock::now();
  auto relabel = thread.call([&] {
    provider->apply(engine, engine.upsertPod(pod));
    return provider->lastUpdate();
  });
  double relabelMs = msSince(start);
  // One namespace relabelled: only members of namespaceSelector sets change, no commit.
  auto ns = namespaces[3];
  ns.labels["team"] = "t0";
  start = Clock::now();
  auto nsRelabel = thread.call([&] {
    provider->apply(engine, engine.upsertNamespace(ns));
    return provider->lastUpdate();
  });
  double nsRelabelMs = msSince(start);
  // One policy changed: a few chains rewritten, one commit.
  auto policy = policies[10];
  policy.ingress[0].ports[0].port = uint16_t{443};
  start = Clock::now();
  auto repolicy = thread.call([&] {
    provider->apply(engine, engine.upsertPolicy(policy));
    return provider->lastUpdate();
  });
  double policyMs = msSince(start);

  auto save = testing::runInNetns(node.path(), {"iptables-legacy-save"}, 60s);
  size_t kernelRules = 0;
  for (size_t at = save.out.find("\n-A "); at != std::string::npos; at = save.out.find("\n-A ", at + 1)) ++kernelRules;
  auto sets = testing::runInNetns(node.path(), {"ipset", "list", "-n"}).out;
  size_t kernelSets = static_cast<size_t>(std::count(sets.begin(), sets.end(), '\n'));

  std::cout << "[ PolicyIptablesScale ] " << policies.size() << " policies over " << pods.size() << " pods: compile "
            << compileMs << " ms, program " << programMs << " ms (" << provider->chainCount() << " chains, "
            << provider->ruleCount() << " rules, " << provider->setCount() << " ipsets; ipset " << stats.ipsetMs
            << " ms, iptables " << stats.iptablesMs << " ms), compile+program " << compileMs + programMs
            << " ms; relabel one pod " << relabelMs << " ms (" << relabel.chainsWritten << " chains, "
            << relabel.setsWritten << " sets), relabel one namespace " << nsRelabelMs << " ms ("
            << nsRelabel.setsWritten << " sets, " << nsRelabel.commits << " commits), change one policy " << policyMs
            << " ms (" << repolicy.chainsWritten << " chains)\n";
  EXPECT_EQ(kernelRules, provider->ruleCount());
  EXPECT_EQ(kernelSets, provider->setCount());
  EXPECT_GT(relabel.setsWritten, 0);
  EXPECT_GT(nsRelabel.setsWritten, 0);
  EXPECT_EQ(nsRelabel.commits, 0);
  EXPECT_EQ(repolicy.commits, 1);
  // Rules grow with policies, not with pods: fewer sets than pods, fewer rules than pairs.
  EXPECT_LT(provider->setCount(), pods.size());

  start = Clock::now();
  thread.call([&] { provider->removeAll(); });
  std::cout << "[ PolicyIptablesScale ] remove all " << msSince(start) << " ms\n";
  EXPECT_EQ(testing::runInNetns(node.path(), {"iptables-legacy-save"}).out.find("CNIKIT"), std::string::npos);
  EXPECT_EQ(testing::runInNetns(node.path(), {"ipset", "list", "-n"}).out, "");
}

}  // namespace
}  // namespace cnikit::policy::iptables
