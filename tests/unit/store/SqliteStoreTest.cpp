// What only the SQLite store does: its file, history trimming, locking, leases outliving
// the process that granted them, and how fast it is.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <thread>

#include "core/store/SqliteStore.hpp"
#include "core/store/StoreFactory.hpp"
#include "tests/unit/store/TempDir.hpp"
#include "tests/unit/store/WatchCollector.hpp"

namespace cnikit::store::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// CPU time of this thread: unlike wall time, not inflated by other load on the machine.
double threadCpuUs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

SqliteStoreOptions fastPoll() {
  SqliteStoreOptions options;
  options.pollInterval = 20ms;
  return options;
}

TEST(SqliteStore, CreatesParentDirectoriesAndUsesWal) {
  TempDir dir("sqlite");
  std::string path = dir.file("a/b/c/store.db");
  {
    SqliteStore store(path);
    store.put("/k", "v");
    EXPECT_EQ(store.describe(), "sqlite:" + path);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST(SqliteStore, DataSurvivesReopen) {
  TempDir dir("sqlite");
  Revision rev = 0;
  {
    SqliteStore store(dir.file("s.db"));
    rev = store.put("/persist", "yes");
  }
  SqliteStore store(dir.file("s.db"));
  auto kv = store.get("/persist");
  ASSERT_TRUE(kv);
  EXPECT_EQ(kv->value, "yes");
  EXPECT_EQ(kv->modRevision, rev);
  EXPECT_EQ(store.revision(), rev);
  EXPECT_GT(store.put("/persist", "again"), rev);
}

TEST(SqliteStore, UnusablePathIsUnavailableAndNamesIt) {
  TempDir dir("sqlite");
  std::string blocker = dir.file("file");
  std::ofstream(blocker) << "not a directory";
  std::string path = blocker + "/store.db";
  try {
    SqliteStore store(path);
    FAIL() << "opened a store below a regular file";
  } catch (const StoreUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  // A file that is not a database.
  std::string garbage = dir.file("garbage.db");
  std::ofstream(garbage) << std::string(8192, 'x');
  try {
    SqliteStore store(garbage);
    FAIL() << "opened a store on a garbage file";
  } catch (const StoreUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find(garbage), std::string::npos) << e.what();
  }
}

TEST(SqliteStore, LockedTooLongIsUnavailableAndNamesTheFile) {
  TempDir dir("sqlite");
  std::string path = dir.file("locked.db");
  SqliteStoreOptions options;
  options.busyTimeout = 200ms;
  SqliteStore store(path, options);
  store.put("/before", "v");
  // Another "process" holds the write lock.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto start = Clock::now();
  try {
    store.put("/k", "v");
    FAIL() << "wrote while another connection held the lock";
  } catch (const StoreUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  auto waited = Clock::now() - start;
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(waited, 2s);
  // Reads still work in WAL mode while a writer holds the lock.
  EXPECT_EQ(store.get("/before")->value, "v");
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_GT(store.put("/k", "v"), 0);
}

TEST(SqliteStore, WaitsForAShortLockInsteadOfFailing) {
  TempDir dir("sqlite");
  std::string path = dir.file("short.db");
  SqliteStore store(path);
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  std::thread releaser([&] {
    std::this_thread::sleep_for(100ms);
    sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);
  });
  auto start = Clock::now();
  EXPECT_GT(store.put("/k", "v"), 0);
  auto waited = Clock::now() - start;
  releaser.join();
  sqlite3_close(other);
  EXPECT_GE(waited, 90ms);
  EXPECT_LT(waited, 1s);  // well inside the 5 s busy timeout
}

TEST(SqliteStore, HistoryIsTrimmedToTheConfiguredRevisions) {
  TempDir dir("sqlite");
  auto options = fastPoll();
  options.eventHistory = 5;
  SqliteStore store(dir.file("trim.db"), options);
  Revision start = store.revision();
  for (int i = 0; i < 12; ++i) store.put("/t/" + std::to_string(i), "v");
  Revision now = store.revision();
  EXPECT_EQ(store.compactedRevision(), now - 5);

  WatchCollector old;
  auto oldWatch = store.watch("/t/", start, old.callback(), old.compactedCallback());
  ASSERT_TRUE(old.waitCompacted());
  EXPECT_TRUE(old.events().empty());

  WatchCollector kept;
  auto keptWatch = store.watch("/t/", now - 5, kept.callback(), kept.compactedCallback());
  ASSERT_TRUE(kept.waitFor(5));
  EXPECT_EQ(kept.events().size(), 5u);
  EXPECT_EQ(kept.events().front().kv.modRevision, now - 4);
  EXPECT_FALSE(kept.compacted());
}

TEST(SqliteStore, BatchedTrimmingKeepsAtLeastTheConfiguredHistory) {
  TempDir dir("sqlite");
  SqliteStoreOptions options;
  options.eventHistory = 100;
  SqliteStore store(dir.file("batch.db"), options);
  for (int i = 0; i < 300; ++i) {
    store.put("/b/" + std::to_string(i % 7), "v");
    Revision now = store.revision();
    Revision compacted = store.compactedRevision();
    ASSERT_LE(compacted, std::max<Revision>(0, now - 100)) << "history shorter than configured at revision " << now;
    if (now > 200) {
      ASSERT_GT(compacted, now - 100 - 64) << "history never trimmed at revision " << now;
    }
  }
}

TEST(SqliteStore, SlowWatcherFallingBehindTrimmedHistoryIsCompacted) {
  TempDir dir("sqlite");
  auto options = fastPoll();
  options.eventHistory = 3;
  SqliteStore store(dir.file("slow.db"), options);
  WatchCollector got;
  std::atomic<bool> block{true};
  std::atomic<int> calls{0};
  auto cb = got.callback();
  auto watch = store.watch(
      "/s/", store.revision(),
      [&](const std::vector<Event>& events) {
        ++calls;
        while (block) std::this_thread::sleep_for(5ms);  // stuck consumer
        cb(events);
      },
      got.compactedCallback());
  store.put("/s/0", "v");
  while (calls == 0) std::this_thread::sleep_for(5ms);
  for (int i = 1; i < 10; ++i) store.put("/s/" + std::to_string(i), "v");
  block = false;
  EXPECT_TRUE(got.waitCompacted());
  EXPECT_EQ(got.events().size(), 1u);
}

// A child process that runs body (returning its exit code) once told to go. It is forked
// before the parent opens any store: forking while another thread is inside SQLite could
// hand the child a held SQLite mutex.
class ChildProcess {
 public:
  explicit ChildProcess(std::function<int()> body) {
    if (pipe(pipe_) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      close(pipe_[1]);
      char c;
      int code = 3;
      if (read(pipe_[0], &c, 1) == 1) {
        try {
          code = body();
        } catch (...) {
          code = 2;
        }
      }
      _exit(code);
    }
    close(pipe_[0]);
  }
  ~ChildProcess() {
    if (pipe_[1] >= 0) close(pipe_[1]);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  void go() {
    char c = 'g';
    ASSERT_EQ(write(pipe_[1], &c, 1), 1);
  }
  // Exit code, or -1 when it did not exit normally.
  int wait() {
    int status = 0;
    pid_t pid = pid_;
    pid_ = -1;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  int pipe_[2] = {-1, -1};
};

TEST(SqliteStore, WatchSeesWritesFromAnotherProcess) {
  TempDir dir("sqlite");
  std::string path = dir.file("xp.db");
  ChildProcess child([&] {
    SqliteStore store(path);
    store.put("/xp/a", "from-child");
    store.put("/xp/b", "from-child");
    store.remove("/xp/a");
    return 0;
  });
  SqliteStore store(path, fastPoll());
  WatchCollector got;
  auto watch = store.watch("/xp/", store.revision(), got.callback(), got.compactedCallback());
  child.go();
  ASSERT_EQ(child.wait(), 0);
  ASSERT_TRUE(got.waitFor(3, 3s));
  auto events = got.events();
  EXPECT_EQ(events[0].kv.key, "/xp/a");
  EXPECT_EQ(events[0].kv.value, "from-child");
  EXPECT_EQ(events[1].kv.key, "/xp/b");
  EXPECT_EQ(events[2].type, EventType::Delete);
  EXPECT_EQ(store.get("/xp/b")->value, "from-child");
}

TEST(SqliteStore, ConcurrentCreateIfAbsentAcrossProcessesHasOneWinnerPerKey) {
  TempDir dir("sqlite");
  std::string path = dir.file("race.db");
  constexpr int kKeys = 300;
  ChildProcess child([&] {
    SqliteStore store(path);
    int wins = 0;
    for (int i = 0; i < kKeys; ++i) wins += store.createIfAbsent("/race/" + std::to_string(i), "child");
    store.put("/race-child-wins", std::to_string(wins));
    return 0;
  });
  SqliteStore store(path);
  int parentWins = 0;
  child.go();
  for (int i = 0; i < kKeys; ++i) parentWins += store.createIfAbsent("/race/" + std::to_string(i), "parent");
  ASSERT_EQ(child.wait(), 0);
  auto childWins = std::stoi(store.get("/race-child-wins")->value);
  auto kvs = store.list("/race/");
  ASSERT_EQ(kvs.size(), static_cast<size_t>(kKeys));
  int parentValues = 0;
  for (const auto& kv : kvs) parentValues += kv.value == "parent";
  EXPECT_EQ(parentWins, parentValues);
  EXPECT_EQ(childWins, kKeys - parentValues);
  std::printf("[ info     ] parent won %d keys, child %d\n", parentWins, childWins);
}

TEST(SqliteStore, LeaseOutlivesTheProcessThatGrantedIt) {
  TempDir dir("sqlite");
  std::string path = dir.file("lease.db");
  auto granter = std::make_unique<SqliteStore>(path, fastPoll());
  LeaseId lease = granter->grantLease(1s);
  granter->put("/node/a", "alive", lease);
  granter.reset();  // the agent died

  SqliteStore survivor(path, fastPoll());
  WatchCollector got;
  auto watch = survivor.watch("/node/", survivor.revision(), got.callback(), got.compactedCallback());
  EXPECT_TRUE(survivor.get("/node/a"));
  ASSERT_TRUE(got.waitFor(1, 3s));
  EXPECT_EQ(got.events()[0].type, EventType::Delete);
  EXPECT_FALSE(survivor.get("/node/a"));
}

TEST(SqliteStore, KeepAliveFromAnotherClientIsHonoured) {
  TempDir dir("sqlite");
  std::string path = dir.file("ka.db");
  SqliteStore a(path, fastPoll());
  SqliteStore b(path, fastPoll());
  LeaseId lease = a.grantLease(1s);
  a.put("/k", "v", lease);
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(250ms);
    ASSERT_TRUE(b.keepAlive(lease));
    ASSERT_TRUE(a.get("/k")) << "a reaped a lease that b kept alive";
  }
}

TEST(SqliteStore, FactoryOpensSqliteAndRefusesUnknownTypes) {
  TempDir dir("sqlite");
  StoreConfig config;
  config.path = dir.file("f.db");
  auto store = openStore(config);
  store->put("/f", "v");
  EXPECT_EQ(store->describe(), "sqlite:" + config.path);

  StoreConfig noPath;
  EXPECT_THROW(openStore(noPath), std::invalid_argument);
  StoreConfig bogus{"redis", "", {}};
  try {
    openStore(bogus);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("redis"), std::string::npos);
  }
}

// Not a pass/fail benchmark: prints per-operation latency (the CNI ADD budget is ~2 ms
// for a few store operations) and fails only when an operation is grossly slow.
TEST(SqliteStore, LatencyAndThroughput) {
  TempDir dir("sqlite");
  auto measure = [&](size_t connections, int threads) {
    SqliteStoreOptions options;
    options.maxConnections = connections;
    SqliteStore store(dir.file("bench-" + std::to_string(connections) + "-" + std::to_string(threads) + ".db"),
                      options);
    for (int i = 0; i < 200; ++i) store.put("/bench/pre/" + std::to_string(i), std::string(150, 'x'));
    constexpr int kOps = 400;
    std::vector<std::thread> workers;
    std::vector<double> putUs(threads), getUs(threads), listUs(threads), putCpuUs(threads);
    auto start = Clock::now();
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        auto t0 = Clock::now();
        double cpu0 = threadCpuUs();
        for (int i = 0; i < kOps; ++i) {
          store.createIfAbsent("/bench/" + std::to_string(t) + "/" + std::to_string(i), std::string(150, 'x'));
        }
        putCpuUs[t] = (threadCpuUs() - cpu0) / kOps;
        auto t1 = Clock::now();
        for (int i = 0; i < kOps; ++i) store.get("/bench/" + std::to_string(t) + "/" + std::to_string(i));
        auto t2 = Clock::now();
        for (int i = 0; i < kOps / 10; ++i) store.list("/bench/pre/");
        auto t3 = Clock::now();
        putUs[t] = std::chrono::duration<double, std::micro>(t1 - t0).count() / kOps;
        getUs[t] = std::chrono::duration<double, std::micro>(t2 - t1).count() / kOps;
        listUs[t] = std::chrono::duration<double, std::micro>(t3 - t2).count() / (kOps / 10);
      });
    }
    for (auto& w : workers) w.join();
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    auto mean = [](const std::vector<double>& v) {
      double s = 0;
      for (double x : v) s += x;
      return s / v.size();
    };
    std::printf(
        "[ bench    ] connections=%zu threads=%d: createIfAbsent %.1f us (%.1f us cpu), get %.1f us, "
        "list(200) %.1f us per op; %.0f ops/s overall\n",
        connections, threads, mean(putUs), mean(putCpuUs), mean(getUs), mean(listUs),
        threads * (kOps * 2 + kOps / 10) / seconds);
    EXPECT_LT(mean(putUs), 2000.0);
    EXPECT_LT(mean(getUs), 1000.0);
  };
  measure(1, 1);
  measure(4, 1);
  measure(1, 8);
  measure(4, 8);
}

}  // namespace
}  // namespace cnikit::store::test
