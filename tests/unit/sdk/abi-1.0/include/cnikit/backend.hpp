#pragma once
// Header-only C++ side of the backend ABI (backend.h). A backend is an ordinary class:
//
//   class MyBackend {
//    public:
//     explicit MyBackend(const cnikit::sdk::CreateArgs& args);
//     cnikit::sdk::PodResult podAdd(const cnikit::sdk::PodRequest& request);
//     void podDel(const cnikit::sdk::PodRequest& request);
//     void podCheck(const cnikit::sdk::PodRequest& request);
//   };
//   CNIKIT_BACKEND(MyBackend, "my-backend", "0.1.0")
//
// Every method but the constructor is optional; the ones present decide the capability
// tables (all methods of a capability or none):
//   pod:        PodResult podAdd(const PodRequest&); void podDel(const PodRequest&);
//               void podCheck(const PodRequest&)
//   node:       std::string localNodeData(); void nodeUpsert(const NodeInfo&);
//               void nodeRemove(const std::string& nodeName)
//   policy:     void endpointPolicySet(const std::string& endpointId, const std::string& rulesJson);
//               void endpointPolicyClear(const std::string& endpointId)
//   service:    void serviceUpsert(const std::string& serviceJson);
//               void serviceDelete(const std::string& serviceKey)
//   encryption: std::string localPublicKey(); void peerKeySet(const std::string& nodeName,
//               const std::string& publicKey)
//   flows:      void flowsEnable(bool enabled)
//   status:     std::string statusJson()   (JSON text; "{}" when absent)
//
// Errors: throw cnikit::sdk::Error(status, message) to return that status; any other
// exception becomes CNIKIT_ERR_INTERNAL with its what() as the last error. Nothing escapes
// the boundary. The class must be safe for concurrent calls for different containers.
//
// Build with -fvisibility=hidden (cnikit_add_backend does): the only exported symbol is
// the entry point CNIKIT_BACKEND defines.
#include <cnikit/backend.h>

#include <concepts>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cnikit::sdk {

using LogLevel = cnikit_log_level;
using MetricKind = cnikit_metric_kind;

// Throw to fail a call with a specific status; what() becomes the backend's last_error.
class Error : public std::runtime_error {
 public:
  Error(cnikit_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  cnikit_status status() const noexcept { return status_; }

 private:
  cnikit_status status_;
};

// The services the host offers (logging, metrics, flow events, scoped store). Cheap to
// copy; valid for the lifetime of the backend instance it was given to. A default-made
// Host (e.g. in a backend's own unit tests) drops logs/metrics/flows and refuses store
// calls with CNIKIT_ERR_UNSUPPORTED.
class Host {
 public:
  Host() = default;
  // cb must be a host-provided table of at least sizeof(cnikit_host_callbacks) bytes.
  explicit Host(const cnikit_host_callbacks* cb) {
    if (cb != nullptr) {
      cb_ = *cb;
      connected_ = true;
    }
  }

  bool connected() const noexcept { return connected_; }

  void log(LogLevel level, const std::string& message) const noexcept {
    if (connected_ && cb_.log) cb_.log(cb_.host_ctx, level, message.c_str());
  }
  void debug(const std::string& message) const noexcept { log(CNIKIT_LOG_DEBUG, message); }
  void info(const std::string& message) const noexcept { log(CNIKIT_LOG_INFO, message); }
  void warn(const std::string& message) const noexcept { log(CNIKIT_LOG_WARN, message); }
  void error(const std::string& message) const noexcept { log(CNIKIT_LOG_ERROR, message); }

  // Returns an id >= 0, or -1 when the host refused (bad name, kind clash, no host).
  int32_t registerMetric(const std::string& name, const std::string& help, MetricKind kind) const noexcept {
    if (!connected_ || !cb_.metric_register) return -1;
    return cb_.metric_register(cb_.host_ctx, name.c_str(), help.c_str(), kind);
  }
  void metricAdd(int32_t id, double value) const noexcept {
    if (connected_ && cb_.metric_add && id >= 0) cb_.metric_add(cb_.host_ctx, id, value);
  }
  void metricSet(int32_t id, double value) const noexcept {
    if (connected_ && cb_.metric_set && id >= 0) cb_.metric_set(cb_.host_ctx, id, value);
  }

  // Fills event.size itself.
  void emitFlow(cnikit_flow_event event) const noexcept {
    event.size = sizeof(cnikit_flow_event);
    if (connected_ && cb_.flow_emit) cb_.flow_emit(cb_.host_ctx, &event);
  }

  // Keys are relative to this instance's store scope. std::nullopt for a missing key;
  // throws Error with the host's status for anything else (e.g. CNIKIT_ERR_TRY_AGAIN).
  std::optional<std::string> storeGet(const std::string& key) const {
    requireStore("store_get", key);
    const char* value = nullptr;
    size_t len = 0;
    cnikit_status st = cb_.store_get(cb_.host_ctx, key.c_str(), &value, &len);
    if (st == CNIKIT_ERR_NOT_FOUND) return std::nullopt;
    check(st, "store_get", key);
    return std::string(value ? value : "", value ? len : 0);
  }
  void storePut(const std::string& key, std::string_view value) const {
    requireStore("store_put", key);
    check(cb_.store_put(cb_.host_ctx, key.c_str(), value.data(), value.size()), "store_put", key);
  }
  // Deleting a missing key is not an error.
  void storeDelete(const std::string& key) const {
    requireStore("store_delete", key);
    cnikit_status st = cb_.store_delete(cb_.host_ctx, key.c_str());
    if (st != CNIKIT_ERR_NOT_FOUND) check(st, "store_delete", key);
  }
  // (relative key, value) for every key under prefix, in key order.
  std::vector<std::pair<std::string, std::string>> storeList(const std::string& prefix) const {
    requireStore("store_list", prefix);
    std::vector<std::pair<std::string, std::string>> out;
    struct Collector {
      std::vector<std::pair<std::string, std::string>>* out;
      bool failed = false;
    } collector{&out};
    auto each = [](void* user, const char* key, const char* value, size_t len) {
      auto* c = static_cast<Collector*>(user);
      try {
        c->out->emplace_back(key ? key : "", std::string(value ? value : "", value ? len : 0));
      } catch (...) {
        c->failed = true;  // never throw through the host's C frames
      }
    };
    check(cb_.store_list(cb_.host_ctx, prefix.c_str(), each, &collector), "store_list", prefix);
    if (collector.failed) throw Error(CNIKIT_ERR_INTERNAL, "store_list '" + prefix + "': out of memory");
    return out;
  }

 private:
  void requireStore(const char* op, const std::string& key) const {
    if (!connected_) throw Error(CNIKIT_ERR_UNSUPPORTED, std::string(op) + " '" + key + "': no host store");
  }
  static void check(cnikit_status st, const char* op, const std::string& key) {
    if (st != CNIKIT_OK)
      throw Error(st, std::string(op) + " '" + key + "' failed with status " + std::to_string(static_cast<int>(st)));
  }

  cnikit_host_callbacks cb_{};
  bool connected_ = false;
};

struct CreateArgs {
  std::string instanceName;
  std::string nodeName;
  std::string optionsJson;  // the instance's options object, JSON text ("{}" when none)
  std::string stateDir;
  Host host;
  // The node's underlay (the interface that reaches other nodes); "" / 0 when unknown.
  std::string underlayInterface;
  std::string underlayIpv4;
  std::string underlayIpv6;
  uint32_t underlayMtu = 0;
};

struct IpConfig {
  int family = 0;        // AF_INET / AF_INET6
  std::string address;   // "10.244.1.5/24"
  std::string gateway;   // "" when none
  std::string subnet;    // "10.244.1.0/24"
  std::string poolCidr;  // "10.244.0.0/16"
};

struct PodRequest {
  std::string containerId;
  std::string netns;  // may be "" for DEL
  std::string ifname;
  std::string podNamespace;
  std::string podName;
  std::vector<IpConfig> ips;
  std::string mac;    // "" = any
  uint32_t mtu = 0;   // 0 = backend default
  std::string pool;
};

struct PodResult {
  std::string hostIfname;  // at most 15 characters
  std::string hostMac;
  std::string containerIfname;
  std::string containerMac;
  uint32_t mtu = 0;
};

struct NodeInfo {
  std::string name;
  std::string underlayIpv4;
  std::string underlayIpv6;
  std::vector<std::string> subnets;
  std::string backendDataJson;
};

// The machinery is hidden so that it is not exported even when a backend forgets
// -fvisibility=hidden (cnikit_add_backend also links with a version script).
#if defined(__GNUC__)
#pragma GCC visibility push(hidden)
#endif
namespace detail {

// ---- which optional methods a class has -------------------------------------------------
// "Declares" = a member of that name exists (or is callable with the expected arguments);
// "Valid" = it has the documented signature. Declares && !Valid is a compile error below.

template <class T>
concept DeclaresPodAdd = requires { &T::podAdd; } || requires(T& t, const PodRequest& r) { t.podAdd(r); };
template <class T>
concept ValidPodAdd = requires(T& t, const PodRequest& r) {
  { t.podAdd(r) } -> std::same_as<PodResult>;
};
template <class T>
concept DeclaresPodDel = requires { &T::podDel; } || requires(T& t, const PodRequest& r) { t.podDel(r); };
template <class T>
concept ValidPodDel = requires(T& t, const PodRequest& r) {
  { t.podDel(r) } -> std::same_as<void>;
};
template <class T>
concept DeclaresPodCheck = requires { &T::podCheck; } || requires(T& t, const PodRequest& r) { t.podCheck(r); };
template <class T>
concept ValidPodCheck = requires(T& t, const PodRequest& r) {
  { t.podCheck(r) } -> std::same_as<void>;
};

template <class T>
concept DeclaresStatusJson = requires { &T::statusJson; } || requires(T& t) { t.statusJson(); };
template <class T>
concept ValidStatusJson = requires(T& t) {
  { t.statusJson() } -> std::convertible_to<std::string>;
};

template <class T>
concept DeclaresLocalNodeData = requires { &T::localNodeData; } || requires(T& t) { t.localNodeData(); };
template <class T>
concept ValidLocalNodeData = requires(T& t) {
  { t.localNodeData() } -> std::convertible_to<std::string>;
};
template <class T>
concept DeclaresNodeUpsert = requires { &T::nodeUpsert; } || requires(T& t, const NodeInfo& n) { t.nodeUpsert(n); };
template <class T>
concept ValidNodeUpsert = requires(T& t, const NodeInfo& n) {
  { t.nodeUpsert(n) } -> std::same_as<void>;
};
template <class T>
concept DeclaresNodeRemove =
    requires { &T::nodeRemove; } || requires(T& t, const std::string& s) { t.nodeRemove(s); };
template <class T>
concept ValidNodeRemove = requires(T& t, const std::string& s) {
  { t.nodeRemove(s) } -> std::same_as<void>;
};

template <class T>
concept DeclaresEndpointPolicySet = requires { &T::endpointPolicySet; } ||
                                    requires(T& t, const std::string& s) { t.endpointPolicySet(s, s); };
template <class T>
concept ValidEndpointPolicySet = requires(T& t, const std::string& s) {
  { t.endpointPolicySet(s, s) } -> std::same_as<void>;
};
template <class T>
concept DeclaresEndpointPolicyClear = requires { &T::endpointPolicyClear; } ||
                                      requires(T& t, const std::string& s) { t.endpointPolicyClear(s); };
template <class T>
concept ValidEndpointPolicyClear = requires(T& t, const std::string& s) {
  { t.endpointPolicyClear(s) } -> std::same_as<void>;
};

template <class T>
concept DeclaresServiceUpsert =
    requires { &T::serviceUpsert; } || requires(T& t, const std::string& s) { t.serviceUpsert(s); };
template <class T>
concept ValidServiceUpsert = requires(T& t, const std::string& s) {
  { t.serviceUpsert(s) } -> std::same_as<void>;
};
template <class T>
concept DeclaresServiceDelete =
    requires { &T::serviceDelete; } || requires(T& t, const std::string& s) { t.serviceDelete(s); };
template <class T>
concept ValidServiceDelete = requires(T& t, const std::string& s) {
  { t.serviceDelete(s) } -> std::same_as<void>;
};

template <class T>
concept DeclaresLocalPublicKey = requires { &T::localPublicKey; } || requires(T& t) { t.localPublicKey(); };
template <class T>
concept ValidLocalPublicKey = requires(T& t) {
  { t.localPublicKey() } -> std::convertible_to<std::string>;
};
template <class T>
concept DeclaresPeerKeySet =
    requires { &T::peerKeySet; } || requires(T& t, const std::string& s) { t.peerKeySet(s, s); };
template <class T>
concept ValidPeerKeySet = requires(T& t, const std::string& s) {
  { t.peerKeySet(s, s) } -> std::same_as<void>;
};

template <class T>
concept DeclaresFlowsEnable = requires { &T::flowsEnable; } || requires(T& t, bool b) { t.flowsEnable(b); };
template <class T>
concept ValidFlowsEnable = requires(T& t, bool b) {
  { t.flowsEnable(b) } -> std::same_as<void>;
};

// A capability is present when any of its methods is; then all of them must be.
template <class T>
inline constexpr bool kHasPod = DeclaresPodAdd<T> || DeclaresPodDel<T> || DeclaresPodCheck<T>;
template <class T>
inline constexpr bool kHasNode = DeclaresLocalNodeData<T> || DeclaresNodeUpsert<T> || DeclaresNodeRemove<T>;
template <class T>
inline constexpr bool kHasPolicy = DeclaresEndpointPolicySet<T> || DeclaresEndpointPolicyClear<T>;
template <class T>
inline constexpr bool kHasService = DeclaresServiceUpsert<T> || DeclaresServiceDelete<T>;
template <class T>
inline constexpr bool kHasEncryption = DeclaresLocalPublicKey<T> || DeclaresPeerKeySet<T>;
template <class T>
inline constexpr bool kHasFlows = DeclaresFlowsEnable<T>;

template <class T>
consteval bool checkBackendClass() {
  static_assert(std::is_constructible_v<T, const CreateArgs&>,
                "cnikit: a backend class needs a constructor `explicit T(const cnikit::sdk::CreateArgs&)`");

  static_assert(!DeclaresPodAdd<T> || ValidPodAdd<T>,
                "cnikit: podAdd must be `cnikit::sdk::PodResult podAdd(const cnikit::sdk::PodRequest&)`");
  static_assert(!DeclaresPodDel<T> || ValidPodDel<T>,
                "cnikit: podDel must be `void podDel(const cnikit::sdk::PodRequest&)`");
  static_assert(!DeclaresPodCheck<T> || ValidPodCheck<T>,
                "cnikit: podCheck must be `void podCheck(const cnikit::sdk::PodRequest&)`");
  static_assert(!kHasPod<T> || (DeclaresPodAdd<T> && DeclaresPodDel<T> && DeclaresPodCheck<T>),
                "cnikit: the pod capability needs all of podAdd, podDel and podCheck");

  static_assert(!DeclaresStatusJson<T> || ValidStatusJson<T>, "cnikit: statusJson must be `std::string statusJson()`");

  static_assert(!DeclaresLocalNodeData<T> || ValidLocalNodeData<T>,
                "cnikit: localNodeData must be `std::string localNodeData()`");
  static_assert(!DeclaresNodeUpsert<T> || ValidNodeUpsert<T>,
                "cnikit: nodeUpsert must be `void nodeUpsert(const cnikit::sdk::NodeInfo&)`");
  static_assert(!DeclaresNodeRemove<T> || ValidNodeRemove<T>,
                "cnikit: nodeRemove must be `void nodeRemove(const std::string& nodeName)`");
  static_assert(!kHasNode<T> || (DeclaresLocalNodeData<T> && DeclaresNodeUpsert<T> && DeclaresNodeRemove<T>),
                "cnikit: the node capability needs all of localNodeData, nodeUpsert and nodeRemove");

  static_assert(!DeclaresEndpointPolicySet<T> || ValidEndpointPolicySet<T>,
                "cnikit: endpointPolicySet must be `void endpointPolicySet(const std::string& endpointId, const "
                "std::string& rulesJson)`");
  static_assert(!DeclaresEndpointPolicyClear<T> || ValidEndpointPolicyClear<T>,
                "cnikit: endpointPolicyClear must be `void endpointPolicyClear(const std::string& endpointId)`");
  static_assert(!kHasPolicy<T> || (DeclaresEndpointPolicySet<T> && DeclaresEndpointPolicyClear<T>),
                "cnikit: the policy capability needs both endpointPolicySet and endpointPolicyClear");

  static_assert(!DeclaresServiceUpsert<T> || ValidServiceUpsert<T>,
                "cnikit: serviceUpsert must be `void serviceUpsert(const std::string& serviceJson)`");
  static_assert(!DeclaresServiceDelete<T> || ValidServiceDelete<T>,
                "cnikit: serviceDelete must be `void serviceDelete(const std::string& serviceKey)`");
  static_assert(!kHasService<T> || (DeclaresServiceUpsert<T> && DeclaresServiceDelete<T>),
                "cnikit: the service capability needs both serviceUpsert and serviceDelete");

  static_assert(!DeclaresLocalPublicKey<T> || ValidLocalPublicKey<T>,
                "cnikit: localPublicKey must be `std::string localPublicKey()`");
  static_assert(!DeclaresPeerKeySet<T> || ValidPeerKeySet<T>,
                "cnikit: peerKeySet must be `void peerKeySet(const std::string& nodeName, const std::string& "
                "publicKey)`");
  static_assert(!kHasEncryption<T> || (DeclaresLocalPublicKey<T> && DeclaresPeerKeySet<T>),
                "cnikit: the encryption capability needs both localPublicKey and peerKeySet");

  static_assert(!DeclaresFlowsEnable<T> || ValidFlowsEnable<T>,
                "cnikit: flowsEnable must be `void flowsEnable(bool enabled)`");
  return true;
}

// ---- per-handle state ---------------------------------------------------------------------
// Strings returned to the host stay valid until the next call on the handle. Calls may come
// from several threads at once, so each thread gets its own slots: a host reading last_error
// right after a failed call on the same thread always sees that call's message.
struct Slots {
  std::string lastError;
  std::string statusJson;
  std::string nodeData;
  std::string publicKey;
};

template <class T>
struct Handle {
  Host host;
  std::unique_ptr<T> object;
  std::mutex mutex;
  std::unordered_map<std::thread::id, Slots> slots;

  Slots& mine() {
    std::lock_guard lock(mutex);
    return slots[std::this_thread::get_id()];  // element references survive rehashing
  }
};

// create has no handle yet: its message is kept per thread and read with last_error(NULL).
inline std::string& createError() {
  static thread_local std::string message;
  return message;
}

template <class T>
Handle<T>* handleOf(cnikit_backend* b) {
  return reinterpret_cast<Handle<T>*>(b);
}

inline std::string str(const char* s) { return s ? std::string(s) : std::string(); }

// Struct that starts with its size: at least the size this SDK knows, and any unknown tail
// zero.
template <class S>
void checkStruct(const S* s, const char* what) {
  if (s == nullptr) throw Error(CNIKIT_ERR_INVALID_ARGUMENT, std::string(what) + " is NULL");
  if (s->size < sizeof(S))
    throw Error(CNIKIT_ERR_INVALID_ARGUMENT, std::string(what) + " has size " + std::to_string(s->size) +
                                                 ", smaller than the " + std::to_string(sizeof(S)) +
                                                 " bytes of cnikit ABI " + std::to_string(CNIKIT_ABI_MAJOR) + "." +
                                                 std::to_string(CNIKIT_ABI_MINOR));
  if (!cnikit_struct_tail_is_zero(s, sizeof(S)))
    throw Error(CNIKIT_ERR_INVALID_ARGUMENT,
                std::string(what) + " has non-zero fields beyond what cnikit ABI " + std::to_string(CNIKIT_ABI_MAJOR) +
                    "." + std::to_string(CNIKIT_ABI_MINOR) + " knows (" + std::to_string(sizeof(S)) + " of " +
                    std::to_string(s->size) + " bytes)");
}

inline PodRequest toPodRequest(const cnikit_pod_request* req) {
  checkStruct(req, "cnikit_pod_request");
  PodRequest r;
  r.containerId = str(req->container_id);
  r.netns = str(req->netns);
  r.ifname = str(req->ifname);
  r.podNamespace = str(req->pod_namespace);
  r.podName = str(req->pod_name);
  if (req->n_ips > 0 && req->ips == nullptr)
    throw Error(CNIKIT_ERR_INVALID_ARGUMENT, "cnikit_pod_request: n_ips > 0 but ips is NULL");
  // A newer host sends bigger elements: step by the size the sender wrote.
  const auto* base = reinterpret_cast<const unsigned char*>(req->ips);
  const size_t stride = req->n_ips > 0 ? req->ips[0].size : 0;
  for (size_t i = 0; i < req->n_ips; ++i) {
    const auto* ip = reinterpret_cast<const cnikit_ip_config*>(base + i * stride);
    checkStruct(ip, "cnikit_ip_config");
    if (ip->size != stride)
      throw Error(CNIKIT_ERR_INVALID_ARGUMENT, "cnikit_pod_request: ips[] elements differ in size");
    r.ips.push_back(IpConfig{ip->family, str(ip->address), str(ip->gateway), str(ip->subnet), str(ip->pool_cidr)});
  }
  r.mac = str(req->mac);
  r.mtu = req->mtu;
  r.pool = str(req->pool);
  return r;
}

inline void copyField(char* dst, size_t cap, const std::string& src, const char* field) {
  if (src.size() >= cap)
    throw Error(CNIKIT_ERR_INTERNAL, std::string("pod_add result ") + field + " '" + src + "' is longer than " +
                                         std::to_string(cap - 1) + " characters");
  std::memcpy(dst, src.c_str(), src.size() + 1);
}

inline void fromPodResult(const PodResult& r, cnikit_pod_result* out) {
  copyField(out->host_ifname, sizeof(out->host_ifname), r.hostIfname, "hostIfname");
  copyField(out->host_mac, sizeof(out->host_mac), r.hostMac, "hostMac");
  copyField(out->container_ifname, sizeof(out->container_ifname), r.containerIfname, "containerIfname");
  copyField(out->container_mac, sizeof(out->container_mac), r.containerMac, "containerMac");
  out->mtu = r.mtu;
}

inline NodeInfo toNodeInfo(const cnikit_node_info* n) {
  checkStruct(n, "cnikit_node_info");
  NodeInfo info;
  info.name = str(n->name);
  info.underlayIpv4 = str(n->underlay_ipv4);
  info.underlayIpv6 = str(n->underlay_ipv6);
  if (n->n_subnets > 0 && n->subnets == nullptr)
    throw Error(CNIKIT_ERR_INVALID_ARGUMENT, "cnikit_node_info: n_subnets > 0 but subnets is NULL");
  for (size_t i = 0; i < n->n_subnets; ++i) info.subnets.push_back(str(n->subnets[i]));
  info.backendDataJson = n->backend_data_json ? n->backend_data_json : "{}";
  return info;
}

inline std::string jsonEscape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

// Runs f, turning every exception into a status and a message stored by setError.
template <class SetError, class F>
cnikit_status guarded(const char* op, SetError&& setError, F&& f) noexcept {
  try {
    try {
      f();
      return CNIKIT_OK;
    } catch (const Error& e) {
      setError(e.what());
      return e.status();
    } catch (const std::exception& e) {
      setError(e.what());
      return CNIKIT_ERR_INTERNAL;
    } catch (...) {
      setError(std::string("unknown exception in ") + op);
      return CNIKIT_ERR_INTERNAL;
    }
  } catch (...) {
    return CNIKIT_ERR_INTERNAL;  // storing the message failed (out of memory)
  }
}

template <class T, class F>
cnikit_status onHandle(cnikit_backend* b, const char* op, F&& f) noexcept {
  if (b == nullptr) return CNIKIT_ERR_INVALID_ARGUMENT;
  Handle<T>* h = handleOf<T>(b);
  return guarded(op, [h](const std::string& m) { h->mine().lastError = m; }, [&] { f(*h->object); });
}

// ---- the C functions, one set per backend class ----------------------------------------
template <class T>
struct Api {
  static cnikit_status create(const cnikit_create_args* args, cnikit_backend** out) noexcept {
    if (out == nullptr) return CNIKIT_ERR_INVALID_ARGUMENT;
    *out = nullptr;
    return guarded("create", [](const std::string& m) { createError() = m; }, [&] {
      checkStruct(args, "cnikit_create_args");
      checkStruct(args->host, "cnikit_host_callbacks");
      auto h = std::make_unique<Handle<T>>();
      h->host = Host(args->host);
      CreateArgs a{str(args->instance_name),
                   str(args->node_name),
                   args->options_json ? args->options_json : "{}",
                   str(args->state_dir),
                   h->host,
                   str(args->underlay_interface),
                   str(args->underlay_ipv4),
                   str(args->underlay_ipv6),
                   args->underlay_mtu};
      h->object = std::make_unique<T>(a);
      *out = reinterpret_cast<cnikit_backend*>(h.release());
    });
  }

  static void destroy(cnikit_backend* b) noexcept {
    if (b == nullptr) return;
    try {
      delete handleOf<T>(b);
    } catch (...) {
      // A throwing destructor must not cross the boundary; nothing else can be done.
    }
  }

  static const char* lastError(cnikit_backend* b) noexcept {
    try {
      if (b == nullptr) return createError().c_str();
      return handleOf<T>(b)->mine().lastError.c_str();
    } catch (...) {
      return "out of memory";
    }
  }

  static const char* statusJson(cnikit_backend* b) noexcept {
    if (b == nullptr) return "{}";
    Handle<T>* h = handleOf<T>(b);
    try {
      Slots& s = h->mine();
      if constexpr (DeclaresStatusJson<T>) {
        try {
          s.statusJson = h->object->statusJson();
        } catch (const std::exception& e) {
          s.statusJson = "{\"error\":\"" + jsonEscape(e.what()) + "\"}";
        } catch (...) {
          s.statusJson = "{\"error\":\"unknown exception in statusJson\"}";
        }
      } else {
        s.statusJson = "{}";
      }
      return s.statusJson.c_str();
    } catch (...) {
      return "{\"error\":\"out of memory\"}";
    }
  }

  static cnikit_status podAdd(cnikit_backend* b, const cnikit_pod_request* req, cnikit_pod_result* out) noexcept {
    if constexpr (kHasPod<T>) {
      return onHandle<T>(b, "pod_add", [&](T& t) {
        if (out == nullptr) throw Error(CNIKIT_ERR_INVALID_ARGUMENT, "pod_add: result pointer is NULL");
        if (out->size < sizeof(cnikit_pod_result))
          throw Error(CNIKIT_ERR_INVALID_ARGUMENT, "pod_add: cnikit_pod_result has size " + std::to_string(out->size) +
                                                       ", smaller than " + std::to_string(sizeof(cnikit_pod_result)));
        PodRequest r = toPodRequest(req);
        PodResult result = t.podAdd(r);
        fromPodResult(result, out);
      });
    } else {
      return CNIKIT_ERR_UNSUPPORTED;
    }
  }
  static cnikit_status podDel(cnikit_backend* b, const cnikit_pod_request* req) noexcept {
    if constexpr (kHasPod<T>) {
      return onHandle<T>(b, "pod_del", [&](T& t) { t.podDel(toPodRequest(req)); });
    } else {
      return CNIKIT_ERR_UNSUPPORTED;
    }
  }
  static cnikit_status podCheck(cnikit_backend* b, const cnikit_pod_request* req) noexcept {
    if constexpr (kHasPod<T>) {
      return onHandle<T>(b, "pod_check", [&](T& t) { t.podCheck(toPodRequest(req)); });
    } else {
      return CNIKIT_ERR_UNSUPPORTED;
    }
  }

  // Returns NULL on failure (message in last_error).
  static const char* localNodeData(cnikit_backend* b) noexcept {
    if constexpr (kHasNode<T>) {
      const char* result = nullptr;
      onHandle<T>(b, "local_node_data", [&](T& t) {
        Slots& s = handleOf<T>(b)->mine();
        s.nodeData = t.localNodeData();
        result = s.nodeData.c_str();
      });
      return result;
    } else {
      return nullptr;
    }
  }
  static cnikit_status nodeUpsert(cnikit_backend* b, const cnikit_node_info* node) noexcept {
    if constexpr (kHasNode<T>) {
      return onHandle<T>(b, "node_upsert", [&](T& t) { t.nodeUpsert(toNodeInfo(node)); });
    } else {
      return CNIKIT_ERR_UNSUPPORTED;
    }
  }
  static cnikit_status nodeRemove(cnikit_backend* b, const char* nodeName) noexcept {
    if constexpr (kHasNode<T>) {
      return onHandle<T>(b, "node_remove", [&](T& t) { t.nodeRemove(str(nodeName)); });
    } else {
      return CNIKIT_ERR_UNSUPPORTED;
    }
  }

  static cnikit_status endpointPolicySet(cnikit_backend* b, const char* id, const char* rules) noexcept {
    if constexpr (kHasPolicy<T>) {
      return onHandle<T>(b, "endpoint_policy_set", [&](T& t) { t.endpointPolicySet(str(id), str(rules)); });
    } else {
      return CNIKIT_ERR_UNSUPPORTED;
    }
  }
  static cnikit_status endpointPolicyClear(cnikit_backend* b, const char* id) noexcept {
    if constexpr (kHasPolicy<T>) {
      return onHandle<T>(b, "endpoint_policy_clear", [&](T& t) { t.endpointPolicyClear(str(id)); });
    } else {
      return CNIKIT_ERR_UNSUPPORTED;
    }
  }

  static cnikit_status serviceUpsert(cnikit_backend* b, const char* json) noexcept {
    if constexpr (kHasService<T>) {
      return onHandle<T>(b, "service_upsert", [&](T& t) { t.serviceUpsert(str(json)); });
    } else {
      return CNIKIT_ERR_UNSUPPORTED;
    }
  }
  static cnikit_status serviceDelete(cnikit_backend* b, const char* key) noexcept {
    if constexpr (kHasService<T>) {
      return onHandle<T>(b, "service_delete", [&](T& t) { t.serviceDelete(str(key)); });
    } else {
      return CNIKIT_ERR_UNSUPPORTED;
    }
  }

  // Returns NULL on failure (message in last_error).
  static const char* localPublicKey(cnikit_backend* b) noexcept {
    if constexpr (kHasEncryption<T>) {
      const char* result = nullptr;
      onHandle<T>(b, "local_public_key", [&](T& t) {
        Slots& s = handleOf<T>(b)->mine();
        s.publicKey = t.localPublicKey();
        result = s.publicKey.c_str();
      });
      return result;
    } else {
      return nullptr;
    }
  }
  static cnikit_status peerKeySet(cnikit_backend* b, const char* node, const char* key) noexcept {
    if constexpr (kHasEncryption<T>) {
      return onHandle<T>(b, "peer_key_set", [&](T& t) { t.peerKeySet(str(node), str(key)); });
    } else {
      return CNIKIT_ERR_UNSUPPORTED;
    }
  }

  static cnikit_status flowsEnable(cnikit_backend* b, int32_t enabled) noexcept {
    if constexpr (kHasFlows<T>) {
      return onHandle<T>(b, "flows_enable", [&](T& t) { t.flowsEnable(enabled != 0); });
    } else {
      return CNIKIT_ERR_UNSUPPORTED;
    }
  }

  static inline const cnikit_pod_ops kPodOps{sizeof(cnikit_pod_ops), &podAdd, &podDel, &podCheck};
  static inline const cnikit_node_ops kNodeOps{sizeof(cnikit_node_ops), &localNodeData, &nodeUpsert, &nodeRemove};
  static inline const cnikit_policy_ops kPolicyOps{sizeof(cnikit_policy_ops), &endpointPolicySet,
                                                   &endpointPolicyClear};
  static inline const cnikit_service_ops kServiceOps{sizeof(cnikit_service_ops), &serviceUpsert, &serviceDelete};
  static inline const cnikit_encryption_ops kEncryptionOps{sizeof(cnikit_encryption_ops), &localPublicKey,
                                                           &peerKeySet};
  static inline const cnikit_flow_ops kFlowOps{sizeof(cnikit_flow_ops), &flowsEnable};
};

template <class T>
const cnikit_backend_api* backendApi(const char* name, const char* version) noexcept {
  static_assert(checkBackendClass<T>());
  using A = Api<T>;
  static const cnikit_backend_api api{
      sizeof(cnikit_backend_api),
      CNIKIT_ABI_MAJOR,
      CNIKIT_ABI_MINOR,
      name,
      version,
      &A::create,
      &A::destroy,
      &A::lastError,
      &A::statusJson,
      kHasPod<T> ? &A::kPodOps : nullptr,
      kHasNode<T> ? &A::kNodeOps : nullptr,
      kHasPolicy<T> ? &A::kPolicyOps : nullptr,
      kHasService<T> ? &A::kServiceOps : nullptr,
      kHasEncryption<T> ? &A::kEncryptionOps : nullptr,
      kHasFlows<T> ? &A::kFlowOps : nullptr,
  };
  return &api;
}

}  // namespace detail
#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

}  // namespace cnikit::sdk

// Defines the one exported symbol of a backend library. Use once, at namespace scope, in one
// source file of the backend.
#define CNIKIT_BACKEND(Class, name, version)                                                              \
  extern "C" CNIKIT_EXPORT const cnikit_backend_api* cnikit_backend_entry(uint32_t host_abi_major,       \
                                                                          uint32_t host_abi_minor);      \
  static_assert(std::is_same_v<decltype(&cnikit_backend_entry), cnikit_backend_entry_fn>,                 \
                "cnikit: entry point signature drifted from cnikit_backend_entry_fn");                    \
  extern "C" CNIKIT_EXPORT const cnikit_backend_api* cnikit_backend_entry(uint32_t host_abi_major,       \
                                                                          uint32_t host_abi_minor) {     \
    /* The host judges compatibility from the table's abi_major/abi_minor. */                            \
    (void)host_abi_major;                                                                                 \
    (void)host_abi_minor;                                                                                 \
    return ::cnikit::sdk::detail::backendApi<Class>(name, version);                                      \
  }
