#pragma once
// Helper processes a backend instance runs (BIRD, a userspace router): started in a network
// namespace, restarted per policy with a backoff, and recorded in a pidfile so that the next
// agent (after a KEEP_DATAPATH restart) adopts a running helper instead of starting a second.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cnikit::plugin {

enum class RestartPolicy { Never, OnFailure, Always };

struct HelperSpec {
  std::string name;               // [a-zA-Z0-9_.-]+, unique per supervisor
  std::vector<std::string> argv;  // argv[0] absolute
  std::string netns;              // network namespace path; empty = the agent's
  RestartPolicy restart = RestartPolicy::OnFailure;
};

class HelperSupervisor {
 public:
  struct Options {
    std::chrono::milliseconds firstBackoff{100};
    std::chrono::milliseconds maxBackoff{5000};
    // A helper that ran this long before it exited restarts after firstBackoff again.
    std::chrono::milliseconds resetBackoffAfter{10000};
    std::chrono::milliseconds stopGrace{2000};  // SIGTERM, then SIGKILL
  };

  // Pidfiles and logs (<name>.pid, <name>.log) live in dir, created on the first spawn.
  explicit HelperSupervisor(std::filesystem::path dir, std::string owner);
  HelperSupervisor(std::filesystem::path dir, std::string owner, Options options);
  // Stops watching; helpers keep running (as shutdown(false)).
  ~HelperSupervisor();
  HelperSupervisor(const HelperSupervisor&) = delete;
  HelperSupervisor& operator=(const HelperSupervisor&) = delete;

  // Starts the helper, or adopts the process its pidfile names when that still runs the same
  // argv in the same netns; returns its PID. Spawning a running name again with the same
  // argv and netns returns its PID (and takes the new restart policy); with another argv or
  // netns it replaces the running helper (a backend recreated with new options). Throws
  // std::invalid_argument naming the bad field, or std::system_error naming the program or path.
  int64_t spawn(const HelperSpec& spec);
  // Stops the helper by PID (SIGTERM, SIGKILL after stopGrace) and removes its pidfile;
  // false when no helper has that name.
  bool stop(const std::string& name);
  // teardown: stop every helper as stop() does. Otherwise leave them running with their
  // pidfiles and only stop watching. Later spawns are refused.
  void shutdown(bool teardown);

 private:
  struct Helper;
  void supervise(Helper& helper);
  void launch(Helper& helper);
  void terminate(Helper& helper);
  // Takes a helper out of supervision (its watcher thread joined) and returns it; nullptr when
  // no helper has that name. The process keeps running.
  std::shared_ptr<Helper> release(const std::string& name);
  std::filesystem::path pidfile(const std::string& name) const;
  std::filesystem::path logfile(const std::string& name) const;

  std::filesystem::path dir_;
  std::string owner_;
  Options options_;
  mutable std::mutex mutex_;  // guards helpers_ and shutDown_
  std::map<std::string, std::shared_ptr<Helper>> helpers_;
  bool shutDown_ = false;
};

}  // namespace cnikit::plugin
