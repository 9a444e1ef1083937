#pragma once
// What the host gives each backend instance through cnikit_host_callbacks: logging, metrics,
// flow events and store access scoped to /cnikit/v1/backends/<instance>/.
#include <cnikit/backend.h>

#include <functional>

#include <nlohmann/json.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/metrics/Metrics.hpp"
#include "core/store/Store.hpp"

namespace cnikit::plugin {

class HostServices {
 public:
  // store may be null (then store callbacks answer CNIKIT_ERR_UNSUPPORTED).
  HostServices(std::string instanceName, store::Store* store, metrics::Registry* metrics);

  // A callbacks struct whose host_ctx is this object; valid as long as this object lives.
  const cnikit_host_callbacks* callbacks() const { return &callbacks_; }

  // The conditions the backend reported, as JSON (cnikitctl status).
  nlohmann::json conditions() const;
  // The instance ends: teardown stops its helper processes, otherwise they keep running.
  void shutdown(bool teardown);

 private:
  static void log(void* ctx, cnikit_log_level level, const char* message);
  static int32_t metricRegister(void* ctx, const char* name, const char* help, cnikit_metric_kind kind);
  static void metricAdd(void* ctx, int32_t id, double value);
  static void metricSet(void* ctx, int32_t id, double value);
  static void flowEmit(void* ctx, const cnikit_flow_event* event);
  static cnikit_status storeGet(void* ctx, const char* key, const char** value, size_t* len);
  static cnikit_status storePut(void* ctx, const char* key, const char* value, size_t len);
  static cnikit_status storeDelete(void* ctx, const char* key);
  static cnikit_status storeList(void* ctx, const char* prefix,
                                 void (*each)(void*, const char*, const char*, size_t), void* user);
  std::string scoped(const char* key) const;

  std::string instanceName_;
  store::Store* store_;
  metrics::Registry* metrics_;
  std::mutex storeMutex_;
  // Back store_get's returned buffer, one per calling thread so that concurrent calls of
  // one backend instance do not overwrite each other's value before it is copied.
  std::unordered_map<std::thread::id, std::string> lastValues_;
  std::mutex metricsMutex_;
  std::vector<int32_t> metricIds_;  // the backend's metric id -> registry id (ids stay per instance)
  cnikit_host_callbacks callbacks_{};
};

}  // namespace cnikit::plugin
