#pragma once
// The etcd implementation's StoreEnv: a real etcd started for the test (fresh data
// directory, free loopback ports), killed by PID when the env goes.
#include <memory>
#include <string>
#include <vector>

#include "core/store/EtcdStore.hpp"
#include "tests/support/EtcdProcess.hpp"
#include "tests/unit/store/StoreEnv.hpp"

namespace cnikit::store::test {

// Watches in tests reconnect quickly.
inline EtcdStoreOptions fastEtcdOptions() {
  EtcdStoreOptions options;
  options.watchRetryMin = std::chrono::milliseconds(20);
  options.watchRetryMax = std::chrono::milliseconds(200);
  return options;
}

class EtcdEnv : public StoreEnv {
 public:
  explicit EtcdEnv(cnikit::testing::EtcdProcessOptions options = {}) : etcd_(std::move(options)) {}
  std::unique_ptr<Store> open() override { return openEtcd(); }
  std::unique_ptr<EtcdStore> openEtcd(EtcdStoreOptions options = fastEtcdOptions()) {
    return std::make_unique<EtcdStore>(std::vector<std::string>{etcd_.endpoint()}, options);
  }
  void compact(Store& store, Revision rev) override { dynamic_cast<EtcdStore&>(store).compact(rev); }
  cnikit::testing::EtcdProcess& process() { return etcd_; }

 private:
  cnikit::testing::EtcdProcess etcd_;
};

}  // namespace cnikit::store::test
