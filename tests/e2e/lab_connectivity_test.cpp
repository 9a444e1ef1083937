// Cross-node pod-to-pod in a real lab (etcd, one cnikitd per node, pods through the real
// cnikit executable), for flannel-like vxlan and host-gw: the probe matrix of real
// connections is all '.', equals `policy matrix` on the stored objects (no policies), and the
// nodes hold the routes the mode calls for.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/e2e/TestLab.hpp"
#include "tests/support/Command.hpp"
#include "tools/lab/LabPaths.hpp"
#include "tools/lab/Process.hpp"

namespace cnikit::e2e {
namespace {

using nlohmann::json;

class LabConnectivity : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { sweepStaleLabs(); }
};

// `cnikitctl diag --lab`: a directory per node with the agent's and the kernel's state, and no
// secret of the node's secrets directory anywhere in it.
void expectDiagBundle(const TestLab& lab) {
  const auto state = lab.state();
  const std::string secret = "e2e-secret-" + std::to_string(::getpid());
  for (const auto& node : state.nodes) {
    auto dir = std::filesystem::path(node.dir) / "state" / "secrets";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "mesh-password") << secret;
  }
  const auto work = std::filesystem::temp_directory_path() / ("cnikit-e2e-diag-" + lab.name());
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work);
  auto diag = lab.ctl({"--lab", lab.name(), "diag", "--out", (work / "bundle.tar.gz").string()});
  EXPECT_EQ(diag.exitCode, 0) << diag.describe();
  auto untar = testing::run({"tar", "-C", work.string(), "-xzf", (work / "bundle.tar.gz").string()});
  ASSERT_EQ(untar.exitCode, 0) << untar.describe();
  std::filesystem::path root;
  for (const auto& entry : std::filesystem::directory_iterator(work))
    if (entry.is_directory()) root = entry.path();
  ASSERT_FALSE(root.empty());
  auto read = [](const std::filesystem::path& file) {
    std::ifstream in(file);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  for (const auto& node : state.nodes) {
    const auto nodeDir = root / node.name;
    for (const char* file :
         {"status.json", "config.json", "store.json", "agent-recent.log", "metrics.txt", "links.json", "addresses.json",
          "routes-ipv4.json", "routes-ipv6.json", "neighbours.json", "fdb.json", "iptables-legacy.txt", "sysctl.txt"})
      EXPECT_TRUE(std::filesystem::exists(nodeDir / file)) << node.name << " has no " << file;
    EXPECT_EQ(read(nodeDir / "errors.txt"), "") << node.name;
    // Its own namespace, not the caller's: the node's underlay address and VXLAN device.
    EXPECT_NE(read(nodeDir / "addresses.json").find(node.underlayIpv4), std::string::npos) << node.name;
    EXPECT_NE(read(nodeDir / "links.json").find("flannel.1"), std::string::npos) << node.name;
    EXPECT_NE(read(nodeDir / "store.json").find("/cnikit/v1/nodes/" + node.name), std::string::npos) << node.name;
    for (const auto& entry : std::filesystem::directory_iterator(nodeDir))
      EXPECT_EQ(read(entry.path()).find(secret), std::string::npos) << entry.path() << " holds a secret";
  }
  std::filesystem::remove_all(work);
}

TEST_P(LabConnectivity, PodsOnEveryNodeReachEachOther) {
  const std::string mode = GetParam();
  TestLab lab(mode == "vxlan" ? "vx" : "hg");
  lab.up({"--nodes", "3", "--mode", mode});
  // A fourth pod without nodeName is spread: it lands on a node with the fewest pods.
  lab.apply(
      podsYaml(3) +
      "---\napiVersion: v1\nkind: Pod\nmetadata: {name: d, namespace: y, labels: {pod: d}}\nspec:\n  containers:\n"
      "  - name: serve\n    ports:\n    - {containerPort: 80}\n    - {containerPort: 80, protocol: UDP}\n");
  auto state = lab.state();
  ASSERT_EQ(state.pods.size(), 4u);
  std::map<std::string, std::string> podNode;
  for (const auto& p : state.pods) podNode[p.key()] = p.node;
  EXPECT_EQ(podNode["x/a"], "node1");
  EXPECT_EQ(podNode["x/b"], "node2");
  EXPECT_EQ(podNode["y/c"], "node3");
  EXPECT_EQ(podNode["y/d"], "node1");

  auto probe = lab.probe();
  ASSERT_TRUE(probe.is_object());
  EXPECT_EQ(probe.size(), 2u) << probe.dump();  // TCP/80 and UDP/80
  EXPECT_TRUE(probe.contains("TCP/80") && probe.contains("UDP/80")) << probe.dump();
  EXPECT_EQ(probe["TCP/80"].size(), 4u);
  EXPECT_TRUE(allEqual(probe, true)) << probe.dump(2);
  // The same format as the policy engine's expectation (no policy: everything connects).
  auto expected = lab.ctlJson({"policy", "matrix"});
  EXPECT_EQ(probe, expected);
  // IPv6 too, at once: a node's bridge is made with its first pod, and its link-local
  // address (the source of the node's neighbour solicitations) is usable without DAD.
  json v6 = lab.probe({"--ipv6"});
  EXPECT_TRUE(allEqual(v6, true)) << "IPv6: " << v6.dump(2);

  // get pods -A in the lab: node and addresses as the lab placed and networked them.
  auto pods = lab.ctlJson({"get", "pods", "-A"});
  ASSERT_EQ(pods["items"].size(), 4u) << pods.dump();
  for (const auto& item : pods["items"]) {
    std::string key =
        item["metadata"]["namespace"].get<std::string>() + "/" + item["metadata"]["name"].get<std::string>();
    const auto* p = state.pod(key);
    ASSERT_NE(p, nullptr) << key;
    EXPECT_EQ(item["spec"]["nodeName"], p->node) << key;
    EXPECT_EQ(item["status"]["podIP"], p->ips.at(0)) << key;
    EXPECT_EQ(item["status"]["podIPs"].size(), 2u) << key;
  }

  // The mode's routes on node1 to node2's subnet (whichever /24 node2 claimed).
  std::string subnet2;
  const json status2 = lab.agentStatus("node2");
  ASSERT_TRUE(status2.is_object());
  for (const auto& pool : status2["pools"])
    for (const auto& subnet : pool["nodeSubnets"])
      if (subnet.get<std::string>().find(':') == std::string::npos) subnet2 = subnet.get<std::string>();
  ASSERT_FALSE(subnet2.empty());
  const std::string gateway2 = subnet2.substr(0, subnet2.rfind('.')) + ".1";  // first host of a /24
  auto routes = ipIn(state.node("node1")->netns, {"-4", "route", "show", "proto", "202"});
  if (mode == "vxlan") {
    EXPECT_NE(routes.find(subnet2 + " via " + gateway2 + " dev flannel.1 onlink"), std::string::npos) << routes;
    auto fdb =
        testing::runInNetns(lab::netnsPath(state.node("node1")->netns), {"bridge", "fdb", "show", "dev", "flannel.1"});
    EXPECT_NE(fdb.out.find("dst 10.250.0.12"), std::string::npos) << fdb.out;
  } else {
    EXPECT_NE(routes.find(subnet2 + " via 10.250.0.12 dev eth0"), std::string::npos) << routes;
    EXPECT_EQ(routes.find("flannel.1"), std::string::npos) << routes;
  }

  if (mode == "vxlan") expectDiagBundle(lab);

  // The probe can fail: with y/c's server stopped, nothing reaches y/c, on either protocol.
  auto* c = state.pod("y/c");
  ASSERT_TRUE(lab::killHard(c->server));
  auto broken = lab.probe();
  for (const auto& [portCase, table] : broken.items())
    for (const auto& [from, row] : table.items())
      for (const auto& [to, value] : row.items())
        EXPECT_EQ(value.get<bool>(), to != "y/c") << portCase << " " << from << " -> " << to;
}

INSTANTIATE_TEST_SUITE_P(Modes, LabConnectivity, ::testing::Values("vxlan", "host-gw"), [](const auto& info) {
  return info.param == "vxlan" ? std::string("Vxlan") : std::string("HostGw");
});

}  // namespace
}  // namespace cnikit::e2e
