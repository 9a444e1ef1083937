#include "tools/lab/LabState.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "tools/lab/LabPaths.hpp"

namespace cnikit::lab {

using nlohmann::json;

namespace {

json portsJson(const std::vector<k8s::ContainerPort>& ports) {
  json out = json::array();
  for (const auto& p : ports)
    out.push_back({{"name", p.name}, {"port", p.port}, {"protocol", k8s::protocolName(p.protocol)}});
  return out;
}

std::vector<k8s::ContainerPort> portsFrom(const json& j) {
  std::vector<k8s::ContainerPort> out;
  if (!j.is_array()) return out;
  for (const auto& p : j) {
    k8s::ContainerPort port;
    port.name = p.value("name", "");
    port.port = p.value("port", uint16_t{0});
    port.protocol = k8s::parseProtocol(p.value("protocol", "TCP")).value_or(k8s::Protocol::TCP);
    out.push_back(port);
  }
  return out;
}

}  // namespace

NodeState* LabState::node(const std::string& nodeName) {
  for (auto& n : nodes)
    if (n.name == nodeName) return &n;
  return nullptr;
}

const NodeState* LabState::node(const std::string& nodeName) const {
  return const_cast<LabState*>(this)->node(nodeName);
}

const PodState* LabState::pod(const std::string& key) const { return const_cast<LabState*>(this)->pod(key); }

PodState* LabState::pod(const std::string& key) {
  for (auto& p : pods)
    if (p.key() == key) return &p;
  return nullptr;
}

void LabState::recordNetns(const std::string& netnsName) {
  if (std::find(netns.begin(), netns.end(), netnsName) == netns.end()) netns.push_back(netnsName);
  save();
}

void LabState::forgetNetns(const std::string& netnsName) {
  netns.erase(std::remove(netns.begin(), netns.end(), netnsName), netns.end());
  save();
}

json LabState::toJson() const {
  json nodeList = json::array();
  for (const auto& n : nodes)
    nodeList.push_back({{"name", n.name},
                        {"index", n.index},
                        {"netns", n.netns},
                        {"fabricPort", n.fabricPort},
                        {"underlayIpv4", n.underlayIpv4},
                        {"underlayIpv6", n.underlayIpv6},
                        {"labels", n.labels},
                        {"dir", n.dir},
                        {"socket", n.socket},
                        {"configFile", n.configFile},
                        {"logFile", n.logFile},
                        {"agent", n.agent.toJson()}});
  json podList = json::array();
  for (const auto& p : pods)
    podList.push_back({{"namespace", p.ns},
                       {"name", p.name},
                       {"node", p.node},
                       {"netns", p.netns},
                       {"containerId", p.containerId},
                       {"ips", p.ips},
                       {"ports", portsJson(p.ports)},
                       {"logFile", p.logFile},
                       {"server", p.server.toJson()},
                       {"networked", p.networked}});
  return {{"name", name},
          {"dir", dir},
          {"created", created},
          {"binDir", binDir},
          {"backendDir", backendDir},
          {"fabric", {{"netns", fabricNetns}, {"bridge", fabricBridge}, {"ipv4", fabricIpv4}, {"ipv6", fabricIpv6}}},
          {"etcd",
           {{"process", etcd.process.toJson()},
            {"endpoint", etcd.endpoint},
            {"dataDir", etcd.dataDir},
            {"logFile", etcd.logFile},
            {"argv", etcd.argv}}},
          {"external", {{"netns", external.netns}, {"ipv4", external.ipv4}, {"ipv6", external.ipv6}}},
          {"clusterConfig", clusterConfig},
          {"agentSettings", agentSettings},
          {"netns", netns},
          {"nodes", nodeList},
          {"pods", podList}};
}

LabState LabState::fromJson(const json& j) {
  LabState s;
  s.name = j.value("name", "");
  s.dir = j.value("dir", "");
  s.created = j.value("created", "");
  s.binDir = j.value("binDir", "");
  s.backendDir = j.value("backendDir", "");
  auto fabric = j.value("fabric", json::object());
  s.fabricNetns = fabric.value("netns", "");
  s.fabricBridge = fabric.value("bridge", s.fabricBridge);
  s.fabricIpv4 = fabric.value("ipv4", s.fabricIpv4);
  s.fabricIpv6 = fabric.value("ipv6", s.fabricIpv6);
  auto etcd = j.value("etcd", json::object());
  s.etcd.process = ProcessRecord::fromJson(etcd.value("process", json::object()));
  s.etcd.endpoint = etcd.value("endpoint", "");
  s.etcd.dataDir = etcd.value("dataDir", "");
  s.etcd.logFile = etcd.value("logFile", "");
  s.etcd.argv = etcd.value("argv", std::vector<std::string>{});
  auto external = j.value("external", json::object());
  s.external.netns = external.value("netns", "");
  s.external.ipv4 = external.value("ipv4", s.external.ipv4);
  s.external.ipv6 = external.value("ipv6", s.external.ipv6);
  s.clusterConfig = j.value("clusterConfig", json::object());
  s.agentSettings = j.value("agentSettings", json::object());
  s.netns = j.value("netns", std::vector<std::string>{});
  for (const auto& n : j.value("nodes", json::array())) {
    NodeState node;
    node.name = n.value("name", "");
    node.index = n.value("index", 0);
    node.netns = n.value("netns", "");
    node.fabricPort = n.value("fabricPort", "");
    node.underlayIpv4 = n.value("underlayIpv4", "");
    node.underlayIpv6 = n.value("underlayIpv6", "");
    node.labels = n.value("labels", std::map<std::string, std::string>{});
    node.dir = n.value("dir", "");
    node.socket = n.value("socket", "");
    node.configFile = n.value("configFile", "");
    node.logFile = n.value("logFile", "");
    node.agent = ProcessRecord::fromJson(n.value("agent", json::object()));
    s.nodes.push_back(std::move(node));
  }
  for (const auto& p : j.value("pods", json::array())) {
    PodState pod;
    pod.ns = p.value("namespace", "");
    pod.name = p.value("name", "");
    pod.node = p.value("node", "");
    pod.netns = p.value("netns", "");
    pod.containerId = p.value("containerId", "");
    pod.ips = p.value("ips", std::vector<std::string>{});
    pod.ports = portsFrom(p.value("ports", json::array()));
    pod.logFile = p.value("logFile", "");
    pod.server = ProcessRecord::fromJson(p.value("server", json::object()));
    pod.networked = p.value("networked", false);
    s.pods.push_back(std::move(pod));
  }
  return s;
}

void LabState::save() const {
  auto file = stateFile(name);
  auto tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
    out << toJson().dump(2) << "\n";
    if (!out.flush()) throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
  }
  std::filesystem::rename(tmp, file);
}

std::optional<LabState> LabState::tryLoad(const std::string& lab) {
  std::ifstream in(stateFile(lab));
  if (!in) return std::nullopt;
  auto j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto state = fromJson(j);
  state.name = lab;
  return state;
}

LabState LabState::load(const std::string& lab) {
  validateLabName(lab);
  auto state = tryLoad(lab);
  if (!state)
    throw std::runtime_error("no lab '" + lab + "' (no " + stateFile(lab).string() +
                             "); `cnikitctl lab list` shows the labs");
  return std::move(*state);
}

LabLock::LabLock(const std::string& lab, std::chrono::milliseconds timeout) {
  auto dir = labDir(lab);
  std::filesystem::create_directories(dir);
  auto path = (dir / "lock").string();
  fd_ = toolkit::UniqueFd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd_) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR)
      throw std::runtime_error("cannot lock " + path + ": " + std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error("lab " + lab + " is busy: another cnikitctl command holds " + path);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

LabLock::~LabLock() = default;  // closing the descriptor releases the lock

std::vector<std::string> listLabs() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(labRoot(), ec))
    if (entry.is_directory()) out.push_back(entry.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cnikit::lab
