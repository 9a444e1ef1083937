#pragma once
// Undo steps for a multi-step operation: each step registers its undo; unless commit() is
// called, the destructor runs them newest first. An undo step that throws does not stop the
// others and does not leave the guard (the original failure is what the caller reports); the
// optional reporter hears its message, e.g. to log it.
#include <exception>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace cnikit::toolkit {

class Rollback {
 public:
  using Reporter = std::function<void(const std::string& what)>;

  Rollback() = default;
  // A guard with its first undo step.
  explicit Rollback(std::function<void()> undo, Reporter reporter = {}) : reporter_(std::move(reporter)) {
    add(std::move(undo));
  }
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
      } catch (const std::exception& e) {
        report(e.what());
      } catch (...) {
        report("unknown exception");
      }
    }
  }

 private:
  void report(const std::string& what) noexcept {
    if (!reporter_) return;
    try {
      reporter_(what);
    } catch (...) {
    }
  }

  std::vector<std::function<void()>> undos_;
  Reporter reporter_;
};

}  // namespace cnikit::toolkit
