#include "tools/lab/Process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <cnikit/toolkit/UniqueFd.hpp>

namespace cnikit::lab {

namespace {

// Process state letter and start time from /proc/<pid>/stat; nullopt when gone.
std::optional<std::pair<char, uint64_t>> readStat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!in || !std::getline(in, text)) return std::nullopt;
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 1));
  std::string field;
  char state = '?';
  uint64_t start = 0;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state
    if (i == 3) state = field.empty() ? '?' : field[0];
    if (i == 22) {
      start = std::stoull(field);
      break;
    }
  }
  return std::make_pair(state, start);
}

bool waitGone(const ProcessRecord& p, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    // Our own child (a test or benchmark that spawned directly) is reaped here.
    ::waitpid(p.pid, nullptr, WNOHANG);
    if (!isRunning(p)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return !isRunning(p);
}

[[noreturn]] void childFail(int errPipe, int code) {
  int e = errno;
  int msg[2] = {code, e};
  (void)!::write(errPipe, msg, sizeof msg);
  _exit(127);
}

}  // namespace

nlohmann::json ProcessRecord::toJson() const { return {{"pid", pid}, {"startTime", startTime}}; }

ProcessRecord ProcessRecord::fromJson(const nlohmann::json& j) {
  ProcessRecord p;
  if (!j.is_object()) return p;
  p.pid = j.value("pid", 0);
  p.startTime = j.value("startTime", uint64_t{0});
  return p;
}

uint64_t processStartTime(pid_t pid) {
  auto stat = readStat(pid);
  return stat ? stat->second : 0;
}

bool isRunning(const ProcessRecord& process) {
  if (process.pid <= 0) return false;
  auto stat = readStat(process.pid);
  return stat && stat->first != 'Z' && stat->first != 'X' && stat->second == process.startTime;
}

ProcessRecord spawnDaemon(const DaemonSpec& spec) {
  if (spec.argv.empty()) throw std::runtime_error("spawnDaemon: empty command");
  toolkit::UniqueFd netns;
  if (!spec.netnsPath.empty()) {
    netns = toolkit::UniqueFd(::open(spec.netnsPath.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns)
      throw std::runtime_error("cannot open network namespace " + spec.netnsPath + ": " + std::strerror(errno));
  }
  toolkit::UniqueFd log(::open(spec.logFile.empty() ? "/dev/null" : spec.logFile.c_str(),
                           O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log) throw std::runtime_error("cannot open log file " + spec.logFile + ": " + std::strerror(errno));
  toolkit::UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int pidPipe[2], errPipe[2];
  if (::pipe2(pidPipe, O_CLOEXEC) != 0 || ::pipe2(errPipe, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  std::vector<char*> args;
  for (const auto& a : spec.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t middle = ::fork();
  if (middle == 0) {
    // Middle child: a new session, then the daemon, then exit so init adopts the daemon.
    ::signal(SIGPIPE, SIG_DFL);
    if (::setsid() < 0) childFail(errPipe[1], 1);
    pid_t daemon = ::fork();
    if (daemon < 0) childFail(errPipe[1], 2);
    if (daemon > 0) {
      (void)!::write(pidPipe[1], &daemon, sizeof daemon);
      _exit(0);
    }
    if (netns && ::setns(netns.get(), CLONE_NEWNET) != 0) childFail(errPipe[1], 3);
    if (::dup2(devnull.get(), STDIN_FILENO) < 0 || ::dup2(log.get(), STDOUT_FILENO) < 0 ||
        ::dup2(log.get(), STDERR_FILENO) < 0)
      childFail(errPipe[1], 4);
    if (spec.passFd >= 0) {
      if (spec.passFd == 3) {
        int flags = ::fcntl(3, F_GETFD);
        ::fcntl(3, F_SETFD, flags & ~FD_CLOEXEC);
      } else if (::dup2(spec.passFd, 3) < 0) {
        childFail(errPipe[1], 4);
      }
    }
    // Nothing else of ours leaks into the daemon (a test's output pipe would never see EOF).
    ::syscall(SYS_close_range, spec.passFd >= 0 ? 4 : 3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execvp(args[0], args.data());
    childFail(errPipe[1], 5);
  }
  ::close(pidPipe[1]);
  ::close(errPipe[1]);
  if (middle < 0) {
    ::close(pidPipe[0]);
    ::close(errPipe[0]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  while (::waitpid(middle, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_t daemon = 0;
  ssize_t got = ::read(pidPipe[0], &daemon, sizeof daemon);
  ::close(pidPipe[0]);
  int failure[2] = {0, 0};
  ssize_t failed;
  while ((failed = ::read(errPipe[0], failure, sizeof failure)) < 0 && errno == EINTR) {
  }
  ::close(errPipe[0]);
  static const char* kSteps[] = {"", "setsid", "fork", "setns", "redirect output", "exec"};
  if (failed == static_cast<ssize_t>(sizeof failure))
    throw std::runtime_error("starting " + spec.argv[0] + ": " + kSteps[failure[0] % 6] +
                             " failed: " + std::strerror(failure[1]) +
                             (failure[0] == 3 ? " (" + spec.netnsPath + ")" : std::string()));
  if (got != static_cast<ssize_t>(sizeof daemon) || daemon <= 0)
    throw std::runtime_error("starting " + spec.argv[0] + ": no process id came back");
  ProcessRecord record{daemon, processStartTime(daemon)};
  if (record.startTime == 0) {
    // Exec'd and already gone: the log says why.
    throw std::runtime_error(spec.argv[0] + " exited at once; see " + spec.logFile);
  }
  return record;
}

bool signalProcess(const ProcessRecord& process, int signal) {
  if (!isRunning(process)) return false;
  return ::kill(process.pid, signal) == 0;
}

bool terminate(const ProcessRecord& process, std::chrono::milliseconds grace) {
  if (!signalProcess(process, SIGTERM)) return false;
  if (waitGone(process, grace)) return true;
  signalProcess(process, SIGKILL);
  waitGone(process, std::chrono::seconds(10));
  return true;
}

size_t terminateAll(const std::vector<ProcessRecord>& processes, std::chrono::milliseconds grace) {
  std::vector<ProcessRecord> signalled;
  for (const auto& p : processes)
    if (signalProcess(p, SIGTERM)) signalled.push_back(p);
  auto deadline = std::chrono::steady_clock::now() + grace;
  for (const auto& p : signalled) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!waitGone(p, std::max(left, std::chrono::milliseconds(0)))) {
      signalProcess(p, SIGKILL);
      waitGone(p, std::chrono::seconds(10));
    }
  }
  return signalled.size();
}

bool killHard(const ProcessRecord& process) {
  if (!signalProcess(process, SIGKILL)) return false;
  waitGone(process, std::chrono::seconds(10));
  return true;
}

std::vector<pid_t> processesInNetns(const std::string& netnsPath) {
  std::vector<pid_t> out;
  struct stat target {};
  if (::stat(netnsPath.c_str(), &target) != 0) return out;
  DIR* proc = ::opendir("/proc");
  if (!proc) return out;
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (pid <= 0 || *end) continue;
    // Threads may sit in another namespace than their leader: look at each task.
    std::string taskDir = std::string("/proc/") + entry->d_name + "/task";
    DIR* tasks = ::opendir(taskDir.c_str());
    if (!tasks) continue;
    bool inside = false;
    while (dirent* task = ::readdir(tasks)) {
      if (task->d_name[0] == '.') continue;
      struct stat ns {};
      if (::stat((taskDir + "/" + task->d_name + "/ns/net").c_str(), &ns) == 0 && ns.st_dev == target.st_dev &&
          ns.st_ino == target.st_ino) {
        inside = true;
        break;
      }
    }
    ::closedir(tasks);
    if (inside && pid != ::getpid()) out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(proc);
  return out;
}

std::string fileTail(const std::string& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  auto size = static_cast<size_t>(in.tellg());
  in.seekg(size > bytes ? static_cast<std::streamoff>(size - bytes) : 0);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string executableDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot read /proc/self/exe: " + ec.message());
  return exe.parent_path().string();
}

}  // namespace cnikit::lab
