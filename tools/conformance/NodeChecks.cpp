// Checks 4 and 5: routing between nodes as nodes come and go, and a node that is routed
// before its first pod (local_node_update at start).
#include <thread>

#include "tools/conformance/Checks.hpp"
#include "tools/conformance/CniCall.hpp"
#include "tools/conformance/Routes.hpp"

namespace cnikit::conformance {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<std::string> subnetsOf(const json& status) {
  std::vector<std::string> out;
  for (const auto& pool : status.value("pools", json::array()))
    for (const auto& s : pool.value("nodeSubnets", json::array())) out.push_back(s.get<std::string>());
  return out;
}

std::string seconds(long ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ms) / 1000.0);
  return text;
}

}  // namespace

CheckOutcome checkNodeAddRemove(ConformanceLab& lab) {
  if (!lab.routesNodes()) return {Verdict::NotApplicable, "the backend has no node capability (routes no nodes)"};
  lab.ensureAgent(kNode1);
  lab.ensureAgent(kNode2);
  std::vector<std::string> problems;
  // Copies: the lab's pod list grows with each pod.
  const lab::PodState a = lab.servedPod("a", kNode1);
  const lab::PodState peer = lab.servedPod("peer", kNode2);
  const std::string aNetns = lab::netnsPath(a.netns), peerNetns = lab::netnsPath(peer.netns);
  const std::string aIp = firstIpv4(a.ips), peerIp = firstIpv4(peer.ips);
  auto both = [&](std::chrono::milliseconds within) {
    std::vector<std::string> out;
    if (auto why = reach(aNetns, peerIp, kServedPort, within); !why.empty())
      out.push_back("node1 pod -> node2 pod " + peerIp + ": " + why);
    if (auto why = reach(peerNetns, aIp, kServedPort, within); !why.empty())
      out.push_back("node2 pod -> node1 pod " + aIp + ": " + why);
    return out;
  };
  if (auto bad = both(std::chrono::seconds(3)); !bad.empty()) return outcomeOf(bad);

  auto subnets2 = subnetsOf(lab.agentStatus(kNode2));
  if (routesInto(lab.nodeNetns(kNode1), subnets2).empty())
    problems.push_back("node1 has no route into node2's subnets before node2 leaves");

  // Node2 goes away: its agent stops and its lease runs out; node1 must withdraw its routes.
  auto stopped = Clock::now();
  lab::stopAgent(lab.state(), kNode2);
  std::vector<std::string> left;
  long withdrawnMs = -1;
  while (Clock::now() - stopped < std::chrono::seconds(kLeaseTtlSeconds + 10)) {
    left = routesInto(lab.nodeNetns(kNode1), subnets2);
    if (left.empty()) {
      withdrawnMs = msSince(stopped);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (withdrawnMs < 0)
    problems.push_back("node1 still routes to node2 " + std::to_string(kLeaseTtlSeconds + 10) +
                       " s after node2's agent stopped: " + left.front());

  // Node2 comes back: reachable again.
  auto restarted = Clock::now();
  lab::startAgent(lab.state(), kNode2);
  lab::waitNodesReady(lab.state(), {kNode2}, nullptr, std::chrono::seconds(60));
  auto again = both(std::chrono::seconds(5));
  long backMs = msSince(restarted);
  problems.insert(problems.end(), again.begin(), again.end());
  return outcomeOf(problems, "reachable both ways; routes withdrawn " + seconds(withdrawnMs) +
                                 " after node2 stopped (lease " + std::to_string(kLeaseTtlSeconds) +
                                 " s); reachable again " + seconds(backMs) + " after its agent started");
}

CheckOutcome checkLocalNodeBeforePods(ConformanceLab& lab) {
  lab.ensureAgent(kNode1);
  std::vector<std::string> problems;
  // Right after the agent's start, before any pod: the lifecycle ran local_node_update.
  auto status = lab.agentStatus(kNode1);
  for (const auto& b : status.value("backends", json::array())) {
    std::string instance = b.value("instance", "?");
    if (!b.contains("lifecycle") || !b["lifecycle"].is_object()) {
      problems.push_back("status of backend " + instance + " has no lifecycle (a core without ABI 1.1 lifecycle?)");
      continue;
    }
    const auto& l = b["lifecycle"];
    if (!l.value("started", false)) problems.push_back(instance + " not started");
    if (l.value("localNodeUpdates", 0) < 1)
      problems.push_back(instance + ": localNodeUpdates " + l.value("localNodeUpdates", json(0)).dump() +
                         " before the first pod");
    if (!l.value("ready", false))
      problems.push_back(instance + " not ready: " + l.value("reason", std::string("(no reason)")));
  }

  // The first pod of node1 is reachable from a pod elsewhere as soon as its ADD returns.
  const lab::PodState peer = lab.servedPod("peer", lab.peerNode());
  auto netns = lab.makePodNetns("first");
  CniCall add;
  add.command = "ADD";
  add.containerId = "conformance-first";
  add.netnsPath = netns;
  add.config = lab.cniConfig(kNode1);
  auto r = callCni(lab.cnikitPath(), add);
  auto added = Clock::now();
  long reachedMs = -1;
  if (!r.ok()) {
    problems.push_back("ADD of the first pod failed: " + r.describe());
  } else {
    std::string ip = firstIpv4(addressesOf(r.out));
    // A refused connection is an answer from the pod's kernel: the path is there.
    auto why = reach(lab::netnsPath(peer.netns), ip, kServedPort, std::chrono::milliseconds(1000), true);
    reachedMs = msSince(added);
    if (!why.empty())
      problems.push_back("the first pod " + ip + " is not reachable from " + peer.node +
                         " within 1 s of its ADD: " + why);
  }
  add.command = "DEL";
  callCni(lab.cnikitPath(), add);
  lab.removePodNetns("first");
  // Checks 1-3 compare node1 with its state before any pod: a peer on node1 goes.
  if (peer.node == kNode1) lab.deletePod(peer.name);
  std::string from = lab.routesNodes() ? "from node2" : "from node1 (the backend routes no nodes)";
  json lifecycle = status.value("backends", json::array()).empty() ? json(nullptr)
                                                                   : status["backends"][0].value("lifecycle", json());
  return outcomeOf(problems, "lifecycle " + lifecycle.dump() + "; first pod reachable " + from + " " +
                                 std::to_string(reachedMs) + " ms after its ADD returned");
}

}  // namespace cnikit::conformance
