#pragma once
// The embedded store: one SQLite file in WAL mode, shared by every process on the node
// that opens it (the agent, cnikitctl). Revisions, events and leases live in the file, so
// a watch sees writes from other processes (a store-owned thread polls the event log) and
// leases expire even when the process that granted them is gone.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "core/store/Store.hpp"

namespace cnikit::store {

struct SqliteStoreOptions {
  // Revisions of event history kept at least for watches (trimmed in batches of up to 64
  // revisions); a watch from an older revision gets onCompacted.
  int64_t eventHistory = 10000;
  // How often the store thread looks for writes by other processes and expired leases.
  // Writes through this object wake it at once.
  std::chrono::milliseconds pollInterval{50};
  // How long an operation waits for another process's write lock before StoreUnavailable.
  std::chrono::milliseconds busyTimeout{5000};
  // Connections shared by calling threads (the store thread has its own). Reads run in
  // parallel; writes are serialised in-process anyway, so more rarely helps.
  size_t maxConnections = 4;
};

class SqliteStore final : public Store {
 public:
  // Opens (creating the file and its parent directory if needed) the store at path.
  // Throws StoreUnavailable naming the path when it cannot.
  explicit SqliteStore(const std::string& path, SqliteStoreOptions options = {});
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  std::optional<KeyValue> get(std::string_view key) override;
  Revision put(std::string_view key, std::string_view value, LeaseId lease = 0) override;
  bool createIfAbsent(std::string_view key, std::string_view value, LeaseId lease = 0) override;
  bool compareAndSwap(std::string_view key, Revision expected, std::string_view value, LeaseId lease = 0) override;
  bool remove(std::string_view key) override;
  bool compareAndDelete(std::string_view key, Revision expected) override;
  std::vector<KeyValue> list(std::string_view prefix) override;
  Revision revision() override;
  std::unique_ptr<Watch> watch(std::string_view prefix, Revision fromRevision, WatchCallback onEvents,
                               CompactedCallback onCompacted) override;
  LeaseId grantLease(std::chrono::seconds ttl) override;
  bool keepAlive(LeaseId lease) override;
  void revokeLease(LeaseId lease) override;
  std::string describe() const override;

  // Drops the event history up to and including revision (as etcd's compact does);
  // watches that still need it get onCompacted.
  void compact(Revision revision);
  // The oldest revision a watch can start from (events after it are kept).
  Revision compactedRevision();
  const std::string& path() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cnikit::store
