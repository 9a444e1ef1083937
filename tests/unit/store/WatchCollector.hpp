#pragma once
// Collects watch deliveries so a test can wait for them.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "core/store/Store.hpp"

namespace cnikit::store::test {

class WatchCollector {
 public:
  WatchCallback callback() {
    return [this](const std::vector<Event>& events) {
      std::lock_guard lock(mutex_);
      ++batches_;
      events_.insert(events_.end(), events.begin(), events.end());
      cv_.notify_all();
    };
  }
  CompactedCallback compactedCallback() {
    return [this] {
      std::lock_guard lock(mutex_);
      compacted_ = true;
      cv_.notify_all();
    };
  }
  // True when at least n events arrived within timeout.
  bool waitFor(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return events_.size() >= n; });
  }
  bool waitCompacted(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return compacted_; });
  }
  std::vector<Event> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  bool compacted() {
    std::lock_guard lock(mutex_);
    return compacted_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Event> events_;
  size_t batches_ = 0;
  bool compacted_ = false;
};

}  // namespace cnikit::store::test
