#include <cnikit/toolkit/Process.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>

#include <cnikit/toolkit/NetnsGuard.hpp>
#include <cnikit/toolkit/UniqueFd.hpp>

extern char** environ;

namespace cnikit::toolkit {

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

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Result<Pipe> makePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errnoError(errno, "making a pipe for a child process");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attr_);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

// The child's environment, or nullopt to pass the parent's unchanged.
std::optional<std::vector<std::string>> childEnvironment(const ProcessSpec& spec) {
  if (!spec.replaceEnv && spec.env.empty()) return std::nullopt;
  std::vector<std::string> out;
  if (!spec.replaceEnv)
    for (char** e = environ; *e; ++e) {
      std::string entry(*e);
      if (!spec.env.count(entry.substr(0, entry.find('=')))) out.push_back(entry);
    }
  if (spec.replaceEnv && !spec.env.count("PATH"))
    if (const char* path = ::getenv("PATH")) out.push_back(std::string("PATH=") + path);
  for (const auto& [k, v] : spec.env) out.push_back(k + "=" + v);
  return out;
}

// Blocks SIGPIPE in this thread while we write the child's stdin (a child that exits without
// reading must not kill us) and drops one that arrived, without touching the process's
// signal dispositions (the toolkit lives inside other programs).
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlock() {
    timespec zero{};
    while (sigtimedwait(&pipe_, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
};

}  // namespace

std::string ProcessResult::describe(const std::vector<std::string>& argv) const {
  std::string s = joined(argv) + ": ";
  if (timedOut) return s + "timed out";
  if (signal)
    s += "killed by signal " + std::to_string(signal);
  else
    s += exitCode == -1 ? "could not start" : "exit " + std::to_string(exitCode);
  if (!err.empty())
    s += ": " + trimmed(err);
  else if (!out.empty())
    s += ": " + trimmed(out);
  return s;
}

ProcessResult notStarted(const Error& error) {
  ProcessResult result;
  bool notExecutable = error.code == ENOENT || error.code == EACCES || error.code == ENOEXEC;
  result.exitCode = notExecutable ? 127 : -1;
  result.err = error.message;
  return result;
}

Result<ProcessResult> runProcess(const ProcessSpec& spec) {
  if (spec.argv.empty()) return Error{EINVAL, "running a process: empty argv"};
  auto in = makePipe();
  if (!in) return in.error();
  auto out = makePipe();
  if (!out) return out.error();
  auto err = makePipe();
  if (!err) return err.error();

  SpawnSetup setup;
  posix_spawn_file_actions_adddup2(&setup.actions_, in.value().read.get(), STDIN_FILENO);  // drops CLOEXEC
  posix_spawn_file_actions_adddup2(&setup.actions_, out.value().write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions_, err.value().write.get(), STDERR_FILENO);
  // The child starts with default signal handling and an empty mask, whatever this thread has.
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&setup.attr_, &all);
  posix_spawnattr_setsigmask(&setup.attr_, &none);
  posix_spawnattr_setflags(&setup.attr_, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args;
  for (const auto& a : spec.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  auto envText = childEnvironment(spec);
  std::vector<char*> envp;
  if (envText) {
    for (auto& e : *envText) envp.push_back(e.data());
    envp.push_back(nullptr);
  }

  ProcessResult result;
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = -1;
  int rc = 0;
  {
    // The child inherits the spawning thread's namespace: enter it just for the spawn.
    std::optional<NetnsGuard> inside;
    if (!spec.netnsPath.empty()) {
      auto guard = NetnsGuard::enter(spec.netnsPath);
      if (!guard) return Error{guard.error().code, "running " + spec.argv[0] + ": " + guard.error().message};
      inside.emplace(std::move(guard).value());
    }
    rc = ::posix_spawnp(&pid, args[0], &setup.actions_, &setup.attr_, args.data(), envText ? envp.data() : environ);
    if (inside)
      if (auto restored = inside->restore(); !restored) {
        if (rc == 0) ::kill(pid, SIGKILL), ::waitpid(pid, nullptr, 0);
        return restored.error();
      }
  }
  if (rc != 0) return errnoError(rc, "cannot execute " + spec.argv[0]);
  in.value().read.reset();
  out.value().write.reset();
  err.value().write.reset();

  UniqueFd& stdinFd = in.value().write;
  ::fcntl(stdinFd.get(), F_SETFL, O_NONBLOCK);  // a large stdin must not stall the reads
  if (spec.stdinText.empty()) stdinFd.reset();
  size_t written = 0;
  const bool limited = spec.timeout.count() > 0;
  const auto deadline = start + spec.timeout;
  SigpipeBlock sigpipe;
  char buf[16384];
  UniqueFd* readers[2] = {&out.value().read, &err.value().read};
  while (readers[0]->valid() || readers[1]->valid()) {
    int wait = -1;
    if (limited) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        result.timedOut = true;
        ::kill(pid, SIGKILL);  // by its PID: ours, not yet reaped, so not reused
        break;
      }
      wait = static_cast<int>(left.count()) + 1;
    }
    pollfd fds[3] = {{readers[0]->get(), POLLIN, 0}, {readers[1]->get(), POLLIN, 0}, {stdinFd.get(), POLLOUT, 0}};
    int n = ::poll(fds, 3, wait);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (!fds[i].revents) continue;
      ssize_t got = ::read(readers[i]->get(), buf, sizeof buf);
      if (got > 0)
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(got));
      else if (got == 0 || (errno != EINTR && errno != EAGAIN))
        readers[i]->reset();
    }
    if (fds[2].revents) {
      ssize_t put = ::write(stdinFd.get(), spec.stdinText.data() + written, spec.stdinText.size() - written);
      if (put > 0) written += static_cast<size_t>(put);
      // EPIPE: the child stopped reading; its exit code tells the rest.
      if ((put < 0 && errno != EAGAIN && errno != EINTR) || written >= spec.stdinText.size()) stdinFd.reset();
    }
  }
  stdinFd.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.wall = std::chrono::steady_clock::now() - start;
  if (WIFEXITED(status)) {
    result.exitCode = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
    result.exitCode = 128 + result.signal;
  }
  return result;
}

}  // namespace cnikit::toolkit
