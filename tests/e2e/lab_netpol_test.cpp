// Kubernetes NetworkPolicy on a real lab (issue 4, section 5): the upstream netpol scenarios
// of tests/unit/policy/UpstreamScenarios.cpp, run step by step through `lab apply` /
// `lab delete`, where the real connections (`lab probe -o json`) must equal the engine
// (`policy matrix -o json`) on every port the pods serve, and both the matrix the scenario
// writes. A label change or a policy deletion must be in effect within 1 s of the command
// returning. One lab serves the whole suite (ctest runs it as one test, e2e.LabNetpol);
// each scenario removes its policies and restores its labels, so they stay independent.
#include <gtest/gtest.h>

#include <iostream>
#include <memory>

#include "tests/e2e/NetpolLab.hpp"

namespace cnikit::e2e {
namespace {

using policy::test::UpstreamScenario;
using std::chrono::milliseconds;

// The deadline for a label change or a policy deletion.
constexpr milliseconds kInEffectWithin{1000};

class LabNetpol : public ::testing::TestWithParam<UpstreamScenario> {
 protected:
  static void SetUpTestSuite() {
    sweepStaleLabs();
    try {
      lab_ = std::make_unique<NetpolLab>();
    } catch (const std::exception& e) {
      setupError_ = e.what();
    }
  }
  static void TearDownTestSuite() { lab_.reset(); }

  static std::unique_ptr<NetpolLab> lab_;
  static std::string setupError_;
};

std::unique_ptr<NetpolLab> LabNetpol::lab_;
std::string LabNetpol::setupError_;

TEST_P(LabNetpol, DatapathEqualsEngineAndExpectation) {
  ASSERT_TRUE(lab_) << "the netpol lab did not come up: " << setupError_;
  const auto steps = GetParam().steps(lab_->model());
  // Runs also when an assertion below returns early: the next scenario starts clean.
  struct Restore {
    const NetpolLab& lab;
    const std::vector<policy::test::ScenarioStep>& steps;
    ~Restore() { lab.restore(steps); }
  } restore{*lab_, steps};

  for (size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i + 1) + " of " + GetParam().name);
    // The deadline proves something only when the datapath showed otherwise before.
    const bool timed = NetpolLab::isLabelChangeOrDeletion(steps[i]);
    if (timed) {
      ASSERT_FALSE(lab_->showsExpected(steps[i].expected)) << "the step's matrices held before its change";
    }
    const auto changed = lab_->change(steps[i]);
    if (timed) {
      auto took = lab_->timeUntilInEffect(steps[i].expected, changed, std::chrono::seconds(5));
      ASSERT_TRUE(took) << "a label change / policy deletion not in effect after 5 s";
      std::cout << "[ in effect ] step " << i + 1 << " of " << GetParam().name << ": " << took->count() << " ms\n";
      EXPECT_LE(took->count(), kInEffectWithin.count())
          << "a label change / policy deletion took " << took->count() << " ms to be in effect";
    }
    lab_->expectMatrices(steps[i].expected);
  }
}

INSTANTIATE_TEST_SUITE_P(Upstream, LabNetpol, ::testing::ValuesIn(policy::test::upstreamScenarios()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace cnikit::e2e
