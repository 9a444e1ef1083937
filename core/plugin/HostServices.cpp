#include "core/plugin/HostServices.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <system_error>
#include <unordered_map>

#include "core/store/Keys.hpp"

namespace cnikit::plugin {

// One watch a backend asked for: the store watch under it is replaced after a compaction.
struct HostServices::Watch {
  uint64_t id = 0;
  std::string prefix;  // absolute
  int64_t fromRevision = 0;
  void (*onEvent)(void*, const cnikit_store_event*) = nullptr;
  void* user = nullptr;
  std::atomic<bool> stopped{false};
  std::mutex deliverMutex;  // held while the backend's callback runs
  // Keys the initial list delivered at a revision the store watch will replay: skipped
  // until an event newer than all of them arrives (guarded by deliverMutex).
  std::unordered_map<std::string, int64_t> listed;
  int64_t listedUpTo = 0;
  std::mutex storeWatchMutex;
  std::unique_ptr<store::Watch> storeWatch;
};

namespace {

constexpr size_t kMaxSecretBytes = 1 << 20;
constexpr size_t kMaxHelperArgs = 4096;
constexpr std::chrono::seconds kWatchRetry{1};

// Buffers behind the pointers store_get(_revision) and secret_get return: one per calling
// thread, valid until that thread's next such call (no map that grows with threads).
thread_local std::string tlsStoreValue;
thread_local std::string tlsSecretValue;
// The watch whose callback this thread is running, to refuse store_unwatch from inside it.
thread_local const void* tlsDelivering = nullptr;

HostServices* self(void* ctx) { return static_cast<HostServices*>(ctx); }

spdlog::level::level_enum toSpdlog(cnikit_log_level level) {
  switch (level) {
    case CNIKIT_LOG_DEBUG: return spdlog::level::debug;
    case CNIKIT_LOG_INFO: return spdlog::level::info;
    case CNIKIT_LOG_WARN: return spdlog::level::warn;
    case CNIKIT_LOG_ERROR: return spdlog::level::err;
  }
  return spdlog::level::info;  // an unknown level from a newer backend
}

// A relative key (or list prefix) a backend may use: it must stay inside its scope.
void checkRelativeKey(const char* key, bool allowEmpty) {
  if (key == nullptr) throw std::invalid_argument("store key is NULL");
  std::string_view k(key);
  if (k.empty() && !allowEmpty) throw std::invalid_argument("store key is empty");
  if (!k.empty() && k.front() == '/') throw std::invalid_argument("store key '" + std::string(k) + "' starts with '/'");
  if (k.find("..") != std::string_view::npos)
    throw std::invalid_argument("store key '" + std::string(k) + "' contains '..'");
}

// Names that become one path segment (secrets, helpers) or a condition type.
bool validName(const char* name) {
  if (name == nullptr || *name == '\0') return false;
  std::string_view n(name);
  if (n == "." || n == "..") return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
          c == '-'))
      return false;
  return true;
}

// A struct a backend passes: at least the size this host knows, any further bytes zero.
template <class T>
bool structFits(const T* s) {
  return s != nullptr && s->size >= sizeof(T) && cnikit_struct_tail_is_zero(s, sizeof(T));
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char out[32];
  std::strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

// Runs one store call for a callback: the store's failures become statuses, never exceptions.
template <class Fn>
cnikit_status guarded(const std::string& instance, const char* op, const char* key, Fn&& fn) {
  try {
    return fn();
  } catch (const std::invalid_argument& e) {
    spdlog::warn("[backend {}] {} refused: {}", instance, op, e.what());
    return CNIKIT_ERR_INVALID_ARGUMENT;
  } catch (const std::exception& e) {
    spdlog::warn("[backend {}] {} '{}' failed: {}", instance, op, key ? key : "", e.what());
    return CNIKIT_ERR_TRY_AGAIN;
  } catch (...) {
    return CNIKIT_ERR_TRY_AGAIN;
  }
}

}  // namespace

HostServices::HostServices(std::string instanceName, store::Store* store, metrics::Registry* metrics, HostPaths paths)
    : instanceName_(std::move(instanceName)), store_(store), metrics_(metrics), paths_(std::move(paths)) {
  // The instance name becomes one segment of the store scope.
  if (instanceName_.empty() || instanceName_.find('/') != std::string::npos || instanceName_.find("..") != std::string::npos)
    throw std::invalid_argument("backend instance name '" + instanceName_ + "' is empty or contains '/' or '..'");
  if (!paths_.stateDir.empty()) helpers_ = std::make_unique<HelperSupervisor>(paths_.stateDir / "helpers", instanceName_);
  callbacks_.size = sizeof(cnikit_host_callbacks);
  callbacks_.host_ctx = this;
  callbacks_.log = &HostServices::log;
  callbacks_.metric_register = &HostServices::metricRegister;
  callbacks_.metric_add = &HostServices::metricAdd;
  callbacks_.metric_set = &HostServices::metricSet;
  callbacks_.flow_emit = &HostServices::flowEmit;
  callbacks_.store_get = &HostServices::storeGet;
  callbacks_.store_put = &HostServices::storePut;
  callbacks_.store_delete = &HostServices::storeDelete;
  callbacks_.store_list = &HostServices::storeList;
  callbacks_.store_get_revision = &HostServices::storeGetRevision;
  callbacks_.store_create = &HostServices::storeCreate;
  callbacks_.store_cas = &HostServices::storeCas;
  callbacks_.store_watch = &HostServices::storeWatch;
  callbacks_.store_unwatch = &HostServices::storeUnwatch;
  callbacks_.metric_register_series = &HostServices::metricRegisterSeries;
  callbacks_.metric_observe = &HostServices::metricObserve;
  callbacks_.report_condition = &HostServices::reportCondition;
  callbacks_.helper_spawn = &HostServices::helperSpawn;
  callbacks_.helper_stop = &HostServices::helperStop;
  callbacks_.secret_get = &HostServices::secretGet;
}

HostServices::~HostServices() {
  std::map<uint64_t, std::shared_ptr<Watch>> watches;
  {
    std::lock_guard lock(watchMutex_);
    watchWorkerStop_ = true;
    watches.swap(watches_);
  }
  watchCv_.notify_all();
  if (watchWorker_.joinable()) watchWorker_.join();
  for (auto& [id, watch] : watches) stopWatch(watch);
  helpers_.reset();  // stops watching helpers; they keep running
}

void HostServices::shutdown(bool teardown) {
  if (helpers_) helpers_->shutdown(teardown);
}

std::string HostServices::scoped(const char* key) const {
  return store::keys::backendScope(instanceName_) + key;
}

// Every callback is called from C frames in a backend: nothing may throw out of them.

void HostServices::log(void* ctx, cnikit_log_level level, const char* message) {
  try {
    spdlog::log(toSpdlog(level), "[backend {}] {}", self(ctx)->instanceName_, message ? message : "");
  } catch (...) {
  }
}

// ---- metrics ----

int32_t HostServices::localMetricId(int32_t registryId) {
  std::lock_guard lock(metricsMutex_);
  for (size_t i = 0; i < metricIds_.size(); ++i)
    if (metricIds_[i] == registryId) return static_cast<int32_t>(i);
  metricIds_.push_back(registryId);
  return static_cast<int32_t>(metricIds_.size() - 1);
}

int32_t HostServices::metricRegister(void* ctx, const char* name, const char* help, cnikit_metric_kind kind) {
  HostServices* h = self(ctx);
  try {
    if (h->metrics_ == nullptr || name == nullptr) return -1;
    metrics::Kind k;
    if (kind == CNIKIT_METRIC_COUNTER)
      k = metrics::Kind::Counter;
    else if (kind == CNIKIT_METRIC_GAUGE)
      k = metrics::Kind::Gauge;
    else
      return -1;  // histograms need buckets: metric_register_series
    // Several instances of one backend register the same names: the label tells them apart.
    int32_t id = h->metrics_->add(name, help ? help : "", k, {{"backend_instance", h->instanceName_}});
    if (id < 0) {
      spdlog::warn("[backend {}] metric '{}' refused (invalid name or registered with another kind)",
                   h->instanceName_, name);
      return -1;
    }
    return h->localMetricId(id);
  } catch (...) {
    return -1;
  }
}

int32_t HostServices::metricRegisterSeries(void* ctx, const cnikit_metric_spec* spec) {
  HostServices* h = self(ctx);
  try {
    auto refuse = [&](const std::string& why) {
      spdlog::warn("[backend {}] metric series refused: {}", h->instanceName_, why);
      return -1;
    };
    if (h->metrics_ == nullptr) return -1;
    if (!structFits(spec)) return refuse("cnikit_metric_spec is NULL, too small or has unknown non-zero fields");
    if (spec->name == nullptr) return refuse("name is NULL");
    std::string name = spec->name;
    if (spec->kind != CNIKIT_METRIC_COUNTER && spec->kind != CNIKIT_METRIC_GAUGE && spec->kind != CNIKIT_METRIC_HISTOGRAM)
      return refuse("metric '" + name + "': unknown kind " + std::to_string(static_cast<int>(spec->kind)));
    if (spec->n_labels > 0 && (spec->label_names == nullptr || spec->label_values == nullptr))
      return refuse("metric '" + name + "': n_labels is " + std::to_string(spec->n_labels) + " but labels are NULL");
    std::map<std::string, std::string> labels{{"backend_instance", h->instanceName_}};
    for (size_t i = 0; i < spec->n_labels; ++i) {
      const char* label = spec->label_names[i];
      const char* value = spec->label_values[i];
      if (label == nullptr || value == nullptr) return refuse("metric '" + name + "': label " + std::to_string(i) + " is NULL");
      if (std::string_view(label) == "backend_instance")
        return refuse("metric '" + name + "': the label backend_instance is the host's");
      if (!labels.emplace(label, value).second)
        return refuse("metric '" + name + "': label '" + label + "' given twice");
    }
    if (spec->n_buckets > 0 && spec->buckets == nullptr)
      return refuse("metric '" + name + "': n_buckets is " + std::to_string(spec->n_buckets) + " but buckets is NULL");
    if (spec->kind != CNIKIT_METRIC_HISTOGRAM && spec->n_buckets > 0)
      return refuse("metric '" + name + "': buckets given for a counter or gauge");
    int32_t id;
    if (spec->kind == CNIKIT_METRIC_HISTOGRAM) {
      std::vector<double> buckets(spec->buckets, spec->buckets + spec->n_buckets);
      id = h->metrics_->addHistogram(name, spec->help ? spec->help : "", labels, buckets);
    } else {
      auto kind = spec->kind == CNIKIT_METRIC_COUNTER ? metrics::Kind::Counter : metrics::Kind::Gauge;
      id = h->metrics_->add(name, spec->help ? spec->help : "", kind, labels);
    }
    if (id < 0)
      return refuse("metric '" + name +
                    "': invalid metric or label name, buckets not strictly ascending, or registered with another kind");
    return h->localMetricId(id);
  } catch (...) {
    return -1;
  }
}

void HostServices::metricAdd(void* ctx, int32_t id, double value) {
  HostServices* h = self(ctx);
  try {
    std::lock_guard lock(h->metricsMutex_);
    if (h->metrics_ == nullptr || id < 0 || static_cast<size_t>(id) >= h->metricIds_.size()) return;
    h->metrics_->increment(h->metricIds_[id], value);
  } catch (...) {
  }
}

void HostServices::metricSet(void* ctx, int32_t id, double value) {
  HostServices* h = self(ctx);
  try {
    std::lock_guard lock(h->metricsMutex_);
    if (h->metrics_ == nullptr || id < 0 || static_cast<size_t>(id) >= h->metricIds_.size()) return;
    h->metrics_->set(h->metricIds_[id], value);
  } catch (...) {
  }
}

void HostServices::metricObserve(void* ctx, int32_t id, double value) {
  HostServices* h = self(ctx);
  try {
    std::lock_guard lock(h->metricsMutex_);
    if (h->metrics_ == nullptr || id < 0 || static_cast<size_t>(id) >= h->metricIds_.size()) return;
    h->metrics_->observe(h->metricIds_[id], value);
  } catch (...) {
  }
}

// Reserved by the ABI; this host offers no flow capability, so events are dropped.
void HostServices::flowEmit(void*, const cnikit_flow_event*) {}

// ---- store ----

cnikit_status HostServices::storeGet(void* ctx, const char* key, const char** value, size_t* len) {
  return storeGetRevision(ctx, key, value, len, nullptr);
}

cnikit_status HostServices::storeGetRevision(void* ctx, const char* key, const char** value, size_t* len,
                                             int64_t* modRevision) {
  HostServices* h = self(ctx);
  if (value == nullptr || len == nullptr) return CNIKIT_ERR_INVALID_ARGUMENT;
  if (h->store_ == nullptr) return CNIKIT_ERR_UNSUPPORTED;
  return guarded(h->instanceName_, "store_get", key, [&] {
    checkRelativeKey(key, false);
    auto kv = h->store_->get(h->scoped(key));
    if (!kv) return CNIKIT_ERR_NOT_FOUND;
    tlsStoreValue = std::move(kv->value);
    *value = tlsStoreValue.c_str();
    *len = tlsStoreValue.size();
    if (modRevision) *modRevision = kv->modRevision;
    return CNIKIT_OK;
  });
}

cnikit_status HostServices::storePut(void* ctx, const char* key, const char* value, size_t len) {
  HostServices* h = self(ctx);
  if (value == nullptr && len > 0) return CNIKIT_ERR_INVALID_ARGUMENT;
  if (h->store_ == nullptr) return CNIKIT_ERR_UNSUPPORTED;
  return guarded(h->instanceName_, "store_put", key, [&] {
    checkRelativeKey(key, false);
    h->store_->put(h->scoped(key), std::string_view(value ? value : "", len));
    return CNIKIT_OK;
  });
}

// The Store interface answers a conditional write with a bool: the revision is read back.
// When another writer changed the key in between, the answer is one its next CAS against
// cannot match (the key moved on), unless that writer stored the very same bytes.
int64_t HostServices::revisionOfWrite(const std::string& key, const char* value, size_t len) {
  auto kv = store_->get(key);
  if (!kv) return store_->revision();  // deleted meanwhile: any non-zero revision conflicts
  if (kv->value == std::string_view(value ? value : "", len)) return kv->modRevision;
  return kv->modRevision - 1;
}

cnikit_status HostServices::storeCreate(void* ctx, const char* key, const char* value, size_t len,
                                        int64_t* revision) {
  HostServices* h = self(ctx);
  if (value == nullptr && len > 0) return CNIKIT_ERR_INVALID_ARGUMENT;
  if (h->store_ == nullptr) return CNIKIT_ERR_UNSUPPORTED;
  return guarded(h->instanceName_, "store_create", key, [&] {
    checkRelativeKey(key, false);
    std::string full = h->scoped(key);
    if (!h->store_->createIfAbsent(full, std::string_view(value ? value : "", len))) return CNIKIT_ERR_EXISTS;
    if (revision) *revision = h->revisionOfWrite(full, value, len);
    return CNIKIT_OK;
  });
}

cnikit_status HostServices::storeCas(void* ctx, const char* key, int64_t expected, const char* value, size_t len,
                                     int64_t* revision) {
  HostServices* h = self(ctx);
  if ((value == nullptr && len > 0) || expected < 0) return CNIKIT_ERR_INVALID_ARGUMENT;
  if (h->store_ == nullptr) return CNIKIT_ERR_UNSUPPORTED;
  return guarded(h->instanceName_, "store_cas", key, [&] {
    checkRelativeKey(key, false);
    std::string full = h->scoped(key);
    if (!h->store_->compareAndSwap(full, expected, std::string_view(value ? value : "", len)))
      return CNIKIT_ERR_CONFLICT;
    if (revision) *revision = h->revisionOfWrite(full, value, len);
    return CNIKIT_OK;
  });
}

cnikit_status HostServices::storeDelete(void* ctx, const char* key) {
  HostServices* h = self(ctx);
  if (h->store_ == nullptr) return CNIKIT_ERR_UNSUPPORTED;
  return guarded(h->instanceName_, "store_delete", key, [&] {
    checkRelativeKey(key, false);
    return h->store_->remove(h->scoped(key)) ? CNIKIT_OK : CNIKIT_ERR_NOT_FOUND;
  });
}

cnikit_status HostServices::storeList(void* ctx, const char* prefix,
                                      void (*each)(void*, const char*, const char*, size_t), void* user) {
  HostServices* h = self(ctx);
  if (each == nullptr) return CNIKIT_ERR_INVALID_ARGUMENT;
  if (h->store_ == nullptr) return CNIKIT_ERR_UNSUPPORTED;
  return guarded(h->instanceName_, "store_list", prefix, [&] {
    checkRelativeKey(prefix, true);
    const std::string scope = h->scoped("");
    for (const auto& kv : h->store_->list(h->scoped(prefix))) {
      if (kv.key.compare(0, scope.size(), scope) != 0) continue;  // a store that over-answers
      std::string relative = kv.key.substr(scope.size());
      each(user, relative.c_str(), kv.value.c_str(), kv.value.size());
    }
    return CNIKIT_OK;
  });
}

// ---- store watches ----

namespace {

// Calls the backend's watch callback (the caller holds the watch's deliverMutex).
void deliver(const void* watch, void (*onEvent)(void*, const cnikit_store_event*), void* user,
             cnikit_store_event_type type, const char* key, const std::string* value, int64_t revision) {
  cnikit_store_event event{};
  event.size = sizeof(event);
  event.type = type;
  event.key = key;
  event.value = value ? value->data() : nullptr;
  event.len = value ? value->size() : 0;
  event.revision = revision;
  tlsDelivering = watch;
  try {
    onEvent(user, &event);
  } catch (...) {
    // A C callback must not throw; one that does loses only this event.
  }
  tlsDelivering = nullptr;
}

}  // namespace

cnikit_status HostServices::storeWatch(void* ctx, const char* prefix, int64_t fromRevision,
                                       void (*onEvent)(void*, const cnikit_store_event*), void* user,
                                       uint64_t* watchId) {
  HostServices* h = self(ctx);
  if (onEvent == nullptr || watchId == nullptr || fromRevision < 0) return CNIKIT_ERR_INVALID_ARGUMENT;
  if (h->store_ == nullptr) return CNIKIT_ERR_UNSUPPORTED;
  return guarded(h->instanceName_, "store_watch", prefix, [&] {
    checkRelativeKey(prefix, true);
    auto watch = std::make_shared<Watch>();
    watch->prefix = h->scoped(prefix);
    watch->fromRevision = fromRevision;
    watch->onEvent = onEvent;
    watch->user = user;
    std::lock_guard lock(h->watchMutex_);
    if (h->watchWorkerStop_) return CNIKIT_ERR_TRY_AGAIN;
    watch->id = h->nextWatchId_++;
    h->watches_[watch->id] = watch;
    if (!h->watchWorker_.joinable()) h->watchWorker_ = std::thread([h] { h->runWatchWorker(); });
    h->watchJobs_.emplace_back(watch, false);
    h->watchCv_.notify_one();
    *watchId = watch->id;
    return CNIKIT_OK;
  });
}

cnikit_status HostServices::storeUnwatch(void* ctx, uint64_t watchId) {
  HostServices* h = self(ctx);
  if (tlsDelivering != nullptr) {
    // The watch's delivery waits for this very callback to return: it would never end.
    spdlog::warn("[backend {}] store_unwatch {} refused: called from inside a watch callback", h->instanceName_,
                 watchId);
    return CNIKIT_ERR_INVALID_ARGUMENT;
  }
  std::shared_ptr<Watch> watch;
  {
    std::lock_guard lock(h->watchMutex_);
    auto it = h->watches_.find(watchId);
    if (it == h->watches_.end()) return CNIKIT_ERR_NOT_FOUND;
    watch = std::move(it->second);
    h->watches_.erase(it);
  }
  h->stopWatch(watch);
  return CNIKIT_OK;
}

void HostServices::stopWatch(const std::shared_ptr<Watch>& watch) {
  watch->stopped = true;
  std::unique_ptr<store::Watch> storeWatch;
  {
    std::lock_guard lock(watch->storeWatchMutex);
    storeWatch = std::move(watch->storeWatch);
  }
  storeWatch.reset();                              // waits for the store's callback in flight
  std::lock_guard wait(watch->deliverMutex);       // and for the worker's
}

void HostServices::enqueueSync(const std::shared_ptr<Watch>& watch, bool reset) {
  {
    std::lock_guard lock(watchMutex_);
    if (watchWorkerStop_ || watch->stopped) return;
    watchJobs_.emplace_back(watch, reset);
  }
  watchCv_.notify_one();
}

void HostServices::runWatchWorker() {
  std::unique_lock lock(watchMutex_);
  for (;;) {
    watchCv_.wait(lock, [&] { return watchWorkerStop_ || !watchJobs_.empty(); });
    if (watchWorkerStop_) return;
    auto [watch, reset] = std::move(watchJobs_.front());
    watchJobs_.pop_front();
    lock.unlock();
    bool done = true;
    try {
      syncWatch(watch, reset);
    } catch (const std::exception& e) {
      spdlog::warn("[backend {}] store watch {} on '{}' failed (retrying in {} s): {}", instanceName_, watch->id,
                   watch->prefix, kWatchRetry.count(), e.what());
      done = false;
    }
    lock.lock();
    if (!done && !watch->stopped) {
      if (watchCv_.wait_for(lock, kWatchRetry, [&] { return watchWorkerStop_; })) return;
      // Some keys may have gone out already: start over with a RESET unless nothing was listed.
      watchJobs_.emplace_back(watch, reset || watch->fromRevision == 0);
    }
  }
}

// Starts a watch (reset false) or restarts it after a compaction (reset true): for a watch
// from 0 or a reset, a PUT of every current key, then the store's watch from the listed
// revision.
void HostServices::syncWatch(const std::shared_ptr<Watch>& watch, bool reset) {
  if (watch->stopped) return;
  {
    std::unique_ptr<store::Watch> ended;
    std::lock_guard lock(watch->storeWatchMutex);
    ended = std::move(watch->storeWatch);  // destroyed here, outside its own callback
  }
  int64_t from = watch->fromRevision;
  if (reset || from == 0) {
    // The revision first: whatever the list shows beyond it, the watch replays (skipped below).
    int64_t listedAt = store_->revision();
    auto kvs = store_->list(watch->prefix);
    const size_t scope = scoped("").size();
    std::lock_guard lock(watch->deliverMutex);
    if (watch->stopped) return;
    if (reset) deliver(watch.get(), watch->onEvent, watch->user, CNIKIT_STORE_RESET, nullptr, nullptr, listedAt);
    watch->listed.clear();
    watch->listedUpTo = 0;
    for (const auto& kv : kvs) {
      if (kv.modRevision > listedAt) {
        watch->listed[kv.key] = kv.modRevision;
        watch->listedUpTo = std::max(watch->listedUpTo, kv.modRevision);
      }
      deliver(watch.get(), watch->onEvent, watch->user, CNIKIT_STORE_PUT, kv.key.c_str() + scope, &kv.value,
              kv.modRevision);
    }
    from = listedAt;
  }
  startStoreWatch(watch, from);
}

void HostServices::startStoreWatch(const std::shared_ptr<Watch>& watch, int64_t from) {
  std::weak_ptr<Watch> weak = watch;
  const size_t scope = scoped("").size();
  auto onEvents = [weak, scope](const std::vector<store::Event>& events) {
    auto w = weak.lock();
    if (!w) return;
    std::lock_guard lock(w->deliverMutex);
    if (w->stopped) return;
    for (const auto& e : events) {
      if (w->listedUpTo != 0) {
        if (e.kv.modRevision > w->listedUpTo) {
          w->listed.clear();
          w->listedUpTo = 0;
        } else if (auto it = w->listed.find(e.kv.key); it != w->listed.end() && e.kv.modRevision <= it->second) {
          continue;  // the list delivered this state already
        }
      }
      if (e.kv.key.size() < scope) continue;
      bool put = e.type == store::EventType::Put;
      deliver(w.get(), w->onEvent, w->user, put ? CNIKIT_STORE_PUT : CNIKIT_STORE_DELETE, e.kv.key.c_str() + scope,
              put ? &e.kv.value : nullptr, e.kv.modRevision);
    }
  };
  auto onCompacted = [this, weak] {
    if (auto w = weak.lock()) {
      spdlog::info("[backend {}] store watch {} on '{}' lost its history (compaction): resyncing", instanceName_,
                   w->id, w->prefix);
      enqueueSync(w, true);
    }
  };
  std::unique_ptr<store::Watch> storeWatch;
  try {
    storeWatch = store_->watch(watch->prefix, from, onEvents, onCompacted);
  } catch (const store::WatchCompacted&) {
    onCompacted();
    return;
  }
  std::lock_guard lock(watch->storeWatchMutex);
  if (watch->stopped) {
    // Unwatched meanwhile: end it here (not inside its callback) and deliver nothing.
    storeWatch.reset();
    return;
  }
  watch->storeWatch = std::move(storeWatch);
}

// ---- conditions ----

void HostServices::reportCondition(void* ctx, const char* type, int32_t ok, const char* message) {
  HostServices* h = self(ctx);
  try {
    if (!validName(type)) {
      spdlog::warn("[backend {}] report_condition refused: type '{}' must match [a-zA-Z0-9_.-]+", h->instanceName_,
                   type ? type : "(null)");
      return;
    }
    std::lock_guard lock(h->conditionsMutex_);
    auto [it, added] = h->conditions_.try_emplace(type);
    Condition& c = it->second;
    if (added || c.ok != (ok != 0)) {
      c.lastTransition = std::chrono::system_clock::now();
      spdlog::log(ok ? spdlog::level::info : spdlog::level::warn, "[backend {}] condition {} is {}: {}",
                  h->instanceName_, type, ok ? "True" : "False", message ? message : "");
    }
    c.ok = ok != 0;
    c.message = message ? message : "";
  } catch (...) {
  }
}

nlohmann::json HostServices::conditions() const {
  std::lock_guard lock(conditionsMutex_);
  auto out = nlohmann::json::array();
  for (const auto& [type, c] : conditions_)
    out.push_back({{"type", type},
                   {"status", c.ok ? "True" : "False"},
                   {"message", c.message},
                   {"lastTransitionTime", rfc3339(c.lastTransition)}});
  return out;
}

// ---- helpers ----

cnikit_status HostServices::helperSpawn(void* ctx, const cnikit_helper_spec* spec, int64_t* pid) {
  HostServices* h = self(ctx);
  auto refuse = [&](cnikit_status status, const std::string& why) {
    spdlog::warn("[backend {}] helper_spawn refused: {}", h->instanceName_, why);
    return status;
  };
  try {
    if (!h->helpers_) return refuse(CNIKIT_ERR_UNSUPPORTED, "this host has no state directory for helpers");
    if (!structFits(spec))
      return refuse(CNIKIT_ERR_INVALID_ARGUMENT, "cnikit_helper_spec is NULL, too small or has unknown non-zero fields");
    if (spec->name == nullptr) return refuse(CNIKIT_ERR_INVALID_ARGUMENT, "name is NULL");
    if (spec->argv == nullptr) return refuse(CNIKIT_ERR_INVALID_ARGUMENT, std::string("helper '") + spec->name + "': argv is NULL");
    HelperSpec s;
    s.name = spec->name;
    for (size_t i = 0; spec->argv[i] != nullptr; ++i) {
      if (i == kMaxHelperArgs)
        return refuse(CNIKIT_ERR_INVALID_ARGUMENT, "helper '" + s.name + "': argv has no NULL within " +
                                                       std::to_string(kMaxHelperArgs) + " entries");
      s.argv.emplace_back(spec->argv[i]);
    }
    s.netns = spec->netns ? spec->netns : "";
    switch (spec->restart) {
      case CNIKIT_RESTART_NEVER: s.restart = RestartPolicy::Never; break;
      case CNIKIT_RESTART_ON_FAILURE: s.restart = RestartPolicy::OnFailure; break;
      case CNIKIT_RESTART_ALWAYS: s.restart = RestartPolicy::Always; break;
      default:
        return refuse(CNIKIT_ERR_INVALID_ARGUMENT,
                      "helper '" + s.name + "': restart " + std::to_string(static_cast<int>(spec->restart)) + " is unknown");
    }
    int64_t started = h->helpers_->spawn(s);
    if (pid) *pid = started;
    return CNIKIT_OK;
  } catch (const std::invalid_argument& e) {
    return refuse(CNIKIT_ERR_INVALID_ARGUMENT, e.what());
  } catch (const std::system_error& e) {
    return refuse(CNIKIT_ERR_SYSTEM, e.what());
  } catch (const std::logic_error& e) {
    return refuse(CNIKIT_ERR_TRY_AGAIN, e.what());  // shut down: the instance is ending
  } catch (const std::exception& e) {
    return refuse(CNIKIT_ERR_INTERNAL, e.what());
  } catch (...) {
    return CNIKIT_ERR_INTERNAL;
  }
}

cnikit_status HostServices::helperStop(void* ctx, const char* name) {
  HostServices* h = self(ctx);
  try {
    if (!h->helpers_) return CNIKIT_ERR_UNSUPPORTED;
    if (!validName(name)) {
      spdlog::warn("[backend {}] helper_stop refused: name '{}' must match [a-zA-Z0-9_.-]+", h->instanceName_,
                   name ? name : "(null)");
      return CNIKIT_ERR_INVALID_ARGUMENT;
    }
    return h->helpers_->stop(name) ? CNIKIT_OK : CNIKIT_ERR_NOT_FOUND;
  } catch (const std::exception& e) {
    spdlog::warn("[backend {}] helper_stop '{}' failed: {}", h->instanceName_, name, e.what());
    return CNIKIT_ERR_SYSTEM;
  } catch (...) {
    return CNIKIT_ERR_INTERNAL;
  }
}

// ---- secrets ----

cnikit_status HostServices::secretGet(void* ctx, const char* name, const char** value, size_t* len) {
  HostServices* h = self(ctx);
  auto refuse = [&](cnikit_status status, const std::string& why) {
    spdlog::warn("[backend {}] secret_get refused: {}", h->instanceName_, why);
    return status;
  };
  try {
    if (value == nullptr || len == nullptr) return refuse(CNIKIT_ERR_INVALID_ARGUMENT, "value or len is NULL");
    if (h->paths_.secretsDir.empty()) return refuse(CNIKIT_ERR_UNSUPPORTED, "this host has no secrets directory");
    if (!validName(name))
      return refuse(CNIKIT_ERR_INVALID_ARGUMENT,
                    std::string("secret name '") + (name ? name : "(null)") + "' must match [a-zA-Z0-9_.-]+");
    std::string path = (h->paths_.secretsDir / name).string();
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return CNIKIT_ERR_NOT_FOUND;
      return refuse(CNIKIT_ERR_SYSTEM, "secret " + path + ": " + std::strerror(errno));
    }
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) return refuse(CNIKIT_ERR_SYSTEM, "secret " + path + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return refuse(CNIKIT_ERR_SYSTEM, "secret " + path + " is not a regular file");
    // Anyone else who can read or replace a secret has it: refuse rather than hand it on.
    if (st.st_uid != 0)
      return refuse(CNIKIT_ERR_SYSTEM, "secret " + path + " is owned by uid " + std::to_string(st.st_uid) +
                                           ", not root");
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return refuse(CNIKIT_ERR_SYSTEM, "secret " + path + " has mode " + mode +
                                           ": group and others must have no access (chmod 600)");
    }
    if (static_cast<size_t>(st.st_size) > kMaxSecretBytes)
      return refuse(CNIKIT_ERR_SYSTEM, "secret " + path + " is larger than " + std::to_string(kMaxSecretBytes) + " bytes");
    explicit_bzero(tlsSecretValue.data(), tlsSecretValue.size());  // the previous secret
    tlsSecretValue.assign(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    while (got < tlsSecretValue.size()) {
      ssize_t n = ::read(fd, tlsSecretValue.data() + got, tlsSecretValue.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return refuse(CNIKIT_ERR_SYSTEM, "secret " + path + ": " + std::strerror(errno));
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    tlsSecretValue.resize(got);
    *value = tlsSecretValue.c_str();
    *len = tlsSecretValue.size();
    return CNIKIT_OK;
  } catch (const std::exception& e) {
    return refuse(CNIKIT_ERR_SYSTEM, e.what());
  } catch (...) {
    return CNIKIT_ERR_INTERNAL;
  }
}

}  // namespace cnikit::plugin
