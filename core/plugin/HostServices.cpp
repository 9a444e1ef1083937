#include "core/plugin/HostServices.hpp"

#include <spdlog/spdlog.h>

#include <cstring>
#include <stdexcept>

#include "core/store/Keys.hpp"

namespace cnikit::plugin {

namespace {

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

}  // namespace

HostServices::HostServices(std::string instanceName, store::Store* store, metrics::Registry* metrics)
    : instanceName_(std::move(instanceName)), store_(store), metrics_(metrics) {
  // The instance name becomes one segment of the store scope.
  if (instanceName_.empty() || instanceName_.find('/') != std::string::npos || instanceName_.find("..") != std::string::npos)
    throw std::invalid_argument("backend instance name '" + instanceName_ + "' is empty or contains '/' or '..'");
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
}

void HostServices::setFlowSink(std::function<void(const cnikit_flow_event&)> sink) {
  std::lock_guard lock(flowMutex_);
  flowSink_ = std::move(sink);
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
      return -1;
    // Several instances of one backend register the same names: the label tells them apart.
    int32_t id = h->metrics_->add(name, help ? help : "", k, {{"backend_instance", h->instanceName_}});
    if (id < 0) {
      spdlog::warn("[backend {}] metric '{}' refused (invalid name or registered with another kind)",
                   h->instanceName_, name);
      return -1;
    }
    std::lock_guard lock(h->metricsMutex_);
    for (size_t i = 0; i < h->metricIds_.size(); ++i)
      if (h->metricIds_[i] == id) return static_cast<int32_t>(i);
    h->metricIds_.push_back(id);
    return static_cast<int32_t>(h->metricIds_.size() - 1);
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

void HostServices::flowEmit(void* ctx, const cnikit_flow_event* event) {
  HostServices* h = self(ctx);
  try {
    if (event == nullptr) return;
    if (event->size < sizeof(cnikit_flow_event) || !cnikit_struct_tail_is_zero(event, sizeof(cnikit_flow_event))) {
      spdlog::warn("[backend {}] dropped a flow event of size {} (this host knows {} bytes)", h->instanceName_,
                   event->size, sizeof(cnikit_flow_event));
      return;
    }
    cnikit_flow_event copy;
    std::memcpy(&copy, event, sizeof(copy));
    copy.size = sizeof(copy);
    std::lock_guard lock(h->flowMutex_);
    if (h->flowSink_) h->flowSink_(copy);
  } catch (const std::exception& e) {
    spdlog::warn("[backend {}] flow sink failed: {}", h->instanceName_, e.what());
  } catch (...) {
  }
}

cnikit_status HostServices::storeGet(void* ctx, const char* key, const char** value, size_t* len) {
  HostServices* h = self(ctx);
  if (value == nullptr || len == nullptr) return CNIKIT_ERR_INVALID_ARGUMENT;
  if (h->store_ == nullptr) return CNIKIT_ERR_UNSUPPORTED;
  try {
    checkRelativeKey(key, false);
  } catch (const std::exception& e) {
    spdlog::warn("[backend {}] store_get refused: {}", h->instanceName_, e.what());
    return CNIKIT_ERR_INVALID_ARGUMENT;
  }
  try {
    auto kv = h->store_->get(h->scoped(key));
    if (!kv) return CNIKIT_ERR_NOT_FOUND;
    std::lock_guard lock(h->storeMutex_);
    std::string& buffer = h->lastValues_[std::this_thread::get_id()];
    buffer = std::move(kv->value);
    *value = buffer.c_str();
    *len = buffer.size();
    return CNIKIT_OK;
  } catch (const std::exception& e) {
    spdlog::warn("[backend {}] store_get '{}' failed: {}", h->instanceName_, key, e.what());
    return CNIKIT_ERR_TRY_AGAIN;
  } catch (...) {
    return CNIKIT_ERR_TRY_AGAIN;
  }
}

cnikit_status HostServices::storePut(void* ctx, const char* key, const char* value, size_t len) {
  HostServices* h = self(ctx);
  if (value == nullptr && len > 0) return CNIKIT_ERR_INVALID_ARGUMENT;
  if (h->store_ == nullptr) return CNIKIT_ERR_UNSUPPORTED;
  try {
    checkRelativeKey(key, false);
  } catch (const std::exception& e) {
    spdlog::warn("[backend {}] store_put refused: {}", h->instanceName_, e.what());
    return CNIKIT_ERR_INVALID_ARGUMENT;
  }
  try {
    h->store_->put(h->scoped(key), std::string_view(value ? value : "", len));
    return CNIKIT_OK;
  } catch (const std::exception& e) {
    spdlog::warn("[backend {}] store_put '{}' failed: {}", h->instanceName_, key, e.what());
    return CNIKIT_ERR_TRY_AGAIN;
  } catch (...) {
    return CNIKIT_ERR_TRY_AGAIN;
  }
}

cnikit_status HostServices::storeDelete(void* ctx, const char* key) {
  HostServices* h = self(ctx);
  if (h->store_ == nullptr) return CNIKIT_ERR_UNSUPPORTED;
  try {
    checkRelativeKey(key, false);
  } catch (const std::exception& e) {
    spdlog::warn("[backend {}] store_delete refused: {}", h->instanceName_, e.what());
    return CNIKIT_ERR_INVALID_ARGUMENT;
  }
  try {
    return h->store_->remove(h->scoped(key)) ? CNIKIT_OK : CNIKIT_ERR_NOT_FOUND;
  } catch (const std::exception& e) {
    spdlog::warn("[backend {}] store_delete '{}' failed: {}", h->instanceName_, key, e.what());
    return CNIKIT_ERR_TRY_AGAIN;
  } catch (...) {
    return CNIKIT_ERR_TRY_AGAIN;
  }
}

cnikit_status HostServices::storeList(void* ctx, const char* prefix,
                                      void (*each)(void*, const char*, const char*, size_t), void* user) {
  HostServices* h = self(ctx);
  if (each == nullptr) return CNIKIT_ERR_INVALID_ARGUMENT;
  if (h->store_ == nullptr) return CNIKIT_ERR_UNSUPPORTED;
  try {
    checkRelativeKey(prefix, true);
  } catch (const std::exception& e) {
    spdlog::warn("[backend {}] store_list refused: {}", h->instanceName_, e.what());
    return CNIKIT_ERR_INVALID_ARGUMENT;
  }
  try {
    const std::string scope = h->scoped("");
    for (const auto& kv : h->store_->list(h->scoped(prefix))) {
      if (kv.key.compare(0, scope.size(), scope) != 0) continue;  // a store that over-answers
      std::string relative = kv.key.substr(scope.size());
      each(user, relative.c_str(), kv.value.c_str(), kv.value.size());
    }
    return CNIKIT_OK;
  } catch (const std::exception& e) {
    spdlog::warn("[backend {}] store_list '{}' failed: {}", h->instanceName_, prefix, e.what());
    return CNIKIT_ERR_TRY_AGAIN;
  } catch (...) {
    return CNIKIT_ERR_TRY_AGAIN;
  }
}

}  // namespace cnikit::plugin
