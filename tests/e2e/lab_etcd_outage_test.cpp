// etcd away for 20 s: pods keep talking across nodes (the agents keep their datapath),
// the agents report the store as unreachable, and recover by themselves once etcd is back
// (store reachable, node registered, new pods can be added). A CNI ADD during the outage
// fails with code 11 (try again later).
#include <gtest/gtest.h>

#include <thread>

#include "tools/lab/Command.hpp"
#include "tools/lab/LabPaths.hpp"
#include "tools/lab/LabPods.hpp"
#include "tools/lab/Netns.hpp"
#include "tests/e2e/TestLab.hpp"

namespace cnikit::e2e {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

class LabEtcd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { sweepStaleLabs(); }
};

bool storeReachable(const json& status) { return status.is_object() && status["store"].value("reachable", false); }

bool registered(const json& status) { return status.is_object() && status["cluster"].value("registered", false); }

TEST_F(LabEtcd, PodsKeepTalkingWhileEtcdIsDownAndAgentsRecover) {
  TestLab lab("etcd");
  lab.up({"--nodes", "2", "--mode", "vxlan"});
  lab.apply(podsYaml(2));
  ASSERT_TRUE(allEqual(lab.probe(), true));

  auto stopped = Clock::now();
  lab.lab({"etcd", "stop"});
  // The agents notice and say so.
  bool noticed = false;
  while (!noticed && Clock::now() - stopped < std::chrono::seconds(10)) {
    noticed = !storeReachable(lab.agentStatus("node1")) && !storeReachable(lab.agentStatus("node2"));
    if (!noticed) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(noticed) << "status still says the store is reachable: " << lab.agentStatus("node1").dump();

  // A pod that needs an address now is told to try again later: CNI error 11.
  {
    const std::string netns = lab::netnsName(lab.name(), "pod-outage");  // swept by lab down too
    lab::createNetns(netns);
    auto state = lab.state();
    lab::CommandSpec spec;
    spec.argv = {CNIKIT_PATH};
    spec.env = {
        {"CNI_COMMAND", "ADD"}, {"CNI_CONTAINERID", "outage"}, {"CNI_NETNS", lab::netnsPath(netns)},
        {"CNI_IFNAME", "eth0"}, {"CNI_PATH", "/nonexistent"},  {"CNI_ARGS", "K8S_POD_NAMESPACE=x;K8S_POD_NAME=outage"}};
    spec.replaceEnv = true;
    spec.stdinText = lab::cniConfig(*state.node("node1"));
    auto add = lab::runCommand(spec);
    EXPECT_EQ(add.exitCode, 1) << add.out;
    auto error = json::parse(add.out, nullptr, false);
    EXPECT_TRUE(error.is_object() && error.value("code", 0) == 11) << add.out;
    lab::deleteNetns(netns);
  }

  // Pods keep talking during the whole outage (probed early and late).
  auto early = lab.probe();
  EXPECT_TRUE(allEqual(early, true)) << early.dump(2);
  std::this_thread::sleep_until(stopped + std::chrono::seconds(17));
  auto late = lab.probe();
  EXPECT_TRUE(allEqual(late, true)) << late.dump(2);
  std::this_thread::sleep_until(stopped + std::chrono::seconds(20));

  lab.lab({"etcd", "start"});
  auto restarted = Clock::now();
  bool recovered = false;
  json s1, s2;
  while (!recovered && Clock::now() - restarted < std::chrono::seconds(20)) {
    s1 = lab.agentStatus("node1");
    s2 = lab.agentStatus("node2");
    recovered = storeReachable(s1) && storeReachable(s2) && registered(s1) && registered(s2) &&
                !s1["cluster"].contains("storeError") && !s2["cluster"].contains("storeError");
    if (!recovered) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(recovered) << "node1: " << s1.dump() << "\nnode2: " << s2.dump();
  // Both still see each other and a new pod (which needs the store for its address) works.
  lab.apply(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: late, namespace: x}\nspec:\n  nodeName: node2\n  containers:\n"
      "  - name: serve\n    ports:\n    - {containerPort: 80}\n    - {containerPort: 80, protocol: UDP}\n");
  auto after = lab.probe();
  EXPECT_EQ(after["TCP/80"].size(), 3u);
  EXPECT_TRUE(allEqual(after, true)) << after.dump(2);
}

}  // namespace
}  // namespace cnikit::e2e
