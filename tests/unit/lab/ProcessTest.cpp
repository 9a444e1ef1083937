#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tools/lab/Command.hpp"
#include "tools/lab/Process.hpp"

namespace cnikit::lab {
namespace {

TEST(LabProcess, SpawnedDaemonIsRecordedAndStoppedByPid) {
  auto log = "/tmp/cnkt-labproc-" + std::to_string(::getpid()) + ".log";
  auto p = spawnDaemon({{"sh", "-c", "echo started; exec sleep 30"}, "", log, -1});
  EXPECT_GT(p.pid, 0);
  EXPECT_EQ(p.startTime, processStartTime(p.pid));
  EXPECT_TRUE(isRunning(p));
  for (int i = 0; i < 200 && fileTail(log).find("started") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_NE(fileTail(log).find("started"), std::string::npos) << "its output goes to the log";
  // The daemon is not our child: it was handed to init (or a subreaper) at once.
  EXPECT_EQ(::kill(p.pid, 0), 0);
  // Another start time is another process: never signalled.
  ProcessRecord stranger{p.pid, p.startTime + 1};
  EXPECT_FALSE(isRunning(stranger));
  EXPECT_FALSE(terminate(stranger));
  EXPECT_TRUE(isRunning(p));
  EXPECT_TRUE(terminate(p, std::chrono::seconds(2)));
  EXPECT_FALSE(isRunning(p));
  EXPECT_FALSE(terminate(p));  // idempotent
  std::filesystem::remove(log);
}

TEST(LabProcess, ExecFailureIsReported) {
  try {
    spawnDaemon({{"/nonexistent/cnkt-binary"}, "", "", -1});
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("exec failed"), std::string::npos) << e.what();
  }
  try {
    spawnDaemon({{"sleep", "1"}, "/nonexistent/netns", "", -1});
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/netns"), std::string::npos) << e.what();
  }
}

TEST(LabProcess, TerminateAllEscalatesToSigkill) {
  // Ignores SIGTERM: only SIGKILL after the grace period ends it.
  auto stubborn = spawnDaemon({{"sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"}, "", "", -1});
  auto polite = spawnDaemon({{"sleep", "30"}, "", "", -1});
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(terminateAll({stubborn, polite}, std::chrono::milliseconds(300)), 2u);
  EXPECT_FALSE(isRunning(stubborn));
  EXPECT_FALSE(isRunning(polite));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
}

TEST(LabCommand, RunsWithStdinEnvironmentAndTimeout) {
  CommandSpec spec;
  spec.argv = {"sh", "-c", "cat; echo \"$CNKT_X\"; exit 3"};
  spec.stdinText = "hello\n";
  spec.env = {{"CNKT_X", "value"}};
  spec.replaceEnv = true;
  auto r = runCommand(spec);
  EXPECT_EQ(r.exitCode, 3);
  EXPECT_EQ(r.out, "hello\nvalue\n");
  EXPECT_THROW(runChecked(spec), std::runtime_error);
  CommandSpec slow;
  slow.argv = {"sleep", "5"};
  slow.timeout = std::chrono::milliseconds(200);
  auto t = runCommand(slow);
  EXPECT_TRUE(t.timedOut);
  CommandSpec none;
  none.argv = {"cnkt-no-such-tool"};
  auto missing = runCommand(none);
  EXPECT_EQ(missing.exitCode, 127);
  EXPECT_NE(missing.describe({"cnkt-no-such-tool"}).find("cannot execute"), std::string::npos);
}

}  // namespace
}  // namespace cnikit::lab
