// 1000 policies over 500 pods: prints how long compiling (incrementally, one object at a
// time) and serialising take; asserts only correctness (bench/ holds the timed targets).
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <random>

#include "core/policy/Engine.hpp"

namespace cnikit::policy {
namespace {

using k8s::Protocol;
using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

TEST(CompileScale, ThousandPoliciesOverFiveHundredPods) {
  std::mt19937 rng(42);
  auto below = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  const int kNamespaces = 10, kPodsPerNamespace = 50, kPolicies = 1000;

  std::vector<k8s::Namespace> namespaces;
  std::vector<k8s::Pod> pods;
  std::vector<k8s::NetworkPolicy> policies;
  for (int n = 0; n < kNamespaces; ++n) {
    std::string ns = "ns" + std::to_string(n);
    namespaces.push_back({ns, {{"team", "t" + std::to_string(n % 4)}, {k8s::kNamespaceNameLabel, ns}}});
    for (int p = 0; p < kPodsPerNamespace; ++p) {
      k8s::Pod pod;
      pod.ns = ns;
      pod.name = "pod" + std::to_string(p);
      pod.labels = {{"app", "app" + std::to_string(p % 10)}, {"tier", p % 3 == 0 ? "db" : "web"}};
      pod.ips = {"10." + std::to_string(n) + "." + std::to_string(p / 250) + "." + std::to_string(p % 250 + 1)};
      pod.ports = {{"http", static_cast<uint16_t>(8000 + p % 5), Protocol::TCP}, {"dns", 53, Protocol::UDP}};
      pods.push_back(pod);
    }
  }
  for (int i = 0; i < kPolicies; ++i) {
    k8s::NetworkPolicy p;
    p.ns = "ns" + std::to_string(i % kNamespaces);
    p.name = "policy" + std::to_string(i);
    p.podSelector.matchLabels["app"] = "app" + std::to_string(below(10));
    p.egressType = i % 3 == 0;
    k8s::PolicyRule in;
    k8s::PolicyPeer peer;
    peer.podSelector = k8s::LabelSelector{{{"app", "app" + std::to_string(below(10))}}, {}};
    if (i % 2) peer.namespaceSelector = k8s::LabelSelector{{{"team", "t" + std::to_string(below(4))}}, {}};
    in.peers.push_back(peer);
    if (i % 5 == 0) in.peers.push_back({std::nullopt, std::nullopt, k8s::IpBlock{"172.16.0.0/12", {"172.16.1.0/24"}}});
    in.ports.push_back({Protocol::TCP, static_cast<uint16_t>(80 + below(20)), std::nullopt});
    if (i % 4 == 0) in.ports.push_back({Protocol::TCP, std::string("http"), std::nullopt});
    p.ingress.push_back(in);
    if (p.egressType) {
      k8s::PolicyRule out;
      k8s::PolicyPeer to;
      to.namespaceSelector = k8s::LabelSelector{{{"team", "t" + std::to_string(below(4))}}, {}};
      out.peers.push_back(to);
      out.ports.push_back({Protocol::UDP, std::string("dns"), std::nullopt});
      out.ports.push_back({Protocol::TCP, static_cast<uint16_t>(8000), uint16_t{8004}});
      p.egress.push_back(out);
    }
    policies.push_back(p);
  }

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

  std::cout << "[ CompileScale ] " << kPolicies << " policies over " << pods.size() << " pods: compile " << compileMs
            << " ms, serialise " << engine.endpointKeys().size() << " endpoints (" << rules << " rules, "
            << engine.setIds().size() << " sets, " << bytes / 1024 << " KiB) " << serialiseMs << " ms, relabel one pod "
            << updateMs << " ms (" << engine.affectedEndpoints(one).size() << " endpoints affected)\n";

  // Correctness: every endpoint is there, sets are shared (fewer than the peers written), and
  // the compiled rules agree with the semantics on sampled connections.
  EXPECT_EQ(engine.endpointKeys().size(), pods.size());
  EXPECT_LT(engine.setIds().size(), static_cast<size_t>(kPolicies));
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
