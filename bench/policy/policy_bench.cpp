// Programs NetworkPolicy into a network namespace with cnikit's iptables/ipset provider (the
// code the agent's PolicyController runs) for the policy benchmark (run-policy-bench.sh):
//
//   policy_bench program --netns PATH [--rounds 5]
//     The scale model of integration.PolicyIptablesScale (1000 policies over 500 pods, all
//     local to the node; tests/support/PolicyScaleModel.hpp): per round, compile it in a
//     fresh engine, program it into an empty namespace (IptablesProvider::sync), then remove
//     everything. Prints each round and the medians against the target (compile + program
//     under 1 s).
//
//   policy_bench rules --netns PATH --rules N --server-ip IP --client-ip IP --ports LO-HI
//     The datapath cases: N policies select the server pod (label role=server). N-1 of them
//     each allow one of 50 peer pod sets (pods without a namespace of their own, addresses
//     10.254.0.1-50) on a TCP range that covers the measured ports (LO-HI, then one more
//     port per 50 policies, so no two rules are alike); the last one ("zz-allow-client",
//     last in the engine's order) allows the client on LO-HI. A new connection from the
//     client is so compared with every other rule before it is accepted: the worst case of
//     N rules. N = 0 programs nothing (no policy selects anyone). Prints one JSON object.
//
// Both enter the namespace on their only thread before the provider binds to it, and exit
// when done: the provider's destructor leaves the datapath in place.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <cnikit/toolkit/NetnsGuard.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/policy/Engine.hpp"
#include "core/policy/iptables/IptablesProvider.hpp"
#include "tests/support/PolicyScaleModel.hpp"

namespace {

using cnikit::k8s::Protocol;
using cnikit::policy::Engine;
using cnikit::policy::iptables::IptablesProvider;
using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int runProgram(int rounds) {
  auto model = cnikit::testing::makePolicyScaleModel();
  IptablesProvider provider;
  provider.removeAll();  // an empty namespace, whatever ran before
  std::vector<double> compile, program, total;
  std::printf("Compile and program %zu policies over %zu pods (all local to one node), %d round(s):\n",
              model.policies.size(), model.pods.size(), rounds);
  std::printf("%-6s %11s %11s %11s %9s %12s %7s %7s %7s %10s\n", "round", "compile ms", "program ms", "total ms",
              "ipset ms", "iptables ms", "chains", "rules", "ipsets", "remove ms");
  for (int r = 1; r <= rounds; ++r) {
    Engine engine;
    auto start = Clock::now();
    for (const auto& ns : model.namespaces) engine.upsertNamespace(ns);
    for (const auto& pod : model.pods) engine.upsertPod(pod);
    for (const auto& policy : model.policies) engine.upsertPolicy(policy);
    double compileMs = msSince(start);
    start = Clock::now();
    provider.sync(engine);
    auto stats = provider.lastUpdate();
    double programMs = msSince(start);
    size_t chains = provider.chainCount(), rules = provider.ruleCount(), sets = provider.setCount();
    start = Clock::now();
    provider.removeAll();
    double removeMs = msSince(start);
    std::printf("%-6d %11.1f %11.1f %11.1f %9.1f %12.1f %7zu %7zu %7zu %10.1f\n", r, compileMs, programMs,
                compileMs + programMs, stats.ipsetMs, stats.iptablesMs, chains, rules, sets, removeMs);
    compile.push_back(compileMs);
    program.push_back(programMs);
    total.push_back(compileMs + programMs);
  }
  double worst = *std::max_element(total.begin(), total.end());
  std::printf("median: compile %.1f ms, program %.1f ms, compile + program %.1f ms (worst %.1f ms); "
              "target under 1000 ms: %s\n",
              median(compile), median(program), median(total), worst, median(total) < 1000 ? "met" : "MISSED");
  return 0;
}

std::pair<uint16_t, uint16_t> parseRange(const std::string& text) {
  auto dash = text.find('-');
  int lo = std::stoi(text.substr(0, dash));
  int hi = dash == std::string::npos ? lo : std::stoi(text.substr(dash + 1));
  if (lo < 1 || hi > 65000 || hi < lo) throw std::runtime_error("--ports '" + text + "': expected LO-HI");
  return {static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)};
}

cnikit::k8s::Pod benchPod(const std::string& name, cnikit::k8s::Labels labels, const std::string& ip) {
  cnikit::k8s::Pod pod;
  pod.ns = "bench";
  pod.name = name;
  pod.labels = std::move(labels);
  pod.ips = {ip};
  return pod;
}

cnikit::k8s::NetworkPolicy allowToServer(const std::string& name, cnikit::k8s::Labels from, uint16_t port,
                                         uint16_t endPort) {
  cnikit::k8s::NetworkPolicy policy;
  policy.ns = "bench";
  policy.name = name;
  policy.podSelector.matchLabels["role"] = "server";
  cnikit::k8s::PolicyRule rule;
  cnikit::k8s::PolicyPeer peer;
  peer.podSelector = cnikit::k8s::LabelSelector{std::move(from), {}};
  rule.peers.push_back(peer);
  rule.ports.push_back({Protocol::TCP, port, endPort});
  policy.ingress.push_back(rule);
  return policy;
}

int runRules(int rules, const std::string& serverIp, const std::string& clientIp, const std::string& ports) {
  const int kPeerSets = 50;
  auto [lo, hi] = parseRange(ports);
  Engine engine;
  auto start = Clock::now();
  engine.upsertNamespace({"bench", {{cnikit::k8s::kNamespaceNameLabel, "bench"}}});
  engine.upsertPod(benchPod("server", {{"role", "server"}}, serverIp));
  engine.upsertPod(benchPod("client", {{"role", "client"}}, clientIp));
  for (int k = 0; k < kPeerSets; ++k)
    engine.upsertPod(benchPod("peer" + std::to_string(k), {{"peer", "p" + std::to_string(k)}},
                              "10.254.0." + std::to_string(k + 1)));
  for (int i = 0; i + 1 < rules; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "p%05d", i);
    engine.upsertPolicy(allowToServer(name, {{"peer", "p" + std::to_string(i % kPeerSets)}}, lo,
                                      static_cast<uint16_t>(hi + 1 + i / kPeerSets)));
  }
  if (rules > 0) engine.upsertPolicy(allowToServer("zz-allow-client", {{"role", "client"}}, lo, hi));
  double compileMs = msSince(start);

  IptablesProvider provider;
  start = Clock::now();
  provider.sync(engine);
  auto stats = provider.lastUpdate();
  double programMs = msSince(start);
  auto compiled = engine.endpoint("bench/server");
  nlohmann::json out = {{"rules", rules},
                        {"ingressRules", compiled ? compiled->ingress.rules.size() : 0},
                        {"chains", provider.chainCount()},
                        {"iptablesRules", provider.ruleCount()},
                        {"ipsets", provider.setCount()},
                        {"compileMs", compileMs},
                        {"programMs", programMs},
                        {"stats", stats.toJson()}};
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Programs NetworkPolicy with cnikit's iptables provider for run-policy-bench.sh"};
  app.require_subcommand(1);
  std::string netns;
  int rounds = 5, rules = 0;
  std::string serverIp, clientIp, ports;
  auto* program = app.add_subcommand("program", "compile and program 1000 policies over 500 pods, timed");
  program->add_option("--netns", netns, "network namespace to program (/run/netns/NAME)")->required();
  program->add_option("--rounds", rounds, "rounds (from an empty namespace each)")->check(CLI::PositiveNumber);
  auto* rulesCmd = app.add_subcommand("rules", "program N rules in front of the server pod");
  rulesCmd->add_option("--netns", netns, "the node's network namespace (/run/netns/NAME)")->required();
  rulesCmd->add_option("--rules", rules, "policies selecting the server pod (0: none)")
      ->required()
      ->check(CLI::Range(0, 50000));
  rulesCmd->add_option("--server-ip", serverIp)->required();
  rulesCmd->add_option("--client-ip", clientIp)->required();
  rulesCmd->add_option("--ports", ports, "TCP ports the client may reach on the server, LO-HI")->required();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  try {
    // This process has one thread: entering here puts the provider (bound at construction)
    // and everything it does in the namespace.
    auto guard = cnikit::toolkit::NetnsGuard::enter(netns);
    if (!guard) throw std::runtime_error("enter " + netns + ": " + guard.error().message);
    return program->parsed() ? runProgram(rounds) : runRules(rules, serverIp, clientIp, ports);
  } catch (const std::exception& e) {
    std::cerr << "policy_bench: " << e.what() << "\n";
    return 1;
  }
}
