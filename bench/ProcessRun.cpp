#include "ProcessRun.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace cnikit::bench {
namespace {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

Pipe makePipe(const char* what) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), what);
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

class SpawnActions {
 public:
  SpawnActions() { posix_spawn_file_actions_init(&actions_); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions_); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
  void dup2(int from, int to) { posix_spawn_file_actions_adddup2(&actions_, from, to); }
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

}  // namespace

std::string ProcessOutcome::describeEnd() const {
  if (exited) return "exit code " + std::to_string(exitCode);
  return "killed by signal " + std::to_string(signal);
}

ProcessOutcome runProcess(const std::string& path, const std::vector<std::string>& env,
                          const std::string& stdinText) {
  Pipe in = makePipe("stdin pipe");
  Pipe out = makePipe("stdout pipe");
  Pipe err = makePipe("stderr pipe");
  // Only our end is non-blocking: a large stdin must not stall the reads below.
  ::fcntl(in.write.get(), F_SETFL, O_NONBLOCK);

  SpawnActions actions;
  actions.dup2(in.read.get(), 0);  // dup2 drops close-on-exec on the child's copy
  actions.dup2(out.write.get(), 1);
  actions.dup2(err.write.get(), 2);

  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (const auto& entry : env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>(path.c_str()), nullptr};

  ProcessOutcome outcome;
  auto start = std::chrono::steady_clock::now();
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, path.c_str(), actions.get(), nullptr, argv, envp.data());
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn " + path);
  in.read.reset();
  out.write.reset();
  err.write.reset();

  size_t written = 0;
  if (stdinText.empty()) in.write.reset();
  char buffer[16384];
  while (out.read.get() >= 0 || err.read.get() >= 0 || in.write.get() >= 0) {
    pollfd fds[3] = {{in.write.get(), POLLOUT, 0}, {out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "poll on child pipes");
    }
    if (fds[0].revents != 0) {
      ssize_t n = ::write(in.write.get(), stdinText.data() + written, stdinText.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      // EPIPE: the child stopped reading; that is its business, its exit code tells.
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == stdinText.size()) in.write.reset();
    }
    for (int i = 1; i < 3; ++i) {
      if (fds[i].revents == 0) continue;
      Fd& fd = i == 1 ? out.read : err.read;
      ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
      if (n > 0) {
        (i == 1 ? outcome.out : outcome.err).append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        fd.reset();
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid " + path);
  }
  outcome.wall = std::chrono::steady_clock::now() - start;
  outcome.exited = WIFEXITED(status);
  outcome.exitCode = outcome.exited ? WEXITSTATUS(status) : -1;
  outcome.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return outcome;
}

}  // namespace cnikit::bench
