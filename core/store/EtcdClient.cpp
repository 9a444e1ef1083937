#include "core/store/EtcdClient.hpp"

#include <mutex>
#include <stdexcept>

#include "core/store/Store.hpp"

namespace cnikit::store::etcd {

namespace {

// Idle handles kept for reuse; more concurrent callers than this simply make new ones.
constexpr size_t kMaxIdleHandles = 16;

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw StoreUnavailable("etcd: curl_global_init failed");
  });
}

// Shared, never modified after creation, so handles may use it concurrently.
curl_slist* jsonHeaders() {
  static curl_slist* headers = [] {
    curl_slist* h = curl_slist_append(nullptr, "Content-Type: application/json");
    // curl would otherwise wait for "100 Continue" before sending a larger body.
    return curl_slist_append(h, "Expect:");
  }();
  return headers;
}

size_t appendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// A gRPC status code as the gateway reports it, with its message; code 0 = no error.
struct GatewayError {
  int code = 0;
  std::string message;
};

// Unary calls answer {"error": "...", "code": N, "message": "..."}; streaming ones (lease
// keepalive) {"error": {"grpc_code": N, "message": "..."}}.
GatewayError gatewayError(const nlohmann::json& response) {
  auto it = response.find("error");
  if (it == response.end() || it->is_null()) return {};
  GatewayError e;
  if (it->is_object()) {
    e.code = it->value("grpc_code", 2);
    e.message = it->value("message", it->dump());
  } else {
    e.code = response.value("code", 2);
    e.message = response.value("message", it->is_string() ? it->get<std::string>() : it->dump());
  }
  if (e.code == 0) e.code = 2;  // an error without a code: "unknown"
  return e;
}

// Codes after which another endpoint may do better (this member has no leader, is
// overloaded, timed out waiting for raft), or that we cannot tell apart from that (Unknown:
// also what a non-etcd server behind the endpoint gets).
bool isTransient(int code) {
  return code == 1 || code == 2 || code == 4 || code == 8 || code == 10 || code == 13 || code == 14;
}

std::string snippet(const std::string& body) { return body.size() > 200 ? body.substr(0, 200) + "..." : body; }

}  // namespace

std::string normalizeEndpoint(const std::string& endpoint) {
  std::string e = endpoint;
  while (!e.empty() && (e.back() == '/' || e.back() == ' ')) e.pop_back();
  while (!e.empty() && e.front() == ' ') e.erase(e.begin());
  if (e.find("://") == std::string::npos) e = "http://" + e;
  bool http = e.rfind("http://", 0) == 0, https = e.rfind("https://", 0) == 0;
  size_t hostStart = https ? 8 : 7;
  if ((!http && !https) || e.size() <= hostStart || e.find('/', hostStart) != std::string::npos) {
    throw std::invalid_argument("etcd endpoint '" + endpoint + "' is not http://host:port or https://host:port");
  }
  return e;
}

void configureCommon(CURL* curl, const ClientOptions& options) {
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  // http_proxy in the environment must not reroute the store (least of all loopback).
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connectTimeout.count()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, jsonHeaders());
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
}

EtcdClient::EtcdClient(const std::vector<std::string>& endpoints, ClientOptions options) : options_(options) {
  if (endpoints.empty()) throw std::invalid_argument("etcd store: no endpoints given");
  for (const auto& e : endpoints) endpoints_.push_back(normalizeEndpoint(e));
  globalInit();
}

EtcdClient::~EtcdClient() {
  for (CURL* c : idle_) curl_easy_cleanup(c);
}

std::string EtcdClient::endpointList() const {
  std::string out;
  for (const auto& e : endpoints_) out += (out.empty() ? "" : ",") + e;
  return out;
}

void EtcdClient::noteWatchError(const std::string& error) {
  std::lock_guard lock(errorMutex_);
  lastWatchError_ = error;
}

std::string EtcdClient::lastWatchError() const {
  std::lock_guard lock(errorMutex_);
  return lastWatchError_;
}

CURL* EtcdClient::acquire() {
  {
    std::lock_guard lock(poolMutex_);
    if (!idle_.empty()) {
      CURL* c = idle_.back();
      idle_.pop_back();
      return c;
    }
  }
  CURL* c = curl_easy_init();
  if (!c) throw StoreUnavailable("etcd store " + endpointList() + ": curl_easy_init failed");
  configureCommon(c, options_);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.requestTimeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, appendBody);
  return c;
}

void EtcdClient::release(CURL* curl) {
  {
    std::lock_guard lock(poolMutex_);
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(curl);
      return;
    }
  }
  curl_easy_cleanup(curl);
}

nlohmann::json EtcdClient::call(const std::string& path, const nlohmann::json& body, Retry retry) {
  const std::string payload = body.dump();
  const size_t start = preferred_.load();
  std::string failures;
  auto fail = [&](const std::string& endpoint, const std::string& why) {
    failures += (failures.empty() ? "" : "; ") + endpoint + ": " + why;
  };
  auto unavailable = [&](const std::string& extra) {
    return StoreUnavailable("etcd store " + endpointList() + " unavailable: POST " + path + ": " + failures + extra);
  };

  for (size_t attempt = 0; attempt < endpoints_.size(); ++attempt) {
    const size_t index = (start + attempt) % endpoints_.size();
    const std::string& endpoint = endpoints_[index];
    if (attempt > 0) ++failovers_;
    const std::string url = endpoint + path;
    std::string response;
    char error[CURL_ERROR_SIZE] = {};
    CURL* curl = acquire();
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    long sentBytes = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &sentBytes);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
    if (rc != CURLE_OK) {
      // A handle whose transfer failed may hold a broken connection: do not pool it.
      curl_easy_cleanup(curl);
      fail(endpoint, std::string(curl_easy_strerror(rc)) + (error[0] ? std::string(" (") + error + ")" : ""));
      if (sentBytes > 0 && retry == Retry::OnlyUnsent) {
        throw unavailable(" (the request was sent; whether it was applied is unknown)");
      }
      continue;
    }
    release(curl);

    nlohmann::json json;
    // Streaming calls answer one JSON object per line; one request gets one line.
    size_t line = response.find('\n');
    std::string_view text(response.data(), line == std::string::npos ? response.size() : line);
    try {
      json = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
      fail(endpoint, "HTTP " + std::to_string(status) + " with a body that is not JSON: " + snippet(response));
      if (retry == Retry::OnlyUnsent) throw unavailable("");
      continue;
    }
    if (!json.is_object()) {
      fail(endpoint, "HTTP " + std::to_string(status) + " with a body that is not a JSON object: " + snippet(response));
      if (retry == Retry::OnlyUnsent) throw unavailable("");
      continue;
    }
    GatewayError e = gatewayError(json);
    if (e.code == 0 && status != 200) {
      e = {2, "HTTP " + std::to_string(status) + ": " + snippet(response)};
    }
    if (e.code == 0) {
      if (index != start) preferred_.store(index);
      return json;
    }
    if (e.code == 5 && e.message.find("lease not found") != std::string::npos) {
      throw LeaseNotFound("etcd store " + endpointList() + ": " + e.message);
    }
    if (e.code == 11) throw RevisionCompacted("etcd store " + endpointList() + ": " + e.message);
    if (e.code == 3) {
      throw std::invalid_argument("etcd store " + endpointList() + ": POST " + path + " refused: " + e.message);
    }
    if (!isTransient(e.code)) {
      throw std::runtime_error("etcd store " + endpointList() + ": POST " + path + " refused (code " +
                               std::to_string(e.code) + "): " + e.message);
    }
    fail(endpoint, e.message);
    if (retry == Retry::OnlyUnsent) throw unavailable("");
  }
  throw unavailable("");
}

}  // namespace cnikit::store::etcd
