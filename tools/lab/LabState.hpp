#pragma once
// Everything a lab made, in <labDir>/state.json: namespaces, processes (PID + start time),
// nodes and pods. It is written as things are made (a namespace is recorded before it is
// created, a process right after it started), so `lab down` finds everything also after a
// crash of the command that built the lab.
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include <cnikit/toolkit/UniqueFd.hpp>
#include "core/k8s/Objects.hpp"
#include "tools/lab/Process.hpp"

namespace cnikit::lab {

struct NodeState {
  std::string name;
  int index = 0;             // 1-based; the underlay address is 10.250.0.(10+index)
  std::string netns;         // namespace name
  std::string fabricPort;    // the node's veth end on the fabric bridge
  std::string underlayIpv4;  // "10.250.0.11"
  std::string underlayIpv6;  // "fd00:250::11"
  std::map<std::string, std::string> labels;
  std::string dir;  // <labDir>/<node>
  std::string socket;
  std::string configFile;
  std::string logFile;
  ProcessRecord agent;
};

struct PodState {
  std::string ns;
  std::string name;
  std::string node;
  std::string netns;
  std::string containerId;
  std::vector<std::string> ips;  // as the CNI result gave them, without prefix length
  std::vector<k8s::ContainerPort> ports;
  std::string logFile;  // the probe server's
  ProcessRecord server;
  bool networked = false;  // CNI ADD succeeded (DEL is owed)
  std::string key() const { return ns + "/" + name; }
};

struct EtcdState {
  ProcessRecord process;
  std::string endpoint;  // "http://10.250.0.1:2379"
  std::string dataDir;
  std::string logFile;
  std::vector<std::string> argv;
};

// The lab's outside client: a namespace on the fabric that is no node (no agent, no pod
// network), to reach NodePorts and load-balancer addresses from outside the cluster.
struct ExternalState {
  std::string netns;                  // "" when the lab has none (made before it existed)
  std::string ipv4 = "10.250.0.250";  // on the fabric /16, never a node's address
  std::string ipv6 = "fd00:250::250";
};

struct LabState {
  std::string name;
  std::string dir;
  std::string created;  // ISO 8601
  std::string binDir;   // cnikit, cnikitd, cnikitctl
  std::string backendDir;
  std::string fabricNetns;
  std::string fabricBridge = "br0";
  std::string fabricIpv4 = "10.250.0.1";
  std::string fabricIpv6 = "fd00:250::1";
  EtcdState etcd;
  ExternalState external;
  nlohmann::json clusterConfig;    // what /cnikit/v1/cluster/config holds
  nlohmann::json agentSettings;    // extra fields of every agent config
  std::vector<std::string> netns;  // every namespace the lab made
  std::vector<NodeState> nodes;
  std::vector<PodState> pods;

  NodeState* node(const std::string& nodeName);
  const NodeState* node(const std::string& nodeName) const;
  PodState* pod(const std::string& key);
  const PodState* pod(const std::string& key) const;
  void recordNetns(const std::string& netnsName);  // adds (once) and saves
  void forgetNetns(const std::string& netnsName);  // removes and saves

  nlohmann::json toJson() const;
  static LabState fromJson(const nlohmann::json& j);
  // Atomic (temp file + rename).
  void save() const;
  // Throws std::runtime_error "no lab NAME" when there is no state file.
  static LabState load(const std::string& lab);
  static std::optional<LabState> tryLoad(const std::string& lab);
};

// Serialises commands on one lab (apply while probe runs is fine; two applies are not):
// flock on <labDir>/lock. Waits up to `timeout` for it, then throws std::runtime_error
// saying another command holds it.
class LabLock {
 public:
  explicit LabLock(const std::string& lab, std::chrono::milliseconds timeout = std::chrono::minutes(5));
  ~LabLock();
  LabLock(const LabLock&) = delete;
  LabLock& operator=(const LabLock&) = delete;

 private:
  toolkit::UniqueFd fd_;
};

// Names of the labs under the lab root (directories with a state file or leftovers).
std::vector<std::string> listLabs();

}  // namespace cnikit::lab
