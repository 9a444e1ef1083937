#pragma once
// Undo steps for a multi-step operation: each step registers its undo; unless commit() is
// called, the destructor runs them newest first. Undo errors are swallowed (the original
// failure is what the caller reports), so undo actions must not throw past this guard.
#include <functional>
#include <utility>
#include <vector>

namespace cnikit::toolkit {

class Rollback {
 public:
  Rollback() = default;
  ~Rollback() { run(); }
  Rollback(const Rollback&) = delete;
  Rollback& operator=(const Rollback&) = delete;

  void add(std::function<void()> undo) { undos_.push_back(std::move(undo)); }
  void commit() { undos_.clear(); }
  // Runs the undo steps now (newest first) and forgets them.
  void run() noexcept {
    while (!undos_.empty()) {
      auto undo = std::move(undos_.back());
      undos_.pop_back();
      try {
        undo();
      } catch (...) {
      }
    }
  }

 private:
  std::vector<std::function<void()>> undos_;
};

}  // namespace cnikit::toolkit
