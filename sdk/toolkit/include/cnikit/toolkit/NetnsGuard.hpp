#pragma once
// Moves the calling thread into a network namespace and moves it back on destruction
// (the shape of Pixie's scoped_namespace: a factory that can fail, a restoring destructor).
// Network namespaces are per thread: the guard must be destroyed on the thread that made it.
#include <thread>
#include <type_traits>
#include <utility>

#include <cnikit/toolkit/Netns.hpp>

namespace cnikit::toolkit {

class NetnsGuard {
 public:
  static Result<NetnsGuard> enter(const std::string& path);
  static Result<NetnsGuard> enter(const Netns& target);

  // Restores the original namespace. If that fails the thread would keep working in the
  // wrong namespace, so the process aborts with a message instead.
  ~NetnsGuard();
  NetnsGuard(NetnsGuard&& other) noexcept;
  NetnsGuard& operator=(NetnsGuard&&) = delete;
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;

  // Restores early and reports an error instead of aborting; the destructor then does nothing.
  Status restore();

 private:
  NetnsGuard(Netns original, bool switched)
      : original_(std::move(original)), switched_(switched), thread_(std::this_thread::get_id()) {}
  Netns original_;
  bool switched_;  // false when the target was the current namespace (nothing to undo)
  std::thread::id thread_;
};

// Runs fn() with the calling thread inside target and moves it back. fn returns void or a
// Result<T>; inNetns returns Status or that Result<T>, carrying the error of entering or
// leaving the namespace when one happens. Do not let exceptions leave fn: the guard would
// still restore the namespace, but the caller gets the exception instead of a Result.
template <class F>
auto inNetns(const Netns& target, F&& fn) {
  using R = std::invoke_result_t<F>;
  auto guard = NetnsGuard::enter(target);
  if constexpr (std::is_void_v<R>) {
    if (!guard) return Status(guard.error());
    std::forward<F>(fn)();
    return guard.value().restore();
  } else {
    if (!guard) return R(guard.error());
    R result = std::forward<F>(fn)();
    if (auto restored = guard.value().restore(); !restored) return R(restored.error());
    return result;
  }
}

}  // namespace cnikit::toolkit
