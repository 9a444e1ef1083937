// What only the etcd store does: endpoints and failover, etcd going away and coming back
// (calls fail fast and recover, watches resume without loss or repeats), compaction while a
// watch is away, etcd's lease timing, and how fast it is.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "core/store/EtcdStore.hpp"
#include "core/store/StoreFactory.hpp"
#include "tests/unit/store/EtcdEnv.hpp"
#include "tests/unit/store/TcpProxy.hpp"
#include "tests/unit/store/WatchCollector.hpp"

namespace cnikit::store::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// CPU time of this thread: what the client itself spends, apart from waiting for etcd.
double threadCpuUs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// A loopback port nothing listens on (bound, then released): connecting is refused.
uint16_t closedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), len);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A listening socket that never accepts: connects succeed (the kernel's backlog), requests
// go out, no answer ever comes.
class Blackhole {
 public:
  Blackhole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len);
    ::listen(fd_, 64);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Blackhole() { ::close(fd_); }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// True once every thread of pid is in the stopped state.
bool waitStopped(pid_t pid) {
  auto deadline = Clock::now() + 2s;
  while (Clock::now() < deadline) {
    bool all = true;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
      std::ifstream stat(task.path() / "stat");
      std::string line;
      std::getline(stat, line);
      auto close = line.rfind(')');
      if (close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'T') all = false;
    }
    if (all) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

// Answers every HTTP request with one canned response: a server that is not etcd.
class CannedHttp {
 public:
  explicit CannedHttp(std::string response) : response_(std::move(response)), hole_() {
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{hole_.fd(), POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        int c = ::accept(hole_.fd(), nullptr, nullptr);
        if (c < 0) continue;
        char buf[4096];
        (void)::recv(c, buf, sizeof buf, 0);
        (void)!::send(c, response_.data(), response_.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  ~CannedHttp() {
    stop_ = true;
    thread_.join();
  }
  std::string endpoint() const { return hole_.endpoint(); }

 private:
  std::string response_;
  Blackhole hole_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void expectNames(const std::string& message, const std::string& what) {
  EXPECT_NE(message.find(what), std::string::npos) << "'" << message << "' does not name " << what;
}

// Every event once, in revision order, and exactly the revisions expected.
void expectExactly(const std::vector<Event>& events, const std::vector<Revision>& revisions) {
  std::vector<Revision> got;
  for (const auto& e : events) got.push_back(e.kv.modRevision);
  EXPECT_EQ(got, revisions);
}

TEST(EtcdStore, FactoryOpensEtcdWithoutContactingIt) {
  StoreConfig config{"etcd", "", {"http://127.0.0.1:2379/", "127.0.0.1:22379"}};
  auto store = openStore(config);  // nothing listens on 22379; opening must not care
  EXPECT_EQ(store->describe(), "etcd:http://127.0.0.1:2379,http://127.0.0.1:22379");

  StoreConfig none{"etcd", "", {}};
  try {
    openStore(none);
    FAIL() << "opened etcd without endpoints";
  } catch (const std::invalid_argument& e) {
    expectNames(e.what(), "endpoints");
  }
  StoreConfig bad{"etcd", "", {"ftp://127.0.0.1:2379"}};
  try {
    openStore(bad);
    FAIL() << "accepted an ftp endpoint";
  } catch (const std::invalid_argument& e) {
    expectNames(e.what(), "ftp://127.0.0.1:2379");
  }
  StoreConfig path{"etcd", "", {"http://127.0.0.1:2379/v3"}};
  EXPECT_THROW(openStore(path), std::invalid_argument);
}

TEST(EtcdStore, UnreachableIsUnavailableQuicklyAndNamesEveryEndpoint) {
  std::string a = "http://127.0.0.1:" + std::to_string(closedPort());
  std::string b = "http://127.0.0.1:" + std::to_string(closedPort());
  EtcdStore store({a, b});
  auto start = Clock::now();
  try {
    store.get("/k");
    FAIL() << "read from no etcd at all";
  } catch (const StoreUnavailable& e) {
    expectNames(e.what(), a);
    expectNames(e.what(), b);
    expectNames(e.what(), "Couldn't connect");
  }
  EXPECT_THROW(store.put("/k", "v"), StoreUnavailable);
  EXPECT_THROW(store.createIfAbsent("/k", "v"), StoreUnavailable);
  EXPECT_THROW(store.grantLease(5s), StoreUnavailable);
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST(EtcdStore, FailsOverToALiveEndpointAndSticksToIt) {
  EtcdEnv env;
  std::string dead = "http://127.0.0.1:" + std::to_string(closedPort());
  EtcdStore store({dead, env.process().endpoint()});
  Revision r = store.put("/f", "v");
  EXPECT_GT(r, 0);
  EXPECT_EQ(store.stats().failovers, 1u);
  // The live endpoint is now tried first.
  EXPECT_EQ(store.get("/f")->value, "v");
  EXPECT_TRUE(store.createIfAbsent("/g", "w"));
  EXPECT_EQ(store.stats().failovers, 1u);
  // Watches start at the endpoint that answered, too.
  WatchCollector got;
  auto watch = store.watch("/f", r - 1, got.callback(), got.compactedCallback());
  ASSERT_TRUE(got.waitFor(1));
  EXPECT_EQ(got.events()[0].kv.value, "v");
}

TEST(EtcdStore, WatchTriesTheNextEndpoint) {
  EtcdEnv env;
  std::string dead = "http://127.0.0.1:" + std::to_string(closedPort());
  EtcdStore store({dead, env.process().endpoint()},
                  fastEtcdOptions());  // starts with the dead one
  WatchCollector got;
  auto watch = store.watch("/w/", 0, got.callback(), got.compactedCallback());
  auto writer = env.openEtcd();
  writer->put("/w/a", "1");
  ASSERT_TRUE(got.waitFor(1, 3s));
  EXPECT_EQ(got.events()[0].kv.key, "/w/a");
}

// A write whose request went out but got no answer may have been applied: it must not be
// repeated at another endpoint (a repeated createIfAbsent would report "taken" for the key
// it just took). A read may be.
TEST(EtcdStore, UnansweredWritesAreNotRepeatedElsewhereButReadsAre) {
  EtcdEnv env;
  Blackhole hole;
  EtcdStoreOptions options;
  options.requestTimeout = 300ms;
  EtcdStore store({hole.endpoint(), env.process().endpoint()}, options);
  try {
    store.createIfAbsent("/once", "v");
    FAIL() << "a write was retried after its first attempt went unanswered";
  } catch (const StoreUnavailable& e) {
    expectNames(e.what(), hole.endpoint());
    expectNames(e.what(), "unknown");
  }
  EXPECT_FALSE(env.openEtcd()->get("/once"));
  EtcdStore reader({hole.endpoint(), env.process().endpoint()}, options);
  env.openEtcd()->put("/r", "x");
  auto start = Clock::now();
  EXPECT_EQ(reader.get("/r")->value, "x");
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(reader.stats().failovers, 1u);
}

TEST(EtcdStore, EndpointThatIsNotEtcdIsUnavailable) {
  CannedHttp web("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found");
  CannedHttp json(
      "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
      "Connection: close\r\n\r\n{}");
  for (const auto* server : {&web, &json}) {
    EtcdStore store({server->endpoint()});
    try {
      store.get("/k");
      FAIL() << "read from a server that is not etcd";
    } catch (const StoreUnavailable& e) {
      expectNames(e.what(), server->endpoint());
      expectNames(e.what(), "HTTP 404");
    }
  }
  // In front of a live etcd: reads go on to etcd; a write that got an answer, even a wrong
  // one, is not repeated elsewhere (it cannot tell "not applied" apart).
  EtcdEnv env;
  env.openEtcd()->put("/k", "v");
  EtcdStore store({web.endpoint(), env.process().endpoint()});
  EXPECT_EQ(store.get("/k")->value, "v");
  EtcdStore writer({web.endpoint(), env.process().endpoint()});
  EXPECT_THROW(writer.put("/k", "w"), StoreUnavailable);
  EXPECT_EQ(store.get("/k")->value, "v");
}

TEST(EtcdStore, StoppedEtcdIsUnavailableWithinASecondAndRecovers) {
  EtcdEnv env;
  auto store = env.openEtcd();
  Revision r = store->put("/keep", "v");
  env.process().stop();
  auto start = Clock::now();
  try {
    store->get("/keep");
    FAIL() << "read from a stopped etcd";
  } catch (const StoreUnavailable& e) {
    expectNames(e.what(), env.process().endpoint());
  }
  EXPECT_THROW(store->put("/new", "v"), StoreUnavailable);
  EXPECT_THROW(store->revision(), StoreUnavailable);
  auto took = Clock::now() - start;
  EXPECT_LT(took, 1s);
  std::printf("[ info     ] three calls against a stopped etcd failed in %.1f ms\n", ms(took));

  env.process().start();
  auto kv = store->get("/keep");
  ASSERT_TRUE(kv);
  EXPECT_EQ(kv->modRevision, r);
  EXPECT_GT(store->put("/new", "v"), r);
}

TEST(EtcdStore, HungEtcdTimesOut) {
  EtcdEnv env;
  EtcdStoreOptions options;
  options.requestTimeout = 500ms;
  auto store = env.openEtcd(options);
  store->put("/k", "v");
  ASSERT_EQ(::kill(env.process().pid(), SIGSTOP), 0);
  // SIGSTOP takes effect asynchronously (every thread of etcd has to stop).
  ASSERT_TRUE(waitStopped(env.process().pid()));
  auto start = Clock::now();
  EXPECT_THROW(store->get("/k"), StoreUnavailable);
  auto took = Clock::now() - start;
  ::kill(env.process().pid(), SIGCONT);
  EXPECT_GE(took, 450ms);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(store->get("/k")->value, "v");
}

TEST(EtcdStore, WatchResumesAfterADroppedConnectionWithoutLossOrRepeats) {
  EtcdEnv env;
  TcpProxy proxy(env.process().clientPort());
  EtcdStore watcher({proxy.endpoint()}, fastEtcdOptions());
  auto writer = env.openEtcd();
  Revision from = writer->revision();
  WatchCollector got;
  auto watch = watcher.watch("/d/", from, got.callback(), got.compactedCallback());
  std::vector<Revision> expected = {writer->put("/d/a", "1"), writer->put("/d/b", "2")};
  ASSERT_TRUE(got.waitFor(2));

  proxy.setRefusing(true);
  proxy.dropConnections();
  // Written while the watch cannot reach etcd.
  expected.push_back(writer->put("/d/c", "3"));
  expected.push_back(writer->put("/d/a", "4"));
  ASSERT_TRUE(writer->remove("/d/b"));
  expected.push_back(writer->revision());
  writer->put("/other", "x");  // outside the prefix
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(got.events().size(), 2u);
  EXPECT_GE(proxy.accepted(), 2) << "the watch did not try to reconnect";

  proxy.setRefusing(false);
  ASSERT_TRUE(got.waitFor(5, 5s));
  expected.push_back(writer->put("/d/d", "5"));  // and live again
  ASSERT_TRUE(got.waitFor(6, 5s));
  std::this_thread::sleep_for(100ms);
  auto events = got.events();
  expectExactly(events, expected);
  EXPECT_EQ(events[3].kv.value, "4");
  EXPECT_EQ(events[4].type, EventType::Delete);
  EXPECT_EQ(events[4].kv.key, "/d/b");
  EXPECT_GE(watcher.stats().watchesCreated, 2u);
  expectNames(watcher.stats().lastWatchError, proxy.endpoint());
  EXPECT_FALSE(got.compacted());
}

TEST(EtcdStore, WatchResumesAfterEtcdRestartsOnTheSameDataDir) {
  EtcdEnv env;
  auto store = env.openEtcd();
  Revision from = store->revision();
  WatchCollector got;
  auto watch = store->watch("/rs/", from, got.callback(), got.compactedCallback());
  std::vector<Revision> expected;
  for (int i = 0; i < 5; ++i) expected.push_back(store->put("/rs/" + std::to_string(i), "before"));
  ASSERT_TRUE(got.waitFor(5));

  env.process().kill();  // a crash: whatever etcd acknowledged is in its WAL
  std::this_thread::sleep_for(100ms);
  env.process().start();
  auto writer = env.openEtcd();
  for (int i = 0; i < 5; ++i) expected.push_back(writer->put("/rs/" + std::to_string(i), "after"));
  ASSERT_TRUE(writer->remove("/rs/0"));
  expected.push_back(writer->revision());

  ASSERT_TRUE(got.waitFor(expected.size(), 5s));
  std::this_thread::sleep_for(200ms);  // a repeat would have arrived by now
  expectExactly(got.events(), expected);
  EXPECT_GE(store->stats().watchesCreated, 2u);
}

TEST(EtcdStore, HistoryCompactedWhileAWatchIsAwayEndsItWithOnCompacted) {
  EtcdEnv env;
  TcpProxy proxy(env.process().clientPort());
  EtcdStore watcher({proxy.endpoint()}, fastEtcdOptions());
  auto writer = env.openEtcd();
  WatchCollector got;
  auto watch = watcher.watch("/c/", writer->revision(), got.callback(), got.compactedCallback());
  writer->put("/c/1", "v");
  ASSERT_TRUE(got.waitFor(1));

  proxy.setRefusing(true);
  proxy.dropConnections();
  writer->put("/c/2", "v");
  writer->put("/c/3", "v");
  writer->compact(writer->revision());
  proxy.setRefusing(false);

  ASSERT_TRUE(got.waitCompacted(5s));
  EXPECT_EQ(got.events().size(), 1u);
  // The watch has ended: nothing more arrives.
  writer->put("/c/4", "v");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(got.events().size(), 1u);
}

TEST(EtcdStore, CompactingAgainOrBelowIsFineButNotBeyondTheRevision) {
  EtcdEnv env;
  auto store = env.openEtcd();
  for (int i = 0; i < 5; ++i) store->put("/k", std::to_string(i));
  Revision now = store->revision();
  store->compact(now - 1);
  EXPECT_NO_THROW(store->compact(now - 1));
  EXPECT_NO_THROW(store->compact(now - 2));
  EXPECT_THROW(store->compact(now + 10), std::invalid_argument);
}

TEST(EtcdStore, DestroyingAWatchIsPromptInEveryState) {
  EtcdEnv env;
  auto store = env.openEtcd();
  auto timeDestroy = [](std::unique_ptr<Watch> watch) {
    std::this_thread::sleep_for(100ms);  // let it reach the state under test
    auto start = Clock::now();
    watch.reset();
    return Clock::now() - start;
  };
  WatchCollector got;
  // Streaming, idle.
  EXPECT_LT(timeDestroy(store->watch("/x/", 0, got.callback(), got.compactedCallback())), 100ms);
  // Waiting to reconnect.
  EtcdStoreOptions slow;
  slow.watchRetryMin = 30s;
  EtcdStore dead({"http://127.0.0.1:" + std::to_string(closedPort())}, slow);
  EXPECT_LT(timeDestroy(dead.watch("/x/", 0, got.callback(), got.compactedCallback())), 100ms);
  // Connected to something that never answers.
  Blackhole hole;
  EtcdStore silent({hole.endpoint()}, slow);
  EXPECT_LT(timeDestroy(silent.watch("/x/", 0, got.callback(), got.compactedCallback())), 100ms);
  // And a watch may outlive its store.
  auto orphan = env.openEtcd();
  auto watch = orphan->watch("/x/", 0, got.callback(), got.compactedCallback());
  orphan.reset();
  store->put("/x/late", "v");
  EXPECT_TRUE(got.waitFor(1));
  EXPECT_LT(timeDestroy(std::move(watch)), 100ms);
}

// etcd 3.4 raises a TTL below its minimum (1.5 election timeouts, rounded up to seconds)
// and checks for expired leases every 500 ms; with the test member's 100 ms election
// timeout a 1 s lease is honoured.
TEST(EtcdStore, LeaseExpiryTiming) {
  EtcdEnv env;
  auto store = env.openEtcd();
  LeaseId lease = store->grantLease(1s);
  store->put("/lt/a", "v", lease);
  store->put("/lt/b", "v", lease);
  WatchCollector got;
  auto watch = store->watch("/lt/", store->revision(), got.callback(), got.compactedCallback());
  auto start = Clock::now();
  ASSERT_TRUE(got.waitFor(2, 5s));
  auto took = Clock::now() - start;
  std::printf("[ info     ] keys of a 1 s lease were deleted after %.0f ms\n", ms(took));
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 2500ms);
  // Both keys went in one revision, as one deletion of the lease.
  auto events = got.events();
  EXPECT_EQ(events[0].kv.modRevision, events[1].kv.modRevision);
  EXPECT_FALSE(store->keepAlive(lease));
  EXPECT_NO_THROW(store->revokeLease(lease));  // already gone: nothing to do
}

TEST(EtcdStore, ListPagesThroughLargePrefixesAsOneSnapshot) {
  EtcdEnv env;
  auto store = env.openEtcd();
  constexpr int kKeys = 2500;  // more than one page
  std::vector<std::thread> writers;
  for (int t = 0; t < 5; ++t) {
    writers.emplace_back([&, t] {
      auto s = env.openEtcd();
      for (int i = t; i < kKeys; i += 5) {
        char key[32];
        std::snprintf(key, sizeof key, "/big/%05d", i);
        s->put(key, std::string(100, 'x'));
      }
    });
  }
  for (auto& w : writers) w.join();
  auto kvs = store->list("/big/");
  ASSERT_EQ(kvs.size(), static_cast<size_t>(kKeys));
  for (int i = 0; i < kKeys; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "/big/%05d", i);
    ASSERT_EQ(kvs[i].key, key);
  }
}

// Not a pass/fail benchmark: prints what a store operation costs against a local etcd (etcd
// fsyncs its WAL on every write), and fails only when grossly slow.
TEST(EtcdStore, Latency) {
  EtcdEnv env;
  auto store = env.openEtcd();
  store->put("/lat/existing", std::string(150, 'x'));
  for (int i = 0; i < 200; ++i) store->put("/lat/pre/" + std::to_string(i), std::string(150, 'x'));
  auto measure = [&](const char* name, int n, const std::function<void(int)>& op) {
    std::vector<double> samples;
    double cpu0 = threadCpuUs();
    for (int i = 0; i < n; ++i) {
      auto t0 = Clock::now();
      op(i);
      samples.push_back(ms(Clock::now() - t0) * 1000);
    }
    double cpu = (threadCpuUs() - cpu0) / n;
    std::sort(samples.begin(), samples.end());
    double sum = 0;
    for (double s : samples) sum += s;
    double mean = sum / n;
    std::printf("[ bench    ] etcd %-15s mean %7.0f us  p50 %7.0f us  p99 %7.0f us  (client cpu %4.0f us)\n", name,
                mean, samples[n / 2], samples[n * 99 / 100], cpu);
    return mean;
  };
  double get = measure("get", 300, [&](int) { store->get("/lat/existing"); });
  double put = measure("put", 300, [&](int i) { store->put("/lat/p/" + std::to_string(i), std::string(150, 'x')); });
  double create = measure("createIfAbsent", 300,
                          [&](int i) { store->createIfAbsent("/lat/c/" + std::to_string(i), std::string(150, 'x')); });
  measure("compareAndSwap", 100, [&](int i) {
    auto kv = store->get("/lat/existing");
    store->compareAndSwap("/lat/existing", kv->modRevision, std::to_string(i));
  });
  measure("list(200)", 100, [&](int) { store->list("/lat/pre/"); });
  measure("keepAlive", 100, [&, lease = store->grantLease(60s)](int) { store->keepAlive(lease); });

  // Many threads at once: etcd batches concurrent writes into one fsync.
  constexpr int kThreads = 8, kOps = 100;
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOps; ++i)
        store->createIfAbsent("/lat/t/" + std::to_string(t) + "/" + std::to_string(i), "v");
    });
  }
  for (auto& th : threads) th.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("[ bench    ] etcd createIfAbsent from %d threads: %.0f writes/s\n", kThreads, kThreads * kOps / seconds);
  EXPECT_LT(get, 20000.0);
  EXPECT_LT(put, 50000.0);
  EXPECT_LT(create, 50000.0);
}

}  // namespace
}  // namespace cnikit::store::test
