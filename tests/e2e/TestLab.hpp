#pragma once
// A lab for one e2e test, driven through the real `cnikitctl lab` commands: a unique name
// ("e2e_<pid>_<n>"), and `lab down` in the destructor, also when the test failed. Labs that a
// crashed test binary left behind are swept at the start of a suite.
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/lab/LabState.hpp"
#include "tests/support/Command.hpp"

namespace cnikit::e2e {

class TestLab {
 public:
  explicit TestLab(const std::string& base);
  ~TestLab();
  TestLab(const TestLab&) = delete;
  TestLab& operator=(const TestLab&) = delete;

  const std::string& name() const { return name_; }

  // `cnikitctl ARGS...`; "--name <lab>" is added after "lab <verb> [<subverb>]" when
  // withName is set.
  testing::CommandResult ctl(const std::vector<std::string>& args,
                             std::chrono::milliseconds timeout = std::chrono::seconds(120)) const;
  // `cnikitctl lab <verb...> --name <lab> <rest...>`; fails the test (ADD_FAILURE) on a
  // non-zero exit and returns stdout.
  std::string lab(const std::vector<std::string>& verb, const std::vector<std::string>& rest = {},
                  std::chrono::milliseconds timeout = std::chrono::seconds(120)) const;

  // lab up with these extra arguments; throws (fails the test) when it does not come up.
  void up(const std::vector<std::string>& args);
  // Writes yaml to a file and runs `lab apply -f` on it.
  std::string apply(const std::string& yaml) const;
  // The same with `lab delete -f`.
  std::string remove(const std::string& yaml) const;
  // `lab probe -o json` (+ args), parsed.
  nlohmann::json probe(const std::vector<std::string>& args = {}) const;
  // `--lab <name> ARGS -o json`, parsed.
  nlohmann::json ctlJson(const std::vector<std::string>& args) const;
  nlohmann::json agentStatus(const std::string& node) const;
  lab::LabState state() const { return lab::LabState::load(name_); }
  void down();

 private:
  std::string withObjectsFile(const std::string& verb, const std::string& yaml) const;

  std::string name_;
  bool down_ = false;
};

// Labs named e2e_<pid>_* whose process is gone: `lab down` each.
void sweepStaleLabs();

// Every value of a probe/policy matrix JSON ({case: {from: {to: bool}}}) is `expected`.
bool allEqual(const nlohmann::json& matrix, bool expected);

// Output of `ip ARGS` inside a namespace (by name).
std::string ipIn(const std::string& netns, const std::vector<std::string>& args);

// A fixed YAML of pods: x/a on node1, x/b on node2, y/c on node3 (when nodes >= 3), each
// serving 80/TCP and 80/UDP, plus namespaces x and y.
std::string podsYaml(int nodes);

}  // namespace cnikit::e2e
