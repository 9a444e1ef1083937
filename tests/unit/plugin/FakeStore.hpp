#pragma once
// An in-memory Store for unit tests: keys, revisions and a switch that makes every call
// throw StoreUnavailable. Watches and leases are not needed by the plugin tests.
#include <map>
#include <mutex>
#include <stdexcept>

#include "core/store/Store.hpp"

namespace cnikit::test {

class FakeStore : public store::Store {
 public:
  void setUnavailable(bool unavailable) {
    std::lock_guard lock(mutex_);
    unavailable_ = unavailable;
  }

  std::optional<store::KeyValue> get(std::string_view key) override {
    std::lock_guard lock(mutex_);
    reachable();
    auto it = data_.find(std::string(key));
    if (it == data_.end()) return std::nullopt;
    return it->second;
  }
  store::Revision put(std::string_view key, std::string_view value, store::LeaseId lease = 0) override {
    std::lock_guard lock(mutex_);
    reachable();
    return write(key, value, lease);
  }
  bool createIfAbsent(std::string_view key, std::string_view value, store::LeaseId lease = 0) override {
    std::lock_guard lock(mutex_);
    reachable();
    if (data_.count(std::string(key))) return false;
    write(key, value, lease);
    return true;
  }
  bool compareAndSwap(std::string_view key, store::Revision expected, std::string_view value,
                      store::LeaseId lease = 0) override {
    std::lock_guard lock(mutex_);
    reachable();
    auto it = data_.find(std::string(key));
    store::Revision current = it == data_.end() ? 0 : it->second.modRevision;
    if (current != expected) return false;
    write(key, value, lease);
    return true;
  }
  bool remove(std::string_view key) override {
    std::lock_guard lock(mutex_);
    reachable();
    if (data_.erase(std::string(key)) == 0) return false;
    ++revision_;
    return true;
  }
  bool compareAndDelete(std::string_view key, store::Revision expected) override {
    std::lock_guard lock(mutex_);
    reachable();
    auto it = data_.find(std::string(key));
    if (it == data_.end() || it->second.modRevision != expected) return false;
    data_.erase(it);
    ++revision_;
    return true;
  }
  std::vector<store::KeyValue> list(std::string_view prefix) override {
    std::lock_guard lock(mutex_);
    reachable();
    std::vector<store::KeyValue> out;
    for (auto it = data_.lower_bound(std::string(prefix)); it != data_.end() && it->first.starts_with(prefix); ++it)
      out.push_back(it->second);
    return out;
  }
  store::Revision revision() override {
    std::lock_guard lock(mutex_);
    return revision_;
  }
  std::unique_ptr<store::Watch> watch(std::string_view, store::Revision, store::WatchCallback,
                                      store::CompactedCallback) override {
    throw std::logic_error("FakeStore: watch is not implemented");
  }
  store::LeaseId grantLease(std::chrono::seconds) override {
    throw std::logic_error("FakeStore: leases are not implemented");
  }
  bool keepAlive(store::LeaseId) override { throw std::logic_error("FakeStore: leases are not implemented"); }
  void revokeLease(store::LeaseId) override { throw std::logic_error("FakeStore: leases are not implemented"); }
  std::string describe() const override { return "fake"; }

 private:
  void reachable() const {
    if (unavailable_) throw store::StoreUnavailable("fake store is down");
  }
  store::Revision write(std::string_view key, std::string_view value, store::LeaseId lease) {
    ++revision_;
    auto& kv = data_[std::string(key)];
    if (kv.createRevision == 0) kv.createRevision = revision_;
    kv.key = std::string(key);
    kv.value = std::string(value);
    kv.modRevision = revision_;
    kv.lease = lease;
    return revision_;
  }

  std::mutex mutex_;
  bool unavailable_ = false;
  store::Revision revision_ = 0;
  std::map<std::string, store::KeyValue> data_;
};

}  // namespace cnikit::test
