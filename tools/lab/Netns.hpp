#pragma once
// Named network namespaces, made the iproute2 way (a bind mount at /run/netns/<name>) so
// that `ip -n`, nsenter and runtimes find them, and a guard that moves the calling thread
// into one and back (namespaces are per thread).
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/rpc/UniqueFd.hpp"

namespace cnikit::lab {

// `ip netns add NAME` and loopback up. Throws std::runtime_error with ip's message.
void createNetns(const std::string& name);
// Unmounts and removes /run/netns/NAME (`ip netns del`, or unlink when it is no mount any
// more). true when it existed.
bool deleteNetns(const std::string& name);
bool netnsExists(const std::string& name);
// Names under /run/netns starting with prefix.
std::vector<std::string> listNetns(const std::string& prefix);

// Moves the current thread into the namespace at netnsPath; the destructor moves it back.
class NetnsGuard {
 public:
  // Throws std::runtime_error naming the path when it cannot.
  explicit NetnsGuard(const std::string& netnsPath);
  ~NetnsGuard();
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;

 private:
  rpc::UniqueFd original_;
};

// Runs f on a fresh thread inside netnsPath and returns its result (exceptions propagate):
// the caller's own thread never changes namespace.
template <class F>
std::invoke_result_t<F> inNetns(const std::string& netnsPath, F&& f) {
  using R = std::invoke_result_t<F>;
  std::exception_ptr error;
  if constexpr (std::is_void_v<R>) {
    std::thread([&] {
      try {
        NetnsGuard guard(netnsPath);
        f();
      } catch (...) {
        error = std::current_exception();
      }
    }).join();
    if (error) std::rethrow_exception(error);
  } else {
    std::optional<R> result;
    std::thread([&] {
      try {
        NetnsGuard guard(netnsPath);
        result.emplace(f());
      } catch (...) {
        error = std::current_exception();
      }
    }).join();
    if (error) std::rethrow_exception(error);
    return std::move(*result);
  }
}

}  // namespace cnikit::lab
