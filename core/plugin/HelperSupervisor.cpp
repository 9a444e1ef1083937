#include "core/plugin/HelperSupervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cnikit/toolkit/UniqueFd.hpp>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <thread>

namespace cnikit::plugin {

using toolkit::UniqueFd;
using Clock = std::chrono::steady_clock;

struct HelperSupervisor::Helper {
  HelperSpec spec;
  std::atomic<RestartPolicy> restart{RestartPolicy::Never};  // a later spawn may change it
  std::mutex mutex;                                          // guards pid, pidfd, child and started
  pid_t pid = 0;                                             // 0: not running
  UniqueFd pidfd;
  bool child = false;  // started by us (waitpid gives its status) or adopted
  Clock::time_point started;
  UniqueFd wake;  // eventfd: stop watching
  std::atomic<bool> stopping{false};
  std::thread thread;
};

namespace {

int pidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
int pidfdSignal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

bool validName(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

void validate(const HelperSpec& spec) {
  if (!validName(spec.name)) throw std::invalid_argument("helper name '" + spec.name + "' must match [a-zA-Z0-9_.-]+");
  if (spec.argv.empty()) throw std::invalid_argument("helper '" + spec.name + "': argv is empty");
  if (spec.argv[0].empty() || spec.argv[0].front() != '/')
    throw std::invalid_argument("helper '" + spec.name + "': argv[0] '" + spec.argv[0] + "' is not an absolute path");
  if (!spec.netns.empty() && spec.netns.front() != '/')
    throw std::invalid_argument("helper '" + spec.name + "': netns '" + spec.netns + "' is not an absolute path");
}

std::system_error systemError(int err, const std::string& what) {
  return std::system_error(err, std::generic_category(), what);
}

// Field 22 of /proc/<pid>/stat: with the PID it names one process for the machine's uptime.
std::optional<uint64_t> startTime(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 2));  // field 3 onwards
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i)
    if (i == 22) return std::stoull(field);
  return std::nullopt;
}

std::vector<std::string> cmdline(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> argv;
  size_t start = 0;
  while (start < raw.size()) {
    size_t end = raw.find('\0', start);
    if (end == std::string::npos) end = raw.size();
    argv.push_back(raw.substr(start, end - start));
    start = end + 1;
  }
  return argv;
}

// Namespaces are the same when their nsfs inodes are.
bool sameNetns(pid_t pid, const std::string& netns) {
  struct stat a {
  }, b{};
  std::string mine = "/proc/" + std::to_string(pid) + "/ns/net";
  std::string want = netns.empty() ? "/proc/self/ns/net" : netns;
  if (::stat(mine.c_str(), &a) != 0 || ::stat(want.c_str(), &b) != 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

struct PidRecord {
  pid_t pid = 0;
  uint64_t startTime = 0;
};

std::optional<PidRecord> readPidfile(const std::filesystem::path& path) {
  std::ifstream in(path);
  PidRecord r;
  if (!(in >> r.pid >> r.startTime) || r.pid <= 0) return std::nullopt;
  return r;
}

void writePidfile(const std::filesystem::path& path, const PidRecord& r) {
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << r.pid << ' ' << r.startTime << '\n';
    if (!out.flush()) throw systemError(errno, "cannot write pidfile " + tmp.string());
  }
  std::filesystem::rename(tmp, path);
}

std::string describeStatus(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
  return "ended";
}

// Waits until the pidfd is readable (the process ended) or the timeout passes.
bool waitExit(int pidfd, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{pidfd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left, 0)));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace

HelperSupervisor::HelperSupervisor(std::filesystem::path dir, std::string owner)
    : HelperSupervisor(std::move(dir), std::move(owner), Options{}) {}

HelperSupervisor::HelperSupervisor(std::filesystem::path dir, std::string owner, Options options)
    : dir_(std::move(dir)), owner_(std::move(owner)), options_(options) {}

HelperSupervisor::~HelperSupervisor() {
  try {
    shutdown(false);
  } catch (...) {
  }
}

std::filesystem::path HelperSupervisor::pidfile(const std::string& name) const { return dir_ / (name + ".pid"); }
std::filesystem::path HelperSupervisor::logfile(const std::string& name) const { return dir_ / (name + ".log"); }

int64_t HelperSupervisor::spawn(const HelperSpec& spec) {
  validate(spec);
  std::lock_guard lock(mutex_);
  if (shutDown_) throw std::logic_error("helper '" + spec.name + "': the supervisor of '" + owner_ + "' is shut down");
  if (auto it = helpers_.find(spec.name); it != helpers_.end()) {
    Helper& h = *it->second;
    bool same = h.spec.argv == spec.argv && h.spec.netns == spec.netns;
    if (same) {
      std::lock_guard hl(h.mutex);
      h.restart = spec.restart;
      if (h.pid != 0) return h.pid;
    }
    // It ended and was not restarted, or it runs another argv or netns: start it afresh.
    if (!same) spdlog::info("[backend {}] helper '{}' gets another argv or netns: replacing it", owner_, spec.name);
    h.stopping = true;
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(h.wake.get(), &one, sizeof(one));
    if (h.thread.joinable()) h.thread.join();
    terminate(h);
    helpers_.erase(it);
  }
  std::filesystem::create_directories(dir_);

  auto helper = std::make_shared<Helper>();
  helper->spec = spec;
  helper->restart = spec.restart;
  helper->wake.reset(::eventfd(0, EFD_CLOEXEC));
  if (!helper->wake.valid()) throw systemError(errno, "helper '" + spec.name + "': eventfd");

  // A pidfile left by the previous agent names our helper only while PID and start time match.
  bool adopted = false;
  if (auto record = readPidfile(pidfile(spec.name)); record && startTime(record->pid) == record->startTime) {
    UniqueFd fd(pidfdOpen(record->pid));
    if (fd.valid() && cmdline(record->pid) == spec.argv && sameNetns(record->pid, spec.netns)) {
      helper->pid = record->pid;
      helper->pidfd = std::move(fd);
      helper->child = false;
      helper->started = Clock::now();
      adopted = true;
      spdlog::info("[backend {}] helper '{}' adopted (pid {})", owner_, spec.name, record->pid);
    } else if (fd.valid()) {
      // Ours, but started with another argv or netns: replace it.
      spdlog::info("[backend {}] helper '{}' (pid {}) runs another argv or netns: stopping it", owner_, spec.name,
                   record->pid);
      Helper stale;
      stale.spec = spec;
      stale.pid = record->pid;
      stale.pidfd = std::move(fd);
      terminate(stale);
    }
  }
  if (!adopted) launch(*helper);
  int64_t pid = helper->pid;
  helper->thread = std::thread([this, helper] { supervise(*helper); });
  helpers_[spec.name] = helper;
  return pid;
}

void HelperSupervisor::launch(Helper& helper) {
  const HelperSpec& spec = helper.spec;
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  // Everything that can fail with a useful message is opened before the fork.
  UniqueFd netns;
  if (!spec.netns.empty()) {
    netns.reset(::open(spec.netns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns.valid()) throw systemError(errno, "helper '" + spec.name + "': cannot open netns " + spec.netns);
  }
  std::string log = logfile(spec.name).string();
  UniqueFd logFd(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!logFd.valid()) throw systemError(errno, "helper '" + spec.name + "': cannot open log " + log);
  UniqueFd devNull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int errPipe[2];
  if (::pipe2(errPipe, O_CLOEXEC) != 0) throw systemError(errno, "helper '" + spec.name + "': pipe");
  UniqueFd errRead(errPipe[0]), errWrite(errPipe[1]);

  pid_t pid = ::fork();
  if (pid < 0) throw systemError(errno, "helper '" + spec.name + "': fork");
  if (pid == 0) {
    // Child: async-signal-safe calls only. Report {stage, errno} through the pipe on failure.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
    setsid();  // not in the agent's process group: a signal to the agent's group spares it
    int report[2] = {0, 0};
    if (netns.valid() && setns(netns.get(), CLONE_NEWNET) != 0) {
      report[0] = 1, report[1] = errno;
    } else if (dup2(devNull.get(), 0) < 0 || dup2(logFd.get(), 1) < 0 || dup2(logFd.get(), 2) < 0) {
      report[0] = 2, report[1] = errno;
    } else {
      close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);  // no agent fd leaks into the helper
      execv(argv[0], argv.data());
      report[0] = 3, report[1] = errno;
    }
    [[maybe_unused]] auto n = write(errPipe[1], report, sizeof(report));
    _exit(127);
  }
  errWrite.reset();
  int report[2] = {0, 0};
  ssize_t n;
  do n = ::read(errRead.get(), report, sizeof(report));
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    ::waitpid(pid, nullptr, 0);
    const char* stage = report[0] == 1 ? "setns into " : report[0] == 2 ? "redirecting output to " : "exec of ";
    std::string what = report[0] == 1 ? spec.netns : report[0] == 2 ? log : spec.argv[0];
    throw systemError(report[1], "helper '" + spec.name + "': " + stage + what);
  }
  UniqueFd pidfd(pidfdOpen(pid));
  if (!pidfd.valid()) {
    int err = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    throw systemError(err, "helper '" + spec.name + "': pidfd_open");
  }
  writePidfile(pidfile(spec.name), PidRecord{pid, startTime(pid).value_or(0)});
  std::lock_guard hl(helper.mutex);
  helper.pid = pid;
  helper.pidfd = std::move(pidfd);
  helper.child = true;
  helper.started = Clock::now();
  spdlog::info("[backend {}] helper '{}' started (pid {}), output in {}", owner_, spec.name, pid, log);
}

void HelperSupervisor::supervise(Helper& helper) {
  const std::string& name = helper.spec.name;
  auto backoff = options_.firstBackoff;
  // Sleeps up to d; false when told to stop meanwhile.
  auto pause = [&](std::chrono::milliseconds d) {
    pollfd p{helper.wake.get(), POLLIN, 0};
    while (::poll(&p, 1, static_cast<int>(d.count())) < 0 && errno == EINTR) {
    }
    return !helper.stopping;
  };
  for (;;) {
    pollfd fds[2] = {{helper.pidfd.get(), POLLIN, 0}, {helper.wake.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
      spdlog::error("[backend {}] helper '{}': poll failed: {}", owner_, name, std::strerror(errno));
      return;
    }
    if (helper.stopping) return;
    if (!(fds[0].revents & (POLLIN | POLLHUP))) continue;

    bool failed = true;
    std::string how = "ended (adopted: exit status unknown)";
    pid_t pid;
    Clock::duration ran;
    {
      std::lock_guard hl(helper.mutex);
      pid = helper.pid;
      if (helper.child) {
        int status = 0;
        if (::waitpid(pid, &status, 0) == pid) {
          failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
          how = describeStatus(status);
        }
      }
      ran = Clock::now() - helper.started;
      helper.pid = 0;
      helper.pidfd.reset();
    }
    RestartPolicy policy = helper.restart;
    bool restart = policy == RestartPolicy::Always || (policy == RestartPolicy::OnFailure && failed);
    spdlog::warn("[backend {}] helper '{}' (pid {}) {}{}", owner_, name, pid, how, restart ? ": restarting" : "");
    if (!restart) {
      std::error_code ec;
      std::filesystem::remove(pidfile(name), ec);
      return;
    }
    if (ran >= options_.resetBackoffAfter) backoff = options_.firstBackoff;
    for (;;) {
      if (!pause(backoff)) return;
      backoff = std::min(backoff * 2, options_.maxBackoff);
      try {
        launch(helper);
        break;
      } catch (const std::exception& e) {
        spdlog::error("[backend {}] helper '{}' restart failed: {}", owner_, name, e.what());
      }
    }
  }
}

void HelperSupervisor::terminate(Helper& helper) {
  std::lock_guard hl(helper.mutex);
  if (helper.pid != 0 && helper.pidfd.valid()) {
    // The pidfd names this process even if its PID were reused meanwhile.
    pidfdSignal(helper.pidfd.get(), SIGTERM);
    if (!waitExit(helper.pidfd.get(), options_.stopGrace)) {
      spdlog::warn("[backend {}] helper '{}' (pid {}) ignored SIGTERM for {} ms: SIGKILL", owner_, helper.spec.name,
                   helper.pid, options_.stopGrace.count());
      pidfdSignal(helper.pidfd.get(), SIGKILL);
      waitExit(helper.pidfd.get(), std::chrono::milliseconds(5000));
    }
    if (helper.child) ::waitpid(helper.pid, nullptr, 0);
    spdlog::info("[backend {}] helper '{}' (pid {}) stopped", owner_, helper.spec.name, helper.pid);
  }
  helper.pid = 0;
  helper.pidfd.reset();
  std::error_code ec;
  std::filesystem::remove(pidfile(helper.spec.name), ec);
}

std::shared_ptr<HelperSupervisor::Helper> HelperSupervisor::release(const std::string& name) {
  std::shared_ptr<Helper> helper;
  {
    std::lock_guard lock(mutex_);
    auto it = helpers_.find(name);
    if (it == helpers_.end()) return nullptr;
    helper = it->second;
    helpers_.erase(it);
  }
  helper->stopping = true;
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(helper->wake.get(), &one, sizeof(one));
  if (helper->thread.joinable()) helper->thread.join();
  return helper;
}

bool HelperSupervisor::stop(const std::string& name) {
  auto helper = release(name);
  if (!helper) return false;
  terminate(*helper);
  return true;
}

void HelperSupervisor::shutdown(bool teardown) {
  std::vector<std::string> names;
  {
    std::lock_guard lock(mutex_);
    shutDown_ = true;
    for (const auto& [name, helper] : helpers_) names.push_back(name);
  }
  // Without teardown a helper is left running with its pidfile, for the next agent to adopt.
  for (const auto& name : names) teardown ? (void)stop(name) : (void)release(name);
}

}  // namespace cnikit::plugin
