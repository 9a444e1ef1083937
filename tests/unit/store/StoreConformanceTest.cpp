// The behaviour every Store implementation must share (etcd v3 semantics). Each
// implementation registers a StoreEnvFactory in INSTANTIATE_TEST_SUITE_P below.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/store/SqliteStore.hpp"
#include "tests/unit/store/EtcdEnv.hpp"
#include "tests/unit/store/StoreEnv.hpp"
#include "tests/unit/store/TempDir.hpp"
#include "tests/unit/store/WatchCollector.hpp"

namespace cnikit::store::test {
namespace {

using namespace std::chrono_literals;

class SqliteEnv : public StoreEnv {
 public:
  SqliteEnv() : dir_("store") {}
  std::unique_ptr<Store> open() override {
    SqliteStoreOptions options;
    options.pollInterval = 20ms;
    return std::make_unique<SqliteStore>(dir_.file("state/store.db"), options);
  }
  void compact(Store& store, Revision rev) override { dynamic_cast<SqliteStore&>(store).compact(rev); }

 private:
  TempDir dir_;
};

class StoreConformance : public ::testing::TestWithParam<StoreEnvFactory> {
 protected:
  void SetUp() override {
    env_ = GetParam().make();
    store_ = env_->open();
  }
  void TearDown() override {
    store_.reset();
    env_.reset();
  }
  std::unique_ptr<StoreEnv> env_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreConformance, GetMissingIsEmpty) { EXPECT_FALSE(store_->get("/nope").has_value()); }

TEST_P(StoreConformance, PutThenGetCarriesRevisions) {
  Revision r1 = store_->put("/a", "one");
  auto kv = store_->get("/a");
  ASSERT_TRUE(kv);
  EXPECT_EQ(kv->key, "/a");
  EXPECT_EQ(kv->value, "one");
  EXPECT_EQ(kv->createRevision, r1);
  EXPECT_EQ(kv->modRevision, r1);
  EXPECT_EQ(kv->lease, 0);

  Revision r2 = store_->put("/a", "two");
  EXPECT_GT(r2, r1);
  kv = store_->get("/a");
  ASSERT_TRUE(kv);
  EXPECT_EQ(kv->value, "two");
  EXPECT_EQ(kv->createRevision, r1);
  EXPECT_EQ(kv->modRevision, r2);
}

TEST_P(StoreConformance, ValuesAreBinarySafe) {
  std::string binary("a\0b\xff\x01", 5);
  store_->put("/bin", binary);
  store_->put("/empty", "");
  EXPECT_EQ(store_->get("/bin")->value, binary);
  auto empty = store_->get("/empty");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->value, "");
}

TEST_P(StoreConformance, RevisionsAreMonotonicAndOnlyWritesBumpThem) {
  Revision start = store_->revision();
  Revision last = start;
  for (int i = 0; i < 20; ++i) {
    Revision r = store_->put("/k" + std::to_string(i % 3), std::to_string(i));
    EXPECT_GT(r, last);
    last = r;
  }
  EXPECT_EQ(store_->revision(), last);
  // Failed conditions and reads leave the revision alone.
  EXPECT_FALSE(store_->createIfAbsent("/k0", "x"));
  EXPECT_FALSE(store_->compareAndSwap("/k0", last + 100, "x"));
  EXPECT_FALSE(store_->compareAndDelete("/k0", last + 100));
  EXPECT_FALSE(store_->remove("/missing"));
  store_->get("/k0");
  store_->list("/");
  EXPECT_EQ(store_->revision(), last);
  EXPECT_TRUE(store_->remove("/k0"));
  EXPECT_EQ(store_->revision(), last + 1);
}

TEST_P(StoreConformance, ListIsOrderedAndHonoursPrefixBoundaries) {
  std::vector<std::string> keys = {"/a/b", "/a", "/ab", "/a/", "/a/a/z", "/a/c", "/b", "/a/\xff", "/a0"};
  std::shuffle(keys.begin(), keys.end(), std::mt19937(7));
  for (const auto& k : keys) store_->put(k, "v:" + k);

  auto names = [](const std::vector<KeyValue>& kvs) {
    std::vector<std::string> out;
    for (const auto& kv : kvs) out.push_back(kv.key);
    return out;
  };
  EXPECT_EQ(names(store_->list("/a/")), (std::vector<std::string>{"/a/", "/a/a/z", "/a/b", "/a/c", "/a/\xff"}));
  EXPECT_EQ(names(store_->list("/a")),
            (std::vector<std::string>{"/a", "/a/", "/a/a/z", "/a/b", "/a/c", "/a/\xff", "/a0", "/ab"}));
  EXPECT_EQ(names(store_->list("/a/b")), (std::vector<std::string>{"/a/b"}));
  EXPECT_TRUE(store_->list("/zzz").empty());
  // A prefix ending in 0xff has no simple upper bound.
  EXPECT_EQ(names(store_->list("/a/\xff")), (std::vector<std::string>{"/a/\xff"}));
  auto all = names(store_->list(""));
  EXPECT_EQ(all.size(), keys.size());
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  auto kvs = store_->list("/a/c");
  ASSERT_EQ(kvs.size(), 1u);
  EXPECT_EQ(kvs[0].value, "v:/a/c");
  EXPECT_GT(kvs[0].modRevision, 0);
}

TEST_P(StoreConformance, CreateIfAbsentWritesOnce) {
  EXPECT_TRUE(store_->createIfAbsent("/c", "first"));
  EXPECT_FALSE(store_->createIfAbsent("/c", "second"));
  EXPECT_EQ(store_->get("/c")->value, "first");
  store_->remove("/c");
  EXPECT_TRUE(store_->createIfAbsent("/c", "third"));
  EXPECT_EQ(store_->get("/c")->value, "third");
}

TEST_P(StoreConformance, CompareAndSwap) {
  EXPECT_TRUE(store_->compareAndSwap("/cas", 0, "v1"));  // 0: must be absent
  EXPECT_FALSE(store_->compareAndSwap("/cas", 0, "again"));
  auto kv = store_->get("/cas");
  ASSERT_TRUE(kv);
  EXPECT_FALSE(store_->compareAndSwap("/cas", kv->modRevision + 1, "wrong"));
  EXPECT_FALSE(store_->compareAndSwap("/cas", kv->modRevision - 1, "wrong"));
  EXPECT_EQ(store_->get("/cas")->value, "v1");
  EXPECT_TRUE(store_->compareAndSwap("/cas", kv->modRevision, "v2"));
  auto after = store_->get("/cas");
  EXPECT_EQ(after->value, "v2");
  EXPECT_EQ(after->createRevision, kv->createRevision);
  EXPECT_GT(after->modRevision, kv->modRevision);
  // The old revision no longer matches.
  EXPECT_FALSE(store_->compareAndSwap("/cas", kv->modRevision, "v3"));
  EXPECT_FALSE(store_->compareAndSwap("/absent", 5, "v"));
  EXPECT_FALSE(store_->get("/absent"));
}

TEST_P(StoreConformance, CompareAndDelete) {
  store_->put("/d", "v");
  auto kv = store_->get("/d");
  EXPECT_FALSE(store_->compareAndDelete("/d", kv->modRevision + 1));
  EXPECT_TRUE(store_->get("/d"));
  EXPECT_TRUE(store_->compareAndDelete("/d", kv->modRevision));
  EXPECT_FALSE(store_->get("/d"));
  EXPECT_FALSE(store_->compareAndDelete("/d", kv->modRevision));
}

TEST_P(StoreConformance, RemoveReportsExistence) {
  store_->put("/r", "v");
  EXPECT_TRUE(store_->remove("/r"));
  EXPECT_FALSE(store_->remove("/r"));
  EXPECT_FALSE(store_->get("/r"));
}

TEST_P(StoreConformance, WatchReplaysHistoryThenLiveEvents) {
  store_->put("/w/before", "old");  // not replayed: before the watch revision
  Revision from = store_->revision();
  Revision r1 = store_->put("/w/a", "1");
  Revision r2 = store_->put("/w/b", "2");
  WatchCollector got;
  auto watch = store_->watch("/w/", from, got.callback(), got.compactedCallback());
  ASSERT_TRUE(got.waitFor(2));
  Revision r3 = store_->put("/w/a", "3");
  Revision r4 = store_->remove("/w/b") ? store_->revision() : 0;
  ASSERT_TRUE(got.waitFor(4));
  auto events = got.events();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].type, EventType::Put);
  EXPECT_EQ(events[0].kv.key, "/w/a");
  EXPECT_EQ(events[0].kv.value, "1");
  EXPECT_EQ(events[0].kv.modRevision, r1);
  EXPECT_EQ(events[0].kv.createRevision, r1);
  EXPECT_EQ(events[1].kv.key, "/w/b");
  EXPECT_EQ(events[1].kv.modRevision, r2);
  EXPECT_EQ(events[2].kv.value, "3");
  EXPECT_EQ(events[2].kv.modRevision, r3);
  EXPECT_EQ(events[2].kv.createRevision, r1);
  EXPECT_EQ(events[3].type, EventType::Delete);
  EXPECT_EQ(events[3].kv.key, "/w/b");
  EXPECT_EQ(events[3].kv.modRevision, r4);
  EXPECT_EQ(events[3].kv.value, "");
  EXPECT_FALSE(got.compacted());
}

TEST_P(StoreConformance, WatchFiltersByPrefix) {
  WatchCollector got;
  auto watch = store_->watch("/p/x/", store_->revision(), got.callback(), got.compactedCallback());
  store_->put("/p/x", "no");
  store_->put("/p/xy/1", "no");
  store_->put("/p/y/1", "no");
  store_->put("/p/x/1", "yes");
  store_->put("/q", "no");
  store_->put("/p/x/2", "yes");
  ASSERT_TRUE(got.waitFor(2));
  std::this_thread::sleep_for(200ms);  // anything unwanted would have arrived by now
  auto events = got.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kv.key, "/p/x/1");
  EXPECT_EQ(events[1].kv.key, "/p/x/2");
}

TEST_P(StoreConformance, WatchFromCurrentRevisionSeesOnlyNewWrites) {
  store_->put("/n/old", "x");
  WatchCollector got;
  auto watch = store_->watch("/n/", store_->revision(), got.callback(), got.compactedCallback());
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(got.events().empty());
  store_->put("/n/new", "y");
  ASSERT_TRUE(got.waitFor(1));
  EXPECT_EQ(got.events()[0].kv.key, "/n/new");
}

TEST_P(StoreConformance, WatchSeesWritesFromAnotherClient) {
  auto other = env_->open();
  WatchCollector got;
  auto watch = store_->watch("/x/", store_->revision(), got.callback(), got.compactedCallback());
  other->put("/x/from-other", "hello");
  other->remove("/x/from-other");
  ASSERT_TRUE(got.waitFor(2, 3s));
  auto events = got.events();
  EXPECT_EQ(events[0].kv.key, "/x/from-other");
  EXPECT_EQ(events[0].kv.value, "hello");
  EXPECT_EQ(events[1].type, EventType::Delete);
  // And the other way round: the second client's data is visible to reads here.
  other->put("/x/read", "r");
  EXPECT_EQ(store_->get("/x/read")->value, "r");
}

TEST_P(StoreConformance, DestroyedWatchDeliversNothingMore) {
  WatchCollector got;
  auto watch = store_->watch("/s/", store_->revision(), got.callback(), got.compactedCallback());
  store_->put("/s/1", "a");
  ASSERT_TRUE(got.waitFor(1));
  watch.reset();
  store_->put("/s/2", "b");
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(got.events().size(), 1u);
}

TEST_P(StoreConformance, WatchBelowCompactionIsCompacted) {
  Revision from = store_->revision();
  for (int i = 0; i < 10; ++i) store_->put("/h/" + std::to_string(i), "v");
  Revision mid = store_->revision() - 3;
  env_->compact(*store_, mid);

  WatchCollector old;
  auto oldWatch = store_->watch("/h/", from, old.callback(), old.compactedCallback());
  ASSERT_TRUE(old.waitCompacted());
  EXPECT_TRUE(old.events().empty());

  // From the compaction revision on, history is still there.
  WatchCollector recent;
  auto recentWatch = store_->watch("/h/", mid, recent.callback(), recent.compactedCallback());
  ASSERT_TRUE(recent.waitFor(3));
  EXPECT_FALSE(recent.compacted());
  EXPECT_EQ(recent.events().front().kv.modRevision, mid + 1);
}

TEST_P(StoreConformance, LeasedKeysVanishAfterTtlWithDeleteEvents) {
  LeaseId lease = store_->grantLease(1s);
  ASSERT_NE(lease, 0);
  store_->put("/l/a", "1", lease);
  EXPECT_TRUE(store_->createIfAbsent("/l/b", "2", lease));
  store_->put("/l/keep", "3");
  EXPECT_EQ(store_->get("/l/a")->lease, lease);
  WatchCollector got;
  auto watch = store_->watch("/l/", store_->revision(), got.callback(), got.compactedCallback());
  ASSERT_TRUE(got.waitFor(2, 4s));
  auto events = got.events();
  std::set<std::string> deleted;
  for (const auto& e : events) {
    EXPECT_EQ(e.type, EventType::Delete);
    deleted.insert(e.kv.key);
  }
  EXPECT_EQ(deleted, (std::set<std::string>{"/l/a", "/l/b"}));
  EXPECT_FALSE(store_->get("/l/a"));
  EXPECT_FALSE(store_->get("/l/b"));
  EXPECT_TRUE(store_->get("/l/keep"));
  EXPECT_FALSE(store_->keepAlive(lease));
  EXPECT_THROW(store_->put("/l/c", "x", lease), LeaseNotFound);
}

TEST_P(StoreConformance, KeepAliveExtendsLease) {
  LeaseId lease = store_->grantLease(1s);
  store_->put("/ka/k", "v", lease);
  auto until = std::chrono::steady_clock::now() + 2500ms;
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(store_->keepAlive(lease));
    std::this_thread::sleep_for(250ms);
    ASSERT_TRUE(store_->get("/ka/k")) << "key vanished although the lease was kept alive";
  }
  // Left alone it expires.
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (store_->get("/ka/k") && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(store_->get("/ka/k"));
}

TEST_P(StoreConformance, RevokeDeletesKeysAtOnce) {
  LeaseId lease = store_->grantLease(60s);
  store_->put("/rv/a", "1", lease);
  store_->put("/rv/b", "2", lease);
  // Re-putting without a lease detaches the key.
  store_->put("/rv/b", "2");
  WatchCollector got;
  auto watch = store_->watch("/rv/", store_->revision(), got.callback(), got.compactedCallback());
  store_->revokeLease(lease);
  EXPECT_FALSE(store_->get("/rv/a"));
  EXPECT_TRUE(store_->get("/rv/b"));
  ASSERT_TRUE(got.waitFor(1));
  EXPECT_EQ(got.events()[0].type, EventType::Delete);
  EXPECT_EQ(got.events()[0].kv.key, "/rv/a");
  EXPECT_FALSE(store_->keepAlive(lease));
}

TEST_P(StoreConformance, UnknownLeaseIsRefused) {
  EXPECT_THROW(store_->put("/ul", "v", 12345), LeaseNotFound);
  EXPECT_THROW(store_->createIfAbsent("/ul", "v", 12345), LeaseNotFound);
  EXPECT_FALSE(store_->get("/ul"));
}

TEST_P(StoreConformance, ConcurrentCreateIfAbsentHasOneWinnerPerKey) {
  constexpr int kThreads = 8;
  constexpr int kKeys = 200;
  std::vector<std::vector<int>> wins(kThreads);
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<int> order(kKeys);
      for (int i = 0; i < kKeys; ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), std::mt19937(t));
      while (!go) std::this_thread::yield();
      for (int i : order) {
        if (store_->createIfAbsent("/race/" + std::to_string(i), "thread" + std::to_string(t))) wins[t].push_back(i);
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  std::map<int, int> winner;
  for (int t = 0; t < kThreads; ++t) {
    for (int k : wins[t]) EXPECT_TRUE(winner.emplace(k, t).second) << "key " << k << " won twice";
  }
  EXPECT_EQ(winner.size(), static_cast<size_t>(kKeys));
  for (const auto& [k, t] : winner) {
    EXPECT_EQ(store_->get("/race/" + std::to_string(k))->value, "thread" + std::to_string(t));
  }
  EXPECT_EQ(store_->list("/race/").size(), static_cast<size_t>(kKeys));
}

INSTANTIATE_TEST_SUITE_P(Impl, StoreConformance,
                         ::testing::Values(StoreEnvFactory{"sqlite", [] { return std::make_unique<SqliteEnv>(); }},
                                           StoreEnvFactory{"etcd", [] { return std::make_unique<EtcdEnv>(); }}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace cnikit::store::test
