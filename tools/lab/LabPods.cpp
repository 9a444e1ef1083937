#include "tools/lab/LabPods.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>

#include "core/k8s/Objects.hpp"
#include "core/rpc/AgentClient.hpp"
#include "tools/lab/Command.hpp"
#include "tools/lab/LabNodes.hpp"
#include "tools/lab/LabPaths.hpp"
#include "tools/lab/Netns.hpp"

namespace cnikit::lab {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kPodIfname = "eth0";

std::string containerIdOf(const std::string& ns, const std::string& name) {
  // Namespaces hold no '.', so "lab.<ns>.<name>" cannot collide.
  return "lab." + ns + "." + name;
}

std::map<std::string, std::string> cniEnv(const LabState& state, const PodState& pod, const std::string& command) {
  return {{"CNI_COMMAND", command},
          {"CNI_CONTAINERID", pod.containerId},
          {"CNI_NETNS", command == "DEL" && !netnsExists(pod.netns) ? "" : netnsPath(pod.netns)},
          {"CNI_IFNAME", kPodIfname},
          {"CNI_PATH", state.binDir},
          {"CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + pod.ns + ";K8S_POD_NAME=" + pod.name +
                           ";K8S_POD_INFRA_CONTAINER_ID=" + pod.containerId}};
}

// Runs the node's real CNI executable as a runtime does; returns the parsed result.
json invokeCni(const LabState& state, const PodState& pod, const std::string& command) {
  const auto* node = state.node(pod.node);
  CommandSpec spec;
  spec.argv = {(fs::path(state.binDir) / "cnikit").string()};
  spec.env = cniEnv(state, pod, command);
  spec.replaceEnv = true;
  spec.stdinText = cniConfig(*node);
  spec.timeout = std::chrono::seconds(120);
  auto r = runCommand(spec);
  auto out = json::parse(r.out.empty() ? "null" : r.out, nullptr, false);
  if (r.exitCode != 0) {
    std::string message = r.describe(spec.argv);
    if (out.is_object() && out.contains("msg"))
      message = "CNI error " + out.value("code", json(0)).dump() + ": " + out.value("msg", "") +
                (out.contains("details") ? " (" + out.value("details", "") + ")" : "");
    throw std::runtime_error("CNI " + command + " of pod " + pod.key() + " on " + pod.node + " failed: " + message);
  }
  return out;
}

std::vector<std::string> resultIps(const json& result) {
  std::vector<std::string> ips;
  for (const auto& ip : result.value("ips", json::array())) {
    std::string address = ip.value("address", "");
    ips.push_back(address.substr(0, address.find('/')));
  }
  // IPv4 first, as the kubelet lists status.podIPs (the primary family first).
  std::stable_partition(ips.begin(), ips.end(), [](const std::string& a) { return a.find(':') == std::string::npos; });
  return ips;
}

json storeObjects(const LabState& state, const json& objects) {
  return rpc::AgentClient(anyAgentSocket(state)).call(rpc::kObjectsApplyMethod, {{"objects", objects}});
}

json podObject(const json& object, const PodState& pod) {
  json out = object;
  out["spec"]["nodeName"] = pod.node;
  if (!pod.ips.empty()) {
    json list = json::array();
    for (const auto& ip : pod.ips) list.push_back({{"ip", ip}});
    out["status"] = {{"podIP", pod.ips.front()}, {"podIPs", list}};
  } else {
    out.erase("status");
  }
  return out;
}

std::string portsArgument(const std::vector<k8s::ContainerPort>& ports) {
  std::string out;
  for (const auto& p : ports)
    out += (out.empty() ? "" : ",") + std::to_string(p.port) + "/" + k8s::protocolName(p.protocol);
  return out;
}

std::string pickNode(const LabState& state, const std::string& requested, const std::string& podKey) {
  if (!requested.empty()) {
    if (!state.node(requested)) {
      std::string names;
      for (const auto& n : state.nodes) names += (names.empty() ? "" : ", ") + n.name;
      throw std::runtime_error("pod " + podKey + ": spec.nodeName '" + requested + "' is no node of lab " + state.name +
                               " (nodes: " + names + ")");
    }
    return requested;
  }
  // Round robin in effect: the node with the fewest pods, the first such in node order.
  std::string best;
  size_t fewest = SIZE_MAX;
  for (const auto& n : state.nodes) {
    size_t count =
        std::count_if(state.pods.begin(), state.pods.end(), [&](const PodState& p) { return p.node == n.name; });
    if (count < fewest) {
      fewest = count;
      best = n.name;
    }
  }
  return best;
}

void removePod(LabState& state, const std::string& key, const Progress& progress) {
  auto* pod = state.pod(key);
  if (!pod) return;
  terminate(pod->server, std::chrono::seconds(2));
  pod->server = {};
  state.save();
  std::string warning;
  if (pod->networked) {
    try {
      invokeCni(state, *pod, "DEL");
    } catch (const std::exception& e) {
      warning = e.what();  // the namespace goes anyway; the agent's GC releases the address
    }
  }
  deleteNetns(pod->netns);
  std::string netns = pod->netns;
  state.pods.erase(
      std::remove_if(state.pods.begin(), state.pods.end(), [&](const PodState& p) { return p.key() == key; }),
      state.pods.end());
  state.forgetNetns(netns);
  if (progress) progress("Pod " + key + " deleted" + (warning.empty() ? "" : " (warning: " + warning + ")"));
}

}  // namespace

std::string cniConfig(const NodeState& node) {
  return json{{"cniVersion", "1.0.0"}, {"name", "cnikit-lab"}, {"type", "cnikit"}, {"agentSocket", node.socket}}.dump();
}

void startProbeServer(LabState& state, PodState& pod) {
  terminate(pod.server, std::chrono::seconds(2));
  pod.server = {};
  if (pod.ports.empty()) {
    state.save();
    return;
  }
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  toolkit::UniqueFd readEnd(ready[0]), writeEnd(ready[1]);
  pod.server = spawnDaemon({{(fs::path(state.binDir) / "cnikitctl").string(), "lab", "serve", "--ports",
                             portsArgument(pod.ports), "--pod", pod.key(), "--ready-fd", "3"},
                            netnsPath(pod.netns),
                            pod.logFile,
                            writeEnd.get()});
  state.save();
  writeEnd.reset();
  // The server writes one byte once every socket listens; EOF means it died first.
  pollfd pfd{readEnd.get(), POLLIN, 0};
  char byte = 0;
  if (::poll(&pfd, 1, 10000) != 1 || ::read(readEnd.get(), &byte, 1) != 1)
    throw std::runtime_error("the probe server of pod " + pod.key() + " did not start; " + pod.logFile + ": " +
                             fileTail(pod.logFile, 600));
}

void applyObjects(LabState& state, const std::vector<k8s::NormalizedObject>& objects, const Progress& progress) {
  json first = json::array();
  for (const auto& o : objects)
    if (o.ref.kind != k8s::Kind::Pod) first.push_back(o.object);
  if (!first.empty()) {
    auto response = storeObjects(state, first);
    for (const auto& r : response.value("results", json::array()))
      if (progress)
        progress(r.value("kind", "") + " " + (r.contains("namespace") ? r["namespace"].get<std::string>() + "/" : "") +
                 r.value("name", "") + " " + r.value("action", ""));
  }

  for (const auto& o : objects) {
    if (o.ref.kind != k8s::Kind::Pod) continue;
    auto decoded = k8s::podFromJson(o.object);
    const std::string key = decoded.key();
    if (auto* existing = state.pod(key)) {
      if (!decoded.nodeName.empty() && decoded.nodeName != existing->node)
        throw std::runtime_error("pod " + key + " runs on " + existing->node + "; spec.nodeName cannot change to " +
                                 decoded.nodeName + " (delete the pod first)");
      bool portsChanged = existing->ports != decoded.ports;
      existing->ports = decoded.ports;
      state.save();
      if (portsChanged) startProbeServer(state, *existing);
      auto response = storeObjects(state, json::array({podObject(o.object, *existing)}));
      std::string action = "configured";
      for (const auto& r : response.value("results", json::array())) action = r.value("action", action);
      if (progress) progress("Pod " + key + " " + action + (portsChanged ? " (probe server restarted)" : ""));
      continue;
    }

    PodState pod;
    pod.ns = decoded.ns;
    pod.name = decoded.name;
    pod.node = pickNode(state, decoded.nodeName, key);
    pod.netns = netnsName(state.name, podNetnsPart(pod.ns, pod.name));
    pod.containerId = containerIdOf(pod.ns, pod.name);
    pod.ports = decoded.ports;
    pod.logFile = (fs::path(state.dir) / "pods" / (pod.ns + "_" + pod.name + ".log")).string();
    fs::create_directories(fs::path(pod.logFile).parent_path());
    state.pods.push_back(pod);
    state.recordNetns(pod.netns);
    PodState& p = *state.pod(key);

    // Stored before it is networked, as the apiserver has a pod before the kubelet runs it:
    // the agent may need its labels (policy) during ADD.
    try {
      storeObjects(state, json::array({podObject(o.object, p)}));
      createNetns(p.netns);
      auto result = invokeCni(state, p, "ADD");
      p.networked = true;
      p.ips = resultIps(result);
      state.save();
      startProbeServer(state, p);
      storeObjects(state, json::array({podObject(o.object, p)}));
    } catch (...) {
      // A pod that cannot run leaves nothing behind: no namespace, no address, no object.
      try {
        removePod(state, key, nullptr);
        rpc::AgentClient(anyAgentSocket(state))
            .call(rpc::kObjectsDeleteMethod,
                  {{"refs", json::array({{{"kind", "Pod"}, {"namespace", decoded.ns}, {"name", decoded.name}}})}});
      } catch (...) {
      }
      throw;
    }
    const PodState& done = *state.pod(key);
    std::string ips;
    for (const auto& ip : done.ips) ips += (ips.empty() ? "" : ", ") + ip;
    if (progress) progress("Pod " + key + " created on " + done.node + " (" + ips + ")");
  }
}

void deleteObjects(LabState& state, const std::vector<k8s::ObjectRef>& refs, const Progress& progress) {
  std::set<std::string> stopped;  // pods this lab ran and has reported as deleted
  for (const auto& ref : refs) {
    std::vector<std::string> keys;
    if (ref.kind == k8s::Kind::Pod && state.pod(ref.ns + "/" + ref.name)) keys.push_back(ref.ns + "/" + ref.name);
    if (ref.kind == k8s::Kind::Namespace)
      for (const auto& p : state.pods)
        if (p.ns == ref.name) keys.push_back(p.key());
    for (const auto& key : keys) {
      removePod(state, key, progress);
      stopped.insert(key);
    }
  }
  // Namespaces last: deleting one deletes what it holds, which would then be "not found".
  std::vector<k8s::ObjectRef> ordered(refs);
  std::stable_partition(ordered.begin(), ordered.end(),
                        [](const k8s::ObjectRef& r) { return r.kind != k8s::Kind::Namespace; });
  json list = json::array();
  for (const auto& r : ordered)
    list.push_back({{"kind", k8s::kindName(r.kind)}, {"namespace", r.ns}, {"name", r.name}});
  auto response = rpc::AgentClient(anyAgentSocket(state)).call(rpc::kObjectsDeleteMethod, {{"refs", list}});
  for (const auto& r : response.value("results", json::array()))
    if (progress && !(r.value("kind", "") == "Pod" && r.value("action", "") == "deleted" &&
                      stopped.count(r.value("namespace", "") + "/" + r.value("name", ""))))
      progress(r.value("kind", "") + " " + (r.contains("namespace") ? r["namespace"].get<std::string>() + "/" : "") +
               r.value("name", "") + " " + r.value("action", ""));
}

}  // namespace cnikit::lab
