// 1000 policies over 500 pods: prints how long compiling (incrementally, one object at a
// time) and serialising take; asserts only correctness (bench/ holds the timed targets).
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <random>

#include "core/policy/Engine.hpp"
#include "tests/support/PolicyScaleModel.hpp"

namespace cnikit::policy {
namespace {

using k8s::Protocol;
using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

TEST(CompileScale, ThousandPoliciesOverFiveHundredPods) {
  const auto model = testing::makePolicyScaleModel();
  const auto& namespaces = model.namespaces;
  const auto& pods = model.pods;
  const auto& policies = model.policies;

  Engine engine;
  auto start = Clock::now();
  for (const auto& ns : namespaces) engine.upsertNamespace(ns);
  for (const auto& pod : pods) engine.upsertPod(pod);
  Changes all;
  for (const auto& p : policies) all.merge(engine.upsertPolicy(p));
  double compileMs = msSince(start);

  start = Clock::now();
  size_t bytes = 0, rules = 0;
  for (const auto& key : engine.affectedEndpoints(all)) {
    auto j = engine.endpointJson(key);
    bytes += j.dump().size();
    rules += j["ingress"]["rules"].size() + j["egress"]["rules"].size();
  }
  double serialiseMs = msSince(start);

  // An incremental update on the loaded engine: one pod relabelled.
  start = Clock::now();
  auto relabelled = pods[7];
  relabelled.labels["app"] = "app3";
  auto one = engine.upsertPod(relabelled);
  double updateMs = msSince(start);

  std::cout << "[ CompileScale ] " << policies.size() << " policies over " << pods.size() << " pods: compile " << compileMs
            << " ms, serialise " << engine.endpointKeys().size() << " endpoints (" << rules << " rules, "
            << engine.setIds().size() << " sets, " << bytes / 1024 << " KiB) " << serialiseMs << " ms, relabel one pod "
            << updateMs << " ms (" << engine.affectedEndpoints(one).size() << " endpoints affected)\n";

  // Correctness: every endpoint is there, sets are shared (fewer than the peers written), and
  // the compiled rules agree with the semantics on sampled connections.
  EXPECT_EQ(engine.endpointKeys().size(), pods.size());
  EXPECT_LT(engine.setIds().size(), policies.size());
  std::mt19937 rng(42);
  auto below = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  for (int i = 0; i < 400; ++i) {
    const auto& from = pods[below(static_cast<int>(pods.size()))];
    const auto& to = pods[below(static_cast<int>(pods.size()))];
    uint16_t port = i % 3 == 0 ? static_cast<uint16_t>(8000 + below(5)) : static_cast<uint16_t>(80 + below(20));
    Protocol protocol = i % 7 == 0 ? Protocol::UDP : Protocol::TCP;
    if (protocol == Protocol::UDP) port = 53;
    ASSERT_EQ(engine.verdict(from.key(), to.key(), port, protocol).allowed,
              engine.compiledVerdict(from.key(), to.key(), port, protocol))
        << from.key() << " -> " << to.key() << " " << k8s::protocolName(protocol) << "/" << port;
  }
}

}  // namespace
}  // namespace cnikit::policy
