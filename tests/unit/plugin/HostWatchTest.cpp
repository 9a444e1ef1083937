// store_watch / store_unwatch through the C table, on the real SQLite store (which compacts
// its history as etcd does): from 0, from a revision, RESET after compaction, unwatch and
// destruction waiting for a callback in flight.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/plugin/HostServices.hpp"
#include "core/store/SqliteStore.hpp"

using namespace cnikit::plugin;
using namespace std::chrono_literals;

namespace {

constexpr const char* kScope = "/cnikit/v1/backends/blue/";

struct Seen {
  cnikit_store_event_type type;
  std::string key;
  std::string value;
  int64_t revision;
  bool operator==(const Seen&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Seen& s) {
  static const char* names[] = {"PUT", "DELETE", "RESET"};
  return os << names[s.type] << " " << s.key << "=" << s.value << "@" << s.revision;
}

// What a backend's on_event sees, copied (the event lives for the callback only).
class Recorder {
 public:
  static void onEvent(void* user, const cnikit_store_event* e) {
    auto* r = static_cast<Recorder*>(user);
    std::lock_guard lock(r->mutex_);
    r->seen_.push_back({e->type, e->key ? e->key : "(null)", std::string(e->value ? e->value : "", e->len),
                        e->revision});
    r->cv_.notify_all();
  }
  // The events once there are at least n (or whatever came within the timeout).
  std::vector<Seen> waitFor(size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return seen_.size() >= n; });
    return seen_;
  }
  size_t count() {
    std::lock_guard lock(mutex_);
    return seen_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Seen> seen_;
};

class HostWatch : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cnikit-hostwatch-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    cnikit::store::SqliteStoreOptions options;
    options.pollInterval = 10ms;
    store_ = std::make_unique<cnikit::store::SqliteStore>((dir_ / "store.db").string(), options);
    host_ = std::make_unique<HostServices>("blue", store_.get(), nullptr);
  }
  void TearDown() override {
    host_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  const cnikit_host_callbacks& cb() { return *host_->callbacks(); }
  int64_t put(const std::string& key, const std::string& value) { return store_->put(kScope + key, value); }
  uint64_t watch(const char* prefix, int64_t from, Recorder& r) {
    uint64_t id = 0;
    EXPECT_EQ(cb().store_watch(cb().host_ctx, prefix, from, &Recorder::onEvent, &r, &id), CNIKIT_OK);
    EXPECT_NE(id, 0u);
    return id;
  }

  std::filesystem::path dir_;
  std::unique_ptr<cnikit::store::SqliteStore> store_;
  std::unique_ptr<HostServices> host_;
};

}  // namespace

TEST_F(HostWatch, FromZeroListsEveryKeyThenFollows) {
  int64_t r1 = put("peers/n1", "a");
  int64_t r2 = put("peers/n2", "b");
  put("other", "x");                                      // outside the prefix
  store_->put("/cnikit/v1/backends/blue2/peers/n9", "y");  // another instance
  Recorder r;
  uint64_t id = watch("peers/", 0, r);
  auto listed = r.waitFor(2);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0], (Seen{CNIKIT_STORE_PUT, "peers/n1", "a", r1}));
  EXPECT_EQ(listed[1], (Seen{CNIKIT_STORE_PUT, "peers/n2", "b", r2}));

  int64_t r3 = put("peers/n3", "c");
  store_->remove(std::string(kScope) + "peers/n1");
  int64_t r4 = store_->revision();
  put("other", "z");
  auto all = r.waitFor(4);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[2], (Seen{CNIKIT_STORE_PUT, "peers/n3", "c", r3}));
  EXPECT_EQ(all[3], (Seen{CNIKIT_STORE_DELETE, "peers/n1", "", r4}));
  EXPECT_EQ(cb().store_unwatch(cb().host_ctx, id), CNIKIT_OK);
  EXPECT_EQ(cb().store_unwatch(cb().host_ctx, id), CNIKIT_ERR_NOT_FOUND);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(r.count(), 4u);  // nothing else, no duplicates from the list
}

TEST_F(HostWatch, FromARevisionDeliversOnlyLaterChanges) {
  int64_t r1 = put("k/a", "1");
  int64_t r2 = put("k/b", "2");
  int64_t r3 = put("k/a", "3");
  Recorder r;
  watch("k/", r1, r);
  auto seen = r.waitFor(2);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], (Seen{CNIKIT_STORE_PUT, "k/b", "2", r2}));
  EXPECT_EQ(seen[1], (Seen{CNIKIT_STORE_PUT, "k/a", "3", r3}));
  int64_t r4 = put("k/c", "4");
  seen = r.waitFor(3);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2], (Seen{CNIKIT_STORE_PUT, "k/c", "4", r4}));
}

TEST_F(HostWatch, CompactedHistoryIsAResetThenAFullListThenLive) {
  int64_t r1 = put("k/a", "1");
  put("k/b", "2");
  store_->remove(std::string(kScope) + "k/b");
  int64_t r4 = put("k/c", "3");
  store_->compact(r4);  // the history after r1 is gone
  Recorder r;
  watch("k/", r1, r);
  auto seen = r.waitFor(3);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].type, CNIKIT_STORE_RESET);
  EXPECT_EQ(seen[0].key, "(null)");
  EXPECT_EQ(seen[1], (Seen{CNIKIT_STORE_PUT, "k/a", "1", r1}));
  EXPECT_EQ(seen[2], (Seen{CNIKIT_STORE_PUT, "k/c", "3", r4}));
  // And the watch goes on from the listed revision.
  int64_t r5 = put("k/d", "4");
  seen = r.waitFor(4);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[3], (Seen{CNIKIT_STORE_PUT, "k/d", "4", r5}));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(r.count(), 4u);
}

TEST_F(HostWatch, UnwatchWaitsForTheCallbackInFlight) {
  struct Slow {
    std::atomic<int> entered{0};
    std::atomic<int> finished{0};
  } slow;
  auto onEvent = [](void* user, const cnikit_store_event*) {
    auto* s = static_cast<Slow*>(user);
    ++s->entered;
    std::this_thread::sleep_for(300ms);
    ++s->finished;
  };
  put("k/a", "1");
  uint64_t id = 0;
  ASSERT_EQ(cb().store_watch(cb().host_ctx, "k/", 0, onEvent, &slow, &id), CNIKIT_OK);
  for (int i = 0; i < 200 && slow.entered == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(slow.entered, 1);
  EXPECT_EQ(cb().store_unwatch(cb().host_ctx, id), CNIKIT_OK);
  EXPECT_EQ(slow.finished, 1);  // returned only after the callback did
  put("k/b", "2");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(slow.entered, 1);
}

TEST_F(HostWatch, UnwatchFromInsideTheCallbackIsRefused) {
  struct Self {
    const cnikit_host_callbacks* cb;
    uint64_t id = 0;
    std::atomic<int> status{-1};
  } self{host_->callbacks()};
  auto onEvent = [](void* user, const cnikit_store_event*) {
    auto* s = static_cast<Self*>(user);
    s->status = s->cb->store_unwatch(s->cb->host_ctx, s->id);
  };
  uint64_t id = 0;
  ASSERT_EQ(cb().store_watch(cb().host_ctx, "k/", 0, onEvent, &self, &id), CNIKIT_OK);
  self.id = id;
  put("k/a", "1");
  for (int i = 0; i < 400 && self.status == -1; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(self.status, CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(cb().store_unwatch(cb().host_ctx, id), CNIKIT_OK);
}

TEST_F(HostWatch, DestroyingTheHostStopsEveryWatch) {
  Recorder a, b;
  watch("k/", 0, a);
  watch("", 0, b);
  put("k/a", "1");
  ASSERT_EQ(a.waitFor(1).size(), 1u);
  ASSERT_EQ(b.waitFor(1).size(), 1u);
  host_.reset();
  put("k/b", "2");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(a.count(), 1u);
  EXPECT_EQ(b.count(), 1u);
}

TEST_F(HostWatch, BadWatchesAreRefused) {
  uint64_t id = 0;
  Recorder r;
  EXPECT_EQ(cb().store_watch(cb().host_ctx, "../green/", 0, &Recorder::onEvent, &r, &id), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(cb().store_watch(cb().host_ctx, "k/", -1, &Recorder::onEvent, &r, &id), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(cb().store_watch(cb().host_ctx, "k/", 0, nullptr, &r, &id), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(cb().store_watch(cb().host_ctx, "k/", 0, &Recorder::onEvent, &r, nullptr), CNIKIT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(cb().store_unwatch(cb().host_ctx, 12345), CNIKIT_ERR_NOT_FOUND);
}
