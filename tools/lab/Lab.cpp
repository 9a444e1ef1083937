#include "tools/lab/Lab.hpp"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "core/agent/AgentConfig.hpp"
#include "tools/lab/Command.hpp"
#include "tools/lab/LabEtcd.hpp"
#include "tools/lab/LabExternal.hpp"
#include "tools/lab/LabNodes.hpp"
#include "tools/lab/LabPaths.hpp"
#include "tools/lab/Netns.hpp"

namespace cnikit::lab {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string isoNow() {
  std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

std::string seconds(std::chrono::steady_clock::time_point since) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since).count();
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ms) / 1000.0);
  return text;
}

std::string describeCluster(const json& config) {
  std::string out;
  for (const auto& b : config.value("backends", json::array())) {
    out += (out.empty() ? "" : "; ") + b.value("type", "?");
    auto options = b.value("options", json::object());
    if (options.contains("mode")) out += " " + options["mode"].get<std::string>();
  }
  for (const auto& p : config.value("pools", json::array())) {
    std::string cidrs;
    for (const auto& c : p.value("cidrs", json::array())) cidrs += (cidrs.empty() ? "" : ",") + c.get<std::string>();
    out += ", pool " + p.value("name", "?") + " " + cidrs;
  }
  for (const auto& p : config.value("services", json::object()).value("loadBalancerPools", json::array())) {
    std::string cidrs;
    for (const auto& c : p.value("cidrs", json::array())) cidrs += (cidrs.empty() ? "" : ",") + c.get<std::string>();
    out += ", load-balancer pool " + p.value("name", "?") + " " + cidrs;
  }
  return out;
}

// Pods first, then nodes, the fabric last: the order in which things lean on each other.
int teardownRank(const std::string& netns, const std::string& lab) {
  std::string part = netns.substr(netnsPrefix(lab).size());
  if (part.rfind("pod-", 0) == 0) return 0;
  if (part == "fabric") return 2;
  return 1;
}

}  // namespace

LabState upLab(const LabSpec& input, const Progress& progress) {
  auto started = std::chrono::steady_clock::now();
  LabSpec spec = input;
  validateLabName(spec.name);
  if (spec.nodes.empty()) spec.setNodeCount(3);
  for (const auto& n : spec.nodes) validateNodeName(n.name);
  json clusterConfig = spec.clusterConfig();  // refused here, before anything exists

  if (fs::exists(stateFile(spec.name)) || !listNetns(netnsPrefix(spec.name)).empty())
    throw std::runtime_error("lab " + spec.name +
                             " already exists (or a crashed one left parts behind): `cnikitctl lab down --name " +
                             spec.name + "` first");
  LabLock lock(spec.name);

  LabState state;
  state.name = spec.name;
  state.dir = labDir(spec.name).string();
  state.created = isoNow();
  state.binDir = spec.binDir.empty() ? executableDir() : spec.binDir;
  for (const char* tool : {"cnikitd", "cnikit", "cnikitctl"})
    if (!fs::exists(fs::path(state.binDir) / tool))
      throw std::runtime_error(std::string("no ") + tool + " next to " + state.binDir +
                               " (the lab runs the real executables)");
  state.backendDir = spec.backendDir.empty() ? findBackendDir(state.binDir, spec.backend) : spec.backendDir;
  state.agentSettings = {{"nodeLeaseTtlSeconds", spec.nodeLeaseTtlSeconds},
                         {"resyncSeconds", spec.resyncSeconds},
                         {"logLevel", spec.logLevel},
                         {"gcIntervalSeconds", 30}};
  state.fabricNetns = netnsName(spec.name, "fabric");
  state.save();

  state.recordNetns(state.fabricNetns);
  createNetns(state.fabricNetns);
  runChecked({"ip", "-batch", "-"}, netnsPath(state.fabricNetns),
             "link add " + state.fabricBridge + " type bridge\n" + "addr add " + state.fabricIpv4 + "/16 dev " +
                 state.fabricBridge + "\n" + "addr add " + state.fabricIpv6 + "/64 dev " + state.fabricBridge +
                 " nodad\n" + "link set " + state.fabricBridge + " up\n");
  if (progress)
    progress("fabric ready: bridge " + state.fabricBridge + " " + state.fabricIpv4 + "/16 in " + state.fabricNetns);
  addExternalClient(state);
  if (progress)
    progress("outside client ready: " + state.external.ipv4 + ", " + state.external.ipv6 + " in " +
             state.external.netns);

  startEtcd(state);
  if (progress)
    progress("etcd ready (" + state.etcd.endpoint + ", pid " + std::to_string(state.etcd.process.pid) + ")");

  withLabStore(state, [&](store::Store& store) { store.put(agent::kClusterConfigKey, clusterConfig.dump()); });
  state.clusterConfig = clusterConfig;
  state.save();
  if (progress)
    progress(std::string("cluster config written to ") + agent::kClusterConfigKey + ": " +
             describeCluster(clusterConfig));

  std::vector<std::string> names;
  for (const auto& n : spec.nodes) {
    addNodeNetwork(state, n);
    names.push_back(n.name);
  }
  for (const auto& n : names) startAgent(state, n);
  if (progress) progress("agents started on " + std::to_string(names.size()) + " nodes, waiting for them");
  waitNodesReady(state, names, progress, spec.readyTimeout);
  if (progress)
    progress("lab " + spec.name + " is ready: " + std::to_string(names.size()) +
             " nodes, every node routes to every other (" + seconds(started) + ")");
  return state;
}

std::vector<std::string> downLab(const std::string& name, const Progress& progress) {
  validateLabName(name);
  std::vector<std::string> done;
  auto say = [&](const std::string& line) {
    done.push_back(line);
    if (progress) progress(line);
  };
  std::optional<LabLock> lock;
  if (fs::exists(labDir(name))) {
    try {
      lock.emplace(name, std::chrono::seconds(10));
    } catch (const std::runtime_error& e) {
      // A command that hangs on the lab must not keep it from going away.
      say(std::string(e.what()) + "; taking the lab down anyway");
    }
  }
  auto state = LabState::tryLoad(name);

  if (state) {
    // Probe servers, then agents, then etcd: whoever depends on something stops first.
    std::vector<ProcessRecord> servers, agents;
    for (const auto& p : state->pods)
      if (isRunning(p.server)) servers.push_back(p.server);
    for (const auto& n : state->nodes)
      if (isRunning(n.agent)) agents.push_back(n.agent);
    if (auto n = terminateAll(servers, std::chrono::seconds(2))) say("stopped " + std::to_string(n) + " probe servers");
    if (auto n = terminateAll(agents, std::chrono::seconds(5))) say("stopped " + std::to_string(n) + " agents");
    if (terminateAll({state->etcd.process}, std::chrono::seconds(5)))
      say("stopped etcd (pid " + std::to_string(state->etcd.process.pid) + ")");
  }

  std::set<std::string> namespaces;
  if (state) namespaces.insert(state->netns.begin(), state->netns.end());
  for (const auto& n : listNetns(netnsPrefix(name))) namespaces.insert(n);
  std::vector<std::string> ordered;
  for (const auto& n : namespaces)
    if (n.rfind(netnsPrefix(name), 0) == 0) ordered.push_back(n);  // never anything but ours
  std::stable_sort(ordered.begin(), ordered.end(), [&](const std::string& a, const std::string& b) {
    return teardownRank(a, name) < teardownRank(b, name);
  });
  for (const auto& ns : ordered) {
    if (!netnsExists(ns)) continue;
    // Whatever still runs inside is the lab's (e.g. a `lab exec`, or a process a crashed
    // command started but never recorded).
    for (pid_t pid : processesInNetns(netnsPath(ns))) {
      ProcessRecord p{pid, processStartTime(pid)};
      if (killHard(p)) say("killed pid " + std::to_string(pid) + " left in " + ns);
    }
    deleteNetns(ns);
    say("removed network namespace " + ns);
  }

  std::error_code ec;
  if (fs::exists(labDir(name), ec)) {
    fs::remove_all(labDir(name), ec);
    if (ec) throw std::runtime_error("cannot remove " + labDir(name).string() + ": " + ec.message());
    say("removed " + labDir(name).string());
  }
  return done;
}

NodeState addNode(const std::string& lab, const LabNodeSpec& spec, const Progress& progress,
                  std::chrono::milliseconds timeout) {
  LabLock lock(lab);
  auto state = LabState::load(lab);
  addNodeNetwork(state, spec);
  startAgent(state, spec.name);
  waitNodesReady(state, {spec.name}, progress, timeout);
  return *state.node(spec.name);
}

json labSummaries() {
  json out = json::array();
  for (const auto& name : listLabs()) {
    auto state = LabState::tryLoad(name);
    if (!state) {
      out.push_back({{"name", name}, {"state", "broken"}, {"nodes", 0}, {"pods", 0}});
      continue;
    }
    size_t alive = isRunning(state->etcd.process) ? 1 : 0, expected = 1;
    for (const auto& n : state->nodes) {
      ++expected;
      alive += isRunning(n.agent);
    }
    for (const auto& p : state->pods) {
      ++expected;
      alive += isRunning(p.server);
    }
    std::string backend;
    for (const auto& b : state->clusterConfig.value("backends", json::array())) {
      auto options = b.value("options", json::object());
      backend += (backend.empty() ? "" : ",") + b.value("type", "?") +
                 (options.contains("mode") ? " " + options["mode"].get<std::string>() : "");
    }
    out.push_back({{"name", name},
                   {"state", alive == expected ? "running"
                             : alive == 0      ? "stopped"
                                               : "degraded"},
                   {"nodes", state->nodes.size()},
                   {"pods", state->pods.size()},
                   {"processesAlive", alive},
                   {"processes", expected},
                   {"backend", backend},
                   {"created", state->created},
                   {"dir", state->dir}});
  }
  return out;
}

json labStatus(const std::string& name) {
  auto state = LabState::load(name);
  json out = state.toJson();
  out["etcd"]["running"] = isRunning(state.etcd.process);
  for (auto& node : out["nodes"]) {
    const auto* n = state.node(node["name"]);
    node["running"] = isRunning(n->agent);
    if (node["running"].get<bool>()) {
      try {
        auto s = agentStatus(*n, std::chrono::seconds(3));
        node["subnets"] = subnetsText(s);
        node["registered"] = s["cluster"].value("registered", false);
        node["storeReachable"] = s["store"].value("reachable", false);
      } catch (const std::exception& e) {
        node["error"] = e.what();
      }
    }
  }
  for (auto& pod : out["pods"]) {
    const auto* p = state.pod(pod["namespace"].get<std::string>() + "/" + pod["name"].get<std::string>());
    pod["running"] = isRunning(p->server);
  }
  out["external"]["present"] = !state.external.netns.empty() && netnsExists(state.external.netns);
  return out;
}

}  // namespace cnikit::lab
