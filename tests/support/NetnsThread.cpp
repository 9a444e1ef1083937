#include "tests/support/NetnsThread.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace cnikit::testing {

NetnsThread::NetnsThread(const std::string& netnsPath) : path_(netnsPath) {
  std::promise<void> entered;
  auto ready = entered.get_future();
  thread_ = std::thread([this, p = std::move(entered)]() mutable { loop(std::move(p)); });
  try {
    ready.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

NetnsThread::~NetnsThread() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void NetnsThread::post(std::function<void()> work) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(work));
  }
  wake_.notify_one();
}

void NetnsThread::loop(std::promise<void> entered) {
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
    std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    entered.set_exception(
        std::make_exception_ptr(std::runtime_error("cannot enter network namespace '" + path_ + "': " + why)));
    return;
  }
  ::close(fd);
  entered.set_value();
  for (;;) {
    std::function<void()> work;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and nothing left
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();  // a packaged_task: exceptions travel in its future
  }
}

void enterNetns(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
    const int error = errno;
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("setns " + path + ": " + std::strerror(error));
  }
  ::close(fd);
}

}  // namespace cnikit::testing
