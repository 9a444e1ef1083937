#pragma once
// The lab's long-lived processes (etcd, the agents, the pods' probe servers): started
// detached (own session, reparented to init, so they outlive the cnikitctl that made them),
// recorded by PID *and* start time, and stopped only by that PID after checking the start
// time, so a PID the kernel reused for someone else's process is never signalled.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace cnikit::lab {

struct ProcessRecord {
  pid_t pid = 0;
  uint64_t startTime = 0;  // field 22 of /proc/<pid>/stat (clock ticks since boot)

  nlohmann::json toJson() const;
  static ProcessRecord fromJson(const nlohmann::json& j);  // {} -> pid 0
};

// 0 when the process does not exist.
uint64_t processStartTime(pid_t pid);
// Exists, is not a zombie, and has the recorded start time.
bool isRunning(const ProcessRecord& process);

struct DaemonSpec {
  std::vector<std::string> argv;  // argv[0]: an absolute path or looked up in PATH
  std::string netnsPath;          // "" = the caller's namespace
  std::string logFile;            // stdout and stderr, appended
  // When >= 0, this descriptor is passed to the daemon as fd 3 (e.g. a readiness pipe).
  int passFd = -1;
};

// Starts the daemon (double fork, setsid, stdin /dev/null, every other descriptor closed)
// and returns once it has exec'd. Throws std::runtime_error naming the program when it
// cannot enter the namespace, open the log or exec.
ProcessRecord spawnDaemon(const DaemonSpec& spec);

// SIGTERM, then SIGKILL after `grace`; returns when it is gone. false when it was not running.
bool terminate(const ProcessRecord& process, std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
// SIGKILL (a crash: no cleanup); returns when it is gone. false when it was not running.
bool killHard(const ProcessRecord& process);
bool signalProcess(const ProcessRecord& process, int signal);
// SIGTERM to all at once, then waits for each (SIGKILL after grace). Returns how many ran.
size_t terminateAll(const std::vector<ProcessRecord>& processes,
                    std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

// PIDs of every process whose network namespace is the one bound at netnsPath.
std::vector<pid_t> processesInNetns(const std::string& netnsPath);

// The last bytes of a log file ("" when unreadable).
std::string fileTail(const std::string& path, size_t bytes = 2000);

// The directory of the running executable (/proc/self/exe).
std::string executableDir();

}  // namespace cnikit::lab
