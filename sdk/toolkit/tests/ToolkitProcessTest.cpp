// The toolkit's process runner with real programs: output, stdin, environment, exit codes,
// signals, the timeout (the child killed by its PID), a program that does not exist, and a
// run inside a test-made network namespace (root).
#include <cnikit/toolkit/Netns.hpp>
#include <cnikit/toolkit/Process.hpp>

#include <signal.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/NetnsSweeper.hpp"
#include "tests/support/TestNetns.hpp"

namespace ct = cnikit::toolkit;
namespace cs = cnikit::testing;
using namespace std::chrono_literals;

namespace {

ct::ProcessResult run(ct::ProcessSpec spec) { return ct::runProcess(spec).value(); }

TEST(ToolkitProcess, CapturesStdoutStderrAndTheExitCode) {
  auto r = run({.argv = {"sh", "-c", "echo out; echo err >&2; exit 3"}});
  EXPECT_EQ(r.exitCode, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.succeeded());
  EXPECT_GT(r.wall.count(), 0);
  EXPECT_EQ(r.describe({"sh"}), "sh: exit 3: err");
}

TEST(ToolkitProcess, FeedsStdinLargerThanAPipe) {
  std::string text(1 << 20, 'x');
  auto r = run({.argv = {"wc", "-c"}, .stdinText = text});
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_EQ(std::stoul(r.out), text.size());
}

TEST(ToolkitProcess, AChildThatDoesNotReadItsStdinDoesNotHurtTheCaller) {
  auto r = run({.argv = {"true"}, .stdinText = std::string(1 << 20, 'y')});
  EXPECT_EQ(r.exitCode, 0);
}

TEST(ToolkitProcess, EnvironmentIsAddedOrReplaced) {
  auto added = run({.argv = {"sh", "-c", "echo $CNIKIT_T:$HOME"}, .env = {{"CNIKIT_T", "1"}}});
  EXPECT_EQ(added.out, "1:" + std::string(::getenv("HOME") ? ::getenv("HOME") : "") + "\n");
  auto replaced = run({.argv = {"env"}, .env = {{"CNI_COMMAND", "ADD"}}, .replaceEnv = true});
  EXPECT_NE(replaced.out.find("CNI_COMMAND=ADD\n"), std::string::npos) << replaced.out;
  EXPECT_NE(replaced.out.find("PATH="), std::string::npos) << replaced.out;  // kept to find programs
  EXPECT_EQ(replaced.out.find("HOME="), std::string::npos) << replaced.out;
}

TEST(ToolkitProcess, TimeoutKillsTheChild) {
  auto start = std::chrono::steady_clock::now();
  auto r = run({.argv = {"sleep", "30"}, .timeout = 200ms});
  EXPECT_TRUE(r.timedOut);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(r.describe({"sleep", "30"}), "sleep 30: timed out");
}

TEST(ToolkitProcess, AMissingProgramOrEmptyArgvIsAnErrorNamingIt) {
  auto missing = ct::runProcess({.argv = {"cnikit-no-such-program"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_NE(missing.error().message.find("cnikit-no-such-program"), std::string::npos) << missing.error().message;
  EXPECT_EQ(ct::runProcess({}).error().code, EINVAL);
  auto asResult = ct::notStarted(missing.error());  // what a shell would say
  EXPECT_EQ(asResult.exitCode, 127);
  EXPECT_NE(asResult.describe({"cnikit-no-such-program"}).find("cannot execute"), std::string::npos);
}

TEST(ToolkitProcess, RunsInsideANetworkNamespaceAndTheCallerStaysWhereItWas) {
  cs::sweepStaleNetns();
  cs::TestNetns ns("process");
  auto before = ct::Netns::current().value();
  auto r = run({.argv = {"readlink", "/proc/self/ns/net"}, .netnsPath = ns.path()});
  auto target = ct::Netns::open(ns.path()).value();
  EXPECT_EQ(r.out, "net:[" + std::to_string(target.id().ino) + "]\n");
  EXPECT_TRUE(ct::Netns::current().value().sameAs(before));
  auto bad = ct::runProcess({.argv = {"true"}, .netnsPath = "/run/netns/cnikit-no-such-ns"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("cnikit-no-such-ns"), std::string::npos) << bad.error().message;
}

}  // namespace
