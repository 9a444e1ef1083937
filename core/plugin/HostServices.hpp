#pragma once
// What the host gives each backend instance through cnikit_host_callbacks: logging, metrics,
// store access scoped to /cnikit/v1/backends/<instance>/ (with revisions and watches),
// conditions, supervised helper processes and secrets.
#include <cnikit/backend.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics/Metrics.hpp"
#include "core/plugin/HelperSupervisor.hpp"
#include "core/store/Store.hpp"

namespace cnikit::plugin {

// Where an instance's host services keep files. Empty: the service that needs it answers
// CNIKIT_ERR_UNSUPPORTED.
struct HostPaths {
  std::filesystem::path stateDir;    // the instance's state dir: helper pidfiles and logs under helpers/
  std::filesystem::path secretsDir;  // one root-owned file per secret, no group/other access
};

class HostServices {
 public:
  // store and metrics may be null (then their callbacks answer CNIKIT_ERR_UNSUPPORTED / -1).
  HostServices(std::string instanceName, store::Store* store, metrics::Registry* metrics, HostPaths paths = {});
  // Stops every watch (waiting for in-flight callbacks); helpers keep running unless
  // shutdown(true) stopped them.
  ~HostServices();
  HostServices(const HostServices&) = delete;
  HostServices& operator=(const HostServices&) = delete;

  // The full 1.1 callbacks struct whose host_ctx is this object; valid as long as it lives.
  const cnikit_host_callbacks* callbacks() const { return &callbacks_; }

  // The instance ends. teardown: stop every helper by PID and remove its pidfile; otherwise
  // (KEEP_DATAPATH) leave helpers running for the next agent to adopt.
  void shutdown(bool teardown);

  // The reported conditions, by type: [{"type", "status": "True"|"False", "message",
  // "lastTransitionTime": RFC 3339 UTC}]; the time changes only when status flips.
  nlohmann::json conditions() const;

 private:
  struct Watch;
  struct Condition {
    bool ok = false;
    std::string message;
    std::chrono::system_clock::time_point lastTransition;
  };

  static void log(void* ctx, cnikit_log_level level, const char* message);
  static int32_t metricRegister(void* ctx, const char* name, const char* help, cnikit_metric_kind kind);
  static int32_t metricRegisterSeries(void* ctx, const cnikit_metric_spec* spec);
  static void metricAdd(void* ctx, int32_t id, double value);
  static void metricSet(void* ctx, int32_t id, double value);
  static void metricObserve(void* ctx, int32_t id, double value);
  static void flowEmit(void* ctx, const cnikit_flow_event* event);
  static cnikit_status storeGet(void* ctx, const char* key, const char** value, size_t* len);
  static cnikit_status storeGetRevision(void* ctx, const char* key, const char** value, size_t* len,
                                       int64_t* modRevision);
  static cnikit_status storePut(void* ctx, const char* key, const char* value, size_t len);
  static cnikit_status storeCreate(void* ctx, const char* key, const char* value, size_t len, int64_t* revision);
  static cnikit_status storeCas(void* ctx, const char* key, int64_t expected, const char* value, size_t len,
                                int64_t* revision);
  static cnikit_status storeDelete(void* ctx, const char* key);
  static cnikit_status storeList(void* ctx, const char* prefix,
                                 void (*each)(void*, const char*, const char*, size_t), void* user);
  static cnikit_status storeWatch(void* ctx, const char* prefix, int64_t fromRevision,
                                  void (*onEvent)(void*, const cnikit_store_event*), void* user, uint64_t* watchId);
  static cnikit_status storeUnwatch(void* ctx, uint64_t watchId);
  static void reportCondition(void* ctx, const char* type, int32_t ok, const char* message);
  static cnikit_status helperSpawn(void* ctx, const cnikit_helper_spec* spec, int64_t* pid);
  static cnikit_status helperStop(void* ctx, const char* name);
  static cnikit_status secretGet(void* ctx, const char* name, const char** value, size_t* len);

  std::string scoped(const char* key) const;
  int32_t localMetricId(int32_t registryId);
  // The revision a write of value to key made, read back after the write.
  int64_t revisionOfWrite(const std::string& key, const char* value, size_t len);
  void syncWatch(const std::shared_ptr<Watch>& watch, bool reset);
  void startStoreWatch(const std::shared_ptr<Watch>& watch, int64_t from);
  void enqueueSync(const std::shared_ptr<Watch>& watch, bool reset);
  void runWatchWorker();
  void stopWatch(const std::shared_ptr<Watch>& watch);

  std::string instanceName_;
  store::Store* store_;
  metrics::Registry* metrics_;
  HostPaths paths_;

  std::mutex metricsMutex_;
  std::vector<int32_t> metricIds_;  // the backend's metric id -> registry id (ids stay per instance)

  // Watches: the store delivers on its thread; starting and resyncing after a compaction
  // (list, then watch again) run on watchWorker_, so no backend callback runs on a thread
  // that called into the host.
  std::mutex watchMutex_;
  std::map<uint64_t, std::shared_ptr<Watch>> watches_;
  uint64_t nextWatchId_ = 1;
  std::deque<std::pair<std::shared_ptr<Watch>, bool>> watchJobs_;  // (watch, reset)
  std::condition_variable watchCv_;
  bool watchWorkerStop_ = false;
  std::thread watchWorker_;

  mutable std::mutex conditionsMutex_;
  std::map<std::string, Condition> conditions_;

  std::unique_ptr<HelperSupervisor> helpers_;  // null without a state dir
  cnikit_host_callbacks callbacks_{};
};

}  // namespace cnikit::plugin
