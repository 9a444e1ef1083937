#pragma once
// The private lab one conformance run uses, and what the checks need from it: node1 joins
// after the others so that its namespace is seen before its agent ever ran (the pristine
// snapshot) and right after its first start, before any pod (the baseline snapshot); pods
// served by the lab's probe server; bare pod namespaces for direct CNI calls. The lab is
// removed by the destructor (every process by PID, every namespace, every file).
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "tools/conformance/Kit.hpp"
#include "tools/conformance/LabIncludes.hpp"
#include "tools/conformance/NodeSnapshot.hpp"
#include "tools/conformance/Report.hpp"

namespace cnikit::conformance {

inline constexpr const char* kNode1 = "node1";
inline constexpr const char* kNode2 = "node2";
inline constexpr uint16_t kServedPort = 80;
inline constexpr int kLeaseTtlSeconds = 4;  // short, so that a node taken away is withdrawn soon

class ConformanceLab {
 public:
  explicit ConformanceLab(const KitOptions& options);
  ~ConformanceLab();
  ConformanceLab(const ConformanceLab&) = delete;
  ConformanceLab& operator=(const ConformanceLab&) = delete;

  // Builds the lab and fills the report's identity (library, instance, capabilities).
  // Throws std::runtime_error with what failed.
  void build(Report& report);
  // Removes the lab; also done by the destructor. Safe to call twice.
  void teardown();

  lab::LabState& state() { return state_; }
  const lab::NodeState& node(const std::string& name) const;
  std::string nodeNetns(const std::string& name) const;  // /run/netns/...
  std::string stateDir(const std::string& name) const;
  const std::string& instance() const { return instance_; }
  bool hasCapability(const std::string& name) const;
  // The backend routes between nodes (it has the node capability).
  bool routesNodes() const { return routesNodes_; }
  // Where the peer pod of the cross-node checks runs: node2, or node1 when the backend
  // does not route between nodes.
  std::string peerNode() const { return routesNodes_ ? kNode2 : kNode1; }
  std::string cnikitPath() const;
  nlohmann::json cniConfig(const std::string& node) const;

  // A pod of the lab serving kServedPort/TCP (lab apply: stored, CNI ADD, probe server);
  // returns the one that exists when it does.
  const lab::PodState& servedPod(const std::string& name, const std::string& node);
  void deletePod(const std::string& name);  // CNI DEL, server stopped, namespace removed

  // A namespace for a pod the kit wires itself: recorded in the lab before it is made.
  std::string makePodNetns(const std::string& id);  // returns its path
  void removePodNetns(const std::string& id);

  NodeSnapshot snapshot(const std::string& node) const;
  const NodeSnapshot& pristine() const { return pristine_; }  // node1 before its agent ever ran
  const NodeSnapshot& baseline() const { return baseline_; }  // node1 after its agent started, no pod

  // One method of the node's agent ("status", "ipam.list", "node.leave"); throws when it
  // does not answer or answers an error.
  nlohmann::json callAgent(const std::string& node, const std::string& method,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  nlohmann::json agentStatus(const std::string& node) const { return callAgent(node, "status"); }
  nlohmann::json ipamList(const std::string& node) const { return callAgent(node, "ipam.list"); }

  // The store as if a pod's ADD had died before recording it: its endpoint record, IPAM
  // handle and the address records of `allocations` (ipam.list entries) are deleted.
  void forgetPodInStore(const std::string& node, const std::string& containerId, const std::string& ifname,
                        const nlohmann::json& allocations);
  // The node's record is in the store.
  bool nodeRecorded(const std::string& node);
  // Starts the node's agent when it does not run and waits until it is ready and routed.
  void ensureAgent(const std::string& node);
  void say(const std::string& line) const;

 private:
  KitOptions options_;
  std::string name_;
  lab::LabState state_;
  bool built_ = false, down_ = false;
  std::string instance_;
  bool routesNodes_ = false;
  std::vector<std::string> capabilities_;
  NodeSnapshot pristine_, baseline_;
};

// TCP connect from inside fromNetnsPath to ip:port, retried until `within` passes. ""
// when it connected (or, with refusedIsReached, was refused: the packet reached the pod's
// kernel); else the last reason.
std::string reach(const std::string& fromNetnsPath, const std::string& ip, uint16_t port,
                  std::chrono::milliseconds within, bool refusedIsReached = false);

// The first IPv4 address of a pod (the lab's probes speak IPv4), else its first address.
std::string firstIpv4(const std::vector<std::string>& ips);

// Milliseconds since `since`.
long msSince(std::chrono::steady_clock::time_point since);

}  // namespace cnikit::conformance
