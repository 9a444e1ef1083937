#include "tests/integration/AgentProcess.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace cnikit::testing {
namespace {

bool socketAnswers(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

AgentProcess::AgentProcess(const std::string& cnikitd, const std::string& netnsPath,
                           const std::filesystem::path& dir, const std::string& configYaml,
                           const std::string& socket) {
  std::filesystem::create_directories(dir);
  auto configPath = dir / "cnikitd.yaml";
  std::ofstream(configPath) << configYaml;
  logPath_ = dir / "cnikitd.log";

  int netnsFd = open(netnsPath.c_str(), O_RDONLY | O_CLOEXEC);
  if (netnsFd < 0) throw std::runtime_error("cannot open netns " + netnsPath);
  int logFd = open(logPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_ = fork();
  if (pid_ == 0) {
    if (setns(netnsFd, CLONE_NEWNET) != 0) _exit(126);
    dup2(logFd, 2);
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0), dup2(devnull, 1);
    execl(cnikitd.c_str(), cnikitd.c_str(), "--config", configPath.c_str(), "--log-level", "debug",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(netnsFd);
  close(logFd);
  if (pid_ < 0) throw std::runtime_error("fork failed");

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!socketAnswers(socket)) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("cnikitd exited during start: " + log());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      throw std::runtime_error("cnikitd did not come up: " + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

AgentProcess::~AgentProcess() { stop(); }

void AgentProcess::crash() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int AgentProcess::stop() {
  if (pid_ <= 0) return 0;
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 100; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

std::string AgentProcess::log() const {
  std::ifstream in(logPath_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace cnikit::testing
