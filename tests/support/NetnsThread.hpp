#pragma once
// A thread parked inside a network namespace that runs work for the test. Namespaces are
// per thread: code under test that works "in the current namespace" (a backend's host side)
// runs through call() and so never touches the namespace of the test's own threads.
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>

namespace cnikit::testing {

class NetnsThread {
 public:
  // Starts the thread and enters netnsPath; throws std::runtime_error naming the path and
  // the error when it cannot.
  explicit NetnsThread(const std::string& netnsPath);
  ~NetnsThread();
  NetnsThread(const NetnsThread&) = delete;
  NetnsThread& operator=(const NetnsThread&) = delete;

  // Runs f on the thread and returns its result; exceptions are rethrown here.
  template <class F>
  std::invoke_result_t<F> call(F&& f) {
    std::packaged_task<std::invoke_result_t<F>()> task(std::forward<F>(f));
    auto result = task.get_future();
    post([&task] { task(); });
    return result.get();
  }

  const std::string& netnsPath() const { return path_; }

 private:
  void post(std::function<void()> work);
  void loop(std::promise<void> entered);

  std::string path_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

// Moves the calling thread into the namespace at path for good (a probe thread that ends
// after); throws std::runtime_error naming the path.
void enterNetns(const std::string& path);

// Runs f once on a fresh thread inside netnsPath and returns its result (exceptions
// propagate). For one-off checks; NetnsThread for repeated work.
template <class F>
std::invoke_result_t<F> inNetnsThread(const std::string& netnsPath, F&& f) {
  NetnsThread t(netnsPath);
  return t.call(std::forward<F>(f));
}

}  // namespace cnikit::testing
