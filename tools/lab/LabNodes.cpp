#include "tools/lab/LabNodes.hpp"

#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/agent/NodeRecord.hpp"
#include "core/rpc/AgentClient.hpp"
#include "tools/lab/Command.hpp"
#include "tools/lab/LabEtcd.hpp"
#include "tools/lab/LabPaths.hpp"
#include "tools/lab/Netns.hpp"

namespace cnikit::lab {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string underlayV4(int index) {
  return "10.250." + std::to_string(index / 200) + "." + std::to_string(10 + index % 200);
}
std::string underlayV6(int index) { return "fd00:250::" + std::to_string(10 + index); }

void writeAgentConfig(const LabState& state, const NodeState& node) {
  json config = {{"node", node.name},
                 {"nodeLabels", node.labels},
                 {"socket", node.socket},
                 {"stateDir", (fs::path(node.dir) / "state").string()},
                 {"store", {{"type", "etcd"}, {"endpoints", json::array({state.etcd.endpoint})}}},
                 {"backendDir", state.backendDir},
                 {"underlayInterface", "eth0"}};
  for (const auto& [k, v] : state.agentSettings.items()) config[k] = v;
  // JSON is YAML: the agent reads either.
  std::ofstream(node.configFile) << config.dump(2) << "\n";
}

NodeState* findNode(LabState& state, const std::string& name) {
  auto* node = state.node(name);
  if (!node) {
    std::string names;
    for (const auto& n : state.nodes) names += (names.empty() ? "" : ", ") + n.name;
    throw std::runtime_error("lab " + state.name + " has no node '" + name + "' (nodes: " + names + ")");
  }
  return node;
}

}  // namespace

NodeState& addNodeNetwork(LabState& state, const LabNodeSpec& spec) {
  validateNodeName(spec.name);
  if (state.node(spec.name)) throw std::runtime_error("lab " + state.name + " already has a node " + spec.name);
  NodeState node;
  node.name = spec.name;
  node.labels = spec.labels;
  for (const auto& n : state.nodes) node.index = std::max(node.index, n.index);
  node.index += 1;
  node.netns = netnsName(state.name, spec.name);
  node.fabricPort = "n" + std::to_string(node.index);
  node.underlayIpv4 = underlayV4(node.index);
  node.underlayIpv6 = underlayV6(node.index);
  node.dir = (labDir(state.name) / spec.name).string();
  node.socket = node.dir + "/cnikitd.sock";
  node.configFile = node.dir + "/cnikitd.yaml";
  node.logFile = node.dir + "/cnikitd.log";
  fs::create_directories(node.dir);
  state.nodes.push_back(node);
  state.recordNetns(node.netns);  // saves: recorded before it exists

  createNetns(node.netns);
  const std::string path = netnsPath(node.netns);
  runChecked({"ip", "-batch", "-"}, path,
             "link add eth0 type veth peer name " + node.fabricPort + " netns " + state.fabricNetns + "\n" +
                 "addr add " + node.underlayIpv4 + "/16 dev eth0\n" + "addr add " + node.underlayIpv6 +
                 "/64 dev eth0 nodad\n");
  // Forwarding is per namespace and off by default: pods' traffic is routed through the node.
  // No DAD on the underlay: a router sends neighbour solicitations for forwarded packets
  // only from a usable link-local address, and a fresh one stays tentative for ~1-2 s,
  // during which host-gw IPv6 would black-hole (a real node's uplink is long up).
  runChecked({"sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
              "net.ipv6.conf.eth0.accept_dad=0"},
             path);
  runChecked({"ip", "link", "set", "eth0", "up"}, path);
  runChecked({"ip", "link", "set", node.fabricPort, "master", state.fabricBridge, "up"}, netnsPath(state.fabricNetns));
  writeAgentConfig(state, node);
  return *state.node(spec.name);
}

void startAgent(LabState& state, const std::string& name) {
  auto* node = findNode(state, name);
  if (isRunning(node->agent)) return;
  std::error_code ec;
  fs::remove(node->socket, ec);  // a stale socket would look alive to a client for a moment
  std::ofstream(node->logFile, std::ios::app) << "---- cnikit lab: starting cnikitd\n";
  node->agent = spawnDaemon({{(fs::path(state.binDir) / "cnikitd").string(), "--config", node->configFile},
                             netnsPath(node->netns),
                             node->logFile,
                             -1});
  state.save();
}

bool stopAgent(LabState& state, const std::string& name) {
  auto* node = findNode(state, name);
  bool was = terminate(node->agent, std::chrono::seconds(10));
  node->agent = {};
  state.save();
  return was;
}

bool killAgent(LabState& state, const std::string& name) {
  auto* node = findNode(state, name);
  bool was = killHard(node->agent);
  node->agent = {};
  state.save();
  return was;
}

json agentStatus(const NodeState& node, std::chrono::milliseconds timeout) {
  return rpc::AgentClient(node.socket).call(rpc::kStatusMethod, nullptr, timeout);
}

std::string subnetsText(const json& status) {
  std::string out;
  for (const auto& pool : status.value("pools", json::array()))
    for (const auto& s : pool.value("nodeSubnets", json::array()))
      out += (out.empty() ? "" : ", ") + s.get<std::string>();
  return out;
}

namespace {

struct Convergence {
  bool done = true;
  std::string missing;  // "node1 has not programmed node3 (error ...)"
};

Convergence checkConverged(const LabState& state) {
  Convergence c;
  std::set<std::string> registered;
  std::vector<std::pair<const NodeState*, json>> statuses;
  for (const auto& node : state.nodes) {
    if (!isRunning(node.agent)) continue;
    try {
      auto s = agentStatus(node, std::chrono::seconds(2));
      if (s["cluster"].value("registered", false)) registered.insert(node.name);
      statuses.emplace_back(&node, s);
    } catch (const std::exception& e) {
      c.done = false;
      c.missing += "\n  " + node.name + ": " + e.what();
    }
  }
  for (const auto& [node, s] : statuses) {
    std::map<std::string, json> remote;
    for (const auto& r : s["cluster"].value("remoteNodes", json::array())) remote[r.get<agent::NodeRecord>().name] = r;
    for (const auto& other : registered) {
      if (other == node->name) continue;
      auto it = remote.find(other);
      if (it == remote.end() || !it->second.value("programmed", false)) {
        c.done = false;
        c.missing += "\n  " + node->name + " has not programmed " + other;
        if (it != remote.end() && it->second.contains("error"))
          c.missing += ": " + it->second["error"].get<std::string>();
      }
    }
  }
  if (registered.size() != statuses.size()) {
    c.done = false;
    for (const auto& [node, s] : statuses)
      if (!registered.count(node->name)) c.missing += "\n  " + node->name + " is not registered";
  }
  return c;
}

std::string logTails(const LabState& state) {
  std::string out;
  for (const auto& node : state.nodes)
    out += "\n---- " + node.logFile + " (last lines):\n" + fileTail(node.logFile, 1200);
  return out;
}

}  // namespace

void waitNodesReady(const LabState& state, const std::vector<std::string>& nodes, const Progress& progress,
                    std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::set<std::string> pending(nodes.begin(), nodes.end());
  std::map<std::string, std::string> lastError;
  while (!pending.empty()) {
    for (auto it = pending.begin(); it != pending.end();) {
      const auto* node = state.node(*it);
      if (!node) throw std::runtime_error("no node " + *it);
      if (!isRunning(node->agent))
        throw std::runtime_error("the agent of " + node->name + " exited; " + node->logFile + " ends:\n" +
                                 fileTail(node->logFile));
      try {
        auto s = agentStatus(*node, std::chrono::seconds(2));
        if (s["cluster"].value("registered", false)) {
          if (progress) progress(node->name + " ready (subnet " + subnetsText(s) + ")");
          it = pending.erase(it);
          continue;
        }
        lastError[node->name] = "not registered yet";
      } catch (const std::exception& e) {
        lastError[node->name] = e.what();
      }
      ++it;
    }
    if (pending.empty()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      std::string what;
      for (const auto& n : pending) what += "\n  " + n + ": " + lastError[n];
      throw std::runtime_error("nodes not ready after " + std::to_string(timeout.count() / 1000) + " s:" + what +
                               logTails(state));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  waitConverged(state, std::max(left, std::chrono::milliseconds(1000)));
}

void waitConverged(const LabState& state, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto c = checkConverged(state);
    if (c.done) return;
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("the nodes did not program each other within " + std::to_string(timeout.count()) +
                               " ms:" + c.missing + logTails(state));
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
}

std::string anyAgentSocket(const LabState& state) {
  std::string errors;
  for (const auto& node : state.nodes) {
    if (!isRunning(node.agent)) {
      errors += "\n  " + node.name + ": agent not running";
      continue;
    }
    try {
      rpc::AgentClient(node.socket).call(rpc::kVersionMethod, nullptr, std::chrono::seconds(5));
      return node.socket;
    } catch (const std::exception& e) {
      errors += "\n  " + node.name + ": " + e.what();
    }
  }
  throw std::runtime_error("no agent of lab " + state.name + " answers:" + errors);
}

}  // namespace cnikit::lab
