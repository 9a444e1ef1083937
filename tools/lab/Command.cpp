#include "tools/lab/Command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/rpc/UniqueFd.hpp"

extern char** environ;

namespace cnikit::lab {

namespace {

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string CommandResult::describe(const std::vector<std::string>& argv) const {
  std::string s = joined(argv) + ": ";
  if (timedOut) return s + "timed out";
  s += exitCode == -1 ? "could not start" : "exit " + std::to_string(exitCode);
  if (!err.empty())
    s += ": " + trimmed(err);
  else if (!out.empty())
    s += ": " + trimmed(out);
  return s;
}

CommandResult runCommand(const CommandSpec& spec) {
  CommandResult result;
  if (spec.argv.empty()) {
    result.err = "empty command";
    return result;
  }
  rpc::UniqueFd netns;
  if (!spec.netnsPath.empty()) {
    netns = rpc::UniqueFd(::open(spec.netnsPath.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns) {
      result.err = "cannot open network namespace " + spec.netnsPath + ": " + std::strerror(errno);
      return result;
    }
  }
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  if (::pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));

  // Everything the child needs is prepared before fork: only async-signal-safe calls after.
  std::vector<char*> args;
  for (const auto& a : spec.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> envText;
  std::vector<char*> envp;
  if (spec.replaceEnv || !spec.env.empty()) {
    if (!spec.replaceEnv)
      for (char** e = environ; *e; ++e) {
        std::string entry(*e);
        if (!spec.env.count(entry.substr(0, entry.find('=')))) envText.push_back(entry);
      }
    if (spec.replaceEnv && !spec.env.count("PATH"))
      if (const char* path = ::getenv("PATH")) envText.push_back(std::string("PATH=") + path);
    for (const auto& [k, v] : spec.env) envText.push_back(k + "=" + v);
    for (auto& e : envText) envp.push_back(e.data());
    envp.push_back(nullptr);
  }

  // A tool that exits before reading all of its stdin must not kill us with SIGPIPE.
  static const bool ignored = [] { return ::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
  (void)ignored;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::signal(SIGPIPE, SIG_DFL);
    if (netns && ::setns(netns.get(), CLONE_NEWNET) != 0) _exit(126);
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    if (!envp.empty()) environ = envp.data();
    ::execvp(args[0], args.data());
    _exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (pid < 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    result.err = std::string("fork: ") + std::strerror(errno);
    return result;
  }
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  size_t written = 0;
  if (spec.stdinText.empty()) {
    ::close(in[1]);
    in[1] = -1;
  }

  auto deadline = std::chrono::steady_clock::now() + spec.timeout;
  pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
  char buf[8192];
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timedOut = true;
      ::kill(pid, SIGKILL);
      break;
    }
    int n = ::poll(fds, 3, static_cast<int>(left.count()));
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
      }
    }
    if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n2 = ::write(fds[2].fd, spec.stdinText.data() + written, spec.stdinText.size() - written);
      if (n2 > 0) written += static_cast<size_t>(n2);
      if (n2 < 0 && errno != EAGAIN && errno != EINTR) written = spec.stdinText.size();
      if (written >= spec.stdinText.size()) {
        ::close(fds[2].fd);
        fds[2].fd = -1;
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
  if (result.exitCode == 127 && result.err.empty()) result.err = "cannot execute " + spec.argv[0];
  if (result.exitCode == 126 && result.err.empty()) result.err = "cannot enter network namespace " + spec.netnsPath;
  return result;
}

std::string runChecked(const CommandSpec& spec) {
  auto r = runCommand(spec);
  if (r.exitCode != 0) {
    std::string where = spec.netnsPath.empty() ? "" : " (in " + spec.netnsPath + ")";
    throw std::runtime_error(r.describe(spec.argv) + where);
  }
  return r.out;
}

std::string runChecked(const std::vector<std::string>& argv, const std::string& netnsPath,
                       const std::string& stdinText) {
  CommandSpec spec;
  spec.argv = argv;
  spec.netnsPath = netnsPath;
  spec.stdinText = stdinText;
  return runChecked(spec);
}

}  // namespace cnikit::lab
