#pragma once
// The lab the NetworkPolicy e2e suite shares: 3 nodes, flannel-like VXLAN with the iptables
// policy provider, and the upstream netpol model (namespaces x, y, z; pods a, b, c serving
// TCP and UDP on 80 and 81) spread over the nodes. It runs a scenario's steps through the
// real commands and compares three matrices: the expectation written in the scenario,
// `policy matrix -o json` (the engine on the store) and `lab probe -o json` (real
// connections).
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/e2e/TestLab.hpp"
#include "tests/unit/policy/UpstreamScenarios.hpp"

namespace cnikit::e2e {

class NetpolLab {
 public:
  using Clock = std::chrono::steady_clock;

  // Brings the lab up and applies the model; throws when it does not come up or the pods do
  // not all reach each other. The lab goes down with this object.
  NetpolLab();

  // The model with the addresses the lab gave its pods.
  policy::test::NetpolModel model() const;

  // Applies / deletes what the step names; returns when the command returned.
  Clock::time_point change(const policy::test::ScenarioStep& step) const;
  // A label change or a policy deletion: the issue wants those in effect within 1 s.
  static bool isLabelChangeOrDeletion(const policy::test::ScenarioStep& step);
  // Whether a probe of the expected cases alone shows what they expect.
  bool showsExpected(const std::vector<policy::test::ExpectedMatrix>& expected) const;
  // Probes the expected cases alone until all equal the expectation; how long after `since`
  // the first probe that saw it finished (checked up to `giveUp`, else nullopt).
  std::optional<std::chrono::milliseconds> timeUntilInEffect(const std::vector<policy::test::ExpectedMatrix>& expected,
                                                             Clock::time_point since,
                                                             std::chrono::milliseconds giveUp) const;
  // The engine's matrix must equal the expectation for the expected cases, and the probe of
  // every case the pods serve must equal the engine's (EXPECT_* failures).
  void expectMatrices(const std::vector<policy::test::ExpectedMatrix>& expected) const;
  // Deletes every policy the steps applied and re-applies every namespace and pod they
  // relabelled as the model has it, then waits until every pod reaches every pod again.
  void restore(const std::vector<policy::test::ScenarioStep>& steps) const;

 private:
  // `lab probe -o json --show-failures` (+ args); the reasons of blocked pairs go to `failures`.
  nlohmann::json probe(const std::vector<std::string>& args, std::string* failures = nullptr) const;
  // Probes TCP until every pod reaches every pod (blocked TCP is reset at once: quick).
  bool awaitAllConnected(std::chrono::milliseconds giveUp) const;

  TestLab lab_;
  std::map<std::string, std::string> addresses_;  // "x/a" -> IPv4
};

}  // namespace cnikit::e2e
