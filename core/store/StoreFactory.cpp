#include "core/store/StoreFactory.hpp"

#include <stdexcept>

#include "core/store/EtcdStore.hpp"
#include "core/store/SqliteStore.hpp"

namespace cnikit::store {

std::unique_ptr<Store> openStore(const StoreConfig& config) {
  if (config.type == "sqlite") {
    if (config.path.empty()) throw std::invalid_argument("store: type sqlite needs a path");
    return std::make_unique<SqliteStore>(config.path);
  }
  if (config.type == "etcd") {
    if (config.endpoints.empty()) throw std::invalid_argument("store: type etcd needs endpoints (http://host:port)");
    return std::make_unique<EtcdStore>(config.endpoints);
  }
  throw std::invalid_argument("store: unknown type '" + config.type + "' (want sqlite or etcd)");
}

}  // namespace cnikit::store
