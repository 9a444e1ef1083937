#include "core/store/EtcdStore.hpp"

#include "core/store/EtcdClient.hpp"
#include "core/store/EtcdCodec.hpp"
#include "core/store/EtcdWatch.hpp"

namespace cnikit::store {

using etcd::base64Encode;
using etcd::int64Field;
using etcd::Retry;
using nlohmann::json;

namespace {

// Keys per range request when listing; pages after the first read at the first one's
// revision, so a list is one consistent snapshot.
constexpr int64_t kListPage = 1000;
constexpr int kListAttempts = 3;

json b64(std::string_view bytes) { return base64Encode(bytes); }

json putRequest(std::string_view key, std::string_view value, LeaseId lease) {
  json put = {{"key", b64(key)}, {"value", b64(value)}};
  if (lease != 0) put["lease"] = std::to_string(lease);
  return put;
}

Revision headerRevision(const json& response) {
  auto it = response.find("header");
  return it == response.end() ? 0 : int64Field(*it, "revision");
}

// A one-compare transaction; true when the compare held and the operation ran.
json txn(const char* target, const char* field, std::string_view key, Revision value, json operation) {
  return {{"compare",
           json::array({{{"target", target}, {"result", "EQUAL"}, {"key", b64(key)}, {field, std::to_string(value)}}})},
          {"success", json::array({std::move(operation)})}};
}

}  // namespace

EtcdStore::EtcdStore(const std::vector<std::string>& endpoints, EtcdStoreOptions options)
    : client_(std::make_shared<etcd::EtcdClient>(endpoints,
                                                 etcd::ClientOptions{options.connectTimeout, options.requestTimeout})),
      options_(options) {}

EtcdStore::~EtcdStore() = default;

std::optional<KeyValue> EtcdStore::get(std::string_view key) {
  json r = client_->call("/v3/kv/range", {{"key", b64(key)}}, Retry::Safe);
  auto kvs = r.find("kvs");
  if (kvs == r.end() || !kvs->is_array() || kvs->empty()) return std::nullopt;
  return etcd::keyValueFromJson(kvs->front());
}

Revision EtcdStore::put(std::string_view key, std::string_view value, LeaseId lease) {
  return headerRevision(client_->call("/v3/kv/put", putRequest(key, value, lease), Retry::OnlyUnsent));
}

bool EtcdStore::createIfAbsent(std::string_view key, std::string_view value, LeaseId lease) {
  json body = txn("CREATE", "create_revision", key, 0, {{"request_put", putRequest(key, value, lease)}});
  return client_->call("/v3/kv/txn", body, Retry::OnlyUnsent).value("succeeded", false);
}

bool EtcdStore::compareAndSwap(std::string_view key, Revision expected, std::string_view value, LeaseId lease) {
  // An absent key has mod_revision 0, so expected 0 means "must be absent".
  json body = txn("MOD", "mod_revision", key, expected, {{"request_put", putRequest(key, value, lease)}});
  return client_->call("/v3/kv/txn", body, Retry::OnlyUnsent).value("succeeded", false);
}

bool EtcdStore::remove(std::string_view key) {
  json r = client_->call("/v3/kv/deleterange", {{"key", b64(key)}}, Retry::OnlyUnsent);
  return int64Field(r, "deleted") > 0;
}

bool EtcdStore::compareAndDelete(std::string_view key, Revision expected) {
  json body = txn("MOD", "mod_revision", key, expected, {{"request_delete_range", {{"key", b64(key)}}}});
  json r = client_->call("/v3/kv/txn", body, Retry::OnlyUnsent);
  if (!r.value("succeeded", false)) return false;
  // expected 0 on an absent key holds, but nothing was there to delete.
  auto responses = r.find("responses");
  if (responses == r.end() || !responses->is_array() || responses->empty()) return false;
  return int64Field(responses->front().value("response_delete_range", json::object()), "deleted") > 0;
}

std::vector<KeyValue> EtcdStore::list(std::string_view prefix) {
  const std::string first = prefix.empty() ? std::string(1, '\0') : std::string(prefix);
  const std::string end = etcd::prefixRangeEnd(prefix);
  for (int attempt = 1;; ++attempt) {
    std::vector<KeyValue> out;
    std::string from = first;
    Revision at = 0;
    try {
      for (;;) {
        json body = {{"key", b64(from)}, {"range_end", b64(end)}, {"limit", std::to_string(kListPage)}};
        if (at != 0) body["revision"] = std::to_string(at);
        json r = client_->call("/v3/kv/range", body, Retry::Safe);
        if (at == 0) at = headerRevision(r);
        if (auto kvs = r.find("kvs"); kvs != r.end() && kvs->is_array()) {
          for (const auto& kv : *kvs) out.push_back(etcd::keyValueFromJson(kv));
        }
        if (!r.value("more", false) || out.empty()) return out;
        from = out.back().key + '\0';  // the next key after the last one
      }
    } catch (const etcd::RevisionCompacted&) {
      // Compacted between two pages: start over at a newer revision.
      if (attempt == kListAttempts) throw;
    }
  }
}

Revision EtcdStore::revision() {
  // Any response header carries the store's revision; a point read of "\0" is the cheapest.
  return headerRevision(client_->call("/v3/kv/range", {{"key", b64(std::string(1, '\0'))}}, Retry::Safe));
}

std::unique_ptr<Watch> EtcdStore::watch(std::string_view prefix, Revision fromRevision, WatchCallback onEvents,
                                        CompactedCallback onCompacted) {
  if (!onEvents) throw std::invalid_argument("etcd store watch of '" + std::string(prefix) + "': no callback");
  etcd::WatchOptions options;
  options.retryMin = options_.watchRetryMin;
  options.retryMax = options_.watchRetryMax;
  return std::make_unique<etcd::EtcdWatch>(client_, prefix, fromRevision, std::move(onEvents), std::move(onCompacted),
                                           options);
}

LeaseId EtcdStore::grantLease(std::chrono::seconds ttl) {
  if (ttl.count() <= 0) {
    throw std::invalid_argument("etcd store " + client_->endpointList() + ": lease ttl must be positive, got " +
                                std::to_string(ttl.count()) + "s");
  }
  // Safe to repeat: a lease granted by a lost first attempt expires unused.
  json r = client_->call("/v3/lease/grant", {{"TTL", std::to_string(ttl.count())}}, Retry::Safe);
  LeaseId id = int64Field(r, "ID");
  if (id == 0)
    throw StoreUnavailable("etcd store " + client_->endpointList() + ": lease grant answered no ID: " + r.dump());
  return id;
}

bool EtcdStore::keepAlive(LeaseId lease) {
  // A streaming call: one request, one {"result": ...}; an expired lease answers TTL 0
  // (left out).
  json r = client_->call("/v3/lease/keepalive", {{"ID", std::to_string(lease)}}, Retry::Safe);
  auto result = r.find("result");
  if (result == r.end() || !result->is_object()) return false;
  return int64Field(*result, "TTL") > 0;
}

void EtcdStore::revokeLease(LeaseId lease) {
  try {
    client_->call("/v3/lease/revoke", {{"ID", std::to_string(lease)}}, Retry::Safe);
  } catch (const LeaseNotFound&) {
    // Already gone (expired, revoked, or a retry of a revoke that went through).
  }
}

std::string EtcdStore::describe() const { return "etcd:" + client_->endpointList(); }

void EtcdStore::compact(Revision revision) {
  try {
    client_->call("/v3/kv/compaction", {{"revision", std::to_string(revision)}, {"physical", true}}, Retry::Safe);
  } catch (const etcd::RevisionCompacted& e) {
    // etcd answers OutOfRange both for "already compacted that far" (fine: as asked) and
    // for a revision it has not reached yet (the caller's mistake).
    if (std::string_view(e.what()).find("future") != std::string_view::npos) {
      throw std::invalid_argument("etcd store " + client_->endpointList() + ": cannot compact to revision " +
                                  std::to_string(revision) + ": " + e.what());
    }
  }
}

const std::vector<std::string>& EtcdStore::endpoints() const { return client_->endpoints(); }

EtcdStoreStats EtcdStore::stats() const {
  return {client_->failovers(), client_->watchesCreated(), client_->lastWatchError()};
}

}  // namespace cnikit::store
