#pragma once
// The cluster store: etcd 3.4 through its v3 JSON gateway (POST /v3/..., libcurl), so no
// gRPC stack is needed. Several endpoints are tried in order, starting with the one that
// answered last. Nothing is contacted at construction: an agent starts while etcd is away
// and its first operation throws StoreUnavailable, naming every endpoint and its error.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/store/Store.hpp"

namespace cnikit::store {

namespace etcd {
class EtcdClient;
}

struct EtcdStoreOptions {
  // Per endpoint and attempt. A dead endpoint on the local network refuses at once; a
  // silent one costs connectTimeout before the next endpoint is tried.
  std::chrono::milliseconds connectTimeout{1000};
  std::chrono::milliseconds requestTimeout{5000};
  // Watch reconnects back off from watchRetryMin, doubling up to watchRetryMax.
  std::chrono::milliseconds watchRetryMin{50};
  std::chrono::milliseconds watchRetryMax{2000};
};

struct EtcdStoreStats {
  uint64_t failovers = 0;       // calls that went on to another endpoint
  uint64_t watchesCreated = 0;  // watch streams etcd accepted, reconnects included
  std::string lastWatchError;   // why a watch stream ended last ("" if none has)
};

class EtcdStore final : public Store {
 public:
  // endpoints: "http://host:port" (a bare "host:port" means http). Throws
  // std::invalid_argument naming a malformed endpoint or when there is none.
  explicit EtcdStore(const std::vector<std::string>& endpoints, EtcdStoreOptions options = {});
  ~EtcdStore() override;
  EtcdStore(const EtcdStore&) = delete;
  EtcdStore& operator=(const EtcdStore&) = delete;

  std::optional<KeyValue> get(std::string_view key) override;
  Revision put(std::string_view key, std::string_view value, LeaseId lease = 0) override;
  bool createIfAbsent(std::string_view key, std::string_view value, LeaseId lease = 0) override;
  bool compareAndSwap(std::string_view key, Revision expected, std::string_view value, LeaseId lease = 0) override;
  bool remove(std::string_view key) override;
  bool compareAndDelete(std::string_view key, Revision expected) override;
  std::vector<KeyValue> list(std::string_view prefix) override;
  Revision revision() override;
  // Watches outlive nothing they need: a Watch may be destroyed after its store.
  std::unique_ptr<Watch> watch(std::string_view prefix, Revision fromRevision, WatchCallback onEvents,
                               CompactedCallback onCompacted) override;
  LeaseId grantLease(std::chrono::seconds ttl) override;
  bool keepAlive(LeaseId lease) override;
  void revokeLease(LeaseId lease) override;
  // "etcd:http://a:2379,http://b:2379"
  std::string describe() const override;

  // Drops history up to revision (etcd's compact; waits until it is physically done).
  // Watches that still need it get onCompacted.
  void compact(Revision revision);
  const std::vector<std::string>& endpoints() const;
  EtcdStoreStats stats() const;

 private:
  std::shared_ptr<etcd::EtcdClient> client_;
  EtcdStoreOptions options_;
};

}  // namespace cnikit::store
