#include <gtest/gtest.h>

#include "tools/lab/LabPaths.hpp"
#include "tools/lab/LabSpec.hpp"

namespace cnikit::lab {
namespace {

using nlohmann::json;

std::string errorOf(const std::string& yaml) {
  LabSpec spec;
  try {
    parseLabConfig(yaml, "lab.yaml", spec);
    spec.clusterConfig();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(LabSpec, DefaultClusterConfigIsFlannelVxlanDualStack) {
  LabSpec spec;
  auto config = spec.clusterConfig();
  ASSERT_EQ(config["backends"].size(), 1u);
  EXPECT_EQ(config["backends"][0]["name"], "flannel");
  EXPECT_EQ(config["backends"][0]["type"], "flannel-like");
  EXPECT_EQ(config["backends"][0]["options"]["mode"], "vxlan");
  EXPECT_EQ(config["pools"][0]["cidrs"], json::array({"10.244.0.0/16", "fd00:10:244::/56"}));
  EXPECT_EQ(config["pools"][0]["backend"], "flannel");
  spec.ipv6 = false;
  spec.mode = "host-gw";
  spec.backendOptions = {{"vni", 7}};
  config = spec.clusterConfig();
  EXPECT_EQ(config["pools"][0]["cidrs"], json::array({"10.244.0.0/16"}));
  EXPECT_EQ(config["backends"][0]["options"], json({{"mode", "host-gw"}, {"vni", 7}}));
}

TEST(LabSpec, PolicyIsWrittenAsTheInstancesTypedField) {
  LabSpec spec;
  parseLabConfig("policy: iptables\n", "lab.yaml", spec);
  auto config = spec.clusterConfig();
  EXPECT_EQ(config["backends"][0]["policy"], "iptables");
  EXPECT_FALSE(config["backends"][0]["options"].contains("policy"));

  // The old spelling in backendOptions comes out in the new one.
  LabSpec old;
  parseLabConfig("backendOptions: {policy: iptables, vni: 7}\n", "lab.yaml", old);
  config = old.clusterConfig();
  EXPECT_EQ(config["backends"][0]["policy"], "iptables");
  EXPECT_EQ(config["backends"][0]["options"], json({{"mode", "vxlan"}, {"vni", 7}}));

  LabSpec bad;
  try {
    parseLabConfig("policy: ebpf\n", "lab.yaml", bad);
    FAIL() << "policy: ebpf accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("lab.yaml: policy: must be none or iptables"), std::string::npos) << e.what();
  }
}

TEST(LabSpec, ReadsNodesLabelsAndAgentSettings) {
  LabSpec spec;
  parseLabConfig(R"(
nodes:
  - name: east-1
    labels: {zone: east}
  - name: west-1
mode: host-gw
ipv6: false
nodeLeaseTtlSeconds: 4
)",
                 "lab.yaml", spec);
  ASSERT_EQ(spec.nodes.size(), 2u);
  EXPECT_EQ(spec.nodes[0].name, "east-1");
  EXPECT_EQ(spec.nodes[0].labels.at("zone"), "east");
  EXPECT_EQ(spec.nodes[1].name, "west-1");
  EXPECT_EQ(spec.mode, "host-gw");
  EXPECT_FALSE(spec.ipv6);
  EXPECT_EQ(spec.nodeLeaseTtlSeconds, 4);
  parseLabConfig("nodes: 5\n", "lab.yaml", spec);
  ASSERT_EQ(spec.nodes.size(), 5u);
  EXPECT_EQ(spec.nodes[4].name, "node5");
}

TEST(LabSpec, ClusterConfigFromTheFileReplacesTheDefault) {
  LabSpec spec;
  parseLabConfig(R"(
backends:
  - {name: overlay, type: flannel-like, options: {mode: vxlan}}
  - {name: routed, type: flannel-like, options: {mode: host-gw, bridge: cni1}}
pools:
  - {name: a, backend: overlay, cidrs: [10.10.0.0/16]}
  - {name: b, backend: routed, cidrs: [10.20.0.0/16]}
selection:
  - {pool: b, namespaces: [fast]}
)",
                 "lab.yaml", spec);
  auto config = spec.clusterConfig();
  EXPECT_EQ(config["backends"].size(), 2u);
  EXPECT_EQ(config["pools"][1]["name"], "b");
  EXPECT_EQ(config["selection"][0]["pool"], "b");
}

TEST(LabSpec, ErrorsNameTheFileAndTheField) {
  EXPECT_NE(errorOf("nodes: 0\n").find("lab.yaml: nodes"), std::string::npos);
  EXPECT_NE(errorOf("nodez: 3\n").find("lab.yaml: nodez: unknown field"), std::string::npos);
  EXPECT_NE(errorOf("nodes: [{name: fabric}]\n").find("nodes[0].name"), std::string::npos);
  EXPECT_NE(errorOf("nodes: [{name: a}, {name: a}]\n").find("duplicate node 'a'"), std::string::npos);
  EXPECT_NE(errorOf("pools: [{name: a, backend: x, cidrs: [10.0.0.0/8]}]\n").find("backends and pools come together"),
            std::string::npos);
  // The agent's own parser checks the cluster config: an unknown backend instance.
  auto e = errorOf("backends: [{name: x, type: flannel-like}]\npools: [{name: a, backend: y, cidrs: [10.0.0.0/8]}]\n");
  EXPECT_NE(e.find("no backend instance named 'y'"), std::string::npos) << e;
  EXPECT_EQ(errorOf("mode: host-gw\n"), "");
}

TEST(LabSpec, DefaultServicesHaveALoadBalancerPoolOnTheFabric) {
  LabSpec spec;
  EXPECT_NE(errorOf("services: 5\n").find("lab.yaml: services: must be an object"), std::string::npos);
  auto config = spec.clusterConfig();
  ASSERT_TRUE(config.contains("services")) << config.dump();
  EXPECT_EQ(config["services"]["loadBalancerPools"][0]["name"], "lab");
  EXPECT_EQ(config["services"]["loadBalancerPools"][0]["cidrs"],
            json::array({"10.250.200.0/24", "fd00:250::200:0/112"}));
  spec.ipv6 = false;
  EXPECT_EQ(spec.clusterConfig()["services"]["loadBalancerPools"][0]["cidrs"], json::array({"10.250.200.0/24"}));
  // A services section of lab.yaml replaces the default one.
  LabSpec own;
  parseLabConfig("services: {loadBalancerPools: [{name: mine, cidrs: [10.250.201.0/24]}]}\n", "lab.yaml", own);
  EXPECT_EQ(own.clusterConfig()["services"]["loadBalancerPools"][0]["name"], "mine");
}

TEST(LabPaths, NamesCannotBeConfusedAcrossLabs) {
  EXPECT_NO_THROW(validateLabName("demo"));
  EXPECT_NO_THROW(validateLabName("e2e_123_vx0"));
  EXPECT_THROW(validateLabName("a-b"), std::invalid_argument);  // would prefix-match lab "a"
  EXPECT_THROW(validateLabName(""), std::invalid_argument);
  EXPECT_THROW(validateLabName("Demo"), std::invalid_argument);
  EXPECT_THROW(validateLabName(std::string(25, 'a')), std::invalid_argument);
  EXPECT_THROW(validateNodeName("pod-x"), std::invalid_argument);
  EXPECT_THROW(validateNodeName("external"), std::invalid_argument);  // the outside client
  EXPECT_THROW(validateNodeName("-x"), std::invalid_argument);
  EXPECT_NO_THROW(validateNodeName("node-1"));
  EXPECT_EQ(netnsName("demo", "node1"), "cnikit-lab-demo-node1");
  EXPECT_EQ(podNetnsPart("x", "a"), "pod-x-a");
  auto longPart = podNetnsPart("x", std::string(250, 'p'));
  EXPECT_LE(longPart.size(), 160u);
  EXPECT_NE(longPart, podNetnsPart("x", std::string(249, 'p') + "q"));
}

}  // namespace
}  // namespace cnikit::lab
