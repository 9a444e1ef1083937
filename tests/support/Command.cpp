#include "tests/support/Command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cnikit::testing {

std::string CommandResult::describe() const {
  std::string s = timedOut ? "timed out" : "exit " + std::to_string(exitCode);
  if (!out.empty()) s += ", stdout: " + out;
  if (!err.empty()) s += ", stderr: " + err;
  return s;
}

namespace {

CommandResult spawn(int netnsFd, const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  CommandResult result;
  if (argv.empty()) {
    result.err = "empty command";
    return result;
  }
  int outPipe[2], errPipe[2];
  if (::pipe2(outPipe, O_CLOEXEC) != 0) {
    result.err = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  if (::pipe2(errPipe, O_CLOEXEC) != 0) {
    result.err = std::string("pipe: ") + std::strerror(errno);
    ::close(outPipe[0]);
    ::close(outPipe[1]);
    return result;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    if (netnsFd >= 0 && ::setns(netnsFd, CLONE_NEWNET) != 0) _exit(126);
    ::dup2(outPipe[1], STDOUT_FILENO);
    ::dup2(errPipe[1], STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  ::close(outPipe[1]);
  ::close(errPipe[1]);
  if (pid < 0) {
    result.err = std::string("fork: ") + std::strerror(errno);
    ::close(outPipe[0]);
    ::close(errPipe[0]);
    return result;
  }

  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{outPipe[0], POLLIN, 0}, {errPipe[0], POLLIN, 0}};
  int open = 2;
  char buf[4096];
  while (open > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timedOut = true;
      ::kill(pid, SIGKILL);
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status))
    result.exitCode = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.exitCode = 128 + WTERMSIG(status);
  if (result.exitCode == 127 && result.err.empty()) result.err = "cannot execute '" + argv[0] + "'";
  if (result.exitCode == 126 && netnsFd >= 0 && result.err.empty()) result.err = "cannot enter the network namespace";
  return result;
}

}  // namespace

CommandResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  return spawn(-1, argv, timeout);
}

CommandResult runInNetns(const std::string& netnsPath, const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout) {
  int fd = ::open(netnsPath.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    CommandResult r;
    r.err = "opening " + netnsPath + ": " + std::strerror(errno);
    return r;
  }
  CommandResult r = spawn(fd, argv, timeout);
  ::close(fd);
  return r;
}

}  // namespace cnikit::testing
