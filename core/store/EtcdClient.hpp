#pragma once
// Unary calls to etcd's v3 JSON gateway (POST /v3/..., JSON in and out) over libcurl, with
// failover between endpoints. Thread-safe: each call borrows a curl handle (and with it a
// kept-alive connection) from a small pool.
#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace cnikit::store::etcd {

struct ClientOptions {
  std::chrono::milliseconds connectTimeout{1000};
  std::chrono::milliseconds requestTimeout{5000};
};

// Whether a call may go to another endpoint after an attempt whose outcome is unknown (the
// request left, no answer came back). Reads may; a conditional write may not: it could have
// been applied, and a second try would then report "condition failed".
enum class Retry { Safe, OnlyUnsent };

// "http://host:port" with no trailing '/'; a bare "host:port" gets "http://". Throws
// std::invalid_argument naming the endpoint for anything else. A read at a pinned revision
// that etcd has compacted away (gRPC OutOfRange).
class RevisionCompacted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string normalizeEndpoint(const std::string& endpoint);

// Sets up the parts of a curl handle every etcd request shares (no proxy from the
// environment, no signals, timeouts, no "Expect: 100-continue").
void configureCommon(CURL* curl, const ClientOptions& options);

class EtcdClient {
 public:
  EtcdClient(const std::vector<std::string>& endpoints, ClientOptions options);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  // POSTs body to path ("/v3/kv/range") and returns the response object. Throws
  // StoreUnavailable (no endpoint answered; the message names each endpoint and its error),
  // LeaseNotFound, std::invalid_argument (etcd rejected the request as malformed)
  // RevisionCompacted, or std::runtime_error (other refusals, e.g. permission denied).
  nlohmann::json call(const std::string& path, const nlohmann::json& body, Retry retry);

  const std::vector<std::string>& endpoints() const { return endpoints_; }
  std::string endpointList() const;  // "http://a:2379,http://b:2379"
  const ClientOptions& options() const { return options_; }
  // The endpoint that answered last: calls and watches start there.
  size_t preferredEndpoint() const { return preferred_.load(); }
  void setPreferredEndpoint(size_t index) { preferred_.store(index % endpoints_.size()); }
  uint64_t failovers() const { return failovers_.load(); }
  // Watch streams etcd accepted (each reconnect of a watch counts again).
  void noteWatchCreated() { ++watchesCreated_; }
  uint64_t watchesCreated() const { return watchesCreated_.load(); }
  // Why a watch stream ended last (for status output).
  void noteWatchError(const std::string& error);
  std::string lastWatchError() const;

 private:
  CURL* acquire();
  void release(CURL* curl);

  std::vector<std::string> endpoints_;
  ClientOptions options_;
  std::atomic<size_t> preferred_{0};
  std::atomic<uint64_t> failovers_{0};
  std::atomic<uint64_t> watchesCreated_{0};
  mutable std::mutex errorMutex_;
  std::string lastWatchError_;
  std::mutex poolMutex_;
  std::vector<CURL*> idle_;
};

}  // namespace cnikit::store::etcd
