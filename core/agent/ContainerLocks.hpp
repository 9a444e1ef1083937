#pragma once
// Serialises work per container: two verbs for one container never run at once, verbs for
// different containers run in parallel.
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace cnikit::agent {

class ContainerLocks {
 public:
  class Held {
   public:
    Held(std::shared_ptr<std::mutex> m) : mutex_(std::move(m)), lock_(*mutex_) {}

   private:
    std::shared_ptr<std::mutex> mutex_;  // keeps the mutex alive while held
    std::unique_lock<std::mutex> lock_;
  };

  Held lock(const std::string& containerId) {
    std::shared_ptr<std::mutex> m;
    {
      std::lock_guard guard(mutex_);
      auto& slot = locks_[containerId];
      m = slot.lock();
      if (!m) {
        m = std::make_shared<std::mutex>();
        slot = m;
      }
      // Drop entries nobody holds any more so the map stays as small as the live set.
      if (locks_.size() > 1024) std::erase_if(locks_, [](const auto& kv) { return kv.second.expired(); });
    }
    return Held(std::move(m));
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::weak_ptr<std::mutex>> locks_;
};

}  // namespace cnikit::agent
