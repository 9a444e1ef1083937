// `lab down` leaves nothing: no namespace, no process, no file of the lab, also when the
// command that built the lab crashed half way; and it is idempotent.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "tests/e2e/TestLab.hpp"
#include "tools/lab/LabPaths.hpp"
#include "tools/lab/Netns.hpp"
#include "tools/lab/Process.hpp"

namespace cnikit::e2e {
namespace {

namespace fs = std::filesystem;

class LabDown : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { sweepStaleLabs(); }
};

std::vector<lab::ProcessRecord> processesOf(const lab::LabState& state) {
  std::vector<lab::ProcessRecord> out;
  if (state.etcd.process.pid > 0) out.push_back(state.etcd.process);
  for (const auto& n : state.nodes)
    if (n.agent.pid > 0) out.push_back(n.agent);
  for (const auto& p : state.pods)
    if (p.server.pid > 0) out.push_back(p.server);
  return out;
}

void expectNothingLeft(const std::string& name, const std::vector<lab::ProcessRecord>& processes,
                       const std::vector<std::string>& namespaces) {
  EXPECT_TRUE(lab::listNetns(lab::netnsPrefix(name)).empty());
  for (const auto& ns : namespaces) EXPECT_FALSE(fs::exists(lab::netnsPath(ns))) << ns;
  for (const auto& p : processes) EXPECT_FALSE(lab::isRunning(p)) << "pid " << p.pid << " still runs";
  EXPECT_FALSE(fs::exists(lab::labDir(name))) << lab::labDir(name);
}

TEST_F(LabDown, RemovesEveryNamespaceProcessAndFile) {
  TestLab lab("down");
  lab.up({"--nodes", "2", "--mode", "host-gw"});
  lab.apply(podsYaml(2));
  auto state = lab.state();
  auto processes = processesOf(state);
  ASSERT_EQ(processes.size(), 5u);  // etcd, 2 agents, 2 probe servers
  for (const auto& p : processes) ASSERT_TRUE(lab::isRunning(p));
  auto namespaces = lab::listNetns(lab::netnsPrefix(lab.name()));
  ASSERT_EQ(namespaces.size(), 6u);  // fabric, the outside client, 2 nodes, 2 pods
  EXPECT_NE(std::find(namespaces.begin(), namespaces.end(), state.external.netns), namespaces.end());
  // A process the outside client runs (a `lab exec --external`) goes too.
  processes.push_back(lab::spawnDaemon({{"sleep", "600"}, lab::netnsPath(state.external.netns), "", -1}));
  // Something the lab did not start itself, living in a pod: also the lab's, also removed.
  auto stray = lab::spawnDaemon({{"sleep", "600"}, lab::netnsPath(state.pod("x/a")->netns), "", -1});
  processes.push_back(stray);
  // Nothing of the lab in the root namespace.
  auto root = testing::run({"ip", "-o", "link", "show"}).out;
  EXPECT_EQ(root.find("flannel.1"), std::string::npos);

  lab.down();
  expectNothingLeft(lab.name(), processes, namespaces);
  // Again: nothing to do, no error.
  auto again = lab.ctl({"lab", "down", "--name", lab.name()});
  EXPECT_EQ(again.exitCode, 0) << again.describe();
  EXPECT_NE(again.out.find("nothing to remove"), std::string::npos) << again.out;
}

TEST_F(LabDown, CleansUpAfterTheBuildingCommandCrashed) {
  TestLab lab("crash");
  // `lab up` killed (SIGKILL) as soon as its first agent is recorded: a half-built lab.
  pid_t up = ::fork();
  if (up == 0) {
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, STDOUT_FILENO);
    ::execl(CNIKITCTL_PATH, CNIKITCTL_PATH, "lab", "up", "--name", lab.name().c_str(), "--nodes", "3", nullptr);
    _exit(127);
  }
  ASSERT_GT(up, 0);
  std::optional<lab::LabState> state;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    state = lab::LabState::tryLoad(lab.name());
    if (state && !state->nodes.empty() && state->nodes.front().agent.pid > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(up, SIGKILL);
  ::waitpid(up, nullptr, 0);
  state = lab::LabState::tryLoad(lab.name());
  ASSERT_TRUE(state && !state->nodes.empty() && state->nodes.front().agent.pid > 0) << "the lab never got an agent";
  auto processes = processesOf(*state);
  auto namespaces = lab::listNetns(lab::netnsPrefix(lab.name()));
  EXPECT_FALSE(namespaces.empty());
  EXPECT_TRUE(lab::isRunning(state->etcd.process));
  // A second `up` refuses to build over the remains.
  auto second = lab.ctl({"lab", "up", "--name", lab.name()});
  EXPECT_NE(second.exitCode, 0);
  EXPECT_NE(second.err.find("lab down"), std::string::npos) << second.err;

  lab.down();
  expectNothingLeft(lab.name(), processes, namespaces);
}

}  // namespace
}  // namespace cnikit::e2e
