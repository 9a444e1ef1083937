#pragma once
// A real cnikitd started for a test inside a test-made network namespace, with its own
// config, state dir and socket; stopped by PID when the object goes away.
#include <sys/types.h>

#include <filesystem>
#include <string>

namespace cnikit::testing {

class AgentProcess {
 public:
  // Writes configYaml to <dir>/cnikitd.yaml and starts `cnikitd --config` in netnsPath
  // (setns in the child before exec). Waits until the socket answers; throws with the
  // agent's stderr when it exits or does not come up.
  AgentProcess(const std::string& cnikitd, const std::string& netnsPath, const std::filesystem::path& dir,
               const std::string& configYaml, const std::string& socket);
  ~AgentProcess();
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  pid_t pid() const { return pid_; }
  // SIGTERM and wait; returns the exit status.
  int stop();
  // SIGKILL, as a crash: no shutdown code runs. Waits until it is gone.
  void crash();
  std::string log() const;  // stderr so far

 private:
  pid_t pid_ = -1;
  std::filesystem::path logPath_;
};

}  // namespace cnikit::testing
