#include "core/store/SqliteStore.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <limits>
#include <mutex>
#include <random>
#include <thread>

#include "core/store/SqliteConnection.hpp"

namespace cnikit::store {

namespace {

constexpr int64_t kSupportedSchema = 1;
constexpr int64_t kNoExpiry = std::numeric_limits<int64_t>::max();
// Revisions the store thread reads per query when replaying history.
constexpr int64_t kReplayBatch = 1000;
constexpr int64_t kEventPut = 0;
constexpr int64_t kEventDelete = 1;
// WAL size (pages) at which the store thread checkpoints, and at which a writer does it
// itself because the store thread is stuck (in a slow watch callback, say).
constexpr int kCheckpointPages = 1000;
constexpr int kInlineCheckpointPages = 20000;

// kv.key and events.key are BLOBs compared bytewise (memcmp order, as etcd orders keys).
const char* const kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta(name, value) VALUES('schema', 1), ('revision', 1), ('compacted', 0);
CREATE TABLE IF NOT EXISTS kv(
  key BLOB PRIMARY KEY,
  value BLOB NOT NULL,
  create_rev INTEGER NOT NULL,
  mod_rev INTEGER NOT NULL,
  lease INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
-- Partial: most keys carry no lease and should not pay for an index entry.
CREATE INDEX IF NOT EXISTS kv_lease ON kv(lease) WHERE lease != 0;
CREATE TABLE IF NOT EXISTS events(
  rev INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  type INTEGER NOT NULL,
  key BLOB NOT NULL,
  value BLOB,
  create_rev INTEGER,
  lease INTEGER,
  PRIMARY KEY(rev, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases(id INTEGER PRIMARY KEY, ttl INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS leases_expiry ON leases(expires_at);
)sql";

enum Slot : size_t {
  kGet = SqliteConnection::kFirstUserSlot,
  kListFrom,
  kListRange,
  kRevision,
  kBumpRevision,
  kCompacted,
  kSetCompacted,
  kTrimEvents,
  kModRev,
  kUpsert,
  kDeleteKey,
  kInsertEvent,
  kLeaseGet,
  kLeaseInsert,
  kLeaseRenew,
  kLeaseDelete,
  kLeaseKeys,
  kMinExpiry,
  kExpiredLeases,
  kEvents,
  kJournalMode,
  kSchemaQuery,
};

SqliteStatement& sql(SqliteConnection& conn, Slot slot) {
  switch (slot) {
    case kGet:
      return conn.statement(slot, "SELECT value, create_rev, mod_rev, lease FROM kv WHERE key = ?1");
    case kListFrom:
      return conn.statement(slot, "SELECT key, value, create_rev, mod_rev, lease FROM kv WHERE key >= ?1 ORDER BY key");
    case kListRange:
      return conn.statement(
          slot, "SELECT key, value, create_rev, mod_rev, lease FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key");
    case kRevision:
      return conn.statement(slot, "SELECT value FROM meta WHERE name = 'revision'");
    case kBumpRevision:
      return conn.statement(slot, "UPDATE meta SET value = value + 1 WHERE name = 'revision' RETURNING value");
    case kCompacted:
      return conn.statement(slot, "SELECT value FROM meta WHERE name = 'compacted'");
    case kSetCompacted:
      return conn.statement(slot, "UPDATE meta SET value = ?1 WHERE name = 'compacted' AND value < ?1");
    case kTrimEvents:
      return conn.statement(slot, "DELETE FROM events WHERE rev <= ?1");
    case kModRev:
      return conn.statement(slot, "SELECT mod_rev FROM kv WHERE key = ?1");
    case kUpsert:
      return conn.statement(slot,
                            "INSERT INTO kv(key, value, create_rev, mod_rev, lease) VALUES(?1, ?2, ?3, ?3, ?4) "
                            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, mod_rev = excluded.mod_rev, "
                            "lease = excluded.lease RETURNING create_rev");
    case kDeleteKey:
      return conn.statement(slot, "DELETE FROM kv WHERE key = ?1");
    case kInsertEvent:
      return conn.statement(slot,
                            "INSERT INTO events(rev, seq, type, key, value, create_rev, lease) "
                            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    case kLeaseGet:
      return conn.statement(slot, "SELECT ttl, expires_at FROM leases WHERE id = ?1");
    case kLeaseInsert:
      return conn.statement(slot, "INSERT INTO leases(id, ttl, expires_at) VALUES(?1, ?2, ?3)");
    case kLeaseRenew:
      return conn.statement(slot, "UPDATE leases SET expires_at = ?2 WHERE id = ?1");
    case kLeaseDelete:
      return conn.statement(slot, "DELETE FROM leases WHERE id = ?1");
    case kLeaseKeys:
      return conn.statement(slot, "SELECT key FROM kv WHERE lease = ?1 AND lease != 0 ORDER BY key");
    case kMinExpiry:
      return conn.statement(slot, "SELECT min(expires_at) FROM leases");
    case kExpiredLeases:
      return conn.statement(slot, "SELECT id FROM leases WHERE expires_at <= ?1 ORDER BY expires_at");
    case kEvents:
      return conn.statement(slot,
                            "SELECT rev, seq, type, key, value, create_rev, lease FROM events "
                            "WHERE rev > ?1 AND rev <= ?2 ORDER BY rev, seq");
    case kJournalMode:
      return conn.statement(slot, "PRAGMA journal_mode=WAL");
    case kSchemaQuery:
      return conn.statement(slot, "SELECT value FROM meta WHERE name = 'schema'");
  }
  throw std::logic_error("unknown statement slot");
}

// Lease expiry is wall-clock time: it must mean the same in every process and survive a
// reboot (a monotonic clock restarts at zero).
int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The smallest key greater than every key starting with prefix; empty when there is none
// (prefix empty or all 0xff).
std::string prefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return end;
}

int64_t scalar(SqliteConnection& conn, Slot slot) {
  Query q(sql(conn, slot));
  if (!q.step() || q.isNull(0)) return 0;
  return q.integer(0);
}

struct WatchState {
  std::string prefix;
  WatchCallback onEvents;
  CompactedCallback onCompacted;
  std::thread::id storeThread;
  Revision last = 0;  // last revision delivered; only the store thread touches it
  std::atomic<bool> cancelled{false};
  std::atomic<bool> finished{false};
  std::mutex callbackMutex;  // held while a callback runs
};

class SqliteWatch final : public Watch {
 public:
  explicit SqliteWatch(std::shared_ptr<WatchState> state) : state_(std::move(state)) {}
  ~SqliteWatch() override {
    state_->cancelled = true;
    // Wait for an in-flight callback, unless this runs inside one (that would deadlock).
    if (std::this_thread::get_id() != state_->storeThread) std::lock_guard lock(state_->callbackMutex);
  }

 private:
  std::shared_ptr<WatchState> state_;
};

}  // namespace

class SqliteStore::Impl {
 public:
  Impl(const std::string& path, SqliteStoreOptions options);
  ~Impl();

  // A connection borrowed from the pool for one operation.
  class Pooled {
   public:
    explicit Pooled(Impl& impl) : impl_(impl), conn_(impl.acquire()) {}
    ~Pooled() { impl_.release(std::move(conn_)); }
    SqliteConnection& operator*() { return *conn_; }

   private:
    Impl& impl_;
    std::unique_ptr<SqliteConnection> conn_;
  };

  // State of one write transaction: bumps the revision once, numbers its events.
  struct WriteContext {
    Impl& impl;
    SqliteConnection& conn;
    Revision revision = 0;
    int64_t seq = 0;

    Revision bump() {
      if (revision) return revision;
      Query q(sql(conn, kBumpRevision));
      if (!q.step()) conn.fail(0, "revision counter missing");
      revision = q.integer(0);
      // Keep at least the last eventHistory revisions of events; older watches get
      // onCompacted. Trimming in batches keeps the oldest events page (and the meta row)
      // out of most transactions.
      int64_t history = impl.options_.eventHistory;
      int64_t batch = std::clamp<int64_t>(history / 16, 1, 64);
      int64_t cut = revision - history;
      if (cut > 0 && revision % batch == 0) {
        Query(sql(conn, kTrimEvents)).bind(1, cut).run();
        Query(sql(conn, kSetCompacted)).bind(1, cut).run();
      }
      return revision;
    }
    void event(int64_t type, std::string_view key, std::string_view value, Revision create, LeaseId lease) {
      Query q(sql(conn, kInsertEvent));
      q.bind(1, revision).bind(2, seq++).bind(3, type).bindBlob(4, key);
      if (type == kEventPut) q.bindBlob(5, value).bind(6, create).bind(7, lease);
      q.run();
    }
    Revision putKey(std::string_view key, std::string_view value, LeaseId lease) {
      if (lease != 0) impl.requireLease(conn, lease);
      Revision rev = bump();
      Query q(sql(conn, kUpsert));
      q.bindBlob(1, key).bindBlob(2, value).bind(3, rev).bind(4, lease);
      if (!q.step()) conn.fail(0, "upsert returned nothing");
      Revision create = q.integer(0);
      q.run();
      event(kEventPut, key, value, create, lease);
      return rev;
    }
    void deleteKey(std::string_view key) {
      bump();
      Query(sql(conn, kDeleteKey)).bindBlob(1, key).run();
      event(kEventDelete, key, {}, 0, 0);
    }
    std::optional<Revision> modRevision(std::string_view key) {
      Query q(sql(conn, kModRev));
      q.bindBlob(1, key);
      if (!q.step()) return std::nullopt;
      return q.integer(0);
    }
    // Deletes the lease and its keys (Delete events, one revision for all).
    void revoke(LeaseId lease) {
      std::vector<std::string> keys;
      {
        Query q(sql(conn, kLeaseKeys));
        q.bind(1, lease);
        while (q.step()) keys.push_back(q.blob(0));
      }
      for (const auto& key : keys) deleteKey(key);
      Query(sql(conn, kLeaseDelete)).bind(1, lease).run();
    }
  };

  template <typename Body>
  auto write(Body&& body) {
    maybeReap();
    std::lock_guard lock(writeMutex_);
    Pooled conn(*this);
    SqliteTransaction tx(*conn, SqliteTransaction::Mode::Write);
    WriteContext ctx{*this, *conn};
    auto result = body(ctx);
    tx.commit();
    if (ctx.revision) wakeWatches();
    return result;
  }

  template <typename Body>
  auto read(Body&& body) {
    maybeReap();
    Pooled conn(*this);
    return body(*conn);
  }

  void requireLease(SqliteConnection& conn, LeaseId lease) {
    Query q(sql(conn, kLeaseGet));
    q.bind(1, lease);
    if (!q.step() || q.integer(1) <= nowMs()) {
      throw LeaseNotFound("lease " + std::to_string(lease) + " not found (expired or revoked) in sqlite store " +
                          path_);
    }
  }

  void maybeReap() {
    if (nowMs() >= nextExpiry_.load(std::memory_order_relaxed)) reapExpired();
  }

  // Revokes every expired lease; refreshes the cached next expiry.
  void reapExpired() {
    std::lock_guard lock(writeMutex_);
    Pooled conn(*this);
    int64_t now = nowMs();
    int64_t next = scalar(*conn, kMinExpiry);
    if (next == 0 || next > now) {
      nextExpiry_ = next == 0 ? kNoExpiry : next;
      return;
    }
    SqliteTransaction tx(*conn, SqliteTransaction::Mode::Write);
    std::vector<LeaseId> expired;
    {
      Query q(sql(*conn, kExpiredLeases));
      q.bind(1, now);
      while (q.step()) expired.push_back(q.integer(0));
    }
    bool changed = false;
    for (LeaseId lease : expired) {
      // One revision per lease, as etcd revokes each lease in its own transaction.
      WriteContext ctx{*this, *conn};
      ctx.revoke(lease);
      changed = changed || ctx.revision != 0;
    }
    next = scalar(*conn, kMinExpiry);
    tx.commit();
    nextExpiry_ = next == 0 ? kNoExpiry : next;
    if (changed) wakeWatches();
  }

  void lowerNextExpiry(int64_t at) {
    int64_t current = nextExpiry_.load();
    while (at < current && !nextExpiry_.compare_exchange_weak(current, at)) {
    }
  }

  void wakeWatches() {
    if (watchCount_.load(std::memory_order_relaxed) == 0) return;
    {
      std::lock_guard lock(wakeMutex_);
      wake_ = true;
    }
    wakeCv_.notify_one();
  }

  std::unique_ptr<Watch> addWatch(std::string_view prefix, Revision from, WatchCallback onEvents,
                                  CompactedCallback onCompacted) {
    auto state = std::make_shared<WatchState>();
    state->prefix = prefix;
    state->onEvents = std::move(onEvents);
    state->onCompacted = std::move(onCompacted);
    state->storeThread = thread_.get_id();
    state->last = from;
    {
      std::lock_guard lock(watchMutex_);
      watches_.push_back(state);
      watchCount_ = watches_.size();
    }
    wakeWatches();
    return std::make_unique<SqliteWatch>(std::move(state));
  }

  // A lease id not in use; call inside a write transaction (random_ is guarded by it).
  LeaseId newLeaseId(SqliteConnection& conn) {
    for (;;) {
      // Random, as etcd's: a revoked id is not handed out again by accident.
      auto id = static_cast<LeaseId>(random_() >> 2);
      if (id == 0) continue;
      Query probe(sql(conn, kLeaseGet));
      probe.bind(1, id);
      if (!probe.step()) return id;
    }
  }

  std::unique_ptr<SqliteConnection> acquire();
  void release(std::unique_ptr<SqliteConnection> conn);
  void configure(SqliteConnection& conn, bool writer);
  void run();
  void deliver();

  std::string path_;
  SqliteStoreOptions options_;

 private:
  std::mutex poolMutex_;
  std::condition_variable poolCv_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_;
  size_t open_ = 0;

  std::mutex writeMutex_;               // one writer per process; SQLite's lock arbitrates between processes
  std::atomic<int64_t> nextExpiry_{0};  // 0: unknown, check on first use

  std::mutex watchMutex_;
  std::vector<std::shared_ptr<WatchState>> watches_;
  std::atomic<size_t> watchCount_{0};

  std::unique_ptr<SqliteConnection> threadConn_;
  std::atomic<bool> checkpointDue_{false};
  std::mutex wakeMutex_;
  std::condition_variable wakeCv_;
  bool wake_ = false;
  bool stop_ = false;
  std::mt19937_64 random_{std::random_device{}()};  // lease ids; guarded by writeMutex_
  std::thread thread_;                              // last: starts after everything it uses exists
};

SqliteStore::Impl::Impl(const std::string& path, SqliteStoreOptions options) : path_(path), options_(options) {
  if (path.empty()) throw std::invalid_argument("sqlite store: empty database path");
  if (options_.eventHistory < 1) throw std::invalid_argument("sqlite store " + path + ": eventHistory must be >= 1");
  if (options_.maxConnections < 1) options_.maxConnections = 1;
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::filesystem::create_directories(parent, ec);
    if (ec) throw StoreUnavailable("sqlite store " + path + ": cannot create " + parent.string() + ": " + ec.message());
  }
  auto conn = acquire();
  {
    Query q(sql(*conn, kJournalMode));
    std::string mode = q.step() ? q.blob(0) : "";
    if (mode != "wal") {
      throw StoreUnavailable("sqlite store " + path + ": cannot switch to WAL mode (journal mode is '" + mode + "')");
    }
  }
  {
    SqliteTransaction tx(*conn, SqliteTransaction::Mode::Write);
    conn->exec(kSchema);
    int64_t schema = scalar(*conn, kSchemaQuery);
    if (schema != kSupportedSchema) {
      throw StoreUnavailable("sqlite store " + path + ": schema version " + std::to_string(schema) +
                             " is not the supported " + std::to_string(kSupportedSchema));
    }
    tx.commit();
  }
  release(std::move(conn));
  threadConn_ = std::make_unique<SqliteConnection>(path_, options_.busyTimeout);
  configure(*threadConn_, false);
  thread_ = std::thread([this] { run(); });
}

SqliteStore::Impl::~Impl() {
  {
    std::lock_guard lock(wakeMutex_);
    stop_ = true;
  }
  wakeCv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void SqliteStore::Impl::configure(SqliteConnection& conn, bool writer) {
  conn.exec("PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY; PRAGMA journal_size_limit=16777216;");
  // Checkpoints (the only fsyncs in WAL + NORMAL) move to the store thread, off the
  // latency path of CNI ADDs.
  conn.onWalCommit([this, &conn, writer](int pages) {
    if (!writer) return;
    if (pages >= kInlineCheckpointPages) {
      conn.checkpoint();
    } else if (pages >= kCheckpointPages && !checkpointDue_.exchange(true)) {
      {
        std::lock_guard lock(wakeMutex_);
        wake_ = true;
      }
      wakeCv_.notify_one();
    }
  });
}

std::unique_ptr<SqliteConnection> SqliteStore::Impl::acquire() {
  std::unique_lock lock(poolMutex_);
  poolCv_.wait(lock, [&] { return !idle_.empty() || open_ < options_.maxConnections; });
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return conn;
  }
  ++open_;
  lock.unlock();
  try {
    auto conn = std::make_unique<SqliteConnection>(path_, options_.busyTimeout);
    configure(*conn, true);
    return conn;
  } catch (...) {
    lock.lock();
    --open_;
    poolCv_.notify_one();
    throw;
  }
}

void SqliteStore::Impl::release(std::unique_ptr<SqliteConnection> conn) {
  {
    std::lock_guard lock(poolMutex_);
    idle_.push_back(std::move(conn));
  }
  poolCv_.notify_one();
}

void SqliteStore::Impl::run() {
  for (;;) {
    {
      std::unique_lock lock(wakeMutex_);
      wakeCv_.wait_for(lock, options_.pollInterval, [&] { return wake_ || stop_; });
      if (stop_) return;
      wake_ = false;
    }
    try {
      if (checkpointDue_.exchange(false)) threadConn_->checkpoint();
      // Leases granted or renewed by other processes are only seen here.
      int64_t next = scalar(*threadConn_, kMinExpiry);
      nextExpiry_ = next == 0 ? kNoExpiry : next;
      maybeReap();
      deliver();
    } catch (const std::exception&) {
      // Locked or unreadable for now: the next poll tries again.
    }
  }
}

void SqliteStore::Impl::deliver() {
  std::vector<std::shared_ptr<WatchState>> watches;
  {
    std::lock_guard lock(watchMutex_);
    std::erase_if(watches_, [](const auto& w) { return w->cancelled || w->finished; });
    watchCount_ = watches_.size();
    watches = watches_;
  }
  auto& conn = *threadConn_;
  for (;;) {
    Revision current = 0, to = 0;
    std::vector<Event> events;
    std::vector<std::shared_ptr<WatchState>> compacted;
    {
      SqliteTransaction tx(conn, SqliteTransaction::Mode::Read);
      current = scalar(conn, kRevision);
      Revision compactedRev = scalar(conn, kCompacted);
      std::erase_if(watches, [&](const auto& w) {
        if (w->cancelled) return true;
        if (w->last >= compactedRev) return false;
        compacted.push_back(w);
        return true;
      });
      if (watches.empty() && compacted.empty()) return;
      Revision from = current;
      for (const auto& w : watches) from = std::min(from, w->last);
      to = std::min(current, from + kReplayBatch);
      if (to > from) {
        Query q(sql(conn, kEvents));
        q.bind(1, from).bind(2, to);
        while (q.step()) {
          Event e;
          e.type = q.integer(2) == kEventPut ? EventType::Put : EventType::Delete;
          e.kv.key = q.blob(3);
          e.kv.modRevision = q.integer(0);
          if (e.type == EventType::Put) {
            e.kv.value = q.blob(4);
            e.kv.createRevision = q.integer(5);
            e.kv.lease = q.integer(6);
          }
          events.push_back(std::move(e));
        }
      }
      tx.commit();
    }
    for (const auto& w : compacted) {
      std::lock_guard lock(w->callbackMutex);
      w->finished = true;
      if (w->cancelled || !w->onCompacted) continue;
      try {
        w->onCompacted();
      } catch (...) {
        // A callback's failure is its own; the store thread carries on.
      }
    }
    for (const auto& w : watches) {
      if (w->last >= to) continue;
      std::vector<Event> mine;
      for (const auto& e : events) {
        if (e.kv.modRevision > w->last && std::string_view(e.kv.key).starts_with(w->prefix)) mine.push_back(e);
      }
      w->last = to;
      if (mine.empty()) continue;
      std::lock_guard lock(w->callbackMutex);
      if (w->cancelled) continue;
      try {
        w->onEvents(mine);
      } catch (...) {
        // As above.
      }
    }
    if (to >= current) return;
  }
}

SqliteStore::SqliteStore(const std::string& path, SqliteStoreOptions options)
    : impl_(std::make_unique<Impl>(path, options)) {}

SqliteStore::~SqliteStore() = default;

std::optional<KeyValue> SqliteStore::get(std::string_view key) {
  return impl_->read([&](SqliteConnection& conn) -> std::optional<KeyValue> {
    Query q(sql(conn, kGet));
    q.bindBlob(1, key);
    if (!q.step()) return std::nullopt;
    return KeyValue{std::string(key), q.blob(0), q.integer(1), q.integer(2), q.integer(3)};
  });
}

Revision SqliteStore::put(std::string_view key, std::string_view value, LeaseId lease) {
  return impl_->write([&](Impl::WriteContext& tx) { return tx.putKey(key, value, lease); });
}

bool SqliteStore::createIfAbsent(std::string_view key, std::string_view value, LeaseId lease) {
  return impl_->write([&](Impl::WriteContext& tx) {
    if (tx.modRevision(key)) return false;
    tx.putKey(key, value, lease);
    return true;
  });
}

bool SqliteStore::compareAndSwap(std::string_view key, Revision expected, std::string_view value, LeaseId lease) {
  return impl_->write([&](Impl::WriteContext& tx) {
    if (tx.modRevision(key).value_or(0) != expected) return false;
    tx.putKey(key, value, lease);
    return true;
  });
}

bool SqliteStore::remove(std::string_view key) {
  return impl_->write([&](Impl::WriteContext& tx) {
    if (!tx.modRevision(key)) return false;
    tx.deleteKey(key);
    return true;
  });
}

bool SqliteStore::compareAndDelete(std::string_view key, Revision expected) {
  return impl_->write([&](Impl::WriteContext& tx) {
    auto rev = tx.modRevision(key);
    if (!rev || *rev != expected) return false;
    tx.deleteKey(key);
    return true;
  });
}

std::vector<KeyValue> SqliteStore::list(std::string_view prefix) {
  return impl_->read([&](SqliteConnection& conn) {
    std::string end = prefixEnd(prefix);
    Query q(sql(conn, end.empty() ? kListFrom : kListRange));
    q.bindBlob(1, prefix);
    if (!end.empty()) q.bindBlob(2, end);
    std::vector<KeyValue> out;
    while (q.step()) out.push_back(KeyValue{q.blob(0), q.blob(1), q.integer(2), q.integer(3), q.integer(4)});
    return out;
  });
}

Revision SqliteStore::revision() {
  return impl_->read([&](SqliteConnection& conn) { return scalar(conn, kRevision); });
}

std::unique_ptr<Watch> SqliteStore::watch(std::string_view prefix, Revision fromRevision, WatchCallback onEvents,
                                          CompactedCallback onCompacted) {
  if (!onEvents) throw std::invalid_argument("sqlite store watch of '" + std::string(prefix) + "': no callback");
  return impl_->addWatch(prefix, fromRevision, std::move(onEvents), std::move(onCompacted));
}

LeaseId SqliteStore::grantLease(std::chrono::seconds ttl) {
  if (ttl.count() <= 0) {
    throw std::invalid_argument("sqlite store " + impl_->path_ + ": lease ttl must be positive, got " +
                                std::to_string(ttl.count()) + "s");
  }
  int64_t expires = 0;
  LeaseId id = impl_->write([&](Impl::WriteContext& tx) {
    LeaseId lease = impl_->newLeaseId(tx.conn);
    expires = nowMs() + ttl.count() * 1000;
    Query(sql(tx.conn, kLeaseInsert)).bind(1, lease).bind(2, ttl.count()).bind(3, expires).run();
    return lease;
  });
  impl_->lowerNextExpiry(expires);
  return id;
}

bool SqliteStore::keepAlive(LeaseId lease) {
  return impl_->write([&](Impl::WriteContext& tx) {
    int64_t ttl = 0, expires = 0;
    {
      Query q(sql(tx.conn, kLeaseGet));
      q.bind(1, lease);
      if (!q.step()) return false;
      ttl = q.integer(0);
      expires = q.integer(1);
    }
    int64_t now = nowMs();
    if (expires <= now) {
      tx.revoke(lease);  // too late: it is gone, and so are its keys
      return false;
    }
    Query(sql(tx.conn, kLeaseRenew)).bind(1, lease).bind(2, now + ttl * 1000).run();
    return true;
  });
}

void SqliteStore::revokeLease(LeaseId lease) {
  impl_->write([&](Impl::WriteContext& tx) {
    tx.revoke(lease);
    return 0;
  });
}

std::string SqliteStore::describe() const { return "sqlite:" + impl_->path_; }

void SqliteStore::compact(Revision revision) {
  impl_->write([&](Impl::WriteContext& tx) {
    Revision current = scalar(tx.conn, kRevision);
    if (revision > current) {
      throw std::invalid_argument("sqlite store " + impl_->path_ + ": cannot compact to revision " +
                                  std::to_string(revision) + ", the current revision is " + std::to_string(current));
    }
    Query(sql(tx.conn, kTrimEvents)).bind(1, revision).run();
    Query(sql(tx.conn, kSetCompacted)).bind(1, revision).run();
    return 0;
  });
  impl_->wakeWatches();
}

Revision SqliteStore::compactedRevision() {
  return impl_->read([&](SqliteConnection& conn) { return scalar(conn, kCompacted); });
}

const std::string& SqliteStore::path() const { return impl_->path_; }

}  // namespace cnikit::store
