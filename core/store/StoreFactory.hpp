#pragma once
// Opens the store a config names: "sqlite" (a file, one node) or "etcd" (a cluster).
#include <memory>
#include <string>
#include <vector>

#include "core/store/Store.hpp"

namespace cnikit::store {

struct StoreConfig {
  std::string type = "sqlite";
  std::string path;                    // sqlite: the database file
  std::vector<std::string> endpoints;  // etcd: http://host:port, ...
};

// Throws std::invalid_argument naming the field for an unusable config, StoreUnavailable
// when the store cannot be opened.
std::unique_ptr<Store> openStore(const StoreConfig& config);

}  // namespace cnikit::store
