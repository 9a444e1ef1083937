#pragma once
// A real single-member etcd for tests, the lab and e2e runs: its own data directory, ports
// chosen free on the bind address, fast elections (ready in ~0.1 s), stopped by PID.
// Optionally inside a network namespace (the lab binds it to a fabric address there).
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace cnikit::testing {

struct EtcdProcessOptions {
  std::string bindAddress = "127.0.0.1";  // IPv4 or IPv6 literal
  // Start etcd (and choose its ports, and probe it) inside this network namespace, e.g.
  // "/run/netns/cnkt-1-fabric". Empty: the caller's.
  std::string netnsPath;
  // Empty: a fresh /tmp/cnkt-<pid>-etcd-XXXXXX, removed with the object. Given: kept.
  std::string dataDir;
  std::string name = "cnkt";  // member name
  uint16_t clientPort = 0;    // 0: a free port
  uint16_t peerPort = 0;
  std::string logFile;  // etcd's stdout and stderr; empty: "<temp dir>/etcd.log"
                        // or "<dataDir>.log"
  std::chrono::milliseconds readyTimeout{15000};
  // etcd gets SIGKILL when the thread that started it ends (PR_SET_PDEATHSIG), so a crashed
  // test leaves nothing running. The lab turns this off to outlive its command.
  bool dieWithParent = true;
  std::string binary = "etcd";
  std::vector<std::string> extraArgs;
};

class EtcdProcess {
 public:
  // Starts etcd and waits until /health answers. Throws std::runtime_error with the tail of
  // etcd's log when it does not come up.
  explicit EtcdProcess(EtcdProcessOptions options = {});
  // Kills etcd by PID (unless released) and removes a temporary data directory.
  ~EtcdProcess();
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  // SIGTERM and wait (SIGKILL after 10 s).
  void stop();
  // SIGKILL and wait: a crash.
  void kill();
  // Starts again on the same data directory and ports; waits until ready.
  void start();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  std::string endpoint() const;  // "http://127.0.0.1:41234"
  std::string peerUrl() const;
  uint16_t clientPort() const { return clientPort_; }
  uint16_t peerPort() const { return peerPort_; }
  const std::string& dataDir() const { return dataDir_; }
  const std::string& logFile() const { return logFile_; }
  std::string logTail(size_t bytes = 3000) const;

  // Leaves etcd running beyond this object (nothing is killed or removed then); the caller
  // owns the returned PID and the data directory.
  pid_t release();

 private:
  void waitReady();
  void waitExit(std::chrono::milliseconds timeout);

  EtcdProcessOptions options_;
  std::string tempDir_;  // owned, removed in the destructor
  std::string dataDir_;
  std::string logFile_;
  uint16_t clientPort_ = 0;
  uint16_t peerPort_ = 0;
  pid_t pid_ = -1;
};

}  // namespace cnikit::testing
