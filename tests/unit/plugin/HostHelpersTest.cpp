// helper_spawn / helper_stop through the C table with real processes (/bin/sleep, /bin/sh):
// netns, output log, restart policy, adoption by the next host, teardown by PID. Every
// process a test starts is stopped by PID (the host's teardown, or TearDown's safety net).
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "core/plugin/HostServices.hpp"
#include "tests/support/TestNetns.hpp"

using namespace cnikit::plugin;
using namespace std::chrono_literals;

namespace {

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Alive and not a zombie.
bool running(int64_t pid) {
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return paren != std::string::npos && stat.size() > paren + 2 && stat[paren + 2] != 'Z';
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

class HostHelpers : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cnikit-helpers-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    host_ = makeHost();
  }
  void TearDown() override {
    if (host_) host_->shutdown(true);
    host_.reset();
    // Safety net: whatever a failed test left running, stopped by the PIDs it handed out.
    for (int64_t pid : pids_) {
      if (running(pid)) ::kill(static_cast<pid_t>(pid), SIGKILL);
      ::waitpid(static_cast<pid_t>(pid), nullptr, WNOHANG);
    }
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<HostServices> makeHost() { return std::make_unique<HostServices>("blue", nullptr, nullptr, HostPaths{dir_, ""}); }

  cnikit_status spawn(HostServices& host, const char* name, std::vector<const char*> argv, int64_t* pid,
                      cnikit_restart_policy restart = CNIKIT_RESTART_ON_FAILURE, const char* netns = nullptr) {
    argv.push_back(nullptr);
    cnikit_helper_spec spec{};
    spec.size = sizeof(spec);
    spec.name = name;
    spec.argv = argv.data();
    spec.netns = netns;
    spec.restart = restart;
    const auto& cb = *host.callbacks();
    int64_t got = 0;
    cnikit_status st = cb.helper_spawn(cb.host_ctx, &spec, &got);
    if (st == CNIKIT_OK) pids_.insert(got);
    if (pid) *pid = got;
    return st;
  }
  cnikit_status spawn(const char* name, std::vector<const char*> argv, int64_t* pid,
                      cnikit_restart_policy restart = CNIKIT_RESTART_ON_FAILURE, const char* netns = nullptr) {
    return spawn(*host_, name, std::move(argv), pid, restart, netns);
  }
  std::filesystem::path pidfile(const std::string& name) { return dir_ / "helpers" / (name + ".pid"); }
  // The PID the pidfile names (0 when there is none).
  int64_t pidInFile(const std::string& name) {
    std::istringstream in(readFile(pidfile(name)));
    int64_t pid = 0;
    in >> pid;
    return pid;
  }
  // Reaps a child that someone else stopped (adopted helpers are not the host's children).
  void reap(int64_t pid) { ::waitpid(static_cast<pid_t>(pid), nullptr, 0); }

  std::filesystem::path dir_;
  std::unique_ptr<HostServices> host_;
  std::set<int64_t> pids_;
};

}  // namespace

TEST_F(HostHelpers, RunsInTheGivenNetnsWithOutputInItsLog) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
  cnikit::testing::TestNetns ns("helper");
  int64_t pid = 0;
  ASSERT_EQ(spawn("echo", {"/bin/sh", "-c", "echo out; echo err >&2; exec /bin/sleep 1000"}, &pid,
                  CNIKIT_RESTART_ON_FAILURE, ns.path().c_str()),
            CNIKIT_OK);
  ASSERT_GT(pid, 0);
  struct stat want {}, got {};
  ASSERT_EQ(::stat(ns.path().c_str(), &want), 0);
  ASSERT_TRUE(eventually([&] { return ::stat(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), &got) == 0; }));
  EXPECT_EQ(got.st_ino, want.st_ino);
  auto log = dir_ / "helpers" / "echo.log";
  EXPECT_TRUE(eventually([&] { return readFile(log) == "out\nerr\n"; })) << readFile(log);
  EXPECT_EQ(pidInFile("echo"), pid);
  const auto& cb = *host_->callbacks();
  EXPECT_EQ(cb.helper_stop(cb.host_ctx, "echo"), CNIKIT_OK);
  EXPECT_FALSE(running(pid));
  EXPECT_FALSE(std::filesystem::exists(pidfile("echo")));
  EXPECT_EQ(cb.helper_stop(cb.host_ctx, "echo"), CNIKIT_ERR_NOT_FOUND);
}

TEST_F(HostHelpers, BadSpecsAreRefusedAndLeaveNothing) {
  int64_t pid = 0;
  EXPECT_EQ(spawn("a/b", {"/bin/sleep", "1000"}, &pid), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(spawn("", {"/bin/sleep", "1000"}, &pid), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(spawn("rel", {"sleep", "1000"}, &pid), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(spawn("empty", {}, &pid), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(spawn("ns", {"/bin/sleep", "1000"}, &pid, CNIKIT_RESTART_NEVER, "run/netns/x"), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(spawn("policy", {"/bin/sleep", "1000"}, &pid, static_cast<cnikit_restart_policy>(9)),
            CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(spawn("nons", {"/bin/sleep", "1000"}, &pid, CNIKIT_RESTART_NEVER, "/nonexistent/netns"), CNIKIT_ERR_SYSTEM);
  EXPECT_EQ(spawn("noprog", {"/nonexistent/prog"}, &pid), CNIKIT_ERR_SYSTEM);  // exec failure reported
  EXPECT_FALSE(std::filesystem::exists(pidfile("noprog")));
  const auto& cb = *host_->callbacks();
  EXPECT_EQ(cb.helper_spawn(cb.host_ctx, nullptr, &pid), CNIKIT_ERR_INVALID_ARGUMENT);
  cnikit_helper_spec noArgv{};
  noArgv.size = sizeof(noArgv);
  noArgv.name = "x";
  EXPECT_EQ(cb.helper_spawn(cb.host_ctx, &noArgv, &pid), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(cb.helper_stop(cb.host_ctx, "../x"), CNIKIT_ERR_INVALID_ARGUMENT);
}

TEST_F(HostHelpers, SpawningARunningNameAgainKeepsOrReplacesIt) {
  int64_t a = 0, b = 0, c = 0;
  ASSERT_EQ(spawn("s", {"/bin/sleep", "1000"}, &a), CNIKIT_OK);
  ASSERT_EQ(spawn("s", {"/bin/sleep", "1000"}, &b), CNIKIT_OK);
  EXPECT_EQ(a, b);  // the same argv: the same process
  // A recreated backend with new options: another argv replaces the helper.
  ASSERT_EQ(spawn("s", {"/bin/sleep", "2000"}, &c), CNIKIT_OK);
  EXPECT_NE(c, a);
  EXPECT_FALSE(running(a));
  EXPECT_TRUE(running(c));
  EXPECT_EQ(pidInFile("s"), c);
  // The restart policy of a running helper can change without a restart.
  int64_t d = 0;
  ASSERT_EQ(spawn("s", {"/bin/sleep", "2000"}, &d, CNIKIT_RESTART_NEVER), CNIKIT_OK);
  EXPECT_EQ(d, c);
  ASSERT_EQ(::kill(static_cast<pid_t>(c), SIGKILL), 0);
  EXPECT_TRUE(eventually([&] { return !std::filesystem::exists(pidfile("s")); }));  // not restarted
}

TEST_F(HostHelpers, RestartsAfterAFailure) {
  int64_t first = 0;
  ASSERT_EQ(spawn("s", {"/bin/sleep", "1000"}, &first), CNIKIT_OK);
  ASSERT_EQ(::kill(static_cast<pid_t>(first), SIGKILL), 0);  // killed by a signal: a failure
  ASSERT_TRUE(eventually([&] { return pidInFile("s") != first && pidInFile("s") != 0; }));
  int64_t second = pidInFile("s");
  pids_.insert(second);
  EXPECT_TRUE(running(second));
  EXPECT_FALSE(running(first));  // reaped by the supervisor
  int64_t now = 0;
  ASSERT_EQ(spawn("s", {"/bin/sleep", "1000"}, &now), CNIKIT_OK);
  EXPECT_EQ(now, second);
}

TEST_F(HostHelpers, ACleanExitEndsAnOnFailureHelper) {
  int64_t pid = 0;
  ASSERT_EQ(spawn("t", {"/bin/true"}, &pid), CNIKIT_OK);
  EXPECT_TRUE(eventually([&] { return !std::filesystem::exists(pidfile("t")); }));
  std::this_thread::sleep_for(300ms);  // longer than the first backoff: no restart came
  EXPECT_FALSE(std::filesystem::exists(pidfile("t")));
  // Spawning it again starts it afresh.
  int64_t again = 0;
  ASSERT_EQ(spawn("t", {"/bin/true"}, &again), CNIKIT_OK);
  EXPECT_NE(again, pid);
}

TEST_F(HostHelpers, AlwaysRestartsWithABackoff) {
  int64_t pid = 0;
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(spawn("a", {"/bin/sh", "-c", "echo run"}, &pid, CNIKIT_RESTART_ALWAYS), CNIKIT_OK);
  auto log = dir_ / "helpers" / "a.log";
  // 100 ms, then 200 ms: three runs take at least 300 ms.
  auto runs = [&] {
    std::string text = readFile(log);
    return std::count(text.begin(), text.end(), '\n');
  };
  ASSERT_TRUE(eventually([&] { return runs() >= 3; })) << readFile(log);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
  const auto& cb = *host_->callbacks();
  EXPECT_EQ(cb.helper_stop(cb.host_ctx, "a"), CNIKIT_OK);
  std::string before = readFile(log);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(readFile(log), before);  // stopped: no more runs
}

TEST_F(HostHelpers, TheNextHostAdoptsARunningHelper) {
  int64_t pid = 0;
  ASSERT_EQ(spawn("bird", {"/bin/sleep", "1000"}, &pid), CNIKIT_OK);
  host_->shutdown(false);  // KEEP_DATAPATH: the agent restarts
  host_.reset();
  ASSERT_TRUE(running(pid));
  EXPECT_EQ(pidInFile("bird"), pid);

  host_ = makeHost();
  int64_t adopted = 0;
  ASSERT_EQ(spawn("bird", {"/bin/sleep", "1000"}, &adopted), CNIKIT_OK);
  EXPECT_EQ(adopted, pid);  // not a second process
  EXPECT_TRUE(running(pid));
  EXPECT_EQ(std::count_if(std::filesystem::directory_iterator(dir_ / "helpers"), {},
                          [](const auto& e) { return e.path().extension() == ".pid"; }),
            1);

  // Adopted helpers are watched too: one that dies is restarted.
  ASSERT_EQ(::kill(static_cast<pid_t>(pid), SIGKILL), 0);
  reap(pid);  // still the test process's child, not the second host's
  ASSERT_TRUE(eventually([&] { return pidInFile("bird") != pid && pidInFile("bird") != 0; }));
  pids_.insert(pidInFile("bird"));
  EXPECT_TRUE(running(pidInFile("bird")));
}

TEST_F(HostHelpers, AnotherArgvReplacesTheOldHelper) {
  int64_t old = 0;
  ASSERT_EQ(spawn("bird", {"/bin/sleep", "1000"}, &old), CNIKIT_OK);
  host_->shutdown(false);
  host_ = makeHost();
  int64_t fresh = 0;
  ASSERT_EQ(spawn("bird", {"/bin/sleep", "2000"}, &fresh), CNIKIT_OK);
  EXPECT_NE(fresh, old);
  reap(old);
  EXPECT_FALSE(running(old));
  EXPECT_TRUE(running(fresh));
}

TEST_F(HostHelpers, AStalePidfileNamesNobodyToAdoptOrKill) {
  // A pidfile whose PID now belongs to another process (here: this test): its start time
  // differs, so the host neither adopts nor signals it.
  std::filesystem::create_directories(dir_ / "helpers");
  std::ofstream(pidfile("bird")) << ::getpid() << " 1\n";
  int64_t pid = 0;
  ASSERT_EQ(spawn("bird", {"/bin/sleep", "1000"}, &pid), CNIKIT_OK);
  EXPECT_NE(pid, ::getpid());
  EXPECT_EQ(pidInFile("bird"), pid);
}

TEST_F(HostHelpers, TeardownStopsEveryHelperByPid) {
  int64_t polite = 0, stubborn = 0;
  ASSERT_EQ(spawn("polite", {"/bin/sleep", "1000"}, &polite), CNIKIT_OK);
  // Ignores SIGTERM (the disposition survives exec): only SIGKILL after the grace period ends it.
  ASSERT_EQ(spawn("stubborn", {"/bin/sh", "-c", "trap '' TERM; exec /bin/sleep 1000"}, &stubborn), CNIKIT_OK);
  ASSERT_TRUE(eventually([&] { return readFile("/proc/" + std::to_string(stubborn) + "/comm") == "sleep\n"; }));
  auto start = std::chrono::steady_clock::now();
  host_->shutdown(true);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(running(polite));
  EXPECT_FALSE(running(stubborn));
  EXPECT_GE(took, 1900ms);  // the grace period before SIGKILL
  EXPECT_FALSE(std::filesystem::exists(pidfile("polite")));
  EXPECT_FALSE(std::filesystem::exists(pidfile("stubborn")));
  int64_t late = 0;
  EXPECT_EQ(spawn("late", {"/bin/sleep", "1000"}, &late), CNIKIT_ERR_TRY_AGAIN);  // the instance is ending
}
