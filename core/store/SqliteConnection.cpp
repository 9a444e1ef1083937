#include "core/store/SqliteConnection.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "core/store/Store.hpp"

namespace cnikit::store {

namespace {

constexpr size_t kBeginRead = 0;
constexpr size_t kBeginWrite = 1;
constexpr size_t kCommit = 2;
constexpr size_t kRollback = 3;

bool isUnavailable(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_PERM: return true;
    default: return false;
  }
}

}  // namespace

SqliteConnection::SqliteConnection(const std::string& path, std::chrono::milliseconds busyTimeout)
    : path_(path), busyTimeout_(busyTimeout) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreUnavailable("sqlite store " + path + ": cannot open: " + message);
  }
  sqlite3_extended_result_codes(db_, 1);
  // Our own handler instead of sqlite3_busy_timeout: the built-in one sleeps in steps of
  // up to 100 ms, far too coarse when a CNI ADD waits for another process's commit.
  sqlite3_busy_handler(db_, &SqliteConnection::onBusy, this);
}

SqliteConnection::~SqliteConnection() {
  statements_.clear();  // finalize before close
  sqlite3_close(db_);
}

int SqliteConnection::onBusy(void* self, int attempts) {
  auto* conn = static_cast<SqliteConnection*>(self);
  auto now = std::chrono::steady_clock::now();
  if (attempts == 0) conn->busySince_ = now;
  if (now - conn->busySince_ >= conn->busyTimeout_) return 0;  // give up: SQLITE_BUSY
  // 50 us doubling to 2 ms: short waits for short commits, bounded CPU for long ones.
  auto sleep = std::chrono::microseconds(50) * (1 << std::min(attempts, 5));
  std::this_thread::sleep_for(std::min<std::chrono::microseconds>(sleep, std::chrono::milliseconds(2)));
  return 1;
}

int SqliteConnection::onWal(void* self, sqlite3*, const char*, int pages) {
  auto* conn = static_cast<SqliteConnection*>(self);
  if (conn->walHook_) conn->walHook_(pages);
  return SQLITE_OK;
}

void SqliteConnection::onWalCommit(std::function<void(int)> hook) {
  walHook_ = std::move(hook);
  sqlite3_wal_hook(db_, &SqliteConnection::onWal, this);
}

void SqliteConnection::checkpoint() {
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  // BUSY: another connection is checkpointing right now; the WAL gets moved either way, and a
  // write must not fail for it (10 000 puts in a row hit this).
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) fail(rc, "checkpoint");
}

void SqliteConnection::fail(int rc, std::string_view what) const {
  std::string message = "sqlite store " + path_ + ": " + std::string(what);
  if (rc != SQLITE_OK) message += std::string(": ") + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
    message += " (still locked after " + std::to_string(busyTimeout_.count()) + " ms)";
  }
  if (isUnavailable(rc)) throw StoreUnavailable(message);
  throw std::runtime_error(message);
}

void SqliteConnection::exec(const char* sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string text = error ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    std::string message = "sqlite store " + path_ + ": " + text;
    if (isUnavailable(rc)) throw StoreUnavailable(message);
    throw std::runtime_error(message);
  }
}

SqliteStatement& SqliteConnection::statement(size_t slot, const char* sql) {
  if (slot >= statements_.size()) statements_.resize(slot + 1);
  if (!statements_[slot]) statements_[slot] = std::make_unique<SqliteStatement>(*this, sql);
  return *statements_[slot];
}

SqliteStatement::SqliteStatement(SqliteConnection& conn, const char* sql) : conn_(conn) {
  int rc = sqlite3_prepare_v3(conn.handle(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) conn.fail(rc, std::string("prepare '") + sql + "'");
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

Query::Query(SqliteStatement& statement) : statement_(statement) {}

Query::~Query() {
  sqlite3_reset(statement_.stmt_);
  sqlite3_clear_bindings(statement_.stmt_);
}

Query& Query::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(statement_.stmt_, index, value);
  if (rc != SQLITE_OK) statement_.conn_.fail(rc, "bind");
  return *this;
}

Query& Query::bindBlob(int index, std::string_view value) {
  // A zero-length blob must still be a blob (not NULL): pass a valid pointer.
  static const char kEmpty = 0;
  int rc = sqlite3_bind_blob64(statement_.stmt_, index, value.empty() ? &kEmpty : value.data(), value.size(),
                               SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) statement_.conn_.fail(rc, "bind");
  return *this;
}

bool Query::step() {
  int rc = sqlite3_step(statement_.stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  statement_.conn_.fail(rc, std::string("'") + sqlite3_sql(statement_.stmt_) + "'");
}

void Query::run() {
  while (step()) {
  }
}

int64_t Query::integer(int column) const { return sqlite3_column_int64(statement_.stmt_, column); }

std::string Query::blob(int column) const {
  const void* data = sqlite3_column_blob(statement_.stmt_, column);
  int size = sqlite3_column_bytes(statement_.stmt_, column);
  if (!data || size <= 0) return {};
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

bool Query::isNull(int column) const { return sqlite3_column_type(statement_.stmt_, column) == SQLITE_NULL; }

SqliteTransaction::SqliteTransaction(SqliteConnection& conn, Mode mode) : conn_(conn) {
  if (mode == Mode::Write) {
    Query(conn_.statement(kBeginWrite, "BEGIN IMMEDIATE")).run();
  } else {
    Query(conn_.statement(kBeginRead, "BEGIN")).run();
  }
  open_ = true;
}

SqliteTransaction::~SqliteTransaction() {
  if (!open_) return;
  try {
    Query(conn_.statement(kRollback, "ROLLBACK")).run();
  } catch (...) {
    // SQLite already rolled back (e.g. after an I/O error): nothing left to undo.
  }
}

void SqliteTransaction::commit() {
  Query(conn_.statement(kCommit, "COMMIT")).run();
  open_ = false;
}

}  // namespace cnikit::store
