// Nodes coming and going in a real lab: a node whose agent dies (SIGKILL, no cleanup) loses
// its routes on the other nodes within its lease TTL; restarted, it gets the same subnet
// back and is routed again. An agent restart never resets a TCP stream between pods.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <thread>

#include "tools/lab/LabPaths.hpp"
#include "tools/lab/Netns.hpp"
#include "tools/lab/Process.hpp"
#include <cnikit/toolkit/UniqueFd.hpp>
#include "tests/e2e/TestLab.hpp"

namespace cnikit::e2e {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kLeaseTtlSeconds = 6;  // the lab's default nodeLeaseTtlSeconds

class LabNodes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { sweepStaleLabs(); }
};

std::string subnetOf(const TestLab& lab, const std::string& node) {
  auto s = lab.agentStatus(node);
  if (!s.is_object()) return "";
  for (const auto& pool : s["pools"])
    for (const auto& subnet : pool["nodeSubnets"])
      if (subnet.get<std::string>().find(':') == std::string::npos) return subnet.get<std::string>();
  return "";
}

bool hasRoute(const std::string& netns, const std::string& subnet) {
  return ipIn(netns, {"-4", "route", "show", subnet}).find(subnet) != std::string::npos;
}

TEST_F(LabNodes, DeadNodeIsWithdrawnWithinItsLeaseAndRejoinsWithItsSubnet) {
  TestLab lab("life");
  lab.up({"--nodes", "3", "--mode", "vxlan"});
  lab.apply(podsYaml(3));
  auto state = lab.state();
  const std::string subnet3 = subnetOf(lab, "node3");
  ASSERT_FALSE(subnet3.empty());
  for (const char* node : {"node1", "node2"}) ASSERT_TRUE(hasRoute(state.node(node)->netns, subnet3)) << node;

  // A crash: SIGKILL by PID, the agent cleans nothing up and stops renewing its lease.
  auto killed = Clock::now();
  ASSERT_TRUE(lab::killHard(state.node("node3")->agent));
  bool gone = false;
  double goneAfter = 0;
  while (Clock::now() - killed < std::chrono::seconds(kLeaseTtlSeconds + 6)) {
    if (!hasRoute(state.node("node1")->netns, subnet3) && !hasRoute(state.node("node2")->netns, subnet3)) {
      gone = true;
      goneAfter = std::chrono::duration<double>(Clock::now() - killed).count();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(gone) << "node3's route is still on node1/node2 " << kLeaseTtlSeconds + 6 << " s after its agent died";
  // Withdrawn because its lease ran out, not before: the record lives for about the TTL.
  EXPECT_GT(goneAfter, kLeaseTtlSeconds / 2.0);
  EXPECT_LE(goneAfter, kLeaseTtlSeconds + 2.0) << "withdrawn " << goneAfter << " s after the crash";
  auto fdb =
      testing::runInNetns(lab::netnsPath(state.node("node1")->netns), {"bridge", "fdb", "show", "dev", "flannel.1"});
  EXPECT_EQ(fdb.out.find("dst 10.250.0.13"), std::string::npos) << fdb.out;
  // node3's own pod kept its datapath on node3 (nothing removed it) but nobody routes to it.
  auto cut = lab.probe({"--port", "80"});
  EXPECT_FALSE(cut["TCP/80"]["x/a"]["y/c"].get<bool>());
  EXPECT_TRUE(cut["TCP/80"]["x/a"]["x/b"].get<bool>());

  // Rejoin: the same subnet back (flannel semantics), routes again, pods reachable.
  lab.lab({"node", "start"}, {"node3"});
  EXPECT_EQ(subnetOf(lab, "node3"), subnet3);
  for (const char* node : {"node1", "node2"}) EXPECT_TRUE(hasRoute(state.node(node)->netns, subnet3)) << node;
  auto probe = lab.probe();
  EXPECT_TRUE(allEqual(probe, true)) << probe.dump(2);
}

// Echoes lines through one TCP connection from a pod on node1 to a pod on node2, every
// 20 ms, from a thread inside the client pod's namespace; counts round trips, notes errors.
class TcpStream {
 public:
  TcpStream(const std::string& clientNetns, const std::string& serverIp, uint16_t port) {
    thread_ = std::thread([=, this] { run(clientNetns, serverIp, port); });
    auto deadline = Clock::now() + std::chrono::seconds(5);
    while (roundTrips_ < 3 && error().empty() && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ~TcpStream() { stop(); }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int roundTrips() const { return roundTrips_; }
  std::string error() const {
    std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  void fail(const std::string& why) {
    std::lock_guard lock(mutex_);
    if (error_.empty()) error_ = why + " after " + std::to_string(roundTrips_.load()) + " round trips";
  }

  void run(const std::string& netns, const std::string& ip, uint16_t port) {
    try {
      auto inside = toolkit::NetnsGuard::enter(lab::netnsPath(netns)).value();
      toolkit::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(port);
      ::inet_pton(AF_INET, ip.c_str(), &to.sin_addr);
      timeval timeout{2, 0};  // a stalled stream is a failure too
      ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return fail("connect failed");
      std::string pending;
      auto readLine = [&]() -> std::optional<std::string> {
        char buf[512];
        while (pending.find('\n') == std::string::npos) {
          ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
          if (n <= 0) return std::nullopt;
          pending.append(buf, static_cast<size_t>(n));
        }
        auto line = pending.substr(0, pending.find('\n'));
        pending.erase(0, line.size() + 1);
        return line;
      };
      auto greeting = readLine();
      if (!greeting || greeting->find("cnikit-lab x/b") == std::string::npos) return fail("no greeting from x/b");
      for (int i = 0; !stopping_; ++i) {
        std::string line = "ping " + std::to_string(i) + "\n";
        if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
          return fail(std::string("send: ") + std::strerror(errno));
        auto echo = readLine();
        if (!echo) return fail(std::string("recv: ") + (errno ? std::strerror(errno) : "connection closed"));
        if (*echo + "\n" != line) return fail("wrong echo '" + *echo + "'");
        ++roundTrips_;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }

  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> roundTrips_{0};
  mutable std::mutex mutex_;
  std::string error_;
};

TEST_F(LabNodes, AgentRestartDoesNotResetATcpStreamBetweenNodes) {
  TestLab lab("stream");
  lab.up({"--nodes", "2", "--mode", "vxlan"});
  lab.apply(podsYaml(2));
  auto state = lab.state();
  const auto* b = state.pod("x/b");
  ASSERT_NE(b, nullptr);
  TcpStream stream(state.pod("x/a")->netns, b->ips.at(0), 80);
  ASSERT_EQ(stream.error(), "");
  ASSERT_GE(stream.roundTrips(), 3);

  // A clean restart of node1's agent, then a crash and restart of node2's.
  lab.lab({"node", "stop"}, {"node1"});
  int before = stream.roundTrips();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_GT(stream.roundTrips(), before) << "the stream stalled while node1's agent was down";
  lab.lab({"node", "start"}, {"node1"});
  ASSERT_TRUE(lab::killHard(lab.state().node("node2")->agent));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  lab.lab({"node", "start"}, {"node2"});
  before = stream.roundTrips();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // past both agents' first reconcile
  EXPECT_GT(stream.roundTrips(), before + 10);
  stream.stop();
  EXPECT_EQ(stream.error(), "");
  // Both agents are back and in sync.
  auto probe = lab.probe();
  EXPECT_TRUE(allEqual(probe, true)) << probe.dump(2);
}

}  // namespace
}  // namespace cnikit::e2e
