#pragma once
// One SQLite connection with its prepared statements, for SqliteStore's internal use.
// Every SQLite failure surfaces as StoreUnavailable (locked too long, I/O, corrupt file) or
// std::runtime_error (a bug), both naming the database file.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace cnikit::store {

class SqliteConnection;

// A prepared statement owned by its connection; use it through Query, which resets it.
class SqliteStatement {
 public:
  SqliteStatement(SqliteConnection& conn, const char* sql);
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

 private:
  friend class Query;
  SqliteConnection& conn_;
  sqlite3_stmt* stmt_ = nullptr;
};

// One execution of a statement: bind, step through rows, reset on destruction (an open
// SELECT would otherwise pin a read snapshot).
class Query {
 public:
  explicit Query(SqliteStatement& statement);
  ~Query();
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(int index, int64_t value);
  Query& bindBlob(int index, std::string_view value);
  // True while there is a row; false when done.
  bool step();
  // Runs a statement that returns no rows (or whose rows do not matter).
  void run();

  int64_t integer(int column) const;
  std::string blob(int column) const;
  bool isNull(int column) const;

 private:
  SqliteStatement& statement_;
};

class SqliteConnection {
 public:
  SqliteConnection(const std::string& path, std::chrono::milliseconds busyTimeout);
  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // Runs one or more statements without results (pragmas, schema).
  void exec(const char* sql);
  // The statement for sql, prepared on first use and kept. slot is a small constant that
  // identifies the statement (cheaper than hashing the text); slots below kFirstUserSlot
  // belong to SqliteTransaction.
  SqliteStatement& statement(size_t slot, const char* sql);
  static constexpr size_t kFirstUserSlot = 4;

  // Throws for a failed SQLite call: StoreUnavailable for conditions that may pass or that
  // concern the file (busy, I/O, full, corrupt, read-only), std::runtime_error otherwise.
  [[noreturn]] void fail(int rc, std::string_view what) const;

  // Replaces SQLite's automatic checkpoint (which runs, with fsyncs, inside whichever
  // commit crosses the threshold) by a callback told the WAL size after each commit.
  void onWalCommit(std::function<void(int walPages)> hook);
  // A PASSIVE checkpoint: copies what it can without waiting for readers or writers.
  void checkpoint();

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  static int onBusy(void* self, int attempts);
  static int onWal(void* self, sqlite3* db, const char* name, int pages);

  std::string path_;
  std::chrono::milliseconds busyTimeout_;
  std::chrono::steady_clock::time_point busySince_{};
  sqlite3* db_ = nullptr;
  std::vector<std::unique_ptr<SqliteStatement>> statements_;
  std::function<void(int)> walHook_;
};

// BEGIN [IMMEDIATE] ... COMMIT, rolled back when left without commit().
class SqliteTransaction {
 public:
  enum class Mode { Read, Write };
  SqliteTransaction(SqliteConnection& conn, Mode mode);
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  void commit();

 private:
  SqliteConnection& conn_;
  bool open_ = false;
};

}  // namespace cnikit::store
