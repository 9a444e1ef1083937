#pragma once
// Header-only C++ side of the backend ABI (backend.h). A backend is an ordinary class that
// declares its capabilities explicitly, one macro each (a misspelt macro does not compile):
//
//   class MyBackend : public cnikit::sdk::LifecycleDefaults {
//    public:
//     CNIKIT_PODS;                       // podAdd, podDel, podCheck
//     CNIKIT_LIFECYCLE;                  // start, shutdown, ready, configUpdate, podsSync,
//                                        // localNodeUpdate (LifecycleDefaults has them all)
//     CNIKIT_OPTIONS_SCHEMA(R"({"type":"object","additionalProperties":false})");
//     explicit MyBackend(const cnikit::sdk::CreateArgs& args);
//     cnikit::sdk::PodResult podAdd(const cnikit::sdk::PodRequest& request);
//     void podDel(const cnikit::sdk::PodRequest& request);
//     void podCheck(const cnikit::sdk::PodRequest& request);
//   };
//   CNIKIT_BACKEND(MyBackend, "my-backend", "0.1.0")
//
// Capabilities and their methods (all of a declared capability must exist, with exactly
// these signatures; a method of an undeclared capability is a compile error too):
//   CNIKIT_PODS       PodResult podAdd(const PodRequest&); void podDel(const PodRequest&);
//                     void podCheck(const PodRequest&)
//   CNIKIT_NODES      std::string localNodeData(); void nodeUpsert(const NodeInfo&);
//                     void nodeRemove(const std::string& nodeName)
//   CNIKIT_LIFECYCLE  void start(); void shutdown(ShutdownMode); Readiness ready();
//                     bool configUpdate(const std::string& optionsJson) (false = recreate me);
//                     void podsSync(const std::vector<PodRequest>&);
//                     void localNodeUpdate(const NodeInfo& self)
//   always optional:  std::string statusJson() (JSON text for cnikitctl status)
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
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

// Capability declarations, used inside the backend class body.
#define CNIKIT_PODS static constexpr bool cnikit_capability_pods = true
#define CNIKIT_NODES static constexpr bool cnikit_capability_nodes = true
#define CNIKIT_LIFECYCLE static constexpr bool cnikit_capability_lifecycle = true
// JSON Schema (draft 7) of the instance options; the agent validates options with it.
#define CNIKIT_OPTIONS_SCHEMA(json) static constexpr const char* cnikit_options_schema = json

namespace cnikit::sdk {

using LogLevel = cnikit_log_level;
using MetricKind = cnikit_metric_kind;
using ShutdownMode = cnikit_shutdown_mode;
using RestartPolicy = cnikit_restart_policy;

// Throw to fail a call with a specific status; what() becomes the backend's last_error.
class Error : public std::runtime_error {
 public:
  Error(cnikit_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  cnikit_status status() const noexcept { return status_; }

 private:
  cnikit_status status_;
};

// What ready() answers: ready, or why not (CNIKIT_ERR_TRY_AGAIN when it will come by itself).
struct Readiness {
  bool ready = true;
  std::string reason;
  cnikit_status status = CNIKIT_ERR_TRY_AGAIN;
  static Readiness yes() { return {}; }
  static Readiness notYet(std::string why) { return {false, std::move(why), CNIKIT_ERR_TRY_AGAIN}; }
};

struct StoreEvent {
  cnikit_store_event_type type = CNIKIT_STORE_PUT;
  std::string key;    // relative to the instance's scope; empty for RESET
  std::string value;  // PUT only
  int64_t revision = 0;
};

struct MetricSeries {
  std::string name;
  std::string help;
  MetricKind kind = CNIKIT_METRIC_COUNTER;
  std::map<std::string, std::string> labels;
  std::vector<double> buckets;  // histogram upper bounds; empty = host defaults
};

struct HelperSpec {
  std::string name;
  std::vector<std::string> argv;  // argv[0]: absolute path of the program
  std::string netns;              // "" = the agent's namespace
  RestartPolicy restart = CNIKIT_RESTART_ON_FAILURE;
};

// A value with the store revision it was last written at.
struct Versioned {
  std::string value;
  int64_t revision = 0;
};

// The services the host offers (logging, metrics, conditions, scoped store, helpers,
// secrets). Cheap to copy; valid for the lifetime of the backend instance it was given to.
// A default-made Host (e.g. in a backend's own unit tests) drops logs, metrics and
// conditions and refuses everything else with CNIKIT_ERR_UNSUPPORTED.
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
  // One labelled series (counter, gauge or histogram); -1 when refused.
  int32_t registerSeries(const MetricSeries& series) const {
    if (!connected_ || !cb_.metric_register_series) return -1;
    std::vector<const char*> names, values;
    for (const auto& [k, v] : series.labels) names.push_back(k.c_str()), values.push_back(v.c_str());
    cnikit_metric_spec spec{};
    spec.size = sizeof(spec);
    spec.name = series.name.c_str();
    spec.help = series.help.c_str();
    spec.kind = series.kind;
    spec.label_names = names.data();
    spec.label_values = values.data();
    spec.n_labels = names.size();
    spec.buckets = series.buckets.empty() ? nullptr : series.buckets.data();
    spec.n_buckets = series.buckets.size();
    return cb_.metric_register_series(cb_.host_ctx, &spec);
  }
  void metricAdd(int32_t id, double value) const noexcept {
    if (connected_ && cb_.metric_add && id >= 0) cb_.metric_add(cb_.host_ctx, id, value);
  }
  void metricSet(int32_t id, double value) const noexcept {
    if (connected_ && cb_.metric_set && id >= 0) cb_.metric_set(cb_.host_ctx, id, value);
  }
  void metricObserve(int32_t id, double value) const noexcept {
    if (connected_ && cb_.metric_observe && id >= 0) cb_.metric_observe(cb_.host_ctx, id, value);
  }

  void reportCondition(const std::string& type, bool ok, const std::string& message) const noexcept {
    if (connected_ && cb_.report_condition)
      cb_.report_condition(cb_.host_ctx, type.c_str(), ok ? 1 : 0, message.c_str());
  }

  // Keys are relative to this instance's store scope. std::nullopt for a missing key;
  // throws Error with the host's status for anything else (e.g. CNIKIT_ERR_TRY_AGAIN).
  std::optional<std::string> storeGet(const std::string& key) const {
    auto v = storeGetVersioned(key);
    if (!v) return std::nullopt;
    return std::move(v->value);
  }
  std::optional<Versioned> storeGetVersioned(const std::string& key) const {
    require(cb_.store_get_revision, "store_get_revision", key);
    const char* value = nullptr;
    size_t len = 0;
    int64_t revision = 0;
    cnikit_status st = cb_.store_get_revision(cb_.host_ctx, key.c_str(), &value, &len, &revision);
    if (st == CNIKIT_ERR_NOT_FOUND) return std::nullopt;
    check(st, "store_get_revision", key);
    return Versioned{std::string(value ? value : "", value ? len : 0), revision};
  }
  void storePut(const std::string& key, std::string_view value) const {
    require(cb_.store_put, "store_put", key);
    check(cb_.store_put(cb_.host_ctx, key.c_str(), value.data(), value.size()), "store_put", key);
  }
  // The new revision, or std::nullopt when the key exists already.
  std::optional<int64_t> storeCreate(const std::string& key, std::string_view value) const {
    require(cb_.store_create, "store_create", key);
    int64_t revision = 0;
    cnikit_status st = cb_.store_create(cb_.host_ctx, key.c_str(), value.data(), value.size(), &revision);
    if (st == CNIKIT_ERR_EXISTS) return std::nullopt;
    check(st, "store_create", key);
    return revision;
  }
  // The new revision, or std::nullopt when the key's revision is no longer `expected`.
  std::optional<int64_t> storeCompareAndSwap(const std::string& key, int64_t expected, std::string_view value) const {
    require(cb_.store_cas, "store_cas", key);
    int64_t revision = 0;
    cnikit_status st = cb_.store_cas(cb_.host_ctx, key.c_str(), expected, value.data(), value.size(), &revision);
    if (st == CNIKIT_ERR_CONFLICT) return std::nullopt;
    check(st, "store_cas", key);
    return revision;
  }
  // Deleting a missing key is not an error.
  void storeDelete(const std::string& key) const {
    require(cb_.store_delete, "store_delete", key);
    cnikit_status st = cb_.store_delete(cb_.host_ctx, key.c_str());
    if (st != CNIKIT_ERR_NOT_FOUND) check(st, "store_delete", key);
  }
  // (relative key, value) for every key under prefix, in key order.
  std::vector<std::pair<std::string, std::string>> storeList(const std::string& prefix) const {
    require(cb_.store_list, "store_list", prefix);
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

  // A running store watch; destroying it stops delivery (never from inside its callback).
  class Watch {
   public:
    Watch() = default;
    Watch(Watch&& o) noexcept { *this = std::move(o); }
    Watch& operator=(Watch&& o) noexcept {
      if (this != &o) {
        stop();
        cb_ = o.cb_, id_ = o.id_, callback_ = std::move(o.callback_);
        o.id_ = 0;
      }
      return *this;
    }
    ~Watch() { stop(); }
    void stop() noexcept {
      if (id_ != 0 && cb_.store_unwatch) cb_.store_unwatch(cb_.host_ctx, id_);
      id_ = 0;
    }

   private:
    friend class Host;
    cnikit_host_callbacks cb_{};
    uint64_t id_ = 0;
    std::unique_ptr<std::function<void(const StoreEvent&)>> callback_;
  };
  // Every change under prefix after fromRevision (0: every current key first), on a host
  // thread. The callback must not throw (an exception is logged and dropped).
  Watch storeWatch(const std::string& prefix, int64_t fromRevision,
                   std::function<void(const StoreEvent&)> onEvent) const {
    require(cb_.store_watch, "store_watch", prefix);
    Watch w;
    w.cb_ = cb_;
    w.callback_ = std::make_unique<std::function<void(const StoreEvent&)>>(std::move(onEvent));
    auto deliver = [](void* user, const cnikit_store_event* e) {
      try {
        StoreEvent event{e->type, e->key ? e->key : "", std::string(e->value ? e->value : "", e->value ? e->len : 0),
                         e->revision};
        (*static_cast<std::function<void(const StoreEvent&)>*>(user))(event);
      } catch (...) {
        // never throw through the host's C frames
      }
    };
    check(cb_.store_watch(cb_.host_ctx, prefix.c_str(), fromRevision, deliver, w.callback_.get(), &w.id_),
          "store_watch", prefix);
    return w;
  }

  // Starts (or adopts, after an agent restart) a supervised helper process; returns its PID.
  int64_t spawnHelper(const HelperSpec& spec) const {
    require(cb_.helper_spawn, "helper_spawn", spec.name);
    std::vector<const char*> argv;
    for (const auto& a : spec.argv) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    cnikit_helper_spec c{};
    c.size = sizeof(c);
    c.name = spec.name.c_str();
    c.argv = argv.data();
    c.netns = spec.netns.c_str();
    c.restart = spec.restart;
    int64_t pid = 0;
    check(cb_.helper_spawn(cb_.host_ctx, &c, &pid), "helper_spawn", spec.name);
    return pid;
  }
  void stopHelper(const std::string& name) const {
    require(cb_.helper_stop, "helper_stop", name);
    cnikit_status st = cb_.helper_stop(cb_.host_ctx, name.c_str());
    if (st != CNIKIT_ERR_NOT_FOUND) check(st, "helper_stop", name);
  }

  // A secret from the agent's secrets directory; std::nullopt when there is none.
  std::optional<std::string> secret(const std::string& name) const {
    require(cb_.secret_get, "secret_get", name);
    const char* value = nullptr;
    size_t len = 0;
    cnikit_status st = cb_.secret_get(cb_.host_ctx, name.c_str(), &value, &len);
    if (st == CNIKIT_ERR_NOT_FOUND) return std::nullopt;
    check(st, "secret_get", name);
    return std::string(value ? value : "", value ? len : 0);
  }

 private:
  template <class Fn>
  void require(Fn fn, const char* op, const std::string& what) const {
    if (!connected_ || fn == nullptr)
      throw Error(CNIKIT_ERR_UNSUPPORTED, std::string(op) + " '" + what + "': not offered by this host");
  }
  static void check(cnikit_status st, const char* op, const std::string& key) {
    if (st != CNIKIT_OK)
      throw Error(st, std::string(op) + " '" + key + "' failed with status " + std::to_string(static_cast<int>(st)));
  }

  cnikit_host_callbacks cb_{};
  bool connected_ = false;
};

struct PoolInfo {
  std::string name;
  std::vector<std::string> cidrs;
  std::string allocator;  // "node-subnet"
  uint32_t nodePrefixIpv4 = 0;
  uint32_t nodePrefixIpv6 = 0;
  std::string optionsJson = "{}";
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
  std::vector<PoolInfo> pools;  // the pools bound to this instance
  std::string nodeLabelsJson = "{}";
  uint32_t underlayIpv4PrefixLength = 0;  // 0 = unknown
  uint32_t underlayIpv6PrefixLength = 0;
};

struct IpConfig {
  int family = 0;                 // AF_INET / AF_INET6
  std::string address;            // "10.244.1.5/24"
  std::string gateway;            // "" when none
  std::string subnet;             // "10.244.1.0/24"
  std::string poolCidr;           // "10.244.0.0/16"
  uint8_t addressBytes[16] = {};  // network byte order, IPv4 in the first 4
  uint32_t prefixLength = 0;
  uint8_t gatewayBytes[16] = {};  // all zero when no gateway
};

struct PodRequest {
  std::string containerId;
  std::string netns;  // may be "" for DEL
  std::string ifname;
  std::string podNamespace;
  std::string podName;
  std::vector<IpConfig> ips;
  std::string mac;   // "" = any
  uint32_t mtu = 0;  // 0 = backend default
  std::string pool;
  std::string podLabelsJson = "{}";
  std::string runtimeConfigJson = "{}";
  std::string cniArgsJson = "{}";
};

struct Route {
  std::string destination;  // "10.96.0.0/12"
  std::string gateway;      // "" = on-link
};

struct Interface {
  std::string name;
  std::string mac;
  std::string sandbox;  // the pod's netns path, "" for a host interface
  uint32_t mtu = 0;
};

struct PodResult {
  std::string hostIfname;  // at most 15 characters
  std::string hostMac;
  std::string containerIfname;
  std::string containerMac;
  uint32_t mtu = 0;
  std::vector<Route> routes;          // beyond the default routes
  std::vector<Interface> interfaces;  // further interfaces
};

struct NodeInfo {
  std::string name;
  std::string underlayIpv4;
  std::string underlayIpv6;
  std::vector<std::string> subnets;
  std::string backendDataJson;
  std::string labelsJson = "{}";
  uint32_t underlayIpv4PrefixLength = 0;
  uint32_t underlayIpv6PrefixLength = 0;
};

// What the lifecycle capability does when a backend has nothing to do at a step. Derive from
// it and hide the methods you need.
struct LifecycleDefaults {
  void start() {}
  void shutdown(ShutdownMode) {}
  Readiness ready() { return Readiness::yes(); }
  bool configUpdate(const std::string&) { return false; }  // the host recreates the instance
  void podsSync(const std::vector<PodRequest>&) {}
  void localNodeUpdate(const NodeInfo&) {}
};

// The machinery is hidden so that it is not exported even when a backend forgets
// -fvisibility=hidden (cnikit_add_backend also links with a version script).
#if defined(__GNUC__)
#pragma GCC visibility push(hidden)
#endif
namespace detail {

// ---- declared capabilities and the signatures they require --------------------------------
template <class T>
concept DeclaresPods = requires {
  requires T::cnikit_capability_pods;
};
template <class T>
concept DeclaresNodes = requires {
  requires T::cnikit_capability_nodes;
};
template <class T>
concept DeclaresLifecycle = requires {
  requires T::cnikit_capability_lifecycle;
};
template <class T>
concept DeclaresSchema = requires {
  { T::cnikit_options_schema } -> std::convertible_to<const char*>;
};

template <class T>
concept HasPodMethods = requires(T& t, const PodRequest& r) {
  { t.podAdd(r) } -> std::same_as<PodResult>;
  { t.podDel(r) } -> std::same_as<void>;
  { t.podCheck(r) } -> std::same_as<void>;
};
template <class T>
concept HasNodeMethods = requires(T& t, const NodeInfo& n, const std::string& s) {
  { t.localNodeData() } -> std::convertible_to<std::string>;
  { t.nodeUpsert(n) } -> std::same_as<void>;
  { t.nodeRemove(s) } -> std::same_as<void>;
};
template <class T>
concept HasLifecycleMethods = requires(T& t, ShutdownMode m, const std::string& s, const std::vector<PodRequest>& pods,
                                       const NodeInfo& n) {
  { t.start() } -> std::same_as<void>;
  { t.shutdown(m) } -> std::same_as<void>;
  { t.ready() } -> std::same_as<Readiness>;
  { t.configUpdate(s) } -> std::same_as<bool>;
  { t.podsSync(pods) } -> std::same_as<void>;
  { t.localNodeUpdate(n) } -> std::same_as<void>;
};
// A method of a capability the class did not declare (it would never be called).
template <class T>
concept HasAnyPodMethod = requires {
  &T::podAdd;
}
|| requires { &T::podDel; }
|| requires { &T::podCheck; };
template <class T>
concept HasAnyNodeMethod = requires {
  &T::localNodeData;
}
|| requires { &T::nodeUpsert; }
|| requires { &T::nodeRemove; };
template <class T>
concept DeclaresStatusJson = requires(T& t) {
  { t.statusJson() } -> std::convertible_to<std::string>;
};
template <class T>
concept HasStatusJsonName = requires {
  &T::statusJson;
};

template <class T>
consteval bool checkBackendClass() {
  static_assert(std::is_constructible_v<T, const CreateArgs&>,
                "cnikit: a backend class needs a constructor `explicit T(const cnikit::sdk::CreateArgs&)`");
  static_assert(!DeclaresPods<T> || HasPodMethods<T>,
                "cnikit: CNIKIT_PODS needs `PodResult podAdd(const PodRequest&)`, `void podDel(const PodRequest&)` "
                "and `void podCheck(const PodRequest&)`");
  static_assert(DeclaresPods<T> || !HasAnyPodMethod<T>,
                "cnikit: the class has pod methods but does not declare CNIKIT_PODS");
  static_assert(!DeclaresNodes<T> || HasNodeMethods<T>,
                "cnikit: CNIKIT_NODES needs `std::string localNodeData()`, `void nodeUpsert(const NodeInfo&)` and "
                "`void nodeRemove(const std::string&)`");
  static_assert(DeclaresNodes<T> || !HasAnyNodeMethod<T>,
                "cnikit: the class has node methods but does not declare CNIKIT_NODES");
  static_assert(!HasStatusJsonName<T> || DeclaresStatusJson<T>,
                "cnikit: statusJson must be `std::string statusJson()`");
  static_assert(!DeclaresLifecycle<T> || HasLifecycleMethods<T>,
                "cnikit: CNIKIT_LIFECYCLE needs start, shutdown(ShutdownMode), Readiness ready(), bool "
                "configUpdate(const std::string&), podsSync(const std::vector<PodRequest>&) and localNodeUpdate(const "
                "NodeInfo&): derive from cnikit::sdk::LifecycleDefaults for the ones you do not need");
  return true;
}

// ---- strings returned to the host ---------------------------------------------------------
// Valid until the next call into the library from the same thread: one set per thread, so a
// host reading last_error right after a failed call on that thread sees that call's message,
// and nothing grows with the number of threads that ever called.
struct Slots {
  std::string lastError;
  std::string text;                  // status_json, local_node_data
  std::vector<std::string> strings;  // pod_add's routes and interfaces
  std::vector<cnikit_route> routes;
  std::vector<cnikit_interface> interfaces;
};
inline Slots& slots() {
  static thread_local Slots s;
  return s;
}

template <class T>
struct Handle {
  Host host;
  std::unique_ptr<T> object;
};

template <class T>
Handle<T>* handleOf(cnikit_backend* b) {
  return reinterpret_cast<Handle<T>*>(b);
}

inline std::string str(const char* s) { return s ? std::string(s) : std::string(); }
inline std::string json(const char* s) { return s && *s ? std::string(s) : std::string("{}"); }

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

inline std::vector<std::string> strings(const char* const* list, size_t n, const char* what) {
  if (n > 0 && list == nullptr) throw Error(CNIKIT_ERR_INVALID_ARGUMENT, std::string(what) + ": count > 0 but NULL");
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(str(list[i]));
  return out;
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
    IpConfig c{ip->family, str(ip->address), str(ip->gateway), str(ip->subnet), str(ip->pool_cidr)};
    std::memcpy(c.addressBytes, ip->address_bytes, sizeof(c.addressBytes));
    c.prefixLength = ip->prefix_length;
    std::memcpy(c.gatewayBytes, ip->gateway_bytes, sizeof(c.gatewayBytes));
    r.ips.push_back(std::move(c));
  }
  r.mac = str(req->mac);
  r.mtu = req->mtu;
  r.pool = str(req->pool);
  r.podLabelsJson = json(req->pod_labels_json);
  r.runtimeConfigJson = json(req->runtime_config_json);
  r.cniArgsJson = json(req->cni_args_json);
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
  // Routes and interfaces point into this thread's slots (valid until its next call).
  Slots& s = slots();
  s.strings.clear();
  s.routes.clear();
  s.interfaces.clear();
  s.strings.reserve(2 * r.routes.size() + 3 * r.interfaces.size());
  auto keep = [&s](const std::string& text) { return s.strings.emplace_back(text).c_str(); };
  for (const auto& route : r.routes)
    s.routes.push_back(cnikit_route{sizeof(cnikit_route), keep(route.destination), keep(route.gateway)});
  for (const auto& i : r.interfaces)
    s.interfaces.push_back(
        cnikit_interface{sizeof(cnikit_interface), keep(i.name), keep(i.mac), keep(i.sandbox), i.mtu});
  out->routes = s.routes.empty() ? nullptr : s.routes.data();
  out->n_routes = s.routes.size();
  out->interfaces = s.interfaces.empty() ? nullptr : s.interfaces.data();
  out->n_interfaces = s.interfaces.size();
}

inline NodeInfo toNodeInfo(const cnikit_node_info* n) {
  checkStruct(n, "cnikit_node_info");
  NodeInfo info;
  info.name = str(n->name);
  info.underlayIpv4 = str(n->underlay_ipv4);
  info.underlayIpv6 = str(n->underlay_ipv6);
  info.subnets = strings(n->subnets, n->n_subnets, "cnikit_node_info.subnets");
  info.backendDataJson = json(n->backend_data_json);
  info.labelsJson = json(n->labels_json);
  info.underlayIpv4PrefixLength = n->underlay_ipv4_prefix_length;
  info.underlayIpv6PrefixLength = n->underlay_ipv6_prefix_length;
  return info;
}

inline PoolInfo toPoolInfo(const cnikit_pool_info* p) {
  checkStruct(p, "cnikit_pool_info");
  return PoolInfo{str(p->name),        strings(p->cidrs, p->n_cidrs, "cnikit_pool_info.cidrs"),
                  str(p->allocator),   p->node_prefix_ipv4,
                  p->node_prefix_ipv6, json(p->options_json)};
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

// Runs f, turning every exception into a status and a message kept for last_error.
template <class F>
cnikit_status guarded(const char* op, F&& f) noexcept {
  try {
    try {
      f();
      return CNIKIT_OK;
    } catch (const Error& e) {
      slots().lastError = e.what();
      return e.status();
    } catch (const std::exception& e) {
      slots().lastError = e.what();
      return CNIKIT_ERR_INTERNAL;
    } catch (...) {
      slots().lastError = std::string("unknown exception in ") + op;
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
  return guarded(op, [&] { f(*h->object); });
}

// ---- the C functions, one set per backend class ----------------------------------------
template <class T>
struct Api {
  static cnikit_status create(const cnikit_create_args* args, cnikit_backend** out) noexcept {
    if (out == nullptr) return CNIKIT_ERR_INVALID_ARGUMENT;
    *out = nullptr;
    return guarded("create", [&] {
      checkStruct(args, "cnikit_create_args");
      checkStruct(args->host, "cnikit_host_callbacks");
      auto h = std::make_unique<Handle<T>>();
      h->host = Host(args->host);
      CreateArgs a;
      a.instanceName = str(args->instance_name);
      a.nodeName = str(args->node_name);
      a.optionsJson = json(args->options_json);
      a.stateDir = str(args->state_dir);
      a.host = h->host;
      a.underlayInterface = str(args->underlay_interface);
      a.underlayIpv4 = str(args->underlay_ipv4);
      a.underlayIpv6 = str(args->underlay_ipv6);
      a.underlayMtu = args->underlay_mtu;
      if (args->n_pools > 0 && args->pools == nullptr)
        throw Error(CNIKIT_ERR_INVALID_ARGUMENT, "cnikit_create_args: n_pools > 0 but pools is NULL");
      for (size_t i = 0; i < args->n_pools; ++i) a.pools.push_back(toPoolInfo(args->pools[i]));
      a.nodeLabelsJson = json(args->node_labels_json);
      a.underlayIpv4PrefixLength = args->underlay_ipv4_prefix_length;
      a.underlayIpv6PrefixLength = args->underlay_ipv6_prefix_length;
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

  // With b == NULL too: create's message is in the same per-thread slot.
  static const char* lastError(cnikit_backend*) noexcept { return slots().lastError.c_str(); }

  static const char* statusJson(cnikit_backend* b) noexcept {
    if (b == nullptr) return "{}";
    try {
      Slots& s = slots();
      if constexpr (DeclaresStatusJson<T>) {
        try {
          s.text = handleOf<T>(b)->object->statusJson();
        } catch (const std::exception& e) {
          s.text = "{\"error\":\"" + jsonEscape(e.what()) + "\"}";
        } catch (...) {
          s.text = "{\"error\":\"unknown exception in statusJson\"}";
        }
      } else {
        s.text = "{}";
      }
      return s.text.c_str();
    } catch (...) {
      return "{\"error\":\"out of memory\"}";
    }
  }

  static cnikit_status podAdd(cnikit_backend* b, const cnikit_pod_request* req, cnikit_pod_result* out) noexcept {
    return onHandle<T>(b, "pod_add", [&](T& t) {
      if (out == nullptr) throw Error(CNIKIT_ERR_INVALID_ARGUMENT, "pod_add: result pointer is NULL");
      if (out->size < sizeof(cnikit_pod_result))
        throw Error(CNIKIT_ERR_INVALID_ARGUMENT, "pod_add: cnikit_pod_result has size " + std::to_string(out->size) +
                                                     ", smaller than " + std::to_string(sizeof(cnikit_pod_result)));
      PodRequest r = toPodRequest(req);
      fromPodResult(t.podAdd(r), out);
    });
  }
  static cnikit_status podDel(cnikit_backend* b, const cnikit_pod_request* req) noexcept {
    return onHandle<T>(b, "pod_del", [&](T& t) { t.podDel(toPodRequest(req)); });
  }
  static cnikit_status podCheck(cnikit_backend* b, const cnikit_pod_request* req) noexcept {
    return onHandle<T>(b, "pod_check", [&](T& t) { t.podCheck(toPodRequest(req)); });
  }

  // Returns NULL on failure (message in last_error).
  static const char* localNodeData(cnikit_backend* b) noexcept {
    const char* result = nullptr;
    onHandle<T>(b, "local_node_data", [&](T& t) {
      Slots& s = slots();
      s.text = t.localNodeData();
      result = s.text.c_str();
    });
    return result;
  }
  static cnikit_status nodeUpsert(cnikit_backend* b, const cnikit_node_info* node) noexcept {
    return onHandle<T>(b, "node_upsert", [&](T& t) { t.nodeUpsert(toNodeInfo(node)); });
  }
  static cnikit_status nodeRemove(cnikit_backend* b, const char* nodeName) noexcept {
    return onHandle<T>(b, "node_remove", [&](T& t) { t.nodeRemove(str(nodeName)); });
  }

  static cnikit_status start(cnikit_backend* b) noexcept {
    return onHandle<T>(b, "start", [](T& t) { t.start(); });
  }
  static cnikit_status shutdown(cnikit_backend* b, cnikit_shutdown_mode mode) noexcept {
    return onHandle<T>(b, "shutdown", [&](T& t) {
      if (mode != CNIKIT_SHUTDOWN_KEEP_DATAPATH && mode != CNIKIT_SHUTDOWN_TEARDOWN)
        throw Error(CNIKIT_ERR_INVALID_ARGUMENT, "shutdown: unknown mode " + std::to_string(static_cast<int>(mode)));
      t.shutdown(mode);
    });
  }
  static cnikit_status ready(cnikit_backend* b) noexcept {
    cnikit_status status = CNIKIT_OK;
    cnikit_status st = onHandle<T>(b, "ready", [&](T& t) {
      Readiness r = t.ready();
      if (r.ready) return;
      status = r.status == CNIKIT_OK ? CNIKIT_ERR_TRY_AGAIN : r.status;
      slots().lastError = r.reason.empty() ? "not ready" : r.reason;
    });
    return st != CNIKIT_OK ? st : status;
  }
  static cnikit_status configUpdate(cnikit_backend* b, const char* optionsJson) noexcept {
    bool applied = true;
    cnikit_status st = onHandle<T>(b, "config_update", [&](T& t) { applied = t.configUpdate(json(optionsJson)); });
    if (st == CNIKIT_OK && !applied) {
      slots().lastError = "config_update: this backend applies option changes by being recreated";
      return CNIKIT_ERR_UNSUPPORTED;
    }
    return st;
  }
  static cnikit_status podsSync(cnikit_backend* b, const cnikit_pod_request* const* pods, size_t n) noexcept {
    return onHandle<T>(b, "pods_sync", [&](T& t) {
      if (n > 0 && pods == nullptr) throw Error(CNIKIT_ERR_INVALID_ARGUMENT, "pods_sync: n > 0 but pods is NULL");
      std::vector<PodRequest> list;
      list.reserve(n);
      for (size_t i = 0; i < n; ++i) list.push_back(toPodRequest(pods[i]));
      t.podsSync(list);
    });
  }
  static cnikit_status localNodeUpdate(cnikit_backend* b, const cnikit_node_info* self) noexcept {
    return onHandle<T>(b, "local_node_update", [&](T& t) { t.localNodeUpdate(toNodeInfo(self)); });
  }

  static inline const cnikit_pod_ops kPodOps{sizeof(cnikit_pod_ops), &podAdd, &podDel, &podCheck};
  static inline const cnikit_node_ops kNodeOps{sizeof(cnikit_node_ops), &localNodeData, &nodeUpsert, &nodeRemove};
  static inline const cnikit_lifecycle_ops kLifecycleOps{
      sizeof(cnikit_lifecycle_ops), &start, &shutdown, &ready, &configUpdate, &podsSync, &localNodeUpdate};
};

// A table is instantiated only for a declared capability (its methods may not exist otherwise).
template <class T>
constexpr const cnikit_pod_ops* podOps() {
  if constexpr (DeclaresPods<T>)
    return &Api<T>::kPodOps;
  else
    return nullptr;
}
template <class T>
constexpr const cnikit_node_ops* nodeOps() {
  if constexpr (DeclaresNodes<T>)
    return &Api<T>::kNodeOps;
  else
    return nullptr;
}
template <class T>
constexpr const cnikit_lifecycle_ops* lifecycleOps() {
  if constexpr (DeclaresLifecycle<T>)
    return &Api<T>::kLifecycleOps;
  else
    return nullptr;
}
template <class T>
constexpr const char* optionsSchema() {
  if constexpr (DeclaresSchema<T>)
    return T::cnikit_options_schema;
  else
    return nullptr;
}

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
      podOps<T>(),
      nodeOps<T>(),
      nullptr,  // policy: reserved
      nullptr,  // service: reserved
      nullptr,  // encryption: reserved
      nullptr,  // flows: reserved
      lifecycleOps<T>(),
      optionsSchema<T>(),
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
#define CNIKIT_BACKEND(Class, name, version)                                                         \
  extern "C" CNIKIT_EXPORT const cnikit_backend_api* cnikit_backend_entry(uint32_t host_abi_major,   \
                                                                          uint32_t host_abi_minor);  \
  static_assert(std::is_same_v<decltype(&cnikit_backend_entry), cnikit_backend_entry_fn>,            \
                "cnikit: entry point signature drifted from cnikit_backend_entry_fn");               \
  extern "C" CNIKIT_EXPORT const cnikit_backend_api* cnikit_backend_entry(uint32_t host_abi_major,   \
                                                                          uint32_t host_abi_minor) { \
    /* The host judges compatibility from the table's abi_major/abi_minor. */                        \
    (void)host_abi_major;                                                                            \
    (void)host_abi_minor;                                                                            \
    return ::cnikit::sdk::detail::backendApi<Class>(name, version);                                  \
  }
