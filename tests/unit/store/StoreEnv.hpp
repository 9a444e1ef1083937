#pragma once
// What the Store conformance suite needs from an implementation: fresh, empty stores and
// more clients of the same one. The etcd implementation joins by adding its own env.
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "core/store/Store.hpp"

namespace cnikit::store::test {

class StoreEnv {
 public:
  virtual ~StoreEnv() = default;
  // A new client of the same underlying store (as another process would open it).
  virtual std::unique_ptr<Store> open() = 0;
  // Drops the event history up to and including rev.
  virtual void compact(Store& store, Revision rev) = 0;
};

struct StoreEnvFactory {
  std::string name;  // test name suffix
  std::function<std::unique_ptr<StoreEnv>()> make;
};

// Failure messages name the implementation instead of dumping the struct's bytes.
inline void PrintTo(const StoreEnvFactory& factory, std::ostream* os) { *os << factory.name; }

}  // namespace cnikit::store::test
