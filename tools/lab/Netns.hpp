#pragma once
// Named network namespaces, made the iproute2 way (a bind mount at /run/netns/<name>) so
// that `ip -n`, nsenter and runtimes find them; inNetns runs code in one on a fresh thread
// (the guard is the toolkit's NetnsGuard; namespaces are per thread).
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <cnikit/toolkit/NetnsGuard.hpp>

namespace cnikit::lab {

// `ip netns add NAME` and loopback up. Throws std::runtime_error with ip's message.
void createNetns(const std::string& name);
// Unmounts and removes /run/netns/NAME (`ip netns del`, or unlink when it is no mount any
// more). true when it existed.
bool deleteNetns(const std::string& name);
bool netnsExists(const std::string& name);
// Names under /run/netns starting with prefix.
std::vector<std::string> listNetns(const std::string& prefix);

// Runs f on a fresh thread inside netnsPath and returns its result (exceptions propagate):
// the caller's own thread never changes namespace.
template <class F>
std::invoke_result_t<F> inNetns(const std::string& netnsPath, F&& f) {
  using R = std::invoke_result_t<F>;
  std::exception_ptr error;
  if constexpr (std::is_void_v<R>) {
    std::thread([&] {
      try {
        auto guard = toolkit::NetnsGuard::enter(netnsPath).value();
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
        auto guard = toolkit::NetnsGuard::enter(netnsPath).value();
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
