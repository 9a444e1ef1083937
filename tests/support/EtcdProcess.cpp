#include "tests/support/EtcdProcess.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <thread>

#include "tests/support/UniqueName.hpp"

namespace cnikit::testing {

namespace {

using namespace std::chrono_literals;

bool isIpv6(const std::string& address) { return address.find(':') != std::string::npos; }

std::string urlHost(const std::string& address) { return isIpv6(address) ? "[" + address + "]" : address; }

// Runs fn on a thread that entered netnsPath first (network namespaces are per thread), or
// on this thread when there is none.
void inNetns(const std::string& netnsPath, const std::function<void()>& fn) {
  if (netnsPath.empty()) {
    fn();
    return;
  }
  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      int fd = ::open(netnsPath.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw std::runtime_error("etcd: opening " + netnsPath + ": " + std::strerror(errno));
      int rc = ::setns(fd, CLONE_NEWNET);
      int err = errno;
      ::close(fd);
      if (rc != 0) throw std::runtime_error("etcd: entering " + netnsPath + ": " + std::strerror(err));
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  worker.join();
  if (failure) std::rethrow_exception(failure);
}

// A socket bound to address:port (0: any free port); -1 when it cannot be bound.
int bindSocket(const std::string& address, uint16_t port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (isIpv6(address)) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (::inet_pton(AF_INET6, address.c_str(), &a->sin6_addr) != 1) {
      throw std::invalid_argument("etcd: bind address '" + address + "' is not an IP address");
    }
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (::inet_pton(AF_INET, address.c_str(), &a->sin_addr) != 1) {
      throw std::invalid_argument("etcd: bind address '" + address + "' is not an IP address");
    }
    len = sizeof(sockaddr_in);
  }
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int err = errno;
    ::close(fd);
    errno = err;  // for the caller's message
    return -1;
  }
  return fd;
}

uint16_t boundPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

// GET path over plain HTTP/1.0; the whole response, or "" when nothing answered.
std::string httpGet(const std::string& address, uint16_t port, const std::string& path) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (isIpv6(address)) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    ::inet_pton(AF_INET6, address.c_str(), &a->sin6_addr);
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    ::inet_pton(AF_INET, address.c_str(), &a->sin_addr);
    len = sizeof(sockaddr_in);
  }
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  timeval timeout{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
    std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + urlHost(address) + "\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buf[1024];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return response;
}

}  // namespace

EtcdProcess::EtcdProcess(EtcdProcessOptions options) : options_(std::move(options)) {
  if (options_.dataDir.empty()) {
    std::string pattern = "/tmp/" + uniquePrefix() + "etcd-XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("etcd: mkdtemp " + pattern + ": " + std::strerror(errno));
    tempDir_ = pattern;
    dataDir_ = tempDir_ + "/data";
    logFile_ = options_.logFile.empty() ? tempDir_ + "/etcd.log" : options_.logFile;
  } else {
    dataDir_ = options_.dataDir;
    logFile_ = options_.logFile.empty() ? dataDir_ + ".log" : options_.logFile;
  }
  try {
    inNetns(options_.netnsPath, [&] {
      // Both sockets stay bound until both ports are known, so they differ.
      int client = bindSocket(options_.bindAddress, options_.clientPort);
      int peer = client < 0 ? -1 : bindSocket(options_.bindAddress, options_.peerPort);
      if (client < 0 || peer < 0) {
        int err = errno;
        if (client >= 0) ::close(client);
        throw std::runtime_error("etcd: cannot bind " + options_.bindAddress + " (ports " +
                                 std::to_string(options_.clientPort) + ", " + std::to_string(options_.peerPort) + ")" +
                                 (options_.netnsPath.empty() ? "" : " in " + options_.netnsPath) + ": " +
                                 std::strerror(err));
      }
      clientPort_ = boundPort(client);
      peerPort_ = boundPort(peer);
      ::close(client);
      ::close(peer);
    });
    start();
  } catch (...) {
    if (pid_ > 0) kill();
    if (!tempDir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(tempDir_, ec);
    }
    throw;
  }
}

EtcdProcess::~EtcdProcess() {
  if (pid_ > 0) {
    // The data is thrown away with a temporary directory, so no need for a clean stop.
    if (tempDir_.empty()) {
      stop();
    } else {
      kill();
    }
  }
  if (!tempDir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(tempDir_, ec);
  }
}

std::string EtcdProcess::endpoint() const {
  return "http://" + urlHost(options_.bindAddress) + ":" + std::to_string(clientPort_);
}

std::string EtcdProcess::peerUrl() const {
  return "http://" + urlHost(options_.bindAddress) + ":" + std::to_string(peerPort_);
}

void EtcdProcess::start() {
  if (pid_ > 0) throw std::logic_error("etcd: already running as pid " + std::to_string(pid_));
  std::vector<std::string> argv = {
      options_.binary, "--name=" + options_.name, "--data-dir=" + dataDir_, "--listen-client-urls=" + endpoint(),
      "--advertise-client-urls=" + endpoint(), "--listen-peer-urls=" + peerUrl(),
      "--initial-advertise-peer-urls=" + peerUrl(), "--initial-cluster=" + options_.name + "=" + peerUrl(),
      "--initial-cluster-state=new",
      // A single member elects itself in ~0.1 s with these.
      "--heartbeat-interval=10", "--election-timeout=100", "--logger=zap", "--log-outputs=stderr"};
  argv.insert(argv.end(), options_.extraArgs.begin(), options_.extraArgs.end());
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  int log = ::open(logFile_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) throw std::runtime_error("etcd: opening log " + logFile_ + ": " + std::strerror(errno));
  int netns = -1;
  if (!options_.netnsPath.empty()) {
    netns = ::open(options_.netnsPath.c_str(), O_RDONLY | O_CLOEXEC);
    if (netns < 0) {
      int err = errno;
      ::close(log);
      throw std::runtime_error("etcd: opening " + options_.netnsPath + ": " + std::strerror(err));
    }
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Child: async-signal-safe calls only until exec.
    if (options_.dieWithParent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) _exit(125);  // the parent is already gone
    }
    ::setsid();  // no terminal signals meant for the test runner or the lab
                 // command
    if (netns >= 0 && ::setns(netns, CLONE_NEWNET) != 0) _exit(126);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  int forkErr = errno;
  ::close(log);
  if (netns >= 0) ::close(netns);
  if (pid < 0) throw std::runtime_error(std::string("etcd: fork: ") + std::strerror(forkErr));
  pid_ = pid;
  waitReady();
}

void EtcdProcess::waitReady() {
  auto deadline = std::chrono::steady_clock::now() + options_.readyTimeout;
  std::string exited;
  bool ready = false;
  inNetns(options_.netnsPath, [&] {
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited = WIFEXITED(status) ? "exited with " + std::to_string(WEXITSTATUS(status))
                                   : "killed by signal " + std::to_string(WTERMSIG(status));
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127) exited += " (cannot execute " + options_.binary + ")";
        if (WIFEXITED(status) && WEXITSTATUS(status) == 126) exited += " (cannot enter " + options_.netnsPath + ")";
        return;
      }
      if (httpGet(options_.bindAddress, clientPort_, "/health").find("\"health\":\"true\"") != std::string::npos) {
        ready = true;
        return;
      }
      std::this_thread::sleep_for(20ms);
    }
  });
  if (ready) return;
  if (!exited.empty()) {
    pid_ = -1;
    throw std::runtime_error("etcd at " + endpoint() + " " + exited + "; log " + logFile_ + ":\n" + logTail());
  }
  kill();
  throw std::runtime_error("etcd at " + endpoint() + " not healthy within " +
                           std::to_string(options_.readyTimeout.count()) + " ms; log " + logFile_ + ":\n" + logTail());
}

void EtcdProcess::waitExit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  pid_ = -1;
}

void EtcdProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  waitExit(10s);
}

void EtcdProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  waitExit(10s);
}

pid_t EtcdProcess::release() {
  pid_t pid = pid_;
  pid_ = -1;
  tempDir_.clear();
  return pid;
}

std::string EtcdProcess::logTail(size_t bytes) const {
  std::ifstream in(logFile_, std::ios::binary);
  if (!in) return "(no log)";
  in.seekg(0, std::ios::end);
  auto size = static_cast<size_t>(in.tellg());
  in.seekg(size > bytes ? static_cast<std::streamoff>(size - bytes) : 0);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace cnikit::testing
