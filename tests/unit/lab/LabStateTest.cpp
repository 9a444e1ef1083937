#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "tools/lab/LabPaths.hpp"
#include "tools/lab/LabState.hpp"

namespace cnikit::lab {
namespace {

class LabStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cnkt-labstate-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    ::setenv("CNIKIT_LAB_ROOT", root_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("CNIKIT_LAB_ROOT");
    std::filesystem::remove_all(root_);
  }
  std::string root_;
};

TEST_F(LabStateTest, SavesAndLoadsEverythingItRecords) {
  LabState s;
  s.name = "t1";
  s.dir = labDir("t1").string();
  s.fabricNetns = "cnikit-lab-t1-fabric";
  s.external.netns = "cnikit-lab-t1-external";
  s.etcd.process = {1234, 99};
  s.etcd.endpoint = "http://10.250.0.1:2379";
  s.clusterConfig = {{"pools", nlohmann::json::array()}};
  NodeState n;
  n.name = "node1";
  n.index = 1;
  n.labels = {{"zone", "a"}};
  n.agent = {42, 7};
  s.nodes.push_back(n);
  PodState p;
  p.ns = "x";
  p.name = "a";
  p.node = "node1";
  p.ips = {"10.244.0.2", "fd00::2"};
  p.ports = {{"web", 80, k8s::Protocol::TCP}, {"", 53, k8s::Protocol::UDP}};
  p.server = {77, 8};
  p.networked = true;
  s.pods.push_back(p);
  std::filesystem::create_directories(s.dir);
  s.recordNetns("cnikit-lab-t1-fabric");  // saves
  s.recordNetns("cnikit-lab-t1-fabric");  // once only

  auto loaded = LabState::load("t1");
  EXPECT_EQ(loaded.toJson(), s.toJson());
  EXPECT_EQ(loaded.netns.size(), 1u);
  ASSERT_NE(loaded.pod("x/a"), nullptr);
  EXPECT_EQ(loaded.pod("x/a")->ports[1].protocol, k8s::Protocol::UDP);
  EXPECT_EQ(loaded.node("node1")->agent.pid, 42);
  EXPECT_EQ(loaded.external.netns, "cnikit-lab-t1-external");
  EXPECT_EQ(loaded.external.ipv4, "10.250.0.250");
  EXPECT_EQ(listLabs(), std::vector<std::string>{"t1"});
  loaded.forgetNetns("cnikit-lab-t1-fabric");
  EXPECT_TRUE(LabState::load("t1").netns.empty());
}

TEST_F(LabStateTest, MissingLabIsNamed) {
  try {
    LabState::load("nope");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no lab 'nope'"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(LabState::tryLoad("nope"));
  std::filesystem::create_directories(labDir("bad"));
  std::ofstream(stateFile("bad")) << "{ torn";
  EXPECT_FALSE(LabState::tryLoad("bad"));  // `lab down` then works from /run/netns alone
}

}  // namespace
}  // namespace cnikit::lab
