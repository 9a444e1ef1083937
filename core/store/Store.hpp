#pragma once
// The cluster store: one interface, an embedded SQLite implementation (one node) and
// etcd v3 (a cluster). Semantics follow etcd v3 so both behave alike: every write bumps a
// global revision; keys carry create/mod revisions; leases expire and take their keys.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cnikit::store {

using Revision = int64_t;
using LeaseId = int64_t;  // 0 = no lease

struct KeyValue {
  std::string key;
  std::string value;
  Revision createRevision = 0;
  Revision modRevision = 0;
  LeaseId lease = 0;
};

enum class EventType { Put, Delete };

struct Event {
  EventType type;
  KeyValue kv;  // for Delete: key and modRevision (the deleting revision); value empty
};

// The store cannot be reached (etcd down, SQLite file locked too long). Callers map it to
// CNI error 11 ("try again later").
class StoreUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A write named a lease that does not exist (never granted, revoked or expired).
class LeaseNotFound : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A watch asked for history that was compacted away: the watcher must resync (list).
class WatchCompacted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A running watch; destroying it stops delivery (the destructor waits for an in-flight
// callback to finish, so never destroy a Watch from inside its own callback).
class Watch {
 public:
  virtual ~Watch() = default;
};

using WatchCallback = std::function<void(const std::vector<Event>&)>;
// Called instead of WatchCallback when the requested revision was compacted; the watch
// has ended and the owner should list and watch again.
using CompactedCallback = std::function<void()>;

class Store {
 public:
  virtual ~Store() = default;

  virtual std::optional<KeyValue> get(std::string_view key) = 0;
  // Unconditional write; returns the new revision.
  virtual Revision put(std::string_view key, std::string_view value, LeaseId lease = 0) = 0;
  // Writes only when the key does not exist. Returns true when written.
  virtual bool createIfAbsent(std::string_view key, std::string_view value, LeaseId lease = 0) = 0;
  // Writes only when the key's modRevision equals expected (expected 0: key must be absent).
  virtual bool compareAndSwap(std::string_view key, Revision expected, std::string_view value,
                              LeaseId lease = 0) = 0;
  // Deletes; returns true when the key existed.
  virtual bool remove(std::string_view key) = 0;
  // Deletes only when the key's modRevision equals expected.
  virtual bool compareAndDelete(std::string_view key, Revision expected) = 0;
  // Every key starting with prefix, in key order.
  virtual std::vector<KeyValue> list(std::string_view prefix) = 0;
  // Current revision of the whole store.
  virtual Revision revision() = 0;

  // Delivers every event on keys under prefix with revision > fromRevision, in order,
  // then live events. Callbacks run on a store-owned thread.
  virtual std::unique_ptr<Watch> watch(std::string_view prefix, Revision fromRevision, WatchCallback onEvents,
                                       CompactedCallback onCompacted) = 0;

  virtual LeaseId grantLease(std::chrono::seconds ttl) = 0;
  // Renews the lease; returns false when it has already expired (its keys are gone).
  virtual bool keepAlive(LeaseId lease) = 0;
  // Ends the lease now and deletes its keys.
  virtual void revokeLease(LeaseId lease) = 0;

  // "sqlite" or "etcd", and where it is (path or endpoints): for status output.
  virtual std::string describe() const = 0;
};

}  // namespace cnikit::store
