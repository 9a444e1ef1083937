#include "Masquerade.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <cnikit/backend.hpp>

extern char** environ;

namespace cnikit::flannel {

namespace {

struct Outcome {
  int exitCode = -1;
  std::string err;
};

// posix_spawn from the calling thread: the child inherits this thread's network namespace.
Outcome spawnAndWait(const std::vector<std::string>& argv) {
  Outcome outcome;
  int errPipe[2];
  if (::pipe2(errPipe, O_CLOEXEC) != 0) {
    outcome.err = std::string("pipe: ") + std::strerror(errno);
    return outcome;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, errPipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int err = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(errPipe[1]);
  if (err != 0) {
    ::close(errPipe[0]);
    outcome.err = "cannot run " + argv[0] + ": " + std::strerror(err);
    return outcome;
  }
  char buf[512];
  ssize_t n;
  while ((n = ::read(errPipe[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) outcome.err.append(buf, static_cast<size_t>(n));
  ::close(errPipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  outcome.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  while (!outcome.err.empty() && outcome.err.back() == '\n') outcome.err.pop_back();
  return outcome;
}

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

}  // namespace

void Masquerade::ensure(int family, const std::string& subnet, const std::string& pool) {
  auto here = toolkit::Netns::current();
  if (!here) throw sdk::Error(CNIKIT_ERR_SYSTEM, "masquerade: " + here.error().message);
  auto key = std::make_tuple(here.value().id().dev, here.value().id().ino, family, subnet, pool);
  std::lock_guard lock(mutex_);
  if (done_.count(key)) return;

  const std::string tool = family == AF_INET6 ? "ip6tables" : "iptables";
  std::vector<std::string> rule = ruleOf(subnet, pool);
  std::vector<std::string> check = {tool, "-w", "5", "-t", "nat", "-C"};
  check.insert(check.end(), rule.begin(), rule.end());
  Outcome present = spawnAndWait(check);
  if (present.exitCode != 0) {
    std::vector<std::string> append = {tool, "-w", "5", "-t", "nat", "-A"};
    append.insert(append.end(), rule.begin(), rule.end());
    Outcome added = spawnAndWait(append);
    if (added.exitCode != 0)
      throw sdk::Error(CNIKIT_ERR_SYSTEM, "masquerade: '" + join(append) + "' failed (exit " +
                                              std::to_string(added.exitCode) + "): " + added.err);
  }
  bool seen = false;
  for (const auto& ns : pinned_) seen = seen || ns.sameAs(here.value());
  if (!seen) pinned_.push_back(std::move(here).value());
  done_.insert(key);
}

std::vector<std::string> Masquerade::ruleOf(const std::string& subnet, const std::string& pool) const {
  return {"POSTROUTING", "-s",      subnet,      "!",      "-d", pool.empty() ? subnet : pool,
          "-m",          "comment", "--comment", comment_, "-j", "MASQUERADE"};
}

void Masquerade::removeAll() {
  auto here = toolkit::Netns::current();
  if (!here) throw sdk::Error(CNIKIT_ERR_SYSTEM, "masquerade: " + here.error().message);
  std::lock_guard lock(mutex_);
  for (auto it = done_.begin(); it != done_.end();) {
    const auto& [dev, ino, family, subnet, pool] = *it;
    if (dev != here.value().id().dev || ino != here.value().id().ino) {
      ++it;
      continue;
    }
    std::vector<std::string> remove = {family == AF_INET6 ? "ip6tables" : "iptables", "-w", "5", "-t", "nat", "-D"};
    auto rule = ruleOf(subnet, pool);
    remove.insert(remove.end(), rule.begin(), rule.end());
    Outcome removed = spawnAndWait(remove);
    if (removed.exitCode != 0)
      throw sdk::Error(CNIKIT_ERR_SYSTEM, "masquerade: '" + join(remove) + "' failed (exit " +
                                              std::to_string(removed.exitCode) + "): " + removed.err);
    it = done_.erase(it);
  }
}

}  // namespace cnikit::flannel
