#include "core/store/StoreFactory.hpp"

#include <stdexcept>

#include "core/store/SqliteStore.hpp"

namespace cnikit::store {

std::unique_ptr<Store> openStore(const StoreConfig& config) {
  if (config.type == "sqlite") {
    if (config.path.empty()) throw std::invalid_argument("store: type sqlite needs a path");
    return std::make_unique<SqliteStore>(config.path);
  }
  if (config.type == "etcd") throw std::invalid_argument("etcd store not built yet");
  throw std::invalid_argument("store: unknown type '" + config.type + "' (want sqlite or etcd)");
}

}  // namespace cnikit::store
